import { type ExpressionBuilder, type Kysely, type Selectable, type SqlBool, type Expression, sql } from 'kysely';
import type { Database, UsersTable } from './schema.js';

/**
 * How `GET /api/users` reads one page and the total (measured with 100 000 users, `npm run bench:m2m`):
 * - no search: the total comes from `row_counts` (kept by triggers, migration 0007), and the page's
 *   ids are found on the covering index `(created_at, id)` before whole rows are read, so a deep OFFSET
 *   skips index entries only (page 2 500: 1.4 → 0.5 ms on SQLite);
 * - search: a substring LIKE has no index to use, so the table is scanned. Up to
 *   {@link SEARCH_CANDIDATE_CAP} matches are collected in that one scan, which then gives both the
 *   total and the page (by primary key); only broader searches need a second scan to count, and their
 *   page comes quickly in index order because matches are dense.
 */

/** Matches a search collects in its first scan before it falls back to counting separately. */
export const SEARCH_CANDIDATE_CAP = 1000;

/** A search condition over `users`. */
export type UserCondition = (eb: ExpressionBuilder<Database, 'users'>) => Expression<SqlBool>;

/** The number of users, from the trigger-kept counter (or `count(*)` if its row is missing). */
export async function countUsers(db: Kysely<Database>): Promise<number> {
  const row = await db.selectFrom('row_counts').select('n').where('table_name', '=', 'users').executeTakeFirst();
  if (row) return Number(row.n);
  const r = await db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(r.n);
}

/**
 * One page of users, newest first (`created_at` desc, then `id` desc), and the number of all users
 * matching `where` (every user when `where` is undefined).
 */
export async function selectUserPage(
  db: Kysely<Database>,
  where: UserCondition | undefined,
  page: { offset: number; limit: number },
): Promise<{ rows: Selectable<UsersTable>[]; total: number }> {
  if (!where) {
    const [total, rows] = await Promise.all([
      countUsers(db),
      db
        .selectFrom('users')
        .selectAll()
        .where('id', 'in', (eb) =>
          eb.selectFrom('users').select('id').orderBy('created_at', 'desc').orderBy('id', 'desc').limit(page.limit).offset(page.offset),
        )
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .execute(),
    ]);
    return { rows, total };
  }
  const candidates = await db.selectFrom('users').select('id').where(where).limit(SEARCH_CANDIDATE_CAP + 1).execute();
  if (candidates.length <= SEARCH_CANDIDATE_CAP) {
    const total = candidates.length;
    if (page.offset >= total) return { rows: [], total };
    const rows = await db
      .selectFrom('users')
      .selectAll()
      .where('id', 'in', candidates.map((c) => c.id))
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(page.limit)
      .offset(page.offset)
      .execute();
    return { rows, total };
  }
  const [rows, count] = await Promise.all([
    db.selectFrom('users').selectAll().where(where).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(page.limit).offset(page.offset).execute(),
    db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).where(where).executeTakeFirstOrThrow(),
  ]);
  return { rows, total: Number(count.n) };
}

/** Fewest characters a trigram index can look up (pg_trgm and FTS5's trigram tokenizer alike). */
const TRIGRAM = 3;

/**
 * Most candidates a search takes from SQLite's trigram index. A literal that common (`%user%` among
 * users named `user_N`) matches densely, so a scan finds a page of matches sooner than the index would
 * list them all; such searches scan as before.
 */
export const INDEX_CANDIDATE_CAP = 10_000;

/**
 * The runs of literal characters in a LIKE pattern (between `%` / `_` wildcards) that have at least
 * {@link TRIGRAM} code points: every matching value contains each of them. Empty when there is none, so a
 * trigram index cannot narrow the search. An `exact` value is one literal run.
 */
export function requiredSubstrings(value: string, mode: 'exact' | 'like'): string[] {
  const runs = mode === 'exact' ? [value] : value.split(/[%_]/);
  return runs.filter((run) => [...run].length >= TRIGRAM);
}

/**
 * SQLite: an FTS5 query (migration 0019's `users_search`, trigram tokenizer, case-insensitive) for the
 * users whose searchable `columns` may match one of `values`: for each value, every required substring
 * ({@link requiredSubstrings}) in one of the columns. Undefined when a value has none.
 */
export function searchIndexQuery(columns: readonly string[], values: readonly string[], mode: 'exact' | 'like'): string | undefined {
  const filter = `{${columns.join(' ')}}`;
  const perValue: string[] = [];
  for (const value of values) {
    const runs = requiredSubstrings(value, mode);
    if (runs.length === 0) return undefined;
    perValue.push(`${filter} : (${runs.map((r) => `"${r.replaceAll('"', '""')}"`).join(' AND ')})`);
  }
  return perValue.join(' OR ');
}

/**
 * SQLite: the index rows (`user_search_ids.rid`) the index query `match` names, when there are at most
 * {@link INDEX_CANDIDATE_CAP}; undefined when there are more (then a scan is quicker).
 */
export async function indexCandidates(db: Kysely<Database>, match: string): Promise<number[] | undefined> {
  const r = await sql<{ rid: number }>`select rowid as rid from users_search where users_search match ${match} limit ${INDEX_CANDIDATE_CAP + 1}`.execute(db);
  return r.rows.length <= INDEX_CANDIDATE_CAP ? r.rows.map((row) => Number(row.rid)) : undefined;
}

/**
 * SQLite: the users among the index rows `rids` ({@link indexCandidates}): a superset of the exact matches
 * (the index folds case and ignores which column held which substring), so callers AND it with the exact
 * condition and get the same result as a scan, found from the index.
 */
export function sqliteSearchCandidates(eb: ExpressionBuilder<Database, 'users'>, rids: readonly number[]): Expression<SqlBool> {
  return eb('users.id', 'in', sql<string>`(select user_id from user_search_ids where rid in (select value from json_each(${JSON.stringify(rids)})))`);
}
