import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type DatabaseFactory, dialects, type RunningApp, startAppWithPublicUrl } from './helpers.js';
import { extractCode, type SmtpSink, startSmtpSink } from './peers.js';
import { Receiver, verifySignature } from './webhook-receiver.js';
import { AV, LC_KEYS } from './leancloud-helpers.js';
import { AuthenticationClient as AuthingClient } from 'authing-js-sdk';
import { oidcSignIn } from './oidc-helpers.js';

const AUTHING = { appId: 'webhooks-authing-app', secret: 'webhooks-authing-secret-0123456789' };

const ADMIN_ID = 'tessera-admin-app';
const ADMIN_SECRET = 'admin-secret-0123456789abcdef';
const PW = 'violet-harbor-7-lantern';
let seq = 0;
const uniq = (p = 'wh') => `${p}${Date.now().toString(36)}${seq++}`;

/** Fast retries and polling, so delivery tests take milliseconds rather than the defaults' seconds. */
const FAST = { webhooks: { retryBaseSeconds: 0.05, pollIntervalSeconds: 0.05, timeoutSeconds: 2 } };

async function managementToken(base: string): Promise<string> {
  const res = await fetch(`${base}/oidc/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${ADMIN_ID}:${ADMIN_SECRET}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'client_credentials', resource: `${base}/api`, scope: 'all' }).toString(),
  });
  expect(res.status).toBe(200);
  return (await res.json()).access_token;
}

const ALL_USER_EVENTS = ['PostRegister', 'PostSignIn', 'PostResetPassword', 'User.Created', 'User.Data.Updated', 'User.SuspensionStatus.Updated', 'User.Deleted'];

describe.each(dialects)('webhooks and the audit log on %s', (_name, database) => {
  let t: RunningApp;
  let db: Awaited<ReturnType<DatabaseFactory>>;
  let token: string;
  let receiver: Receiver;
  let smtp: SmtpSink;

  beforeAll(async () => {
    db = await database();
    smtp = await startSmtpSink();
    receiver = await Receiver.start();
    t = await startAppWithPublicUrl({ databaseUrl: db.url, adminClientId: ADMIN_ID, adminClientSecret: ADMIN_SECRET, email: { smtpUrl: smtp.url }, leancloud: { ...LC_KEYS }, authing: AUTHING, ...FAST });
    token = await managementToken(t.base);
  });
  afterAll(async () => {
    await t.close();
    await receiver.close();
    await smtp.close();
    await db.drop();
  });

  const api = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await t.call(method, path, { ...(body !== undefined ? { body } : {}), token, headers });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
  };

  // Each test starts with no hook, nothing received and a receiver that answers 200.
  beforeEach(async () => {
    for (const hook of (await api('GET', '/api/hooks')).body as Array<{ id: string }>) await api('DELETE', `/api/hooks/${hook.id}`);
    receiver.received.length = 0;
    receiver.answer = () => 200;
  });

  const createHook = async (body: Record<string, unknown>) => {
    const res = await api('POST', '/api/hooks', body);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body as { id: string; signingKey: string };
  };

  it("creates a hook in Logto's shape, with a 32-character signing key; lists, reads, changes and deletes it", async () => {
    const hook = await createHook({ name: 'crm', events: ['PostRegister', 'PostRegister', 'User.Created'], config: { url: receiver.url, headers: { 'x-app': 'crm' } } });
    expect(hook).toMatchObject({
      tenantId: 'default',
      name: 'crm',
      event: null,
      events: ['PostRegister', 'User.Created'],
      config: { url: receiver.url, headers: { 'x-app': 'crm' }, retries: 3 },
      enabled: true,
    });
    expect(hook.signingKey).toMatch(/^[0-9a-zA-Z]{32}$/);
    expect((await api('GET', `/api/hooks/${hook.id}`)).body).toMatchObject({ id: hook.id, signingKey: hook.signingKey });
    expect((await api('GET', '/api/hooks')).body.map((h: { id: string }) => h.id)).toContain(hook.id);
    const withStats = await api('GET', `/api/hooks/${hook.id}?includeExecutionStats=true`);
    expect(withStats.body.executionStats).toEqual({ requestCount: 0, successCount: 0 });
    const changed = await api('PATCH', `/api/hooks/${hook.id}`, { name: 'crm2', events: ['User.Deleted'], enabled: false });
    expect(changed.body).toMatchObject({ name: 'crm2', events: ['User.Deleted'], enabled: false, config: { url: receiver.url } });
    const rotated = await api('PATCH', `/api/hooks/${hook.id}/signing-key`);
    expect(rotated.status).toBe(200);
    expect(rotated.body.signingKey).not.toBe(hook.signingKey);
    expect((await api('DELETE', `/api/hooks/${hook.id}`)).status).toBe(204);
    const gone = await api('GET', `/api/hooks/${hook.id}`);
    expect(gone.status).toBe(404);
    expect(gone.body.code).toBe('entity.not_exists_with_id');
    expect((await api('DELETE', `/api/hooks/${hook.id}`)).status).toBe(404);
  });

  it("refuses what Logto refuses (no events: hook.missing_events; an unknown event: guard.invalid_input) and URLs it must not reach", async () => {
    const none = await api('POST', '/api/hooks', { name: 'x', config: { url: receiver.url } });
    expect(none.status).toBe(400);
    expect(none.body.code).toBe('hook.missing_events');
    const unknown = await api('POST', '/api/hooks', { events: ['User.Hacked'], config: { url: receiver.url } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.code).toBe('guard.invalid_input');
    for (const url of ['http://169.254.169.254/latest/meta-data/', 'http://[fe80::1]/hook', 'http://[::ffff:169.254.169.254]/x']) {
      const denied = await api('POST', '/api/hooks', { events: ['PostSignIn'], config: { url } });
      expect(denied.status, url).toBe(422);
      expect(denied.body.code).toBe('hook.denied_address');
    }
    for (const url of ['ftp://example.com/hook', 'file:///etc/passwd', 'not a url', 'http://user:pw@example.com/']) {
      const bad = await api('POST', '/api/hooks', { events: ['PostSignIn'], config: { url } });
      expect(bad.status, url).toBe(400);
    }
    const reserved = await api('POST', '/api/hooks', { events: ['PostSignIn'], config: { url: receiver.url, headers: { 'logto-signature-sha-256': 'forged' } } });
    expect(reserved.status).toBe(400);
    // Nothing was saved by any refusal.
    const all = (await api('GET', '/api/hooks')).body as Array<{ config: { url: string } }>;
    expect(all.filter((h) => h.config.url !== receiver.url)).toEqual([]);
  });

  it("delivers each user event with Logto's payload and a signature that verifies, in order per user, whatever surface caused it", async () => {
    receiver.received.length = 0;
    const hook = await createHook({ name: 'all', events: ALL_USER_EVENTS, config: { url: receiver.url } });
    const username = uniq('u');
    const email = `${username}@example.com`;
    const agent = { 'user-agent': 'webhook-test/1.0' };
    const up = await t.call('POST', '/api/auth/sign-up', { body: { username, email, password: PW }, headers: agent });
    expect(up.status).toBe(201);
    const userId = (await up.json()).user.id;
    const signIn = await t.call('POST', '/api/auth/sign-in', { body: { username, password: PW }, headers: agent });
    expect(signIn.status).toBe(200);
    // A Management API change (path, method, matchedRoute and the calling application in the payload).
    expect((await api('PATCH', `/api/users/${userId}`, { name: 'Ada' })).status).toBe(200);
    expect((await api('PATCH', `/api/users/${userId}/is-suspended`, { isSuspended: true })).status).toBe(200);
    expect((await api('PATCH', `/api/users/${userId}/is-suspended`, { isSuspended: false })).status).toBe(200);
    // Forgot password by an email code.
    const before = smtp.messages.length;
    const sent = await t.call('POST', '/api/auth/codes', { body: { email, purpose: 'ForgotPassword' } });
    expect(sent.status).toBe(200);
    const { verificationId } = await sent.json();
    const mail = await smtp.waitFor((m, i) => i >= before && m.to === email);
    const reset = await t.call('POST', '/api/auth/password/reset', { body: { email, code: extractCode(mail.text), verificationId, newPassword: `${PW}-new` } });
    expect(reset.status).toBe(204);
    expect((await api('DELETE', `/api/users/${userId}`)).status).toBe(204);

    const expected = ['User.Created', 'PostRegister', 'PostSignIn', 'User.Data.Updated', 'User.SuspensionStatus.Updated', 'User.SuspensionStatus.Updated', 'User.Data.Updated', 'PostResetPassword', 'User.Deleted'];
    await receiver.until(() => receiver.received.filter((r) => r.body.userId === userId || r.body.data?.id === userId).length >= expected.length);
    const mine = receiver.received.filter((r) => r.body.userId === userId || r.body.data?.id === userId);
    // One user's deliveries arrive one at a time, in the order of the changes.
    expect(mine.map((r) => r.body.event)).toEqual(expected);
    for (const r of mine) {
      expect(verifySignature(hook.signingKey, r.raw, r.headers['logto-signature-sha-256'])).toBe(true);
      expect(r.headers['user-agent']).toBe('Logto (https://logto.io/)');
      expect(r.headers['content-type']).toBe('application/json');
      expect(r.body.hookId).toBe(hook.id);
      expect(new Date(r.body.createdAt).toISOString()).toBe(r.body.createdAt);
      // Never a secret: no password, hash or code in any payload.
      expect(r.raw).not.toMatch(/passwordHash|violet-harbor|"password"/);
    }
    const [created, registered, signedIn, updated, suspended] = mine.map((r) => r.body);
    expect(registered).toMatchObject({ event: 'PostRegister', interactionEvent: 'Register', userId, userAgent: 'webhook-test/1.0', userIp: '127.0.0.1', user: { id: userId, username, primaryEmail: email, isSuspended: false } });
    expect(registered.user).not.toHaveProperty('hasPassword');
    expect(signedIn).toMatchObject({ event: 'PostSignIn', interactionEvent: 'SignIn', userId, user: { id: userId } });
    expect(typeof signedIn.sessionId).toBe('string');
    expect(created).toMatchObject({ event: 'User.Created', data: { id: userId, username }, ip: '127.0.0.1' });
    expect(updated).toMatchObject({
      event: 'User.Data.Updated',
      method: 'PATCH',
      path: `/users/${userId}`,
      matchedRoute: '/users/:userId',
      params: { userId },
      data: { id: userId, name: 'Ada' },
      application: { id: ADMIN_ID, type: 'MachineToMachine' },
    });
    expect(suspended).toMatchObject({ event: 'User.SuspensionStatus.Updated', data: { id: userId, isSuspended: true } });
    expect(mine[7]!.body).toMatchObject({ event: 'PostResetPassword', interactionEvent: 'ForgotPassword', userId });
    // The deleted user as it was.
    expect(mine[8]!.body).toMatchObject({ event: 'User.Deleted', data: { id: userId, username, name: 'Ada' }, method: 'DELETE' });

    // The delivery log: one TriggerHook entry per delivery, all successful. The worker writes an entry after
    // the receiver has answered, so the last one may still be on its way: wait for it (at most 5 s).
    let logs = await api('GET', `/api/hooks/${hook.id}/recent-logs?page_size=100`);
    for (let tries = 0; Number(logs.headers.get('total-number')) < expected.length && tries < 100; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      logs = await api('GET', `/api/hooks/${hook.id}/recent-logs?page_size=100`);
    }
    expect(logs.status).toBe(200);
    expect(Number(logs.headers.get('total-number'))).toBeGreaterThanOrEqual(expected.length);
    expect(logs.body[0]).toMatchObject({ key: expect.stringMatching(/^TriggerHook\./), payload: { result: 'Success', hookId: hook.id, response: { statusCode: 200 } } });
    expect(logs.body[0]).not.toHaveProperty('tenantId');
    // A delivery is the worker's, not a request's: no request address or user agent on its entries.
    for (const entry of logs.body) expect(entry.payload).not.toHaveProperty('ip');
    const stats = (await api('GET', `/api/hooks/${hook.id}?includeExecutionStats=1`)).body.executionStats;
    expect(stats.successCount).toBe(stats.requestCount);
    expect(stats.requestCount).toBeGreaterThanOrEqual(expected.length);
    await api('DELETE', `/api/hooks/${hook.id}`);
  });

  it('a rolled-back change queues nothing: a PATCH refused by a unique index writes no event', async () => {
    receiver.received.length = 0;
    const hook = await createHook({ events: ['User.Data.Updated'], config: { url: receiver.url } });
    const a = await t.call('POST', '/api/auth/sign-up', { body: { username: uniq('a'), password: PW } });
    const b = await t.call('POST', '/api/auth/sign-up', { body: { username: uniq('b'), password: PW } });
    const [ua, ub] = [(await a.json()).user, (await b.json()).user];
    const clash = await api('PATCH', `/api/users/${ub.id}`, { username: ua.username });
    expect(clash.status).toBe(422);
    expect(await t.app.services.store.hookJobs.count('pending')).toBe(0);
    // The outbox joins the change's transaction: a change that throws after its event leaves neither.
    const { store, users } = t.app.services;
    await expect(
      store.transaction(async () => {
        await users.update(ub.id, { name: 'rolled back' });
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect((await users.require(ub.id)).name).toBeNull();
    expect(await store.hookJobs.count('pending')).toBe(0);
    expect((await store.logs.list({ userId: ub.id, key: 'User.Data.Updated', offset: 0, limit: 10 })).total).toBe(0);
    await new Promise((r) => setTimeout(r, 200));
    expect(receiver.of('User.Data.Updated')).toEqual([]);
    await api('DELETE', `/api/hooks/${hook.id}`);
  });

  it('a receiver that fails twice gets the event on the third try; the delivery log shows all three', async () => {
    receiver.received.length = 0;
    const hook = await createHook({ events: ['User.Created'], config: { url: receiver.url } });
    receiver.answer = (n) => (n <= 2 ? 503 : 200);
    try {
      const up = await t.call('POST', '/api/auth/sign-up', { body: { username: uniq('r'), password: PW } });
      const userId = (await up.json()).user.id;
      await receiver.until(() => receiver.received.length >= 3);
      expect(receiver.received.map((r) => r.body.data.id)).toEqual([userId, userId, userId]);
      // The same payload each time (same signature).
      expect(new Set(receiver.received.map((r) => r.raw)).size).toBe(1);
      // The worker writes an attempt's log entry after the receiver has answered: wait for the third one.
      type Entry = { payload: { result: string; response?: { statusCode: number } } };
      let logs: Entry[] = [];
      for (let i = 0; i < 100 && logs.length < 3; i++) {
        logs = (await api('GET', `/api/hooks/${hook.id}/recent-logs`)).body as Entry[];
        if (logs.length < 3) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(logs.map((l) => [l.payload.result, l.payload.response?.statusCode])).toEqual([['Success', 200], ['Error', 503], ['Error', 503]]);
      expect(await t.app.services.store.hookJobs.count('pending')).toBe(0);
    } finally {
      receiver.answer = () => 200;
      await api('DELETE', `/api/hooks/${hook.id}`);
    }
  });

  it('gives up after the retries and keeps the job as failed; a 4xx answer is not retried', async () => {
    receiver.received.length = 0;
    const hook = await createHook({ events: ['User.Created'], config: { url: receiver.url, retries: 1 } });
    receiver.answer = () => 500;
    try {
      await t.call('POST', '/api/auth/sign-up', { body: { username: uniq('f'), password: PW } });
      await receiver.until(() => receiver.received.length >= 2);
      await new Promise((r) => setTimeout(r, 300));
      expect(receiver.received).toHaveLength(2);
      expect(await t.app.services.store.hookJobs.count('failed')).toBeGreaterThanOrEqual(1);
      receiver.received.length = 0;
      receiver.answer = () => 400;
      await t.call('POST', '/api/auth/sign-up', { body: { username: uniq('g'), password: PW } });
      await receiver.until(() => receiver.received.length >= 1);
      await new Promise((r) => setTimeout(r, 300));
      expect(receiver.received).toHaveLength(1);
    } finally {
      receiver.answer = () => 200;
      await api('DELETE', `/api/hooks/${hook.id}`);
    }
  });

  it('disabling a hook stops its deliveries, queued ones included', async () => {
    receiver.received.length = 0;
    const hook = await createHook({ events: ['User.Created'], config: { url: receiver.url } });
    // Queued while the worker cannot reach the receiver… then the hook is disabled before delivery.
    receiver.answer = () => 'hang';
    await api('PATCH', `/api/hooks/${hook.id}`, { config: { url: receiver.url, retries: 0 } });
    receiver.answer = () => 200;
    expect((await api('PATCH', `/api/hooks/${hook.id}`, { enabled: false })).body.enabled).toBe(false);
    await t.call('POST', '/api/auth/sign-up', { body: { username: uniq('d'), password: PW } });
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.received).toEqual([]);
    // Queued while enabled, disabled before the worker ran: dropped unsent.
    await api('PATCH', `/api/hooks/${hook.id}`, { enabled: true });
    t.app.services.deliveries.stop();
    try {
      await t.call('POST', '/api/auth/sign-up', { body: { username: uniq('e'), password: PW } });
      expect(await t.app.services.store.hookJobs.count('pending')).toBe(1);
      await api('PATCH', `/api/hooks/${hook.id}`, { enabled: false });
    } finally {
      t.app.services.deliveries.start();
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.received).toEqual([]);
    expect(await t.app.services.store.hookJobs.count('pending')).toBe(0);
    await api('DELETE', `/api/hooks/${hook.id}`);
  });

  it("POST /hooks/:id/test sends Logto's test payload, signed; an endpoint's error status is hook.endpoint_responded_with_error", async () => {
    receiver.received.length = 0;
    const hook = await createHook({ events: ['PostSignIn'], config: { url: receiver.url } });
    const ok = await api('POST', `/api/hooks/${hook.id}/test`, { events: ['PostSignIn', 'User.Created'], config: { url: receiver.url } });
    expect(ok.status).toBe(204);
    await receiver.until(() => receiver.received.length >= 2);
    const byEvent = Object.fromEntries(receiver.received.map((r) => [r.body.event, r]));
    expect(byEvent['PostSignIn']!.body).toMatchObject({ hookId: hook.id, userId: 'fake-id', user: { username: 'fake-user' } });
    expect(byEvent['User.Created']!.body).toMatchObject({ hookId: hook.id, path: '/fake-path/:id', data: { result: 'success' } });
    for (const r of receiver.received) expect(verifySignature(hook.signingKey, r.raw, r.headers['logto-signature-sha-256'])).toBe(true);
    receiver.answer = () => 500;
    try {
      const failed = await api('POST', `/api/hooks/${hook.id}/test`, { events: ['PostSignIn'], config: { url: receiver.url } });
      expect(failed.status).toBe(422);
      expect(failed.body).toMatchObject({ code: 'hook.endpoint_responded_with_error', data: { responseStatus: 500 } });
    } finally {
      receiver.answer = () => 200;
    }
    const unreachable = await api('POST', `/api/hooks/${hook.id}/test`, { events: ['PostSignIn'], config: { url: 'http://127.0.0.1:1/none' } });
    expect(unreachable.status).toBe(422);
    expect(unreachable.body.code).toBe('hook.send_test_payload_failed');
    const denied = await api('POST', `/api/hooks/${hook.id}/test`, { events: ['PostSignIn'], config: { url: 'http://169.254.169.254/' } });
    expect(denied.status).toBe(422);
    expect(denied.body.code).toBe('hook.denied_address');
    await api('DELETE', `/api/hooks/${hook.id}`);
  });

  it('GET /api/logs: sign-ins and refusals with IP and user agent, registrations, admin changes; filters, paging, no secrets', async () => {
    const username = uniq('l');
    const up = await t.call('POST', '/api/auth/sign-up', { body: { username, password: PW }, headers: { 'user-agent': 'logs-test' } });
    const userId = (await up.json()).user.id;
    const wrong = await t.call('POST', '/api/auth/sign-in', { body: { username, password: 'wrong-password-123' }, headers: { 'user-agent': 'logs-test' } });
    expect(wrong.status).toBe(401);
    await t.call('POST', '/api/auth/sign-in', { body: { username, password: PW }, headers: { 'user-agent': 'logs-test' } });
    const mine = await api('GET', `/api/logs?userId=${userId}&page_size=50`);
    expect(mine.status).toBe(200);
    const keys = mine.body.map((l: { key: string; payload: { result: string } }) => `${l.key}:${l.payload.result}`);
    expect(keys).toEqual(expect.arrayContaining(['Interaction.Register.Submit:Success', 'User.Created:Success', 'Interaction.SignIn.Submit:Error', 'Interaction.SignIn.Submit:Success']));
    const refused = mine.body.find((l: { payload: { result: string } }) => l.payload.result === 'Error');
    expect(refused).toMatchObject({ tenantId: 'default', payload: { userId, ip: '127.0.0.1', userAgent: 'logs-test', error: { code: 'auth.invalid_credentials' } } });
    expect(JSON.stringify(mine.body)).not.toMatch(/wrong-password|violet-harbor|passwordHash/);
    // Newest first; logKey filter; paging headers as /api/users.
    const times = mine.body.map((l: { createdAt: number }) => l.createdAt);
    expect([...times].sort((x, y) => y - x)).toEqual(times);
    const signIns = await api('GET', `/api/logs?userId=${userId}&logKey=Interaction.SignIn.Submit&page_size=1`);
    expect(signIns.body).toHaveLength(1);
    expect(signIns.headers.get('total-number')).toBe('2');
    expect(signIns.headers.get('link')).toMatch(/rel="next"/);
    // An administrator's change is recorded with the application.
    await api('PATCH', `/api/users/${userId}`, { name: 'Logged' });
    const admin = await api('GET', `/api/logs?applicationId=${ADMIN_ID}&logKey=ManagementApi.Change&page_size=5`);
    // Entries of the same millisecond (the hook deletion just before) tie on createdAt and are ordered by
    // id, so the change is looked up among the newest rather than assumed first.
    expect(admin.body.find((l: { payload: { method?: string } }) => l.payload.method === 'PATCH')).toMatchObject({
      payload: { applicationId: ADMIN_ID, method: 'PATCH', matchedRoute: '/api/users/:userId', status: 200 },
    });
    // Token grants are in the log too.
    const grants = await api('GET', `/api/logs?logKey=ExchangeTokenBy.ClientCredentials&applicationId=${ADMIN_ID}`);
    expect(grants.body.length).toBeGreaterThanOrEqual(1);
    // Delivery entries are only under /hooks/:id/recent-logs.
    const all = await api('GET', '/api/logs?page_size=100');
    expect(all.body.filter((l: { key: string }) => l.key.startsWith('TriggerHook.'))).toEqual([]);
    const one = await api('GET', `/api/logs/${refused.id}`);
    expect(one.body).toEqual(refused);
    const missing = await api('GET', '/api/logs/nope');
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe('entity.not_exists_with_id');
    const window = await api('GET', '/api/logs?start_time=2000&end_time=1000');
    expect(window.status).toBe(400);
    expect(window.body.code).toBe('log.invalid_time_window');
  });

  it('LeanCloud apps cause the same events through the unmodified leancloud-storage SDK (signUp, logIn, save)', async () => {
    const hook = await createHook({ events: ['User.Created', 'PostRegister', 'PostSignIn', 'User.Data.Updated'], config: { url: receiver.url } });
    AV.init({ ...LC_KEYS, serverURL: t.base });
    const username = uniq('lc');
    const user = new AV.User();
    user.setUsername(username);
    user.setPassword(PW);
    await user.signUp();
    await AV.User.logIn(username, PW);
    const current = AV.User.current()!;
    current.set('nickname', 'Lin');
    await current.save();
    const id = user.id!;
    await receiver.until(() => receiver.received.filter((r) => (r.body.userId ?? r.body.data?.id) === id).length >= 4);
    const mine = receiver.received.filter((r) => (r.body.userId ?? r.body.data?.id) === id);
    expect(mine.map((r) => r.body.event)).toEqual(['User.Created', 'PostRegister', 'PostSignIn', 'User.Data.Updated']);
    expect(mine.every((r) => verifySignature(hook.signingKey, r.raw, r.headers['logto-signature-sha-256']))).toBe(true);
    expect(mine[0]!.body.data).toMatchObject({ id, username });
    // Only a Management API call puts its route in the payload (as Logto); a /1.1 request's path never travels.
    expect(mine[3]!.body).not.toHaveProperty('path');
    expect(mine[3]!.body.data).toMatchObject({ id });
    await AV.User.logOut();
  });

  it('a sign-in on the hosted /oidc page (openid-client, code + PKCE) reports PostSignIn with its application', async () => {
    const hook = await createHook({ events: ['PostSignIn'], config: { url: receiver.url } });
    const web = await t.app.services.applications.create({ name: 'Web shop', type: 'traditional', redirectUris: ['https://shop.example.com/cb'] });
    const username = uniq('oi');
    const user = await t.app.services.users.create({ username, password: PW });
    await oidcSignIn(t.base, { id: web.application.id, secret: web.secret! }, 'https://shop.example.com/cb', username, PW);
    await receiver.until(() => receiver.received.some((r) => r.body.userId === user.id));
    const [delivery] = receiver.received.filter((r) => r.body.userId === user.id);
    expect(verifySignature(hook.signingKey, delivery!.raw, delivery!.headers['logto-signature-sha-256'])).toBe(true);
    expect(delivery!.body).toMatchObject({ event: 'PostSignIn', interactionEvent: 'SignIn', userId: user.id, user: { id: user.id, username } });
    expect(delivery!.body.application).toMatchObject({ id: web.application.id, name: 'Web shop' });
  });

  it('Authing apps cause the same events through the unmodified authing-js-sdk (registerByEmail, loginByEmail, updateProfile)', async () => {
    const hook = await createHook({ events: ['User.Created', 'PostRegister', 'PostSignIn', 'User.Data.Updated'], config: { url: receiver.url } });
    const authing = new AuthingClient({ appId: AUTHING.appId, appHost: t.base });
    const email = `${uniq('au')}@example.com`;
    const registered = await authing.registerByEmail(email, PW);
    await authing.loginByEmail(email, PW);
    await authing.updateProfile({ nickname: 'Ada' });
    const id = registered.id;
    await receiver.until(() => receiver.received.filter((r) => (r.body.userId ?? r.body.data?.id) === id).length >= 4);
    const mine = receiver.received.filter((r) => (r.body.userId ?? r.body.data?.id) === id);
    expect(mine.map((r) => r.body.event)).toEqual(['User.Created', 'PostRegister', 'PostSignIn', 'User.Data.Updated']);
    expect(mine.every((r) => verifySignature(hook.signingKey, r.raw, r.headers['logto-signature-sha-256']))).toBe(true);
    expect(mine[0]!.body.data).toMatchObject({ id, primaryEmail: email });
    expect(mine[3]!.body.data).toMatchObject({ id, profile: { nickname: 'Ada' } });
  });
});
