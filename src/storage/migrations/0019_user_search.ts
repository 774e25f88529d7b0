import { type Kysely, type Migration, sql } from 'kysely';

/**
 * Trigram indexes for user search (issue 22 item 4): `GET /api/users?search=%25user_4242%25` is a
 * substring LIKE over id, username, primary email, primary phone and name, which no B-tree can answer;
 * without these, every search read the whole table (about 25 ms per 100 000 users on SQLite).
 *
 * - **PostgreSQL**: the `pg_trgm` extension (trusted since PostgreSQL 13, so the database owner may create
 *   it) and a GIN `gin_trgm_ops` index on `lower(column)` of each searchable column: the planner answers
 *   `lower(col) LIKE '%…%'` (three or more characters between wildcards) and `lower(col) = …` from them.
 *   Where the extension cannot be created (not installed), the migration says so and leaves the indexes
 *   out: search still works, by scanning.
 * - **SQLite**: an FTS5 table with the trigram tokenizer (`users_search`, contentless: it keeps only the
 *   index, not a copy of the text) whose rowid is `user_search_ids.rid`, an INTEGER PRIMARY KEY (so VACUUM
 *   cannot renumber it, as it may the implicit rowid of `users`), kept by triggers on insert, delete and
 *   any update of a searchable column. The store asks it for candidates and then applies the caller's
 *   exact condition to them (storage/user-search.ts), so results are the same as a scan's.
 */
/**
 * PostgreSQL: this migration's GIN trigram index on `lower(column)` of each searchable column, where pg_trgm
 * is installed. Migration 0030 replaces them with one index and recreates them with this when undone.
 */
export async function createColumnTrigramIndexes(db: Kysely<any>): Promise<void> {
  await sql`do $$ begin
      if exists (select 1 from pg_extension where extname = 'pg_trgm') then
        create index if not exists users_search_id_trgm on users using gin (lower(id) gin_trgm_ops);
        create index if not exists users_search_username_trgm on users using gin (lower(username) gin_trgm_ops);
        create index if not exists users_search_email_trgm on users using gin (lower(primary_email) gin_trgm_ops);
        create index if not exists users_search_phone_trgm on users using gin (lower(primary_phone) gin_trgm_ops);
        create index if not exists users_search_name_trgm on users using gin (lower(name) gin_trgm_ops);
      end if;
    end $$`.execute(db);
}

export const migration: Migration = {
  async up(db: Kysely<any>) {
    const postgres = sql`${0}`.compile(db).sql === '$1';
    if (postgres) {
      await sql`do $$ begin
          create extension if not exists pg_trgm;
        exception when others then
          raise warning 'pg_trgm could not be created (%): user search will scan the users table', sqlerrm;
        end $$`.execute(db);
      await createColumnTrigramIndexes(db);
      return;
    }
    await sql`create table user_search_ids (rid integer primary key, user_id varchar(64) not null unique)`.execute(db);
    await sql`create virtual table users_search using fts5(
        id, username, primary_email, primary_phone, name,
        content = '', contentless_delete = 1, tokenize = 'trigram')`.execute(db);
    await sql`create trigger users_search_insert after insert on users begin
        insert into user_search_ids (user_id) values (new.id);
        insert into users_search (rowid, id, username, primary_email, primary_phone, name)
          values (last_insert_rowid(), new.id, new.username, new.primary_email, new.primary_phone, new.name);
      end`.execute(db);
    await sql`create trigger users_search_update after update of id, username, primary_email, primary_phone, name on users begin
        delete from users_search where rowid = (select rid from user_search_ids where user_id = old.id);
        update user_search_ids set user_id = new.id where user_id = old.id;
        insert into users_search (rowid, id, username, primary_email, primary_phone, name)
          values ((select rid from user_search_ids where user_id = new.id), new.id, new.username, new.primary_email, new.primary_phone, new.name);
      end`.execute(db);
    await sql`create trigger users_search_delete after delete on users begin
        delete from users_search where rowid = (select rid from user_search_ids where user_id = old.id);
        delete from user_search_ids where user_id = old.id;
      end`.execute(db);
    await sql`insert into user_search_ids (user_id) select id from users`.execute(db);
    await sql`insert into users_search (rowid, id, username, primary_email, primary_phone, name)
        select s.rid, u.id, u.username, u.primary_email, u.primary_phone, u.name from users u join user_search_ids s on s.user_id = u.id`.execute(db);
  },
  async down(db: Kysely<any>) {
    const postgres = sql`${0}`.compile(db).sql === '$1';
    if (postgres) {
      for (const index of ['id', 'username', 'email', 'phone', 'name']) await sql.raw(`drop index if exists users_search_${index}_trgm`).execute(db);
      return;
    }
    for (const trigger of ['insert', 'update', 'delete']) await sql.raw(`drop trigger if exists users_search_${trigger}`).execute(db);
    await sql`drop table if exists users_search`.execute(db);
    await sql`drop table if exists user_search_ids`.execute(db);
  },
};
