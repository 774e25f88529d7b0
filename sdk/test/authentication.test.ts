/**
 * AuthenticationClient against a real Tessera server on 127.0.0.1 (in-process, real HTTP), with a real
 * SMTP sink and SMS webhook for the code flows. Every method: success and its documented failures.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects } from '../../test/helpers.js';
import { unusedPort } from '../../test/peers.js';
import { ManualClock } from '../../src/util/clock.js';
import { generateSecret, generateSync } from 'otplib';
import { AccountClient, AuthenticationClient, EmailScene, isMfaRequired, ManagementClient, TesseraError } from '../src/index.js';
import { ADMIN_ID, ADMIN_SECRET, fails, MemoryStorage, nextPhone, PW, recordingFetch, type SdkServer, startSdkServer, uniq } from './server.js';

/** The `/1.1` (LeanCloud) surface, used to make an account that has only a third-party identity. */
const LC = { appId: 'sdk-lc-app', appKey: 'sdk-lc-app-key-0123456789', masterKey: 'sdk-lc-master-key-0123456789' };

describe.each(dialects)('AuthenticationClient on %s', (_name, database) => {
  let s: SdkServer;
  let mgmt: ManagementClient;
  const client = (extra: Partial<ConstructorParameters<typeof AuthenticationClient>[0]> = {}) => new AuthenticationClient({ appHost: s.t.base, ...extra });

  beforeAll(async () => {
    s = await startSdkServer(database, { signIn: { allowUserExistsCheck: true, captchaAfterFailures: 0 }, leancloud: LC });
    mgmt = new ManagementClient({ endpoint: s.t.base, clientId: ADMIN_ID, clientSecret: ADMIN_SECRET });
  });
  afterAll(async () => {
    await s.close();
  });

  /** A signed-in client of a fresh email + password user. */
  async function emailUser(profile?: Parameters<AuthenticationClient['registerByEmail']>[2]) {
    const auth = client();
    const email = `${uniq()}@example.com`;
    const user = await auth.registerByEmail(email, PW, profile);
    return { auth, email, user };
  }

  /** A phone code of `scene`, read from the SMS webhook. */
  async function smsCode(auth: AuthenticationClient, phone: string, scene?: Parameters<AuthenticationClient['sendSmsCode']>[2]) {
    const before = s.sms.requests.length;
    const sent = await auth.sendSmsCode(phone, undefined, scene);
    expect(sent.verificationId).toMatch(/^vrf_/);
    expect(Date.parse(sent.expiresAt)).toBeGreaterThan(Date.now());
    return s.smsCode(phone, before);
  }

  /** An e-mail code of `scene`, read from the SMTP sink. */
  async function mailCode(auth: AuthenticationClient, email: string, scene: EmailScene) {
    const before = s.smtp.messages.length;
    await auth.sendEmail(email, scene);
    return s.mailCode(email, before);
  }

  describe('construction and transport', () => {
    it('refuses a missing or non-http appHost locally', () => {
      expect(() => new AuthenticationClient({ appHost: 'id.example.com' })).toThrow(TesseraError);
      expect(() => new AuthenticationClient({ appHost: 'ftp://x' })).toThrow(expect.objectContaining({ name: 'TesseraError', code: 'request.invalid' }));
    });

    it('turns a refused connection into client.network_error (status 0)', async () => {
      const dead = new AuthenticationClient({ appHost: `http://127.0.0.1:${await unusedPort()}` });
      const e = await fails(dead.loginByUsername('nobody', PW), 'client.network_error', 0);
      expect(e.message).toMatch(/did not complete/);
      // with a token: getCurrentUser and checkLoginStatus report the outage instead of "signed out",
      // and logout keeps the token so it can be retried
      const withToken = new AuthenticationClient({ appHost: `http://127.0.0.1:${await unusedPort()}`, token: 'tss_kept' });
      await fails(withToken.getCurrentUser(), 'client.network_error', 0);
      await fails(withToken.checkLoginStatus(), 'client.network_error', 0);
      await fails(withToken.logout(), 'client.network_error', 0);
      expect(withToken.getToken()).toBe('tss_kept');
    });

    it('reports a slow answer, an answer without an error code, and a non-JSON answer', async () => {
      // The SMS webhook peer is a real HTTP server whose answers we control; here it plays a broken appHost.
      const peer = s.sms.url.replace(/\/sms$/, '');
      try {
        s.sms.respondWith({ delayMs: 400 });
        const slow = new AuthenticationClient({ appHost: peer, timeout: 100 });
        const e = await fails(slow.loginByUsername('x', PW), 'client.network_error', 0);
        expect(e.message).toMatch(/within 100 ms/);
        s.sms.respondWith({ status: 502 });
        const noCode = await fails(new AuthenticationClient({ appHost: peer }).loginByUsername('x', PW), 'client.invalid_response', 502);
        expect(noCode.data).toEqual({ ok: false, error: 'provider error' });
        const slowMgmt = new ManagementClient({ endpoint: peer, clientId: 'a', clientSecret: 'b', timeout: 100 });
        s.sms.respondWith({ delayMs: 400 });
        await fails(slowMgmt.getAccessToken(), 'client.network_error', 0);
        s.sms.respondWith({ status: 200 });
        // a 200 without an access token is not a token
        await fails(new ManagementClient({ endpoint: peer, clientId: 'a', clientSecret: 'b' }).getAccessToken(), 'client.token_request_failed', 200);
      } finally {
        s.sms.respondWith({});
      }
      // an HTML answer: with this appHost the request lands on the OIDC provider's logout page
      // (`/oidc/session/end?x=/api/auth/password-strength`), which is not JSON
      const html = await fails(new AuthenticationClient({ appHost: `${s.t.base}/oidc/session/end?x=` }).checkPasswordStrength('x'), 'client.invalid_response');
      expect(html.status).toBeGreaterThanOrEqual(200);
    });

    it("carries the server's code, status, message and data", async () => {
      const e = await fails(client().registerByEmail('not-an-email', PW), 'user.invalid_email', 400);
      expect(e.message.length).toBeGreaterThan(0);
      const weak = await fails(client().registerByUsername(uniq(), 'password'), 'password.rejected', 422);
      expect((weak.data as { issues: unknown[] }).issues.length).toBeGreaterThan(0);
    });
  });

  describe('registration', () => {
    it('registerByEmail signs in, maps the user to Authing’s shape and keeps the token', async () => {
      const auth = client();
      const email = `${uniq()}@example.com`;
      const user = await auth.registerByEmail(email, PW, { nickname: 'Ada', photo: 'https://example.com/ada.png', givenName: 'Ada', address: '1 Main St', country: 'UK' });
      expect(user).toMatchObject({
        email,
        emailVerified: false,
        phone: null,
        nickname: 'Ada',
        photo: 'https://example.com/ada.png',
        givenName: 'Ada',
        address: '1 Main St',
        country: 'UK',
        status: 'Activated',
        blocked: false,
        hasPassword: true,
      });
      expect(user.token).toMatch(/^tss_/);
      expect(Date.parse(user.tokenExpiredAt!)).toBeGreaterThan(Date.now());
      expect(user.createdAt).toBe(new Date(user.raw.createdAt).toISOString());
      expect(user.raw.profile).toEqual({ nickname: 'Ada', givenName: 'Ada', address: { formatted: '1 Main St', country: 'UK' } });
      expect(auth.getToken()).toBe(user.token);
      expect((await auth.getCurrentUser())?.id).toBe(user.id);
      await fails(client().registerByEmail(email.toUpperCase(), PW), 'user.email_taken', 409);
    });

    it('refuses profile keys Tessera does not store before sending anything', async () => {
      const rec = recordingFetch();
      const auth = client({ fetch: rec.fetch });
      const e = await fails(auth.registerByEmail(`${uniq()}@example.com`, PW, { company: 'ACME' } as never), 'request.invalid', 400);
      expect(e.data).toMatchObject({ issues: [{ path: 'profile.company' }] });
      expect(rec.calls).toEqual([]);
    });

    it('registerByUsername stores customData; duplicates and weak passwords fail', async () => {
      const auth = client();
      const username = uniq('Bob');
      const user = await auth.registerByUsername(username, PW, null, { customData: { plan: 'free' }, forceLogin: true, clientIp: '1.2.3.4' });
      expect(user).toMatchObject({ username, customData: { plan: 'free' }, email: null });
      await fails(client().registerByUsername(username, PW), 'user.username_taken', 409);
      await fails(client().registerByUsername(uniq(), '123'), 'password.rejected', 422);
    });

    it('registerByPhoneCode with a Register SMS code (phoneCountryCode prefixed); wrong codes fail', async () => {
      const auth = client();
      const phone = nextPhone();
      const before = s.sms.requests.length;
      await auth.sendSmsCode(phone.slice(2), '+1', 'register');
      const { code, purpose } = await s.smsCode(phone, before);
      expect(purpose).toBe('Register');
      const wrong = code === '000000' ? '111111' : '000000';
      const e = await fails(auth.registerByPhoneCode(phone, wrong, PW), 'verification.code_mismatch', 400);
      expect(e.data).toMatchObject({ remainingAttempts: expect.any(Number) });
      const user = await auth.registerByPhoneCode(phone.slice(2), code, PW, { nickname: 'Phony' }, { phoneCountryCode: '+1' });
      expect(user).toMatchObject({ phone, phoneVerified: true, hasPassword: true, nickname: 'Phony' });
      expect(auth.getToken()).toBe(user.token);
      await fails(client().sendSmsCode(phone, undefined, 'register'), 'user.phone_taken', 409);
    });

    it('registerByPhoneCode without a password', async () => {
      const auth = client();
      const phone = nextPhone();
      const { code } = await smsCode(auth, phone, 'register');
      const user = await auth.registerByPhoneCode(phone, code);
      expect(user).toMatchObject({ phone, hasPassword: false });
    });
  });

  describe('sign-in', () => {
    it('loginByEmail / loginByUsername / loginByPhonePassword; wrong passwords are auth.invalid_credentials', async () => {
      const username = uniq('carol');
      const email = `${username}@example.com`;
      const phone = nextPhone();
      await mgmt.users.create({ username, primaryEmail: email, primaryPhone: phone, password: PW });
      for (const login of [
        (a: AuthenticationClient) => a.loginByEmail(email.toUpperCase(), PW),
        (a: AuthenticationClient) => a.loginByUsername(username, PW),
        (a: AuthenticationClient) => a.loginByPhonePassword(phone, PW),
        (a: AuthenticationClient) => a.loginByPhonePassword(phone.slice(2), PW, { phoneCountryCode: '+1' }),
      ]) {
        const auth = client();
        const user = await login(auth);
        expect(user).toMatchObject({ username, email, phone });
        expect(user.token).toMatch(/^tss_/);
        expect(user.lastLogin).not.toBeNull();
        expect((await auth.getCurrentUser())?.id).toBe(user.id);
      }
      await fails(client().loginByEmail(email, 'wrong password'), 'auth.invalid_credentials', 401);
      await fails(client().loginByUsername(uniq('ghost'), PW), 'auth.invalid_credentials', 401);
      await fails(client().loginByPhonePassword(phone, 'wrong password'), 'auth.invalid_credentials', 401);
    });

    it('login options.customData is merged into the user’s custom data', async () => {
      const { email } = await emailUser();
      const auth = client();
      const user = await auth.loginByEmail(email, PW, { customData: { source: 'google' } });
      expect(user.customData).toEqual({ source: 'google' });
      expect(user.token).toBe(auth.getToken());
    });

    it('loginByPhoneCode with a SignIn code; unknown numbers are user.not_found unless autoRegister', async () => {
      const phone = nextPhone();
      const first = client();
      const { code } = await smsCode(first, phone, 'register');
      const registered = await first.registerByPhoneCode(phone, code);

      const auth = client();
      const signIn = await smsCode(auth, phone);
      expect(signIn.purpose).toBe('SignIn');
      const user = await auth.loginByPhoneCode(phone, signIn.code);
      expect(user.id).toBe(registered.id);

      const stranger = nextPhone();
      const c1 = await smsCode(auth, stranger, 'login');
      await fails(client().loginByPhoneCode(stranger, c1.code), 'user.not_found', 404);
      const c2 = await smsCode(auth, stranger, 'login');
      const created = await client().loginByPhoneCode(stranger, c2.code, { autoRegister: true });
      expect(created).toMatchObject({ phone: stranger, phoneVerified: true, hasPassword: false });
    });

    it('captcha options must come in pairs (refused locally)', async () => {
      await fails(client().loginByEmail('a@example.com', PW, { captchaCode: 'ABCDE' }), 'request.invalid', 400);
    });
  });

  describe('second factor (Authing mfa names)', () => {
    it('a user with TOTP gets auth.mfa_required (isMfaRequired narrows it); verifyTotpMfa and verifyTotpRecoveryCode finish the sign-in', async () => {
      const { auth, email, user } = await emailUser();
      const secret = generateSecret();
      await s.t.app.services.mfa.addTotp(user.id, secret);
      const backup = Array.from({ length: 10 }, (_, i) => `${i}a1b2c3d4e`.slice(0, 10));
      await s.t.app.services.mfa.addBackupCodes(user.id, backup);
      await auth.logout();

      const signIn = async () => {
        const thrown = await client().loginByEmail(email, PW).then(() => undefined, (e: unknown) => e);
        expect(isMfaRequired(thrown)).toBe(true);
        if (!isMfaRequired(thrown)) throw new Error('unreachable');
        expect(thrown.data.factors).toEqual(expect.arrayContaining(['totp', 'backup_code']));
        return thrown.data.pendingSignInId;
      };
      const second = client();
      const mfaToken = await signIn();
      const wrong = await second.mfa.verifyTotpMfa({ totp: '000000', mfaToken }).then(() => undefined, (e: unknown) => e);
      expect(wrong).toBeInstanceOf(TesseraError);
      expect((wrong as TesseraError).code).toBe('session.mfa.invalid_totp_code');
      const signedIn = await second.mfa.verifyTotpMfa({ totp: generateSync({ secret }), mfaToken });
      expect(signedIn.id).toBe(user.id);
      expect((await second.getCurrentUser())?.id).toBe(user.id);
      await expect(second.mfa.verifyTotpMfa({ totp: generateSync({ secret }), mfaToken })).rejects.toMatchObject({ code: 'auth.mfa_sign_in_expired' });

      const third = client();
      const viaBackup = await third.mfa.verifyTotpRecoveryCode({ recoveryCode: backup[0]!, mfaToken: await signIn() });
      expect(viaBackup.id).toBe(user.id);
      expect((await third.getCurrentUser())?.id).toBe(user.id);
      // The backup code is used up.
      await expect(client().mfa.verifyTotpRecoveryCode({ recoveryCode: backup[0]!, mfaToken: await signIn() })).rejects.toMatchObject({ code: 'session.mfa.invalid_backup_code' });
      expect(isMfaRequired(new Error('x'))).toBe(false);
    });
  });

  describe('AccountClient (seed 000 over the Account and Verification APIs)', () => {
    it('reads and edits the profile, proves the password, changes the email with codes and the password; errors come back with Tessera codes', async () => {
      await s.t.app.services.accountCenter.update({ enabled: true, fields: { name: 'Edit', avatar: 'Edit', profile: 'Edit', username: 'Edit', email: 'Edit', phone: 'Edit', password: 'Edit', social: 'ReadOnly' } });
      try {
        const { email, user } = await emailUser();
        const account = new AccountClient({ endpoint: s.t.base, accessToken: async () => user.token! });
        expect(await account.getProfile()).toMatchObject({ id: user.id, primaryEmail: email, hasPassword: true });
        expect(await account.updateProfile({ name: 'Ada Lovelace' })).toMatchObject({ name: 'Ada Lovelace' });
        await expect(account.updateProfile({})).rejects.toMatchObject({ code: 'request.empty_update' });

        await expect(account.verifyPassword('not-the-password-1')).rejects.toMatchObject({ code: 'auth.invalid_credentials' });
        const proof = await account.verifyPassword(PW);
        expect(proof.verificationRecordId).toEqual(expect.any(String));
        expect(Date.parse(proof.expiresAt)).toBeGreaterThan(Date.now());

        // A new email: a code to it, verified, then bound with the identity proof.
        const next = `${uniq()}@example.com`;
        const before = s.smtp.messages.length;
        const sent = await account.sendVerificationCode({ type: 'email', value: next });
        const code = await s.mailCode(next, before);
        const wrong = code === '000000' ? '111111' : '000000';
        await expect(account.verifyVerificationCode({ verificationRecordId: sent.verificationRecordId, identifier: { type: 'email', value: next }, code: wrong })).rejects.toMatchObject({ code: 'verification.code_mismatch' });
        const verified = await account.verifyVerificationCode({ verificationRecordId: sent.verificationRecordId, identifier: { type: 'email', value: next }, code });
        await expect(account.updatePrimaryEmail({ email: next, newIdentifierVerificationRecordId: verified.verificationRecordId }, { verificationId: 'vrf_none' })).rejects.toMatchObject({
          code: 'verification_record.permission_denied',
        });
        await account.updatePrimaryEmail({ email: next, newIdentifierVerificationRecordId: verified.verificationRecordId }, { verificationId: proof.verificationRecordId });
        expect((await account.getProfile()).primaryEmail).toBe(next);

        // A new password (with a fresh proof): the old one stops working.
        const newPassword = 'copper-meadow-42-quiver';
        await account.updatePassword(newPassword, { verificationId: (await account.verifyPassword(PW)).verificationRecordId });
        await expect(client().loginByEmail(next, PW)).rejects.toMatchObject({ code: 'auth.invalid_credentials' });
        expect((await client().loginByEmail(next, newPassword)).id).toBe(user.id);
        await expect(account.getProviderAccessToken('github')).rejects.toMatchObject({ code: 'identity.token_not_found', status: 404 });
        await expect(new AccountClient({ endpoint: s.t.base, accessToken: 'not-a-token' }).getProfile()).rejects.toMatchObject({ code: 'auth.unauthorized' });
      } finally {
        await s.t.app.services.accountCenter.update({ enabled: false });
      }
    });
  });

  describe('session state', () => {
    it('getCurrentUser is null without a token, with a dead token, and after logout', async () => {
      expect(await client().getCurrentUser()).toBeNull();
      expect(await client({ token: 'tss_not-a-real-token' }).getCurrentUser()).toBeNull();
      const { auth, user } = await emailUser();
      const token = auth.getToken()!;
      // a client built from the token is signed in as the same user
      expect((await client({ token }).getCurrentUser())?.id).toBe(user.id);
      await auth.logout();
      expect(auth.getToken()).toBeNull();
      expect(await auth.getCurrentUser()).toBeNull();
      // the server ended the session: the old token is dead everywhere
      expect(await client({ token }).getCurrentUser()).toBeNull();
      expect((await auth.checkLoginStatus(token)).status).toBe(false);
      // logging out twice, or with a dead token, is fine
      await auth.logout();
      await client({ token }).logout();
    });

    it('keeps the token in the given storage, shared by clients of the same app, and logout removes it', async () => {
      const storage = new MemoryStorage();
      const a = client({ storage, appId: 'my-spa' });
      const user = await a.registerByEmail(`${uniq()}@example.com`, PW);
      expect(storage.getItem('tessera:token:my-spa')).toBe(user.token);
      const b = client({ storage, appId: 'my-spa' });
      expect((await b.getCurrentUser())?.id).toBe(user.id);
      expect(await client({ storage, appId: 'other-app' }).getCurrentUser()).toBeNull();
      await b.logout();
      expect(storage.map.size).toBe(0);
      expect(await a.getCurrentUser()).toBeNull();
    });

    it('checkLoginStatus reports live sessions in seconds and never throws for dead tokens', async () => {
      const { auth, user } = await emailUser();
      const status = await auth.checkLoginStatus();
      expect(status).toMatchObject({ status: true, userId: user.id });
      expect(status.exp! - status.iat!).toBeGreaterThan(3600);
      expect(Math.abs(status.iat! - Date.now() / 1000)).toBeLessThan(60);
      expect(await client().checkLoginStatus(auth.getToken()!)).toMatchObject({ status: true, userId: user.id });
      expect(await client().checkLoginStatus()).toEqual({ status: false, userId: null, iat: null, exp: null });
      expect(await client().checkLoginStatus('tss_forged')).toEqual({ status: false, userId: null, iat: null, exp: null });
    });

    it('refreshToken rotates the token: the new one is stored, the old one is dead', async () => {
      const { auth, user } = await emailUser();
      const old = auth.getToken()!;
      const refreshed = await auth.refreshToken();
      expect(refreshed.token).not.toBe(old);
      expect(auth.getToken()).toBe(refreshed.token);
      expect(refreshed.exp).toBeGreaterThan(refreshed.iat);
      expect((await auth.getCurrentUser())?.id).toBe(user.id);
      expect((await auth.checkLoginStatus(old)).status).toBe(false);
      await fails(client().refreshToken(), 'auth.unauthorized', 401);
    });
  });

  describe('codes and passwords', () => {
    it('sendEmail maps scenes to purposes; resetPasswordByEmailCode ends every session', async () => {
      const { auth, email } = await emailUser();
      const code = await mailCode(client(), email, EmailScene.ResetPassword);
      await fails(client().resetPasswordByEmailCode(email, code === '000000' ? '111111' : '000000', 'a brand new passphrase'), 'verification.code_mismatch', 400);
      await client().resetPasswordByEmailCode(email, code, 'a brand new passphrase');
      expect(await auth.getCurrentUser()).toBeNull();
      await fails(client().loginByEmail(email, PW), 'auth.invalid_credentials', 401);
      expect((await client().loginByEmail(email, 'a brand new passphrase')).email).toBe(email);
      // an unknown scene is refused locally
      await fails(client().sendEmail(email, 'MFA_VERIFY_CODE' as EmailScene), 'request.invalid', 400);
    });

    it('sendEmail VERIFY_EMAIL and LOGIN_VERIFY_CODE codes work with the matching endpoints', async () => {
      const { auth, email } = await emailUser();
      const verify = await mailCode(auth, email, EmailScene.VerifyEmail);
      expect((await s.t.call('POST', '/api/auth/verify-email', { body: { email, code: verify } })).status).toBe(204);
      expect((await auth.getCurrentUser())?.emailVerified).toBe(true);
      const login = await mailCode(auth, email, EmailScene.LOGIN_VERIFY_CODE);
      expect((await s.t.call('POST', '/api/auth/sign-in', { body: { email, code: login } })).status).toBe(200);
    });

    it('resetPasswordByPhoneCode with a ForgotPassword SMS code', async () => {
      const phone = nextPhone();
      await mgmt.users.create({ primaryPhone: phone, password: PW });
      const { code, purpose } = await smsCode(client(), phone, 'reset');
      expect(purpose).toBe('ForgotPassword');
      await fails(client().resetPasswordByPhoneCode(phone, code, 'password'), 'password.rejected', 422);
      await client().resetPasswordByPhoneCode(phone.slice(2), code, 'a brand new passphrase', '+1');
      expect((await client().loginByPhonePassword(phone, 'a brand new passphrase')).phone).toBe(phone);
    });

    it('checkPasswordStrength asks the server’s policy', async () => {
      const weak = await client().checkPasswordStrength('password');
      expect(weak).toMatchObject({ valid: false, level: 1 });
      expect(weak.message.length).toBeGreaterThan(0);
      const strong = await client().checkPasswordStrength('Tr0ub4dor&3-horse-battery');
      expect(strong.valid).toBe(true);
    });

    it('computedPasswordSecurityLevel follows Authing’s local rules', () => {
      const auth = client();
      expect(auth.computedPasswordSecurityLevel('abc')).toBe(1);
      expect(auth.computedPasswordSecurityLevel('abcdefgh')).toBe(1);
      expect(auth.computedPasswordSecurityLevel('abcdefg1')).toBe(2);
      expect(auth.computedPasswordSecurityLevel('abcdefghijk1')).toBe(2);
      expect(auth.computedPasswordSecurityLevel('Abcdefghijk1')).toBe(3);
      expect(() => auth.computedPasswordSecurityLevel(42 as unknown as string)).toThrow(TesseraError);
    });

    it('updatePassword needs the old password, ends other sessions and keeps the new one', async () => {
      const { auth, email } = await emailUser();
      const other = client();
      await other.loginByEmail(email, PW);
      await fails(auth.updatePassword('another fine passphrase'), 'request.invalid', 400);
      await fails(auth.updatePassword('another fine passphrase', 'not my password'), 'auth.invalid_credentials', 401);
      await fails(auth.updatePassword('password', PW), 'password.rejected', 422);
      const user = await auth.updatePassword('another fine passphrase', PW);
      expect(user.token).toBe(auth.getToken());
      expect((await auth.getCurrentUser())?.email).toBe(email);
      expect(await other.getCurrentUser()).toBeNull();
      expect((await client().loginByEmail(email, 'another fine passphrase')).email).toBe(email);
      await fails(client().updatePassword('x-y-z-passphrase'), 'auth.unauthorized', 401);
    });

    it('updatePassword without an old password for a user who has none', async () => {
      const auth = client();
      const phone = nextPhone();
      const { code } = await smsCode(auth, phone, 'register');
      await auth.registerByPhoneCode(phone, code);
      const user = await auth.updatePassword('first passphrase ever');
      expect(user.hasPassword).toBe(true);
      expect((await client().loginByPhonePassword(phone, 'first passphrase ever')).phone).toBe(phone);
    });
  });

  describe('profile, phone and e-mail', () => {
    it('updateProfile merges profile claims and custom data; email/phone/password are refused locally', async () => {
      const { auth, user } = await emailUser({ givenName: 'Ada' });
      const updated = await auth.updateProfile({ nickname: 'Countess', name: 'Ada Lovelace', locality: 'London', customData: { theme: 'dark' } });
      expect(updated).toMatchObject({ id: user.id, nickname: 'Countess', givenName: 'Ada', name: 'Ada Lovelace', locality: 'London', customData: { theme: 'dark' } });
      const username = uniq('ada');
      expect((await auth.updateProfile({ username })).username).toBe(username);
      await fails(client().updateProfile({ username: uniq() }), 'auth.unauthorized', 401);
      const rec = recordingFetch();
      const local = client({ fetch: rec.fetch, token: auth.getToken()! });
      for (const key of ['phone', 'email', 'password', 'emailVerified']) {
        const e = await fails(local.updateProfile({ [key]: 'x' } as never), 'request.invalid', 400);
        expect(e.data).toMatchObject({ issues: [{ path: `updates.${key}` }] });
      }
      expect(rec.calls).toEqual([]);
      const other = await emailUser();
      await fails(other.auth.updateProfile({ username }), 'user.username_taken', 409);
    });

    it('bindPhone, updatePhone (the old-phone proof is required by default), unbindPhone', async () => {
      const { auth } = await emailUser();
      const phone = nextPhone();
      const bind = await smsCode(auth, phone, 'bind');
      expect(bind.purpose).toBe('BindNewIdentifier');
      await fails(auth.bindPhone(phone, bind.code === '000000' ? '111111' : '000000'), 'verification.code_mismatch', 400);
      const bound = await auth.bindPhone(phone.slice(2), bind.code, '+1');
      expect(bound).toMatchObject({ phone, phoneVerified: true });

      const second = nextPhone();
      const c2 = await smsCode(auth, second, 'bind');
      await fails(auth.updatePhone(second, c2.code), 'request.invalid', 400);
      const old1 = await smsCode(auth, phone, 'unbind');
      expect((await auth.updatePhone(second, c2.code, phone, old1.code)).phone).toBe(second);

      const third = nextPhone();
      const c3 = await smsCode(auth, third, 'bind');
      const old = await smsCode(auth, second, 'unbind');
      expect(old.purpose).toBe('Generic');
      await fails(auth.updatePhone(third, c3.code, second, old.code === '000000' ? '111111' : '000000'), 'verification.code_mismatch', 400);
      const c3b = await smsCode(auth, third, 'bind');
      const oldB = await smsCode(auth, second, 'unbind');
      expect((await auth.updatePhone(third, c3b.code, second, oldB.code)).phone).toBe(third);
      await fails(auth.updatePhone(third, '123456', second), 'request.invalid', 400);

      // a phone another user holds cannot be bound
      const taken = await emailUser();
      const c4 = await smsCode(taken.auth, third, 'bind');
      await fails(taken.auth.bindPhone(third, c4.code), 'user.phone_taken', 409);

      expect((await auth.unbindPhone()).phone).toBeNull();
      await fails(client().unbindPhone(), 'auth.unauthorized', 401);
    });

    it('unbindPhone / unbindEmail refuse to remove the last way to sign in', async () => {
      const auth = client();
      const phone = nextPhone();
      const { code } = await smsCode(auth, phone, 'register');
      await auth.registerByPhoneCode(phone, code);
      await fails(auth.unbindPhone(), 'user.last_sign_in_method_required', 400);
      const emailOnly = client();
      const email = `${uniq()}@example.com`;
      const before = s.smtp.messages.length;
      await emailOnly.sendEmail(email, EmailScene.REGISTER_VERIFY_CODE);
      const reg = await s.mailCode(email, before);
      // a Register e-mail code signs up through the raw API (Authing's registerByEmailCode is not in the SDK)
      const res = await s.t.call('POST', '/api/auth/sign-up', { body: { email, code: reg } });
      expect(res.status).toBe(201);
      emailOnly.setToken((await res.json()).session.token);
      await fails(emailOnly.unbindEmail(), 'user.last_sign_in_method_required', 400);
    });

    it('bindEmail, updateEmail (the old-address proof is required by default), unbindEmail', async () => {
      const auth = client();
      await auth.registerByUsername(uniq('eve'), PW);
      const email = `${uniq()}@example.com`;
      const bind = await mailCode(auth, email, EmailScene.EMAIL_BIND_VERIFY_CODE);
      await fails(auth.bindEmail(email, bind === '000000' ? '111111' : '000000'), 'verification.code_mismatch', 400);
      const bound = await auth.bindEmail(email, bind);
      expect(bound).toMatchObject({ email, emailVerified: true });

      const second = `${uniq()}@example.com`;
      const c2 = await mailCode(auth, second, EmailScene.ChangeEmail);
      await fails(auth.updateEmail(second, c2), 'request.invalid', 400);
      const old1 = await mailCode(auth, email, EmailScene.EMAIL_UNBIND_VERIFY_CODE);
      expect((await auth.updateEmail(second, c2, email, old1)).email).toBe(second);

      const third = `${uniq()}@example.com`;
      const c3 = await mailCode(auth, third, EmailScene.ChangeEmail);
      const old = await mailCode(auth, second, EmailScene.EMAIL_UNBIND_VERIFY_CODE);
      expect((await auth.updateEmail(third, c3, second, old)).email).toBe(third);
      await fails(auth.updateEmail(third, '123456', second), 'request.invalid', 400);

      const taken = await emailUser();
      const c4 = await mailCode(auth, taken.email, EmailScene.EMAIL_BIND_VERIFY_CODE);
      const old4 = await mailCode(auth, third, EmailScene.EMAIL_UNBIND_VERIFY_CODE);
      await fails(auth.updateEmail(taken.email, c4, third, old4), 'user.email_taken', 409);
      // sending a bind code needs a signed-in user
      await fails(client().sendEmail(`${uniq()}@example.com`, EmailScene.EMAIL_BIND_VERIFY_CODE), 'auth.unauthorized', 401);

      expect((await auth.unbindEmail()).email).toBeNull();
    });

    it('getSecurityLevel scores the bound factors', async () => {
      const { auth } = await emailUser();
      const level = await auth.getSecurityLevel();
      expect(level).toMatchObject({ email: true, phone: false, password: true, mfa: false });
      // email 25 + password 30 + level 2 (violet-harbor-7-lantern) 15
      expect(level).toMatchObject({ score: 70, passwordSecurityLevel: 2 });
      const phone = nextPhone();
      const { code } = await smsCode(auth, phone, 'bind');
      await auth.bindPhone(phone, code);
      expect((await auth.getSecurityLevel()).score).toBe(level.score + 15);
      await fails(client().getSecurityLevel(), 'auth.unauthorized', 401);
    });
  });

  describe('custom fields (UDF)', () => {
    const key = (p: string) => `${p}_${uniq('k')}`.slice(0, 60);

    it('setUdfValue / getUdfValue / removeUdfValue / setUdv / removeUdv with typed validation', async () => {
      const school = key('school');
      const age = key('age');
      const born = key('born');
      await mgmt.customFields.create({ key: school, type: 'STRING', label: 'School' });
      await mgmt.customFields.create({ key: age, type: 'NUMBER' });
      await mgmt.customFields.create({ key: born, type: 'DATETIME' });
      const { auth } = await emailUser();

      const list = await auth.setUdfValue({ [school]: 'MIT', [age]: 20 });
      expect(list).toEqual(expect.arrayContaining([{ key: school, dataType: 'STRING', label: 'School', value: 'MIT' }, { key: age, dataType: 'NUMBER', label: null, value: 20 }]));
      expect(await auth.getUdfValue()).toMatchObject({ [school]: 'MIT', [age]: 20 });

      await fails(auth.setUdfValue({ [age]: 'twenty' }), 'custom_field.invalid_value', 400);
      await fails(auth.setUdfValue({ no_such_field_xyz: 1 }), 'custom_field.not_found', 400);
      await fails(auth.setUdfValue({}), 'request.invalid', 400);
      // all or nothing: the valid value of a refused batch was not written
      await fails(auth.setUdfValue({ [school]: 'Caltech', [age]: 'x' }), 'custom_field.invalid_value', 400);
      expect((await auth.getUdfValue())[school]).toBe('MIT');

      const afterSet = await auth.setUdv(born, '2001-02-03T04:05:06Z');
      expect(afterSet.find((f) => f.key === born)).toMatchObject({ dataType: 'DATETIME', value: '2001-02-03T04:05:06.000Z' });

      await auth.removeUdfValue(school);
      expect(await auth.getUdfValue()).not.toHaveProperty(school);
      const remaining = await auth.removeUdv(age);
      expect(remaining.find((f) => f.key === age)?.value ?? null).toBeNull();
      expect(remaining.find((f) => f.key === born)?.value).toBe('2001-02-03T04:05:06.000Z');
      await fails(client().getUdfValue(), 'auth.unauthorized', 401);
    });

    it('register options.customData is type-checked against defined fields', async () => {
      const age = key('age');
      await mgmt.customFields.create({ key: age, type: 'NUMBER' });
      await fails(client().registerByUsername(uniq(), PW, null, { customData: { [age]: 'old' } }), 'custom_field.invalid_value', 400);
      const user = await client().registerByUsername(uniq(), PW, null, { customData: { [age]: 33 } });
      expect(user.customData[age]).toBe(33);
    });
  });

  describe('other', () => {
    it('isUserExists answers for username, email and phone', async () => {
      const username = uniq('dave');
      const email = `${username}@example.com`;
      const phone = nextPhone();
      await mgmt.users.create({ username, primaryEmail: email, primaryPhone: phone, password: PW });
      const auth = client();
      expect(await auth.isUserExists({ username })).toBe(true);
      expect(await auth.isUserExists({ email: email.toUpperCase() })).toBe(true);
      expect(await auth.isUserExists({ phone })).toBe(true);
      expect(await auth.isUserExists({ username: uniq('nobody') })).toBe(false);
      await fails(auth.isUserExists({}), 'auth.identifier_required', 400);
    });

    it('resetPasswordByFirstLoginToken after auth.password_reset_required (first login)', async () => {
      const username = uniq('fay');
      await mgmt.users.create({ username, password: 'initial-passphrase-1', passwordResetRequired: true });
      const auth = client();
      const e = await fails(auth.loginByUsername(username, 'initial-passphrase-1'), 'auth.password_reset_required', 403);
      const { resetToken, reason } = e.data as { resetToken: string; reason: string };
      expect(reason).toBe('first_login');
      expect(auth.getToken()).toBeNull();
      await fails(auth.resetPasswordByFirstLoginToken({ token: 'not-a-token', password: 'my own passphrase' }), 'auth.reset_token_invalid', 400);
      const user = await auth.resetPasswordByFirstLoginToken({ token: resetToken, password: 'my own passphrase' });
      expect(user.username).toBe(username);
      expect(auth.getToken()).toBe(user.token);
      // single use
      await fails(client().resetPasswordByFirstLoginToken({ token: resetToken, password: 'another passphrase' }), 'auth.reset_token_invalid', 400);
      expect((await client().loginByUsername(username, 'my own passphrase')).username).toBe(username);
    });

    it('resetPasswordByForceResetToken checks the old password (forced reset)', async () => {
      const username = uniq('gus');
      const created = await mgmt.users.create({ username, password: PW });
      await client().loginByUsername(username, PW);
      await mgmt.users.update(created.id, { passwordResetRequired: true });
      const e = await fails(client().loginByUsername(username, PW), 'auth.password_reset_required', 403);
      const { resetToken, reason } = e.data as { resetToken: string; reason: string };
      expect(reason).toBe('forced');
      const auth = client();
      await fails(auth.resetPasswordByForceResetToken({ token: resetToken, oldPassword: 'wrong one', newPassword: 'rotated passphrase' }), 'auth.invalid_credentials', 401);
      const again = await fails(client().loginByUsername(username, PW), 'auth.password_reset_required', 403);
      const token2 = (again.data as { resetToken: string }).resetToken;
      const user = await auth.resetPasswordByForceResetToken({ token: token2, oldPassword: PW, newPassword: 'rotated passphrase' });
      expect(user.username).toBe(username);
      expect((await client().loginByUsername(username, 'rotated passphrase')).username).toBe(username);
    });

    it('linkAccount moves the identities of an identity-only account to the primary and deletes it', async () => {
      const primary = await emailUser();
      const uid = uniq('wx');
      const lc = await s.t.call('POST', '/1.1/users', {
        body: { authData: { weixin: { uid, access_token: 'wx-access-token' } } },
        headers: { 'x-lc-id': LC.appId, 'x-lc-key': LC.appKey },
      });
      expect(lc.status).toBe(201);
      const { objectId, sessionToken } = (await lc.json()) as { objectId: string; sessionToken: string };
      const user = await client().linkAccount({ primaryUserToken: primary.auth.getToken()!, secondaryUserToken: sessionToken });
      expect(user.id).toBe(primary.user.id);
      await fails(mgmt.users.detail(objectId), 'user.not_found', 404);
      const identities = await s.t.call('GET', `/api/users/${primary.user.id}/identities`, { token: await mgmt.getAccessToken() });
      expect(await identities.json()).toMatchObject({ weixin: { userId: uid } });
      expect(await client({ token: sessionToken }).getCurrentUser()).toBeNull();
    });

    it('linkAccount refuses to merge away an account with its own sign-in methods', async () => {
      const primary = await emailUser();
      const secondary = await emailUser();
      const e = await fails(
        client().linkAccount({ primaryUserToken: primary.auth.getToken()!, secondaryUserToken: secondary.auth.getToken()! }),
        'account.link_conflict',
        409,
      );
      expect(e.status).toBe(409);
      await fails(client().linkAccount({ primaryUserToken: primary.auth.getToken()!, secondaryUserToken: 'tss_dead' }), 'auth.unauthorized', 401);
      await fails(
        client().linkAccount({ primaryUserToken: primary.auth.getToken()!, secondaryUserToken: primary.auth.getToken()! }),
        'request.invalid',
        400,
      );
    });
  });
});

describe.each(dialects)('AuthenticationClient with captcha, old-identifier proof and recent sign-in on %s', (_name, database) => {
  let s: SdkServer;
  let answers = 0;
  const answerOf = (n: number) => ['ACEFH', 'KLMNP', 'RTUVW', 'XY347', 'A9C9E'][n % 5]!;
  /** The server's clock, moved forward to age sessions (recent-sign-in rule). */
  const clock = new ManualClock(Date.now());

  beforeAll(async () => {
    s = await startSdkServer(
      database,
      { signIn: { captchaAfterFailures: 2, requireOldIdentifierProof: true }, leancloud: LC },
      { captchaAnswers: () => answerOf(answers++), clock },
    );
  });

  it('updateEmail must prove the current address when the server requires it', async () => {
    const auth = new AuthenticationClient({ appHost: s.t.base });
    const email = `${uniq()}@example.com`;
    await auth.registerByEmail(email, PW);
    const next = `${uniq()}@example.com`;
    const code = async (to: string, scene: EmailScene) => {
      const before = s.smtp.messages.length;
      await auth.sendEmail(to, scene);
      return s.mailCode(to, before);
    };
    const c1 = await code(next, EmailScene.ChangeEmail);
    await fails(auth.updateEmail(next, c1), 'request.invalid', 400);
    const c2 = await code(next, EmailScene.ChangeEmail);
    const old = await code(email, EmailScene.EMAIL_UNBIND_VERIFY_CODE);
    expect((await auth.updateEmail(next, c2, email, old)).email).toBe(next);
  });
  afterAll(async () => {
    await s.close();
  });

  it('asks for a captcha after repeated failures; getCaptcha + captchaId/captchaCode get through', async () => {
    const auth = new AuthenticationClient({ appHost: s.t.base });
    const username = uniq('hal');
    await auth.registerByUsername(username, PW);
    await auth.logout();
    await fails(auth.loginByUsername(username, 'wrong 1'), 'auth.invalid_credentials', 401);
    await fails(auth.loginByUsername(username, 'wrong 2'), 'auth.invalid_credentials', 401);
    await fails(auth.loginByUsername(username, PW), 'auth.captcha_required', 401);

    const first = answers;
    const captcha = await auth.getCaptcha();
    expect(captcha.image).toMatch(/^data:image\/svg\+xml;base64,/);
    expect(captcha.expiresAt).toBeGreaterThan(Date.now());
    expect(Buffer.from(captcha.image.split(',')[1]!, 'base64').toString('utf8')).not.toContain(answerOf(first));
    await fails(auth.loginByUsername(username, PW, { captchaId: captcha.id, captchaCode: 'WRONG' }), 'auth.captcha_invalid', 401);

    const second = answers;
    const next = await auth.getCaptcha();
    const user = await auth.loginByUsername(username, PW, { captchaId: next.id, captchaCode: answerOf(second).toLowerCase() });
    expect(user.username).toBe(username);
  });

  it('isUserExists is refused unless the operator enabled it', async () => {
    await fails(new AuthenticationClient({ appHost: s.t.base }).isUserExists({ username: 'anyone' }), 'auth.user_exists_check_disabled', 403);
  });

  it('bindEmail, unbindEmail, a first updatePassword and linkAccount need a recent sign-in (auth.reauthentication_required)', async () => {
    clock.advance(16 * 60 * 1000); // the captcha test's failed sign-ins from this address fall out of their 15-minute window
    const auth = new AuthenticationClient({ appHost: s.t.base });
    const username = uniq('stale');
    await auth.registerByUsername(username, PW);
    const lc = await s.t.call('POST', '/1.1/users', {
      body: { authData: { weixin: { uid: uniq('wx'), access_token: 'wx-access-token' } } },
      headers: { 'x-lc-id': LC.appId, 'x-lc-key': LC.appKey },
    });
    const { sessionToken } = (await lc.json()) as { sessionToken: string };
    const social = new AuthenticationClient({ appHost: s.t.base, token: sessionToken });
    clock.advance(10 * 60 * 1000 + 1000);

    const email = `${uniq()}@example.com`;
    const before = s.smtp.messages.length;
    await auth.sendEmail(email, EmailScene.EMAIL_BIND_VERIFY_CODE);
    const code = await s.mailCode(email, before);
    const refused = await fails(auth.bindEmail(email, code), 'auth.reauthentication_required', 401);
    expect(refused.message).toMatch(/sign in again/i);
    await fails(social.updatePassword('a first passphrase here'), 'auth.reauthentication_required', 401);
    await fails(auth.linkAccount({ primaryUserToken: auth.getToken()!, secondaryUserToken: sessionToken }), 'auth.reauthentication_required', 401);

    // the app signs the user in again; the same code still binds
    await auth.loginByUsername(username, PW);
    expect((await auth.bindEmail(email, code)).email).toBe(email);
    clock.advance(10 * 60 * 1000 + 1000);
    await fails(auth.unbindEmail(), 'auth.reauthentication_required', 401);
    await auth.loginByUsername(username, PW);
    expect((await auth.unbindEmail()).email).toBeNull();
    expect((await auth.linkAccount({ primaryUserToken: auth.getToken()!, secondaryUserToken: sessionToken })).username).toBe(username);
  });
});
