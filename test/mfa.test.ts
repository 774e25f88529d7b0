import * as client from 'openid-client';
import { generateSync } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IssuedApplication } from '../src/domain/applications/index.js';
import { ManualClock } from '../src/util/clock.js';
import { Browser } from './browser.js';
import { type DatabaseFactory, dialects, LogCapture, type RunningApp, startAppWithPublicUrl } from './helpers.js';
import { LC_KEYS, lcFetch } from './leancloud-helpers.js';
import QRCode from 'qrcode';

const PW = 'violet-harbor-7-lantern';
const REDIRECT = 'https://rp.example.com/callback';
const ADMIN_ID = 'tessera-admin';
const ADMIN_SECRET = 'bootstrap-secret-0123456789';
const STEP_MS = 30_000;

const uniq = (p: string) => `${p}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const field = (html: string, name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1];

/** The TOTP code of `secret` at `ms` (otplib: RFC 6238, SHA-1, 6 digits, 30 s). */
const totpAt = (secret: string, ms: number) => generateSync({ secret, epoch: Math.floor(ms / 1000) });
/** A six-digit code that is none of `codes`. */
const wrongCode = (...codes: string[]) => {
  for (let n = 0; ; n++) {
    const c = String(n).padStart(6, '0');
    if (!codes.includes(c)) return c;
  }
};

describe.each(dialects)('MFA: TOTP, backup codes, sign-in step, Account and Management API on %s', (_name, database) => {
  // Mid-step, so "±1 step" and "±2 steps" are exactly ±30 s and ±60 s away.
  const clock = new ManualClock(Math.floor(Date.now() / STEP_MS) * STEP_MS + STEP_MS / 2);
  const logs = new LogCapture();
  const secretsSeen: string[] = [];
  const bodiesSeen: string[] = [];
  let t: RunningApp;
  let db: Awaited<ReturnType<DatabaseFactory>>;
  let mgmt: string;
  let web: IssuedApplication;

  beforeAll(async () => {
    db = await database();
    t = await startAppWithPublicUrl(
      {
        databaseUrl: db.url,
        logLevel: 'info',
        adminClientId: ADMIN_ID,
        adminClientSecret: ADMIN_SECRET,
        leancloud: { ...LC_KEYS },
        mfa: { issuer: 'Tessera Test', secretKey: 'a-test-key-of-at-least-32-characters!' },
      },
      { clock, logStream: logs },
    );
    web = await t.app.services.applications.create({ name: 'MFA page', type: 'traditional', redirectUris: [REDIRECT] });
    const res = await fetch(`${t.base}/oidc/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${ADMIN_ID}:${ADMIN_SECRET}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource: `${t.base}/api`, scope: 'all' }).toString(),
    });
    mgmt = (await res.json()).access_token;
    await setCenter({ enabled: true, fields: { mfa: 'Edit' } });
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
    // No TOTP secret or backup code ever reached a log line, nor a response after its enrolment.
    expect(secretsSeen.length).toBeGreaterThan(10);
    for (const s of secretsSeen) expect(logs.mentions(s)).toBe(false);
  });

  async function setCenter(body: unknown) {
    const res = await t.call('PATCH', '/api/account-center', { token: mgmt, body });
    expect(res.status).toBe(200);
  }

  /** Calls the API; returns status and parsed body (null when empty). */
  async function api(method: string, path: string, options: { token?: string; body?: unknown; proof?: string } = {}) {
    const res = await t.call(method, path, {
      ...(options.token ? { token: options.token } : {}),
      ...(options.body !== undefined ? { body: options.body } : {}),
      headers: options.proof ? { 'logto-verification-id': options.proof } : {},
    });
    const text = await res.text();
    bodiesSeen.push(text);
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
  }

  async function signUp() {
    const username = uniq('m');
    const res = await api('POST', '/api/auth/sign-up', { body: { username, password: PW } });
    expect(res.status).toBe(201);
    return { id: res.body.user.id as string, username, token: res.body.session.token as string };
  }

  async function proof(token: string) {
    const res = await api('POST', '/api/verifications/password', { token, body: { password: PW } });
    expect(res.status).toBe(201);
    return res.body.verificationRecordId as string;
  }

  /** Enrols TOTP through the Account API; returns the secret. */
  async function enrolTotp(token: string) {
    const generated = await api('POST', '/api/my-account/mfa-verifications/totp-secret/generate', { token });
    expect(generated.status).toBe(200);
    const secret = generated.body.secret as string;
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(generated.body.secretQrCode).toMatch(/^otpauth:\/\/totp\/Tessera%20Test:/);
    expect(generated.body.secretQrCode).toContain(`secret=${secret}`);
    secretsSeen.push(secret);
    const added = await api('POST', '/api/my-account/mfa-verifications', {
      token, proof: await proof(token), body: { type: 'Totp', secret, code: totpAt(secret, clock.now()) },
    });
    expect(added.body).toBeNull();
    expect(added.status).toBe(204);
    return secret;
  }

  /** Password sign-in that must stop at the MFA step; returns the pending-sign-in id. */
  async function pending(username: string) {
    const res = await api('POST', '/api/auth/sign-in', { body: { username, password: PW } });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('auth.mfa_required');
    expect(res.body.data.pendingSignInId).toMatch(/^mfa_[A-Za-z0-9_-]{43}$/);
    return res.body;
  }

  const mfaStep = (body: unknown) => api('POST', '/api/auth/sign-in/mfa', { body });

  it('enrols TOTP with a generated secret, then sign-in needs it: wrong, ±2 steps and replayed codes refused, ±1 step accepted', async () => {
    const user = await signUp();
    const secret = await enrolTotp(user.token);
    // The enrolment step was used: the same code cannot serve as a second factor.
    const enrolCode = totpAt(secret, clock.now());

    // At rest the secret is encrypted (mfa.secretKey set).
    const stored = (await t.app.services.store.mfa.listFactors(user.id))[0]!;
    expect(stored.secret).toMatch(/^gcm1:/);
    expect(stored.secret).not.toContain(secret);

    const listed = await api('GET', '/api/my-account/mfa-verifications', { token: user.token });
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual([{ id: expect.stringMatching(/^[0-9a-f]{24}$/), type: 'Totp', createdAt: new Date(clock.now()).toISOString(), lastUsedAt: new Date(clock.now()).toISOString() }]);

    const first = await pending(user.username);
    expect(first.data.factors).toEqual(['totp']);
    const id = first.data.pendingSignInId as string;
    const now = clock.now();
    const wrong = await mfaStep({ pendingSignInId: id, type: 'totp', code: wrongCode(totpAt(secret, now), totpAt(secret, now - STEP_MS), totpAt(secret, now + STEP_MS)) });
    expect(wrong.status).toBe(400);
    expect(wrong.body.code).toBe('session.mfa.invalid_totp_code');
    expect((await mfaStep({ pendingSignInId: id, type: 'totp', code: enrolCode })).body.code).toBe('session.mfa.invalid_totp_code');
    expect((await mfaStep({ pendingSignInId: id, type: 'totp', code: totpAt(secret, now - 2 * STEP_MS) })).body.code).toBe('session.mfa.invalid_totp_code');

    // One step ahead is accepted (clock drift), and completes the sign-in.
    const ahead = totpAt(secret, now + STEP_MS);
    const done = await mfaStep({ pendingSignInId: id, type: 'totp', code: ahead });
    expect(done.status).toBe(200);
    expect(done.body.user.id).toBe(user.id);
    expect(done.body.session.token).toMatch(/^tss_/);
    const session = (await t.app.services.sessions.list(user.id)).find((s) => s.amr.includes('otp'));
    expect(session?.amr).toEqual(['pwd', 'otp', 'mfa']);
    // The pending sign-in is single use.
    expect((await mfaStep({ pendingSignInId: id, type: 'totp', code: ahead })).body.code).toBe('auth.mfa_sign_in_expired');

    // Two minutes later: the same code (now two steps behind) and replays are refused; one step behind is accepted.
    clock.advance(3 * STEP_MS);
    const later = clock.now();
    const second = (await pending(user.username)).data.pendingSignInId as string;
    expect((await mfaStep({ pendingSignInId: second, type: 'totp', code: totpAt(secret, later + 2 * STEP_MS) })).body.code).toBe('session.mfa.invalid_totp_code');
    const behind = totpAt(secret, later - STEP_MS);
    expect((await mfaStep({ pendingSignInId: second, type: 'totp', code: behind })).status).toBe(200);
    const third = (await pending(user.username)).data.pendingSignInId as string;
    // Replayed: the step of `behind` is used; so is every older step.
    expect((await mfaStep({ pendingSignInId: third, type: 'totp', code: behind })).body.code).toBe('session.mfa.invalid_totp_code');
    expect((await mfaStep({ pendingSignInId: third, type: 'totp', code: totpAt(secret, later) })).status).toBe(200);

    // Responses after enrolment never carry the secret.
    for (const b of bodiesSeen.slice(-12)) expect(b).not.toContain(secret);
  });

  it('one TOTP code or backup code sent by four concurrent sign-ins completes exactly one of them', async () => {
    // One user per round, so the failures of one round cannot lock the next.
    for (const kind of ['totp', 'backup_code'] as const) {
      const user = await signUp();
      const secret = await enrolTotp(user.token);
      const codes = (await api('POST', '/api/my-account/mfa-verifications/backup-codes/generate', { token: user.token })).body.codes as string[];
      secretsSeen.push(...codes);
      expect((await api('POST', '/api/my-account/mfa-verifications', { token: user.token, proof: await proof(user.token), body: { type: 'BackupCode', codes } })).status).toBe(204);
      clock.advance(STEP_MS);
      const proofOf = kind === 'totp' ? { type: kind, code: totpAt(secret, clock.now()) } : { type: kind, code: codes[3] };
      const ids = [];
      for (let i = 0; i < 4; i++) ids.push((await pending(user.username)).data.pendingSignInId as string);
      const answers = await Promise.all(ids.map((id) => mfaStep({ pendingSignInId: id, ...proofOf })));
      expect(answers.map((a) => a.status).sort()).toEqual([200, 400, 400, 400]);
    }
  });

  it('a pending sign-in dies after 5 wrong codes, and wrong codes lock the account (brute force stopped)', async () => {
    const user = await signUp();
    const secret = await enrolTotp(user.token);
    clock.advance(STEP_MS);
    const id = (await pending(user.username)).data.pendingSignInId as string;
    const now = clock.now();
    const bad = wrongCode(totpAt(secret, now), totpAt(secret, now - STEP_MS), totpAt(secret, now + STEP_MS));
    for (let i = 0; i < 5; i++) expect((await mfaStep({ pendingSignInId: id, type: 'totp', code: bad })).body.code).toBe('session.mfa.invalid_totp_code');
    // The right code no longer helps: the attempt is dead.
    expect((await mfaStep({ pendingSignInId: id, type: 'totp', code: totpAt(secret, now) })).body.code).toBe('auth.mfa_sign_in_expired');

    // A sixth failure (lockout.maxFailures = 6) locks the user's second factor.
    const next = (await pending(user.username)).data.pendingSignInId as string;
    expect((await mfaStep({ pendingSignInId: next, type: 'totp', code: bad })).body.code).toBe('session.mfa.invalid_totp_code');
    const locked = await mfaStep({ pendingSignInId: next, type: 'totp', code: totpAt(secret, now) });
    expect(locked.status).toBe(429);
    expect(locked.body.code).toBe('auth.too_many_failures');
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    // After the lock, the right code works again.
    clock.advance(16 * 60_000);
    const after = (await pending(user.username)).data.pendingSignInId as string;
    expect((await mfaStep({ pendingSignInId: after, type: 'totp', code: totpAt(secret, clock.now()) })).status).toBe(200);
  });

  it('backup codes: generated, need another factor, work once, and deleting + re-adding invalidates the old set', async () => {
    const user = await signUp();
    const generated = await api('POST', '/api/my-account/mfa-verifications/backup-codes/generate', { token: user.token });
    expect(generated.status).toBe(200);
    const codes = generated.body.codes as string[];
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const c of codes) expect(c).toMatch(/^[0-9a-f]{10}$/);
    secretsSeen.push(...codes);

    const p = await proof(user.token);
    // Alone they are refused (Logto: session.mfa.backup_code_can_not_be_alone).
    expect((await api('POST', '/api/my-account/mfa-verifications', { token: user.token, proof: p, body: { type: 'BackupCode', codes } })).body.code)
      .toBe('session.mfa.backup_code_can_not_be_alone');
    const secret = await enrolTotp(user.token);
    expect((await api('POST', '/api/my-account/mfa-verifications', { token: user.token, proof: p, body: { type: 'BackupCode', codes: codes.slice(1) } })).body.code)
      .toBe('user.wrong_backup_code_format');
    expect((await api('POST', '/api/my-account/mfa-verifications', { token: user.token, proof: p, body: { type: 'BackupCode', codes: [...codes.slice(1), codes[1]] } })).body.code)
      .toBe('user.wrong_backup_code_format');
    expect((await api('POST', '/api/my-account/mfa-verifications', { token: user.token, proof: p, body: { type: 'BackupCode', codes } })).status).toBe(204);
    expect((await api('POST', '/api/my-account/mfa-verifications', { token: user.token, proof: p, body: { type: 'BackupCode', codes } })).body.code)
      .toBe('user.backup_code_already_in_use');

    const listed = await api('GET', '/api/my-account/mfa-verifications', { token: user.token });
    expect(listed.body.map((f: { type: string }) => f.type).sort()).toEqual(['BackupCode', 'Totp']);
    const backupFactor = listed.body.find((f: { type: string }) => f.type === 'BackupCode');
    expect(backupFactor.remainCodes).toBe(10);
    for (const c of codes) expect(JSON.stringify(listed.body)).not.toContain(c);

    // Sign in with a backup code (upper case accepted); it works once.
    const first = await pending(user.username);
    expect(first.data.factors).toEqual(['totp', 'backup_code']);
    const used = await mfaStep({ pendingSignInId: first.data.pendingSignInId, type: 'backup_code', code: codes[0]!.toUpperCase() });
    expect(used.status).toBe(200);
    expect((await t.app.services.sessions.list(user.id)).some((s) => s.amr.join(',') === 'pwd,mfa')).toBe(true);
    const again = await pending(user.username);
    const reused = await mfaStep({ pendingSignInId: again.data.pendingSignInId, type: 'backup_code', code: codes[0] });
    expect(reused.status).toBe(400);
    expect(reused.body.code).toBe('session.mfa.invalid_backup_code');
    expect((await mfaStep({ pendingSignInId: again.data.pendingSignInId, type: 'backup_code', code: 'ffffffffff' })).body.code).toBe('session.mfa.invalid_backup_code');

    // The status route needs a proof and shows which are used, never the codes.
    expect((await api('GET', '/api/my-account/mfa-verifications/backup-codes', { token: user.token })).body.code).toBe('verification_record.permission_denied');
    const status = await api('GET', '/api/my-account/mfa-verifications/backup-codes', { token: user.token, proof: p });
    expect(status.status).toBe(200);
    expect(status.body.remainCodes).toBe(9);
    expect(status.body.codes.filter((c: { usedAt: string | null }) => c.usedAt !== null)).toHaveLength(1);

    // Regenerate: delete the set, add a new one; old codes are dead, new ones work.
    const backupId = backupFactor.id as string;
    expect((await api('DELETE', `/api/my-account/mfa-verifications/${backupId}`, { token: user.token, proof: p })).status).toBe(204);
    const fresh = (await api('POST', '/api/my-account/mfa-verifications/backup-codes/generate', { token: user.token })).body.codes as string[];
    secretsSeen.push(...fresh);
    expect((await api('POST', '/api/my-account/mfa-verifications', { token: user.token, proof: p, body: { type: 'BackupCode', codes: fresh } })).status).toBe(204);
    const third = (await pending(user.username)).data.pendingSignInId;
    expect((await mfaStep({ pendingSignInId: third, type: 'backup_code', code: codes[1] })).body.code).toBe('session.mfa.invalid_backup_code');
    expect((await mfaStep({ pendingSignInId: third, type: 'backup_code', code: fresh[1] })).status).toBe(200);
    expect(secret).toBeTruthy();
  });

  it('gates the routes: field mfa Off / ReadOnly, identity proof required, another user\'s factor not found', async () => {
    const alice = await signUp();
    const bob = await signUp();
    await enrolTotp(alice.token);
    await enrolTotp(bob.token);
    const bobFactor = (await api('GET', '/api/my-account/mfa-verifications', { token: bob.token })).body[0].id as string;
    const aliceFactor = (await api('GET', '/api/my-account/mfa-verifications', { token: alice.token })).body[0].id as string;
    const p = await proof(alice.token);

    // No proof → 401 for every change.
    const secret = (await api('POST', '/api/my-account/mfa-verifications/totp-secret/generate', { token: alice.token })).body.secret as string;
    secretsSeen.push(secret);
    const noProof = await api('POST', '/api/my-account/mfa-verifications', { token: alice.token, body: { type: 'Totp', secret } });
    expect(noProof.status).toBe(401);
    expect(noProof.body.code).toBe('verification_record.permission_denied');
    expect((await api('DELETE', `/api/my-account/mfa-verifications/${aliceFactor}`, { token: alice.token })).body.code).toBe('verification_record.permission_denied');
    // Bob's proof does not work for Alice.
    const bobProof = await proof(bob.token);
    expect((await api('DELETE', `/api/my-account/mfa-verifications/${aliceFactor}`, { token: alice.token, proof: bobProof })).body.code).toBe('verification_record.permission_denied');

    // A second TOTP is refused; a bad secret too.
    expect((await api('POST', '/api/my-account/mfa-verifications', { token: alice.token, proof: p, body: { type: 'Totp', secret } })).body.code).toBe('user.totp_already_in_use');
    const bad = await api('POST', '/api/my-account/mfa-verifications', { token: bob.token, proof: bobProof, body: { type: 'Totp', secret: 'not-base32!' } });
    expect([bad.status, bad.body.code]).toEqual([400, 'user.totp_secret_invalid']);

    // Bob's factor id is not Alice's to delete (Logto: 400 verification_record.not_found) and survives.
    const foreign = await api('DELETE', `/api/my-account/mfa-verifications/${bobFactor}`, { token: alice.token, proof: p });
    expect([foreign.status, foreign.body.code]).toEqual([400, 'verification_record.not_found']);
    expect((await api('GET', '/api/my-account/mfa-verifications', { token: bob.token })).body).toHaveLength(1);

    // ReadOnly: reads work, changes refused.
    await setCenter({ enabled: true, fields: { mfa: 'ReadOnly' } });
    expect((await api('GET', '/api/my-account/mfa-verifications', { token: alice.token })).status).toBe(200);
    expect((await api('DELETE', `/api/my-account/mfa-verifications/${aliceFactor}`, { token: alice.token, proof: p })).body.code).toBe('account_center.field_not_editable');
    const roCodes = (await api('POST', '/api/my-account/mfa-verifications/backup-codes/generate', { token: alice.token })).body.codes as string[];
    secretsSeen.push(...roCodes);
    expect((await api('POST', '/api/my-account/mfa-verifications', { token: alice.token, proof: p, body: { type: 'BackupCode', codes: roCodes } })).body.code)
      .toBe('account_center.field_not_editable');
    // Off: reads refused too.
    await setCenter({ enabled: true, fields: {} });
    const off = await api('GET', '/api/my-account/mfa-verifications', { token: alice.token });
    expect([off.status, off.body.code]).toEqual([400, 'account_center.field_not_enabled']);
    expect((await api('DELETE', `/api/my-account/mfa-verifications/${aliceFactor}`, { token: alice.token, proof: p })).body.code).toBe('account_center.field_not_editable');
    await setCenter({ enabled: true, fields: { mfa: 'Edit' } });

    // Edit + proof: removal works, and then sign-in needs no second factor.
    expect((await api('DELETE', `/api/my-account/mfa-verifications/${aliceFactor}`, { token: alice.token, proof: p })).status).toBe(204);
    expect((await api('GET', '/api/my-account/mfa-verifications', { token: alice.token })).body).toEqual([]);
    expect((await api('POST', '/api/auth/sign-in', { body: { username: alice.username, password: PW } })).status).toBe(200);
  });

  it('PUT …/totp replaces the TOTP authenticator (new id, old secret dead) or enrols one; the new secret\'s code is mandatory; concurrent replacements leave one', async () => {
    const user = await signUp();
    const oldSecret = await enrolTotp(user.token);
    const oldId = (await api('GET', '/api/my-account/mfa-verifications', { token: user.token })).body[0].id as string;
    const p = await proof(user.token);
    const fresh = async (token: string) => {
      const secret = (await api('POST', '/api/my-account/mfa-verifications/totp-secret/generate', { token })).body.secret as string;
      secretsSeen.push(secret);
      return secret;
    };
    const put = (token: string, body: unknown, withProof?: string) => api('PUT', '/api/my-account/mfa-verifications/totp', { token, body, ...(withProof ? { proof: withProof } : {}) });
    const newSecret = await fresh(user.token);

    // Refusals leave the old factor in place.
    expect((await put(user.token, { secret: newSecret, code: totpAt(newSecret, clock.now()) })).body.code).toBe('verification_record.permission_denied');
    expect(await put(user.token, { secret: newSecret }, p)).toMatchObject({ status: 400, body: { code: 'guard.invalid_input' } });
    expect(await put(user.token, { secret: 'not-base32!', code: '123456' }, p)).toMatchObject({ status: 400, body: { code: 'user.totp_secret_invalid' } });
    const now = clock.now();
    const wrong = wrongCode(totpAt(newSecret, now), totpAt(newSecret, now - STEP_MS), totpAt(newSecret, now + STEP_MS));
    expect(await put(user.token, { secret: newSecret, code: wrong }, p)).toMatchObject({ status: 400, body: { code: 'session.mfa.invalid_totp_code' } });
    // The old secret's code does not prove the new secret.
    expect((await put(user.token, { secret: newSecret, code: totpAt(oldSecret, now + STEP_MS) }, p)).body.code).toBe('session.mfa.invalid_totp_code');
    await setCenter({ enabled: true, fields: { mfa: 'ReadOnly' } });
    expect((await put(user.token, { secret: newSecret, code: totpAt(newSecret, now) }, p)).body.code).toBe('account_center.field_not_editable');
    await setCenter({ enabled: true, fields: { mfa: 'Edit' } });
    expect((await api('GET', '/api/my-account/mfa-verifications', { token: user.token })).body.map((f: { id: string }) => f.id)).toEqual([oldId]);

    // Replaced: one TOTP factor with a new id; the code used to replace it is spent.
    const usedCode = totpAt(newSecret, clock.now());
    const replaced = await put(user.token, { secret: newSecret, code: usedCode }, p);
    expect([replaced.status, replaced.body]).toEqual([204, null]);
    const listed = (await api('GET', '/api/my-account/mfa-verifications', { token: user.token })).body as Array<{ id: string; type: string }>;
    expect(listed).toHaveLength(1);
    expect(listed[0]!.type).toBe('Totp');
    expect(listed[0]!.id).not.toBe(oldId);
    const audit = await t.app.database.db.selectFrom('account_audit').select('action').where('user_id', '=', user.id).execute();
    expect(audit.map((a) => a.action)).toContain('replace_mfa_totp');

    clock.advance(STEP_MS);
    const signIn = (await pending(user.username)).data.pendingSignInId as string;
    expect((await mfaStep({ pendingSignInId: signIn, type: 'totp', code: totpAt(oldSecret, clock.now()) })).body.code).toBe('session.mfa.invalid_totp_code');
    expect((await mfaStep({ pendingSignInId: signIn, type: 'totp', code: usedCode })).body.code).toBe('session.mfa.invalid_totp_code');
    expect((await mfaStep({ pendingSignInId: signIn, type: 'totp', code: totpAt(newSecret, clock.now()) })).status).toBe(200);

    // A user without TOTP: PUT enrols one.
    const other = await signUp();
    const first = await fresh(other.token);
    expect((await put(other.token, { secret: first, code: totpAt(first, clock.now()) }, await proof(other.token))).status).toBe(204);
    expect((await api('GET', '/api/my-account/mfa-verifications', { token: other.token })).body.map((f: { type: string }) => f.type)).toEqual(['Totp']);

    // Five concurrent replacements all succeed and leave exactly one TOTP factor, holding one of their secrets.
    const otherProof = await proof(other.token);
    const secrets = await Promise.all(Array.from({ length: 5 }, () => fresh(other.token)));
    const results = await Promise.all(secrets.map((secret) => put(other.token, { secret, code: totpAt(secret, clock.now()) }, otherProof)));
    expect(results.map((r) => r.status)).toEqual([204, 204, 204, 204, 204]);
    const factors = await t.app.services.store.mfa.listFactors(other.id);
    expect(factors.filter((f) => f.type === 'totp')).toHaveLength(1);
    clock.advance(STEP_MS);
    const otherSignIn = (await pending(other.username)).data.pendingSignInId as string;
    const accepted = [];
    for (const secret of secrets) {
      const r = await mfaStep({ pendingSignInId: otherSignIn, type: 'totp', code: totpAt(secret, clock.now()) });
      if (r.status === 200) accepted.push(secret);
      else expect(r.body.code).toBe('session.mfa.invalid_totp_code');
      if (r.status === 200) break;
    }
    expect(accepted).toHaveLength(1);
  });

  it("keeps the user's sign-in preferences (mfa-settings, logto-configs; Account and Management API), field-gated; skipMfaOnSignIn is not honoured by default", async () => {
    const user = await signUp();
    await enrolTotp(user.token);
    expect(await api('GET', '/api/my-account/mfa-settings', { token: user.token })).toMatchObject({ status: 200, body: { skipMfaOnSignIn: false } });
    expect((await api('PATCH', '/api/my-account/mfa-settings', { token: user.token, body: { skipMfaOnSignIn: true } })).body.code).toBe('verification_record.permission_denied');
    const p = await proof(user.token);
    expect(await api('PATCH', '/api/my-account/mfa-settings', { token: user.token, proof: p, body: { skipMfaOnSignIn: true } })).toMatchObject({ status: 200, body: { skipMfaOnSignIn: true } });
    // The server does not allow users to skip (mfa.allowUserSkip off): the second factor is still asked for.
    await pending(user.username);
    // logto-configs: the whole preference set; a PATCH changes only the given keys.
    expect((await api('GET', '/api/my-account/logto-configs', { token: user.token })).body).toEqual({ mfa: { skipped: false, skipMfaOnSignIn: true }, passkeySignIn: { skipped: false } });
    const changed = await api('PATCH', '/api/my-account/logto-configs', { token: user.token, proof: p, body: { mfa: { enabled: true, skipped: true }, passkeySignIn: { skipped: true } } });
    expect(changed).toMatchObject({ status: 200, body: { mfa: { enabled: true, skipped: true, skipMfaOnSignIn: true }, passkeySignIn: { skipped: true } } });
    expect((await api('PATCH', '/api/my-account/logto-configs', { token: user.token, proof: p, body: { mfa: { other: true } } })).status).toBe(400);
    // The Management API reads and changes the same preferences.
    const admin = (method: string, body?: unknown) => api(method, `/api/users/${user.id}/logto-configs`, { token: mgmt, ...(body !== undefined ? { body } : {}) });
    expect((await admin('GET')).body).toEqual(changed.body);
    expect((await admin('PATCH', { mfa: { skipMfaOnSignIn: false } })).body.mfa).toEqual({ enabled: true, skipped: true, skipMfaOnSignIn: false });
    expect((await api('GET', '/api/users/nobody-here/logto-configs', { token: mgmt })).status).toBe(404);
    // Field gating: mfa Off hides the settings; with a `passkey` field set, logto-configs follows it.
    await setCenter({ enabled: true, fields: { mfa: 'Off' } });
    expect((await api('GET', '/api/my-account/mfa-settings', { token: user.token })).body.code).toBe('account_center.field_not_enabled');
    expect((await api('GET', '/api/my-account/logto-configs', { token: user.token })).body.code).toBe('account_center.field_not_enabled');
    await setCenter({ enabled: true, fields: { mfa: 'Off', passkey: 'ReadOnly' } });
    expect((await api('GET', '/api/my-account/logto-configs', { token: user.token })).status).toBe(200);
    expect((await api('PATCH', '/api/my-account/logto-configs', { token: user.token, proof: p, body: { passkeySignIn: { skipped: false } } })).body.code).toBe('account_center.field_not_editable');
    await setCenter({ enabled: true, fields: { mfa: 'Edit' } });
  });

  it('Management API: lists a user\'s factors without secrets and resets one; unknown ids are 404', async () => {
    const user = await signUp();
    const other = await signUp();
    const secret = await enrolTotp(user.token);
    await enrolTotp(other.token);
    const otherFactor = (await api('GET', `/api/users/${other.id}/mfa-verifications`, { token: mgmt })).body[0].id as string;
    const listed = await api('GET', `/api/users/${user.id}/mfa-verifications`, { token: mgmt });
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual([expect.objectContaining({ type: 'Totp' })]);
    expect(JSON.stringify(listed.body)).not.toContain(secret);
    expect((await api('GET', '/api/users/000000000000000000000000/mfa-verifications', { token: mgmt })).status).toBe(404);
    // Another user's factor id under this user: 404, and nothing is removed.
    const wrong = await api('DELETE', `/api/users/${user.id}/mfa-verifications/${otherFactor}`, { token: mgmt });
    expect([wrong.status, wrong.body.code]).toEqual([404, 'entity.not_found']);
    expect((await api('GET', `/api/users/${other.id}/mfa-verifications`, { token: mgmt })).body).toHaveLength(1);
    // No Management token: 401.
    expect((await api('GET', `/api/users/${user.id}/mfa-verifications`, { token: user.token })).status).toBe(401);
    // Reset: the user signs in with the password alone again.
    expect((await api('DELETE', `/api/users/${user.id}/mfa-verifications/${listed.body[0].id}`, { token: mgmt })).status).toBe(204);
    expect((await api('GET', `/api/users/${user.id}/mfa-verifications`, { token: mgmt })).body).toEqual([]);
    expect((await api('POST', '/api/auth/sign-in', { body: { username: user.username, password: PW } })).status).toBe(200);
  });

  it('LeanCloud /1.1/login refuses users with MFA (code 1, 403) and never hands out a session token', async () => {
    const user = await signUp();
    const lcPlain = await lcFetch(t.base, 'POST', '/1.1/login', { body: { username: user.username, password: PW } });
    expect(lcPlain.status).toBe(200);
    expect(lcPlain.body.sessionToken).toBeTruthy();
    await enrolTotp(user.token);
    const refused = await lcFetch(t.base, 'POST', '/1.1/login', { body: { username: user.username, password: PW } });
    expect(refused.status).toBe(403);
    expect(refused.body).toEqual({ code: 1, error: expect.stringContaining('/api/auth/sign-in') });
    expect(refused.text).not.toContain('sessionToken');
    expect(refused.text).not.toContain('mfa_');
    // A wrong password still answers the usual 210 (MFA is only asked after the password).
    expect((await lcFetch(t.base, 'POST', '/1.1/login', { body: { username: user.username, password: 'wrong-password-x' } })).body.code).toBe(210);
  });

  it('OIDC sign-in page: after the password, a TOTP step (CSRF-checked) and only then the code; amr carries otp and mfa', async () => {
    const user = await signUp();
    const secret = await enrolTotp(user.token);
    clock.advance(STEP_MS);
    const config = await client.discovery(new URL(`${t.base}/oidc`), web.application.id, web.secret!, client.ClientSecretBasic(web.secret!), {
      execute: [client.allowInsecureRequests],
    });
    const verifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: 'openid profile',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: 'mfa-state',
    });
    const browser = new Browser();
    const { res, url: pageUrl } = await browser.follow(url.href, t.base);
    const html = await res.text();
    const csrf = field(html, 'csrf')!;
    const loginAction = new URL(/action="([^"]+\/login)"/.exec(html)![1]!, pageUrl).href;
    const form = (fields: Record<string, string>) => ({
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: t.base },
      body: new URLSearchParams(fields).toString(),
    });
    const step = await browser.request(loginAction, form({ csrf, identifier: user.username, password: PW }));
    expect(step.status).toBe(200);
    const stepHtml = await step.text();
    expect(stepHtml).toContain('Two-step verification');
    expect(stepHtml).not.toContain(secret);
    const pendingId = field(stepHtml, 'pendingSignInId')!;
    expect(pendingId).toMatch(/^mfa_/);
    const mfaAction = new URL(/action="([^"]+\/mfa)"/.exec(stepHtml)![1]!, pageUrl).href;
    const now = clock.now();

    // Without the CSRF token: refused.
    expect((await browser.request(mfaAction, form({ csrf: 'forged', pendingSignInId: pendingId, code: totpAt(secret, now) }))).status).toBe(403);
    // Wrong code: the step again, with the error.
    const wrong = await browser.request(mfaAction, form({ csrf, pendingSignInId: pendingId, code: wrongCode(totpAt(secret, now), totpAt(secret, now - STEP_MS), totpAt(secret, now + STEP_MS)) }));
    expect(wrong.status).toBe(400);
    expect(await wrong.text()).toContain('The authenticator code is incorrect.');
    // Right code: back to the provider, then to the client with a code.
    const ok = await browser.request(mfaAction, form({ csrf, pendingSignInId: pendingId, code: totpAt(secret, now) }));
    expect(ok.status).toBe(303);
    const { url: callback } = await browser.follow(new URL(ok.headers.get('location')!, pageUrl).href, t.base);
    expect(callback.startsWith(REDIRECT)).toBe(true);
    const tokens = await client.authorizationCodeGrant(config, new URL(callback), { pkceCodeVerifier: verifier, expectedState: 'mfa-state' });
    const claims = tokens.claims()!;
    expect(claims.sub).toBe(user.id);
    expect(claims.amr).toEqual(['pwd', 'otp', 'mfa']);
  });

  /** The authorization code flow through the sign-in page, password then TOTP; returns the opaque access token. */
  async function oidcWithTotp(username: string, secret: string, scope: string) {
    const config = await client.discovery(new URL(`${t.base}/oidc`), web.application.id, web.secret!, client.ClientSecretBasic(web.secret!), {
      execute: [client.allowInsecureRequests],
    });
    const verifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT, scope, prompt: 'consent', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state: 's',
    });
    const browser = new Browser();
    const { res, url: pageUrl } = await browser.follow(url.href, t.base);
    const html = await res.text();
    const post = (action: string, fields: Record<string, string>) => browser.request(new URL(action, pageUrl).href, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: t.base },
      body: new URLSearchParams({ csrf: field(html, 'csrf')!, ...fields }).toString(),
    });
    const step = await (await post(/action="([^"]+\/login)"/.exec(html)![1]!, { identifier: username, password: PW })).text();
    clock.advance(STEP_MS);
    const done = await post(/action="([^"]+\/mfa)"/.exec(step)![1]!, { pendingSignInId: field(step, 'pendingSignInId')!, code: totpAt(secret, clock.now()) });
    expect(done.status).toBe(303);
    const { url: callback } = await browser.follow(new URL(done.headers.get('location')!, pageUrl).href, t.base);
    const tokens = await client.authorizationCodeGrant(config, new URL(callback), { pkceCodeVerifier: verifier, expectedState: 's' });
    return tokens.access_token;
  }

  it('Account API with OIDC access tokens: the identities scope is needed to see or change factors', async () => {
    const user = await signUp();
    const secret = await enrolTotp(user.token);
    const narrow = await oidcWithTotp(user.username, secret, 'openid profile');
    const refused = await api('GET', '/api/my-account/mfa-verifications', { token: narrow });
    expect([refused.status, refused.body.code]).toEqual([401, 'auth.unauthorized']);
    const wide = await oidcWithTotp(user.username, secret, 'openid profile identities');
    const listed = await api('GET', '/api/my-account/mfa-verifications', { token: wide });
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual([expect.objectContaining({ type: 'Totp' })]);
  });
});

describe.each(dialects)('MFA skipped at sign-in by the user\'s choice, when the server allows it (mfa.allowUserSkip) on %s', (_name, database) => {
  const clock = new ManualClock(Math.floor(Date.now() / STEP_MS) * STEP_MS + STEP_MS / 2);
  let t: RunningApp;
  let db: Awaited<ReturnType<DatabaseFactory>>;

  beforeAll(async () => {
    db = await database();
    t = await startAppWithPublicUrl({ databaseUrl: db.url, mfa: { allowUserSkip: true }, adminClientId: ADMIN_ID, adminClientSecret: ADMIN_SECRET }, { clock });
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  it('a user with TOTP who chose skipMfaOnSignIn signs in with the password alone (amr pwd); turning it off brings the step back', async () => {
    const username = uniq('s');
    const up = await t.call('POST', '/api/auth/sign-up', { body: { username, password: PW } });
    const { user } = await up.json();
    const { secret } = t.app.services.mfa.generateTotpSecret(await t.app.services.users.require(user.id));
    await t.app.services.mfa.addTotp(user.id, secret, totpAt(secret, clock.now()));
    const signIn = async () => {
      const res = await t.call('POST', '/api/auth/sign-in', { body: { username, password: PW } });
      return { status: res.status, body: await res.json() };
    };
    expect((await signIn()).body.code).toBe('auth.mfa_required');
    await t.app.services.preferences.update(user.id, { mfa: { skipMfaOnSignIn: true } });
    const skipped = await signIn();
    expect(skipped.status).toBe(200);
    expect((await t.app.services.sessions.authenticate(skipped.body.session.token)).session.amr).toEqual(['pwd']);
    await t.app.services.preferences.update(user.id, { mfa: { skipMfaOnSignIn: false } });
    expect((await signIn()).body.code).toBe('auth.mfa_required');
  });
});

describe.each(dialects)('MFA policy "required" on %s', (_name, database) => {
  const clock = new ManualClock(Math.floor(Date.now() / STEP_MS) * STEP_MS + STEP_MS / 2);
  let t: RunningApp;
  let db: Awaited<ReturnType<DatabaseFactory>>;

  beforeAll(async () => {
    db = await database();
    t = await startAppWithPublicUrl({ databaseUrl: db.url, mfa: { policy: 'required' } }, { clock });
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  const post = async (path: string, body: unknown) => {
    const res = await t.call('POST', path, { body });
    return { status: res.status, body: await res.json() };
  };

  it('stops users without a factor until they enrol TOTP, then asks for it at every sign-in', async () => {
    const username = uniq('r');
    const signUp = await post('/api/auth/sign-up', { username, password: PW });
    expect(signUp.status).toBe(403);
    expect(signUp.body.code).toBe('auth.mfa_enrollment_required');
    expect(signUp.body.data).not.toHaveProperty('session');
    const signIn = await post('/api/auth/sign-in', { username, password: PW });
    expect(signIn.body.code).toBe('auth.mfa_enrollment_required');
    const id = signIn.body.data.pendingSignInId as string;
    // An enrolment attempt is not a verify attempt.
    expect((await post('/api/auth/sign-in/mfa', { pendingSignInId: id, type: 'totp', code: '123456' })).body.code).toBe('auth.mfa_sign_in_expired');

    const { secret } = (await post('/api/auth/sign-in/mfa/totp-secret', { pendingSignInId: id })).body as { secret: string };
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    const now = clock.now();
    const wrong = await post('/api/auth/sign-in/mfa/enroll', { pendingSignInId: id, secret, code: wrongCode(totpAt(secret, now), totpAt(secret, now - STEP_MS), totpAt(secret, now + STEP_MS)) });
    expect(wrong.body.code).toBe('session.mfa.invalid_totp_code');
    const enrolled = await post('/api/auth/sign-in/mfa/enroll', { pendingSignInId: id, secret, code: totpAt(secret, now) });
    expect(enrolled.status).toBe(200);
    expect(enrolled.body.session.token).toMatch(/^tss_/);
    // Single use.
    expect((await post('/api/auth/sign-in/mfa/enroll', { pendingSignInId: id, secret, code: totpAt(secret, now) })).body.code).toBe('auth.mfa_sign_in_expired');

    clock.advance(STEP_MS);
    const next = await post('/api/auth/sign-in', { username, password: PW });
    expect(next.body.code).toBe('auth.mfa_required');
    const done = await post('/api/auth/sign-in/mfa', { pendingSignInId: next.body.data.pendingSignInId, type: 'totp', code: totpAt(secret, clock.now()) });
    expect(done.status).toBe(200);

    // A pending sign-in expires after 5 minutes.
    const stale = await post('/api/auth/sign-in', { username, password: PW });
    clock.advance(5 * 60_000 + 1);
    expect((await post('/api/auth/sign-in/mfa', { pendingSignInId: stale.body.data.pendingSignInId, type: 'totp', code: totpAt(secret, clock.now()) })).body.code)
      .toBe('auth.mfa_sign_in_expired');
  });
});

describe.each(dialects)('MFA policy "required" on the OIDC sign-in page (TOTP enrolment step) on %s', (_name, database) => {
  const clock = new ManualClock(Math.floor(Date.now() / STEP_MS) * STEP_MS + STEP_MS / 2);
  let t: RunningApp;
  let db: Awaited<ReturnType<DatabaseFactory>>;
  let web: IssuedApplication;

  beforeAll(async () => {
    db = await database();
    t = await startAppWithPublicUrl({ databaseUrl: db.url, mfa: { policy: 'required', issuer: 'Tessera Test' } }, { clock });
    web = await t.app.services.applications.create({ name: 'Enrol page', type: 'traditional', redirectUris: [REDIRECT] });
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  const apiPost = async (path: string, body: unknown) => {
    const res = await t.call('POST', path, { body });
    return { status: res.status, body: await res.json() };
  };

  /** Starts an authorization code flow in a new browser and posts the password; returns the step page. */
  async function passwordStep(username: string) {
    const config = await client.discovery(new URL(`${t.base}/oidc`), web.application.id, web.secret!, client.ClientSecretBasic(web.secret!), {
      execute: [client.allowInsecureRequests],
    });
    const verifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT, scope: 'openid profile', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state: 'enrol',
    });
    const browser = new Browser();
    const { res, url: pageUrl } = await browser.follow(url.href, t.base);
    const html = await res.text();
    const csrf = field(html, 'csrf')!;
    const post = (action: string, fields: Record<string, string>) => browser.request(new URL(action, pageUrl).href, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: t.base },
      body: new URLSearchParams({ csrf, ...fields }).toString(),
    });
    const step = await post(/action="([^"]+\/login)"/.exec(html)![1]!, { identifier: username, password: PW });
    expect(step.status).toBe(200);
    const stepHtml = await step.text();
    /** Follows the provider's redirects to the client and redeems the code; returns the ID token claims. */
    const finish = async (done: Response) => {
      let next: string;
      if (done.status === 200) {
        // After the enrolment: ten backup codes shown once, and a link that resumes the authorization.
        const page = await done.text();
        expect(page.match(/<li><code>[0-9a-f]{10}<\/code><\/li>/g)).toHaveLength(10);
        next = /<a class="button" href="([^"]+)"/.exec(page)![1]!.replace(/&amp;/g, '&');
      } else {
        expect(done.status).toBe(303);
        next = done.headers.get('location')!;
      }
      const { url: callback } = await browser.follow(new URL(next, pageUrl).href, t.base);
      expect(callback.startsWith(REDIRECT)).toBe(true);
      const tokens = await client.authorizationCodeGrant(config, new URL(callback), { pkceCodeVerifier: verifier, expectedState: 'enrol' });
      return tokens.claims()!;
    };
    return { html: stepHtml, csrf, post, finish };
  }

  /** The hidden fields of an enrolment page. */
  const enrolFields = (html: string) => ({
    pendingSignInId: field(html, 'pendingSignInId')!,
    binding: field(html, 'binding')!,
    secret: field(html, 'secret')!,
    secretBinding: field(html, 'secretBinding')!,
  });
  const enrolAction = (html: string) => /action="([^"]+\/mfa\/enroll)"/.exec(html)![1]!;
  const codesNear = (secret: string, now: number) => [totpAt(secret, now), totpAt(secret, now - STEP_MS), totpAt(secret, now + STEP_MS)];

  it('a user without a factor sets up TOTP on the page (secret bound to the pending sign-in and the interaction) and finishes the sign-in; next time the TOTP step', async () => {
    const username = uniq('e');
    const signUp = await apiPost('/api/auth/sign-up', { username, password: PW });
    expect(signUp.body.code).toBe('auth.mfa_enrollment_required');

    // Password on the page → the enrolment step: the secret (in blocks of 4) and its otpauth URI, no code.
    const a = await passwordStep(username);
    expect(a.html).toContain('Set up two-step verification');
    const fa = enrolFields(a.html);
    expect(fa.pendingSignInId).toMatch(/^mfa_/);
    expect(fa.secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(a.html).toContain(fa.secret.match(/.{4}/g)!.join(' '));
    const uri = /href="(otpauth:\/\/totp\/[^"]+)"/.exec(a.html)![1]!.replace(/&amp;/g, '&');
    expect(new URL(uri).searchParams.get('secret')).toBe(fa.secret);
    expect(new URL(uri).searchParams.get('issuer')).toBe('Tessera Test');
    // The same URI as a QR code (an SVG data: URL drawn by the qrcode library, which the page's CSP allows).
    const qr = /id="totp-qr" src="data:image\/svg\+xml;base64,([^"]+)"/.exec(a.html);
    expect(qr).not.toBeNull();
    expect(Buffer.from(qr![1]!, 'base64').toString('utf8')).toBe(await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 1 }));
    expect(a.html).not.toMatch(/name="code"[^>]*value=/);
    for (const c of codesNear(fa.secret, clock.now())) expect(a.html).not.toContain(c);
    expect(a.html).not.toContain('<script');
    const now = clock.now();
    const right = totpAt(fa.secret, now);
    const wrong = wrongCode(...codesNear(fa.secret, now));

    // Forged CSRF token: refused.
    expect((await a.post(enrolAction(a.html), { ...fa, code: right, csrf: 'forged' })).status).toBe(403);
    // A secret this server did not issue for the pending sign-in: refused (back to the password page).
    const chosen = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
    const foreignSecret = await a.post(enrolAction(a.html), { ...fa, secret: chosen, code: totpAt(chosen, now) });
    expect(foreignSecret.status).toBe(400);
    expect(await foreignSecret.text()).toContain('This sign-in attempt has expired');
    // Wrong code: the enrolment step again with the error and the same secret; nothing enrolled.
    const wrongRes = await a.post(enrolAction(a.html), { ...fa, code: wrong });
    expect(wrongRes.status).toBe(400);
    const wrongHtml = await wrongRes.text();
    expect(wrongHtml).toContain('The authenticator code is incorrect.');
    expect(enrolFields(wrongHtml)).toEqual(fa);
    expect((await apiPost('/api/auth/sign-in', { username, password: PW })).body.code).toBe('auth.mfa_enrollment_required');

    // Another interaction (another browser) cannot use this one's pending sign-in, binding and secret.
    const b = await passwordStep(username);
    const stolen = await b.post(enrolAction(b.html), { ...fa, code: right });
    expect(stolen.status).toBe(400);
    expect(await stolen.text()).toContain('This sign-in attempt has expired');
    expect((await apiPost('/api/auth/sign-in', { username, password: PW })).body.code).toBe('auth.mfa_enrollment_required');

    // Right code (from the shown secret) → redirect with a code → tokens with amr pwd, otp, mfa.
    const claims = await a.finish(await a.post(enrolAction(a.html), { ...fa, code: right }));
    expect(claims.sub).toBe((await t.app.services.users.findByIdentifier('username', username))!.id);
    expect(claims.amr).toEqual(['pwd', 'otp', 'mfa']);

    // The user now has a TOTP factor and the backup codes the page showed: the native sign-in asks for one.
    const native = await apiPost('/api/auth/sign-in', { username, password: PW });
    expect(native.body.code).toBe('auth.mfa_required');
    expect(native.body.data.factors).toEqual(['totp', 'backup_code']);

    // The next OIDC sign-in shows the normal TOTP step, and the enrolled secret completes it.
    clock.advance(STEP_MS);
    const c = await passwordStep(username);
    expect(c.html).toContain('Two-step verification');
    expect(c.html).not.toContain('Set up two-step verification');
    expect(c.html).not.toContain(fa.secret);
    const mfaAction = /action="([^"]+\/mfa)"/.exec(c.html)![1]!;
    const again = await c.finish(await c.post(mfaAction, { pendingSignInId: field(c.html, 'pendingSignInId')!, code: totpAt(fa.secret, clock.now()) }));
    expect(again.sub).toBe(claims.sub);
    expect(again.amr).toEqual(['pwd', 'otp', 'mfa']);
  });
});
