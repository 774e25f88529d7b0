import { type Kysely, type Migration, sql } from 'kysely';

/** Fixed ids of the Management API's built-in rows (Logto OSS: resource `management-api`, scope `management-api-all`). */
export const MANAGEMENT_RESOURCE_ID = 'management-api';
export const MANAGEMENT_SCOPE_ID = 'management-api-all';
/** The built-in MachineToMachine role that holds the Management API's `all` (what `isManagement` was). */
export const MANAGEMENT_ROLE_ID = 'management-api-access';

/**
 * Authorization (issue 18), Logto's role-based access model:
 * - `resources`: API resources (RFC 8707 indicators) with an access-token lifetime in **seconds**; the
 *   Management API is the built-in row `management-api` (indicator `https://default.logto.app/api`, Logto
 *   OSS's; `<publicUrl>/api` is accepted for it as well);
 * - `resource_scopes`: a resource's permissions (OAuth scopes), names unique per resource;
 * - `roles`: `User` or `MachineToMachine` roles (`is_default`: given to every new user);
 * - `role_scopes`, `user_roles`, `application_roles`: the grants, each a composite primary key so that
 *   assigning twice is one row, deleted with either side (foreign-key cascades).
 * The `applications.is_management` flag becomes the built-in role `management-api-access` (holding the
 * Management API's `all`): each flagged application is given the role, and the column is dropped.
 * Times are ms since the epoch.
 */
export const migration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('resources')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('name', 'varchar(256)', (c) => c.notNull())
      .addColumn('indicator', 'varchar(2048)', (c) => c.notNull().unique())
      .addColumn('access_token_ttl', 'integer', (c) => c.notNull())
      .addColumn('is_default', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('resource_scopes')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('resource_id', 'varchar(64)', (c) => c.notNull().references('resources.id').onDelete('cascade'))
      .addColumn('name', 'varchar(256)', (c) => c.notNull())
      .addColumn('description', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addUniqueConstraint('resource_scopes_name_key', ['resource_id', 'name'])
      .execute();
    await db.schema
      .createTable('roles')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('name', 'varchar(128)', (c) => c.notNull().unique())
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('type', 'varchar(32)', (c) => c.notNull())
      .addColumn('is_default', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('role_scopes')
      .addColumn('role_id', 'varchar(64)', (c) => c.notNull().references('roles.id').onDelete('cascade'))
      .addColumn('scope_id', 'varchar(64)', (c) => c.notNull().references('resource_scopes.id').onDelete('cascade'))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('role_scopes_pk', ['role_id', 'scope_id'])
      .execute();
    await db.schema.createIndex('role_scopes_scope_idx').on('role_scopes').column('scope_id').execute();
    await db.schema
      .createTable('user_roles')
      .addColumn('user_id', 'varchar(64)', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('role_id', 'varchar(64)', (c) => c.notNull().references('roles.id').onDelete('cascade'))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('user_roles_pk', ['user_id', 'role_id'])
      .execute();
    await db.schema.createIndex('user_roles_role_idx').on('user_roles').columns(['role_id', 'created_at']).execute();
    await db.schema
      .createTable('application_roles')
      .addColumn('application_id', 'varchar(128)', (c) => c.notNull().references('applications.id').onDelete('cascade'))
      .addColumn('role_id', 'varchar(64)', (c) => c.notNull().references('roles.id').onDelete('cascade'))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('application_roles_pk', ['application_id', 'role_id'])
      .execute();
    await db.schema.createIndex('application_roles_role_idx').on('application_roles').columns(['role_id', 'created_at']).execute();

    const now = Date.now();
    await db
      .insertInto('resources')
      .values({ id: MANAGEMENT_RESOURCE_ID, name: 'Management API', indicator: 'https://default.logto.app/api', access_token_ttl: 3600, is_default: 0, created_at: now })
      .execute();
    await db
      .insertInto('resource_scopes')
      .values({ id: MANAGEMENT_SCOPE_ID, resource_id: MANAGEMENT_RESOURCE_ID, name: 'all', description: 'Default scope for Management API, allows all permissions.', created_at: now })
      .execute();
    await db
      .insertInto('roles')
      .values({
        id: MANAGEMENT_ROLE_ID,
        name: 'Management API access',
        description: 'Built-in: full access to the Management API (the scope all of its resource).',
        type: 'MachineToMachine',
        is_default: 0,
        created_at: now,
      })
      .execute();
    await db.insertInto('role_scopes').values({ role_id: MANAGEMENT_ROLE_ID, scope_id: MANAGEMENT_SCOPE_ID, created_at: now }).execute();
    await sql`insert into application_roles (application_id, role_id, created_at)
      select id, ${MANAGEMENT_ROLE_ID}, ${now} from applications where is_management = 1 and type = 'm2m'`.execute(db);
    await db.schema.alterTable('applications').dropColumn('is_management').execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.alterTable('applications').addColumn('is_management', 'integer', (c) => c.notNull().defaultTo(0)).execute();
    await sql`update applications set is_management = 1 where id in (select application_id from application_roles where role_id = ${MANAGEMENT_ROLE_ID})`.execute(db);
    for (const table of ['application_roles', 'user_roles', 'role_scopes', 'roles', 'resource_scopes', 'resources']) await db.schema.dropTable(table).execute();
  },
};
