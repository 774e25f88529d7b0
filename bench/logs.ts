/**
 * Audit log benchmark (`npm run bench:logs`, issue 20 "Done when": `/api/logs` within 20 ms p95 at 1 M rows).
 *
 * In one run it:
 *  1. builds a real app (`createApp`, listening on 127.0.0.1) on a temp-file SQLite database (or a fresh
 *     PostgreSQL database with `--pg`), with an admin M2M app, and seeds `--rows` audit log entries straight
 *     through Kysely (multi-row INSERTs in transactions): keys spread as a busy install's are (60 %
 *     `Interaction.SignIn.Submit`, 15 % `ExchangeTokenBy.ClientCredentials`, 10 % `User.Data.Updated`, 5 %
 *     `Interaction.Register.Submit`, 10 % `TriggerHook.PostSignIn` of one hook), over 10 000 users and 20
 *     applications, created over the last 90 days; prints how long that took;
 *  2. gets a Management API token (`client_credentials`) and sends each query `--requests` times, one at a
 *     time (latency, not throughput): page 1 of `/api/logs`; page 1 with `enableCap=true` (Logto's capped
 *     count); `?userId=`; `?applicationId=`; `?logKey=`; page 500; `/api/logs/:id`; and a hook's
 *     `/recent-logs`. Prints p50/p95/p99 in milliseconds (from sending the request to reading the whole body)
 *     and the Total-Number each answered.
 * Figures are printed, never asserted.
 *
 * Options (flag, else environment variable, else default):
 *   --rows <n>      BENCH_ROWS      audit log entries to seed (default 1000000)
 *   --requests <n>  BENCH_REQUESTS  requests per query (default 200)
 *   --pg <url>      BENCH_PG_URL    PostgreSQL server: a fresh database is created there and dropped afterwards
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { createApp, type TesseraApp } from '../src/app.js';
import { parseConfig } from '../src/config/index.js';
import { freshPgDatabase } from '../test/helpers.js';
import { numberOption, quantile } from './lib.js';

const { values: flags } = parseArgs({ options: { rows: { type: 'string' }, requests: { type: 'string' }, pg: { type: 'string' } }, strict: true });
const ROWS = Math.floor(numberOption(flags.rows, 'BENCH_ROWS', 1_000_000));
const REQUESTS = Math.floor(numberOption(flags.requests, 'BENCH_REQUESTS', 200));
const PG = flags.pg ?? (process.env['BENCH_PG_URL'] || undefined);
const ADMIN_ID = 'bench-logs-admin';
const ADMIN_SECRET = `secret-${randomBytes(12).toString('hex')}`;

const KEYS: Array<[string, number]> = [
  ['Interaction.SignIn.Submit', 0.6],
  ['ExchangeTokenBy.ClientCredentials', 0.15],
  ['User.Data.Updated', 0.1],
  ['Interaction.Register.Submit', 0.05],
  ['TriggerHook.PostSignIn', 0.1],
];

function keyAt(r: number): string {
  let acc = 0;
  for (const [key, share] of KEYS) {
    acc += share;
    if (r < acc) return key;
  }
  return KEYS[0]![0];
}

async function seed(app: TesseraApp, hookId: string): Promise<number> {
  const started = performance.now();
  const db = app.database.db;
  const now = Date.now();
  const batch = 500;
  for (let done = 0; done < ROWS; ) {
    await app.services.store.transaction(async () => {
      for (let b = 0; b < 40 && done < ROWS; b++) {
        const rows = [];
        for (let i = 0; i < batch && done < ROWS; i++, done++) {
          const key = keyAt((done * 7919) % 1000 / 1000);
          const hook = key.startsWith('TriggerHook.');
          const userId = `user${done % 10_000}`;
          const applicationId = key.startsWith('ExchangeTokenBy.') ? `app${done % 20}` : null;
          const createdAt = now - Math.floor(((ROWS - done) / ROWS) * 90 * 86_400_000);
          const payload = { key, result: done % 10 === 0 ? 'Error' : 'Success', userId, ...(applicationId ? { applicationId } : {}), ip: '203.0.113.7', userAgent: 'bench' };
          rows.push({
            id: `${createdAt.toString(16).padStart(12, '0')}${done.toString(16).padStart(12, '0')}`,
            key,
            result: payload.result,
            user_id: userId,
            application_id: applicationId,
            hook_id: hook ? hookId : null,
            payload: JSON.stringify(payload),
            created_at: createdAt,
          });
        }
        await db.insertInto('logs').values(rows).execute();
      }
    });
  }
  return (performance.now() - started) / 1000;
}

async function main(): Promise<void> {
  const sqliteFile = path.join(os.tmpdir(), `tessera-bench-logs-${process.pid}.db`);
  const pg = PG ? await freshPgDatabase(PG) : undefined;
  const config = parseConfig({
    databaseUrl: pg?.url ?? `sqlite:${sqliteFile}`,
    logLevel: 'silent',
    port: 0,
    adminClientId: ADMIN_ID,
    adminClientSecret: ADMIN_SECRET,
    rateLimit: { managementPer10Seconds: 1_000_000 },
    webhooks: { worker: false },
    auditLog: { retentionDays: 0 },
  });
  const app = await createApp(config);
  try {
    const base = await app.listen();
    console.log('Tessera audit log benchmark');
    console.log(`  node ${process.version}, ${os.availableParallelism()} CPUs, database ${pg ? 'postgres' : 'sqlite (temp file)'}, ${ROWS} rows, ${REQUESTS} requests per query, one at a time`);
    const hook = await app.services.hooks.create({ events: ['PostSignIn'], url: 'http://127.0.0.1:9/never' });
    console.log(`seeded ${ROWS} rows in ${(await seed(app, hook.id)).toFixed(1)} s`);
    // As autovacuum would have by now on a live server: statistics, and the visibility map that lets
    // PostgreSQL count from the indexes alone.
    if (pg) await sql`vacuum analyze logs`.execute(app.database.db);
    const tokenAnswer = await fetch(`${base}/oidc/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${ADMIN_ID}:${ADMIN_SECRET}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource: `${config.publicUrl}/api`, scope: 'all' }).toString(),
    });
    const token = (await tokenAnswer.json()).access_token as string;
    const someId = (await app.services.store.logs.list({ offset: 0, limit: 1 })).logs[0]!.id;
    const queries: Array<[string, string]> = [
      ['page 1', '/api/logs?page_size=20'],
      ['page 1, enableCap', '/api/logs?page_size=20&enableCap=true'],
      ['userId', '/api/logs?userId=user4242&page_size=20'],
      ['applicationId', '/api/logs?applicationId=app7&page_size=20'],
      ['logKey', '/api/logs?logKey=User.Data.Updated&page_size=20'],
      ['logKey, enableCap', '/api/logs?logKey=User.Data.Updated&page_size=20&enableCap=true'],
      ['page 500', '/api/logs?page=500&page_size=20'],
      ['one entry', `/api/logs/${someId}`],
      ['recent-logs', `/api/hooks/${hook.id}/recent-logs?page_size=20&start_time=0`],
    ];
    for (const [name, url] of queries) {
      const latencies: number[] = [];
      let total = '';
      for (let i = 0; i < REQUESTS + 5; i++) {
        const t0 = performance.now();
        const res = await fetch(base + url, { headers: { authorization: `Bearer ${token}` } });
        await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`${url}: ${res.status}`);
        if (i >= 5) latencies.push(performance.now() - t0);
        total = res.headers.get('total-number') ?? '-';
      }
      latencies.sort((a, b) => a - b);
      console.log(
        `${name.padEnd(20)} p50 ${quantile(latencies, 0.5).toFixed(1).padStart(6)} ms  p95 ${quantile(latencies, 0.95).toFixed(1).padStart(6)} ms  ` +
          `p99 ${quantile(latencies, 0.99).toFixed(1).padStart(6)} ms  Total-Number ${total}`,
      );
    }
  } finally {
    await app.close();
    await pg?.drop();
    for (const suffix of ['', '-wal', '-shm']) rmSync(sqliteFile + suffix, { force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
