import type { Kysely, Migration } from 'kysely';

/**
 * The RSA key pairs of the Authing surface (issue 17): the Authing SDK encrypts every password with the
 * public key of `GET /api/v2/.well-known` (PKCS#1 v1.5). One current key; a retired key keeps decrypting
 * until `retired_at + authing.keyGraceSeconds` (the SDK caches the public key).
 */
export const migration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('authing_keys')
      .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
      .addColumn('private_pem', 'text', (c) => c.notNull())
      .addColumn('public_pem', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('retired_at', 'bigint')
      .execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('authing_keys').execute();
  },
};
