import { type Kysely, type Migration, sql } from 'kysely';

/** The tables whose rows decide which permissions a token carries. */
export const AUTHORIZATION_TABLES = ['resources', 'resource_scopes', 'roles', 'role_scopes', 'user_roles', 'application_roles'] as const;

/**
 * A version number of the authorization model (issue 18: tokens per CPU-second): triggers add one to
 * `row_counts` row `authorization_version` in every statement that inserts, updates or deletes a resource,
 * a permission, a role, a role's permissions or a user's or application's roles (FK cascades included), in
 * that statement's transaction. A node may keep what it read of these tables for as long as the version it
 * read first is still the current one (AuthorizationService.heldScopes): each token then reads one row
 * instead of joining roles and permissions, and a change still applies to the next token on every node.
 * PostgreSQL: one statement trigger per table; SQLite: row triggers.
 */
export const migration: Migration = {
  async up(db: Kysely<any>) {
    const postgres = sql`${0}`.compile(db).sql === '$1';
    await sql`insert into row_counts (table_name, n) values ('authorization_version', 0)`.execute(db);
    if (postgres) {
      await sql`create function authorization_version_bump() returns trigger language plpgsql as $$
        begin
          update row_counts set n = n + 1 where table_name = 'authorization_version';
          return null;
        end $$`.execute(db);
      for (const table of AUTHORIZATION_TABLES) {
        await sql`create trigger ${sql.raw(`${table}_authorization_version`)} after insert or update or delete on ${sql.table(table)}
          for each statement execute function authorization_version_bump()`.execute(db);
      }
    } else {
      for (const table of AUTHORIZATION_TABLES) {
        for (const op of ['insert', 'update', 'delete'] as const) {
          await sql`create trigger ${sql.raw(`${table}_authorization_version_${op}`)} after ${sql.raw(op)} on ${sql.table(table)} begin
            update row_counts set n = n + 1 where table_name = 'authorization_version'; end`.execute(db);
        }
      }
    }
  },
  async down(db: Kysely<any>) {
    const postgres = sql`${0}`.compile(db).sql === '$1';
    for (const table of AUTHORIZATION_TABLES) {
      if (postgres) await sql`drop trigger ${sql.raw(`${table}_authorization_version`)} on ${sql.table(table)}`.execute(db);
      else for (const op of ['insert', 'update', 'delete']) await sql`drop trigger ${sql.raw(`${table}_authorization_version_${op}`)}`.execute(db);
    }
    if (postgres) await sql`drop function authorization_version_bump()`.execute(db);
    await sql`delete from row_counts where table_name = 'authorization_version'`.execute(db);
  },
};
