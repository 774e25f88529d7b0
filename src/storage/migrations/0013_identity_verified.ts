import type { Kysely, Migration } from 'kysely';

/**
 * Trust of third-party identities (security review, "authData claiming connector identities"):
 * `user_identities.verified` (default 0): 0 = written from client-supplied LeanCloud `authData`, which
 * nobody checked; 1 = written by a social connector (the provider proved the account: sign-in, sign-up,
 * Account API link); 2 = written by `tessera import leancloud` (the operator's own export). Client
 * authData may not sign in as, nor re-link, a row of value 1; connectors trust 1 and 2, and never a 0
 * row of another user. Existing rows become 0 (their origin is unknown).
 */
export const migration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('user_identities').addColumn('verified', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.alterTable('user_identities').dropColumn('verified').execute();
  },
};
