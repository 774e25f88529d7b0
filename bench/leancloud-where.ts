/**
 * Benchmark of `/1.1/classes/_User` master-key `where` queries (issue 22 §4): `npx tsx bench/leancloud-where.ts`
 * (`BENCH_USERS=1000000 npx tsx bench/leancloud-where.ts --pg postgres://…` for PostgreSQL).
 *
 * Seeds `--users` users straight into a fresh database (as bench/m2m.ts does: `user_<i>`,
 * `user_<i>@example.com`, creation times one millisecond apart, every tenth with a phone number), starts
 * the app on 127.0.0.1 and sends each query `--samples` times, one at a time over real HTTP with the
 * master key, after a warm-up; prints p50 / p95 / p99 latency in ms and the mean number of results.
 * Every query varies its constant per request (random user numbers), so no answer is served from a
 * cache the previous request warmed.
 *
 * Queries (the `where` of each; default `order` = createdAt, default `limit` = 100 unless stated):
 *   regex prefix         {"username":{"$regex":"^\\Quser_<n>\\E"}}   n: 4–5 digits (up to ~111 matches)
 *   regex substring      {"username":{"$regex":"\\Q<ddddd>\\E"}}     five random digits anywhere
 *   regex email substr.  {"email":{"$regex":"\\Q_<n>@\\E"}}           one match
 *   regex prefix /i      {"username":{"$regex":"^USER_<n>","$options":"i"}}  (narrowed only: not exact)
 *   $gt createdAt        {"createdAt":{"$gt":{"__type":"Date","iso":…}}}  a random instant, limit 100
 *   $gt createdAt+count  the same with count=1 (counts every later user)
 *   $in username         {"username":{"$in":[10 random usernames]}}
 *
 * Options (flag, else environment variable, else default):
 *   --users <n>     BENCH_USERS     users to seed (default 100000)
 *   --samples <n>   BENCH_SAMPLES   measured requests per query (default 200; 20 more warm up)
 *   --pg <url>      BENCH_PG_URL    PostgreSQL server: a fresh database is created there and dropped after
 * Without --pg: SQLite in a temporary file.
 */
import { rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { createApp, type TesseraApp } from '../src/app.js';
import { parseConfig } from '../src/config/index.js';
import { toUserRow } from '../src/storage/kysely-store.js';
import type { UsersTable } from '../src/storage/schema.js';
import { userRecord } from '../test/fixtures.js';
import { numberOption, quantile, insertUserRows } from './lib.js';

const { values: flags } = parseArgs({
  options: { users: { type: 'string' }, samples: { type: 'string' }, pg: { type: 'string' } },
  strict: true,
});
const USERS = Math.floor(numberOption(flags.users, 'BENCH_USERS', 100_000));
const SAMPLES = Math.floor(numberOption(flags.samples, 'BENCH_SAMPLES', 200));
const WARMUP = 20;
const PG_URL = flags.pg ?? process.env['BENCH_PG_URL'];
const KEYS = { appId: 'bench-app', appKey: 'bench-app-key-0123456789', masterKey: 'bench-master-key-0123456789' };

const sqliteFile = path.join(os.tmpdir(), `tessera-bench-where-${process.pid}.db`);
const pgDatabase = PG_URL ? { name: `tessera_bench_where_${process.pid}`, url: Object.assign(new URL(PG_URL), { pathname: `/tessera_bench_where_${process.pid}` }).toString() } : undefined;
const databaseUrl = pgDatabase?.url ?? `sqlite:${sqliteFile}`;

/** Runs one statement on the `--pg` server's own database (CREATE / DROP DATABASE). */
async function pgAdmin(statement: string): Promise<void> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/** Inserts `count` users in multi-row INSERTs. @returns seconds taken */
async function seedUsers(app: TesseraApp, count: number, base: number): Promise<number> {
  const start = performance.now();
  const row = (i: number): UsersTable => {
    const id = `${Math.floor((base + i) / 1000).toString(16).padStart(8, '0')}${i.toString(16).padStart(16, '0')}`;
    return toUserRow(
      userRecord({
        id,
        username: `user_${i}`,
        primaryEmail: `user_${i}@example.com`,
        primaryPhone: i % 10 === 0 ? `+8613${String(i).padStart(9, '0')}` : null,
        name: `User ${i}`,
        emailVerified: i % 3 === 0,
        createdAt: base + i,
        updatedAt: base + i,
      }),
    );
  };
  await insertUserRows(app.database.db, count, row);
  return (performance.now() - start) / 1000;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

/** GET with the master key; resolves to the status and parsed body. */
function get(url: string): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: 'GET', agent, headers: { 'x-lc-id': KEYS.appId, 'x-lc-key': `${KEYS.masterKey},master` } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (c: Buffer) => chunks.push(c));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: response.statusCode ?? 0, json: text ? JSON.parse(text) : undefined });
      });
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end();
  });
}

const rand = (n: number) => Math.floor(Math.random() * n);
/** A user number with `digits` digits, below USERS. */
const userNumber = (digits: number) => {
  const lo = 10 ** (digits - 1);
  const hi = Math.min(USERS, 10 ** digits);
  return lo + rand(Math.max(1, hi - lo));
};

async function main(): Promise<void> {
  const load0 = os.loadavg();
  console.log('Tessera /1.1 where-query benchmark');
  console.log(`  node ${process.version}, ${os.availableParallelism()} CPUs (${os.cpus()[0]?.model.trim() ?? 'unknown'}), database ${pgDatabase ? 'PostgreSQL (fresh database)' : 'sqlite (temp file)'}`);
  console.log(`  ${USERS.toLocaleString('en')} users, ${SAMPLES} sequential requests per query after ${WARMUP} warm-up; load average at start ${load0.map((l) => l.toFixed(2)).join(' ')}`);
  if (pgDatabase) await pgAdmin(`create database ${pgDatabase.name}`);
  let app: TesseraApp | undefined;
  try {
    const config = parseConfig({ databaseUrl, logLevel: 'silent', port: 0, leancloud: KEYS });
    app = await createApp(config);
    const base = Date.parse('2025-01-01T00:00:00.000Z');
    const seconds = await seedUsers(app, USERS, base);
    if (app.database.dialect === 'postgres') await sql`vacuum analyze users`.execute(app.database.db);
    else await sql`analyze`.execute(app.database.db);
    console.log(`  seeded in ${seconds.toFixed(1)} s`);
    const url = await app.listen();
    const digits = Math.max(1, Math.min(5, String(USERS).length - 2));
    const queries: Array<{ label: string; params: () => Record<string, string> }> = [
      { label: 'regex prefix', params: () => ({ where: JSON.stringify({ username: { $regex: `^\\Quser_${userNumber(digits)}\\E` } }) }) },
      { label: 'regex substring', params: () => ({ where: JSON.stringify({ username: { $regex: `\\Q${String(rand(100_000)).padStart(5, '0')}\\E` } }) }) },
      { label: 'regex email substring', params: () => ({ where: JSON.stringify({ email: { $regex: `\\Q_${rand(USERS)}@\\E` } }) }) },
      { label: 'regex prefix /i (not exact)', params: () => ({ where: JSON.stringify({ username: { $regex: `^USER_${userNumber(digits)}`, $options: 'i' } }) }) },
      { label: '$gt createdAt', params: () => ({ where: JSON.stringify({ createdAt: { $gt: { __type: 'Date', iso: new Date(base + rand(USERS)).toISOString() } } }) }) },
      { label: '$gt createdAt + count', params: () => ({ where: JSON.stringify({ createdAt: { $gt: { __type: 'Date', iso: new Date(base + rand(USERS)).toISOString() } } }), count: '1' }) },
      { label: '$in username (10)', params: () => ({ where: JSON.stringify({ username: { $in: Array.from({ length: 10 }, () => `user_${rand(USERS)}`) } }) }) },
    ];
    console.log('');
    console.log(`${'query'.padEnd(30)} ${'p50 ms'.padStart(8)} ${'p95 ms'.padStart(8)} ${'p99 ms'.padStart(8)}  mean results`);
    for (const q of queries) {
      const latencies: number[] = [];
      let results = 0;
      for (let i = 0; i < WARMUP + SAMPLES; i++) {
        const t0 = performance.now();
        const r = await get(`${url}/1.1/classes/_User?${new URLSearchParams(q.params())}`);
        const ms = performance.now() - t0;
        if (r.status !== 200) throw new Error(`${q.label}: HTTP ${r.status} ${JSON.stringify(r.json)}`);
        if (i >= WARMUP) {
          latencies.push(ms);
          results += r.json.results.length;
        }
      }
      latencies.sort((a, b) => a - b);
      const f = (n: number) => n.toFixed(2).padStart(8);
      console.log(`${q.label.padEnd(30)} ${f(quantile(latencies, 0.5))} ${f(quantile(latencies, 0.95))} ${f(quantile(latencies, 0.99))}  ${(results / SAMPLES).toFixed(1)}`);
    }
    console.log(`\n  load average at end ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  } finally {
    await app?.close();
    if (pgDatabase) await pgAdmin(`drop database if exists ${pgDatabase.name}`);
    else for (const suffix of ['', '-wal', '-shm']) rmSync(sqliteFile + suffix, { force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
