import { type Kysely, type Migration, sql } from 'kysely';

/**
 * MFA attempt limits and slow backup-code hashes (security review of domain/mfa/index.ts):
 * - `mfa_failure_counts`: per user, the number of consecutive wrong second-factor attempts across
 *   pending sign-ins (NIST SP 800-63B-4 §3.2.2: at most 100 consecutive failures, `mfa.maxConsecutiveFailures`).
 *   A failure is reserved (counted) before the factor is verified, a success sets it back to 0, an admin
 *   reset (removing a factor through the Management API) deletes the row. Goes with its user (cascade).
 * - `mfa_backup_codes.code_hash` widens to `text`: backup codes are now stored as argon2id PHC strings
 *   (~97 characters; ASVS 6.5.2: look-up secrets under 112 bits need an approved password hash).
 *   SQLite does not enforce varchar lengths, so only PostgreSQL alters the column. Rows of the former
 *   salted SHA-256 format are no longer accepted by any code (no deployment holds them).
 */
export const migration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('mfa_failure_counts')
      .addColumn('user_id', 'varchar(64)', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
      .addColumn('failures', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    // Kysely compiles parameters as `$1` for PostgreSQL and `?` for SQLite (as in 0007_user_count).
    const postgres = sql`${0}`.compile(db).sql === '$1';
    if (postgres) await sql`alter table mfa_backup_codes alter column code_hash type text`.execute(db);
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('mfa_failure_counts').execute();
  },
};
