/**
 * Issue 16: the storage conformance suite covers every store interface, MfaStore first, on SQLite
 * (memory and file) and PostgreSQL.
 *
 * `test/storage.conformance.test.ts` holds users, sessions, sign-in guards and verification records to
 * their contract; this file does the same for every other store of the `Store` aggregate
 * (src/storage/store.ts) and for the SDK store: MfaStore, IdentityStore, PersonalAccessTokenStore,
 * SubjectTokenStore, TokenExchangeAuditStore, AccountAuditStore, AccountCenterStore, ApplicationStore,
 * OidcPayloadStore, OidcKeyStore, ConnectorStore, SocialSessionStore, SdkStore and LeanCloudStore, plus
 * the parts of the aggregate the first suite leaves out (`Store.deleteAccount`,
 * `users.findByAccessToken`, `verifications.listLive`). The doc comments of the interfaces are the
 * contract: single use, compare-and-set and "exactly one of N concurrent callers" promises are tested
 * with real concurrent calls, expiry boundaries to the millisecond, and cascades on user deletion where
 * a foreign key exists. Real databases only: the same suite runs on an in-memory SQLite database, a
 * SQLite file (WAL) and, when `TESSERA_TEST_PG_URL` is set, a fresh PostgreSQL database.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AccountAuditRecord } from '../src/storage/account-audit-store.js';
import type { ConnectorRecord, SocialSessionRecord, SocialTokenSetRecord } from '../src/storage/connector-store.js';
import { type DatabaseHandle, migrateToLatest, openDatabase } from '../src/storage/database.js';
import { IdentityConflict, type IdentityRecord } from '../src/storage/identity-store.js';
import { KyselyStore } from '../src/storage/kysely-store.js';
import type {
  MfaBackupCodeRecord,
  MfaChallengeRecord,
  MfaFactorRecord,
  MfaFactorType,
  MfaPendingSignInRecord,
} from '../src/storage/mfa-store.js';
import type { ApplicationRecord, OidcKeyRecord, OidcPayloadIndexes } from '../src/storage/oidc-store.js';
import type { Database } from '../src/storage/schema.js';
import {
  type CaptchaRecord,
  type CustomFieldRecord,
  KyselySdkStore,
  type PasswordResetTokenRecord,
} from '../src/storage/sdk-store.js';
import {
  UniqueViolation,
  type UserRecord,
  type VerificationRecord,
} from '../src/storage/store.js';
import type {
  PersonalAccessTokenRecord,
  SubjectTokenRecord,
  TokenExchangeAuditRecord,
} from '../src/storage/token-store.js';
import { T, userRecord } from './fixtures.js';
import { forEachStorage, type OpenedStore } from './storage-targets.js';

type Opened = OpenedStore;

let seq = 0;
/** A unique id of lowercase letters and hex digits (at most 24 characters for prefixes up to 8). */
const uid = (prefix = 'u') => `${prefix}${(++seq).toString(16).padStart(8, '0')}${Math.random().toString(16).slice(2, 10).padEnd(8, '0')}`;
/** A unique SHA-256 hex string (the shape of every stored token hash). */
const hex64 = () => createHash('sha256').update(uid('h')).digest('hex');
/** How many results are `true`. */
const trues = (results: readonly boolean[]) => results.filter((r) => r === true).length;
const byKey = <R>(key: (r: R) => string) => (a: R, b: R) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);

function user(overrides: Partial<UserRecord> = {}): UserRecord {
  return userRecord({ id: uid('usr'), ...overrides });
}

/** Every table of the schema except `row_counts`, children before parents (foreign keys). */
const TABLES = [
  'mfa_backup_codes',
  'mfa_factors',
  'mfa_pending_sign_ins',
  'mfa_challenges',
  'mfa_failure_counts',
  'user_identities',
  'lc_user_acl',
  'personal_access_tokens',
  'subject_tokens',
  'token_exchange_audit',
  'account_audit',
  'account_center',
  'oidc_payloads',
  'oidc_keys',
  'applications',
  'social_sessions',
  'social_token_sets',
  'connectors',
  'password_reset_tokens',
  'password_levels',
  'custom_fields',
  'captchas',
  'verifications',
  'sessions',
  'sign_in_guards',
  'users',
] as const satisfies ReadonlyArray<keyof Database>;

function storeSuite(name: string, open: () => Promise<Opened>) {
  describe(`Store conformance, other stores: ${name}`, () => {
    let opened: Opened;
    let store: KyselyStore;
    let sdk: KyselySdkStore;
    let db: Kysely<Database>;

    beforeAll(async () => {
      opened = await open();
      await migrateToLatest(opened.handle.db);
      store = new KyselyStore(opened.handle);
      sdk = new KyselySdkStore(opened.handle.db);
      db = opened.handle.db;
    });

    afterAll(async () => {
      await opened?.cleanup();
    });

    beforeEach(async () => {
      for (const table of TABLES) await db.deleteFrom(table).execute();
    });

    /** Inserts a user (foreign keys need one) and returns it. */
    async function newUser(overrides: Partial<UserRecord> = {}): Promise<UserRecord> {
      const u = user(overrides);
      await store.users.insert(u);
      return u;
    }

    // ───────────────────────────────────────────── MfaStore ─────────────────────────────────────────────

    describe('MfaStore', () => {
      const mfa = () => store.mfa;
      /** A realistic RFC 6238 time step (30 s) of T. */
      const STEP = Math.floor(T / 30_000);

      function factor(userId: string, type: MfaFactorType, overrides: Partial<MfaFactorRecord> = {}): MfaFactorRecord {
        return {
          id: uid('mf'),
          userId,
          type,
          name: null,
          secret: type === 'totp' ? 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP' : null,
          lastTotpStep: null,
          credentialId: type === 'webauthn' ? `cred-${uid('c')}` : null,
          publicKey: type === 'webauthn' ? `pQECAyYgASFYI${uid('pk')}` : null,
          counter: 0,
          transports: type === 'webauthn' ? ['usb', 'nfc'] : null,
          agent: null,
          createdAt: T,
          lastUsedAt: null,
          ...overrides,
        };
      }
      /** An argon2id PHC string (~100 characters, longer than the original varchar(64) column). */
      const codeHash = () => `$argon2id$v=19$m=19456,t=2,p=1$${uid('salt')}$${hex64().slice(0, 43)}`;
      const codes = (factorId: string, hashes: string[], usedAt: number | null = null): MfaBackupCodeRecord[] =>
        hashes.map((codeHash) => ({ factorId, codeHash, usedAt })).sort(byKey((c) => c.codeHash));
      const listCodes = async (factorId: string) => (await mfa().listBackupCodes(factorId)).sort(byKey((c) => c.codeHash));

      function pending(userId: string, overrides: Partial<MfaPendingSignInRecord> = {}): MfaPendingSignInRecord {
        return { idHash: hex64(), userId, kind: 'verify', amr: ['pwd'], attempts: 0, createdAt: T, expiresAt: T + 300_000, consumedAt: null, ...overrides };
      }
      function challenge(userId: string, overrides: Partial<MfaChallengeRecord> = {}): MfaChallengeRecord {
        return {
          id: uid('chl'),
          userId,
          kind: 'registration',
          challenge: Buffer.from(hex64(), 'hex').toString('base64url'),
          pendingIdHash: null,
          result: null,
          createdAt: T,
          expiresAt: T + 300_000,
          verifiedAt: null,
          consumedAt: null,
          ...overrides,
        };
      }
      const failureRow = (userId: string) => db.selectFrom('mfa_failure_counts').selectAll().where('user_id', '=', userId).executeTakeFirst();

      describe('factors', () => {
        it('insertFactor stores every field of each factor type as given (ms times beyond 2^31, counters beyond 2^31, nulls)', async () => {
          const u = await newUser();
          const totp = factor(u.id, 'totp', { name: 'Phone', lastTotpStep: STEP, createdAt: T, lastUsedAt: T + 1 });
          const key = factor(u.id, 'webauthn', {
            name: 'YubiKey 5 “NFC”',
            counter: 4_294_967_295,
            transports: ['usb', 'nfc', 'hybrid'],
            agent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0',
            createdAt: T + 2,
            lastUsedAt: T + 3,
          });
          const bare = factor(u.id, 'webauthn', { transports: null, createdAt: T + 4 });
          const backup = factor(u.id, 'backup_codes', { createdAt: T + 5 });
          for (const f of [totp, key, bare]) expect(await mfa().insertFactor(f)).toBe(true);
          expect(await mfa().insertFactor(backup, [codeHash()])).toBe(true);

          for (const f of [totp, key, bare, backup]) expect(await mfa().findFactor(u.id, f.id)).toStrictEqual(f);
          const found = await mfa().findFactor(u.id, key.id);
          for (const k of ['counter', 'createdAt', 'lastUsedAt'] as const) expect(typeof found?.[k], k).toBe('number');
          expect(typeof (await mfa().findFactor(u.id, totp.id))?.lastTotpStep).toBe('number');
          expect(await mfa().findFactor(u.id, 'missing')).toBeUndefined();
        });

        it('insertFactor writes the backup code hashes, unused, with the factor (argon2id PHC strings kept whole)', async () => {
          const u = await newUser();
          const hashes = [codeHash(), codeHash(), codeHash(), codeHash()];
          expect(hashes[0]!.length).toBeGreaterThan(64);
          const f = factor(u.id, 'backup_codes');
          expect(await mfa().insertFactor(f, hashes)).toBe(true);
          expect(await listCodes(f.id)).toStrictEqual(codes(f.id, hashes));

          const withoutCodes = factor(u.id, 'webauthn');
          expect(await mfa().insertFactor(withoutCodes)).toBe(true);
          expect(await mfa().listBackupCodes(withoutCodes.id)).toEqual([]);
          expect(await mfa().listBackupCodes('missing')).toEqual([]);
        });

        it('insertFactor returns false and writes nothing when the user already has a TOTP factor', async () => {
          const u = await newUser();
          const other = await newUser();
          const first = factor(u.id, 'totp', { secret: 'FIRSTSECRETFIRSTSECRET' });
          expect(await mfa().insertFactor(first)).toBe(true);
          const second = factor(u.id, 'totp', { secret: 'SECONDSECRETSECONDSECR', createdAt: T + 1 });
          expect(await mfa().insertFactor(second)).toBe(false);
          expect(await mfa().findFactor(u.id, second.id)).toBeUndefined();
          expect(await mfa().listFactors(u.id)).toStrictEqual([first]);

          // One TOTP factor per user: other users may have theirs, the user may have any number of keys.
          const theirs = factor(other.id, 'totp');
          expect(await mfa().insertFactor(theirs)).toBe(true);
          expect(await mfa().insertFactor(factor(u.id, 'webauthn', { createdAt: T + 2 }))).toBe(true);
          expect(await mfa().insertFactor(factor(u.id, 'webauthn', { createdAt: T + 3 }))).toBe(true);
          expect(await mfa().insertFactor(factor(u.id, 'backup_codes', { createdAt: T + 4 }), [codeHash()])).toBe(true);
          expect((await mfa().listFactors(u.id)).map((f) => f.type)).toEqual(['totp', 'webauthn', 'webauthn', 'backup_codes']);
          expect(await mfa().listFactors(other.id)).toStrictEqual([theirs]);
        });

        it('insertFactor returns false and writes nothing when the WebAuthn credential id is registered (to anyone)', async () => {
          const u = await newUser();
          const other = await newUser();
          const credentialId = `shared-${uid('c')}`;
          const first = factor(u.id, 'webauthn', { credentialId });
          expect(await mfa().insertFactor(first)).toBe(true);
          const again = factor(u.id, 'webauthn', { credentialId, name: 'again' });
          const stolen = factor(other.id, 'webauthn', { credentialId, name: 'stolen' });
          expect(await mfa().insertFactor(again)).toBe(false);
          expect(await mfa().insertFactor(stolen)).toBe(false);
          expect(await mfa().findFactor(u.id, again.id)).toBeUndefined();
          expect(await mfa().listFactors(other.id)).toEqual([]);
          expect(await mfa().findByCredentialId(credentialId)).toStrictEqual(first);
          // Factors without a credential id (TOTP, backup codes) never collide on it.
          expect(await mfa().insertFactor(factor(other.id, 'totp'))).toBe(true);
          expect(await mfa().insertFactor(factor(other.id, 'backup_codes'), [codeHash()])).toBe(true);
          expect(await mfa().insertFactor(factor(u.id, 'backup_codes'), [codeHash()])).toBe(true);
        });

        it('insertFactor is one transaction: when a backup code cannot be written, neither is the factor', async () => {
          const u = await newUser();
          const h = codeHash();
          const f = factor(u.id, 'backup_codes');
          // The same hash twice violates the (factor_id, code_hash) primary key on the second code row.
          const result = await mfa()
            .insertFactor(f, [codeHash(), h, h])
            .catch(() => 'rejected' as const);
          expect(result).not.toBe(true);
          expect(await mfa().findFactor(u.id, f.id)).toBeUndefined();
          expect(await mfa().listFactors(u.id)).toEqual([]);
          expect(await mfa().listBackupCodes(f.id)).toEqual([]);
        });

        it('of 20 concurrent TOTP enrolments of one user exactly one gets true', async () => {
          const u = await newUser();
          const attempts = Array.from({ length: 20 }, (_, i) => factor(u.id, 'totp', { secret: `RACESECRET${i}AAAAAAAAAA` }));
          const results = await Promise.all(attempts.map((f) => mfa().insertFactor(f)));
          expect(trues(results)).toBe(1);
          expect(results.filter((r) => r === false)).toHaveLength(19);
          const winner = attempts[results.indexOf(true)]!;
          expect(await mfa().listFactors(u.id)).toStrictEqual([winner]);
        });

        it('of 12 concurrent registrations of one credential id (by different users) exactly one gets true', async () => {
          const users: UserRecord[] = [];
          for (let i = 0; i < 12; i++) users.push(await newUser());
          const credentialId = `race-${uid('c')}`;
          const attempts = users.map((u) => factor(u.id, 'webauthn', { credentialId }));
          const results = await Promise.all(attempts.map((f) => mfa().insertFactor(f)));
          expect(trues(results)).toBe(1);
          const winner = attempts[results.indexOf(true)]!;
          expect(await mfa().findByCredentialId(credentialId)).toStrictEqual(winner);
          let total = 0;
          for (const u of users) total += (await mfa().listFactors(u.id)).length;
          expect(total).toBe(1);
        });

        it('replaceBackupCodes replaces every backup_codes factor of the user and their codes, and nothing else', async () => {
          const u = await newUser();
          const other = await newUser();
          const totp = factor(u.id, 'totp', { createdAt: T });
          const key = factor(u.id, 'webauthn', { createdAt: T + 1 });
          const old1 = factor(u.id, 'backup_codes', { createdAt: T + 2 });
          const old2 = factor(u.id, 'backup_codes', { createdAt: T + 3 });
          const old1Codes = [codeHash(), codeHash()];
          const old2Codes = [codeHash()];
          const theirs = factor(other.id, 'backup_codes');
          const theirCodes = [codeHash(), codeHash()];
          await mfa().insertFactor(totp);
          await mfa().insertFactor(key);
          await mfa().insertFactor(old1, old1Codes);
          await mfa().insertFactor(old2, old2Codes);
          await mfa().insertFactor(theirs, theirCodes);
          expect(await mfa().useBackupCode(old1.id, old1Codes[0]!, T + 5)).toBe(true);

          const fresh = factor(u.id, 'backup_codes', { createdAt: T + 10 });
          const freshCodes = [codeHash(), codeHash(), codeHash()];
          await mfa().replaceBackupCodes(fresh, freshCodes);

          for (const old of [old1, old2]) {
            expect(await mfa().findFactor(u.id, old.id)).toBeUndefined();
            expect(await mfa().listBackupCodes(old.id)).toEqual([]);
          }
          expect(await mfa().listFactors(u.id)).toStrictEqual([totp, key, fresh]);
          expect(await listCodes(fresh.id)).toStrictEqual(codes(fresh.id, freshCodes));
          expect(await mfa().listFactors(other.id)).toStrictEqual([theirs]);
          expect(await listCodes(theirs.id)).toStrictEqual(codes(theirs.id, theirCodes));

          // With no backup codes to replace it inserts; a second replacement replaces the first.
          const third = await newUser();
          const a = factor(third.id, 'backup_codes');
          await mfa().replaceBackupCodes(a, [codeHash()]);
          expect(await mfa().listFactors(third.id)).toStrictEqual([a]);
          const b = factor(third.id, 'backup_codes', { createdAt: T + 1 });
          const bCodes = [codeHash(), codeHash()];
          await mfa().replaceBackupCodes(b, bCodes);
          expect(await mfa().listFactors(third.id)).toStrictEqual([b]);
          expect(await listCodes(b.id)).toStrictEqual(codes(b.id, bCodes));
          expect(await mfa().listBackupCodes(a.id)).toEqual([]);
        });

        it('of 10 concurrent replaceBackupCodes calls for one user exactly one set survives', async () => {
          const u = await newUser();
          const sets = Array.from({ length: 10 }, (_, i) => ({ f: factor(u.id, 'backup_codes', { createdAt: T + i }), hashes: [codeHash(), codeHash()] }));
          await Promise.all(sets.map(({ f, hashes }) => mfa().replaceBackupCodes(f, hashes)));
          const left = await mfa().listFactors(u.id);
          expect(left).toHaveLength(1);
          const kept = sets.find(({ f }) => f.id === left[0]!.id)!;
          expect(await listCodes(kept.f.id)).toStrictEqual(codes(kept.f.id, kept.hashes));
        });

        it('replaceTotp inserts the TOTP factor when there is none, else replaces it under the new id', async () => {
          const u = await newUser();
          const other = await newUser();
          const first = factor(u.id, 'totp', { secret: 'FIRSTFIRSTFIRSTFIRST', lastTotpStep: STEP - 10, createdAt: T, lastUsedAt: T });
          await mfa().replaceTotp(first);
          expect(await mfa().listFactors(u.id)).toStrictEqual([first]);

          const key = factor(u.id, 'webauthn', { createdAt: T + 1 });
          const theirs = factor(other.id, 'totp');
          await mfa().insertFactor(key);
          await mfa().insertFactor(theirs);

          const second = factor(u.id, 'totp', { name: 'New phone', secret: 'SECONDSECONDSECONDSE', lastTotpStep: STEP, createdAt: T + 100, lastUsedAt: T + 100 });
          await mfa().replaceTotp(second);
          expect(await mfa().findFactor(u.id, first.id)).toBeUndefined();
          expect(await mfa().findFactor(u.id, second.id)).toStrictEqual(second);
          expect(await mfa().listFactors(u.id)).toStrictEqual([key, second]);
          expect(await mfa().listFactors(other.id)).toStrictEqual([theirs]);

          // The replacement is the user's one TOTP factor: a second one is still refused.
          expect(await mfa().insertFactor(factor(u.id, 'totp'))).toBe(false);
          // And it accepts steps from its own (null) state.
          const third = factor(u.id, 'totp', { secret: 'THIRDTHIRDTHIRDTHIRD', createdAt: T + 200 });
          await mfa().replaceTotp(third);
          expect(await mfa().findFactor(u.id, third.id)).toStrictEqual(third);
          expect(await mfa().acceptTotpStep(third.id, STEP - 100, T + 201)).toBe(true);
        });

        it('concurrent replaceTotp calls of one user leave exactly one TOTP factor, one of the candidates', async () => {
          const u = await newUser();
          await mfa().replaceTotp(factor(u.id, 'totp'));
          const candidates = Array.from({ length: 10 }, (_, i) =>
            factor(u.id, 'totp', { secret: `CANDIDATE${i}CANDIDATE`, lastTotpStep: STEP + i, createdAt: T + 10 + i, lastUsedAt: T + 10 + i }),
          );
          await Promise.all(candidates.map((c) => mfa().replaceTotp(c)));
          const factors = await mfa().listFactors(u.id);
          expect(factors).toHaveLength(1);
          expect(candidates).toContainEqual(factors[0]);
        });

        it('renameWebAuthn renames the user’s WebAuthn factor only', async () => {
          const u = await newUser();
          const other = await newUser();
          const key = factor(u.id, 'webauthn', { name: 'Old name' });
          const totp = factor(u.id, 'totp', { name: 'Authenticator' });
          await mfa().insertFactor(key);
          await mfa().insertFactor(totp);

          expect(await mfa().renameWebAuthn(u.id, key.id, 'Laptop Touch ID')).toBe(true);
          expect(await mfa().findFactor(u.id, key.id)).toStrictEqual({ ...key, name: 'Laptop Touch ID' });
          // Someone else's id, a factor of another type, a missing factor: false, nothing changed.
          expect(await mfa().renameWebAuthn(other.id, key.id, 'hijacked')).toBe(false);
          expect(await mfa().renameWebAuthn(u.id, totp.id, 'renamed')).toBe(false);
          expect(await mfa().renameWebAuthn(u.id, 'missing', 'x')).toBe(false);
          expect(await mfa().findFactor(u.id, key.id)).toStrictEqual({ ...key, name: 'Laptop Touch ID' });
          expect(await mfa().findFactor(u.id, totp.id)).toStrictEqual(totp);
        });

        it('listFactors lists the user’s factors oldest first; findFactor checks the owner; findByCredentialId finds any user’s key', async () => {
          const u = await newUser();
          const other = await newUser();
          const c = factor(u.id, 'backup_codes', { createdAt: T + 30 });
          const a = factor(u.id, 'webauthn', { createdAt: T + 10 });
          const b = factor(u.id, 'totp', { createdAt: T + 20 });
          const theirs = factor(other.id, 'webauthn', { createdAt: T + 15 });
          await mfa().insertFactor(c, [codeHash()]);
          await mfa().insertFactor(a);
          await mfa().insertFactor(b);
          await mfa().insertFactor(theirs);

          expect(await mfa().listFactors(u.id)).toStrictEqual([a, b, c]);
          expect(await mfa().listFactors(other.id)).toStrictEqual([theirs]);
          expect(await mfa().listFactors('nobody')).toEqual([]);

          expect(await mfa().findFactor(u.id, a.id)).toStrictEqual(a);
          expect(await mfa().findFactor(other.id, a.id)).toBeUndefined();
          expect(await mfa().findFactor(u.id, theirs.id)).toBeUndefined();

          expect(await mfa().findByCredentialId(a.credentialId!)).toStrictEqual(a);
          expect(await mfa().findByCredentialId(theirs.credentialId!)).toStrictEqual(theirs);
          expect(await mfa().findByCredentialId('unknown-credential')).toBeUndefined();
        });

        it('deleteFactor deletes the user’s factor and its codes only, and reports whether it did', async () => {
          const u = await newUser();
          const other = await newUser();
          const f = factor(u.id, 'backup_codes');
          const hashes = [codeHash(), codeHash()];
          const keep = factor(u.id, 'webauthn');
          const theirs = factor(other.id, 'backup_codes');
          const theirCodes = [codeHash()];
          await mfa().insertFactor(f, hashes);
          await mfa().insertFactor(keep);
          await mfa().insertFactor(theirs, theirCodes);

          // Owner checked: another user cannot delete it.
          expect(await mfa().deleteFactor(other.id, f.id)).toBe(false);
          expect(await mfa().findFactor(u.id, f.id)).toStrictEqual(f);
          expect(await listCodes(f.id)).toStrictEqual(codes(f.id, hashes));

          expect(await mfa().deleteFactor(u.id, f.id)).toBe(true);
          expect(await mfa().findFactor(u.id, f.id)).toBeUndefined();
          expect(await mfa().listBackupCodes(f.id)).toEqual([]);
          expect(await mfa().deleteFactor(u.id, f.id)).toBe(false);
          expect(await mfa().deleteFactor(u.id, 'missing')).toBe(false);

          expect(await mfa().listFactors(u.id)).toStrictEqual([keep]);
          expect(await listCodes(theirs.id)).toStrictEqual(codes(theirs.id, theirCodes));
        });
      });

      describe('TOTP steps and WebAuthn counters', () => {
        it('acceptTotpStep accepts only a step above the last accepted one and records its use', async () => {
          const u = await newUser();
          const f = factor(u.id, 'totp');
          await mfa().insertFactor(f);

          expect(await mfa().acceptTotpStep(f.id, STEP, T + 1)).toBe(true);
          expect(await mfa().findFactor(u.id, f.id)).toStrictEqual({ ...f, lastTotpStep: STEP, lastUsedAt: T + 1 });
          // The same step again (a replayed code) and an older step are refused, and change nothing.
          expect(await mfa().acceptTotpStep(f.id, STEP, T + 2)).toBe(false);
          expect(await mfa().acceptTotpStep(f.id, STEP - 1, T + 3)).toBe(false);
          expect(await mfa().findFactor(u.id, f.id)).toStrictEqual({ ...f, lastTotpStep: STEP, lastUsedAt: T + 1 });
          // The next step is accepted once.
          expect(await mfa().acceptTotpStep(f.id, STEP + 1, T + 30_000)).toBe(true);
          expect(await mfa().acceptTotpStep(f.id, STEP + 1, T + 30_001)).toBe(false);
          expect(await mfa().findFactor(u.id, f.id)).toStrictEqual({ ...f, lastTotpStep: STEP + 1, lastUsedAt: T + 30_000 });
        });

        it('acceptTotpStep refuses factors that are not TOTP, and unknown factors', async () => {
          const u = await newUser();
          const key = factor(u.id, 'webauthn');
          await mfa().insertFactor(key);
          expect(await mfa().acceptTotpStep(key.id, STEP, T)).toBe(false);
          expect(await mfa().findFactor(u.id, key.id)).toStrictEqual(key);
          expect(await mfa().acceptTotpStep('missing', STEP, T)).toBe(false);
        });

        it('of 20 concurrent uses of one TOTP step exactly one gets true', async () => {
          const u = await newUser();
          const f = factor(u.id, 'totp', { lastTotpStep: STEP - 1 });
          await mfa().insertFactor(f);
          const results = await Promise.all(Array.from({ length: 20 }, (_, i) => mfa().acceptTotpStep(f.id, STEP, T + i)));
          expect(trues(results)).toBe(1);
          const stored = await mfa().findFactor(u.id, f.id);
          expect(stored?.lastTotpStep).toBe(STEP);
          expect(stored?.lastUsedAt).toBe(T + results.indexOf(true));
        });

        it('concurrent uses of different steps never lower the last accepted step', async () => {
          const u = await newUser();
          const f = factor(u.id, 'totp');
          await mfa().insertFactor(f);
          const steps = [3, 9, 1, 7, 5, 8, 2, 6, 4, 0].map((d) => STEP + d);
          const results = await Promise.all(steps.map((s, i) => mfa().acceptTotpStep(f.id, s, T + i)));
          // Nothing is above the highest step, so its use always wins.
          expect(results[steps.indexOf(STEP + 9)]).toBe(true);
          expect((await mfa().findFactor(u.id, f.id))?.lastTotpStep).toBe(STEP + 9);
          expect(await mfa().acceptTotpStep(f.id, STEP + 9, T + 99)).toBe(false);
        });

        it('updateWebAuthnCounter sets the counter only while it is the expected one (compare-and-set)', async () => {
          const u = await newUser();
          const key = factor(u.id, 'webauthn', { counter: 41 });
          await mfa().insertFactor(key);

          expect(await mfa().updateWebAuthnCounter(key.id, 40, 50, T + 1)).toBe(false);
          expect(await mfa().findFactor(u.id, key.id)).toStrictEqual(key);
          expect(await mfa().updateWebAuthnCounter(key.id, 41, 42, T + 2)).toBe(true);
          expect(await mfa().findFactor(u.id, key.id)).toStrictEqual({ ...key, counter: 42, lastUsedAt: T + 2 });
          // The old expectation is stale now.
          expect(await mfa().updateWebAuthnCounter(key.id, 41, 43, T + 3)).toBe(false);
          // Counters are 32-bit unsigned (WebAuthn §6.1): the top of the range round-trips.
          expect(await mfa().updateWebAuthnCounter(key.id, 42, 4_294_967_295, T + 4)).toBe(true);
          expect(await mfa().findFactor(u.id, key.id)).toStrictEqual({ ...key, counter: 4_294_967_295, lastUsedAt: T + 4 });
          expect(await mfa().updateWebAuthnCounter('missing', 0, 1, T)).toBe(false);
        });

        it('of 15 concurrent counter updates from one expected value exactly one gets true', async () => {
          const u = await newUser();
          const key = factor(u.id, 'webauthn', { counter: 7 });
          await mfa().insertFactor(key);
          const results = await Promise.all(Array.from({ length: 15 }, (_, i) => mfa().updateWebAuthnCounter(key.id, 7, 8 + i, T + i)));
          expect(trues(results)).toBe(1);
          const winner = results.indexOf(true);
          const stored = await mfa().findFactor(u.id, key.id);
          expect(stored?.counter).toBe(8 + winner);
          expect(stored?.lastUsedAt).toBe(T + winner);
        });
      });

      describe('backup codes', () => {
        it('useBackupCode uses an unused code of that factor once, and records the use on the factor', async () => {
          const u = await newUser();
          const f = factor(u.id, 'backup_codes');
          const other = factor(u.id, 'webauthn');
          const [h1, h2, h3] = [codeHash(), codeHash(), codeHash()];
          await mfa().insertFactor(f, [h1!, h2!, h3!]);
          await mfa().insertFactor(other);

          expect(await mfa().useBackupCode(f.id, h2!, T + 10)).toBe(true);
          expect(await mfa().useBackupCode(f.id, h2!, T + 20)).toBe(false);
          expect(await listCodes(f.id)).toStrictEqual(
            [...codes(f.id, [h1!, h3!]), { factorId: f.id, codeHash: h2!, usedAt: T + 10 }].sort(byKey((c) => c.codeHash)),
          );
          expect((await mfa().findFactor(u.id, f.id))?.lastUsedAt).toBe(T + 10);

          // A code of another factor, an unknown code, an unknown factor: false, nothing changed.
          expect(await mfa().useBackupCode(other.id, h1!, T + 30)).toBe(false);
          expect(await mfa().useBackupCode(f.id, codeHash(), T + 30)).toBe(false);
          expect(await mfa().useBackupCode('missing', h1!, T + 30)).toBe(false);
          expect((await mfa().findFactor(u.id, f.id))?.lastUsedAt).toBe(T + 10);
          expect((await mfa().findFactor(u.id, other.id))?.lastUsedAt).toBeNull();

          expect(await mfa().useBackupCode(f.id, h1!, T + 40)).toBe(true);
          expect((await mfa().findFactor(u.id, f.id))?.lastUsedAt).toBe(T + 40);
        });

        it('of 20 concurrent uses of one backup code exactly one gets true', async () => {
          const u = await newUser();
          const f = factor(u.id, 'backup_codes');
          const h = codeHash();
          await mfa().insertFactor(f, [h, codeHash()]);
          const results = await Promise.all(Array.from({ length: 20 }, (_, i) => mfa().useBackupCode(f.id, h, T + i)));
          expect(trues(results)).toBe(1);
          const used = (await mfa().listBackupCodes(f.id)).find((c) => c.codeHash === h);
          expect(used?.usedAt).toBe(T + results.indexOf(true));
          expect((await mfa().listBackupCodes(f.id)).filter((c) => c.usedAt === null)).toHaveLength(1);
        });
      });

      describe('pending sign-ins', () => {
        it('insertPending and findPending round-trip every field', async () => {
          const u = await newUser();
          const p = pending(u.id, { kind: 'enroll', amr: ['pwd', 'sms'], attempts: 2, createdAt: T, expiresAt: T + 300_000 });
          const q = pending(u.id, { amr: [], consumedAt: T + 5 });
          await mfa().insertPending(p);
          await mfa().insertPending(q);
          expect(await mfa().findPending(p.idHash)).toStrictEqual(p);
          expect(await mfa().findPending(q.idHash)).toStrictEqual(q);
          expect(await mfa().findPending(hex64())).toBeUndefined();
        });

        it('reservePendingAttempt counts attempts up to maxAttempts, then returns false and changes nothing', async () => {
          const u = await newUser();
          const p = pending(u.id);
          await mfa().insertPending(p);
          for (let n = 1; n <= 3; n++) {
            expect(await mfa().reservePendingAttempt(p.idHash, T + n, 3)).toBe(true);
            expect((await mfa().findPending(p.idHash))?.attempts).toBe(n);
          }
          expect(await mfa().reservePendingAttempt(p.idHash, T + 4, 3)).toBe(false);
          expect(await mfa().findPending(p.idHash)).toStrictEqual({ ...p, attempts: 3 });
          // A higher limit leaves room again.
          expect(await mfa().reservePendingAttempt(p.idHash, T + 5, 4)).toBe(true);
          expect((await mfa().findPending(p.idHash))?.attempts).toBe(4);
          expect(await mfa().reservePendingAttempt(hex64(), T, 5)).toBe(false);
        });

        it('reservePendingAttempt refuses consumed pending sign-ins and expired ones (dead at expiresAt)', async () => {
          const u = await newUser();
          const consumed = pending(u.id, { consumedAt: T + 1 });
          const p = pending(u.id, { expiresAt: T + 1000 });
          await mfa().insertPending(consumed);
          await mfa().insertPending(p);
          expect(await mfa().reservePendingAttempt(consumed.idHash, T + 2, 5)).toBe(false);
          expect(await mfa().findPending(consumed.idHash)).toStrictEqual(consumed);

          expect(await mfa().reservePendingAttempt(p.idHash, T + 1000, 5)).toBe(false);
          expect(await mfa().reservePendingAttempt(p.idHash, T + 1001, 5)).toBe(false);
          expect((await mfa().findPending(p.idHash))?.attempts).toBe(0);
          expect(await mfa().reservePendingAttempt(p.idHash, T + 999, 5)).toBe(true);
          expect((await mfa().findPending(p.idHash))?.attempts).toBe(1);
        });

        it('of 12 concurrent reservations with 3 attempts left exactly 3 get true', async () => {
          const u = await newUser();
          const p = pending(u.id, { attempts: 2 });
          await mfa().insertPending(p);
          const results = await Promise.all(Array.from({ length: 12 }, () => mfa().reservePendingAttempt(p.idHash, T + 1, 5)));
          expect(trues(results)).toBe(3);
          expect((await mfa().findPending(p.idHash))?.attempts).toBe(5);
        });

        it('consumePending succeeds once, while unexpired, and keeps the first time', async () => {
          const u = await newUser();
          const p = pending(u.id, { expiresAt: T + 1000 });
          const late = pending(u.id, { expiresAt: T + 1000 });
          await mfa().insertPending(p);
          await mfa().insertPending(late);

          expect(await mfa().consumePending(p.idHash, T + 999)).toBe(true);
          expect(await mfa().consumePending(p.idHash, T + 999)).toBe(false);
          expect(await mfa().findPending(p.idHash)).toStrictEqual({ ...p, consumedAt: T + 999 });
          // Consumed: no more attempts either.
          expect(await mfa().reservePendingAttempt(p.idHash, T + 999, 5)).toBe(false);

          expect(await mfa().consumePending(late.idHash, T + 1000)).toBe(false);
          expect(await mfa().findPending(late.idHash)).toStrictEqual(late);
          expect(await mfa().consumePending(hex64(), T)).toBe(false);
        });

        it('of 20 concurrent consumePending calls exactly one gets true', async () => {
          const u = await newUser();
          const p = pending(u.id);
          await mfa().insertPending(p);
          const results = await Promise.all(Array.from({ length: 20 }, (_, i) => mfa().consumePending(p.idHash, T + i)));
          expect(trues(results)).toBe(1);
          expect((await mfa().findPending(p.idHash))?.consumedAt).toBe(T + results.indexOf(true));
        });
      });

      describe('consecutive second-factor failures', () => {
        it('reserveFailure counts up to max per user, then returns false and changes nothing', async () => {
          const u = await newUser();
          const other = await newUser();
          for (let n = 1; n <= 3; n++) expect(await mfa().reserveFailure(u.id, 3, T + n)).toBe(true);
          expect(await failureRow(u.id)).toMatchObject({ failures: 3 });
          expect(Number((await failureRow(u.id))?.updated_at)).toBe(T + 3);

          expect(await mfa().reserveFailure(u.id, 3, T + 10)).toBe(false);
          expect(await mfa().reserveFailure(u.id, 3, T + 11)).toBe(false);
          const locked = await failureRow(u.id);
          expect(Number(locked?.failures)).toBe(3);
          expect(Number(locked?.updated_at)).toBe(T + 3);

          // Another user's counter is separate.
          expect(await mfa().reserveFailure(other.id, 3, T)).toBe(true);
          expect(Number((await failureRow(other.id))?.failures)).toBe(1);
          // A higher max leaves room again.
          expect(await mfa().reserveFailure(u.id, 4, T + 12)).toBe(true);
          expect(await mfa().reserveFailure(u.id, 4, T + 13)).toBe(false);
        });

        it('resetFailures sets the count back to 0; clearFailures forgets it; both touch only that user', async () => {
          const u = await newUser();
          const other = await newUser();
          for (let i = 0; i < 2; i++) {
            await mfa().reserveFailure(u.id, 2, T);
            await mfa().reserveFailure(other.id, 2, T);
          }
          expect(await mfa().reserveFailure(u.id, 2, T)).toBe(false);

          await mfa().resetFailures(u.id, T + 50);
          const reset = await failureRow(u.id);
          expect(Number(reset?.failures)).toBe(0);
          expect(Number(reset?.updated_at)).toBe(T + 50);
          expect(await mfa().reserveFailure(u.id, 2, T + 51)).toBe(true);
          expect(await mfa().reserveFailure(u.id, 2, T + 52)).toBe(true);
          expect(await mfa().reserveFailure(u.id, 2, T + 53)).toBe(false);
          expect(await mfa().reserveFailure(other.id, 2, T + 53)).toBe(false);

          await mfa().clearFailures(u.id);
          expect(await failureRow(u.id)).toBeUndefined();
          expect(Number((await failureRow(other.id))?.failures)).toBe(2);
          expect(await mfa().reserveFailure(u.id, 2, T + 60)).toBe(true);
          expect(Number((await failureRow(u.id))?.failures)).toBe(1);

          // No counter yet: nothing to reset or clear, and no error.
          const fresh = await newUser();
          await mfa().resetFailures(fresh.id, T);
          await mfa().clearFailures(fresh.id);
          expect(await mfa().reserveFailure(fresh.id, 1, T)).toBe(true);
          expect(await mfa().reserveFailure(fresh.id, 1, T)).toBe(false);
        });

        it('of 20 concurrent reservations of a fresh user with max 5 exactly 5 get true', async () => {
          const u = await newUser();
          const results = await Promise.all(Array.from({ length: 20 }, (_, i) => mfa().reserveFailure(u.id, 5, T + i)));
          expect(trues(results)).toBe(5);
          expect(Number((await failureRow(u.id))?.failures)).toBe(5);
        });
      });

      describe('WebAuthn challenges', () => {
        it('insertChallenge and findChallenge round-trip every field', async () => {
          const u = await newUser();
          const reg = challenge(u.id, { result: null });
          const auth = challenge(u.id, { kind: 'authentication', pendingIdHash: hex64(), verifiedAt: T + 1, consumedAt: T + 2, result: '{"x":1}' });
          await mfa().insertChallenge(reg);
          await mfa().insertChallenge(auth);
          expect(await mfa().findChallenge(reg.id)).toStrictEqual(reg);
          expect(await mfa().findChallenge(auth.id)).toStrictEqual(auth);
          expect(await mfa().findChallenge('missing')).toBeUndefined();
        });

        it('markChallengeVerified records the result once, only while unverified and unconsumed', async () => {
          const u = await newUser();
          const c = challenge(u.id);
          const consumed = challenge(u.id, { consumedAt: T + 1 });
          await mfa().insertChallenge(c);
          await mfa().insertChallenge(consumed);
          const result = JSON.stringify({ credentialId: 'abc', publicKey: 'pk', counter: 0, transports: ['usb'] });

          expect(await mfa().markChallengeVerified(c.id, result, T + 5)).toBe(true);
          expect(await mfa().findChallenge(c.id)).toStrictEqual({ ...c, result, verifiedAt: T + 5 });
          expect(await mfa().markChallengeVerified(c.id, '{"other":true}', T + 6)).toBe(false);
          expect(await mfa().findChallenge(c.id)).toStrictEqual({ ...c, result, verifiedAt: T + 5 });

          expect(await mfa().markChallengeVerified(consumed.id, result, T + 7)).toBe(false);
          expect(await mfa().findChallenge(consumed.id)).toStrictEqual(consumed);
          expect(await mfa().markChallengeVerified('missing', result, T)).toBe(false);
        });

        it('consumeChallenge succeeds once and keeps the first time; a verified challenge can no longer be verified once consumed', async () => {
          const u = await newUser();
          const c = challenge(u.id);
          await mfa().insertChallenge(c);
          expect(await mfa().consumeChallenge(c.id, T + 10)).toBe(true);
          expect(await mfa().consumeChallenge(c.id, T + 20)).toBe(false);
          expect(await mfa().findChallenge(c.id)).toStrictEqual({ ...c, consumedAt: T + 10 });
          expect(await mfa().markChallengeVerified(c.id, '{}', T + 30)).toBe(false);
          expect(await mfa().consumeChallenge('missing', T)).toBe(false);
        });

        it('of 20 concurrent consumeChallenge calls exactly one gets true', async () => {
          const u = await newUser();
          const c = challenge(u.id, { kind: 'authentication', pendingIdHash: hex64() });
          await mfa().insertChallenge(c);
          const results = await Promise.all(Array.from({ length: 20 }, (_, i) => mfa().consumeChallenge(c.id, T + i)));
          expect(trues(results)).toBe(1);
          expect((await mfa().findChallenge(c.id))?.consumedAt).toBe(T + results.indexOf(true));
        });

        it('of 10 concurrent markChallengeVerified calls exactly one gets true and its result stays', async () => {
          const u = await newUser();
          const c = challenge(u.id);
          await mfa().insertChallenge(c);
          const results = await Promise.all(Array.from({ length: 10 }, (_, i) => mfa().markChallengeVerified(c.id, `{"n":${i}}`, T + i)));
          expect(trues(results)).toBe(1);
          const winner = results.indexOf(true);
          expect(await mfa().findChallenge(c.id)).toStrictEqual({ ...c, result: `{"n":${winner}}`, verifiedAt: T + winner });
        });

        it('deleteChallenge deletes one challenge (and a missing one without error)', async () => {
          const u = await newUser();
          const c = challenge(u.id);
          const keep = challenge(u.id);
          await mfa().insertChallenge(c);
          await mfa().insertChallenge(keep);
          await mfa().deleteChallenge(c.id);
          expect(await mfa().findChallenge(c.id)).toBeUndefined();
          expect(await mfa().findChallenge(keep.id)).toStrictEqual(keep);
          await mfa().deleteChallenge(c.id);
          await mfa().deleteChallenge('missing');
          expect(await mfa().findChallenge(keep.id)).toStrictEqual(keep);
        });
      });

      it('deleteExpired deletes pending sign-ins and challenges expired at or before now (used or not), and counts them', async () => {
        const u = await newUser();
        const now = T + 1_000_000;
        const pPast = pending(u.id, { expiresAt: now - 1 });
        const pEdge = pending(u.id, { expiresAt: now });
        const pLive = pending(u.id, { expiresAt: now + 1 });
        const pConsumedLive = pending(u.id, { expiresAt: now + 1, consumedAt: now - 10 });
        const cPast = challenge(u.id, { expiresAt: now - 100, consumedAt: now - 200 });
        const cEdge = challenge(u.id, { expiresAt: now });
        const cLive = challenge(u.id, { expiresAt: now + 1 });
        for (const p of [pPast, pEdge, pLive, pConsumedLive]) await mfa().insertPending(p);
        for (const c of [cPast, cEdge, cLive]) await mfa().insertChallenge(c);
        // Factors are not expiring records.
        const f = factor(u.id, 'totp', { createdAt: now - 10 * 365 * 86_400_000 });
        await mfa().insertFactor(f);

        expect(await mfa().deleteExpired(now)).toBe(4);
        for (const p of [pPast, pEdge]) expect(await mfa().findPending(p.idHash)).toBeUndefined();
        for (const c of [cPast, cEdge]) expect(await mfa().findChallenge(c.id)).toBeUndefined();
        expect(await mfa().findPending(pLive.idHash)).toStrictEqual(pLive);
        expect(await mfa().findPending(pConsumedLive.idHash)).toStrictEqual(pConsumedLive);
        expect(await mfa().findChallenge(cLive.id)).toStrictEqual(cLive);
        expect(await mfa().findFactor(u.id, f.id)).toStrictEqual(f);
        expect(await mfa().deleteExpired(now)).toBe(0);
        expect(await mfa().deleteExpired(now + 1)).toBe(3);
      });

      it('deleting a user deletes their factors, codes, pending sign-ins, challenges and failure counter, and nobody else’s', async () => {
        const u = await newUser();
        const other = await newUser();
        const mk = async (owner: UserRecord) => {
          const totp = factor(owner.id, 'totp', { createdAt: T });
          const key = factor(owner.id, 'webauthn', { createdAt: T + 1 });
          const backup = factor(owner.id, 'backup_codes', { createdAt: T + 2 });
          const hashes = [codeHash(), codeHash()];
          const p = pending(owner.id);
          const c = challenge(owner.id);
          await mfa().insertFactor(totp);
          await mfa().insertFactor(key);
          await mfa().insertFactor(backup, hashes);
          await mfa().insertPending(p);
          await mfa().insertChallenge(c);
          await mfa().reserveFailure(owner.id, 10, T);
          return { totp, key, backup, hashes, p, c };
        };
        const mine = await mk(u);
        const theirs = await mk(other);

        expect(await store.users.delete(u.id)).toBe(true);
        expect(await mfa().listFactors(u.id)).toEqual([]);
        expect(await mfa().findByCredentialId(mine.key.credentialId!)).toBeUndefined();
        expect(await mfa().listBackupCodes(mine.backup.id)).toEqual([]);
        expect(await mfa().findPending(mine.p.idHash)).toBeUndefined();
        expect(await mfa().findChallenge(mine.c.id)).toBeUndefined();
        expect(await failureRow(u.id)).toBeUndefined();

        expect(await mfa().listFactors(other.id)).toStrictEqual([theirs.totp, theirs.key, theirs.backup]);
        expect(await listCodes(theirs.backup.id)).toStrictEqual(codes(theirs.backup.id, theirs.hashes));
        expect(await mfa().findPending(theirs.p.idHash)).toStrictEqual(theirs.p);
        expect(await mfa().findChallenge(theirs.c.id)).toStrictEqual(theirs.c);
        expect(Number((await failureRow(other.id))?.failures)).toBe(1);
      });
    });

    // ─────────────────────────────────────────── IdentityStore ──────────────────────────────────────────

    describe('IdentityStore', () => {
      const ids = () => store.identities;
      function identity(userId: string, provider: string, overrides: Partial<IdentityRecord> = {}): IdentityRecord {
        return { userId, provider, subject: uid('sub'), data: {}, createdAt: T, updatedAt: T, ...overrides };
      }
      const stored = (r: IdentityRecord) => ({ ...r, verified: r.verified === true || r.imported === true, imported: r.imported === true });

      it('upsert inserts; findBySubject returns every field (verified and imported default to false)', async () => {
        const u = await newUser();
        const data = { openid: 'o-123', unionid: 'u-9', access_token: 'tok', expires_in: 7200, nested: { a: [1, 'b', null] }, flag: true };
        const r = identity(u.id, 'weixin', { subject: 'o-123', data, createdAt: T, updatedAt: T + 1 });
        await ids().upsert(r);
        const found = await ids().findBySubject('weixin', 'o-123');
        expect(found).toStrictEqual({ ...r, verified: false, imported: false });
        expect(typeof found?.createdAt).toBe('number');
        expect(await ids().findBySubject('weixin', 'o-124')).toBeUndefined();
        expect(await ids().findBySubject('qq', 'o-123')).toBeUndefined();
      });

      it('stores the verified and imported marks (imported implies verified) and replaces them on upsert', async () => {
        const u = await newUser();
        const claimed = identity(u.id, 'anonymous');
        const proven = identity(u.id, 'google', { verified: true });
        const imported = identity(u.id, 'github', { imported: true });
        for (const r of [claimed, proven, imported]) await ids().upsert(r);
        expect(await ids().findBySubject('anonymous', claimed.subject)).toStrictEqual(stored(claimed));
        expect(await ids().findBySubject('google', proven.subject)).toStrictEqual({ ...proven, verified: true, imported: false });
        expect(await ids().findBySubject('github', imported.subject)).toStrictEqual({ ...imported, verified: true, imported: true });

        // The flags are replaced with the row: a client-supplied write clears them.
        await ids().upsert({ ...imported, verified: false, imported: false, updatedAt: T + 5 });
        expect(await ids().findBySubject('github', imported.subject)).toStrictEqual({ ...imported, verified: false, imported: false, updatedAt: T + 5 });
        await ids().upsert({ ...claimed, verified: true, updatedAt: T + 6 });
        expect((await ids().findBySubject('anonymous', claimed.subject))?.verified).toBe(true);
      });

      it('upsert of an existing provider replaces subject, data and updatedAt, and keeps createdAt', async () => {
        const u = await newUser();
        const first = identity(u.id, 'google', { subject: 'g-old', data: { email: 'old@example.com' }, createdAt: T, updatedAt: T });
        await ids().upsert(first);
        await ids().upsert(identity(u.id, 'google', { subject: 'g-new', data: { email: 'new@example.com' }, createdAt: T + 500, updatedAt: T + 500 }));
        expect(await ids().findBySubject('google', 'g-old')).toBeUndefined();
        expect(await ids().findBySubject('google', 'g-new')).toStrictEqual({
          ...first,
          subject: 'g-new',
          data: { email: 'new@example.com' },
          verified: false,
          imported: false,
          updatedAt: T + 500,
        });
        expect(await ids().listByUser(u.id)).toHaveLength(1);
      });

      it('upsert throws IdentityConflict and writes nothing when another user has the external account', async () => {
        const owner = await newUser();
        const other = await newUser();
        const taken = identity(owner.id, 'google', { subject: 'g-taken', data: { who: 'owner' } });
        await ids().upsert(taken);

        // A new identity of the other user…
        const err = await ids()
          .upsert(identity(other.id, 'google', { subject: 'g-taken', data: { who: 'other' } }))
          .then(() => undefined, (e: unknown) => e);
        expect(err).toBeInstanceOf(IdentityConflict);
        expect((err as IdentityConflict).provider).toBe('google');
        expect(await ids().listByUser(other.id)).toEqual([]);

        // …or a change of the other user's existing identity to it.
        const mine = identity(other.id, 'google', { subject: 'g-mine' });
        await ids().upsert(mine);
        await expect(ids().upsert({ ...mine, subject: 'g-taken', data: { changed: true }, updatedAt: T + 9 })).rejects.toBeInstanceOf(IdentityConflict);
        expect(await ids().listByUser(other.id)).toStrictEqual([stored(mine)]);
        expect(await ids().findBySubject('google', 'g-taken')).toStrictEqual(stored(taken));

        // The same subject at another provider is another account.
        await ids().upsert(identity(other.id, 'github', { subject: 'g-taken' }));
        expect((await ids().findBySubject('github', 'g-taken'))?.userId).toBe(other.id);
      });

      it('listByUser lists one user’s identities by provider name; listByUsers those of many users', async () => {
        const u = await newUser();
        const v = await newUser();
        const w = await newUser();
        const uw = identity(u.id, 'weixin');
        const ua = identity(u.id, 'apple');
        const ug = identity(u.id, 'google');
        const vg = identity(v.id, 'google');
        for (const r of [uw, ua, ug, vg]) await ids().upsert(r);
        expect(await ids().listByUser(u.id)).toStrictEqual([ua, ug, uw].map(stored));
        expect(await ids().listByUser(w.id)).toEqual([]);

        const sort = (rs: IdentityRecord[]) => [...rs].sort(byKey((r) => `${r.userId}/${r.provider}`));
        expect(sort(await ids().listByUsers([u.id, v.id, w.id]))).toStrictEqual(sort([uw, ua, ug, vg].map(stored)));
        expect(await ids().listByUsers([v.id])).toStrictEqual([stored(vg)]);
        expect(await ids().listByUsers([])).toEqual([]);
        // Long id lists (beyond one bounded IN list) find users anywhere in the list.
        const many = Array.from({ length: 1_100 }, (_, i) => `absent${i}`);
        many[3] = v.id;
        many[1_050] = u.id;
        expect(sort(await ids().listByUsers(many))).toStrictEqual(sort([uw, ua, ug, vg].map(stored)));
      });

      it('delete removes the user’s identity of one provider and reports whether it did', async () => {
        const u = await newUser();
        const v = await newUser();
        const ug = identity(u.id, 'google');
        const ua = identity(u.id, 'apple');
        const vg = identity(v.id, 'google');
        for (const r of [ug, ua, vg]) await ids().upsert(r);
        expect(await ids().delete(u.id, 'google')).toBe(true);
        expect(await ids().findBySubject('google', ug.subject)).toBeUndefined();
        expect(await ids().delete(u.id, 'google')).toBe(false);
        expect(await ids().delete(u.id, 'weixin')).toBe(false);
        expect(await ids().listByUser(u.id)).toStrictEqual([stored(ua)]);
        expect(await ids().listByUser(v.id)).toStrictEqual([stored(vg)]);
        // The account is free again.
        await ids().upsert(identity(v.id, 'google', { subject: ug.subject }));
        expect((await ids().findBySubject('google', ug.subject))?.userId).toBe(v.id);
      });

      it('of 10 users claiming one external account at once exactly one gets it; the others get IdentityConflict', async () => {
        const users: UserRecord[] = [];
        for (let i = 0; i < 10; i++) users.push(await newUser());
        const subject = uid('race');
        const results = await Promise.allSettled(users.map((u) => ids().upsert(identity(u.id, 'google', { subject }))));
        const ok = results.filter((r) => r.status === 'fulfilled');
        const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        expect(ok).toHaveLength(1);
        for (const f of failed) expect(f.reason).toBeInstanceOf(IdentityConflict);
        const winner = users[results.findIndex((r) => r.status === 'fulfilled')]!;
        expect((await ids().findBySubject('google', subject))?.userId).toBe(winner.id);
        expect(await ids().listByUsers(users.map((u) => u.id))).toHaveLength(1);
      });

      it('concurrent upserts of one user and provider all succeed and leave one identity', async () => {
        const u = await newUser();
        const subjects = Array.from({ length: 10 }, (_, i) => `s${i}-${uid()}`);
        await Promise.all(subjects.map((subject, i) => ids().upsert(identity(u.id, 'github', { subject, updatedAt: T + i }))));
        const rows = await ids().listByUser(u.id);
        expect(rows).toHaveLength(1);
        expect(subjects).toContain(rows[0]!.subject);
      });

      it('deleting a user deletes their identities only', async () => {
        const u = await newUser();
        const v = await newUser();
        const mine = [identity(u.id, 'google'), identity(u.id, 'github')];
        const theirs = identity(v.id, 'google');
        for (const r of [...mine, theirs]) await ids().upsert(r);
        expect(await store.users.delete(u.id)).toBe(true);
        for (const r of mine) expect(await ids().findBySubject(r.provider, r.subject)).toBeUndefined();
        expect(await ids().listByUser(u.id)).toEqual([]);
        expect(await ids().findBySubject('google', theirs.subject)).toStrictEqual(stored(theirs));
      });
    });

    // ──────────────────────────────────────────── token stores ───────────────────────────────────────────

    describe('PersonalAccessTokenStore', () => {
      const pats = () => store.personalAccessTokens;
      function pat(userId: string, overrides: Partial<PersonalAccessTokenRecord> = {}): PersonalAccessTokenRecord {
        return { id: uid('pat'), userId, name: `token ${uid()}`, tokenHash: hex64(), createdAt: T, expiresAt: null, ...overrides };
      }

      it('inserts; findByHash returns every field; listByUser lists one user’s tokens oldest first', async () => {
        const u = await newUser();
        const v = await newUser();
        const b = pat(u.id, { name: 'CI “deploy” ✓', createdAt: T + 20, expiresAt: T + 86_400_000 });
        const a = pat(u.id, { name: 'laptop', createdAt: T + 10, expiresAt: null });
        const theirs = pat(v.id, { name: 'laptop' });
        for (const r of [b, a, theirs]) expect(await pats().insert(r)).toBe('inserted');
        expect(await pats().findByHash(b.tokenHash)).toStrictEqual(b);
        expect(await pats().findByHash(a.tokenHash)).toStrictEqual(a);
        expect(typeof (await pats().findByHash(b.tokenHash))?.expiresAt).toBe('number');
        expect(await pats().findByHash(hex64())).toBeUndefined();
        expect(await pats().listByUser(u.id)).toStrictEqual([a, b]);
        expect(await pats().listByUser(v.id)).toStrictEqual([theirs]);
        expect(await pats().listByUser('nobody')).toEqual([]);
      });

      it('insert returns name_taken (nothing written) when the user has a token of that name', async () => {
        const u = await newUser();
        const first = pat(u.id, { name: 'build' });
        expect(await pats().insert(first)).toBe('inserted');
        const dup = pat(u.id, { name: 'build' });
        expect(await pats().insert(dup)).toBe('name_taken');
        expect(await pats().findByHash(dup.tokenHash)).toBeUndefined();
        expect(await pats().listByUser(u.id)).toStrictEqual([first]);
      });

      it('insert returns no_user (nothing written) when the user does not exist', async () => {
        const r = pat('no-such-user');
        expect(await pats().insert(r)).toBe('no_user');
        expect(await pats().findByHash(r.tokenHash)).toBeUndefined();
        // …including a user deleted just before.
        const gone = await newUser();
        await store.users.delete(gone.id);
        expect(await pats().insert(pat(gone.id))).toBe('no_user');
      });

      it('of 15 concurrent inserts of one name exactly one is inserted; the others get name_taken', async () => {
        const u = await newUser();
        const attempts = Array.from({ length: 15 }, () => pat(u.id, { name: 'race' }));
        const results = await Promise.all(attempts.map((r) => pats().insert(r)));
        expect(results.filter((r) => r === 'inserted')).toHaveLength(1);
        expect(results.filter((r) => r === 'name_taken')).toHaveLength(14);
        expect(await pats().listByUser(u.id)).toStrictEqual([attempts[results.indexOf('inserted')]]);
      });

      it('delete removes the user’s token of that name only and reports whether it did', async () => {
        const u = await newUser();
        const v = await newUser();
        const mine = pat(u.id, { name: 'shared-name' });
        const keep = pat(u.id, { name: 'keep' });
        const theirs = pat(v.id, { name: 'shared-name' });
        for (const r of [mine, keep, theirs]) await pats().insert(r);
        expect(await pats().delete(u.id, 'shared-name')).toBe(true);
        expect(await pats().findByHash(mine.tokenHash)).toBeUndefined();
        expect(await pats().delete(u.id, 'shared-name')).toBe(false);
        expect(await pats().delete(u.id, 'never')).toBe(false);
        expect(await pats().listByUser(u.id)).toStrictEqual([keep]);
        expect(await pats().findByHash(theirs.tokenHash)).toStrictEqual(theirs);
        // The name is free again.
        expect(await pats().insert(pat(u.id, { name: 'shared-name' }))).toBe('inserted');
      });

      it('rename changes only the name of the user’s token; a taken or missing name changes nothing', async () => {
        const u = await newUser();
        const v = await newUser();
        const a = pat(u.id, { name: 'laptop', expiresAt: T + 1000 });
        const b = pat(u.id, { name: 'ci' });
        const theirs = pat(v.id, { name: 'laptop' });
        for (const r of [a, b, theirs]) await pats().insert(r);
        expect(await pats().rename(u.id, 'laptop', 'work laptop ✓')).toStrictEqual({ ...a, name: 'work laptop ✓' });
        expect(await pats().findByHash(a.tokenHash)).toStrictEqual({ ...a, name: 'work laptop ✓' });
        expect(await pats().rename(u.id, 'ci', 'work laptop ✓')).toBe('name_taken');
        expect(await pats().findByHash(b.tokenHash)).toStrictEqual(b);
        expect(await pats().rename(u.id, 'laptop', 'x')).toBe('not_found');
        expect(await pats().rename(v.id, 'ci', 'x')).toBe('not_found');
        expect(await pats().findByHash(theirs.tokenHash)).toStrictEqual(theirs);
        // Of concurrent renames of two tokens to one new name, exactly one wins.
        const c = pat(u.id, { name: 'c' });
        await pats().insert(c);
        const results = await Promise.all([pats().rename(u.id, 'ci', 'same'), pats().rename(u.id, 'c', 'same')]);
        expect(results.filter((r) => r === 'name_taken')).toHaveLength(1);
        expect((await pats().listByUser(u.id)).filter((r) => r.name === 'same')).toHaveLength(1);
      });

      it('deleting a user deletes their tokens only', async () => {
        const u = await newUser();
        const v = await newUser();
        const mine = [pat(u.id), pat(u.id)];
        const theirs = pat(v.id);
        for (const r of [...mine, theirs]) await pats().insert(r);
        await store.users.delete(u.id);
        for (const r of mine) expect(await pats().findByHash(r.tokenHash)).toBeUndefined();
        expect(await pats().findByHash(theirs.tokenHash)).toStrictEqual(theirs);
      });
    });

    describe('SubjectTokenStore', () => {
      const subs = () => store.subjectTokens;
      function sub(userId: string, overrides: Partial<SubjectTokenRecord> = {}): SubjectTokenRecord {
        return {
          id: uid('st'),
          userId,
          tokenHash: hex64(),
          context: {},
          creatorApplicationId: 'm2m-app',
          createdAt: T,
          expiresAt: T + 600_000,
          consumedAt: null,
          ...overrides,
        };
      }

      it('inserts; findByHash returns every field (context JSON round-trips)', async () => {
        const u = await newUser();
        const r = sub(u.id, { context: { reason: 'support ticket', ticket: 4711, tags: ['a', 'ü'], nested: { ok: true, none: null } }, consumedAt: T + 3 });
        const bare = sub(u.id);
        await subs().insert(r);
        await subs().insert(bare);
        expect(await subs().findByHash(r.tokenHash)).toStrictEqual(r);
        expect(await subs().findByHash(bare.tokenHash)).toStrictEqual(bare);
        expect(await subs().findByHash(hex64())).toBeUndefined();
      });

      it('consume succeeds once, only before expiry (dead at expiresAt), and keeps the first time', async () => {
        const u = await newUser();
        const r = sub(u.id, { expiresAt: T + 1000 });
        const late = sub(u.id, { expiresAt: T + 1000 });
        await subs().insert(r);
        await subs().insert(late);
        expect(await subs().consume(r.id, T + 999)).toBe(true);
        expect(await subs().consume(r.id, T + 999)).toBe(false);
        expect(await subs().findByHash(r.tokenHash)).toStrictEqual({ ...r, consumedAt: T + 999 });
        expect(await subs().consume(late.id, T + 1000)).toBe(false);
        expect(await subs().findByHash(late.tokenHash)).toStrictEqual(late);
        expect(await subs().consume('missing', T)).toBe(false);
      });

      it('of 20 concurrent consume calls exactly one gets true', async () => {
        const u = await newUser();
        const r = sub(u.id);
        await subs().insert(r);
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => subs().consume(r.id, T + i)));
        expect(trues(results)).toBe(1);
        expect((await subs().findByHash(r.tokenHash))?.consumedAt).toBe(T + results.indexOf(true));
      });

      it('deleteUnconsumedByUser deletes the user’s unused tokens only, and counts them', async () => {
        const u = await newUser();
        const v = await newUser();
        const unused = [sub(u.id), sub(u.id, { expiresAt: T - 1 })];
        const used = sub(u.id, { consumedAt: T + 1 });
        const theirs = sub(v.id);
        for (const r of [...unused, used, theirs]) await subs().insert(r);
        expect(await subs().deleteUnconsumedByUser(u.id)).toBe(2);
        for (const r of unused) expect(await subs().findByHash(r.tokenHash)).toBeUndefined();
        expect(await subs().findByHash(used.tokenHash)).toStrictEqual(used);
        expect(await subs().findByHash(theirs.tokenHash)).toStrictEqual(theirs);
        expect(await subs().deleteUnconsumedByUser(u.id)).toBe(0);
      });

      it('deleteExpired deletes tokens expired at or before now (used or not), and counts them', async () => {
        const u = await newUser();
        const now = T + 1_000_000;
        const past = sub(u.id, { expiresAt: now - 1 });
        const edge = sub(u.id, { expiresAt: now });
        const pastUsed = sub(u.id, { expiresAt: now - 5, consumedAt: now - 6 });
        const live = sub(u.id, { expiresAt: now + 1 });
        for (const r of [past, edge, pastUsed, live]) await subs().insert(r);
        expect(await subs().deleteExpired(now)).toBe(3);
        for (const r of [past, edge, pastUsed]) expect(await subs().findByHash(r.tokenHash)).toBeUndefined();
        expect(await subs().findByHash(live.tokenHash)).toStrictEqual(live);
        expect(await subs().deleteExpired(now)).toBe(0);
        expect(await subs().deleteExpired(now + 1)).toBe(1);
      });

      it('deleting a user deletes their subject tokens only', async () => {
        const u = await newUser();
        const v = await newUser();
        const mine = sub(u.id);
        const theirs = sub(v.id);
        await subs().insert(mine);
        await subs().insert(theirs);
        await store.users.delete(u.id);
        expect(await subs().findByHash(mine.tokenHash)).toBeUndefined();
        expect(await subs().findByHash(theirs.tokenHash)).toStrictEqual(theirs);
      });
    });

    describe('TokenExchangeAuditStore', () => {
      const audit = () => store.tokenExchangeAudit;
      function entry(userId: string | null, overrides: Partial<TokenExchangeAuditRecord> = {}): TokenExchangeAuditRecord {
        return {
          id: uid('tx'),
          at: T,
          applicationId: 'backend-app',
          userId,
          tokenKind: 'impersonation',
          tokenId: uid('st'),
          outcome: 'granted',
          resource: null,
          scope: null,
          ...overrides,
        };
      }

      it('inserts and lists a user’s records newest first, every field as given, up to the limit', async () => {
        const u = await newUser();
        const v = await newUser();
        const e1 = entry(u.id, { at: T + 10, resource: 'https://api.example.com', scope: 'read write' });
        const e2 = entry(u.id, { at: T + 30, tokenKind: 'personal_access_token', outcome: 'expired', tokenId: null });
        const e3 = entry(u.id, { at: T + 20, outcome: 'consumed' });
        const theirs = entry(v.id, { at: T + 40 });
        const unknown = entry(null, { at: T + 50, outcome: 'not_found', tokenId: null });
        for (const e of [e1, e2, e3, theirs, unknown]) await audit().insert(e);

        expect(await audit().listByUser(u.id, 10)).toStrictEqual([e2, e3, e1]);
        expect(await audit().listByUser(u.id, 2)).toStrictEqual([e2, e3]);
        expect(await audit().listByUser(v.id, 10)).toStrictEqual([theirs]);
        expect(await audit().listByUser('nobody', 10)).toEqual([]);
        const [newest] = await audit().listByUser(u.id, 1);
        expect(typeof newest?.at).toBe('number');
        expect(newest?.at).toBe(T + 30);
      });
    });

    // ───────────────────────────────────────── account stores ───────────────────────────────────────────

    describe('AccountAuditStore', () => {
      const audit = () => store.accountAudit;
      function entry(userId: string, overrides: Partial<AccountAuditRecord> = {}): AccountAuditRecord {
        return { id: uid('aa'), at: T, userId, action: 'update', fields: ['name'], ip: '198.51.100.4', clientId: null, ...overrides };
      }

      it('inserts and lists a user’s entries newest first, every field as given, up to the limit', async () => {
        const u = await newUser();
        const v = await newUser();
        const a = entry(u.id, { at: T + 1, action: 'bind_email', fields: ['primaryEmail', 'emailVerified'], clientId: 'spa-client' });
        const b = entry(u.id, { at: T + 3, action: 'change_password', fields: ['password'], ip: null });
        const c = entry(u.id, { at: T + 2, action: 'update', fields: [] });
        const theirs = entry(v.id, { at: T + 9 });
        for (const e of [a, b, c, theirs]) await audit().insert(e);

        expect(await audit().listByUser(u.id, 50)).toStrictEqual([b, c, a]);
        expect(await audit().listByUser(u.id, 1)).toStrictEqual([b]);
        expect(await audit().listByUser(v.id, 50)).toStrictEqual([theirs]);
        expect(await audit().listByUser('nobody', 50)).toEqual([]);
        expect(typeof (await audit().listByUser(u.id, 1))[0]?.at).toBe('number');
      });
    });

    describe('AuthingKeyStore', () => {
      const keys = () => store.authingKeys;
      const key = (id: string, createdAt: number) => ({ id, privatePem: `priv-${id}`, publicPem: `pub-${id}`, createdAt, retiredAt: null });

      it('rotate makes the key current and retires the current one at its creation; list is newest first; a stale expected id writes nothing', async () => {
        const a = key(uid('ka'), T);
        expect(await keys().rotate(a, null)).toBe(true);
        expect(await keys().rotate(key(uid('kx'), T + 1), null)).toBe(false); // a current key exists
        const b = key(uid('kb'), T + 10);
        expect(await keys().rotate(b, a.id)).toBe(true);
        const listed = (await keys().list()).filter((k) => k.id === a.id || k.id === b.id);
        expect(listed).toStrictEqual([b, { ...a, retiredAt: T + 10 }]);
        expect(await keys().rotate(key(uid('kc'), T + 20), a.id)).toBe(false); // a is no longer current
        expect((await keys().list()).filter((k) => k.retiredAt === null).map((k) => k.id)).toEqual([b.id]);
      });

      it('of concurrent rotations from one current key exactly one wins; deleteRetiredBefore removes only retired keys older than the time', async () => {
        const current = (await keys().list()).find((k) => k.retiredAt === null)!;
        const results = await Promise.all(Array.from({ length: 6 }, (_, i) => keys().rotate(key(uid(`kr${i}`), T + 100 + i), current.id)));
        expect(results.filter(Boolean)).toHaveLength(1);
        expect((await keys().list()).filter((k) => k.retiredAt === null)).toHaveLength(1);
        const before = await keys().list();
        const removed = await keys().deleteRetiredBefore(T + 50);
        const after = await keys().list();
        expect(removed).toBe(before.filter((k) => k.retiredAt !== null && k.retiredAt < T + 50).length);
        expect(after.every((k) => k.retiredAt === null || k.retiredAt >= T + 50)).toBe(true);
        expect(after.some((k) => k.retiredAt === null)).toBe(true);
      });
    });

    describe('SignInPreferenceStore', () => {
      const prefs = () => store.signInPreferences;

      it('get is undefined until set; update writes what the function returns, from {} or the current value', async () => {
        const u = await newUser();
        expect(await prefs().get(u.id)).toBeUndefined();
        expect(await prefs().update(u.id, (cur) => ({ ...cur, mfa: { skipped: true } }), T)).toStrictEqual({ mfa: { skipped: true } });
        expect(await prefs().get(u.id)).toStrictEqual({ mfa: { skipped: true } });
        expect(await prefs().update(u.id, (cur) => ({ ...cur, passkeySignIn: { skipped: true } }), T + 1)).toStrictEqual({ mfa: { skipped: true }, passkeySignIn: { skipped: true } });
      });

      it('update of a missing user writes nothing and gives undefined; the row goes with its user', async () => {
        expect(await prefs().update('no-such-user', () => ({ a: 1 }), T)).toBeUndefined();
        expect(await prefs().get('no-such-user')).toBeUndefined();
        const u = await newUser();
        await prefs().update(u.id, () => ({ mfa: { enabled: true } }), T);
        await store.users.delete(u.id);
        expect(await prefs().get(u.id)).toBeUndefined();
      });

      it('10 concurrent updates of different keys all stay (one user’s updates run one after another)', async () => {
        const u = await newUser();
        await Promise.all(Array.from({ length: 10 }, (_, i) => prefs().update(u.id, (cur) => ({ ...cur, [`k${i}`]: i }), T + i)));
        expect(Object.keys((await prefs().get(u.id))!).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `k${i}`).sort());
      });
    });

    describe('AccountCenterStore', () => {
      const center = () => store.accountCenter;
      const NONE = { deleteAccountUrl: null, webauthnRelatedOrigins: [] as string[] };

      it('get is undefined until the row is written; update creates it with defaults for the columns not given', async () => {
        expect(await center().get()).toBeUndefined();
        expect(await center().update({ updatedAt: T })).toStrictEqual({ enabled: false, fields: {}, ...NONE, updatedAt: T });
        expect(await center().get()).toStrictEqual({ enabled: false, fields: {}, ...NONE, updatedAt: T });
      });

      it('update writes only the given columns, replaces the whole field map and returns the row', async () => {
        expect(await center().update({ enabled: true, updatedAt: T + 1 })).toStrictEqual({ enabled: true, fields: {}, ...NONE, updatedAt: T + 1 });
        const fields = { name: 'Edit', username: 'ReadOnly', email: 'Off', customData: 'Edit' };
        expect(await center().update({ fields, updatedAt: T + 2 })).toStrictEqual({ enabled: true, fields, ...NONE, updatedAt: T + 2 });
        expect(await center().update({ enabled: false, updatedAt: T + 3 })).toStrictEqual({ enabled: false, fields, ...NONE, updatedAt: T + 3 });
        // The map is replaced, not merged.
        expect(await center().update({ fields: { phone: 'Edit' }, updatedAt: T + 4 })).toStrictEqual({ enabled: false, fields: { phone: 'Edit' }, ...NONE, updatedAt: T + 4 });
        expect(await center().update({ enabled: true, fields: {}, updatedAt: T + 5 })).toStrictEqual({ enabled: true, fields: {}, ...NONE, updatedAt: T + 5 });
        // The other settings: written only when given, read back as written.
        const url = 'https://app.example/delete';
        expect(await center().update({ deleteAccountUrl: url, webauthnRelatedOrigins: ['https://a.example', 'https://b.example'], updatedAt: T + 6 }))
          .toStrictEqual({ enabled: true, fields: {}, deleteAccountUrl: url, webauthnRelatedOrigins: ['https://a.example', 'https://b.example'], updatedAt: T + 6 });
        expect(await center().update({ enabled: true, updatedAt: T + 7 })).toMatchObject({ deleteAccountUrl: url, webauthnRelatedOrigins: ['https://a.example', 'https://b.example'] });
        expect(await center().update({ deleteAccountUrl: null, webauthnRelatedOrigins: [], updatedAt: T + 5 })).toStrictEqual({ enabled: true, fields: {}, ...NONE, updatedAt: T + 5 });
        const got = await center().get();
        expect(got).toStrictEqual({ enabled: true, fields: {}, ...NONE, updatedAt: T + 5 });
        expect(typeof got?.updatedAt).toBe('number');
      });

      it('concurrent patches of different columns never undo each other (from no row and from a row)', async () => {
        for (let round = 0; round < 6; round++) {
          const enabled = round % 2 === 0;
          const fields = { name: round % 2 === 0 ? 'Edit' : 'ReadOnly', round: String(round) };
          await Promise.all(
            Array.from({ length: 10 }, (_, i) =>
              i % 2 === 0 ? center().update({ enabled, updatedAt: T + round * 100 + i }) : center().update({ fields, updatedAt: T + round * 100 + i }),
            ),
          );
          const row = await center().get();
          expect(row?.enabled, `round ${round}`).toBe(enabled);
          expect(row?.fields, `round ${round}`).toStrictEqual(fields);
        }
      });
    });

    // ───────────────────────────────────────────── OIDC stores ──────────────────────────────────────────

    describe('ApplicationStore', () => {
      const apps = () => store.applications;
      function app(overrides: Partial<ApplicationRecord> = {}): ApplicationRecord {
        return {
          id: uid('app'),
          name: 'App',
          type: 'traditional',
          secretHash: hex64(),
          redirectUris: ['https://app.example.com/callback'],
          postLogoutRedirectUris: [],
          corsOrigins: [],
          isManagement: false,
          allowTokenExchange: false,
          isThirdParty: false,
          description: 'Reports nightly',
          createdAt: T,
          updatedAt: T,
          ...overrides,
        };
      }

      it('inserts and finds by id with every field as given (arrays, booleans both ways, null secret)', async () => {
        const a = app({
          name: 'Back office “α”',
          type: 'm2m',
          redirectUris: [],
          postLogoutRedirectUris: ['https://x.example/bye', 'https://y.example/bye'],
          corsOrigins: ['https://x.example'],
          isManagement: true,
          allowTokenExchange: true,
          isThirdParty: false,
          createdAt: T,
          updatedAt: T + 1,
        });
        const b = app({ type: 'spa', secretHash: null, description: null, redirectUris: ['http://localhost:3000/cb', 'myapp://cb'], isThirdParty: true });
        expect(await apps().insert(a)).toBe(true);
        expect(await apps().insert(b)).toBe(true);
        expect(await apps().findById(a.id)).toStrictEqual(a);
        expect(await apps().findById(b.id)).toStrictEqual(b);
        expect(await apps().findById('missing')).toBeUndefined();
      });

      it('insert returns false (nothing written) when the id exists; of concurrent inserts of one id exactly one wins', async () => {
        const a = app({ name: 'original' });
        expect(await apps().insert(a)).toBe(true);
        expect(await apps().insert(app({ id: a.id, name: 'impostor', isManagement: true }))).toBe(false);
        expect(await apps().findById(a.id)).toStrictEqual(a);

        const id = uid('race');
        const attempts = Array.from({ length: 10 }, (_, i) => app({ id, name: `racer ${i}` }));
        const results = await Promise.all(attempts.map((r) => apps().insert(r)));
        expect(trues(results)).toBe(1);
        expect(await apps().findById(id)).toStrictEqual(attempts[results.indexOf(true)]);
        expect(await apps().count()).toBe(2);
      });

      it('lists newest first with offset and limit, and counts', async () => {
        expect(await apps().count()).toBe(0);
        const a = app({ createdAt: T + 1 });
        const b = app({ createdAt: T + 3 });
        const c = app({ createdAt: T + 2 });
        const d = app({ createdAt: T + 4 });
        for (const r of [a, b, c, d]) await apps().insert(r);
        const ids = async (page: { offset: number; limit: number }) => (await apps().list(page)).map((r) => r.id);
        expect(await ids({ offset: 0, limit: 10 })).toEqual([d.id, b.id, c.id, a.id]);
        expect(await ids({ offset: 1, limit: 2 })).toEqual([b.id, c.id]);
        expect(await ids({ offset: 4, limit: 2 })).toEqual([]);
        expect(await apps().list({ offset: 0, limit: 1 })).toStrictEqual([d]);
        const n = await apps().count();
        expect(typeof n).toBe('number');
        expect(n).toBe(4);
      });

      it('update applies the patch and returns the application; an empty patch returns it unchanged; a missing id gives undefined', async () => {
        const a = app({ isManagement: true, corsOrigins: ['https://a.example'] });
        await apps().insert(a);
        const patch = {
          name: 'Renamed',
          secretHash: null,
          redirectUris: ['https://new.example/cb'],
          postLogoutRedirectUris: ['https://new.example/out'],
          corsOrigins: [],
          isManagement: false,
          allowTokenExchange: true,
          isThirdParty: true,
          description: null,
          updatedAt: T + 99,
        };
        expect(await apps().update(a.id, patch)).toStrictEqual({ ...a, ...patch });
        expect(await apps().findById(a.id)).toStrictEqual({ ...a, ...patch });
        expect(await apps().update(a.id, {})).toStrictEqual({ ...a, ...patch });
        expect(await apps().update(a.id, { name: 'Only name' })).toStrictEqual({ ...a, ...patch, name: 'Only name' });
        expect(await apps().update('missing', { name: 'ghost' })).toBeUndefined();
        expect(await apps().update('missing', {})).toBeUndefined();
        expect(await apps().count()).toBe(1);
      });

      it('delete removes one application and reports whether it did', async () => {
        const a = app();
        const b = app();
        await apps().insert(a);
        await apps().insert(b);
        expect(await apps().delete(a.id)).toBe(true);
        expect(await apps().findById(a.id)).toBeUndefined();
        expect(await apps().delete(a.id)).toBe(false);
        expect(await apps().findById(b.id)).toStrictEqual(b);
        expect(await apps().count()).toBe(1);
      });
    });

    describe('OidcPayloadStore', () => {
      const payloads = () => store.oidcPayloads;
      const ix = (o: Partial<OidcPayloadIndexes> = {}): OidcPayloadIndexes => ({ grantId: null, userCode: null, uid: null, accountId: null, clientId: null, ...o });
      const ids = (rows: Array<{ id: string }>) => rows.map((r) => r.id).sort();

      it('upsert inserts; find returns the payload with its expiry; upsert replaces the payload and clears consumedAt', async () => {
        const payload = { jti: 'abc', kind: 'AuthorizationCode', scope: 'openid profile', claims: { a: [1, 2] }, exp: 1_795_426_818, nothing: null };
        await payloads().upsert('AuthorizationCode', 'abc', payload, T + 60_000, ix({ grantId: 'g1', accountId: 'acc1', clientId: 'c1' }));
        expect(await payloads().find('AuthorizationCode', 'abc', T)).toStrictEqual({ payload, consumedAt: null, expiresAt: T + 60_000 });
        expect(await payloads().find('AccessToken', 'abc', T)).toBeUndefined();
        expect(await payloads().find('AuthorizationCode', 'abd', T)).toBeUndefined();

        await payloads().consume('AuthorizationCode', 'abc', T + 5);
        expect(await payloads().find('AuthorizationCode', 'abc', T + 6)).toStrictEqual({ payload, consumedAt: T + 5, expiresAt: T + 60_000 });

        const replaced = { jti: 'abc', kind: 'AuthorizationCode', replaced: true };
        await payloads().upsert('AuthorizationCode', 'abc', replaced, null, ix({ grantId: 'g2' }));
        expect(await payloads().find('AuthorizationCode', 'abc', T + 10 * 365 * 86_400_000)).toStrictEqual({ payload: replaced, consumedAt: null, expiresAt: null });
        // The indexes were replaced too.
        await payloads().revokeByGrantId('AuthorizationCode', 'g1');
        expect(await payloads().find('AuthorizationCode', 'abc', T)).toBeDefined();
        await payloads().revokeByGrantId('AuthorizationCode', 'g2');
        expect(await payloads().find('AuthorizationCode', 'abc', T)).toBeUndefined();
      });

      it('expired rows are invisible to every read (dead at expiresAt); rows without expiry never expire', async () => {
        await payloads().upsert('Session', 's1', { uid: 'uid1' }, T + 1000, ix({ uid: 'uid1', accountId: 'acc' }));
        await payloads().upsert('DeviceCode', 'd1', { userCode: 'WXYZ' }, T + 1000, ix({ userCode: 'WXYZ', accountId: 'acc' }));
        await payloads().upsert('Grant', 'g1', { accountId: 'acc' }, null, ix({ accountId: 'acc' }));

        expect(await payloads().find('Session', 's1', T + 999)).toBeDefined();
        expect(await payloads().findByUid('uid1', T + 999)).toBeDefined();
        expect(await payloads().findByUserCode('DeviceCode', 'WXYZ', T + 999)).toBeDefined();
        expect(ids(await payloads().listByAccount('Session', 'acc', T + 999))).toEqual(['s1']);

        for (const now of [T + 1000, T + 1001]) {
          expect(await payloads().find('Session', 's1', now)).toBeUndefined();
          expect(await payloads().findByUid('uid1', now)).toBeUndefined();
          expect(await payloads().findByUserCode('DeviceCode', 'WXYZ', now)).toBeUndefined();
          expect(await payloads().listByAccount('Session', 'acc', now)).toEqual([]);
        }
        const far = T + 100 * 365 * 86_400_000;
        expect(await payloads().find('Grant', 'g1', far)).toStrictEqual({ payload: { accountId: 'acc' }, consumedAt: null, expiresAt: null });
        expect(ids(await payloads().listByAccount('Grant', 'acc', far))).toEqual(['g1']);
      });

      it('findByUid finds Sessions only; findByUserCode looks within the model', async () => {
        await payloads().upsert('Session', 'sess', { kind: 'Session' }, T + 1000, ix({ uid: 'the-uid' }));
        await payloads().upsert('Interaction', 'int', { kind: 'Interaction' }, T + 1000, ix({ uid: 'other-uid' }));
        await payloads().upsert('DeviceCode', 'dc', { kind: 'DeviceCode' }, T + 1000, ix({ userCode: 'ABCD-EFGH' }));
        expect(await payloads().findByUid('the-uid', T)).toStrictEqual({ payload: { kind: 'Session' }, consumedAt: null, expiresAt: T + 1000 });
        expect(await payloads().findByUid('other-uid', T)).toBeUndefined();
        expect((await payloads().findByUserCode('DeviceCode', 'ABCD-EFGH', T))?.payload).toEqual({ kind: 'DeviceCode' });
        expect(await payloads().findByUserCode('BackchannelAuthenticationRequest', 'ABCD-EFGH', T)).toBeUndefined();
        expect(await payloads().findByUserCode('DeviceCode', 'abcd-efgh', T)).toBeUndefined();
      });

      it('destroy deletes one artefact; revokeByGrantId deletes the grant’s artefacts of one model', async () => {
        const exp = T + 60_000;
        await payloads().upsert('AccessToken', 'at1', { n: 1 }, exp, ix({ grantId: 'g1' }));
        await payloads().upsert('AccessToken', 'at2', { n: 2 }, exp, ix({ grantId: 'g1' }));
        await payloads().upsert('RefreshToken', 'rt1', { n: 3 }, exp, ix({ grantId: 'g1' }));
        await payloads().upsert('AccessToken', 'at3', { n: 4 }, exp, ix({ grantId: 'g2' }));
        await payloads().upsert('RefreshToken', 'at1', { n: 5 }, exp, ix({ grantId: 'g9' }));

        await payloads().destroy('AccessToken', 'at1');
        expect(await payloads().find('AccessToken', 'at1', T)).toBeUndefined();
        expect(await payloads().find('RefreshToken', 'at1', T)).toBeDefined();
        await payloads().destroy('AccessToken', 'missing');

        await payloads().revokeByGrantId('AccessToken', 'g1');
        expect(await payloads().find('AccessToken', 'at2', T)).toBeUndefined();
        expect(await payloads().find('RefreshToken', 'rt1', T)).toBeDefined();
        expect(await payloads().find('AccessToken', 'at3', T)).toBeDefined();
      });

      it('deleteByAccount deletes every artefact of the account and counts them', async () => {
        const exp = T + 60_000;
        await payloads().upsert('Session', 's', {}, exp, ix({ uid: 'u1', accountId: 'acc-a' }));
        await payloads().upsert('Grant', 'g', {}, exp, ix({ accountId: 'acc-a' }));
        await payloads().upsert('AccessToken', 't', {}, exp, ix({ grantId: 'g', accountId: 'acc-a' }));
        await payloads().upsert('AccessToken', 'other', {}, exp, ix({ accountId: 'acc-b' }));
        await payloads().upsert('Client', 'cl', {}, null, ix());
        expect(await payloads().deleteByAccount('acc-a')).toBe(3);
        for (const [m, id] of [['Session', 's'], ['Grant', 'g'], ['AccessToken', 't']] as const) expect(await payloads().find(m, id, T)).toBeUndefined();
        expect(await payloads().find('AccessToken', 'other', T)).toBeDefined();
        expect(await payloads().find('Client', 'cl', T)).toBeDefined();
        expect(await payloads().deleteByAccount('acc-a')).toBe(0);
      });

      // Rows as the node-oidc-provider adapter writes them (src/oidc/adapter.ts): a `Grant` is stored under
      // its own id and carries no `grantId` (so its grant_id index is null); what is issued under it
      // (tokens, codes) carries the grant's id in grant_id.
      async function seedAccountArtefacts() {
        const exp = T + 60_000;
        await payloads().upsert('Session', 'own-session', {}, exp, ix({ uid: 'own-uid', accountId: 'acc' }));
        await payloads().upsert('Session', 'other-session', {}, exp, ix({ uid: 'other-uid', accountId: 'acc' }));
        await payloads().upsert('AccessToken', 'keep-token', {}, exp, ix({ grantId: 'keep-grant', accountId: 'acc', clientId: 'c' }));
        await payloads().upsert('RefreshToken', 'keep-refresh', {}, exp, ix({ grantId: 'keep-grant', accountId: 'acc', clientId: 'c' }));
        await payloads().upsert('Grant', 'old-grant', { accountId: 'acc', clientId: 'c' }, exp, ix({ accountId: 'acc', clientId: 'c' }));
        await payloads().upsert('RefreshToken', 'old-token', {}, exp, ix({ grantId: 'old-grant', accountId: 'acc', clientId: 'c' }));
        await payloads().upsert('AccessToken', 'loose-token', {}, exp, ix({ accountId: 'acc' }));
        await payloads().upsert('Session', 'stranger', {}, exp, ix({ uid: 'own-uid-2', accountId: 'acc-2' }));
        await payloads().upsert('AccessToken', 'stranger-token', {}, exp, ix({ grantId: 'old-grant-2', accountId: 'acc-2' }));
      }
      async function liveArtefacts() {
        const out: string[] = [];
        for (const [m, id] of [
          ['Session', 'own-session'],
          ['Session', 'other-session'],
          ['Grant', 'keep-grant'],
          ['AccessToken', 'keep-token'],
          ['RefreshToken', 'keep-refresh'],
          ['Grant', 'old-grant'],
          ['RefreshToken', 'old-token'],
          ['AccessToken', 'loose-token'],
          ['Session', 'stranger'],
          ['AccessToken', 'stranger-token'],
        ] as const) {
          if (await payloads().find(m, id, T)) out.push(id);
        }
        return out;
      }

      it('deleteByAccountExcept keeps what was issued under the given grant and the browser session, and ends the rest', async () => {
        await seedAccountArtefacts();
        expect(await payloads().deleteByAccountExcept('acc', { grantId: 'keep-grant', sessionUid: 'own-uid' })).toBe(4);
        expect(await liveArtefacts()).toEqual(['own-session', 'keep-token', 'keep-refresh', 'stranger', 'stranger-token']);

        // Without a session to keep, every Session of the account ends.
        await seedAccountArtefacts();
        expect(await payloads().deleteByAccountExcept('acc', { grantId: 'keep-grant', sessionUid: null })).toBe(5);
        expect(await liveArtefacts()).toEqual(['keep-token', 'keep-refresh', 'stranger', 'stranger-token']);
      });

      // Regression (found by this suite): the kept `Grant` row has grant_id NULL (Grant payloads carry no
      // grantId), so a query that spared rows by grant_id alone deleted the kept grant and node-oidc-provider
      // then refused its refresh token ("grant not found").
      it('deleteByAccountExcept keeps the given Grant itself', async () => {
        const exp = T + 60_000;
        await seedAccountArtefacts();
        await payloads().upsert('Grant', 'keep-grant', { accountId: 'acc', clientId: 'c' }, exp, ix({ accountId: 'acc', clientId: 'c' }));
        await payloads().deleteByAccountExcept('acc', { grantId: 'keep-grant', sessionUid: 'own-uid' });
        expect(await payloads().find('Grant', 'keep-grant', T)).toBeDefined();
      });

      it('listByAccount lists the live artefacts of one model of the account, with their ids', async () => {
        await payloads().upsert('Grant', 'g-b', { n: 'b' }, null, ix({ accountId: 'acc' }));
        await payloads().upsert('Grant', 'g-a', { n: 'a' }, T + 100, ix({ accountId: 'acc' }));
        await payloads().upsert('Grant', 'g-dead', { n: 'dead' }, T, ix({ accountId: 'acc' }));
        await payloads().upsert('AccessToken', 't', {}, null, ix({ accountId: 'acc' }));
        await payloads().upsert('Grant', 'g-other', {}, null, ix({ accountId: 'acc-2' }));
        await payloads().consume('Grant', 'g-a', T + 1);
        const rows = (await payloads().listByAccount('Grant', 'acc', T)).sort(byKey((r) => r.id));
        expect(rows).toStrictEqual([
          { id: 'g-a', payload: { n: 'a' }, consumedAt: T + 1, expiresAt: T + 100 },
          { id: 'g-b', payload: { n: 'b' }, consumedAt: null, expiresAt: null },
        ]);
        expect(await payloads().listByAccount('Grant', 'nobody', T)).toEqual([]);
      });

      it('deleteGrant deletes the account’s grant and everything issued under it; false when the account has no such grant', async () => {
        const exp = T + 60_000;
        await payloads().upsert('Grant', 'g1', {}, exp, ix({ grantId: 'g1', accountId: 'acc' }));
        await payloads().upsert('AccessToken', 'a1', {}, exp, ix({ grantId: 'g1', accountId: 'acc' }));
        await payloads().upsert('RefreshToken', 'r1', {}, exp, ix({ grantId: 'g1', accountId: 'acc' }));
        await payloads().upsert('AuthorizationCode', 'c1', {}, exp, ix({ grantId: 'g1', accountId: 'acc' }));
        await payloads().upsert('Grant', 'g2', {}, exp, ix({ grantId: 'g2', accountId: 'acc' }));
        await payloads().upsert('AccessToken', 'a2', {}, exp, ix({ grantId: 'g2', accountId: 'acc' }));

        // Another account cannot delete it; an unknown grant is not there.
        expect(await payloads().deleteGrant('intruder', 'g1')).toBe(false);
        expect(await payloads().deleteGrant('acc', 'g-unknown')).toBe(false);
        expect(await payloads().find('Grant', 'g1', T)).toBeDefined();
        expect(await payloads().find('AccessToken', 'a1', T)).toBeDefined();

        expect(await payloads().deleteGrant('acc', 'g1')).toBe(true);
        for (const [m, id] of [['Grant', 'g1'], ['AccessToken', 'a1'], ['RefreshToken', 'r1'], ['AuthorizationCode', 'c1']] as const) {
          expect(await payloads().find(m, id, T), id).toBeUndefined();
        }
        expect(await payloads().find('Grant', 'g2', T)).toBeDefined();
        expect(await payloads().find('AccessToken', 'a2', T)).toBeDefined();
        expect(await payloads().deleteGrant('acc', 'g1')).toBe(false);
      });

      it('deleteByClient deletes every artefact issued to the client and counts them', async () => {
        await payloads().upsert('AccessToken', 'x1', {}, T + 1000, ix({ clientId: 'client-x' }));
        await payloads().upsert('Grant', 'x2', {}, null, ix({ clientId: 'client-x', accountId: 'acc' }));
        await payloads().upsert('AccessToken', 'y1', {}, T + 1000, ix({ clientId: 'client-y' }));
        expect(await payloads().deleteByClient('client-x')).toBe(2);
        expect(await payloads().find('AccessToken', 'x1', T)).toBeUndefined();
        expect(await payloads().find('Grant', 'x2', T)).toBeUndefined();
        expect(await payloads().find('AccessToken', 'y1', T)).toBeDefined();
        expect(await payloads().deleteByClient('client-x')).toBe(0);
      });

      it('deleteExpired deletes artefacts that expired before now, keeps live and non-expiring ones, and counts them', async () => {
        const now = T + 1_000_000;
        await payloads().upsert('AccessToken', 'past', {}, now - 1, ix());
        await payloads().upsert('AccessToken', 'long-past', {}, now - 86_400_000, ix());
        await payloads().upsert('AccessToken', 'live', {}, now + 1, ix());
        await payloads().upsert('Grant', 'forever', {}, null, ix());
        expect(await payloads().deleteExpired(now)).toBe(2);
        expect(await payloads().find('AccessToken', 'live', now)).toBeDefined();
        expect(await payloads().find('Grant', 'forever', now)).toBeDefined();
        expect(await payloads().deleteExpired(now)).toBe(0);
        expect(await payloads().deleteExpired(now + 2)).toBe(1);
        expect(await payloads().find('Grant', 'forever', now + 2)).toBeDefined();
      });
    });

    describe('OidcKeyStore', () => {
      const keys = () => store.oidcKeys;
      function key(overrides: Partial<OidcKeyRecord> = {}): OidcKeyRecord {
        return { kid: uid('kid'), kind: 'sig', alg: 'ES256', jwk: JSON.stringify({ kty: 'EC', crv: 'P-256', d: uid() }), createdAt: T, retiredAt: null, ...overrides };
      }

      it('inserts and lists every key newest first with every field as given; ties in a fixed kid order', async () => {
        expect(await keys().list()).toEqual([]);
        const p = uid('k');
        const old = key({ kid: `${p}o`, createdAt: T, retiredAt: T + 5 });
        const cookie = key({ kid: `${p}c`, kind: 'cookie', alg: null, jwk: 'c2VjcmV0LWNvb2tpZS1rZXk', createdAt: T + 10 });
        const tieB = key({ kid: `${p}b`, alg: 'RS256', createdAt: T + 20 });
        const tieA = key({ kid: `${p}a`, createdAt: T + 20 });
        for (const k of [old, cookie, tieB, tieA]) await keys().insert(k);
        const list = await keys().list();
        expect(list.slice(2)).toStrictEqual([cookie, old]);
        // Tied keys come in kid order (either direction), the same on every call.
        expect([[tieA, tieB], [tieB, tieA]]).toContainEqual(list.slice(0, 2));
        expect(await keys().list()).toStrictEqual(list);
        expect(typeof list[0]?.createdAt).toBe('number');
      });

      it('retireActive retires the active keys of one kind only, and counts them', async () => {
        const s1 = key({ createdAt: T });
        const s2 = key({ createdAt: T + 1 });
        const retired = key({ createdAt: T - 10, retiredAt: T - 5 });
        const cookie = key({ kind: 'cookie', alg: null, createdAt: T + 2 });
        for (const k of [s1, s2, retired, cookie]) await keys().insert(k);
        expect(await keys().retireActive('sig', T + 100)).toBe(2);
        const byKid = new Map((await keys().list()).map((k) => [k.kid, k]));
        expect(byKid.get(s1.kid)).toStrictEqual({ ...s1, retiredAt: T + 100 });
        expect(byKid.get(s2.kid)).toStrictEqual({ ...s2, retiredAt: T + 100 });
        expect(byKid.get(retired.kid)).toStrictEqual(retired);
        expect(byKid.get(cookie.kid)).toStrictEqual(cookie);
        expect(await keys().retireActive('sig', T + 200)).toBe(0);
        expect(await keys().retireActive('cookie', T + 200)).toBe(1);
      });

      it('deleteRetiredBefore deletes keys retired strictly before the cutoff, never active keys', async () => {
        const cutoff = T + 1000;
        const early = key({ retiredAt: cutoff - 1 });
        const edge = key({ retiredAt: cutoff });
        const late = key({ retiredAt: cutoff + 1 });
        const active = key({ createdAt: T - 86_400_000 });
        for (const k of [early, edge, late, active]) await keys().insert(k);
        expect(await keys().deleteRetiredBefore(cutoff)).toBe(1);
        expect((await keys().list()).map((k) => k.kid).sort()).toEqual([edge.kid, late.kid, active.kid].sort());
        expect(await keys().deleteRetiredBefore(cutoff + 2)).toBe(2);
        expect(await keys().list()).toStrictEqual([active]);
      });
    });

    // ───────────────────────────────────────── connector stores ─────────────────────────────────────────

    describe('ConnectorStore', () => {
      const connectors = () => store.connectors;

      it('inserts and finds by id with every field as given (config JSON, preset null, enabled both ways)', async () => {
        const a = connector({
          type: 'oidc',
          preset: 'google',
          target: 'google',
          name: 'Google “Workspace”',
          config: { clientId: 'cid', clientSecret: 's3cr3t', scopes: ['openid', 'email'], mapping: { email: 'email' }, pkce: true },
          enabled: true,
          createdAt: T,
          updatedAt: T + 1,
        });
        const b = connector({ type: 'oauth2', preset: null, target: 'corp', enabled: false, config: {} });
        await connectors().insert(a);
        await connectors().insert(b);
        expect(await connectors().findById(a.id)).toStrictEqual(a);
        expect(await connectors().findById(b.id)).toStrictEqual(b);
        expect(await connectors().findById('missing')).toBeUndefined();
      });

      it('lists every connector oldest first', async () => {
        const a = connector({ createdAt: T + 2 });
        const b = connector({ createdAt: T + 1 });
        const c = connector({ createdAt: T + 3 });
        for (const r of [a, b, c]) await connectors().insert(r);
        expect(await connectors().list()).toStrictEqual([b, a, c]);
      });

      it('update applies the patch and returns the connector; a missing id gives undefined and creates nothing', async () => {
        const a = connector({ enabled: true, config: { clientId: 'old' } });
        await connectors().insert(a);
        expect(await connectors().update(a.id, { name: 'Renamed', updatedAt: T + 5 })).toStrictEqual({ ...a, name: 'Renamed', updatedAt: T + 5 });
        const patch = { name: 'GitHub', target: 'github', config: { clientId: 'new', clientSecret: 'x' }, enabled: false, updatedAt: T + 6 };
        expect(await connectors().update(a.id, patch)).toStrictEqual({ ...a, ...patch });
        expect(await connectors().findById(a.id)).toStrictEqual({ ...a, ...patch });
        expect(await connectors().update('missing', { name: 'ghost', updatedAt: T })).toBeUndefined();
        expect(await connectors().list()).toHaveLength(1);
      });

      it('delete removes the connector and its social sessions, and reports whether it did', async () => {
        const a = connector();
        const b = connector();
        await connectors().insert(a);
        await connectors().insert(b);
        const sa = socialSession(a.id);
        const sb = socialSession(b.id);
        await store.socialSessions.insert(sa);
        await store.socialSessions.insert(sb);
        expect(await connectors().delete(a.id)).toBe(true);
        expect(await connectors().findById(a.id)).toBeUndefined();
        expect(await store.socialSessions.findById(sa.id)).toBeUndefined();
        expect(await store.socialSessions.findById(sb.id)).toStrictEqual(sb);
        expect(await connectors().delete(a.id)).toBe(false);
        expect(await connectors().list()).toStrictEqual([b]);
      });
    });

    function connector(overrides: Partial<ConnectorRecord> = {}): ConnectorRecord {
      return {
        id: uid('con'),
        type: 'oidc',
        preset: null,
        target: 'idp',
        name: 'IdP',
        config: { clientId: 'client', clientSecret: 'secret' },
        enabled: true,
        tokenStorage: false,
        createdAt: T,
        updatedAt: T,
        ...overrides,
      };
    }
    function socialSession(connectorId: string, overrides: Partial<SocialSessionRecord> = {}): SocialSessionRecord {
      return {
        id: uid('ss'),
        kind: 'sign_in',
        connectorId,
        stateHash: hex64(),
        redirectUri: 'https://app.example.com/social/callback',
        codeVerifier: `v${hex64()}`,
        nonce: hex64().slice(0, 32),
        interactionUid: null,
        userId: null,
        result: null,
        createdAt: T,
        expiresAt: T + 600_000,
        verifiedAt: null,
        consumedAt: null,
        ...overrides,
      };
    }

    describe('SocialSessionStore', () => {
      const sessions = () => store.socialSessions;
      let con: ConnectorRecord;
      beforeEach(async () => {
        con = connector();
        await store.connectors.insert(con);
      });

      it('inserts and finds by id with every field as given', async () => {
        const a = socialSession(con.id, {
          kind: 'verification',
          interactionUid: 'int-uid-1',
          userId: 'user-1',
          result: { provider: 'google', subject: 'g-1', profile: { email: 'x@example.com', list: [1, null] } },
          verifiedAt: T + 1,
          consumedAt: T + 2,
        });
        const b = socialSession(con.id, { kind: 'interaction', interactionUid: 'int-uid-2' });
        await sessions().insert(a);
        await sessions().insert(b);
        expect(await sessions().findById(a.id)).toStrictEqual(a);
        expect(await sessions().findById(b.id)).toStrictEqual(b);
        expect(await sessions().findById('missing')).toBeUndefined();
      });

      it('findByStateHash returns the live sessions of the state, consumed or not (dead at expiresAt)', async () => {
        const state = hex64();
        const a = socialSession(con.id, { stateHash: state, expiresAt: T + 1000 });
        const consumed = socialSession(con.id, { stateHash: state, expiresAt: T + 2000, consumedAt: T + 1 });
        const other = socialSession(con.id, { expiresAt: T + 5000 });
        for (const r of [a, consumed, other]) await sessions().insert(r);
        const sortById = (rs: SocialSessionRecord[]) => [...rs].sort(byKey((r) => r.id));
        expect(sortById(await sessions().findByStateHash(state, T + 999))).toStrictEqual(sortById([a, consumed]));
        expect(await sessions().findByStateHash(state, T + 1000)).toStrictEqual([consumed]);
        expect(await sessions().findByStateHash(state, T + 2000)).toEqual([]);
        expect(await sessions().findByStateHash(hex64(), T)).toEqual([]);
      });

      it('consume succeeds once, only before expiry, and keeps the first time', async () => {
        const a = socialSession(con.id, { expiresAt: T + 1000 });
        const late = socialSession(con.id, { expiresAt: T + 1000 });
        await sessions().insert(a);
        await sessions().insert(late);
        expect(await sessions().consume(a.id, T + 999)).toBe(true);
        expect(await sessions().consume(a.id, T + 999)).toBe(false);
        expect(await sessions().findById(a.id)).toStrictEqual({ ...a, consumedAt: T + 999 });
        expect(await sessions().consume(late.id, T + 1000)).toBe(false);
        expect(await sessions().findById(late.id)).toStrictEqual(late);
        expect(await sessions().consume('missing', T)).toBe(false);
      });

      it('of 20 concurrent callbacks exactly one consumes the session', async () => {
        const a = socialSession(con.id);
        await sessions().insert(a);
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => sessions().consume(a.id, T + i)));
        expect(trues(results)).toBe(1);
        expect((await sessions().findById(a.id))?.consumedAt).toBe(T + results.indexOf(true));
      });

      it('markVerified stores the identity once, only while unverified, unconsumed and unexpired', async () => {
        const a = socialSession(con.id, { kind: 'verification', expiresAt: T + 1000 });
        const consumed = socialSession(con.id, { kind: 'verification', consumedAt: T });
        const expiring = socialSession(con.id, { kind: 'verification', expiresAt: T + 1000 });
        for (const r of [a, consumed, expiring]) await sessions().insert(r);
        const result = { provider: 'github', subject: '12345', data: { login: 'octo' } };

        expect(await sessions().markVerified(a.id, result, T + 999)).toBe(true);
        expect(await sessions().findById(a.id)).toStrictEqual({ ...a, result, verifiedAt: T + 999 });
        expect(await sessions().markVerified(a.id, { provider: 'evil' }, T + 999)).toBe(false);
        expect(await sessions().findById(a.id)).toStrictEqual({ ...a, result, verifiedAt: T + 999 });

        expect(await sessions().markVerified(consumed.id, result, T + 1)).toBe(false);
        expect(await sessions().findById(consumed.id)).toStrictEqual(consumed);
        expect(await sessions().markVerified(expiring.id, result, T + 1000)).toBe(false);
        expect(await sessions().findById(expiring.id)).toStrictEqual(expiring);
        expect(await sessions().markVerified('missing', result, T)).toBe(false);
      });

      it('of 10 concurrent markVerified calls exactly one stores its identity', async () => {
        const a = socialSession(con.id, { kind: 'verification' });
        await sessions().insert(a);
        const results = await Promise.all(Array.from({ length: 10 }, (_, i) => sessions().markVerified(a.id, { n: i }, T + i)));
        expect(trues(results)).toBe(1);
        const winner = results.indexOf(true);
        expect(await sessions().findById(a.id)).toStrictEqual({ ...a, result: { n: winner }, verifiedAt: T + winner });
      });

      it('deleteExpired deletes sessions expired at or before now (used or not), and counts them', async () => {
        const now = T + 1_000_000;
        const past = socialSession(con.id, { expiresAt: now - 1 });
        const edge = socialSession(con.id, { expiresAt: now });
        const pastUsed = socialSession(con.id, { expiresAt: now - 2, consumedAt: now - 3 });
        const live = socialSession(con.id, { expiresAt: now + 1 });
        for (const r of [past, edge, pastUsed, live]) await sessions().insert(r);
        expect(await sessions().deleteExpired(now)).toBe(3);
        for (const r of [past, edge, pastUsed]) expect(await sessions().findById(r.id)).toBeUndefined();
        expect(await sessions().findById(live.id)).toStrictEqual(live);
        expect(await sessions().deleteExpired(now)).toBe(0);
        expect(await sessions().deleteExpired(now + 1)).toBe(1);
      });
    });

    // ───────────────────────────────────────────── SdkStore ─────────────────────────────────────────────

    describe('SocialTokenSetStore', () => {
      const tokens = () => store.socialTokens;
      let con: ConnectorRecord;
      beforeEach(async () => {
        con = connector({ tokenStorage: true });
        await store.connectors.insert(con);
      });
      function tokenSet(userId: string, overrides: Partial<SocialTokenSetRecord> = {}): SocialTokenSetRecord {
        return {
          userId, target: 'idp', connectorId: con.id, subject: 'sub-1', sealed: `v1.${hex64()}`, scope: 'read write', tokenType: 'Bearer',
          expiresAt: T + 2 ** 33, hasRefreshToken: true, createdAt: T, updatedAt: T, ...overrides,
        };
      }

      it('connectors keep their tokenStorage flag, and update changes it', async () => {
        expect((await store.connectors.findById(con.id))?.tokenStorage).toBe(true);
        expect((await store.connectors.update(con.id, { tokenStorage: false, updatedAt: T + 1 }))?.tokenStorage).toBe(false);
        expect((await store.connectors.findById(con.id))?.tokenStorage).toBe(false);
      });

      it('upsert stores every field as given (nulls, ms beyond 2^31); a second upsert replaces all but createdAt', async () => {
        const u = await newUser();
        const a = tokenSet(u.id, { scope: null, tokenType: null, expiresAt: null, hasRefreshToken: false });
        await tokens().upsert(a);
        expect(await tokens().find(u.id, 'idp')).toStrictEqual(a);
        const b = tokenSet(u.id, { subject: 'sub-2', createdAt: T + 5, updatedAt: T + 5 });
        await tokens().upsert(b);
        expect(await tokens().find(u.id, 'idp')).toStrictEqual({ ...b, createdAt: T });
        expect(await tokens().find(u.id, 'other')).toBeUndefined();
      });

      it('replaceSealed writes only while the expected value is there; of concurrent replacements one writes', async () => {
        const u = await newUser();
        const a = tokenSet(u.id);
        await tokens().upsert(a);
        const next = { sealed: 'v1.next', scope: null, tokenType: 'bearer', expiresAt: null, hasRefreshToken: false, updatedAt: T + 9 };
        expect(await tokens().replaceSealed(u.id, 'idp', 'v1.not-it', next)).toBe(false);
        expect(await tokens().replaceSealed(u.id, 'idp', a.sealed, next)).toBe(true);
        expect(await tokens().find(u.id, 'idp')).toStrictEqual({ ...a, ...next });
        const racers = await Promise.all(Array.from({ length: 10 }, (_, i) => tokens().replaceSealed(u.id, 'idp', 'v1.next', { ...next, sealed: `v1.r${i}` })));
        expect(trues(racers)).toBe(1);
      });

      it('delete removes one user and target; deleteByConnector every set of a connector; users and connectors take theirs along', async () => {
        const [u1, u2, u3] = [await newUser(), await newUser(), await newUser()];
        const other = connector();
        await store.connectors.insert(other);
        await tokens().upsert(tokenSet(u1.id));
        await tokens().upsert(tokenSet(u1.id, { target: 'idp2', connectorId: other.id }));
        await tokens().upsert(tokenSet(u2.id));
        await tokens().upsert(tokenSet(u3.id, { target: 'idp2', connectorId: other.id }));
        expect(await tokens().delete(u1.id, 'idp')).toBe(true);
        expect(await tokens().delete(u1.id, 'idp')).toBe(false);
        expect(await tokens().find(u1.id, 'idp2')).toBeDefined();
        expect(await tokens().deleteByConnector(con.id)).toBe(1);
        expect(await tokens().find(u2.id, 'idp')).toBeUndefined();
        expect(await store.users.delete(u1.id)).toBe(true);
        expect(await tokens().find(u1.id, 'idp2')).toBeUndefined();
        expect(await store.connectors.delete(other.id)).toBe(true);
        expect(await tokens().find(u3.id, 'idp2')).toBeUndefined();
      });
    });

    describe('SdkStore', () => {
      function resetToken(userId: string, overrides: Partial<PasswordResetTokenRecord> = {}): PasswordResetTokenRecord {
        return { tokenHash: hex64(), userId, reason: 'first_login', createdAt: T, expiresAt: T + 600_000, consumedAt: null, ...overrides };
      }
      function field(overrides: Partial<CustomFieldRecord> = {}): CustomFieldRecord {
        return { key: uid('cf'), type: 'STRING', label: null, description: null, createdAt: T, updatedAt: T, ...overrides };
      }
      function captcha(overrides: Partial<CaptchaRecord> = {}): CaptchaRecord {
        return { id: uid('cap'), answerHash: hex64(), ip: '203.0.113.50', createdAt: T, expiresAt: T + 120_000, consumedAt: null, ...overrides };
      }

      describe('password reset tokens', () => {
        it('insertResetToken stores every field and replaces the user’s unconsumed tokens (only those)', async () => {
          const u = await newUser();
          const v = await newUser();
          const used = resetToken(u.id, { reason: 'forced', consumedAt: T + 1 });
          const old = resetToken(u.id, { reason: 'forced', createdAt: T + 2 });
          const theirs = resetToken(v.id);
          for (const r of [used, old, theirs]) await sdk.insertResetToken(r);
          expect(await sdk.findResetToken(used.tokenHash)).toStrictEqual(used);
          expect(await sdk.findResetToken(old.tokenHash)).toStrictEqual(old);

          const fresh = resetToken(u.id, { createdAt: T + 3, expiresAt: T + 3 + 600_000 });
          await sdk.insertResetToken(fresh);
          expect(await sdk.findResetToken(old.tokenHash)).toBeUndefined();
          expect(await sdk.findResetToken(fresh.tokenHash)).toStrictEqual(fresh);
          expect(await sdk.findResetToken(used.tokenHash)).toStrictEqual(used);
          expect(await sdk.findResetToken(theirs.tokenHash)).toStrictEqual(theirs);
          expect(await sdk.findResetToken(hex64())).toBeUndefined();
        });

        it('consumeResetToken succeeds once and keeps the first time; releaseResetToken makes it usable again', async () => {
          const u = await newUser();
          const r = resetToken(u.id);
          await sdk.insertResetToken(r);
          expect(await sdk.consumeResetToken(r.tokenHash, T + 10)).toBe(true);
          expect(await sdk.consumeResetToken(r.tokenHash, T + 20)).toBe(false);
          expect(await sdk.findResetToken(r.tokenHash)).toStrictEqual({ ...r, consumedAt: T + 10 });

          await sdk.releaseResetToken(r.tokenHash);
          expect(await sdk.findResetToken(r.tokenHash)).toStrictEqual(r);
          expect(await sdk.consumeResetToken(r.tokenHash, T + 30)).toBe(true);
          expect((await sdk.findResetToken(r.tokenHash))?.consumedAt).toBe(T + 30);

          expect(await sdk.consumeResetToken(hex64(), T)).toBe(false);
          await sdk.releaseResetToken(hex64());
        });

        it('of 10 concurrent insertResetToken calls for one user exactly one unconsumed token survives', async () => {
          const u = await newUser();
          const tokens = Array.from({ length: 10 }, (_, i) => resetToken(u.id, { createdAt: T + i }));
          await Promise.all(tokens.map((r) => sdk.insertResetToken(r)));
          const alive = (await Promise.all(tokens.map((r) => sdk.findResetToken(r.tokenHash)))).filter(Boolean);
          expect(alive).toHaveLength(1);
        });

        it('of 20 concurrent consumeResetToken calls exactly one gets true', async () => {
          const u = await newUser();
          const r = resetToken(u.id);
          await sdk.insertResetToken(r);
          const results = await Promise.all(Array.from({ length: 20 }, (_, i) => sdk.consumeResetToken(r.tokenHash, T + i)));
          expect(trues(results)).toBe(1);
          expect((await sdk.findResetToken(r.tokenHash))?.consumedAt).toBe(T + results.indexOf(true));
        });
      });

      it('getPasswordLevel is undefined until set; setPasswordLevel writes or overwrites one user’s level', async () => {
        const u = await newUser();
        const v = await newUser();
        expect(await sdk.getPasswordLevel(u.id)).toBeUndefined();
        await sdk.setPasswordLevel(u.id, 2, T);
        expect(await sdk.getPasswordLevel(u.id)).toStrictEqual({ level: 2, passwordUpdatedAt: T });
        await sdk.setPasswordLevel(u.id, 3, T + 86_400_000);
        expect(await sdk.getPasswordLevel(u.id)).toStrictEqual({ level: 3, passwordUpdatedAt: T + 86_400_000 });
        expect(await sdk.getPasswordLevel(v.id)).toBeUndefined();
        await sdk.setPasswordLevel(v.id, 1, T + 1);
        expect(await sdk.getPasswordLevel(v.id)).toStrictEqual({ level: 1, passwordUpdatedAt: T + 1 });
        expect(await sdk.getPasswordLevel(u.id)).toStrictEqual({ level: 3, passwordUpdatedAt: T + 86_400_000 });
      });

      it('deleting a user deletes their reset tokens and password level only', async () => {
        const u = await newUser();
        const v = await newUser();
        const mine = resetToken(u.id);
        const theirs = resetToken(v.id);
        await sdk.insertResetToken(mine);
        await sdk.insertResetToken(theirs);
        await sdk.setPasswordLevel(u.id, 2, T);
        await sdk.setPasswordLevel(v.id, 3, T);
        expect(await store.users.delete(u.id)).toBe(true);
        expect(await sdk.findResetToken(mine.tokenHash)).toBeUndefined();
        expect(await sdk.getPasswordLevel(u.id)).toBeUndefined();
        expect(await sdk.findResetToken(theirs.tokenHash)).toStrictEqual(theirs);
        expect(await sdk.getPasswordLevel(v.id)).toStrictEqual({ level: 3, passwordUpdatedAt: T });
      });

      describe('custom fields', () => {
        it('inserts, finds and lists definitions by key with every field as given', async () => {
          const p = uid('f');
          const c = field({ key: `${p}c`, type: 'OBJECT', label: 'Address “home”', description: 'Multi\nline', createdAt: T, updatedAt: T + 1 });
          const a = field({ key: `${p}a`, type: 'NUMBER' });
          const b = field({ key: `${p}b`, type: 'DATETIME', label: 'Born' });
          for (const r of [c, a, b]) expect(await sdk.insertCustomField(r)).toBe(true);
          expect(await sdk.findCustomField(c.key)).toStrictEqual(c);
          expect(await sdk.findCustomField(`${p}z`)).toBeUndefined();
          expect(await sdk.listCustomFields()).toStrictEqual([a, b, c]);
        });

        it('insertCustomField returns false (nothing written) when the key is taken; of concurrent inserts exactly one wins', async () => {
          const a = field({ type: 'STRING', label: 'first' });
          expect(await sdk.insertCustomField(a)).toBe(true);
          expect(await sdk.insertCustomField(field({ key: a.key, type: 'BOOLEAN', label: 'second' }))).toBe(false);
          expect(await sdk.findCustomField(a.key)).toStrictEqual(a);

          const key = uid('race');
          const attempts = Array.from({ length: 12 }, (_, i) => field({ key, label: `racer ${i}` }));
          const results = await Promise.all(attempts.map((r) => sdk.insertCustomField(r)));
          expect(trues(results)).toBe(1);
          expect(await sdk.findCustomField(key)).toStrictEqual(attempts[results.indexOf(true)]);
          expect(await sdk.listCustomFields()).toHaveLength(2);
        });

        it('updateCustomField changes the given label and description only; undefined for an unknown key', async () => {
          const a = field({ label: 'Label', description: 'Description' });
          await sdk.insertCustomField(a);
          expect(await sdk.updateCustomField(a.key, { label: 'New label', updatedAt: T + 1 })).toStrictEqual({ ...a, label: 'New label', updatedAt: T + 1 });
          expect(await sdk.updateCustomField(a.key, { description: null, updatedAt: T + 2 })).toStrictEqual({
            ...a,
            label: 'New label',
            description: null,
            updatedAt: T + 2,
          });
          expect(await sdk.updateCustomField(a.key, { label: null, description: 'D', updatedAt: T + 3 })).toStrictEqual({ ...a, label: null, description: 'D', updatedAt: T + 3 });
          expect(await sdk.findCustomField(a.key)).toStrictEqual({ ...a, label: null, description: 'D', updatedAt: T + 3 });
          expect(await sdk.updateCustomField('missing', { label: 'x', updatedAt: T })).toBeUndefined();
          expect(await sdk.findCustomField('missing')).toBeUndefined();
        });

        it('deleteCustomField deletes one definition and reports whether it did', async () => {
          const a = field();
          const b = field();
          await sdk.insertCustomField(a);
          await sdk.insertCustomField(b);
          expect(await sdk.deleteCustomField(a.key)).toBe(true);
          expect(await sdk.findCustomField(a.key)).toBeUndefined();
          expect(await sdk.deleteCustomField(a.key)).toBe(false);
          expect(await sdk.listCustomFields()).toStrictEqual([b]);
          expect(await sdk.insertCustomField(a)).toBe(true);
        });
      });

      describe('captchas', () => {
        it('inserts and finds with every field as given', async () => {
          const a = captcha();
          const b = captcha({ ip: null, consumedAt: T + 1 });
          await sdk.insertCaptcha(a);
          await sdk.insertCaptcha(b);
          expect(await sdk.findCaptcha(a.id)).toStrictEqual(a);
          expect(await sdk.findCaptcha(b.id)).toStrictEqual(b);
          expect(await sdk.findCaptcha('missing')).toBeUndefined();
        });

        it('consumeCaptcha succeeds once, only before expiry (dead at expiresAt), and keeps the first time', async () => {
          const a = captcha({ expiresAt: T + 1000 });
          const late = captcha({ expiresAt: T + 1000 });
          await sdk.insertCaptcha(a);
          await sdk.insertCaptcha(late);
          expect(await sdk.consumeCaptcha(a.id, T + 999)).toBe(true);
          expect(await sdk.consumeCaptcha(a.id, T + 999)).toBe(false);
          expect(await sdk.findCaptcha(a.id)).toStrictEqual({ ...a, consumedAt: T + 999 });
          expect(await sdk.consumeCaptcha(late.id, T + 1000)).toBe(false);
          expect(await sdk.findCaptcha(late.id)).toStrictEqual(late);
          expect(await sdk.consumeCaptcha('missing', T)).toBe(false);
        });

        it('of 20 concurrent consumeCaptcha calls exactly one gets true', async () => {
          const a = captcha();
          await sdk.insertCaptcha(a);
          const results = await Promise.all(Array.from({ length: 20 }, (_, i) => sdk.consumeCaptcha(a.id, T + i)));
          expect(trues(results)).toBe(1);
          expect((await sdk.findCaptcha(a.id))?.consumedAt).toBe(T + results.indexOf(true));
        });
      });

      it('deleteExpired deletes captchas and reset tokens expired at or before now (used or not), and counts them', async () => {
        const u = await newUser();
        const v = await newUser();
        const now = T + 1_000_000;
        const cPast = captcha({ expiresAt: now - 1 });
        const cEdge = captcha({ expiresAt: now, consumedAt: now - 1 });
        const cLive = captcha({ expiresAt: now + 1 });
        for (const c of [cPast, cEdge, cLive]) await sdk.insertCaptcha(c);
        // Different users, so that one insert does not replace another.
        const tPast = resetToken(u.id, { expiresAt: now - 5, consumedAt: now - 6 });
        const tEdge = resetToken(u.id, { expiresAt: now });
        const tLive = resetToken(v.id, { expiresAt: now + 1 });
        for (const t of [tPast, tEdge, tLive]) await sdk.insertResetToken(t);

        expect(await sdk.deleteExpired(now)).toBe(4);
        for (const c of [cPast, cEdge]) expect(await sdk.findCaptcha(c.id)).toBeUndefined();
        for (const t of [tPast, tEdge]) expect(await sdk.findResetToken(t.tokenHash)).toBeUndefined();
        expect(await sdk.findCaptcha(cLive.id)).toStrictEqual(cLive);
        expect(await sdk.findResetToken(tLive.tokenHash)).toStrictEqual(tLive);
        expect(await sdk.deleteExpired(now)).toBe(0);
        expect(await sdk.deleteExpired(now + 1)).toBe(2);
      });

      describe('mergeIdentitiesInto', () => {
        const identity = (userId: string, provider: string): IdentityRecord => ({
          userId,
          provider,
          subject: uid('sub'),
          data: { p: provider },
          verified: true,
          imported: false,
          createdAt: T,
          updatedAt: T,
        });
        const ix = (accountId: string): OidcPayloadIndexes => ({ grantId: null, userCode: null, uid: null, accountId, clientId: null });

        it('moves every identity of the secondary user to the primary, deletes its OIDC artefacts and the user: linked', async () => {
          const primary = await newUser({ primaryEmail: 'primary@example.com', passwordHash: '$argon2id$x' });
          const secondary = await newUser();
          const pg = identity(primary.id, 'google');
          const sg = identity(secondary.id, 'github');
          const sw = identity(secondary.id, 'weixin');
          for (const r of [pg, sg, sw]) await store.identities.upsert(r);
          await store.oidcPayloads.upsert('Session', 'sec-session', {}, T + 1000, ix(secondary.id));
          await store.oidcPayloads.upsert('Session', 'pri-session', {}, T + 1000, ix(primary.id));

          expect(await sdk.mergeIdentitiesInto(primary.id, secondary.id)).toBe('linked');
          expect(await store.identities.listByUser(primary.id)).toStrictEqual([{ ...sg, userId: primary.id }, pg, { ...sw, userId: primary.id }]);
          expect(await store.identities.listByUser(secondary.id)).toEqual([]);
          expect(await store.users.findById(secondary.id)).toBeUndefined();
          expect(await store.oidcPayloads.find('Session', 'sec-session', T)).toBeUndefined();
          expect(await store.oidcPayloads.find('Session', 'pri-session', T)).toBeDefined();
          expect(await store.users.findById(primary.id)).toEqual(primary);
        });

        it('returns conflict and writes nothing when both have the provider, or the secondary user has a password, email or phone', async () => {
          const primary = await newUser();
          await store.identities.upsert(identity(primary.id, 'google'));
          const cases: Array<[string, Partial<UserRecord>, string]> = [
            ['same provider', {}, 'google'],
            ['password', { passwordHash: '$argon2id$v=19$x' }, 'github'],
            ['email', { primaryEmail: `${uid('m')}@example.com` }, 'github'],
            ['phone', { primaryPhone: `+1415555${String(seq % 10_000).padStart(4, '0')}` }, 'github'],
          ];
          for (const [why, overrides, provider] of cases) {
            const secondary = await newUser(overrides);
            const theirs = identity(secondary.id, provider);
            const extra = identity(secondary.id, 'apple');
            await store.identities.upsert(theirs);
            await store.identities.upsert(extra);
            await store.oidcPayloads.upsert('Session', `s-${secondary.id}`, {}, T + 1000, ix(secondary.id));

            expect(await sdk.mergeIdentitiesInto(primary.id, secondary.id), why).toBe('conflict');
            expect(await store.users.findById(secondary.id), why).toEqual(secondary);
            expect(await store.identities.listByUser(secondary.id), why).toStrictEqual([extra, theirs].sort(byKey((r) => r.provider)));
            expect(await store.oidcPayloads.find('Session', `s-${secondary.id}`, T), why).toBeDefined();
            expect((await store.identities.listByUser(primary.id)).map((r) => r.provider), why).toEqual(['google']);
          }
          // An unknown secondary user: conflict.
          expect(await sdk.mergeIdentitiesInto(primary.id, 'no-such-user')).toBe('conflict');
          expect((await store.identities.listByUser(primary.id)).map((r) => r.provider)).toEqual(['google']);
        });
      });
    });

    // ─────────────────────────────────────────── LeanCloudStore ──────────────────────────────────────────

    describe('LeanCloudStore', () => {
      const lc = () => store.leancloud;

      it('getAcl is undefined until set; setAcl writes, replaces, and with null removes the ACL', async () => {
        const u = await newUser();
        const v = await newUser();
        expect(await lc().getAcl(u.id)).toBeUndefined();
        const acl = { '*': { read: true }, [u.id]: { read: true, write: true }, 'role:admin': { write: true } };
        await lc().setAcl(u.id, acl);
        expect(await lc().getAcl(u.id)).toStrictEqual(acl);
        await lc().setAcl(u.id, { [u.id]: { read: true, write: true } });
        expect(await lc().getAcl(u.id)).toStrictEqual({ [u.id]: { read: true, write: true } });
        await lc().setAcl(v.id, { '*': { read: false } });
        await lc().setAcl(u.id, null);
        expect(await lc().getAcl(u.id)).toBeUndefined();
        expect(await lc().getAcl(v.id)).toStrictEqual({ '*': { read: false } });
        await lc().setAcl(u.id, null); // removing twice is fine
        expect(await lc().getAcl(u.id)).toBeUndefined();
      });

      it('getAcls returns the ACLs of the users that have one, for any number of ids', async () => {
        const a = await newUser();
        const b = await newUser();
        const c = await newUser();
        await lc().setAcl(a.id, { '*': { read: true } });
        await lc().setAcl(c.id, { [c.id]: { write: true } });
        const got = await lc().getAcls([a.id, b.id, c.id, 'missing']);
        expect([...got.entries()].sort(byKey(([k]) => k))).toStrictEqual(
          [
            [a.id, { '*': { read: true } }],
            [c.id, { [c.id]: { write: true } }],
          ].sort(byKey(([k]) => k as string)),
        );
        expect((await lc().getAcls([])).size).toBe(0);
        // Beyond one bounded IN list.
        const many = Array.from({ length: 1_200 }, (_, i) => `absent${i}`);
        many[0] = a.id;
        many[1_199] = c.id;
        const far = await lc().getAcls(many);
        expect(far.size).toBe(2);
        expect(far.get(c.id)).toStrictEqual({ [c.id]: { write: true } });
      });

      it('deleting a user deletes their ACL only', async () => {
        const u = await newUser();
        const v = await newUser();
        await lc().setAcl(u.id, { '*': { read: true } });
        await lc().setAcl(v.id, { '*': { read: true } });
        await store.users.delete(u.id);
        expect(await lc().getAcl(u.id)).toBeUndefined();
        expect(await db.selectFrom('lc_user_acl').select('user_id').where('user_id', '=', u.id).executeTakeFirst()).toBeUndefined();
        expect(await lc().getAcl(v.id)).toStrictEqual({ '*': { read: true } });
      });

      it('updateUserWith hands the current row to compute and applies its patch; undefined (compute not called) for a missing user', async () => {
        const u = await newUser({ name: 'before', customData: { n: 1, keep: 'x' } });
        let seen: UserRecord | undefined;
        const updated = await lc().updateUserWith(u.id, (current) => {
          seen = current;
          return { name: 'after', customData: { ...current.customData, n: (current.customData.n as number) + 1 }, updatedAt: T + 5 };
        });
        expect(seen).toEqual(u);
        const expected = { ...u, name: 'after', customData: { n: 2, keep: 'x' }, updatedAt: T + 5 };
        expect(updated).toEqual(expected);
        expect(await store.users.findById(u.id)).toEqual(expected);

        let called = false;
        expect(
          await lc().updateUserWith('missing', () => {
            called = true;
            return { name: 'ghost' };
          }),
        ).toBeUndefined();
        expect(called).toBe(false);
      });

      it('updateUserWith writes nothing when compute throws, and rethrows what it threw', async () => {
        const u = await newUser({ name: 'unchanged' });
        const boom = new Error('compute failed');
        const err = await lc()
          .updateUserWith(u.id, () => {
            throw boom;
          })
          .then(() => undefined, (e: unknown) => e);
        expect(err).toBe(boom);
        expect(await store.users.findById(u.id)).toEqual(u);
      });

      it('updateUserWith throws UniqueViolation naming the field and writes nothing on a collision', async () => {
        await newUser({ username: 'lc-taken', primaryEmail: 'lc-taken@example.com' });
        const u = await newUser({ username: 'lc-mine', name: 'mine' });
        for (const [patch, fieldName] of [
          [{ username: 'lc-taken', name: 'changed' }, 'username'],
          [{ primaryEmail: 'LC-Taken@Example.com', name: 'changed' }, 'email'],
        ] as const) {
          const err = await lc()
            .updateUserWith(u.id, () => patch)
            .then(() => undefined, (e: unknown) => e);
          expect(err).toBeInstanceOf(UniqueViolation);
          expect((err as UniqueViolation).field).toBe(fieldName);
          expect(await store.users.findById(u.id)).toEqual(u);
        }
      });

      it('20 concurrent read-modify-writes of one user never lose an update', async () => {
        const u = await newUser({ customData: { counter: 0 } });
        const results = await Promise.all(
          Array.from({ length: 20 }, () =>
            lc().updateUserWith(u.id, (current) => ({ customData: { counter: (current.customData.counter as number) + 1 } })),
          ),
        );
        expect(results.map((r) => r?.customData.counter).sort((a, b) => (a as number) - (b as number))).toEqual(
          Array.from({ length: 20 }, (_, i) => i + 1),
        );
        expect((await store.users.findById(u.id))?.customData).toEqual({ counter: 20 });
      });

      describe('scanUsers', () => {
        let p: string;
        let users: UserRecord[];
        beforeEach(async () => {
          p = uid('lc');
          users = [];
          for (let i = 1; i <= 5; i++) {
            users.push(
              await newUser({
                id: `${p}${i}`,
                username: `${p}-user${i}`,
                primaryEmail: i % 2 === 1 ? `${p}.Mail${i}@Example.com` : null,
                primaryPhone: i <= 2 ? `+861380013800${i}` : null,
                createdAt: T + i,
                updatedAt: T + 100 - i,
              }),
            );
          }
        });
        const scanIds = async (...args: Parameters<ReturnType<typeof lc>['scanUsers']>) => (await lc().scanUsers(...args)).map((u) => u.id);

        it('returns users in id order after afterId, up to limit (keyset paging), with every field', async () => {
          expect(await lc().scanUsers({}, null, 10)).toEqual(users);
          expect(await scanIds({}, null, 2)).toEqual([users[0]!.id, users[1]!.id]);
          expect(await scanIds({}, users[1]!.id, 2)).toEqual([users[2]!.id, users[3]!.id]);
          expect(await scanIds({}, users[3]!.id, 2)).toEqual([users[4]!.id]);
          expect(await scanIds({}, users[4]!.id, 2)).toEqual([]);
        });

        it('restricts to the given ids, usernames, lower-cased email keys and phones; an empty list matches nothing', async () => {
          expect(await scanIds({ ids: [users[3]!.id, users[0]!.id, 'missing'] }, null, 10)).toEqual([users[0]!.id, users[3]!.id]);
          expect(await scanIds({ ids: [] }, null, 10)).toEqual([]);
          expect(await scanIds({ usernames: [`${p}-user2`, `${p}-user5`, `${p}-USER3`] }, null, 10)).toEqual([users[1]!.id, users[4]!.id]);
          expect(await scanIds({ usernames: [] }, null, 10)).toEqual([]);
          expect(await scanIds({ emailKeys: [`${p}.mail3@example.com`, `${p}.Mail1@Example.com`] }, null, 10)).toEqual([users[2]!.id]);
          expect(await scanIds({ emailKeys: [] }, null, 10)).toEqual([]);
          expect(await scanIds({ phones: ['+8613800138002', '+8613800138009'] }, null, 10)).toEqual([users[1]!.id]);
          expect(await scanIds({ phones: [] }, null, 10)).toEqual([]);
          // Conditions combine with and, and with paging.
          expect(await scanIds({ ids: [users[0]!.id, users[1]!.id, users[2]!.id], phones: ['+8613800138001', '+8613800138002'] }, users[0]!.id, 10)).toEqual([
            users[1]!.id,
          ]);
        });

        it('restricts createdAt and updatedAt by gt, gte, lt and lte (ms, bounds as given)', async () => {
          const ids = (...n: number[]) => n.map((i) => users[i - 1]!.id);
          expect(await scanIds({ createdAt: { gt: T + 2 } }, null, 10)).toEqual(ids(3, 4, 5));
          expect(await scanIds({ createdAt: { gte: T + 2 } }, null, 10)).toEqual(ids(2, 3, 4, 5));
          expect(await scanIds({ createdAt: { lt: T + 2 } }, null, 10)).toEqual(ids(1));
          expect(await scanIds({ createdAt: { lte: T + 2 } }, null, 10)).toEqual(ids(1, 2));
          expect(await scanIds({ createdAt: { gt: T + 1, lt: T + 5 } }, null, 10)).toEqual(ids(2, 3, 4));
          expect(await scanIds({ updatedAt: { gte: T + 97, lte: T + 98 } }, null, 10)).toEqual(ids(2, 3));
          expect(await scanIds({ createdAt: { gte: T + 2 }, updatedAt: { gt: T + 96 } }, null, 10)).toEqual(ids(2, 3));
          expect(await scanIds({ createdAt: { gt: T + 5 } }, null, 10)).toEqual([]);
        });
      });
    });

    // ────────────────────────── parts of the Store aggregate the first suite leaves out ──────────────────────────

    describe('Store: deleteAccount, users.findByAccessToken, verifications.listLive', () => {
      const ix = (o: Partial<OidcPayloadIndexes> = {}): OidcPayloadIndexes => ({ grantId: null, userCode: null, uid: null, accountId: null, clientId: null, ...o });

      it('users.findByAccessToken returns the live AccessToken and the user it names, in one lookup', async () => {
        const u = await newUser({ username: 'token-owner' });
        const token = { accountId: u.id, clientId: 'spa', scope: 'openid profile', kind: 'AccessToken', jti: 'tok-1' };
        await store.oidcPayloads.upsert('AccessToken', 'tok-1', token, T + 1000, ix({ accountId: u.id, clientId: 'spa' }));
        expect(await store.users.findByAccessToken('tok-1', T + 999)).toEqual({ user: u, token });
        // Expired at expiresAt, unknown, another model, or a token whose user is gone: undefined.
        expect(await store.users.findByAccessToken('tok-1', T + 1000)).toBeUndefined();
        expect(await store.users.findByAccessToken('tok-2', T)).toBeUndefined();
        await store.oidcPayloads.upsert('RefreshToken', 'rt-1', token, T + 1000, ix({ accountId: u.id }));
        expect(await store.users.findByAccessToken('rt-1', T)).toBeUndefined();
        await store.oidcPayloads.upsert('AccessToken', 'orphan', { accountId: 'gone' }, null, ix({ accountId: 'gone' }));
        expect(await store.users.findByAccessToken('orphan', T)).toBeUndefined();
        await store.oidcPayloads.upsert('AccessToken', 'forever', token, null, ix({ accountId: u.id }));
        expect((await store.users.findByAccessToken('forever', T + 10 * 365 * 86_400_000))?.user).toEqual(u);
      });

      it('deleteAccount deletes the user, their OIDC artefacts and (by cascade) everything of theirs; false when there is none', async () => {
        const u = await newUser();
        const v = await newUser();
        const exp = T + 60_000;
        await store.oidcPayloads.upsert('Session', 'u-sess', {}, exp, ix({ uid: 'u-uid', accountId: u.id }));
        await store.oidcPayloads.upsert('Grant', 'u-grant', {}, exp, ix({ grantId: 'u-grant', accountId: u.id }));
        await store.oidcPayloads.upsert('AccessToken', 'u-at', {}, exp, ix({ grantId: 'u-grant', accountId: u.id }));
        await store.oidcPayloads.upsert('AccessToken', 'v-at', {}, exp, ix({ accountId: v.id }));
        await store.sessions.insert({ id: uid('ses'), userId: u.id, tokenHash: hex64(), amr: ['pwd'], ip: null, userAgent: null, createdAt: T, lastUsedAt: T, expiresAt: exp });
        await store.identities.upsert({ userId: u.id, provider: 'google', subject: uid('g'), data: {}, createdAt: T, updatedAt: T });
        const patHash = hex64();
        await store.personalAccessTokens.insert({ id: uid('pat'), userId: u.id, name: 'n', tokenHash: patHash, createdAt: T, expiresAt: null });
        const factorId = uid('mf');
        await store.mfa.insertFactor({
          id: factorId,
          userId: u.id,
          type: 'totp',
          name: null,
          secret: 'S',
          lastTotpStep: null,
          credentialId: null,
          publicKey: null,
          counter: 0,
          transports: null,
          agent: null,
          createdAt: T,
          lastUsedAt: null,
        });

        expect(await store.deleteAccount(u.id)).toBe(true);
        expect(await store.users.findById(u.id)).toBeUndefined();
        for (const [m, id] of [['Session', 'u-sess'], ['Grant', 'u-grant'], ['AccessToken', 'u-at']] as const) {
          expect(await store.oidcPayloads.find(m, id, T), id).toBeUndefined();
        }
        expect(await store.sessions.listByUser(u.id)).toEqual([]);
        expect(await store.identities.listByUser(u.id)).toEqual([]);
        expect(await store.personalAccessTokens.findByHash(patHash)).toBeUndefined();
        expect(await store.mfa.listFactors(u.id)).toEqual([]);

        expect(await store.oidcPayloads.find('AccessToken', 'v-at', T)).toBeDefined();
        expect(await store.users.findById(v.id)).toEqual(v);
        expect(await store.deleteAccount(u.id)).toBe(false);
      });

      it('verifications.listLive lists live code records of a type and purpose, newest first, up to limit', async () => {
        const now = T + 100_000;
        const rec = (o: Partial<VerificationRecord>): VerificationRecord => ({
          id: uid('vrf'),
          type: 'email_code',
          purpose: 'SignIn',
          identifierType: 'email',
          identifier: 'x@example.com',
          userId: null,
          codeHash: hex64(),
          linkHash: null,
          attempts: 0,
          ip: null,
          createdAt: T,
          expiresAt: now + 10_000,
          verifiedAt: null,
          consumedAt: null,
          ...o,
        });
        const a = rec({ createdAt: T + 1 });
        const b = rec({ createdAt: T + 3, expiresAt: now + 1 });
        const c = rec({ createdAt: T + 2 });
        const consumed = rec({ createdAt: T + 4, consumedAt: T + 5 });
        const expired = rec({ createdAt: T + 5, expiresAt: now });
        const otherPurpose = rec({ createdAt: T + 6, purpose: 'Register' });
        const otherType = rec({ createdAt: T + 7, type: 'phone_code', identifierType: 'phone', identifier: '+14155550100' });
        for (const r of [a, b, c, consumed, expired, otherPurpose, otherType]) await store.verifications.insert(r);
        expect(await store.verifications.listLive('email_code', 'SignIn', now, 10)).toStrictEqual([b, c, a]);
        expect(await store.verifications.listLive('email_code', 'SignIn', now, 2)).toStrictEqual([b, c]);
        expect(await store.verifications.listLive('email_code', 'SignIn', now + 1, 10)).toStrictEqual([c, a]);
        expect(await store.verifications.listLive('phone_code', 'SignIn', now, 10)).toStrictEqual([otherType]);
        expect(await store.verifications.listLive('email_code', 'ForgotPassword', now, 10)).toEqual([]);
      });
    });
  });
}

forEachStorage(storeSuite);
