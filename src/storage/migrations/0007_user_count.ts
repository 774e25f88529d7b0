import { type Kysely, type Migration, sql } from 'kysely';

/**
 * The number of users, kept by triggers (issue 4 bench: `GET /api/users` answers `Total-Number` on every
 * page, and `count(*)` over 100 000 users cost SQLite 1.5 ms — three quarters of the request). Row
 * triggers add or subtract one in the statement that inserts or deletes a user, so the count is exact
 * and rolls back with it; PostgreSQL serialises concurrent inserts on the one counter row only for the
 * duration of each (short) statement's transaction.
 * - `row_counts`: `(table_name, n)`, one row `users`.
 */
export const migration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('row_counts')
      .addColumn('table_name', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('n', 'bigint', (c) => c.notNull())
      .execute();
    // Kysely compiles parameters as `$1` for PostgreSQL and `?` for SQLite; triggers differ in syntax.
    const postgres = sql`${0}`.compile(db).sql === '$1';
    if (postgres) {
      await sql`create function users_count_trigger() returns trigger language plpgsql as $$
        begin
          if tg_op = 'INSERT' then
            update row_counts set n = n + 1 where table_name = 'users';
          else
            update row_counts set n = n - 1 where table_name = 'users';
          end if;
          return null;
        end $$`.execute(db);
      // Creating the trigger locks out writers of users until this migration commits, so the count
      // taken next is exact.
      await sql`create trigger users_count after insert or delete on users for each row execute function users_count_trigger()`.execute(db);
    } else {
      await sql`create trigger users_count_insert after insert on users begin
        update row_counts set n = n + 1 where table_name = 'users'; end`.execute(db);
      await sql`create trigger users_count_delete after delete on users begin
        update row_counts set n = n - 1 where table_name = 'users'; end`.execute(db);
    }
    await sql`insert into row_counts (table_name, n) select 'users', count(*) from users`.execute(db);
  },
  async down(db: Kysely<any>) {
    const postgres = sql`${0}`.compile(db).sql === '$1';
    if (postgres) {
      await sql`drop trigger users_count on users`.execute(db);
      await sql`drop function users_count_trigger()`.execute(db);
    } else {
      await sql`drop trigger users_count_insert`.execute(db);
      await sql`drop trigger users_count_delete`.execute(db);
    }
    await db.schema.dropTable('row_counts').execute();
  },
};
