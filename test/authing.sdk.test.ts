import { AuthenticationClient, ManagementClient } from 'authing-js-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DatabaseFactory, dialects, type RunningApp, startAppWithPublicUrl } from './helpers.js';
import { LC_KEYS, lcFetch } from './leancloud-helpers.js';
import { openSignInPage } from './oidc-helpers.js';
import { extractCode, type SmsWebhookPeer, type SmtpSink, startSmsWebhook, startSmtpSink } from './peers.js';

/**
 * Issue 17: the real `authing-js-sdk` (4.23.55, unmodified) against a listening Tessera, only `appHost`
 * changed. Codes come from a real SMTP sink and the SMS webhook.
 */

const APP_ID = 'tessera-authing-app';
const SECRET = 'authing-pool-secret-0123456789';
const PW = 'violet-harbor-7-lantern';
let seq = 0;
const uniq = (p: string) => `${p}${Date.now().toString(36)}${(seq++).toString(36)}`;

/** Awaits `promise`, expecting the SDK's thrown `{code, message, data}` with this Authing code. */
async function authingError(promise: Promise<unknown>, code: number): Promise<{ code: number; message: string; data: unknown }> {
  const error = await promise.then(
    () => new Error(`expected Authing error ${code}, the call succeeded`),
    (e: unknown) => e,
  );
  expect(error).not.toBeInstanceOf(Error);
  expect((error as { code: number }).code).toBe(code);
  return error as { code: number; message: string; data: unknown };
}

describe.each(dialects)('authing-js-sdk AuthenticationClient on %s', (_name, database) => {
  let t: RunningApp;
  let db: Awaited<ReturnType<DatabaseFactory>>;
  let smtp: SmtpSink;
  let sms: SmsWebhookPeer;

  beforeAll(async () => {
    smtp = await startSmtpSink();
    sms = await startSmsWebhook();
    db = await database();
    t = await startAppWithPublicUrl({
      databaseUrl: db.url,
      authing: { appId: APP_ID, secret: SECRET, corsOrigins: ['https://app.example.com'] },
      leancloud: LC_KEYS,
      lockout: { maxFailures: 4 },
      email: { smtpUrl: smtp.url, from: 'Tessera Test <auth@tessera.test>' },
      sms: { webhookUrl: sms.url, webhookSecret: 'a-very-long-webhook-secret', timeoutSeconds: 2 },
      codes: { resendIntervalSeconds: 0, perIdentifierPerHour: 1000, perIpPerHour: 100_000 },
      rateLimit: { signInPerMinute: 1000, signUpPerHour: 1000 },
      defaultPhoneRegion: 'CN',
    });
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
    await smtp.close();
    await sms.close();
  });

  const client = (options: Record<string, unknown> = {}) => new AuthenticationClient({ appId: APP_ID, appHost: t.base, ...options });

  it('registers by email and username, logs in, reads and updates the profile, checks the login status, logs out', async () => {
    const email = `${uniq('ada')}@example.com`;
    const a = client();
    const registered = await a.registerByEmail(email, PW);
    expect(registered).toMatchObject({ email, emailVerified: false, password: null, token: null, status: 'Activated' });
    await authingError(client().registerByEmail(email, PW), 2026);

    const username = uniq('grace');
    const byName = await client().registerByUsername(username, PW, {}, { generateToken: true });
    expect(byName.username).toBe(username);
    expect(typeof byName.token).toBe('string');
    await authingError(client().registerByUsername(username, PW), 2034);

    await authingError(a.loginByEmail(email, 'not-the-password-1'), 2333);
    const user = await a.loginByEmail(email, PW);
    expect(user).toMatchObject({ id: registered.id, email, password: null });
    expect(user.token).toMatch(/^ey/);
    const current = await a.getCurrentUser();
    expect(current?.id).toBe(registered.id);

    const updated = await a.updateProfile({ nickname: 'Ada', name: 'Ada Lovelace', photo: 'https://img.example/ada.png' });
    expect(updated).toMatchObject({ nickname: 'Ada', name: 'Ada Lovelace', photo: 'https://img.example/ada.png' });
    // A photo is a link shown in pages: http(s) only; fields are strings (nothing else is stored).
    await authingError(a.updateProfile({ photo: 'javascript:alert(1)' }), 2231);
    await authingError(a.updateProfile({ name: 42 as never }), 2231);
    await authingError(a.updateProfile({ email: 'other@example.com' }), 2231);

    const status = await a.checkLoginStatus();
    expect(status).toMatchObject({ code: 200, status: true, data: { id: registered.id } });
    const refreshed = await a.refreshToken();
    expect(refreshed.token).toMatch(/^ey/);

    const token = (await a.getCurrentUser())!.token!;
    await a.logout();
    expect(await a.getCurrentUser()).toBeNull();
    const after = await client().checkLoginStatus(token);
    expect(after).toMatchObject({ code: 2206, status: false });
    const forged = await client().checkLoginStatus(`${token.slice(0, -4)}AAAA`);
    expect(forged).toMatchObject({ code: 2207, status: false });
  });

  it('logs in by username and by phone with a password and with an SMS code; wrong codes are 2001', async () => {
    const username = uniq('lin');
    await client().registerByUsername(username, PW);
    expect((await client().loginByUsername(username, PW)).username).toBe(username);

    const phone = `139${String(Date.now()).slice(-8)}`;
    const before = sms.requests.length;
    await client().sendSmsCode(phone);
    const req = await sms.waitFor((r, i) => i >= before && r.json.to === `+86${phone}`, 5000);
    const code = req.json.code as string;
    await authingError(client().registerByPhoneCode(phone, code === '000000' ? '111111' : '000000', PW), 2001);
    const byPhone = await client().registerByPhoneCode(phone, code, PW, {}, { generateToken: true });
    expect(byPhone).toMatchObject({ phone, phoneCountryCode: '+86', phoneVerified: true });
    expect((await client().loginByPhonePassword(phone, PW)).id).toBe(byPhone.id);

    const before2 = sms.requests.length;
    await client().sendSmsCode(phone);
    const req2 = await sms.waitFor((r, i) => i >= before2 && r.json.to === `+86${phone}`, 5000);
    const signedIn = await client().loginByPhoneCode(phone, req2.json.code as string);
    expect(signedIn.id).toBe(byPhone.id);
  });

  it('changes and resets the password; the old token ends with the change', async () => {
    const email = `${uniq('pw')}@example.com`;
    const a = client();
    await a.registerByEmail(email, PW);
    await a.loginByEmail(email, PW);
    await authingError(a.updatePassword('amber-canyon-4-whistle', 'not-the-password-1'), 2203);
    const changed = await a.updatePassword('amber-canyon-4-whistle', PW);
    expect(changed.email).toBe(email);
    await authingError(client().loginByEmail(email, PW), 2333);
    expect((await client().loginByEmail(email, 'amber-canyon-4-whistle')).email).toBe(email);

    const before = smtp.messages.length;
    const sent = await client().sendEmail(email, 'RESET_PASSWORD' as never);
    expect(sent).toMatchObject({ code: 200 });
    const mail = await smtp.waitFor((m, i) => i >= before && m.to.toLowerCase() === email, 5000);
    const reset = await client().resetPasswordByEmailCode(email, extractCode(mail.text), 'copper-meadow-42-quiver');
    expect(reset).toMatchObject({ code: 200 });
    expect((await client().loginByEmail(email, 'copper-meadow-42-quiver')).email).toBe(email);
  });

  it('checks password strength; answers English with lang en-US; a garbage ciphertext is a wrong password', async () => {
    const weak = await client().checkPasswordStrength('123');
    expect(weak.valid).toBe(false);
    expect((await client().checkPasswordStrength(PW)).valid).toBe(true);
    const email = `${uniq('en')}@example.com`;
    await client().registerByEmail(email, PW);
    const e = await authingError(client({ lang: 'en-US' }).loginByEmail(email, 'wrong-password-9'), 2333);
    expect(e.message).toBe('Incorrect username or password');
    // A client that sends the password unencrypted: the bytes are no PKCS#1 block → a wrong password.
    await authingError(client({ encryptFunction: async (p: string) => Buffer.from(p).toString('base64') }).loginByEmail(email, PW), 2333);
  });

  it('one account on every surface: a user made through /api/v2 signs in on /api/auth, /oidc and /1.1, and the other way round; failures lock it everywhere (2005)', async () => {
    const username = uniq('cross');
    const sdkUser = await client().registerByUsername(username, PW);
    expect((await t.call('POST', '/api/auth/sign-in', { body: { username, password: PW } })).status).toBe(200);
    expect((await lcFetch(t.base, 'POST', '/1.1/login', { body: { username, password: PW } })).status).toBe(200);
    const web = await t.app.services.applications.create({ name: 'Web', type: 'traditional', redirectUris: ['https://rp.example.com/cb'] });
    const page = await openSignInPage(t.base, { id: web.application.id, secret: web.secret! }, 'https://rp.example.com/cb');
    expect((await page.post({ identifier: username, password: PW })).status).toBe(303);

    const other = uniq('native');
    const native = await t.call('POST', '/api/auth/sign-up', { body: { username: other, password: PW } });
    expect(native.status).toBe(201);
    expect((await client().loginByUsername(other, PW)).id).toBe((await native.json()).user.id);

    // Wrong passwords from three surfaces count together: the fourth failure locks the account, and the
    // Authing SDK then hears 2005 even with the right password.
    await authingError(client().loginByUsername(username, 'wrong-password-1'), 2333);
    expect((await t.call('POST', '/api/auth/sign-in', { body: { username, password: 'wrong-password-2' } })).status).toBe(401);
    expect((await lcFetch(t.base, 'POST', '/1.1/login', { body: { username, password: 'wrong-password-3' } })).status).toBe(400);
    await authingError(client().loginByUsername(username, 'wrong-password-4'), 2333);
    await authingError(client().loginByUsername(username, PW), 2005);
    expect(sdkUser.id).toMatch(/^[0-9a-f]{24}$/);
  });

  it('answers browsers of configured origins with credentials (and Authing headers), others without CORS', async () => {
    const preflight = await fetch(`${t.base}/graphql/v2`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-authing-app-id' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(preflight.headers.get('access-control-allow-credentials')).toBe('true');
    expect(preflight.headers.get('access-control-allow-headers')).toContain('x-authing-app-id');
    const stranger = await fetch(`${t.base}/api/v2/.well-known`, { headers: { origin: 'https://evil.example' } });
    expect(stranger.status).toBe(200);
    expect(stranger.headers.get('access-control-allow-origin')).toBeNull();
    // The other surfaces keep answering any origin without credentials.
    const status = await fetch(`${t.base}/api/status`, { headers: { origin: 'https://evil.example' } });
    expect(status.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('dispatches every operation of the covered methods (the SDK’s own documents); unknown operations and malformed bodies are Authing errors, never 5xx', async () => {
    const documents = (await import('authing-js-sdk/build/main/types/graphql.v2.js')) as unknown as Record<string, unknown>;
    const covered = [
      'RegisterByEmailDocument', 'RegisterByUsernameDocument', 'RegisterByPhoneCodeDocument', 'LoginByEmailDocument', 'LoginByUsernameDocument',
      'LoginByPhonePasswordDocument', 'LoginByPhoneCodeDocument', 'LoginBySubAccountDocument', 'UserDocument', 'UpdateUserDocument', 'CheckLoginStatusDocument',
      'RefreshTokenDocument', 'IsUserExistsDocument', 'CheckPasswordStrengthDocument', 'UpdatePasswordDocument', 'ResetPasswordDocument', 'SendEmailDocument',
      'UdvDocument', 'SetUdvDocument', 'SetUdvBatchDocument', 'RemoveUdvDocument', 'BindPhoneDocument', 'UpdatePhoneDocument', 'UnbindPhoneDocument',
      'BindEmailDocument', 'UpdateEmailDocument', 'UnbindEmailDocument', 'ResetPasswordByFirstLoginTokenDocument', 'ResetPasswordByForceResetTokenDocument',
      'AccessTokenDocument', 'CreateUserDocument', 'DeleteUserDocument', 'UsersDocument', 'SearchUserDocument', 'FindUserDocument', 'SetUdfDocument',
      'UdfDocument', 'RemoveUdfDocument',
    ];
    const graphql = async (body: unknown) => {
      const res = await fetch(`${t.base}/graphql/v2`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-authing-app-id': APP_ID }, body: typeof body === 'string' ? body : JSON.stringify(body) });
      return { status: res.status, body: await res.json() };
    };
    for (const name of covered) {
      const query = documents[name];
      expect(typeof query, name).toBe('string');
      const answer = await graphql({ query, variables: {} });
      expect(answer.status, name).toBe(200);
      // Dispatched: never the "unsupported operation" answer (empty variables give a parameter or login error instead).
      const message = answer.body.errors?.[0]?.message;
      expect(message?.data?.tesseraCode, name).not.toBe('request.not_found');
    }
    for (const body of ['{"query": "mutation nope { nope }"}', '{not json', '[]', '{"query": 42}', '{"query": "query user { user { id } }", "variables": [1, 2]}', '']) {
      const answer = await graphql(body);
      expect(answer.status, body).toBe(200);
      // 2231 (bad request), or for the well-formed user query without a token 2020 (not logged in).
      expect([2231, 2020], body).toContain(answer.body.errors[0].message.code);
    }
    const garbage = await graphql({ query: documents.LoginByEmailDocument, variables: { input: { email: 'x@example.com', password: 'not base64 !!' } } });
    expect(garbage.body.errors[0].message.code).toBe(2333);
    const wrongSize = await graphql({ query: documents.LoginByEmailDocument, variables: { input: { email: 'x@example.com', password: Buffer.alloc(17).toString('base64') } } });
    expect(wrongSize.body.errors[0].message.code).toBe(2333);
  });

  it('binds, changes and unbinds email and phone with codes; custom data (UDF) typed; the security level', async () => {
    const username = uniq('bind');
    const a = client();
    await a.registerByUsername(username, PW);
    await a.loginByUsername(username, PW);

    // Bind an email (a code to the new address), then a phone.
    const email = `${username}@example.com`;
    let before = smtp.messages.length;
    await a.sendEmail(email, 'VERIFY_CODE' as never);
    let mail = await smtp.waitFor((m, i) => i >= before && m.to.toLowerCase() === email, 5000);
    const withEmail = await a.bindEmail(email, extractCode(mail.text));
    expect(withEmail).toMatchObject({ email, emailVerified: true });
    const phone = `138${String(Date.now()).slice(-8)}`;
    let sent = sms.requests.length;
    await a.sendSmsCode(phone);
    let req = await sms.waitFor((r, i) => i >= sent && r.json.to === `+86${phone}`, 5000);
    await authingError(a.bindPhone(phone, req.json.code === '000000' ? '111111' : '000000'), 2001);
    sent = sms.requests.length;
    await a.sendSmsCode(phone);
    req = await sms.waitFor((r, i) => i >= sent && r.json.to === `+86${phone}`, 5000);
    expect(await a.bindPhone(phone, req.json.code as string)).toMatchObject({ phone, phoneVerified: true });

    // Change the email: codes to the new and the old address.
    const next = `${username}.new@example.com`;
    before = smtp.messages.length;
    await a.sendEmail(next, 'VERIFY_CODE' as never);
    mail = await smtp.waitFor((m, i) => i >= before && m.to.toLowerCase() === next, 5000);
    const newCode = extractCode(mail.text);
    before = smtp.messages.length;
    await a.sendEmail(email, 'VERIFY_CODE' as never);
    const oldMail = await smtp.waitFor((m, i) => i >= before && m.to.toLowerCase() === email, 5000);
    expect((await a.updateEmail(next, newCode, email, extractCode(oldMail.text))).email).toBe(next);
    expect((await a.unbindPhone()).phone).toBeNull();

    // Typed custom data: defined keys only, values typed on the way back.
    await t.app.services.sdk.customFields.define({ key: 'age', type: 'NUMBER' });
    await t.app.services.sdk.customFields.define({ key: 'school', type: 'STRING' });
    expect(await a.setUdfValue({ age: 20, school: '华中科技大学' })).toEqual(expect.arrayContaining([expect.objectContaining({ key: 'age', value: '20' })]));
    expect(await a.getUdfValue()).toEqual({ age: 20, school: '华中科技大学' });
    await a.removeUdfValue('age');
    expect(await a.getUdfValue()).toEqual({ school: '华中科技大学' });
    await authingError(a.setUdfValue({ nosuchkey: 1 }), 2231);

    const level = await a.getSecurityLevel();
    expect(level).toMatchObject({ email: true, phone: false, password: true, mfa: false });
    expect(level.score).toBeGreaterThan(0);
    expect((await a.getCurrentUser())?.id).toBe(withEmail.id);
  });

  it('linkAccount checks both tokens and the link rules (accounts that both have passwords cannot merge: 2026); a dead token is 2020', async () => {
    const one = uniq('link1');
    const two = uniq('link2');
    await client().registerByUsername(one, PW);
    await client().registerByUsername(two, PW);
    const primary = (await client().loginByUsername(one, PW)).token!;
    const secondary = (await client().loginByUsername(two, PW)).token!;
    await authingError(client().linkAccount({ primaryUserToken: primary, secondaryUserToken: secondary }), 2026);
    await authingError(client().linkAccount({ primaryUserToken: primary, secondaryUserToken: `${secondary.slice(0, -4)}AAAA` }), 2020);
  });

  it('listApplications lists the applications users sign in to (no machine-to-machine app), paged', async () => {
    const web = await t.app.services.applications.create({ name: uniq('Shop'), type: 'spa', redirectUris: ['https://shop.example/cb'] });
    const job = await t.app.services.applications.create({ name: uniq('Job'), type: 'm2m' });
    const a = client();
    const name = uniq('apps');
    await a.registerByUsername(name, PW);
    await a.loginByUsername(name, PW);
    const all = await a.listApplications({ page: 1, limit: 100 });
    const ids = all.list.map((x: { id: string }) => x.id);
    expect(ids).toContain(web.application.id);
    expect(ids).not.toContain(job.application.id);
    expect(all.list.find((x: { id: string }) => x.id === web.application.id)).toMatchObject({ name: web.application.name, protocol: 'oidc' });
    expect((await a.listApplications({ page: 1, limit: 1 })).list).toHaveLength(1);
    await authingError(client().listApplications(), 2020);
  });

  it('account-center field modes bind the Authing surface too (1001, nothing written); the ManagementClient is not bound', async () => {
    // Issue 16: one end-user write policy on every self-service surface, each refusing in its own dialect.
    const username = uniq('fm');
    const a = client();
    await a.registerByUsername(username, PW);
    await a.loginByUsername(username, PW);
    await t.app.services.sdk.customFields.define({ key: 'plan', type: 'STRING' });
    await t.app.services.accountCenter.update({
      enabled: true,
      fields: { name: 'ReadOnly', avatar: 'Off', profile: 'ReadOnly', username: 'Off', email: 'ReadOnly', phone: 'Off', password: 'ReadOnly', social: 'Off', customData: 'Off', mfa: 'ReadOnly', session: 'ReadOnly' },
    });
    try {
      const refused = [
        await authingError(a.updateProfile({ name: 'Ada' }), 1001),
        await authingError(a.updateProfile({ nickname: 'Ada' }), 1001),
        await authingError(a.updateProfile({ username: uniq('x') }), 1001),
        await authingError(a.updateProfile({ photo: 'https://img.example/x.png' }), 1001),
        await authingError(a.setUdfValue({ plan: 'pro' }), 1001),
        await authingError(a.updatePassword('amber-canyon-4-whistle', PW), 1001),
        await authingError(a.bindEmail(`${username}@example.com`, '123456'), 1001),
        await authingError(a.bindPhone(`137${String(Date.now()).slice(-8)}`, '123456'), 1001),
      ];
      for (const e of refused) expect(e.data).toMatchObject({ tesseraCode: 'account_center.field_not_editable' });
      // Nothing was written: same names, no custom data, the old password still signs in.
      const me = await client().loginByUsername(username, PW);
      expect(me).toMatchObject({ username, name: null, nickname: null, photo: null, email: null, phone: null });
      expect(await a.getUdfValue()).toEqual({});
      // The administrator is not bound by the end-user policy.
      const mgmt = new ManagementClient({ userPoolId: APP_ID, secret: SECRET, host: t.base });
      expect(await mgmt.users.update(me.id, { name: 'Set By Admin' })).toMatchObject({ name: 'Set By Admin' });
    } finally {
      await t.app.services.accountCenter.update({ enabled: false });
    }
    // Disabled again: the SDK's defaults are back.
    expect(await a.updateProfile({ nickname: 'Ada' })).toMatchObject({ nickname: 'Ada' });
  });

  it('ManagementClient with userPoolId + secret: create, detail, update, exists, find, list, search, UDF, delete; a wrong secret gets no token', async () => {
    const mgmt = new ManagementClient({ userPoolId: APP_ID, secret: SECRET, host: t.base });
    const username = uniq('adm');
    const created = await mgmt.users.create({ username, email: `${username}@example.com`, password: PW, nickname: 'Adm' });
    expect(created).toMatchObject({ username, email: `${username}@example.com`, nickname: 'Adm', password: null });
    // The user signs in with that password through the AuthenticationClient (and /api/auth).
    expect((await client().loginByUsername(username, PW)).id).toBe(created.id);
    expect((await mgmt.users.detail(created.id)).username).toBe(username);
    const updated = await mgmt.users.update(created.id, { name: 'Admin Made', phone: '13700001234', password: 'amber-canyon-4-whistle' });
    expect(updated).toMatchObject({ name: 'Admin Made', phone: '13700001234', phoneCountryCode: '+86' });
    await authingError(client().loginByUsername(username, PW), 2333);
    expect((await client().loginByUsername(username, 'amber-canyon-4-whistle')).id).toBe(created.id);
    expect(await mgmt.users.exists({ username })).toBe(true);
    expect(await mgmt.users.exists({ username: `${username}-nobody` })).toBe(false);
    expect((await mgmt.users.find({ email: `${username}@example.com` }))?.id).toBe(created.id);
    const page = await mgmt.users.list(1, 5);
    expect(page.totalCount).toBeGreaterThan(0);
    expect(page.list.length).toBeLessThanOrEqual(5);
    const found = await mgmt.users.search(username);
    expect(found.list.map((u: { id: string }) => u.id)).toEqual([created.id]);
    await authingError(mgmt.users.create({ username, password: PW }), 2034);

    await mgmt.udf.set('USER' as never, 'plan', 'STRING' as never, 'Plan');
    expect((await mgmt.udf.list('USER' as never)).map((f: { key: string }) => f.key)).toContain('plan');
    await mgmt.users.setUdfValue(created.id, { plan: 'gold' });
    expect(await mgmt.users.getUdfValue(created.id)).toMatchObject({ plan: 'gold' });
    await mgmt.users.removeUdfValue(created.id, 'plan');
    expect(await mgmt.users.getUdfValue(created.id)).not.toHaveProperty('plan');

    // First login: the administrator asked for a new password (1639 with data.token), set with the token.
    const fresh = uniq('first');
    await mgmt.users.create({ username: fresh, password: PW }, { resetPasswordOnFirstLogin: true });
    const first = await authingError(client().loginByUsername(fresh, PW), 1639);
    const resetToken = (first.data as { token: string }).token;
    expect(resetToken).toMatch(/^tpr_/);
    expect(await client().resetPasswordByFirstLoginToken({ token: resetToken, password: 'copper-meadow-42-quiver' })).toMatchObject({ code: 200 });
    expect((await client().loginByUsername(fresh, 'copper-meadow-42-quiver')).username).toBe(fresh);

    // batch by ids and usernames; kick ends every session (the SDK's token dies: getCurrentUser is null).
    expect((await mgmt.users.batch([created.id, 'nobody-here'])).map((u: { id: string }) => u.id)).toEqual([created.id]);
    expect((await mgmt.users.batch([username], { queryField: 'username' })).map((u: { id: string }) => u.id)).toEqual([created.id]);
    const kicked = client();
    await kicked.loginByUsername(username, 'amber-canyon-4-whistle');
    expect(await kicked.getCurrentUser()).not.toBeNull();
    await mgmt.users.kick([created.id]);
    expect(await kicked.getCurrentUser()).toBeNull();

    await mgmt.users.delete(created.id);
    await authingError(mgmt.users.detail(created.id), 2004);
    // A wrong pool secret: no management token, so nothing is answered.
    const intruder = new ManagementClient({ userPoolId: APP_ID, secret: 'not-the-pool-secret-123', host: t.base });
    await authingError(intruder.users.list(1, 5), 2020);
    // A user token is no management token.
    const plain = uniq('plain');
    await client().registerByUsername(plain, PW);
    const userToken = (await client().loginByUsername(plain, PW)).token!;
    const asUser = new ManagementClient({ userPoolId: APP_ID, accessToken: userToken, host: t.base });
    await authingError(asUser.users.list(1, 5), 2020);
  });
});
