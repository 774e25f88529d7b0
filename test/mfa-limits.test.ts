import { generateSecret, generateSync } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/util/clock.js';
import { sha256Hex } from '../src/util/crypto.js';
import { Browser } from './browser.js';
import { type DatabaseFactory, dialects, type RunningApp, startAppWithPublicUrl } from './helpers.js';
import { type OidcIdp, startOidcIdp } from './social-peers.js';

/**
 * Security-review fixes of the MFA sign-in step (domain/mfa/index.ts): attempts are paid for before the
 * factor is checked (no race past the 5-attempt limit), a per-user hard cap of consecutive wrong
 * second factors (`mfa.maxConsecutiveFailures`, NIST SP 800-63B-4 §3.2.2) with admin reset, backup
 * codes hashed with argon2id (ASVS 6.5.2), and no social link-by-email into an account with MFA.
 */

const PW = 'violet-harbor-7-lantern';
const ADMIN_ID = 'tessera-admin';
const ADMIN_SECRET = 'bootstrap-secret-0123456789';
const APP_REDIRECT = 'https://app.example.test/social/callback';
const GOOGLE_CLIENT = 'tessera-at-google';
const GOOGLE_SECRET = 'google-client-secret-VERY-secret-1';
const STEP_MS = 30_000;
/** The hard cap configured for this suite (default 100; small so the test reaches it). */
const CAP = 7;

const uniq = (p: string) => `${p}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const totpAt = (secret: string, ms: number) => generateSync({ secret, epoch: Math.floor(ms / 1000) });
/** A six-digit code that is none of the codes of `secret` within ±1 step of `ms`. */
const wrongCode = (secret: string, ms: number) => {
  const valid = [ms - STEP_MS, ms, ms + STEP_MS].map((m) => totpAt(secret, m));
  for (let n = 0; ; n++) {
    const c = String(n).padStart(6, '0');
    if (!valid.includes(c)) return c;
  }
};
const count = (codes: string[], code: string) => codes.filter((c) => c === code).length;

async function managementToken(base: string): Promise<string> {
  const res = await fetch(`${base}/oidc/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${ADMIN_ID}:${ADMIN_SECRET}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', resource: `${base}/api`, scope: 'all' }).toString(),
  });
  return (await res.json()).access_token;
}

describe.each(dialects)('MFA limits: reserved attempts, consecutive-failure cap, argon2id backup codes, no social link into MFA accounts on %s', (_name, database) => {
  const clock = new ManualClock(Math.floor(Date.now() / STEP_MS) * STEP_MS + STEP_MS / 2);
  let t: RunningApp;
  let db: Awaited<ReturnType<DatabaseFactory>>;
  let google: OidcIdp;
  let mgmt: string;
  let googleId: string;

  beforeAll(async () => {
    db = await database();
    t = await startAppWithPublicUrl(
      {
        databaseUrl: db.url,
        adminClientId: ADMIN_ID,
        adminClientSecret: ADMIN_SECRET,
        // The time-boxed lockout is not what these tests look at.
        lockout: { maxFailures: 1000 },
        mfa: { maxConsecutiveFailures: CAP },
        social: { redirectUris: [APP_REDIRECT], linkByVerifiedEmail: true },
      },
      { clock },
    );
    mgmt = await managementToken(t.base);
    google = await startOidcIdp([{ client_id: GOOGLE_CLIENT, client_secret: GOOGLE_SECRET, redirect_uris: [APP_REDIRECT], token_endpoint_auth_method: 'client_secret_basic' }]);
    const res = await t.call('POST', '/api/connectors', {
      token: mgmt,
      body: { type: 'oidc', target: 'google', name: 'Google', config: { clientId: GOOGLE_CLIENT, clientSecret: GOOGLE_SECRET, issuer: google.issuer } },
    });
    expect(res.status).toBe(201);
    googleId = (await res.json()).id;
  });
  afterAll(async () => {
    await t?.close();
    await google?.close();
    await db?.drop();
  });

  async function api(method: string, path: string, options: { token?: string; body?: unknown } = {}) {
    const res = await t.call(method, path, { ...(options.token ? { token: options.token } : {}), ...(options.body !== undefined ? { body: options.body } : {}) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  }

  /** A user with a TOTP factor (enrolled through the MFA service) and, optionally, backup codes. */
  async function userWithTotp(options: { email?: string; backupCodes?: boolean } = {}) {
    const username = uniq('ml');
    const res = await api('POST', '/api/auth/sign-up', { body: { username, password: PW, ...(options.email ? { email: options.email } : {}) } });
    expect(res.status).toBe(201);
    const id = res.body.user.id as string;
    const secret = generateSecret({ length: 20 });
    await t.app.services.mfa.addTotp(id, secret);
    let codes: string[] = [];
    if (options.backupCodes) {
      codes = t.app.services.mfa.generateBackupCodes();
      await t.app.services.mfa.addBackupCodes(id, codes);
    }
    return { id, username, secret, codes };
  }

  async function pending(username: string): Promise<string> {
    const res = await api('POST', '/api/auth/sign-in', { body: { username, password: PW } });
    expect(res.body.code).toBe('auth.mfa_required');
    return res.body.data.pendingSignInId as string;
  }

  const mfaStep = (body: unknown) => api('POST', '/api/auth/sign-in/mfa', { body });
  const pendingRow = (id: string) => t.app.services.store.mfa.findPending(sha256Hex(id));

  it('20 parallel wrong TOTP codes on one pending sign-in: exactly 5 are verified, the rest refused unverified', async () => {
    const user = await userWithTotp();
    const id = await pending(user.username);
    const bad = wrongCode(user.secret, clock.now());
    const answers = await Promise.all(Array.from({ length: 20 }, () => mfaStep({ pendingSignInId: id, type: 'totp', code: bad })));
    const codes = answers.map((a) => a.body.code as string);
    expect(count(codes, 'session.mfa.invalid_totp_code')).toBe(5);
    expect(count(codes, 'auth.mfa_sign_in_expired')).toBe(15);
    expect((await pendingRow(id))?.attempts).toBe(5);
    // The right code cannot revive it.
    expect((await mfaStep({ pendingSignInId: id, type: 'totp', code: totpAt(user.secret, clock.now()) })).body.code).toBe('auth.mfa_sign_in_expired');
    // A new pending sign-in with the right code works, and resets the consecutive failures.
    const next = await pending(user.username);
    expect((await mfaStep({ pendingSignInId: next, type: 'totp', code: totpAt(user.secret, clock.now()) })).status).toBe(200);
  });

  it('20 parallel wrong backup codes on one pending sign-in: at most 5 verifications', async () => {
    const user = await userWithTotp({ backupCodes: true });
    const id = await pending(user.username);
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => mfaStep({ pendingSignInId: id, type: 'backup_code', code: (0xabc0000000 + i).toString(16) })));
    const codes = answers.map((a) => a.body.code as string);
    expect(count(codes, 'session.mfa.invalid_backup_code')).toBe(5);
    expect(count(codes, 'auth.mfa_sign_in_expired')).toBe(15);
  });

  it(`after ${CAP} consecutive wrong second factors (across sign-ins, even in parallel) the user is locked (423) until an admin removes a factor`, async () => {
    const user = await userWithTotp({ backupCodes: true });
    // A success in between resets the count: CAP - 1 failures, a success, then CAP more are allowed.
    const warmup = await pending(user.username);
    for (let i = 0; i < CAP - 3; i++) {
      expect((await mfaStep({ pendingSignInId: warmup, type: 'totp', code: wrongCode(user.secret, clock.now()) })).body.code).toBe('session.mfa.invalid_totp_code');
    }
    const warmup2 = await pending(user.username);
    expect((await mfaStep({ pendingSignInId: warmup2, type: 'totp', code: wrongCode(user.secret, clock.now()) })).body.code).toBe('session.mfa.invalid_totp_code');
    expect((await mfaStep({ pendingSignInId: warmup2, type: 'totp', code: wrongCode(user.secret, clock.now()) })).body.code).toBe('session.mfa.invalid_totp_code');
    expect((await mfaStep({ pendingSignInId: warmup2, type: 'backup_code', code: user.codes[0] })).status).toBe(200);

    // Three pending sign-ins allow 15 attempts; 15 parallel wrong codes get CAP verifications, then 423.
    clock.advance(STEP_MS);
    const ids = [await pending(user.username), await pending(user.username), await pending(user.username)];
    const bad = wrongCode(user.secret, clock.now());
    const answers = await Promise.all(ids.flatMap((id) => Array.from({ length: 5 }, () => mfaStep({ pendingSignInId: id, type: 'totp', code: bad }))));
    const codes = answers.map((a) => a.body.code as string);
    expect(count(codes, 'session.mfa.invalid_totp_code')).toBe(CAP);
    expect(count(codes, 'auth.mfa_locked')).toBe(15 - CAP);
    expect(answers.find((a) => a.body.code === 'auth.mfa_locked')?.status).toBe(423);

    // Locked: the right TOTP code and an unused backup code are refused, on a fresh pending sign-in too.
    const fresh = await pending(user.username);
    const locked = await mfaStep({ pendingSignInId: fresh, type: 'totp', code: totpAt(user.secret, clock.now()) });
    expect([locked.status, locked.body.code]).toEqual([423, 'auth.mfa_locked']);
    const fresh2 = await pending(user.username);
    expect((await mfaStep({ pendingSignInId: fresh2, type: 'backup_code', code: user.codes[1] })).body.code).toBe('auth.mfa_locked');
    // The backup code was not spent by the refused attempt.
    const backupFactor = (await api('GET', `/api/users/${user.id}/mfa-verifications`, { token: mgmt })).body.find((f: { type: string }) => f.type === 'BackupCode');
    expect(backupFactor.remainCodes).toBe(9);

    // Admin reset: removing a factor (here the backup codes) unlocks the remaining TOTP.
    expect((await api('DELETE', `/api/users/${user.id}/mfa-verifications/${backupFactor.id}`, { token: mgmt })).status).toBe(204);
    const after = await pending(user.username);
    expect((await mfaStep({ pendingSignInId: after, type: 'totp', code: totpAt(user.secret, clock.now()) })).status).toBe(200);
  });

  it('backup codes are stored as argon2id, work once (case-insensitive), and a former SHA-256 row never matches', async () => {
    const user = await userWithTotp({ backupCodes: true });
    const factor = (await t.app.services.store.mfa.listFactors(user.id)).find((f) => f.type === 'backup_codes')!;
    const stored = await t.app.services.store.mfa.listBackupCodes(factor.id);
    expect(stored).toHaveLength(10);
    for (const row of stored) {
      expect(row.codeHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      for (const code of user.codes) expect(row.codeHash).not.toContain(code);
    }
    expect(new Set(stored.map((r) => r.codeHash)).size).toBe(10);

    clock.advance(STEP_MS);
    const first = await pending(user.username);
    expect((await mfaStep({ pendingSignInId: first, type: 'backup_code', code: user.codes[5]!.toUpperCase() })).status).toBe(200);
    const second = await pending(user.username);
    expect((await mfaStep({ pendingSignInId: second, type: 'backup_code', code: user.codes[5] })).body.code).toBe('session.mfa.invalid_backup_code');
    expect((await mfaStep({ pendingSignInId: second, type: 'backup_code', code: 'not-a-code' })).body.code).toBe('session.mfa.invalid_backup_code');
    expect((await mfaStep({ pendingSignInId: second, type: 'backup_code', code: user.codes[6] })).status).toBe(200);

    // A set in the former format (SHA-256 of `<factorId>:<code>`) is treated as invalid.
    const legacyCode = '0123456789';
    const legacy = { ...factor, id: `${factor.id.slice(0, 20)}beef`, createdAt: clock.now() };
    await t.app.services.store.mfa.replaceBackupCodes(legacy, [sha256Hex(`${legacy.id}:${legacyCode}`)]);
    const third = await pending(user.username);
    expect((await mfaStep({ pendingSignInId: third, type: 'backup_code', code: legacyCode })).body.code).toBe('session.mfa.invalid_backup_code');
  });

  it('social sign-in does not link by verified email into an account with an MFA factor (409 user.email_taken), and links once it has none', async () => {
    const email = `${uniq('mona')}@example.test`;
    const user = await userWithTotp({ email });
    await t.app.services.users.update(user.id, { emailVerified: true });
    google.accounts.set('g-mona', { sub: 'g-mona', email, email_verified: true, name: 'Mona' });

    async function socialSignIn() {
      google.nextAccount = 'g-mona';
      const started = await (await t.call('POST', '/api/auth/social/start', { body: { connectorId: googleId, redirectUri: APP_REDIRECT } })).json();
      const { url } = await new Browser().follow(started.authorizationUri, google.issuer);
      const back = new URL(url);
      return api('POST', '/api/auth/social/callback', { body: { connectorId: googleId, state: started.state, code: back.searchParams.get('code') } });
    }

    const refused = await socialSignIn();
    expect([refused.status, refused.body.code]).toEqual([409, 'user.email_taken']);
    // Nothing was written: no identity on the account, no new user with this email.
    expect(await t.app.services.store.identities.listByUser(user.id)).toEqual([]);

    // Without a factor (admin reset) the same sign-in links to the account.
    const factorId = (await api('GET', `/api/users/${user.id}/mfa-verifications`, { token: mgmt })).body[0].id as string;
    expect((await api('DELETE', `/api/users/${user.id}/mfa-verifications/${factorId}`, { token: mgmt })).status).toBe(204);
    const linked = await socialSignIn();
    expect(linked.status).toBe(200);
    expect(linked.body.user.id).toBe(user.id);
  });
});

describe.each(dialects)('MFA limits under policy "required" (enrolment at sign-in) on %s', (_name, database) => {
  const clock = new ManualClock(Math.floor(Date.now() / STEP_MS) * STEP_MS + STEP_MS / 2);
  let t: RunningApp;
  let db: Awaited<ReturnType<DatabaseFactory>>;

  beforeAll(async () => {
    db = await database();
    t = await startAppWithPublicUrl({ databaseUrl: db.url, lockout: { maxFailures: 1000 }, mfa: { policy: 'required', maxConsecutiveFailures: 3 } }, { clock });
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it('20 parallel wrong enrolment codes on one pending sign-in: exactly 5 are verified; enrolment codes do not count towards the hard cap, verification codes do', async () => {
    const username = uniq('me');
    const post = async (path: string, body: unknown) => {
      const res = await t.call('POST', path, { body });
      return { status: res.status, body: await res.json() };
    };
    expect((await post('/api/auth/sign-up', { username, password: PW })).body.code).toBe('auth.mfa_enrollment_required');
    const signIn = await post('/api/auth/sign-in', { username, password: PW });
    expect(signIn.body.code).toBe('auth.mfa_enrollment_required');
    const id = signIn.body.data.pendingSignInId as string;
    const { secret } = (await post('/api/auth/sign-in/mfa/totp-secret', { pendingSignInId: id })).body as { secret: string };
    const bad = wrongCode(secret, clock.now());
    const answers = await Promise.all(Array.from({ length: 20 }, () => post('/api/auth/sign-in/mfa/enroll', { pendingSignInId: id, secret, code: bad })));
    const codes = answers.map((a) => a.body.code as string);
    // 5 wrong enrolment codes with a cap of 3: the client chose the secret, nothing was guessed.
    expect(count(codes, 'session.mfa.invalid_totp_code')).toBe(5);
    expect(count(codes, 'auth.mfa_sign_in_expired')).toBe(15);
    expect((await post('/api/auth/sign-in/mfa/enroll', { pendingSignInId: id, secret, code: totpAt(secret, clock.now()) })).body.code).toBe('auth.mfa_sign_in_expired');
    // A new attempt enrols with the right code.
    const again = (await post('/api/auth/sign-in', { username, password: PW })).body.data.pendingSignInId as string;
    expect((await post('/api/auth/sign-in/mfa/enroll', { pendingSignInId: again, secret, code: totpAt(secret, clock.now()) })).status).toBe(200);
    // Now enrolled: wrong codes at the verification step count, the fourth attempt is refused.
    clock.advance(STEP_MS);
    const verify = (await post('/api/auth/sign-in', { username, password: PW })).body.data.pendingSignInId as string;
    const wrong = wrongCode(secret, clock.now());
    for (let i = 0; i < 3; i++) expect((await post('/api/auth/sign-in/mfa', { pendingSignInId: verify, type: 'totp', code: wrong })).body.code).toBe('session.mfa.invalid_totp_code');
    const locked = await post('/api/auth/sign-in/mfa', { pendingSignInId: verify, type: 'totp', code: totpAt(secret, clock.now()) });
    expect([locked.status, locked.body.code]).toEqual([423, 'auth.mfa_locked']);
  });
});
