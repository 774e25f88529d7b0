import type { Kysely, Migration } from 'kysely';

/**
 * Third-party applications (logto.md §1.3, "first-party guard"): `applications.is_third_party` (0/1,
 * default 0). A third-party application's users see a consent screen at /oidc, and its access tokens
 * may read the Account API but not change anything there (403 `auth.third_party_application_forbidden`).
 */
export const migration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('applications').addColumn('is_third_party', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.alterTable('applications').dropColumn('is_third_party').execute();
  },
};
