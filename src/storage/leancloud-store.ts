import { type Kysely, type RawBuilder, type SqlBool, sql } from 'kysely';
import { toUniqueViolation, toUser, userColumns } from './user-rows.js';
import type { Database } from './schema.js';
import type { LcAcl, LeanCloudStore, UserColumnFilter, UserCondition, UserOrderKey, UserPageQuery, UserPatch, UserQueryColumn, UserRecord } from './store.js';
import { indexCandidates, PG_USER_SEARCH_DOCUMENT, pgSelectiveSubstrings, searchIndexQuery, trigramStatistics } from './user-list.js';
import { selectiveSubstrings, TRIGRAM } from './trigram-statistics.js';

export type { LcAcl, LeanCloudStore, TimeRange, UserColumnFilter, UserCondition, UserOrderKey, UserPageQuery, UserQueryColumn } from './store.js';

const CHUNK = 500;

type Cond = RawBuilder<SqlBool>;

/** Columns of {@link UserQueryColumn}, and which of them hold text / may be NULL. */
const TEXT_COLUMNS: ReadonlySet<string> = new Set(['id', 'username', 'primary_email', 'primary_email_key', 'primary_phone']);
const NULLABLE_COLUMNS: ReadonlySet<string> = new Set(['username', 'primary_email', 'primary_email_key', 'primary_phone']);
const ALL_COLUMNS: ReadonlySet<string> = new Set([...TEXT_COLUMNS, 'email_verified', 'phone_verified', 'created_at', 'updated_at']);
/** The column of migration 0019's FTS5 table (SQLite) that indexes a user column. */
const FTS_COLUMNS: Partial<Record<UserQueryColumn, string>> = { id: 'id', username: 'username', primary_email: 'primary_email', primary_email_key: 'primary_email', primary_phone: 'primary_phone' };
/**
 * Columns whose lower case is part of the PostgreSQL search document (`PG_USER_SEARCH_DOCUMENT`, migration
 * 0030's trigram index); `primary_email_key` is the lower-cased email.
 */
const DOCUMENT_COLUMNS: ReadonlySet<UserQueryColumn> = new Set(['id', 'username', 'primary_email', 'primary_email_key', 'primary_phone']);

const TRUE: Cond = sql<SqlBool>`(1 = 1)`;
const FALSE: Cond = sql<SqlBool>`(1 = 0)`;
const INVERSE = { '<': '>=', '<=': '>', '>': '<=', '>=': '<' } as const;

/**
 * Runs of a literal that the search indexes can look up with an answer that is a superset of the exact
 * (case-sensitive, or with `caseInsensitive` ASCII-case-insensitive) match, lower-cased: only ASCII
 * letters, digits and punctuation, whose lower case is the same in every database locale. `I` is left
 * out (Turkish locales lower it to `ı`), and with `caseInsensitive` so is `i`. Each run is a literal part
 * every match contains; `leading` tells whether the first run starts at the literal's start.
 */
export function searchRuns(text: string, caseInsensitive: boolean): { runs: string[]; leading: boolean } {
  const runs: string[] = [];
  let current = '';
  let leading = false;
  let index = 0;
  for (const ch of text) {
    const ok = ch >= ' ' && ch <= '~' && ch !== 'I' && !(caseInsensitive && ch === 'i');
    if (ok) {
      if (index === 0) leading = true;
      current += ch.toLowerCase();
    } else if (current) {
      runs.push(current);
      current = '';
    }
    index++;
  }
  if (current) runs.push(current);
  return { runs, leading };
}

/** The smallest string greater than every string that starts with `prefix` (code point order), if any. */
function prefixSuccessor(prefix: string): string | undefined {
  const points = [...prefix];
  while (points.length > 0) {
    const cp = points.pop()!.codePointAt(0)!;
    if (cp < 0x10ffff) return points.join('') + String.fromCodePoint(cp === 0xd7ff ? 0xe000 : cp + 1);
  }
  return undefined;
}

/** Escapes LIKE's wildcards (with `\\` as the escape character). */
const likeEscape = (text: string) => text.replace(/[\\%_]/g, '\\$&');

/** Kysely implementation of {@link LeanCloudStore}. */
export class KyselyLeanCloudStore implements LeanCloudStore {
  private readonly postgres: boolean;
  /** SQLite: FTS5 candidates per `contains` condition, so that the pages of one scan look them up once. */
  private readonly candidates = new WeakMap<object, Promise<number[] | null>>();
  /** PostgreSQL: whether the default collation is code point order (see {@link codePointCollation}). */
  private collation: Promise<boolean> | undefined;

  constructor(private readonly db: Kysely<Database>) {
    this.postgres = sql`${0}`.compile(db).sql === '$1';
  }

  /** {@inheritDoc LeanCloudStore.getAcl} */
  async getAcl(userId: string) {
    const row = await this.db.selectFrom('lc_user_acl').select('acl').where('user_id', '=', userId).executeTakeFirst();
    return row ? (JSON.parse(row.acl) as LcAcl) : undefined;
  }

  /** {@inheritDoc LeanCloudStore.getAcls} */
  async getAcls(userIds: readonly string[]) {
    const out = new Map<string, LcAcl>();
    for (let i = 0; i < userIds.length; i += CHUNK) {
      const rows = await this.db
        .selectFrom('lc_user_acl')
        .selectAll()
        .where('user_id', 'in', userIds.slice(i, i + CHUNK))
        .execute();
      for (const r of rows) out.set(r.user_id, JSON.parse(r.acl) as LcAcl);
    }
    return out;
  }

  /** {@inheritDoc LeanCloudStore.setAcl} */
  async setAcl(userId: string, acl: LcAcl | null) {
    if (acl === null) {
      await this.db.deleteFrom('lc_user_acl').where('user_id', '=', userId).execute();
      return;
    }
    const text = JSON.stringify(acl);
    await this.db
      .insertInto('lc_user_acl')
      .values({ user_id: userId, acl: text })
      .onConflict((oc) => oc.column('user_id').doUpdateSet({ acl: text }))
      .execute();
  }

  /** {@inheritDoc LeanCloudStore.updateUserWith} */
  async updateUserWith(id: string, compute: (current: UserRecord) => UserPatch): Promise<UserRecord | undefined> {
    try {
      return await this.db.transaction().execute(async (trx) => {
        // A no-op write takes the row lock first (PostgreSQL row lock; SQLite's write lock), so
        // concurrent read-modify-writes of one user run one after the other.
        const locked = await trx.updateTable('users').set((eb) => ({ id: eb.ref('id') })).where('id', '=', id).executeTakeFirst();
        if (Number(locked.numUpdatedRows) === 0) return undefined;
        const row = await trx.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
        const updated = await trx.updateTable('users').set(userColumns(compute(toUser(row)))).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
        return toUser(updated);
      });
    } catch (error) {
      throw toUniqueViolation(error) ?? error;
    }
  }

  /** {@inheritDoc LeanCloudStore.scanUsers} */
  async scanUsers(filter: UserColumnFilter, afterId: string | null, limit: number) {
    let q = this.db.selectFrom('users').selectAll();
    if (afterId !== null) q = q.where('id', '>', afterId);
    if (filter.ids) q = q.where('id', 'in', filter.ids.length ? [...filter.ids] : ['']);
    if (filter.usernames) q = q.where('username', 'in', filter.usernames.length ? [...filter.usernames] : ['']);
    if (filter.emailKeys) q = q.where('primary_email_key', 'in', filter.emailKeys.length ? [...filter.emailKeys] : ['']);
    if (filter.phones) q = q.where('primary_phone', 'in', filter.phones.length ? [...filter.phones] : ['']);
    for (const [column, range] of [['created_at', filter.createdAt], ['updated_at', filter.updatedAt]] as const) {
      if (!range) continue;
      if (range.gt !== undefined) q = q.where(column, '>', range.gt);
      if (range.gte !== undefined) q = q.where(column, '>=', range.gte);
      if (range.lt !== undefined) q = q.where(column, '<', range.lt);
      if (range.lte !== undefined) q = q.where(column, '<=', range.lte);
    }
    if (filter.condition) {
      const condition = await this.compile(filter.condition);
      q = q.where(() => condition);
    }
    const rows = await q.orderBy('id').limit(limit).execute();
    return rows.map(toUser);
  }

  /** {@inheritDoc LeanCloudStore.pageUsers} */
  async pageUsers(query: UserPageQuery) {
    if (query.limit <= 0) return [];
    const condition = await this.compile(query.condition);
    const order = [...(await Promise.all(query.order.map((k) => this.orderKey(k)))), await this.ordered('id')];
    const rows = await sql<Record<string, unknown>>`select * from users where ${condition} order by ${sql.join(order)} limit ${query.limit} offset ${query.skip}`.execute(this.db);
    return rows.rows.map((r) => toUser(r as never));
  }

  /** {@inheritDoc LeanCloudStore.countUsers} */
  async countUsers(condition: UserCondition) {
    const where = await this.compile(condition);
    const r = await sql<{ n: number | string }>`select count(*) as n from users where ${where}`.execute(this.db);
    return Number(r.rows[0]?.n ?? 0);
  }

  /** `column [desc]` with LeanCloud's NULL placement (first ascending, last descending) and code point order. */
  private async orderKey(key: UserOrderKey) {
    const collated = await this.ordered(key.column);
    const nulls = NULLABLE_COLUMNS.has(key.column) ? sql.raw(key.desc ? ' nulls last' : ' nulls first') : sql.raw('');
    return sql`${collated}${sql.raw(key.desc ? ' desc' : ' asc')}${nulls}`;
  }

  /** A reference to a whitelisted column. @throws Error for any other name (a programming error) */
  private ref(column: UserQueryColumn) {
    if (!ALL_COLUMNS.has(column)) throw new Error(`not a user query column: ${String(column)}`);
    return sql.ref(`users.${column}`);
  }

  /**
   * The column, collated by code point when it is text on PostgreSQL with another default collation (for
   * ranges and ORDER BY; an explicit collation keeps the planner from the column's B-tree index).
   */
  private async ordered(column: UserQueryColumn) {
    const collate = this.postgres && TEXT_COLUMNS.has(column) && !(await this.codePointCollation());
    return collate ? sql`${this.ref(column)} collate "C"` : this.ref(column);
  }

  /**
   * PostgreSQL: whether the database's default collation orders text by code point (libc `C`, `POSIX`,
   * `C.UTF-8`, or the builtin provider), asked once. Always true in effect on SQLite (BINARY).
   */
  private codePointCollation(): Promise<boolean> {
    this.collation ??= sql<Record<string, unknown>>`select * from pg_database where datname = current_database()`
      .execute(this.db)
      .then(({ rows }) => {
        const row = rows[0] ?? {};
        const provider = typeof row.datlocprovider === 'string' ? row.datlocprovider : 'c';
        if (provider === 'b') return true;
        return provider === 'c' && /^(C|POSIX|C\.UTF-?8)$/i.test(String(row.datcollate));
      })
      .catch(() => false);
    return this.collation;
  }

  /** SQL for a {@link UserCondition}; index hints that only narrow are ANDed to the exact conditions. */
  private async compile(cond: UserCondition): Promise<Cond> {
    switch (cond.kind) {
      case 'const':
        return cond.value ? TRUE : FALSE;
      case 'and':
      case 'or': {
        if (cond.of.length === 0) return cond.kind === 'and' ? TRUE : FALSE;
        const parts = await Promise.all(cond.of.map((c) => this.compile(c)));
        return sql<SqlBool>`(${sql.join(parts, sql.raw(cond.kind === 'and' ? ' and ' : ' or '))})`;
      }
      case 'null':
        return sql<SqlBool>`${this.ref(cond.column)} ${sql.raw(cond.negate ? 'is not null' : 'is null')}`;
      case 'in': {
        const ref = this.ref(cond.column);
        if (cond.values.length === 0) return cond.negate ? TRUE : FALSE;
        const list = sql.join(cond.values.map((v) => sql`${v}`));
        if (!cond.negate) return sql<SqlBool>`${ref} in (${list})`;
        return NULLABLE_COLUMNS.has(cond.column) ? sql<SqlBool>`(${ref} is null or ${ref} not in (${list}))` : sql<SqlBool>`${ref} not in (${list})`;
      }
      case 'compare': {
        const c = await this.ordered(cond.column);
        if (!cond.negate) return sql<SqlBool>`${c} ${sql.raw(cond.op)} ${cond.value}`;
        const inverse = sql<SqlBool>`${c} ${sql.raw(INVERSE[cond.op])} ${cond.value}`;
        return NULLABLE_COLUMNS.has(cond.column) ? sql<SqlBool>`(${this.ref(cond.column)} is null or ${inverse})` : inverse;
      }
      case 'prefix':
      case 'contains':
        return this.compileText(cond);
    }
  }

  /**
   * `prefix` / `contains`: the exact test (code points, case-sensitive) unless `caseInsensitive`, ANDed
   * with what an index can answer: on SQLite a B-tree range for a prefix or the FTS5 trigram candidates
   * (migration 0019) for a substring; on PostgreSQL a LIKE on the search document for its
   * trigram index (migration 0030).
   */
  private async compileText(cond: Extract<UserCondition, { kind: 'prefix' | 'contains' }>): Promise<Cond> {
    const ref = this.ref(cond.column);
    const parts: Cond[] = [sql<SqlBool>`${ref} is not null`];
    const { text } = cond;
    const ci = cond.caseInsensitive === true;
    if (!ci && text !== '') {
      const length = [...text].length;
      if (cond.kind === 'prefix') {
        parts.push(this.postgres ? sql<SqlBool>`left(${ref}, ${length}) = ${text}` : sql<SqlBool>`substr(${ref}, 1, ${length}) = ${text}`);
      } else {
        parts.push(this.postgres ? sql<SqlBool>`strpos(${ref}, ${text}) > 0` : sql<SqlBool>`instr(${ref}, ${text}) > 0`);
      }
    }
    const { runs, leading } = searchRuns(text, ci);
    const done = () => sql<SqlBool>`(${sql.join(parts, sql.raw(' and '))})`;
    // A prefix is a B-tree range where text sorts by code point (SQLite's BINARY; PostgreSQL with a C
    // collation): on the column itself when case-sensitive, else (and for emails) on the lower-cased
    // email key, whose start is the lower case of the ASCII run the email starts with.
    if (cond.kind === 'prefix' && (!this.postgres || (await this.codePointCollation()))) {
      const email = cond.column === 'primary_email' || cond.column === 'primary_email_key';
      if (!ci && !email && text !== '') {
        const upper = prefixSuccessor(text);
        parts.push(sql<SqlBool>`${ref} >= ${text}`);
        if (upper !== undefined) parts.push(sql<SqlBool>`${ref} < ${upper}`);
        return done();
      }
      if (ci && !email && leading && this.postgres) {
        // Migration 0020's B-tree on lower(column): a case-insensitive match starts with the ASCII run in
        // some case, so its lower case starts with the run (libc lowers ASCII letters alike everywhere).
        const run = runs[0]!;
        const lower = sql`lower(${ref})`;
        const upper = prefixSuccessor(run);
        parts.push(sql<SqlBool>`${lower} >= ${run}`);
        if (upper !== undefined) parts.push(sql<SqlBool>`${lower} < ${upper}`);
        return done();
      }
      if (email && leading) {
        const run = runs[0]!;
        const upper = prefixSuccessor(run);
        parts.push(sql<SqlBool>`users.primary_email_key >= ${run}`);
        if (upper !== undefined) parts.push(sql<SqlBool>`users.primary_email_key < ${upper}`);
        return done();
      }
    }
    if (this.postgres) {
      // Each lower-cased run is a substring of the column's lower case, so of the search document too.
      // Only the selective parts of the runs: trigrams most users hold are not looked up (trigram-statistics.ts).
      const long = runs.filter((r) => r.length >= TRIGRAM);
      if (DOCUMENT_COLUMNS.has(cond.column) && long.length > 0) {
        const common = await trigramStatistics(this.db, 'postgres').commonTrigrams();
        for (const run of pgSelectiveSubstrings(long, common)) parts.push(sql<SqlBool>`${PG_USER_SEARCH_DOCUMENT} like ${`%${likeEscape(run)}%`}`);
      }
      return done();
    }
    const fts = FTS_COLUMNS[cond.column];
    if (fts) {
      // Exact text: any 3+ character literal; case-insensitive: the ASCII runs only.
      const terms = ci ? runs.filter((r) => r.length >= TRIGRAM) : [...text].length >= TRIGRAM ? [text] : [];
      if (terms.length > 0) {
        let lookup = this.candidates.get(cond);
        if (lookup === undefined) {
          lookup = (async () => {
            // Only the selective parts of the terms: trigrams most users hold are not looked up (trigram-statistics.ts).
            const common = await trigramStatistics(this.db, 'sqlite').commonTrigrams();
            const match = selectiveSubstrings(terms, common).map((t) => searchIndexQuery([fts], [t], 'exact')).join(' AND ');
            return (await indexCandidates(this.db, match)) ?? null;
          })();
          this.candidates.set(cond, lookup);
        }
        const rids = await lookup;
        if (rids) parts.push(sql<SqlBool>`users.id in (select user_id from user_search_ids where rid in (select value from json_each(${JSON.stringify(rids)})))`);
      }
    }
    return done();
  }
}
