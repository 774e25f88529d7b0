import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IssuedApplication } from '../src/domain/applications/index.js';
import { sha256Hex } from '../src/util/crypto.js';
import { type DatabaseFactory, dialects, type RunningApp, startAppWithPublicUrl, ALL_EDIT } from './helpers.js';
import { cnPhone, LC_KEYS, lcFetch } from './leancloud-helpers.js';
import { managementToken, oidcSignIn } from './oidc-helpers.js';
import { extractCode, startSmsWebhook, startSmtpSink } from './peers.js';

/**
 * Issue 16, "one rule, one place": a password set through any surface has the same effects, because
 * every surface calls `CredentialService.setPassword`. For each surface a fresh user with
 * - an acting first-party session A (the caller, where the surface has one) and another one B,
 * - a browser signed in at /oidc (a provider session, a grant and an access token),
 * - an unused impersonation subject token,
 * - the forced-reset flag set,
 * changes their password; then every one of those is checked.
 */

const ADMIN_ID = 'tessera-admin-app';
const ADMIN_SECRET = 'admin-secret-0123456789abcdef';
const PW = 'violet-harbor-7-lantern';
const NEW_PW = 'copper-meadow-42-quiver';
const REDIRECT = 'https://rp.example.com/callback';
const allEdit = ALL_EDIT;
let seq = 0;
const uniq = (p: string) => `${p}${Date.now().toString(36)}${(seq++).toString(36)}`;

interface Subject {
  id: string;
  username: string;
  email: string;
  phone: string;
  /** The acting session (first-party token). */
  acting: string;
  /** Another session of the same user. */
  other: string;
  /** An access token from a browser sign-in at /oidc. */
  oidcAccessToken: string;
  subjectToken: string;
}

/**
 * One surface's way to set a new password. `keepsActing`: the acting session A survives (the surface
 * keeps the caller's session); otherwise the surface answers with a new session or none.
 */
interface Surface {
  name: string;
  keepsActing: boolean;
  /** Flag the user for a forced reset before (every case but the forced reset itself flags after the sessions exist). */
  change(t: RunningApp, s: Subject): Promise<void>;
}

describe.each(dialects)('one password rule on every surface on %s', (_name, database) => {
  let t: RunningApp;
  let db: Awaited<ReturnType<DatabaseFactory>>;
  let smtp: Awaited<ReturnType<typeof startSmtpSink>>;
  let sms: Awaited<ReturnType<typeof startSmsWebhook>>;
  let web: IssuedApplication;
  let m2m: string;

  beforeAll(async () => {
    smtp = await startSmtpSink();
    sms = await startSmsWebhook();
    db = await database();
    t = await startAppWithPublicUrl({
      databaseUrl: db.url,
      adminClientId: ADMIN_ID,
      adminClientSecret: ADMIN_SECRET,
      leancloud: LC_KEYS,
      codes: { resendIntervalSeconds: 0, perIdentifierPerHour: 1000, perIpPerHour: 100_000 },
      email: { smtpUrl: smtp.url, from: 'Tessera Test <auth@tessera.test>' },
      sms: { webhookUrl: sms.url, webhookSecret: 'a-very-long-webhook-secret', timeoutSeconds: 2 },
    });
    web = await t.app.services.applications.create({ name: 'Web', type: 'traditional', redirectUris: [REDIRECT] });
    await t.app.services.accountCenter.update({ enabled: true, fields: allEdit });
    m2m = await managementToken(t.base, ADMIN_ID, ADMIN_SECRET);
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
    await sms.close();
    await db.drop();
  });

  async function api(method: string, path: string, token?: string, body?: unknown, headers: Record<string, string> = {}) {
    const res = await t.call(method, path, { token, body, headers });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  }

  async function newSubject(options: { flagFirst?: boolean } = {}): Promise<Subject> {
    const username = uniq('pw');
    const email = `${username}@example.com`;
    const phone = cnPhone();
    const created = await api('POST', '/api/auth/sign-up', undefined, { username, email, password: PW });
    expect(created.status).toBe(201);
    const id = created.body.user.id as string;
    // The phone is bound as an administrator would (a verified number, for the SMS reset).
    await t.app.services.users.update(id, { primaryPhone: phone, phoneVerified: true });
    const signIn = async () => {
      const res = await api('POST', '/api/auth/sign-in', undefined, { username, password: PW });
      expect(res.status).toBe(200);
      return res.body.session.token as string;
    };
    const acting = await signIn();
    const other = await signIn();
    const oidcAccessToken = await oidcSignIn(t.base, { id: web.application.id, secret: web.secret! }, REDIRECT, username, PW);
    const { subjectToken } = await t.app.services.subjectTokens.issue(id, ADMIN_ID, { ticket: 'T-1' });
    if (!options.flagFirst) await t.app.services.users.update(id, { passwordResetRequired: true });
    return { id, username, email, phone, acting, other, oidcAccessToken, subjectToken };
  }

  const surfaces: Surface[] = [
    {
      name: 'POST /api/auth/me/password (current password)',
      keepsActing: false,
      async change(_t, s) {
        const res = await api('POST', '/api/auth/me/password', s.acting, { oldPassword: PW, newPassword: NEW_PW });
        expect(res.status).toBe(200);
        // The answer is a new session for this device.
        expect((await api('GET', '/api/auth/me', res.body.session.token)).status).toBe(200);
      },
    },
    {
      name: 'POST /api/auth/password/reset (emailed ForgotPassword code)',
      keepsActing: false,
      async change(_t, s) {
        const before = smtp.messages.length;
        expect((await api('POST', '/api/auth/codes', undefined, { email: s.email, purpose: 'ForgotPassword' })).status).toBe(200);
        const mail = await smtp.waitFor((m, i) => i >= before && m.to.toLowerCase() === s.email.toLowerCase(), 5000);
        const res = await api('POST', '/api/auth/password/reset', undefined, { email: s.email, code: extractCode(mail.text), newPassword: NEW_PW });
        expect(res.status).toBe(204);
      },
    },
    {
      name: 'POST /api/auth/password/reset-with-token (forced reset)',
      keepsActing: false,
      async change(_t, s) {
        await t.app.services.users.update(s.id, { passwordResetRequired: true });
        const refused = await api('POST', '/api/auth/sign-in', undefined, { username: s.username, password: PW });
        expect(refused.body.code).toBe('auth.password_reset_required');
        const res = await api('POST', '/api/auth/password/reset-with-token', undefined, { resetToken: refused.body.data.resetToken, newPassword: NEW_PW });
        expect(res.status).toBe(200);
      },
    },
    {
      name: 'POST /api/my-account/password (Account API, password proof)',
      keepsActing: true,
      async change(_t, s) {
        const proof = await api('POST', '/api/verifications/password', s.acting, { password: PW });
        expect(proof.status).toBe(201);
        const res = await api('POST', '/api/my-account/password', s.acting, { password: NEW_PW }, { 'logto-verification-id': proof.body.verificationRecordId });
        expect(res.status).toBe(204);
      },
    },
    {
      name: 'PATCH /api/users/:id/password (Management API)',
      keepsActing: false,
      async change(_t, s) {
        const res = await api('PATCH', `/api/users/${s.id}/password`, m2m, { password: NEW_PW });
        expect(res.status).toBe(200);
      },
    },
    {
      name: 'PUT /1.1/users/:id/updatePassword (LeanCloud, old password)',
      keepsActing: false,
      async change(_t, s) {
        const res = await lcFetch(t.base, 'PUT', `/1.1/users/${s.id}/updatePassword`, { session: s.acting, body: { old_password: PW, new_password: NEW_PW } });
        expect(res.status).toBe(200);
        expect(typeof res.body.sessionToken).toBe('string');
      },
    },
    {
      name: 'PUT /1.1/users/:id {password} (LeanCloud master key)',
      keepsActing: false,
      async change(_t, s) {
        const res = await lcFetch(t.base, 'PUT', `/1.1/users/${s.id}`, { master: true, body: { password: NEW_PW } });
        expect(res.status).toBe(200);
      },
    },
    {
      name: 'PUT /1.1/resetPasswordBySmsCode/:code (LeanCloud SMS reset)',
      keepsActing: false,
      async change(_t, s) {
        const before = sms.requests.length;
        expect((await lcFetch(t.base, 'POST', '/1.1/requestPasswordResetBySmsCode', { body: { mobilePhoneNumber: s.phone } })).status).toBe(200);
        const req = await sms.waitFor((r, i) => i >= before && r.json.to === s.phone, 5000);
        const res = await lcFetch(t.base, 'PUT', `/1.1/resetPasswordBySmsCode/${req.json.code}`, { body: { password: NEW_PW, mobilePhoneNumber: s.phone } });
        expect(res.status).toBe(200);
      },
    },
    {
      name: 'POST /1.1/resetPassword (LeanCloud emailed code, reset page)',
      keepsActing: false,
      async change(_t, s) {
        const before = smtp.messages.length;
        expect((await lcFetch(t.base, 'POST', '/1.1/requestPasswordReset', { body: { email: s.email } })).status).toBe(200);
        const mail = await smtp.waitFor((m, i) => i >= before && m.to.toLowerCase() === s.email.toLowerCase(), 5000);
        const res = await fetch(`${t.base}/1.1/resetPassword`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ email: s.email, code: extractCode(mail.text), password: NEW_PW }).toString(),
        });
        expect(res.status).toBe(200);
      },
    },
  ];

  it.each(surfaces)('$name: same effects', async (surface) => {
    const s = await newSubject({ flagFirst: surface.name.includes('forced reset') });
    const startedAt = Date.now() - 1;
    await surface.change(t, s);

    // The password is the new one, wherever it is checked.
    expect((await api('POST', '/api/auth/sign-in', undefined, { username: s.username, password: PW })).body.code).toBe('auth.invalid_credentials');
    const fresh = await api('POST', '/api/auth/sign-in', undefined, { username: s.username, password: NEW_PW });
    expect(fresh.status).toBe(200);
    // Other first-party sessions are dead and cannot be refreshed.
    expect((await api('GET', '/api/auth/me', s.other)).status).toBe(401);
    expect((await api('POST', '/api/auth/refresh', s.other)).status).toBe(401);
    // The acting session survives only where the surface keeps it.
    expect((await api('GET', '/api/auth/me', s.acting)).status).toBe(surface.keepsActing ? 200 : 401);
    // The browser signed in at /oidc: its access token is dead and the provider holds no session or grant.
    expect((await api('GET', '/api/my-account', s.oidcAccessToken)).status).toBe(401);
    const store = t.app.services.store;
    expect(await store.oidcPayloads.listByAccount('Session', s.id, Date.now())).toHaveLength(0);
    expect(await store.oidcPayloads.listByAccount('Grant', s.id, Date.now())).toHaveLength(0);
    // The unused impersonation token is gone.
    expect(await store.subjectTokens.findByHash(sha256Hex(s.subjectToken))).toBeUndefined();
    // The forced reset is cleared, the new password's level recorded, and the change audited.
    const user = await t.app.services.users.require(s.id);
    expect(user.passwordResetRequired).toBe(false);
    expect(await t.app.services.sdk.securityLevel.passwordLevel(user)).not.toBeNull();
    const audit = await store.accountAudit.listByUser(s.id, 10);
    expect(audit.some((e) => e.fields.includes('password') && e.at >= startedAt)).toBe(true);
  });

  it('the same-password rule holds on every surface where the user sets it (422 user.same_password)', async () => {
    const s = await newSubject({ flagFirst: true });
    const mine = await api('POST', '/api/auth/me/password', s.acting, { oldPassword: PW, newPassword: PW });
    expect([mine.status, mine.body.code]).toEqual([422, 'user.same_password']);
    const proof = await api('POST', '/api/verifications/password', s.acting, { password: PW });
    const account = await api('POST', '/api/my-account/password', s.acting, { password: PW }, { 'logto-verification-id': proof.body.verificationRecordId });
    expect([account.status, account.body.code]).toEqual([422, 'user.same_password']);
    const lc = await lcFetch(t.base, 'PUT', `/1.1/users/${s.id}/updatePassword`, { session: s.acting, body: { old_password: PW, new_password: PW } });
    expect([lc.status, lc.body.code]).toEqual([400, 218]);
    // Nothing ended: the sessions are still alive.
    expect((await api('GET', '/api/auth/me', s.other)).status).toBe(200);
  });
});
