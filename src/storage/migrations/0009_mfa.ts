import { type Kysely, type Migration, sql } from 'kysely';

/**
 * Multi-factor authentication (issue 7 §4, domain/mfa/index.ts):
 * - `mfa_factors`: one enrolled factor of a user — `type` `totp` | `backup_codes` | `webauthn`.
 *   TOTP keeps its base32 `secret` (needed to check codes; never returned by any API after enrolment)
 *   and `last_totp_step`, the RFC 6238 time step of the last accepted code: a code is accepted only
 *   by an update that raises it (one statement), so a code cannot be replayed. WebAuthn keeps the
 *   credential id (base64url, unique), COSE public key (base64url), signature `counter`, `transports`
 *   (JSON array), `agent` (User-Agent at enrolment) and a display `name`.
 * - `mfa_backup_codes`: the backup codes of a `backup_codes` factor as SHA-256 hashes (salted with
 *   the factor id), each single use (`used_at`).
 * - `mfa_pending_sign_ins`: a sign-in whose first factor succeeded and that waits for the second
 *   (`kind` `verify`) or for enrolment under policy `required` (`kind` `enroll`): SHA-256 of the
 *   pending-sign-in id (the id is a 256-bit bearer secret), the user, the first factor's `amr` (JSON),
 *   wrong attempts, 5-minute expiry, single use (`consumed_at`).
 * - `mfa_challenges`: WebAuthn challenges kept server-side, single use and expiring —
 *   `registration` (its id is the Verification API `verificationRecordId`; `result` holds the
 *   verified credential until it is bound) and `authentication` (tied to a pending sign-in).
 * A user has at most one TOTP factor (partial unique index). Rows go with their user (foreign keys, cascade).
 */
export const migration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('mfa_factors')
      .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
      .addColumn('user_id', 'varchar(64)', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('type', 'varchar(16)', (c) => c.notNull())
      .addColumn('name', 'varchar(256)')
      .addColumn('secret', 'text')
      .addColumn('last_totp_step', 'bigint')
      .addColumn('credential_id', 'varchar(1024)')
      .addColumn('public_key', 'text')
      .addColumn('counter', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('transports', 'text')
      .addColumn('agent', 'varchar(512)')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('last_used_at', 'bigint')
      .execute();
    await db.schema.createIndex('mfa_factors_user_idx').on('mfa_factors').column('user_id').execute();
    await db.schema.createIndex('mfa_factors_credential_idx').on('mfa_factors').column('credential_id').unique().execute();
    // At most one authenticator app per user, decided by the database (concurrent enrolments).
    await db.schema.createIndex('mfa_factors_one_totp_idx').on('mfa_factors').column('user_id').unique().where(sql.ref('type'), '=', 'totp').execute();
    await db.schema
      .createTable('mfa_backup_codes')
      .addColumn('factor_id', 'varchar(32)', (c) => c.notNull().references('mfa_factors.id').onDelete('cascade'))
      .addColumn('code_hash', 'varchar(64)', (c) => c.notNull())
      .addColumn('used_at', 'bigint')
      .addPrimaryKeyConstraint('mfa_backup_codes_pk', ['factor_id', 'code_hash'])
      .execute();
    await db.schema
      .createTable('mfa_pending_sign_ins')
      .addColumn('id_hash', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('user_id', 'varchar(64)', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('kind', 'varchar(16)', (c) => c.notNull())
      .addColumn('amr', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('consumed_at', 'bigint')
      .execute();
    await db.schema.createIndex('mfa_pending_sign_ins_expires_idx').on('mfa_pending_sign_ins').column('expires_at').execute();
    await db.schema
      .createTable('mfa_challenges')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('user_id', 'varchar(64)', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('kind', 'varchar(16)', (c) => c.notNull())
      .addColumn('challenge', 'varchar(128)', (c) => c.notNull())
      .addColumn('pending_id_hash', 'varchar(64)')
      .addColumn('result', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('verified_at', 'bigint')
      .addColumn('consumed_at', 'bigint')
      .execute();
    await db.schema.createIndex('mfa_challenges_expires_idx').on('mfa_challenges').column('expires_at').execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('mfa_challenges').execute();
    await db.schema.dropTable('mfa_pending_sign_ins').execute();
    await db.schema.dropTable('mfa_backup_codes').execute();
    await db.schema.dropTable('mfa_factors').execute();
  },
};
