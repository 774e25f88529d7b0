import { type Kysely, type Selectable, sql } from 'kysely';
import { isUniqueError } from './identity-store.js';
import type { Database, MfaChallengesTable, MfaFactorsTable, MfaPendingSignInsTable } from './schema.js';
import { lockUserRow } from './locks.js';

/** The kinds of factor a user can enrol. */
export type MfaFactorType = 'totp' | 'backup_codes' | 'webauthn';

/** An enrolled factor. Times in ms since the epoch. `secret` and `publicKey` never leave the domain. */
export interface MfaFactorRecord {
  id: string;
  userId: string;
  type: MfaFactorType;
  name: string | null;
  /** TOTP: the base32 shared secret (RFC 6238). */
  secret: string | null;
  /** TOTP: the time step (floor(unix seconds / 30)) of the last accepted code. */
  lastTotpStep: number | null;
  /** WebAuthn: the credential id, base64url. */
  credentialId: string | null;
  /** WebAuthn: the COSE public key, base64url. */
  publicKey: string | null;
  /** WebAuthn: the authenticator's signature counter. */
  counter: number;
  transports: string[] | null;
  /** WebAuthn: the User-Agent of the enrolling browser. */
  agent: string | null;
  createdAt: number;
  lastUsedAt: number | null;
}

/** One backup code of a `backup_codes` factor (only its hash: an argon2id PHC string since migration 0014). */
export interface MfaBackupCodeRecord {
  factorId: string;
  codeHash: string;
  usedAt: number | null;
}

/** A sign-in waiting for its second factor (`verify`) or for enrolment (`enroll`). Times in ms. */
export interface MfaPendingSignInRecord {
  /** SHA-256 hex of the pending-sign-in id (the id itself is never stored). */
  idHash: string;
  userId: string;
  kind: 'verify' | 'enroll';
  /** RFC 8176 methods of the first factor. */
  amr: string[];
  attempts: number;
  createdAt: number;
  expiresAt: number;
  consumedAt: number | null;
}

/** A WebAuthn challenge kept server-side. Times in ms. */
export interface MfaChallengeRecord {
  id: string;
  userId: string;
  kind: 'registration' | 'authentication';
  /** base64url challenge sent to the authenticator. */
  challenge: string;
  /** For `authentication`: the pending sign-in it belongs to. */
  pendingIdHash: string | null;
  /** For a verified `registration`: JSON of the credential to bind. */
  result: string | null;
  createdAt: number;
  expiresAt: number;
  verifiedAt: number | null;
  consumedAt: number | null;
}

/**
 * The challenge of a usernameless passkey sign-in (no user yet, migration 0025). Times in ms since the
 * epoch.
 */
export interface PasskeyChallengeRecord {
  /** SHA-256 hex of the challenge id (the id is a bearer secret, never stored). */
  idHash: string;
  /** base64url challenge sent to the authenticator. */
  challenge: string;
  createdAt: number;
  expiresAt: number;
  consumedAt: number | null;
}

/** Storage of MFA factors, backup codes, pending sign-ins and WebAuthn challenges. */
export interface MfaStore {
  /**
   * Inserts a factor and, for a `backup_codes` factor, its code hashes, in one transaction.
   * @returns false (nothing written) when the user already has a TOTP factor or the WebAuthn
   *   credential id is registered (unique indexes decide races)
   */
  insertFactor(factor: MfaFactorRecord, codeHashes?: string[]): Promise<boolean>;
  /**
   * Replaces the user's `backup_codes` factors by `factor` with `codeHashes`, in one transaction.
   */
  replaceBackupCodes(factor: MfaFactorRecord, codeHashes: string[]): Promise<void>;
  /**
   * Replaces the user's `totp` factor by `factor` (a new id), or inserts it when there is none, in one
   * statement (concurrent replacements of one user: the last one stays).
   */
  replaceTotp(factor: MfaFactorRecord): Promise<void>;
  /** Sets the display name of the `webauthn` factor `id` of `userId`. @returns false when there is none. */
  renameWebAuthn(userId: string, id: string, name: string): Promise<boolean>;
  /** The user's factors, oldest first. */
  listFactors(userId: string): Promise<MfaFactorRecord[]>;
  /** The factor `id` only if it belongs to `userId`. */
  findFactor(userId: string, id: string): Promise<MfaFactorRecord | undefined>;
  /** A WebAuthn factor by credential id (any user). */
  findByCredentialId(credentialId: string): Promise<MfaFactorRecord | undefined>;
  /** Deletes the factor `id` of `userId` (its codes cascade). @returns true when deleted. */
  deleteFactor(userId: string, id: string): Promise<boolean>;
  /**
   * Accepts a TOTP time step: one statement sets `last_totp_step = step` only while the stored step
   * is null or lower, so of two uses of one code exactly one wins. @returns true when accepted.
   */
  acceptTotpStep(factorId: string, step: number, at: number): Promise<boolean>;
  /**
   * Uses a WebAuthn credential: sets `counter = newCounter` only while the stored counter is
   * `expected` (compare-and-set). @returns true when updated.
   */
  updateWebAuthnCounter(factorId: string, expected: number, newCounter: number, at: number): Promise<boolean>;
  /** The backup codes of a factor. */
  listBackupCodes(factorId: string): Promise<MfaBackupCodeRecord[]>;
  /** Marks one unused code used, in one statement. @returns true when this call used it. */
  useBackupCode(factorId: string, codeHash: string, at: number): Promise<boolean>;

  insertPending(record: MfaPendingSignInRecord): Promise<void>;
  findPending(idHash: string): Promise<MfaPendingSignInRecord | undefined>;
  /**
   * Reserves one verification attempt of a pending sign-in before the factor is checked: one
   * conditional statement `attempts = attempts + 1` only while `attempts < maxAttempts`, unconsumed and
   * unexpired at `now` (ms), so of N concurrent callers at most `maxAttempts - attempts` get true.
   * @returns false (nothing changed) when the pending sign-in is unknown, used, expired or out of attempts
   */
  reservePendingAttempt(idHash: string, now: number, maxAttempts: number): Promise<boolean>;
  /**
   * Reserves one consecutive second-factor failure of the user before the factor is checked (the caller
   * resets it with {@link resetFailures} on success): creates the counter row if missing, then one
   * conditional statement `failures = failures + 1` only while `failures < max`.
   * @returns false (nothing changed) when the user already has `max` consecutive failures (locked)
   */
  reserveFailure(userId: string, max: number, at: number): Promise<boolean>;
  /** Sets the user's consecutive second-factor failures back to 0 (a correct second factor). */
  resetFailures(userId: string, at: number): Promise<void>;
  /** Forgets the user's consecutive second-factor failures (admin reset). */
  clearFailures(userId: string): Promise<void>;
  /** Sets `consumed_at` only if unset and unexpired: of concurrent calls exactly one gets true. */
  consumePending(idHash: string, at: number): Promise<boolean>;

  insertChallenge(record: MfaChallengeRecord): Promise<void>;
  findChallenge(id: string): Promise<MfaChallengeRecord | undefined>;
  /** Records a verified registration result, only while unverified and unconsumed. @returns true when set. */
  markChallengeVerified(id: string, result: string, at: number): Promise<boolean>;
  /** Sets `consumed_at` only if unset: exactly one concurrent caller gets true. */
  consumeChallenge(id: string, at: number): Promise<boolean>;
  /** Deletes a challenge (a new authentication challenge replaces the previous one). */
  deleteChallenge(id: string): Promise<void>;

  /** Stores the challenge of a usernameless passkey sign-in. */
  insertPasskeyChallenge(record: PasskeyChallengeRecord): Promise<void>;
  /**
   * Consumes a passkey sign-in challenge: one conditional update sets `consumed_at = at` only while it
   * is unset and `expires_at > at`, so of concurrent callers at most one gets the challenge.
   * @returns the base64url challenge, or undefined when unknown, used or expired
   */
  consumePasskeyChallenge(idHash: string, at: number): Promise<string | undefined>;
  /**
   * Deletes pending sign-ins, WebAuthn challenges and passkey sign-in challenges whose expiry is at or
   * before `now`. @returns how many.
   */
  deleteExpired(now: number): Promise<number>;
}

const parseJson = <T>(text: string | null, fallback: T): T => {
  if (text === null) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
};

function toFactor(row: Selectable<MfaFactorsTable>): MfaFactorRecord {
  return {
    id: row.id,
    userId: row.user_id,
    type: row.type as MfaFactorType,
    name: row.name,
    secret: row.secret,
    lastTotpStep: row.last_totp_step === null ? null : Number(row.last_totp_step),
    credentialId: row.credential_id,
    publicKey: row.public_key,
    counter: Number(row.counter),
    transports: parseJson<string[] | null>(row.transports, null),
    agent: row.agent,
    createdAt: Number(row.created_at),
    lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
  };
}

function factorRow(f: MfaFactorRecord): MfaFactorsTable {
  return {
    id: f.id,
    user_id: f.userId,
    type: f.type,
    name: f.name,
    secret: f.secret,
    last_totp_step: f.lastTotpStep,
    credential_id: f.credentialId,
    public_key: f.publicKey,
    counter: f.counter,
    transports: f.transports === null ? null : JSON.stringify(f.transports),
    agent: f.agent,
    created_at: f.createdAt,
    last_used_at: f.lastUsedAt,
  };
}

function toPending(row: Selectable<MfaPendingSignInsTable>): MfaPendingSignInRecord {
  return {
    idHash: row.id_hash,
    userId: row.user_id,
    kind: row.kind as MfaPendingSignInRecord['kind'],
    amr: parseJson<string[]>(row.amr, []),
    attempts: Number(row.attempts),
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    consumedAt: row.consumed_at === null ? null : Number(row.consumed_at),
  };
}

function toChallenge(row: Selectable<MfaChallengesTable>): MfaChallengeRecord {
  return {
    id: row.id,
    userId: row.user_id,
    kind: row.kind as MfaChallengeRecord['kind'],
    challenge: row.challenge,
    pendingIdHash: row.pending_id_hash,
    result: row.result,
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    verifiedAt: row.verified_at === null ? null : Number(row.verified_at),
    consumedAt: row.consumed_at === null ? null : Number(row.consumed_at),
  };
}

/** Kysely implementation of {@link MfaStore} (SQLite and PostgreSQL). */
export class KyselyMfaStore implements MfaStore {
  constructor(private readonly db: Kysely<Database>) {}

  async insertFactor(factor: MfaFactorRecord, codeHashes: string[] = []): Promise<boolean> {
    try {
      await this.db.transaction().execute(async (trx) => {
        await trx.insertInto('mfa_factors').values(factorRow(factor)).execute();
        if (codeHashes.length > 0) {
          await trx.insertInto('mfa_backup_codes').values(codeHashes.map((h) => ({ factor_id: factor.id, code_hash: h, used_at: null }))).execute();
        }
      });
      return true;
    } catch (error) {
      if (isUniqueError(error)) return false;
      throw error;
    }
  }

  async replaceBackupCodes(factor: MfaFactorRecord, codeHashes: string[]): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      // Concurrent replacements of one user run one after another: exactly one set survives.
      await lockUserRow(trx, factor.userId);
      const old = await trx.selectFrom('mfa_factors').select('id').where('user_id', '=', factor.userId).where('type', '=', 'backup_codes').execute();
      if (old.length > 0) {
        const ids = old.map((r) => r.id);
        await trx.deleteFrom('mfa_backup_codes').where('factor_id', 'in', ids).execute();
        await trx.deleteFrom('mfa_factors').where('id', 'in', ids).execute();
      }
      await trx.insertInto('mfa_factors').values(factorRow(factor)).execute();
      await trx.insertInto('mfa_backup_codes').values(codeHashes.map((h) => ({ factor_id: factor.id, code_hash: h, used_at: null }))).execute();
    });
  }

  async replaceTotp(factor: MfaFactorRecord): Promise<void> {
    // One statement against the one-TOTP-per-user partial unique index (migration 0009): insert, or
    // overwrite the user's TOTP row in place (new id, secret and times). Concurrent replacements of one
    // user serialize on that index, on SQLite and PostgreSQL alike; the last one stays.
    const row = factorRow(factor);
    await this.db
      .insertInto('mfa_factors')
      .values(row)
      .onConflict((oc) =>
        oc
          .column('user_id')
          // A literal, not a parameter: SQLite matches the conflict target to the partial index by its text.
          .where('type', '=', sql.lit('totp'))
          .doUpdateSet({ id: row.id, name: row.name, secret: row.secret, last_totp_step: row.last_totp_step, created_at: row.created_at, last_used_at: row.last_used_at }),
      )
      .execute();
  }

  async renameWebAuthn(userId: string, id: string, name: string): Promise<boolean> {
    const r = await this.db
      .updateTable('mfa_factors')
      .set({ name })
      .where('id', '=', id)
      .where('user_id', '=', userId)
      .where('type', '=', 'webauthn')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async listFactors(userId: string): Promise<MfaFactorRecord[]> {
    const rows = await this.db.selectFrom('mfa_factors').selectAll().where('user_id', '=', userId).orderBy('created_at', 'asc').orderBy('id', 'asc').execute();
    return rows.map(toFactor);
  }

  async findFactor(userId: string, id: string): Promise<MfaFactorRecord | undefined> {
    const row = await this.db.selectFrom('mfa_factors').selectAll().where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
    return row ? toFactor(row) : undefined;
  }

  async findByCredentialId(credentialId: string): Promise<MfaFactorRecord | undefined> {
    const row = await this.db.selectFrom('mfa_factors').selectAll().where('credential_id', '=', credentialId).executeTakeFirst();
    return row ? toFactor(row) : undefined;
  }

  async deleteFactor(userId: string, id: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const found = await trx.selectFrom('mfa_factors').select('id').where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
      if (!found) return false;
      await trx.deleteFrom('mfa_backup_codes').where('factor_id', '=', id).execute();
      const r = await trx.deleteFrom('mfa_factors').where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    });
  }

  async acceptTotpStep(factorId: string, step: number, at: number): Promise<boolean> {
    const r = await this.db
      .updateTable('mfa_factors')
      .set({ last_totp_step: step, last_used_at: at })
      .where('id', '=', factorId)
      .where('type', '=', 'totp')
      .where((eb) => eb.or([eb('last_totp_step', 'is', null), eb('last_totp_step', '<', step)]))
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async updateWebAuthnCounter(factorId: string, expected: number, newCounter: number, at: number): Promise<boolean> {
    const r = await this.db
      .updateTable('mfa_factors')
      .set({ counter: newCounter, last_used_at: at })
      .where('id', '=', factorId)
      .where('counter', '=', expected)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async listBackupCodes(factorId: string): Promise<MfaBackupCodeRecord[]> {
    const rows = await this.db.selectFrom('mfa_backup_codes').selectAll().where('factor_id', '=', factorId).orderBy('code_hash').execute();
    return rows.map((r) => ({ factorId: r.factor_id, codeHash: r.code_hash, usedAt: r.used_at === null ? null : Number(r.used_at) }));
  }

  async useBackupCode(factorId: string, codeHash: string, at: number): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const r = await trx
        .updateTable('mfa_backup_codes')
        .set({ used_at: at })
        .where('factor_id', '=', factorId)
        .where('code_hash', '=', codeHash)
        .where('used_at', 'is', null)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) return false;
      await trx.updateTable('mfa_factors').set({ last_used_at: at }).where('id', '=', factorId).execute();
      return true;
    });
  }

  async insertPending(p: MfaPendingSignInRecord): Promise<void> {
    await this.db
      .insertInto('mfa_pending_sign_ins')
      .values({
        id_hash: p.idHash,
        user_id: p.userId,
        kind: p.kind,
        amr: JSON.stringify(p.amr),
        attempts: p.attempts,
        created_at: p.createdAt,
        expires_at: p.expiresAt,
        consumed_at: p.consumedAt,
      })
      .execute();
  }

  async findPending(idHash: string): Promise<MfaPendingSignInRecord | undefined> {
    const row = await this.db.selectFrom('mfa_pending_sign_ins').selectAll().where('id_hash', '=', idHash).executeTakeFirst();
    return row ? toPending(row) : undefined;
  }

  async reservePendingAttempt(idHash: string, now: number, maxAttempts: number): Promise<boolean> {
    const r = await this.db
      .updateTable('mfa_pending_sign_ins')
      .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
      .where('id_hash', '=', idHash)
      .where('attempts', '<', maxAttempts)
      .where('consumed_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async reserveFailure(userId: string, max: number, at: number): Promise<boolean> {
    await this.db
      .insertInto('mfa_failure_counts')
      .values({ user_id: userId, failures: 0, updated_at: at })
      .onConflict((oc) => oc.column('user_id').doNothing())
      .execute();
    const r = await this.db
      .updateTable('mfa_failure_counts')
      .set((eb) => ({ failures: eb('failures', '+', 1), updated_at: at }))
      .where('user_id', '=', userId)
      .where('failures', '<', max)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async resetFailures(userId: string, at: number): Promise<void> {
    await this.db.updateTable('mfa_failure_counts').set({ failures: 0, updated_at: at }).where('user_id', '=', userId).execute();
  }

  async clearFailures(userId: string): Promise<void> {
    await this.db.deleteFrom('mfa_failure_counts').where('user_id', '=', userId).execute();
  }

  async consumePending(idHash: string, at: number): Promise<boolean> {
    const r = await this.db
      .updateTable('mfa_pending_sign_ins')
      .set({ consumed_at: at })
      .where('id_hash', '=', idHash)
      .where('consumed_at', 'is', null)
      .where('expires_at', '>', at)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async insertChallenge(c: MfaChallengeRecord): Promise<void> {
    await this.db
      .insertInto('mfa_challenges')
      .values({
        id: c.id,
        user_id: c.userId,
        kind: c.kind,
        challenge: c.challenge,
        pending_id_hash: c.pendingIdHash,
        result: c.result,
        created_at: c.createdAt,
        expires_at: c.expiresAt,
        verified_at: c.verifiedAt,
        consumed_at: c.consumedAt,
      })
      .execute();
  }

  async findChallenge(id: string): Promise<MfaChallengeRecord | undefined> {
    const row = await this.db.selectFrom('mfa_challenges').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toChallenge(row) : undefined;
  }

  async markChallengeVerified(id: string, result: string, at: number): Promise<boolean> {
    const r = await this.db
      .updateTable('mfa_challenges')
      .set({ result, verified_at: at })
      .where('id', '=', id)
      .where('verified_at', 'is', null)
      .where('consumed_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async consumeChallenge(id: string, at: number): Promise<boolean> {
    const r = await this.db.updateTable('mfa_challenges').set({ consumed_at: at }).where('id', '=', id).where('consumed_at', 'is', null).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async deleteChallenge(id: string): Promise<void> {
    await this.db.deleteFrom('mfa_challenges').where('id', '=', id).execute();
  }

  async insertPasskeyChallenge(c: PasskeyChallengeRecord): Promise<void> {
    await this.db
      .insertInto('passkey_challenges')
      .values({ id_hash: c.idHash, challenge: c.challenge, created_at: c.createdAt, expires_at: c.expiresAt, consumed_at: c.consumedAt })
      .execute();
  }

  async consumePasskeyChallenge(idHash: string, at: number): Promise<string | undefined> {
    const r = await this.db
      .updateTable('passkey_challenges')
      .set({ consumed_at: at })
      .where('id_hash', '=', idHash)
      .where('consumed_at', 'is', null)
      .where('expires_at', '>', at)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) return undefined;
    // Only the caller whose update won reads the (immutable) challenge.
    const row = await this.db.selectFrom('passkey_challenges').select('challenge').where('id_hash', '=', idHash).executeTakeFirst();
    return row?.challenge;
  }

  async deleteExpired(now: number): Promise<number> {
    const a = await this.db.deleteFrom('mfa_challenges').where('expires_at', '<=', now).executeTakeFirst();
    const b = await this.db.deleteFrom('mfa_pending_sign_ins').where('expires_at', '<=', now).executeTakeFirst();
    const c = await this.db.deleteFrom('passkey_challenges').where('expires_at', '<=', now).executeTakeFirst();
    return Number(a.numDeletedRows) + Number(b.numDeletedRows) + Number(c.numDeletedRows);
  }
}
