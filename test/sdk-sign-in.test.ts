/**
 * Sign-in extras of the SDK surface (issue 6, seed 003): force password reset (Management API flag,
 * `auth.password_reset_required`, `POST /api/auth/password/reset-with-token`), `autoRegister` on code
 * sign-in, and `POST /api/auth/link-account` — over real HTTP, real SMTP sink, real M2M tokens.
 */
import * as client from 'openid-client';
import { generateSync } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/util/clock.js';
import { type DatabaseFactory, dialects, LogCapture, type RunningApp, startAppWithPublicUrl } from './helpers.js';
import { Browser } from './browser.js';
import { LC_KEYS, lcFetch } from './leancloud-helpers.js';
import { extractCode, startSmtpSink } from './peers.js';

const ADMIN_ID = 'tessera-admin-app';
const ADMIN_SECRET = 'admin-secret-0123456789abcdef';
const PW = 'violet-harbor-7-lantern';
const PW2 = 'copper-meadow-42-quill';
const PW3 = 'amber-tundra-93-falcon';
let seq = 0;
const uniq = (p = 'u') => `${p}${Date.now().toString(36)}${seq++}`;
/** A TOTP secret (base32, 160 bits) and its code at `ms` (otplib: RFC 6238, SHA-1, 6 digits, 30 s). */
const TOTP_SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
const totpAt = (ms: number) => generateSync({ secret: TOTP_SECRET, epoch: Math.floor(ms / 1000) });
const REDIRECT = 'https://rp.example.com/callback';
/** The value of a hidden form field of the sign-in page. */
const field = (html: string, name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1];

describe.each(dialects)('SDK sign-in extras on %s', (_name, database) => {
  const clock = new ManualClock(Date.now());
  const logs = new LogCapture();
  let t: RunningApp;
  let db: Awaited<ReturnType<DatabaseFactory>>;
  let smtp: Awaited<ReturnType<typeof startSmtpSink>>;
  let admin: string;
  const secrets: string[] = [];

  beforeAll(async () => {
    db = await database();
    smtp = await startSmtpSink();
    t = await startAppWithPublicUrl(
      {
        databaseUrl: db.url,
        logLevel: 'info',
        adminClientId: ADMIN_ID,
        adminClientSecret: ADMIN_SECRET,
        email: { smtpUrl: smtp.url },
        signIn: { sendVerifyEmail: false },
        codes: { resendIntervalSeconds: 0 },
        leancloud: { appId: LC_KEYS.appId, appKey: LC_KEYS.appKey },
      },
      { clock, logStream: logs },
    );
    const res = await fetch(`${t.base}/oidc/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${ADMIN_ID}:${ADMIN_SECRET}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource: `${t.base}/api`, scope: 'all' }).toString(),
    });
    admin = (await res.json()).access_token;
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
    await db?.drop();
    expect(secrets.length).toBeGreaterThan(2);
    for (const s of secrets) expect(logs.mentions(s)).toBe(false);
  });

  async function call(method: string, path: string, options: Parameters<RunningApp['call']>[2] = {}) {
    const res = await t.call(method, path, options);
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }
  const api = (method: string, path: string, body?: unknown) => call(method, path, { token: admin, ...(body !== undefined ? { body } : {}) });
  const signIn = (username: string, password: string) => call('POST', '/api/auth/sign-in', { body: { username, password } });

  describe('force password reset', () => {
    it('on first login: the right password yields a single-use reset token instead of a session', async () => {
      const username = uniq('first');
      const created = await api('POST', '/api/users', { username, password: PW, passwordResetRequired: true });
      expect(created.status).toBe(200);
      expect(created.body.passwordResetRequired).toBe(true);

      const wrong = await signIn(username, 'not-the-password-9');
      expect(wrong).toMatchObject({ status: 401, body: { code: 'auth.invalid_credentials' } });
      expect(JSON.stringify(wrong.body)).not.toContain('resetToken');

      const refused = await signIn(username, PW);
      expect(refused.status).toBe(403);
      expect(refused.body).toMatchObject({ code: 'auth.password_reset_required', data: { reason: 'first_login' } });
      expect(refused.body.session).toBeUndefined();
      const resetToken = refused.body.data.resetToken as string;
      expect(resetToken).toMatch(/^tpr_[A-Za-z0-9_-]{43}$/);
      secrets.push(resetToken);

      const badOld = await call('POST', '/api/auth/password/reset-with-token', { body: { resetToken, oldPassword: 'not-the-password-9', newPassword: PW2 } });
      expect(badOld).toMatchObject({ status: 401, body: { code: 'auth.invalid_credentials' } });
      const weak = await call('POST', '/api/auth/password/reset-with-token', { body: { resetToken, newPassword: 'password' } });
      expect(weak).toMatchObject({ status: 422, body: { code: 'password.rejected' } });
      const same = await call('POST', '/api/auth/password/reset-with-token', { body: { resetToken, newPassword: PW } });
      expect(same).toMatchObject({ status: 422, body: { code: 'user.same_password' } });

      const ok = await call('POST', '/api/auth/password/reset-with-token', { body: { resetToken, newPassword: PW2 } });
      expect(ok.status).toBe(200);
      expect(ok.body.user).toMatchObject({ username, passwordResetRequired: false });
      expect((await call('GET', '/api/auth/me', { token: ok.body.session.token })).status).toBe(200);
      const reused = await call('POST', '/api/auth/password/reset-with-token', { body: { resetToken, newPassword: PW3 } });
      expect(reused).toMatchObject({ status: 400, body: { code: 'auth.reset_token_invalid' } });
      expect((await signIn(username, PW)).status).toBe(401);
      expect((await signIn(username, PW2)).status).toBe(200);
    });

    it('forced later by PATCH: reason "forced", old password checked (resetPasswordByForceResetToken), token dies after 10 minutes', async () => {
      const username = uniq('forced');
      const id = (await api('POST', '/api/users', { username, password: PW })).body.id;
      const session = (await signIn(username, PW)).body.session.token;
      const patched = await api('PATCH', `/api/users/${id}`, { passwordResetRequired: true });
      expect(patched.body.passwordResetRequired).toBe(true);

      const first = await signIn(username, PW);
      expect(first.body).toMatchObject({ code: 'auth.password_reset_required', data: { reason: 'forced' } });
      secrets.push(first.body.data.resetToken);
      clock.advance(10 * 60 * 1000);
      const late = await call('POST', '/api/auth/password/reset-with-token', { body: { resetToken: first.body.data.resetToken, oldPassword: PW, newPassword: PW2 } });
      expect(late.body.code).toBe('auth.reset_token_invalid');

      const second = await signIn(username, PW);
      const resetToken = second.body.data.resetToken as string;
      secrets.push(resetToken);
      const ok = await call('POST', '/api/auth/password/reset-with-token', { body: { resetToken, oldPassword: PW, newPassword: PW2 } });
      expect(ok.status).toBe(200);
      // every older session ended
      expect((await call('GET', '/api/auth/me', { token: session })).status).toBe(401);
      expect((await api('GET', `/api/users/${id}`)).body.passwordResetRequired).toBe(false);
    });

    it('with an MFA factor: the password gives mfa_required (no token), the second factor gives the reset token, the reset needs MFA again', async () => {
      const username = uniq('mfa');
      const id = (await api('POST', '/api/users', { username, password: PW, passwordResetRequired: true })).body.id as string;
      await t.app.services.mfa.addTotp(id, TOTP_SECRET);
      secrets.push(TOTP_SECRET);

      const first = await signIn(username, PW);
      expect(first).toMatchObject({ status: 403, body: { code: 'auth.mfa_required', data: { factors: ['totp'] } } });
      expect(JSON.stringify(first.body)).not.toMatch(/resetToken|tpr_/);
      // the password alone never reaches the reset token, whatever the reset endpoint is sent
      expect((await signIn(username, 'not-the-password-9')).body.code).toBe('auth.invalid_credentials');

      const wrong = await call('POST', '/api/auth/sign-in/mfa', { body: { pendingSignInId: first.body.data.pendingSignInId, type: 'totp', code: totpAt(clock.now()) === '000000' ? '111111' : '000000' } });
      expect(wrong.body.code).toBe('session.mfa.invalid_totp_code');
      const step = await call('POST', '/api/auth/sign-in/mfa', { body: { pendingSignInId: first.body.data.pendingSignInId, type: 'totp', code: totpAt(clock.now()) } });
      expect(step.status).toBe(403);
      expect(step.body).toMatchObject({ code: 'auth.password_reset_required', data: { reason: 'first_login' } });
      expect(step.body.session).toBeUndefined();
      const resetToken = step.body.data.resetToken as string;
      expect(resetToken).toMatch(/^tpr_[A-Za-z0-9_-]{43}$/);
      secrets.push(resetToken);
      // no session was issued on the way, and the user has still never signed in
      expect((await api('GET', `/api/users/${id}/sessions`)).body).toEqual([]);
      expect((await api('GET', `/api/users/${id}`)).body).toMatchObject({ passwordResetRequired: true, lastSignInAt: null });

      const reset = await call('POST', '/api/auth/password/reset-with-token', { body: { resetToken, newPassword: PW2 } });
      expect(reset).toMatchObject({ status: 403, body: { code: 'auth.mfa_required' } });
      expect((await api('GET', `/api/users/${id}`)).body.passwordResetRequired).toBe(false);
      expect((await call('POST', '/api/auth/password/reset-with-token', { body: { resetToken, newPassword: PW3 } })).body.code).toBe('auth.reset_token_invalid');
      clock.advance(30_000); // the previous TOTP step is spent
      const done = await call('POST', '/api/auth/sign-in/mfa', { body: { pendingSignInId: reset.body.data.pendingSignInId, type: 'totp', code: totpAt(clock.now()) } });
      expect(done.status).toBe(200);
      expect(done.body.user).toMatchObject({ id, passwordResetRequired: false });
      secrets.push(done.body.session.token);
      expect((await call('GET', '/api/auth/me', { token: done.body.session.token })).status).toBe(200);
      expect((await signIn(username, PW)).status).toBe(401);
      expect((await signIn(username, PW2)).body.code).toBe('auth.mfa_required');
    });

    it('a flag set later on an MFA user: reason "forced" after the second factor; an unflagged MFA user gets a session', async () => {
      const username = uniq('mfa2');
      const id = (await api('POST', '/api/users', { username, password: PW })).body.id as string;
      await t.app.services.mfa.addTotp(id, TOTP_SECRET);
      clock.advance(30_000);
      const plain = await signIn(username, PW);
      expect(plain.body.code).toBe('auth.mfa_required');
      const ok = await call('POST', '/api/auth/sign-in/mfa', { body: { pendingSignInId: plain.body.data.pendingSignInId, type: 'totp', code: totpAt(clock.now()) } });
      expect(ok.status).toBe(200);
      secrets.push(ok.body.session.token);

      await api('PATCH', `/api/users/${id}`, { passwordResetRequired: true });
      clock.advance(30_000);
      const first = await signIn(username, PW);
      expect(first.body.code).toBe('auth.mfa_required');
      const step = await call('POST', '/api/auth/sign-in/mfa', { body: { pendingSignInId: first.body.data.pendingSignInId, type: 'totp', code: totpAt(clock.now()) } });
      expect(step.body).toMatchObject({ code: 'auth.password_reset_required', data: { reason: 'forced' } });
      secrets.push(step.body.data.resetToken);
      // the reset ends every older session
      const reset = await call('POST', '/api/auth/password/reset-with-token', { body: { resetToken: step.body.data.resetToken, oldPassword: PW, newPassword: PW2 } });
      expect(reset.body.code).toBe('auth.mfa_required');
      expect((await call('GET', '/api/auth/me', { token: ok.body.session.token })).status).toBe(401);
    });

    it('OIDC sign-in page: a flagged MFA user is sent back to the sign-in form after the second factor, with no code', async () => {
      const username = uniq('oidc');
      const id = (await api('POST', '/api/users', { username, password: PW, passwordResetRequired: true })).body.id as string;
      await t.app.services.mfa.addTotp(id, TOTP_SECRET);
      clock.advance(30_000);
      const web = await t.app.services.applications.create({ name: 'Forced reset page', type: 'traditional', redirectUris: [REDIRECT] });
      const config = await client.discovery(new URL(`${t.base}/oidc`), web.application.id, web.secret!, client.ClientSecretBasic(web.secret!), {
        execute: [client.allowInsecureRequests],
      });
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: REDIRECT, scope: 'openid', code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
        code_challenge_method: 'S256', state: 's',
      });
      const browser = new Browser();
      const { res, url: pageUrl } = await browser.follow(url.href, t.base);
      const html = await res.text();
      const csrf = field(html, 'csrf')!;
      const form = (fields: Record<string, string>) => ({
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: t.base },
        body: new URLSearchParams(fields).toString(),
      });
      const step = await browser.request(new URL(/action="([^"]+\/login)"/.exec(html)![1]!, pageUrl).href, form({ csrf, identifier: username, password: PW }));
      expect(step.status).toBe(200);
      const stepHtml = await step.text();
      expect(stepHtml).toContain('Two-step verification');
      const mfaAction = new URL(/action="([^"]+\/mfa)"/.exec(stepHtml)![1]!, pageUrl).href;
      const done = await browser.request(mfaAction, form({ csrf, pendingSignInId: field(stepHtml, 'pendingSignInId')!, code: totpAt(clock.now()) }));
      expect(done.status).toBe(403);
      expect(done.headers.get('location')).toBeNull();
      const page = await done.text();
      expect(page).toContain('The password must be changed');
      expect(page).toMatch(/action="[^"]+\/login"/);
      expect(page).not.toContain('tpr_');
      expect((await api('GET', `/api/users/${id}`)).body).toMatchObject({ passwordResetRequired: true, lastSignInAt: null });
    });

    it('refuses unknown and malformed tokens alike', async () => {
      for (const resetToken of ['tpr_' + 'A'.repeat(43), 'nope']) {
        const res = await call('POST', '/api/auth/password/reset-with-token', { body: { resetToken, newPassword: PW2 } });
        expect(res).toMatchObject({ status: 400, body: { code: 'auth.reset_token_invalid' } });
      }
    });
  });

  describe('autoRegister on code sign-in', () => {
    async function signInCode(email: string) {
      const before = smtp.messages.length;
      expect((await call('POST', '/api/auth/codes', { body: { email, purpose: 'SignIn' } })).status).toBe(200);
      const mail = await smtp.waitFor((m, i) => i >= before && m.to === email);
      const code = extractCode(mail.text);
      secrets.push(code);
      return code;
    }

    it('creates the account with a verified email only when asked; the code works once', async () => {
      const email = `${uniq('auto')}@example.com`;
      const code = await signInCode(email);
      const plain = await call('POST', '/api/auth/sign-in', { body: { email, code } });
      expect(plain).toMatchObject({ status: 404, body: { code: 'user.not_found' } });
      const auto = await call('POST', '/api/auth/sign-in', { body: { email, code, autoRegister: true } });
      expect(auto.status).toBe(200);
      expect(auto.body.user).toMatchObject({ primaryEmail: email, emailVerified: true, hasPassword: false });
      const again = await call('POST', '/api/auth/sign-in', { body: { email, code, autoRegister: true } });
      expect(again.body.code).toMatch(/^verification\./);
      const list = await api('GET', `/api/users?search.primaryEmail=${encodeURIComponent(email)}&mode.primaryEmail=exact`);
      expect(list.body).toHaveLength(1);
    });

    it('signs an existing account in without creating another', async () => {
      const email = `${uniq('exist')}@example.com`;
      const id = (await call('POST', '/api/auth/sign-up', { body: { email, password: PW } })).body.user.id;
      const code = await signInCode(email);
      const res = await call('POST', '/api/auth/sign-in', { body: { email, code, autoRegister: true } });
      expect(res.body.user.id).toBe(id);
    });

    it('accepts clientIp and ignores it', async () => {
      const username = uniq('ip');
      await call('POST', '/api/auth/sign-up', { body: { username, password: PW } });
      const res = await call('POST', '/api/auth/sign-in', { body: { username, password: PW, clientIp: '203.0.113.9' } });
      expect(res.status).toBe(200);
      const sessions = await api('GET', `/api/users/${res.body.user.id}/sessions`);
      expect(sessions.body.map((s: { ip: string }) => s.ip)).not.toContain('203.0.113.9');
    });
  });

  describe('POST /api/auth/link-account', () => {
    async function socialUser(provider: string) {
      const openid = uniq(provider);
      const res = await lcFetch(t.base, 'POST', '/1.1/users', { body: { authData: { [provider]: { openid, access_token: 'at' } } } });
      expect(res.status).toBe(201);
      secrets.push(res.body.sessionToken);
      return { id: res.body.objectId as string, token: res.body.sessionToken as string, openid };
    }

    it('moves the secondary account\'s identities to the primary and deletes the secondary', async () => {
      const primary = await call('POST', '/api/auth/sign-up', { body: { username: uniq('main'), password: PW } });
      const secondary = await socialUser('qq');
      const res = await call('POST', '/api/auth/link-account', { body: { primaryUserToken: primary.body.session.token, secondaryUserToken: secondary.token } });
      expect(res.status).toBe(200);
      expect(res.body.user.id).toBe(primary.body.user.id);
      expect((await api('GET', `/api/users/${secondary.id}`)).status).toBe(404);
      expect((await call('GET', '/api/auth/me', { token: secondary.token })).status).toBe(401);
      const identities = await api('GET', `/api/users/${primary.body.user.id}/identities`);
      expect(JSON.stringify(identities.body)).toContain(secondary.openid);
      // signing in with that external account now reaches the primary account
      const again = await lcFetch(t.base, 'POST', '/1.1/users', { body: { authData: { qq: { openid: secondary.openid, access_token: 'at2' } } } });
      expect(again.body.objectId).toBe(primary.body.user.id);
      secrets.push(again.body.sessionToken);
    });

    it('refuses (409, nothing changes) when the secondary has its own email or password, or both have the provider', async () => {
      const primary = await call('POST', '/api/auth/sign-up', { body: { username: uniq('p'), password: PW } });
      const withPassword = await call('POST', '/api/auth/sign-up', { body: { username: uniq('s'), password: PW } });
      const res = await call('POST', '/api/auth/link-account', {
        body: { primaryUserToken: primary.body.session.token, secondaryUserToken: withPassword.body.session.token },
      });
      expect(res).toMatchObject({ status: 409, body: { code: 'account.link_conflict' } });
      expect((await api('GET', `/api/users/${withPassword.body.user.id}`)).status).toBe(200);

      const a = await socialUser('weixin');
      const b = await socialUser('weixin');
      const clash = await call('POST', '/api/auth/link-account', { body: { primaryUserToken: a.token, secondaryUserToken: b.token } });
      expect(clash.body.code).toBe('account.link_conflict');
      expect((await api('GET', `/api/users/${b.id}`)).status).toBe(200);
      expect(JSON.stringify((await api('GET', `/api/users/${b.id}/identities`)).body)).toContain(b.openid);
    });

    it('needs a recent sign-in of the primary (≤ 10 minutes; a refresh does not count): else 401 auth.reauthentication_required, nothing changes', async () => {
      const username = uniq('old');
      const primary = await call('POST', '/api/auth/sign-up', { body: { username, password: PW } });
      secrets.push(primary.body.session.token);
      clock.advance(10 * 60 * 1000 + 1000);
      const refreshed = await call('POST', '/api/auth/refresh', { token: primary.body.session.token });
      expect(refreshed.status).toBe(200);
      const stolen = refreshed.body.session.token as string;
      secrets.push(stolen);
      const secondary = await socialUser('qq');
      const refused = await call('POST', '/api/auth/link-account', { body: { primaryUserToken: stolen, secondaryUserToken: secondary.token } });
      expect(refused).toMatchObject({ status: 401, body: { code: 'auth.reauthentication_required' } });
      expect((await api('GET', `/api/users/${secondary.id}`)).status).toBe(200);
      expect((await call('GET', '/api/auth/me', { token: secondary.token })).status).toBe(200);
      expect(JSON.stringify((await api('GET', `/api/users/${primary.body.user.id}/identities`)).body)).not.toContain(secondary.openid);

      // signing in again gives a session that may link, up to exactly 10 minutes after its sign-in
      const again = await signIn(username, PW);
      secrets.push(again.body.session.token);
      clock.advance(10 * 60 * 1000);
      const ok = await call('POST', '/api/auth/link-account', { body: { primaryUserToken: again.body.session.token, secondaryUserToken: secondary.token } });
      expect(ok.status).toBe(200);
      expect(ok.body.user.id).toBe(primary.body.user.id);
      expect((await api('GET', `/api/users/${secondary.id}`)).status).toBe(404);
    });

    it('needs two live session tokens of two accounts', async () => {
      const primary = await call('POST', '/api/auth/sign-up', { body: { username: uniq('q'), password: PW } });
      const token = primary.body.session.token;
      expect((await call('POST', '/api/auth/link-account', { body: { primaryUserToken: token, secondaryUserToken: 'tss_forged' } })).status).toBe(401);
      expect((await call('POST', '/api/auth/link-account', { body: { primaryUserToken: token, secondaryUserToken: token } })).body.code).toBe('request.invalid');
    });
  });
});
