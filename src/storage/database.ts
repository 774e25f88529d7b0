import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect } from 'kysely';
import type pg from 'pg';
import { migrationProvider } from './migrations/index.js';
import type { Database } from './schema.js';
import { ambient, currentOf } from './transaction.js';

// Only the driver of the configured database is loaded (both are CommonJS, so `require` loads them
// synchronously): a SQLite server never loads pg, a PostgreSQL one never loads better-sqlite3.
const require = createRequire(import.meta.url);

/** Which SQL engine a {@link DatabaseHandle} talks to. */
export type DialectName = 'sqlite' | 'postgres';

/** An open database: the Kysely instance plus the raw driver handle (rate limiters reuse it). */
export interface DatabaseHandle {
  /** An {@link ambient} view: it joins the transaction of {@link runInTransaction} when there is one. */
  db: Kysely<Database>;
  dialect: DialectName;
  /** The better-sqlite3 connection (SQLite only). */
  sqlite?: BetterSqlite3.Database;
  /** The pg pool (PostgreSQL only). */
  pgPool?: pg.Pool;
  /**
   * PostgreSQL only: a smaller pool for rate-limit counters, whose sessions commit asynchronously
   * (`synchronous_commit = off`): a counter update returns without waiting for its WAL flush. A server
   * crash may lose the last fraction of a second of counts (at most three `wal_writer_delay`s), as SQLite's
   * `synchronous = NORMAL` may on power loss; account state never goes through this pool. Measured with 8
   * in flight on this machine: a limiter upsert costs 220 µs of PostgreSQL CPU committed synchronously
   * and 118 µs asynchronously (node: 167 → 105 µs).
   */
  pgCounterPool?: pg.Pool;
  /** Statements and transactions sent so far, when opened with `countStatements` (benchmarks). */
  counts?: StatementCounts;
  close(): Promise<void>;
}

/**
 * Statements the database was sent, every caller included (Kysely and the rate limiters), and the
 * transactions among them (each `BEGIN`, or a better-sqlite3 `transaction()` call). For benchmarks:
 * `bench:auth` prints both per sign-in (issue 22 item 2).
 */
export interface StatementCounts {
  statements: number;
  /** Statements that write (INSERT, UPDATE, DELETE, REPLACE); outside a transaction each commits alone. */
  writes: number;
  /** Explicit transactions (BEGIN … COMMIT). */
  transactions: number;
}

const isBegin = (sql: string) => /^\s*begin\b/i.test(sql);
const isWrite = (sql: string) => /^\s*(?:insert|update|delete|replace)\b/i.test(sql);

/**
 * Opens the database named by `url`:
 * - `sqlite:<path>` — better-sqlite3 with WAL journaling, foreign keys on and a 5 s busy timeout; the
 *   parent folder is created. `sqlite::memory:` opens a private in-memory database.
 * - `postgres://…` — a pg pool (max `poolSize` connections). `int8` columns are parsed as numbers
 *   (our millisecond timestamps fit in 2^53). `onIdleError` hears about idle connections the server dropped.
 */
export function openDatabase(
  url: string,
  options: { poolSize?: number; onIdleError?: (error: Error) => void; countStatements?: boolean } = {},
): DatabaseHandle {
  const counts: StatementCounts | undefined = options.countStatements ? { statements: 0, writes: 0, transactions: 0 } : undefined;
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length);
    if (file !== ':memory:' && file !== '') mkdirSync(dirname(file), { recursive: true });
    const Sqlite = require('better-sqlite3') as typeof BetterSqlite3;
    const sqlite = new Sqlite(file === '' ? ':memory:' : file);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('busy_timeout = 5000');
    sqlite.pragma('synchronous = NORMAL');
    const cached = withStatementCache(sqlite, counts);
    const root = new Kysely<Database>({ dialect: new SqliteDialect({ database: cached }) });
    SQLITE_CONNECTIONS.set(root, cached);
    const db = ambient(root);
    return { db, dialect: 'sqlite', sqlite: cached, ...(counts ? { counts } : {}), close: () => db.destroy() };
  }
  const pgDriver = require('pg') as typeof pg;
  const types = {
    getTypeParser: (oid: number, format?: string) =>
      oid === 20 ? (v: string) => Number(v) : pgDriver.types.getTypeParser(oid, format as 'text'),
  };
  const poolSize = options.poolSize ?? 10;
  const pgPool = new pgDriver.Pool({ connectionString: url, max: poolSize, types });
  const pgCounterPool = new pgDriver.Pool({ connectionString: url, max: Math.max(2, Math.ceil(poolSize / 2)), types, options: '-c synchronous_commit=off' });
  for (const pool of [pgPool, pgCounterPool]) {
    // An idle client losing its connection (server restart, admin kill) emits 'error' on the pool;
    // unhandled it would end the process. The next query reconnects; report it and carry on.
    pool.on('error', (error) => options.onIdleError?.(error));
    if (counts) {
      // Every query, Kysely's and the rate limiters', reaches a pooled client's query().
      pool.on('connect', (client) => {
        const query = client.query.bind(client) as (...args: unknown[]) => unknown;
        (client as { query: unknown }).query = (...args: unknown[]) => {
          const first = args[0];
          const text = typeof first === 'string' ? first : ((first as { text?: string } | undefined)?.text ?? '');
          counts.statements++;
          if (isBegin(text)) counts.transactions++;
          else if (isWrite(text)) counts.writes++;
          return query(...args);
        };
      });
    }
  }
  const root = new Kysely<Database>({ dialect: new PostgresDialect({ pool: pgPool }) });
  PG_POOLS.set(root, pgPool);
  const db = ambient(root);
  return {
    db,
    dialect: 'postgres',
    pgPool,
    pgCounterPool,
    ...(counts ? { counts } : {}),
    async close() {
      // pg-pool's end() resolves before its clients' sockets are closed; wait for every client to be
      // removed so that nothing is left talking to the server after close() (a following DROP
      // DATABASE … WITH (FORCE) would otherwise kill them mid-close).
      const removed = (pool: pg.Pool) => {
        const open = pool.totalCount;
        return new Promise<void>((resolve) => {
          let n = 0;
          if (open === 0) resolve();
          pool.on('remove', () => {
            if (++n >= open) resolve();
          });
        });
      };
      const gone = [removed(pgPool), removed(pgCounterPool)];
      await db.destroy();
      await pgCounterPool.end();
      await Promise.all(gone);
    },
  };
}

/** The pg pool under each PostgreSQL Kysely instance {@link openDatabase} made. */
const PG_POOLS = new WeakMap<Kysely<any>, pg.Pool>();

/**
 * The pg pool of a Kysely instance made by {@link openDatabase} for PostgreSQL, or undefined (SQLite,
 * or an instance made elsewhere). Used to run fixed-shape hot queries as named prepared statements.
 */
export function pgPoolOf(db: Kysely<any>): pg.Pool | undefined {
  // Inside an ambient transaction the view stands for the transaction: no pool, the query joins it.
  return PG_POOLS.get(currentOf(db));
}

/** The (statement-caching) better-sqlite3 connection under each SQLite Kysely instance {@link openDatabase} made. */
const SQLITE_CONNECTIONS = new WeakMap<Kysely<any>, BetterSqlite3.Database>();

/**
 * The better-sqlite3 connection of a Kysely instance made by {@link openDatabase} for SQLite, when a
 * statement may run on it directly **now**, or undefined:
 * - inside an ambient transaction (the view stands for the transaction: the query must join it through Kysely);
 * - while any transaction is open on the connection (another flow's, between its awaits): Kysely's
 *   connection mutex makes a query wait for its COMMIT, and running it directly would read that
 *   transaction's uncommitted rows;
 * - PostgreSQL, or an instance made elsewhere.
 * With no transaction open, a direct synchronous statement sees exactly what a query queued on Kysely's
 * mutex would (committed rows) and skips its per-query promise chain. Used by {@link prepared} hot queries.
 */
export function sqliteConnectionOf(db: Kysely<any>): BetterSqlite3.Database | undefined {
  const connection = SQLITE_CONNECTIONS.get(currentOf(db));
  return connection && !connection.inTransaction ? connection : undefined;
}

/** Prepared statements kept per SQLite connection (our queries are a few dozen distinct texts). */
const STATEMENT_CACHE_SIZE = 256;

/**
 * Kysely's SQLite driver (and rate-limiter-flexible's) prepare every query afresh; preparing costs
 * more than running our small queries. This view of the connection reuses prepared statements by
 * SQL text (LRU) and passes everything else through. Safe because better-sqlite3 is synchronous
 * and nothing streams from it (a statement is only busy while `iterate()` runs).
 */
function withStatementCache(sqlite: BetterSqlite3.Database, counts?: StatementCounts): BetterSqlite3.Database {
  const cache = new Map<string, BetterSqlite3.Statement>();
  const prepare = (sql: string) => {
    // Every caller prepares once per execution (the cache makes that cheap), so this counts statements.
    if (counts) {
      counts.statements++;
      if (isBegin(sql)) counts.transactions++;
      else if (isWrite(sql)) counts.writes++;
    }
    let statement = cache.get(sql);
    if (statement) {
      cache.delete(sql);
    } else {
      statement = sqlite.prepare(sql);
      if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
    }
    cache.set(sql, statement);
    return statement;
  };
  return new Proxy(sqlite, {
    get(target, property) {
      if (property === 'prepare') return prepare;
      if (property === 'transaction' && counts) {
        // better-sqlite3's transaction(fn) begins natively, without a prepared BEGIN.
        return (fn: (...args: unknown[]) => unknown) => {
          const run = target.transaction(fn);
          const counted = (...args: unknown[]) => {
            counts.transactions++;
            counts.statements += 2; // its BEGIN and COMMIT, as a Kysely transaction's are counted
            return run(...args);
          };
          return Object.assign(counted, { deferred: run.deferred, immediate: run.immediate, exclusive: run.exclusive });
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/**
 * Applies every pending migration. Safe to call on every start and from several nodes at once on
 * PostgreSQL (Kysely's migrator takes a lock).
 * @returns the names of the migrations applied by this call
 * @throws Error when a migration fails (the error names it)
 */
/** Names of the migrations this build knows that the database has not applied (empty when up to date). */
export async function pendingMigrations(db: Kysely<Database>): Promise<string[]> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  return (await migrator.getMigrations()).filter((m) => m.executedAt === undefined).map((m) => m.name);
}

export async function migrateToLatest(db: Kysely<Database>): Promise<string[]> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    throw new Error(`migration ${failed?.migrationName ?? ''} failed: ${String((error as Error)?.message ?? error)}`, {
      cause: error,
    });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
