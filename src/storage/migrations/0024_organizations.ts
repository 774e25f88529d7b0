import { type Kysely, type Migration, sql } from 'kysely';

/**
 * Organizations (issue 18 item 4), Logto's multi-tenancy model (logto-io/logto `packages/schemas/tables/organization*.sql`):
 * - `organizations`: a tenant of the application (name, description, custom data JSON, MFA required);
 * - `organization_scopes` and `organization_roles` (`User` or `MachineToMachine`, names unique), with the
 *   role grants `organization_role_scopes` (organization scopes) and `organization_role_resource_scopes`
 *   (permissions of API resources, migration 0023);
 * - memberships `organization_users` and `organization_applications` (machine-to-machine applications), and
 *   the members' roles `organization_user_roles` / `organization_application_roles`, whose foreign key names
 *   the membership with a cascade: leaving an organization drops the member's roles in it;
 * - `organization_invitations` (invitee email lower-cased, status `Pending|Accepted|Expired|Revoked`, the
 *   SHA-256 of the invitation's secret token; at most one `Pending` per organization and invitee, a partial
 *   unique index) with `organization_invitation_roles`;
 * - `organization_jit_email_domains`: a user whose verified email is at one of these domains becomes a member.
 * Every row of an organization goes with it (foreign-key cascades: one `delete` statement). Times are ms.
 */
export const migration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('organizations')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('name', 'varchar(128)', (c) => c.notNull())
      .addColumn('description', 'varchar(256)')
      .addColumn('custom_data', 'text', (c) => c.notNull().defaultTo('{}'))
      .addColumn('is_mfa_required', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('organizations_created_idx').on('organizations').columns(['created_at', 'id']).execute();
    await db.schema
      .createTable('organization_scopes')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('name', 'varchar(128)', (c) => c.notNull().unique())
      .addColumn('description', 'varchar(256)')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('organization_roles')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('name', 'varchar(128)', (c) => c.notNull().unique())
      .addColumn('description', 'varchar(256)')
      .addColumn('type', 'varchar(32)', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('organization_role_scopes')
      .addColumn('role_id', 'varchar(64)', (c) => c.notNull().references('organization_roles.id').onDelete('cascade'))
      .addColumn('scope_id', 'varchar(64)', (c) => c.notNull().references('organization_scopes.id').onDelete('cascade'))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('organization_role_scopes_pk', ['role_id', 'scope_id'])
      .execute();
    await db.schema.createIndex('organization_role_scopes_scope_idx').on('organization_role_scopes').column('scope_id').execute();
    await db.schema
      .createTable('organization_role_resource_scopes')
      .addColumn('role_id', 'varchar(64)', (c) => c.notNull().references('organization_roles.id').onDelete('cascade'))
      .addColumn('scope_id', 'varchar(64)', (c) => c.notNull().references('resource_scopes.id').onDelete('cascade'))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('organization_role_resource_scopes_pk', ['role_id', 'scope_id'])
      .execute();
    await db.schema.createIndex('organization_role_resource_scopes_scope_idx').on('organization_role_resource_scopes').column('scope_id').execute();
    await db.schema
      .createTable('organization_users')
      .addColumn('organization_id', 'varchar(64)', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
      .addColumn('user_id', 'varchar(64)', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('organization_users_pk', ['organization_id', 'user_id'])
      .execute();
    await db.schema.createIndex('organization_users_user_idx').on('organization_users').column('user_id').execute();
    await db.schema
      .createTable('organization_user_roles')
      .addColumn('organization_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('user_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('role_id', 'varchar(64)', (c) => c.notNull().references('organization_roles.id').onDelete('cascade'))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('organization_user_roles_pk', ['organization_id', 'user_id', 'role_id'])
      .addForeignKeyConstraint('organization_user_roles_member_fk', ['organization_id', 'user_id'], 'organization_users', ['organization_id', 'user_id'], (c) => c.onDelete('cascade'))
      .execute();
    await db.schema.createIndex('organization_user_roles_role_idx').on('organization_user_roles').column('role_id').execute();
    await db.schema
      .createTable('organization_applications')
      .addColumn('organization_id', 'varchar(64)', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
      .addColumn('application_id', 'varchar(128)', (c) => c.notNull().references('applications.id').onDelete('cascade'))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('organization_applications_pk', ['organization_id', 'application_id'])
      .execute();
    await db.schema.createIndex('organization_applications_app_idx').on('organization_applications').column('application_id').execute();
    await db.schema
      .createTable('organization_application_roles')
      .addColumn('organization_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('application_id', 'varchar(128)', (c) => c.notNull())
      .addColumn('role_id', 'varchar(64)', (c) => c.notNull().references('organization_roles.id').onDelete('cascade'))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('organization_application_roles_pk', ['organization_id', 'application_id', 'role_id'])
      .addForeignKeyConstraint(
        'organization_application_roles_member_fk', ['organization_id', 'application_id'], 'organization_applications', ['organization_id', 'application_id'], (c) => c.onDelete('cascade'),
      )
      .execute();
    await db.schema.createIndex('organization_application_roles_role_idx').on('organization_application_roles').column('role_id').execute();
    await db.schema
      .createTable('organization_invitations')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('organization_id', 'varchar(64)', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
      .addColumn('inviter_id', 'varchar(64)', (c) => c.references('users.id').onDelete('set null'))
      .addColumn('invitee', 'varchar(320)', (c) => c.notNull())
      .addColumn('status', 'varchar(16)', (c) => c.notNull())
      .addColumn('accepted_user_id', 'varchar(64)', (c) => c.references('users.id').onDelete('set null'))
      .addColumn('token_hash', 'varchar(64)', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('organization_invitations_pending_key')
      .on('organization_invitations')
      .columns(['organization_id', 'invitee'])
      .unique()
      .where(sql.ref('status'), '=', 'Pending')
      .execute();
    await db.schema.createIndex('organization_invitations_invitee_idx').on('organization_invitations').column('invitee').execute();
    await db.schema
      .createTable('organization_invitation_roles')
      .addColumn('invitation_id', 'varchar(64)', (c) => c.notNull().references('organization_invitations.id').onDelete('cascade'))
      .addColumn('role_id', 'varchar(64)', (c) => c.notNull().references('organization_roles.id').onDelete('cascade'))
      .addPrimaryKeyConstraint('organization_invitation_roles_pk', ['invitation_id', 'role_id'])
      .execute();
    await db.schema
      .createTable('organization_jit_email_domains')
      .addColumn('organization_id', 'varchar(64)', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
      .addColumn('email_domain', 'varchar(128)', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('organization_jit_email_domains_pk', ['organization_id', 'email_domain'])
      .execute();
    await db.schema.createIndex('organization_jit_email_domains_domain_idx').on('organization_jit_email_domains').column('email_domain').execute();
  },
  async down(db: Kysely<any>) {
    for (const table of [
      'organization_jit_email_domains', 'organization_invitation_roles', 'organization_invitations', 'organization_application_roles', 'organization_applications',
      'organization_user_roles', 'organization_users', 'organization_role_resource_scopes', 'organization_role_scopes', 'organization_roles', 'organization_scopes', 'organizations',
    ]) await db.schema.dropTable(table).execute();
  },
};
