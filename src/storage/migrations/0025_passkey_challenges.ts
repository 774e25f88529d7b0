import type { Kysely, Migration } from 'kysely';

/**
 * Passkey-first sign-in (issue 14 §2, domain/mfa/index.ts `passkeySignInOptions` / `signInWithPasskey`):
 * - `passkey_challenges`: the WebAuthn challenge of a usernameless sign-in, asked before anyone is
 *   identified, so it has no user (which `mfa_challenges.user_id NOT NULL` requires). Keyed by the
 *   SHA-256 hex of the challenge id (the id is a 256-bit bearer secret held by the client and never
 *   stored), with the base64url challenge, a 5-minute expiry and `consumed_at` (single use: one
 *   conditional update). Expired rows are deleted by `MfaStore.deleteExpired`.
 */
export const migration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('passkey_challenges')
      .addColumn('id_hash', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('challenge', 'varchar(128)', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('consumed_at', 'bigint')
      .execute();
    await db.schema.createIndex('passkey_challenges_expires_idx').on('passkey_challenges').column('expires_at').execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('passkey_challenges').execute();
  },
};
