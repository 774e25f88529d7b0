/**
 * Passkey-first (usernameless) sign-in, issue 14 §2: MfaService.passkeySignInOptions and
 * MfaService.signInWithPasskey on a real app (SQLite, and PostgreSQL when TESSERA_TEST_PG_URL is set),
 * with real assertions made by a software authenticator (test/soft-authenticator.ts) and passkeys
 * enrolled through the real registration ceremony.
 */
import { generateKeyPairSync } from 'node:crypto';
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSKEY_SIGN_IN_TTL_MS } from '../src/domain/mfa/index.js';
import { AppError } from '../src/errors/index.js';
import type { KyselyStore } from '../src/storage/kysely-store.js';
import type { UserRecord } from '../src/storage/store.js';
import { ManualClock } from '../src/util/clock.js';
import { sha256Hex } from '../src/util/crypto.js';
import { type DatabaseFactory, dialects, type RunningApp, startAppWithPublicUrl } from './helpers.js';
import { SoftAuthenticator } from './soft-authenticator.js';

/** The per-IP sign-in budget of these apps (one test spends it; every other test has its own IP). */
const SIGN_IN_PER_MINUTE = 5;
const uniq = (p: string) => `${p}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
let ipSeq = 0;
/** A request meta from an IP no other test uses. */
const meta = () => ({ ip: `10.9.${Math.floor(++ipSeq / 250)}.${(ipSeq % 250) + 1}`, userAgent: 'passkey-test' });

/** The code, status and message an operation fails with (fails the test when it succeeds). */
async function failure(operation: Promise<unknown>): Promise<{ code: string; status: number; message: string }> {
  try {
    await operation;
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    return { code: error.code, status: error.status, message: error.message };
  }
  throw new Error('expected a refusal, but the operation succeeded');
}

const VERIFICATION_FAILED = { code: 'session.mfa.webauthn_verification_failed', status: 400, message: 'The passkey could not be verified.' };

describe.each(dialects)('Passkey-first sign-in (software authenticator) on %s', (_name, database) => {
  let t: RunningApp;
  let db: Awaited<ReturnType<DatabaseFactory>>;
  const clock = new ManualClock(Date.now());

  beforeAll(async () => {
    db = await database();
    t = await startAppWithPublicUrl({ databaseUrl: db.url, rateLimit: { signInPerMinute: SIGN_IN_PER_MINUTE } }, { clock });
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  const mfa = () => t.app.services.mfa;
  const kdb = () => (t.app.services.store as KyselyStore).db;

  /** A new user with a passkey enrolled through the registration ceremony (options → attestation → bind). */
  async function userWithPasskey(): Promise<{ user: UserRecord; key: SoftAuthenticator }> {
    const user = await t.app.services.users.createByAdministrator({ username: uniq('pk') });
    const key = new SoftAuthenticator(new URL(t.base).origin);
    const { recordId, registrationOptions } = await mfa().startRegistration(user);
    await mfa().verifyRegistration(user, recordId, key.register(registrationOptions) as RegistrationResponseJSON);
    await mfa().addWebAuthn(user.id, recordId, 'Test passkey', 'passkey-test');
    return { user, key };
  }

  /** A challenge from passkeySignInOptions: its id and the base64url challenge. */
  async function challenge(): Promise<{ challengeId: string; challenge: string }> {
    const { challengeId, options } = await mfa().passkeySignInOptions();
    return { challengeId, challenge: options.challenge };
  }

  const asResponse = (r: ReturnType<SoftAuthenticator['assert']>) => r as AuthenticationResponseJSON;

  it('offers request options without allowCredentials, with user verification required, and stores only the hash of the challenge id', async () => {
    const { challengeId, options } = await mfa().passkeySignInOptions();
    expect(challengeId).toMatch(/^pkc_[A-Za-z0-9_-]{43}$/);
    expect(options.rpId).toBe('127.0.0.1');
    expect(options.userVerification).toBe('required');
    expect(options.allowCredentials ?? []).toEqual([]);
    expect(Buffer.from(options.challenge, 'base64url').length).toBeGreaterThanOrEqual(16);
    const rows = await kdb().selectFrom('passkey_challenges').selectAll().where('challenge', '=', options.challenge).execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.id_hash).toBe(sha256Hex(challengeId));
    expect(JSON.stringify(rows)).not.toContain(challengeId);
    expect(Number(rows[0]!.expires_at) - Number(rows[0]!.created_at)).toBe(PASSKEY_SIGN_IN_TTL_MS);
    // Two calls, two challenges.
    const other = await mfa().passkeySignInOptions();
    expect(other.challengeId).not.toBe(challengeId);
    expect(other.options.challenge).not.toBe(options.challenge);
  });

  it('signs in the passkey\'s owner with amr ["hwk", "user", "mfa"], stores the counter, and needs no other factor', async () => {
    const alice = await userWithPasskey();
    const bob = await userWithPasskey();
    // Bob also has TOTP: a password sign-in would need a second factor; a passkey sign-in does not.
    const { secret } = mfa().generateTotpSecret(bob.user);
    await mfa().addTotp(bob.user.id, secret);
    const c = await challenge();
    const result = await mfa().signInWithPasskey(c.challengeId, asResponse(bob.key.assert(c.challenge, { counter: 7 })), meta());
    expect(result.user.id).toBe(bob.user.id);
    expect(result.amr).toEqual(['hwk', 'user', 'mfa']);
    const factor = (await t.app.services.store.mfa.listFactors(bob.user.id)).find((f) => f.type === 'webauthn')!;
    expect([factor.counter, factor.lastUsedAt]).toEqual([7, clock.now()]);

    // The OIDC page then completes it without a session: lastSignInAt, no MFA step, no forced reset.
    const completed = await t.app.services.auth.completeWithoutSession(result.user, result.amr);
    expect(completed.lastSignInAt).toBe(clock.now());

    // Alice's passkey signs in Alice, never Bob.
    const c2 = await challenge();
    expect((await mfa().signInWithPasskey(c2.challengeId, asResponse(alice.key.assert(c2.challenge)), meta())).user.id).toBe(alice.user.id);
  });

  it('refuses a replayed challenge, also under concurrency (exactly one of parallel uses wins)', async () => {
    const { key } = await userWithPasskey();
    const c = await challenge();
    await mfa().signInWithPasskey(c.challengeId, asResponse(key.assert(c.challenge)), meta());
    // The same challenge again, even with a fresh, valid assertion (higher counter).
    expect(await failure(mfa().signInWithPasskey(c.challengeId, asResponse(key.assert(c.challenge)), meta()))).toEqual(VERIFICATION_FAILED);

    // Parallel uses of one challenge, each with a valid assertion of its own owner.
    const others = await Promise.all([userWithPasskey(), userWithPasskey(), userWithPasskey()]);
    const shared = await challenge();
    const results = await Promise.allSettled(others.map((o) => mfa().signInWithPasskey(shared.challengeId, asResponse(o.key.assert(shared.challenge)), meta())));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results.filter((x): x is PromiseRejectedResult => x.status === 'rejected')) {
      expect((r.reason as AppError).code).toBe('session.mfa.webauthn_verification_failed');
    }
  });

  it('refuses an expired challenge (5 minutes) and a made-up challenge id', async () => {
    const { key } = await userWithPasskey();
    const late = await challenge();
    const justInTime = await challenge();
    clock.advance(PASSKEY_SIGN_IN_TTL_MS - 1);
    await mfa().signInWithPasskey(justInTime.challengeId, asResponse(key.assert(justInTime.challenge)), meta());
    clock.advance(1);
    expect(await failure(mfa().signInWithPasskey(late.challengeId, asResponse(key.assert(late.challenge)), meta()))).toEqual(VERIFICATION_FAILED);
    // The expired row is purged; a fresh one is not.
    const fresh = await challenge();
    await mfa().purgeExpired();
    const left = await kdb().selectFrom('passkey_challenges').select('id_hash').where('id_hash', 'in', [sha256Hex(late.challengeId), sha256Hex(fresh.challengeId)]).execute();
    expect(left.map((r) => r.id_hash)).toEqual([sha256Hex(fresh.challengeId)]);

    expect(await failure(mfa().signInWithPasskey('pkc_made-up', asResponse(key.assert(fresh.challenge)), meta()))).toEqual(VERIFICATION_FAILED);
    expect(await failure(mfa().signInWithPasskey('', asResponse(key.assert(fresh.challenge)), meta()))).toEqual(VERIFICATION_FAILED);
    // A challenge id is the bearer secret, its hash is not.
    expect(await failure(mfa().signInWithPasskey(sha256Hex(fresh.challengeId), asResponse(key.assert(fresh.challenge)), meta()))).toEqual(VERIFICATION_FAILED);
    await mfa().signInWithPasskey(fresh.challengeId, asResponse(key.assert(fresh.challenge)), meta());
  });

  it('refuses an unknown credential exactly as a bad signature (same code, status and message)', async () => {
    const { key } = await userWithPasskey();
    const stranger = new SoftAuthenticator(new URL(t.base).origin);
    stranger.userHandle = key.userHandle;
    const c1 = await challenge();
    const unknown = await failure(mfa().signInWithPasskey(c1.challengeId, asResponse(stranger.assert(c1.challenge)), meta()));
    const c2 = await challenge();
    const intruder = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const forged = await failure(mfa().signInWithPasskey(c2.challengeId, asResponse(key.assert(c2.challenge, { key: intruder })), meta()));
    expect(unknown).toEqual(VERIFICATION_FAILED);
    expect(forged).toEqual(unknown);
    // Another site's origin, and an assertion for another challenge, fail the same way.
    const c3 = await challenge();
    expect(await failure(mfa().signInWithPasskey(c3.challengeId, asResponse(key.assert(c3.challenge, { origin: 'https://evil.example' })), meta()))).toEqual(unknown);
    const c4 = await challenge();
    const c5 = await challenge();
    expect(await failure(mfa().signInWithPasskey(c4.challengeId, asResponse(key.assert(c5.challenge)), meta()))).toEqual(unknown);
    // The genuine key still works (no failure above touched it).
    const c6 = await challenge();
    await mfa().signInWithPasskey(c6.challengeId, asResponse(key.assert(c6.challenge)), meta());
  });

  it('refuses an assertion without the UV flag, and one whose userHandle is missing or names another user', async () => {
    const { user, key } = await userWithPasskey();
    const other = await userWithPasskey();
    const before = (await t.app.services.store.mfa.listFactors(user.id)).find((f) => f.type === 'webauthn')!.counter;
    const c1 = await challenge();
    expect(await failure(mfa().signInWithPasskey(c1.challengeId, asResponse(key.assert(c1.challenge, { userVerified: false })), meta()))).toEqual(VERIFICATION_FAILED);
    const c2 = await challenge();
    expect(await failure(mfa().signInWithPasskey(c2.challengeId, asResponse(key.assert(c2.challenge, { userHandle: null })), meta()))).toEqual(VERIFICATION_FAILED);
    const c3 = await challenge();
    expect(await failure(mfa().signInWithPasskey(c3.challengeId, asResponse(key.assert(c3.challenge, { userHandle: other.key.userHandle })), meta()))).toEqual(VERIFICATION_FAILED);
    // Refusals leave the stored counter alone.
    expect((await t.app.services.store.mfa.listFactors(user.id)).find((f) => f.type === 'webauthn')!.counter).toBe(before);
    const c4 = await challenge();
    expect((await mfa().signInWithPasskey(c4.challengeId, asResponse(key.assert(c4.challenge)), meta())).user.id).toBe(user.id);
  });

  it('refuses a signature counter that does not grow (a cloned authenticator)', async () => {
    const { key } = await userWithPasskey();
    const c1 = await challenge();
    await mfa().signInWithPasskey(c1.challengeId, asResponse(key.assert(c1.challenge, { counter: 10 })), meta());
    const c2 = await challenge();
    expect(await failure(mfa().signInWithPasskey(c2.challengeId, asResponse(key.assert(c2.challenge, { counter: 10 })), meta()))).toEqual(VERIFICATION_FAILED);
    const c3 = await challenge();
    expect(await failure(mfa().signInWithPasskey(c3.challengeId, asResponse(key.assert(c3.challenge, { counter: 3 })), meta()))).toEqual(VERIFICATION_FAILED);
    const c4 = await challenge();
    await mfa().signInWithPasskey(c4.challengeId, asResponse(key.assert(c4.challenge, { counter: 11 })), meta());
  });

  it('refuses a suspended user after a valid assertion (auth.user_suspended), and signs them in again once restored', async () => {
    const { user, key } = await userWithPasskey();
    await t.app.services.users.setSuspended(user.id, true);
    const c1 = await challenge();
    expect(await failure(mfa().signInWithPasskey(c1.challengeId, asResponse(key.assert(c1.challenge)), meta())))
      .toEqual({ code: 'auth.user_suspended', status: 403, message: 'This account is suspended.' });
    await t.app.services.users.setSuspended(user.id, false);
    const c2 = await challenge();
    expect((await mfa().signInWithPasskey(c2.challengeId, asResponse(key.assert(c2.challenge)), meta())).user.id).toBe(user.id);
  });

  it('spends the per-IP sign-in budget on every attempt, as password sign-in does', async () => {
    const { key } = await userWithPasskey();
    const from = meta();
    for (let i = 0; i < SIGN_IN_PER_MINUTE; i++) {
      const c = await challenge();
      expect(await failure(mfa().signInWithPasskey(c.challengeId, asResponse(key.assert(c.challenge, { userVerified: false })), from))).toEqual(VERIFICATION_FAILED);
    }
    const c = await challenge();
    expect((await failure(mfa().signInWithPasskey(c.challengeId, asResponse(key.assert(c.challenge)), from))).code).toBe('request.rate_limited');
    // The limit is per IP: the same assertion from elsewhere is fine (the challenge was not spent).
    expect((await mfa().signInWithPasskey(c.challengeId, asResponse(key.assert(c.challenge)), meta())).amr).toEqual(['hwk', 'user', 'mfa']);
  });
});
