/**
 * Two builds of Tessera side by side in one process (issue 22: per-request CPU of a change, measured so
 * that the machine's drift hits both alike). Each build's `dist/` (`npm run build` in its checkout)
 * serves its own fresh database, and the load generator (bench/load-worker.mjs, a worker thread) drives
 * `GET /api/users?page_size=20` with a Management API token at 8 in flight, alternating the two servers
 * in phases (the order flips every round). Per phase it reads the CPU time of this process's threads
 * other than the load generator (`/proc/self/task/<tid>/stat`, the servers' event loop, libuv and V8
 * threads) and, on PostgreSQL, of every `postgres` process on the machine (`/proc/<pid>/stat`), each per
 * request (µs); it prints the medians and req/s. Figures are printed, never asserted.
 *
 * Usage (the other checkout e.g. `git worktree add ../base <commit> && (cd ../base && npm ci)`):
 *   npx tsx bench/builds-ab.ts --a ../base --b .                 # SQLite temp files
 *   npx tsx bench/builds-ab.ts --a ../base --b . --pg postgres://postgres@127.0.0.1:5432/test
 * Options: --rounds (12), --seconds per phase (2), --path (the request path, default /api/users?page_size=20),
 *   --database URL: both builds serve this existing database (e.g. one `bench:m2m --seed-into` made), which is
 *   neither seeded nor dropped; only for read-only paths.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { freePort, loadInWorker, statCpuMs } from './lib.js';

const { values: flags } = parseArgs({
  options: { a: { type: 'string' }, b: { type: 'string' }, pg: { type: 'string' }, database: { type: 'string' }, rounds: { type: 'string' }, seconds: { type: 'string' }, path: { type: 'string' } },
});
if (!flags.a || !flags.b) throw new Error('--a and --b name the two checkouts (each with a built dist/)');
const ROUNDS = Number(flags.rounds ?? 12);
const SECONDS = Number(flags.seconds ?? 2);
const REQUEST_PATH = flags.path ?? '/api/users?page_size=20';
/** Whether the servers run on PostgreSQL (then its processes' CPU is measured too). */
const ON_PG = Boolean(flags.pg) || (flags.database?.startsWith('postgres') ?? false);

/** CPU time of each thread of this process, in µs (threads that ended in between read as NaN). */
const threads = () =>
  Object.fromEntries(fs.readdirSync('/proc/self/task').map((t) => {
    try {
      return [t, statCpuMs(fs.readFileSync(`/proc/self/task/${t}/stat`, 'utf8')) * 1000];
    } catch {
      return [t, Number.NaN];
    }
  }));
/** CPU of the threads present at both readings: the load generator's thread starts and ends within a phase, so it is left out. */
const threadDelta = (a: Record<string, number>, b: Record<string, number>) =>
  Object.keys(a).filter((t) => t in b && !Number.isNaN(a[t]!) && !Number.isNaN(b[t]!)).reduce((sum, t) => sum + b[t]! - a[t]!, 0);
/** CPU time of every postgres process on the machine, µs. */
const postgresCpu = () => {
  let sum = 0;
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const line = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (line.includes('(postgres)')) sum += statCpuMs(line) * 1000;
    } catch {
      // the process ended
    }
  }
  return sum;
};

async function pgAdmin(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: flags.pg });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

interface Server {
  label: string;
  url: string;
  headers: Record<string, string>;
  close(): Promise<void>;
}

/** Starts one checkout's build on a fresh database with 40 users (or on `--database`) and an admin M2M app; returns its URL and token. */
async function start(label: string, checkout: string): Promise<Server> {
  const dist = path.resolve(checkout, 'dist');
  const { createApp } = await import(pathToFileURL(path.join(dist, 'app.js')).href);
  const { parseConfig } = await import(pathToFileURL(path.join(dist, 'config', 'index.js')).href);
  const name = `tessera_builds_ab_${label}_${process.pid}`;
  let databaseUrl: string;
  let drop: () => Promise<void>;
  if (flags.database) {
    databaseUrl = flags.database;
    drop = async () => {};
  } else if (flags.pg) {
    await pgAdmin(`create database ${name}`);
    const url = new URL(flags.pg);
    url.pathname = `/${name}`;
    databaseUrl = url.toString();
    drop = () => pgAdmin(`drop database if exists ${name} with (force)`);
  } else {
    const file = path.join(os.tmpdir(), `${name}.db`);
    databaseUrl = `sqlite:${file}`;
    drop = async () => {
      for (const suffix of ['', '-wal', '-shm']) fs.rmSync(file + suffix, { force: true });
    };
  }
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const secret = 'builds-ab-admin-secret-0123456789';
  const app = await createApp(parseConfig({ databaseUrl, logLevel: 'silent', host: '127.0.0.1', port, publicUrl, adminClientId: 'builds-ab-admin', adminClientSecret: secret, rateLimit: { managementPer10Seconds: 1e9 } }));
  const base: string = await app.listen();
  if (!flags.database) for (let i = 0; i < 40; i++) await app.services.users.create({ username: `user_${i}`, email: `u${i}@example.com`, name: `User ${i}` });
  const token = await fetch(`${base}/oidc/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`builds-ab-admin:${secret}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'client_credentials', resource: `${publicUrl}/api`, scope: 'all' }),
  });
  const { access_token: accessToken } = (await token.json()) as { access_token: string };
  const headers = { authorization: `Bearer ${accessToken}` };
  const url = `${base}${REQUEST_PATH}`;
  const check = await fetch(url, { headers });
  if (check.status !== 200) throw new Error(`${label}: ${REQUEST_PATH} answered ${check.status}`);
  return { label, url, headers, close: async () => { await app.close(); await drop(); } };
}

const servers = [await start('a', flags.a), await start('b', flags.b)];
try {
  for (const s of servers) await loadInWorker({ url: s.url, method: 'GET', headers: s.headers, concurrency: 8, seconds: 2, expected: 200 });
  const results = new Map(servers.map((s) => [s.label, { server: [] as number[], database: [] as number[], rate: [] as number[] }]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const s of round % 2 ? [...servers].reverse() : servers) {
      const t0 = threads();
      const p0 = ON_PG ? postgresCpu() : 0;
      const r = await loadInWorker({ url: s.url, method: 'GET', headers: s.headers, concurrency: 8, seconds: SECONDS, expected: 200 });
      const into = results.get(s.label)!;
      into.server.push(threadDelta(t0, threads()) / r.ok);
      if (ON_PG) into.database.push((postgresCpu() - p0) / r.ok);
      into.rate.push(r.ok / r.elapsed);
    }
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1] ?? Number.NaN;
  console.log(`GET ${REQUEST_PATH}, ${ON_PG ? 'PostgreSQL' : 'SQLite'}, ${ROUNDS} rounds of ${SECONDS} s, 8 in flight, ${os.availableParallelism()} CPUs, Node ${process.version} (medians per request)`);
  for (const s of servers) {
    const r = results.get(s.label)!;
    console.log(
      `${s.label} (${s.label === 'a' ? flags.a : flags.b}): server ${median(r.server).toFixed(0)} µs` +
        (ON_PG ? `, PostgreSQL ${median(r.database).toFixed(0)} µs` : '') +
        `, ${median(r.rate).toFixed(0)} req/s`,
    );
  }
} finally {
  for (const s of servers) await s.close();
}
process.exit(0);
