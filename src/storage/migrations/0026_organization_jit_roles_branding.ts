import type { Kysely, Migration } from 'kysely';

/**
 * Organizations, the rest of issue 18 (Logto's `organization_jit_roles` and `organizations.branding`):
 * - `organization_jit_roles`: the organization roles a just-in-time member is given when joining (Logto's
 *   `/api/organizations/:id/jit/roles`); the pair is the key, and either side's delete takes the row with it;
 * - `organizations.branding`: Logto's `branding` object (`logoUrl`, `darkLogoUrl`, `favicon`, `darkFavicon`),
 *   JSON text, `{}` for the organizations that already exist.
 * Portable column types only (SQLite and PostgreSQL). Times are ms since the epoch.
 */
export const migration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('organization_jit_roles')
      .addColumn('organization_id', 'varchar(64)', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
      .addColumn('role_id', 'varchar(64)', (c) => c.notNull().references('organization_roles.id').onDelete('cascade'))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('organization_jit_roles_pk', ['organization_id', 'role_id'])
      .execute();
    await db.schema.createIndex('organization_jit_roles_role_idx').on('organization_jit_roles').column('role_id').execute();
    await db.schema.alterTable('organizations').addColumn('branding', 'text', (c) => c.notNull().defaultTo('{}')).execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.alterTable('organizations').dropColumn('branding').execute();
    await db.schema.dropTable('organization_jit_roles').execute();
  },
};
