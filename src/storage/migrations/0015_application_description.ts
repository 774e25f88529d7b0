import type { Kysely, Migration } from 'kysely';

/**
 * Logto's application `description` (issue 19 item 5): `applications.description` (text, nullable), set
 * and shown by the Management API.
 */
export const migration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('applications').addColumn('description', 'text').execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.alterTable('applications').dropColumn('description').execute();
  },
};
