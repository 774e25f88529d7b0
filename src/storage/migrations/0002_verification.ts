import type { Kysely, Migration } from 'kysely';

/** Verification records: one-time codes, email links and identity proofs (issue 3). */
export const migration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('verifications')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('type', 'varchar(32)', (c) => c.notNull())
      .addColumn('purpose', 'varchar(32)', (c) => c.notNull())
      .addColumn('identifier_type', 'varchar(16)')
      .addColumn('identifier', 'varchar(320)')
      .addColumn('user_id', 'varchar(64)', (c) => c.references('users.id').onDelete('cascade'))
      .addColumn('code_hash', 'varchar(128)')
      .addColumn('link_hash', 'varchar(64)')
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('ip', 'varchar(64)')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('verified_at', 'bigint')
      .addColumn('consumed_at', 'bigint')
      .execute();
    await db.schema
      .createIndex('verifications_identifier_idx')
      .on('verifications')
      .columns(['identifier_type', 'identifier', 'purpose', 'created_at'])
      .execute();
    await db.schema.createIndex('verifications_link_hash_uq').on('verifications').column('link_hash').unique().execute();
    await db.schema.createIndex('verifications_user_id_idx').on('verifications').column('user_id').execute();
    await db.schema.createIndex('verifications_expires_at_idx').on('verifications').column('expires_at').execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('verifications').execute();
  },
};
