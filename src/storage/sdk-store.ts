import type { Kysely, Selectable } from 'kysely';
import type { CaptchasTable, CustomFieldsTable, Database, PasswordResetTokensTable } from './schema.js';
import { lockUserRow } from './locks.js';

/**
 * Storage of the SDK surface (issue 6, migration 0011_sdk): force-password-reset tokens, the password
 * security level of the current password, typed custom-field definitions and sign-in captchas.
 * Records are camelCase with timestamps in **milliseconds since the epoch**; secrets (reset tokens,
 * captcha answers) are stored only as SHA-256 hex.
 */

/** Why a user must reset their password: never signed in yet, or flagged after that. */
export type PasswordResetReason = 'first_login' | 'forced';

/** A force-password-reset token as stored (the token itself is never stored). */
export interface PasswordResetTokenRecord {
  tokenHash: string;
  userId: string;
  reason: PasswordResetReason;
  createdAt: number;
  expiresAt: number;
  consumedAt: number | null;
}

/** The five value types of a custom field (Authing's UDF data types). */
export type CustomFieldType = 'STRING' | 'NUMBER' | 'BOOLEAN' | 'DATETIME' | 'OBJECT';

/** A custom-field definition. */
export interface CustomFieldRecord {
  key: string;
  type: CustomFieldType;
  label: string | null;
  description: string | null;
  createdAt: number;
  updatedAt: number;
}

/** A captcha challenge as stored. */
export interface CaptchaRecord {
  id: string;
  /** SHA-256 hex of `id + ":" + normalised answer`. */
  answerHash: string;
  ip: string | null;
  createdAt: number;
  expiresAt: number;
  consumedAt: number | null;
}

/** The SDK surface's storage. */
export interface SdkStore {
  /** Replaces every unconsumed reset token of the user by this one. */
  insertResetToken(record: PasswordResetTokenRecord): Promise<void>;
  findResetToken(tokenHash: string): Promise<PasswordResetTokenRecord | undefined>;
  /** Sets `consumedAt` only if unset: of concurrent calls exactly one gets true. */
  consumeResetToken(tokenHash: string, at: number): Promise<boolean>;
  /** Un-consumes a token (the change it allowed failed). */
  releaseResetToken(tokenHash: string): Promise<void>;

  /** The recorded level of a user's password and the `passwordUpdatedAt` it belongs to. */
  getPasswordLevel(userId: string): Promise<{ level: number; passwordUpdatedAt: number } | undefined>;
  setPasswordLevel(userId: string, level: number, passwordUpdatedAt: number): Promise<void>;

  /** Every custom-field definition, by key. */
  listCustomFields(): Promise<CustomFieldRecord[]>;
  findCustomField(key: string): Promise<CustomFieldRecord | undefined>;
  /** @returns false when the key is taken (primary key decides races) */
  insertCustomField(record: CustomFieldRecord): Promise<boolean>;
  /** @returns the updated record, or undefined when there is no such key */
  updateCustomField(key: string, patch: { label?: string | null; description?: string | null; updatedAt: number }): Promise<CustomFieldRecord | undefined>;
  /** @returns true when a definition was deleted */
  deleteCustomField(key: string): Promise<boolean>;

  insertCaptcha(record: CaptchaRecord): Promise<void>;
  findCaptcha(id: string): Promise<CaptchaRecord | undefined>;
  /** Sets `consumedAt` only if unset and unexpired at `at`: of concurrent calls exactly one gets true. */
  consumeCaptcha(id: string, at: number): Promise<boolean>;
  /** Deletes expired captchas and reset tokens. @returns how many rows */
  deleteExpired(now: number): Promise<number>;
  /**
   * In one transaction: moves every third-party identity of `secondaryId` to `primaryId`, deletes the
   * secondary user's OIDC artefacts and the secondary user row — only while the secondary user has no
   * password, email or phone and the primary has no identity of the same provider.
   * @returns `linked`, or `conflict` (nothing written)
   */
  mergeIdentitiesInto(primaryId: string, secondaryId: string): Promise<'linked' | 'conflict'>;
}

const toToken = (r: Selectable<PasswordResetTokensTable>): PasswordResetTokenRecord => ({
  tokenHash: r.token_hash,
  userId: r.user_id,
  reason: r.reason as PasswordResetReason,
  createdAt: Number(r.created_at),
  expiresAt: Number(r.expires_at),
  consumedAt: r.consumed_at === null ? null : Number(r.consumed_at),
});

const toField = (r: Selectable<CustomFieldsTable>): CustomFieldRecord => ({
  key: r.key,
  type: r.type as CustomFieldType,
  label: r.label,
  description: r.description,
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
});

const toCaptcha = (r: Selectable<CaptchasTable>): CaptchaRecord => ({
  id: r.id,
  answerHash: r.answer_hash,
  ip: r.ip,
  createdAt: Number(r.created_at),
  expiresAt: Number(r.expires_at),
  consumedAt: r.consumed_at === null ? null : Number(r.consumed_at),
});

/** Kysely implementation of {@link SdkStore} (SQLite and PostgreSQL). */
export class KyselySdkStore implements SdkStore {
  constructor(private readonly db: Kysely<Database>) {}

  async insertResetToken(r: PasswordResetTokenRecord): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      // Concurrent issues for one user run one after another: exactly one unconsumed token survives.
      await lockUserRow(trx, r.userId);
      await trx.deleteFrom('password_reset_tokens').where('user_id', '=', r.userId).where('consumed_at', 'is', null).execute();
      await trx
        .insertInto('password_reset_tokens')
        .values({ token_hash: r.tokenHash, user_id: r.userId, reason: r.reason, created_at: r.createdAt, expires_at: r.expiresAt, consumed_at: r.consumedAt })
        .execute();
    });
  }

  async findResetToken(tokenHash: string) {
    const row = await this.db.selectFrom('password_reset_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
    return row ? toToken(row) : undefined;
  }

  async consumeResetToken(tokenHash: string, at: number) {
    const r = await this.db
      .updateTable('password_reset_tokens')
      .set({ consumed_at: at })
      .where('token_hash', '=', tokenHash)
      .where('consumed_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async releaseResetToken(tokenHash: string) {
    await this.db.updateTable('password_reset_tokens').set({ consumed_at: null }).where('token_hash', '=', tokenHash).execute();
  }

  async getPasswordLevel(userId: string) {
    const row = await this.db.selectFrom('password_levels').selectAll().where('user_id', '=', userId).executeTakeFirst();
    return row ? { level: Number(row.level), passwordUpdatedAt: Number(row.password_updated_at) } : undefined;
  }

  async setPasswordLevel(userId: string, level: number, passwordUpdatedAt: number) {
    await this.db
      .insertInto('password_levels')
      .values({ user_id: userId, level, password_updated_at: passwordUpdatedAt })
      .onConflict((oc) => oc.column('user_id').doUpdateSet({ level, password_updated_at: passwordUpdatedAt }))
      .execute();
  }

  async listCustomFields() {
    return (await this.db.selectFrom('custom_fields').selectAll().orderBy('key').execute()).map(toField);
  }

  async findCustomField(key: string) {
    const row = await this.db.selectFrom('custom_fields').selectAll().where('key', '=', key).executeTakeFirst();
    return row ? toField(row) : undefined;
  }

  async insertCustomField(r: CustomFieldRecord) {
    const res = await this.db
      .insertInto('custom_fields')
      .values({ key: r.key, type: r.type, label: r.label, description: r.description, created_at: r.createdAt, updated_at: r.updatedAt })
      .onConflict((oc) => oc.column('key').doNothing())
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  async updateCustomField(key: string, patch: { label?: string | null; description?: string | null; updatedAt: number }) {
    const set: Partial<CustomFieldsTable> = { updated_at: patch.updatedAt };
    if (patch.label !== undefined) set.label = patch.label;
    if (patch.description !== undefined) set.description = patch.description;
    const row = await this.db.updateTable('custom_fields').set(set).where('key', '=', key).returningAll().executeTakeFirst();
    return row ? toField(row) : undefined;
  }

  async deleteCustomField(key: string) {
    const r = await this.db.deleteFrom('custom_fields').where('key', '=', key).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async insertCaptcha(r: CaptchaRecord) {
    await this.db
      .insertInto('captchas')
      .values({ id: r.id, answer_hash: r.answerHash, ip: r.ip, created_at: r.createdAt, expires_at: r.expiresAt, consumed_at: r.consumedAt })
      .execute();
  }

  async findCaptcha(id: string) {
    const row = await this.db.selectFrom('captchas').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toCaptcha(row) : undefined;
  }

  async consumeCaptcha(id: string, at: number) {
    const r = await this.db
      .updateTable('captchas')
      .set({ consumed_at: at })
      .where('id', '=', id)
      .where('consumed_at', 'is', null)
      .where('expires_at', '>', at)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async mergeIdentitiesInto(primaryId: string, secondaryId: string): Promise<'linked' | 'conflict'> {
    const conflict = new Error('link conflict');
    try {
      await this.db.transaction().execute(async (trx) => {
        const mine = await trx.selectFrom('user_identities').select('provider').where('user_id', '=', primaryId).execute();
        const theirs = await trx.selectFrom('user_identities').select('provider').where('user_id', '=', secondaryId).execute();
        const taken = new Set(mine.map((r) => r.provider));
        if (theirs.some((r) => taken.has(r.provider))) throw conflict;
        await trx.updateTable('user_identities').set({ user_id: primaryId }).where('user_id', '=', secondaryId).execute();
        await trx.deleteFrom('oidc_payloads').where('account_id', '=', secondaryId).execute();
        const r = await trx
          .deleteFrom('users')
          .where('id', '=', secondaryId)
          .where('password_hash', 'is', null)
          .where('primary_email', 'is', null)
          .where('primary_phone', 'is', null)
          .executeTakeFirst();
        if (Number(r.numDeletedRows) !== 1) throw conflict;
      });
    } catch (error) {
      if (error === conflict) return 'conflict';
      throw error;
    }
    return 'linked';
  }

  async deleteExpired(now: number) {
    const a = await this.db.deleteFrom('captchas').where('expires_at', '<=', now).executeTakeFirst();
    const b = await this.db.deleteFrom('password_reset_tokens').where('expires_at', '<=', now).executeTakeFirst();
    return Number(a.numDeletedRows) + Number(b.numDeletedRows);
  }
}
