import { type ExpressionBuilder, type Kysely, type Selectable, type SqlBool, type Expression, sql } from 'kysely';
import { type IdentityRecord, identitiesAggregate, identitiesFromAggregate } from './identity-store.js';
import { prepared } from './prepared.js';
import type { Database, UsersTable } from './schema.js';
import { selectiveSubstrings, TRIGRAM, TrigramStatistics } from './trigram-statistics.js';

/**
 * How `GET /api/users` reads one page and the total (measured with 1 000 000 users, `npm run bench:m2m`):
 * - no search: one prepared statement reads the page and, in the same row, the total from `row_counts`
 *   (kept by triggers, migration 0007). The page's ids are found on the covering index `(created_at, id)`
 *   before whole rows are read, so a deep OFFSET skips index entries only (page 2 500: 1.4 → 0.5 ms on
 *   SQLite; about 2.5 ms on PostgreSQL, which walks 50 000 index entries).
 * - search: one statement collects up to {@link SEARCH_CANDIDATE_CAP} + 1 matches (through the trigram
 *   indexes where the condition allows) in a materialized CTE and reads from it both their number and the
 *   page, by primary key. Only broader searches need a second round, which orders and counts the whole
 *   match; their page comes quickly in index order because matches are dense.
 */

/** Matches a search collects in its first statement before it falls back to counting separately. */
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
 * A `users` row with the count a page statement adds to each row (`null` when it has none) and, when
 * asked for, the user's identities as an {@link identitiesAggregate} value.
 */
type CountedRow = Selectable<UsersTable> & { matched_total: number | string | null; identities_json?: unknown };

/** A page's rows without the columns the statement added, and the identities they carried (when asked). */
function split(rows: CountedRow[], withIdentities: boolean): { rows: Selectable<UsersTable>[]; identities?: Map<string, IdentityRecord[]> } {
  const identities = withIdentities ? new Map<string, IdentityRecord[]>() : undefined;
  const plain = rows.map(({ matched_total: _count, identities_json: aggregate, ...row }) => {
    identities?.set(row.id, identitiesFromAggregate(aggregate));
    return row;
  });
  return identities ? { rows: plain, identities } : { rows: plain };
}

/** A page of users as {@link UserPageReader.read} answers it. */
export interface UserRowsPage {
  rows: Selectable<UsersTable>[];
  total: number;
  /** By user id (only when asked for): each listed user's identities, ordered by provider. */
  identities?: Map<string, IdentityRecord[]>;
}

/** Reads pages of users, newest first, for one database (see the notes above on how). */
export class UserPageReader {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: 'sqlite' | 'postgres',
  ) {}

  /** The newest-first page and the users counter, in one prepared statement (and, in the second, each user's identities). */
  private readonly newest = [false, true].map((withIdentities) =>
    prepared(() => this.db, (limit: number, offset: number) =>
      this.db
        .selectFrom('users')
        .selectAll('users')
        .select((eb) => eb.selectFrom('row_counts').select('row_counts.n').where('row_counts.table_name', '=', 'users').as('matched_total'))
        .$if(withIdentities, (qb) => qb.select(identitiesAggregate(this.dialect, sql.ref('users.id')).as('identities_json')))
        .where('users.id', 'in', (eb) =>
          eb.selectFrom('users as u').select('u.id').orderBy('u.created_at', 'desc').orderBy('u.id', 'desc').limit(limit).offset(offset),
        )
        .orderBy('users.created_at', 'desc')
        .orderBy('users.id', 'desc'),
    ),
  );

  /**
   * One page of users, newest first (`created_at` desc, then `id` desc), and the number of all users
   * matching `where` (every user when `where` is undefined).
   * @param page `offset` and `limit` in rows; `withIdentities` also reads each listed user's identities
   *   in the same statement (an {@link identitiesAggregate} column)
   */
  async read(where: UserCondition | undefined, page: { offset: number; limit: number; withIdentities?: boolean }): Promise<UserRowsPage> {
    const withIdentities = page.withIdentities === true;
    const identitiesColumn = () => identitiesAggregate(this.dialect, sql.ref('users.id')).as('identities_json');
    if (!where) {
      const rows = (await this.newest[withIdentities ? 1 : 0]!(page.limit, page.offset)) as CountedRow[];
      const counted = rows[0]?.matched_total;
      // An empty page (an offset past the end) or a missing counter row: count apart.
      const total = counted === undefined || counted === null ? await countUsers(this.db) : Number(counted);
      return { ...split(rows, withIdentities), total };
    }
    const rows = (await this.db
      .with((cte) => cte('matches').materialized(), (db) => db.selectFrom('users').select(['users.id', 'users.created_at']).where(where).limit(SEARCH_CANDIDATE_CAP + 1))
      .selectFrom('users')
      .selectAll('users')
      .select((eb) => eb.selectFrom('matches').select((m) => m.fn.countAll<number>().as('n')).as('matched_total'))
      .$if(withIdentities, (qb) => qb.select(identitiesColumn()))
      .where('users.id', 'in', (eb) =>
        eb.selectFrom('matches').select('matches.id').orderBy('matches.created_at', 'desc').orderBy('matches.id', 'desc').limit(page.limit).offset(page.offset),
      )
      .orderBy('users.created_at', 'desc')
      .orderBy('users.id', 'desc')
      .execute()) as CountedRow[];
    let matched = rows.length > 0 ? Number(rows[0]!.matched_total) : undefined;
    if (matched === undefined) {
      // No row on this page: no match at all, or an offset past the matches. Count them (up to the cap).
      const r = await this.db
        .selectFrom((db) => db.selectFrom('users').select('users.id').where(where).limit(SEARCH_CANDIDATE_CAP + 1).as('c'))
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      matched = Number(r.n);
    }
    if (matched <= SEARCH_CANDIDATE_CAP) return { ...split(rows, withIdentities), total: matched };
    const [broad, count] = await Promise.all([
      this.db
        .selectFrom('users')
        .selectAll('users')
        .$if(withIdentities, (qb) => qb.select(identitiesColumn()))
        .where(where)
        .orderBy('users.created_at', 'desc')
        .orderBy('users.id', 'desc')
        .limit(page.limit)
        .offset(page.offset)
        .execute(),
      this.db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).where(where).executeTakeFirstOrThrow(),
    ]);
    return { ...split(broad as CountedRow[], withIdentities), total: Number(count.n) };
  }
}

/**
 * PostgreSQL: the lower-cased search document of a user, its five searchable columns joined by spaces
 * (NULL as empty), the expression migration 0030's `users_search_trgm` GIN trigram index holds. It must stay
 * the migration's expression, term for term, or the planner cannot use the index
 * (test/user-search.test.ts checks that through EXPLAIN).
 */
export const PG_USER_SEARCH_DOCUMENT = sql<string>`lower(coalesce(users.id, '') || ' ' || coalesce(users.username, '') || ' ' || coalesce(users.primary_email, '') || ' ' || coalesce(users.primary_phone, '') || ' ' || coalesce(users.name, ''))`;

/**
 * PostgreSQL: a condition that every user holds whose searchable column matches the LIKE pattern `pattern`
 * case-insensitively (lower-cased by the caller), answered by migration 0030's trigram index: the matching
 * value is a substring of the search document ({@link PG_USER_SEARCH_DOCUMENT}). Undefined when the pattern
 * has no literal run of {@link TRIGRAM} characters, which a trigram index cannot look up. Callers AND it
 * with the exact condition, which decides. `ESCAPE ''` as in the exact condition: `\` is literal.
 *
 * With `common` trigrams ({@link TrigramStatistics}), the condition names only the pattern's selective
 * substrings ({@link selectiveSubstrings}), one `LIKE '%…%'` each, so the index does not read the posting
 * lists of trigrams most users hold; without any, or when none was left out, it is the whole pattern.
 */
export function pgSearchDocumentLike(pattern: string, common: ReadonlySet<string> = new Set()): Expression<SqlBool> | undefined {
  const runs = requiredSubstrings(pattern, 'like');
  if (runs.length === 0) return undefined;
  const selective = pgSelectiveSubstrings(runs, common);
  if (selective.length === runs.length && selective.every((s, i) => s === runs[i])) {
    return sql<SqlBool>`${PG_USER_SEARCH_DOCUMENT} like ${`%${pattern}%`} escape ''`;
  }
  return sql<SqlBool>`(${sql.join(
    selective.map((s) => sql<SqlBool>`${PG_USER_SEARCH_DOCUMENT} like ${`%${s}%`} escape ''`),
    sql` and `,
  )})`;
}

/**
 * PostgreSQL: {@link selectiveSubstrings} of `runs` that pg_trgm can look up, or `runs` when there is none.
 * pg_trgm takes trigrams from words of letters and digits only; a substring without three of them in a row
 * (`r_4` cut from `user_4242`) may give it no trigram, and a LIKE without any makes a GIN scan read the
 * whole index, so such substrings are not used.
 */
export function pgSelectiveSubstrings(runs: readonly string[], common: ReadonlySet<string>): string[] {
  const selective = selectiveSubstrings(runs, common).filter((s) => /[\p{L}\p{N}]{3}/u.test(s));
  return selective.length > 0 ? selective : [...runs];
}

const statisticsByDatabase = new WeakMap<Kysely<Database>, TrigramStatistics>();

/** The {@link TrigramStatistics} of one database handle, shared by the stores that search it. */
export function trigramStatistics(db: Kysely<Database>, dialect: 'sqlite' | 'postgres'): TrigramStatistics {
  let statistics = statisticsByDatabase.get(db);
  if (!statistics) statisticsByDatabase.set(db, (statistics = new TrigramStatistics(db, dialect, () => countUsers(db))));
  return statistics;
}

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
 * ({@link requiredSubstrings}) in one of the columns, or with `common` trigrams ({@link TrigramStatistics})
 * only their selective parts ({@link selectiveSubstrings}). Undefined when a value has none.
 */
export function searchIndexQuery(columns: readonly string[], values: readonly string[], mode: 'exact' | 'like', common: ReadonlySet<string> = new Set()): string | undefined {
  const filter = `{${columns.join(' ')}}`;
  const perValue: string[] = [];
  for (const value of values) {
    const required = requiredSubstrings(value, mode);
    if (required.length === 0) return undefined;
    const runs = selectiveSubstrings(required, common);
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
