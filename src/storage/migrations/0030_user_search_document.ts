import { type Kysely, type Migration, sql } from 'kysely';
import { createColumnTrigramIndexes } from './0019_user_search.js';

/** Migration 0019's per-column trigram indexes, which this one replaces. */
const COLUMN_INDEXES = ['users_search_id_trgm', 'users_search_username_trgm', 'users_search_email_trgm', 'users_search_phone_trgm', 'users_search_name_trgm'];

/**
 * One trigram index over all searchable columns instead of one per column, on PostgreSQL (issue 22 item 4).
 *
 * `GET /api/users?search=%25user_4242%25` is a LIKE over id, username, primary email, primary phone and
 * name. With migration 0019's five GIN indexes the planner ORs five index scans, and each one reads the whole
 * posting list of every trigram the pattern shares with most users (`use`, `ser` among a million
 * `user_<n>`). Measured on 1 000 000 seeded users, warm: 18.5–20.7 ms for the five-index search against
 * 7.1–9.1 ms with this one index, which reads each such list once.
 *
 * The index is a GIN `gin_trgm_ops` on the lower-cased **search document**: the five columns joined by
 * spaces, NULL as empty (`user-list.ts` `PG_USER_SEARCH_DOCUMENT` is the same expression, and a test
 * checks through EXPLAIN that the store's queries reach this index). A value matching a LIKE pattern `p` is
 * a substring of the document, so `document LIKE '%' || p || '%'` holds for every match: the store ANDs that
 * condition with the exact per-column one, which decides. The exact-search B-trees of migration 0020 stay.
 * Where pg_trgm is not installed (migration 0019 said so), nothing changes and searches scan. SQLite keeps
 * its FTS5 table, which already covers the five columns in one index.
 *
 * Building the index on a million users took about 10 s here, during which writes to `users` wait.
 */
export const migration: Migration = {
  async up(db: Kysely<any>) {
    if (sql`${0}`.compile(db).sql !== '$1') return;
    await sql`do $$ begin
        if exists (select 1 from pg_extension where extname = 'pg_trgm') then
          create index if not exists users_search_trgm on users using gin ((lower(
            coalesce(id, '') || ' ' || coalesce(username, '') || ' ' || coalesce(primary_email, '') || ' ' ||
            coalesce(primary_phone, '') || ' ' || coalesce(name, ''))) gin_trgm_ops);
        end if;
      end $$`.execute(db);
    for (const index of COLUMN_INDEXES) await sql.raw(`drop index if exists ${index}`).execute(db);
  },
  async down(db: Kysely<any>) {
    if (sql`${0}`.compile(db).sql !== '$1') return;
    await createColumnTrigramIndexes(db);
    await sql`drop index if exists users_search_trgm`.execute(db);
  },
};
