/**
 * Benchmark of the LeanCloud-compatible surface (`npm run bench:leancloud`).
 *
 * In one run it measures and prints:
 *  1. import users/s — `tessera import leancloud` of a generated `_User` export (JSON lines; every row
 *     has LeanCloud's salted SHA-512 password hash, some have email, phone and authData), into a fresh
 *     database, rows per second of wall-clock time.
 *  2. first /1.1/login/s — real HTTP `POST /1.1/login {username, password}` for imported users logging
 *     in for the first time: LeanCloud hash verified (SHA-512 × 513) and replaced by argon2id.
 *  3. /1.1/login/s — the same users again (argon2id verify, new session each time).
 *  4. /1.1/users/me/s — `GET /1.1/users/me` with the session tokens of step 3 (no hashing: session
 *     lookup, identities, JSON).
 * With `--parse-dir <dir>` (a folder where `npm i parse-server` was run) and `--pg <url>`, the same
 * login and users/me phases run against Parse Server on the same PostgreSQL, for comparison (Parse
 * hashes with bcrypt cost 10, Tessera with argon2id m=19 MiB t=2: the figures compare the servers
 * *with their password hashes*, which dominate login).
 *
 * Units: requests per second of wall-clock time (closed loop, `--concurrency` in flight), p50/p99 latency
 * in ms. Server and load generator share this process and its CPUs.
 *
 * Options (flag, else environment variable, else default):
 *   --users <n>        BENCH_USERS         rows in the generated export (default 10000)
 *   --seconds <n>      BENCH_SECONDS       measured duration of each HTTP phase (default 5)
 *   --concurrency <n>  BENCH_CONCURRENCY   HTTP requests in flight (default 8)
 *   --pg <url>         TESSERA_DATABASE_URL  PostgreSQL (a fresh database is created on that server)
 *   --parse-dir <dir>  BENCH_PARSE_DIR     also benchmark Parse Server installed in <dir> (needs --pg)
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createApp, type TesseraApp } from '../src/app.js';
import { importLeanCloud } from '../src/cli/import-leancloud.js';
import { parseConfig } from '../src/config/index.js';
import { leancloudHash } from '../src/domain/credentials/passwords.js';
import { numberOption, quantile } from './lib.js';

const { values: flags } = parseArgs({
  options: {
    users: { type: 'string' },
    seconds: { type: 'string' },
    concurrency: { type: 'string' },
    pg: { type: 'string' },
    'parse-dir': { type: 'string' },
  },
  strict: true,
});


const USERS = Math.floor(numberOption(flags.users, 'BENCH_USERS', 10_000));
const SECONDS = numberOption(flags.seconds, 'BENCH_SECONDS', 5);
const CONCURRENCY = Math.floor(numberOption(flags.concurrency, 'BENCH_CONCURRENCY', 8));
const PG_SERVER = flags.pg ?? (process.env.TESSERA_DATABASE_URL || undefined);
const PARSE_DIR = flags['parse-dir'] ?? (process.env.BENCH_PARSE_DIR || undefined);
const KEYS = { appId: 'bench-app', appKey: 'bench-app-key-0123456789', masterKey: 'bench-master-key-0123456789' };
const PASSWORD = `lc-${randomBytes(9).toString('base64url')}-bench`;
const SALT = randomBytes(24).toString('hex').slice(0, 48);

// ---------------------------------------------------------------------------------------------
// Load generation


/** Outcome of one closed-loop phase. */
interface PhaseResult {
  ok: number;
  errors: Map<string, number>;
  latencies: number[];
  elapsed: number;
}

/**
 * `concurrency` workers each send a request, wait for its whole response and send the next, until
 * `seconds` pass or `maxRequests` were started.
 */
async function closedLoop(seconds: number, concurrency: number, request: (i: number) => Promise<boolean | string>, maxRequests = Infinity): Promise<PhaseResult> {
  const result: PhaseResult = { ok: 0, errors: new Map(), latencies: [], elapsed: 0 };
  const start = performance.now();
  const deadline = start + seconds * 1000;
  let next = 0;
  const worker = async () => {
    while (performance.now() < deadline && next < maxRequests) {
      const i = next++;
      const t0 = performance.now();
      let outcome: boolean | string;
      try {
        outcome = await request(i);
      } catch (error) {
        outcome = error instanceof Error ? error.message : String(error);
      }
      if (outcome === true) {
        result.ok++;
        result.latencies.push(performance.now() - t0);
      } else {
        const key = outcome === false ? 'unexpected answer' : outcome;
        result.errors.set(key, (result.errors.get(key) ?? 0) + 1);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  result.elapsed = (performance.now() - start) / 1000;
  result.latencies.sort((a, b) => a - b);
  return result;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** Sends a request with a JSON body (or none) and resolves to the status and parsed body. */
function send(url: string, method: string, headers: Record<string, string>, body?: unknown): Promise<{ status: number; json: any }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      { method, agent, headers: { ...headers, ...(payload ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) } : {}) } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (c: Buffer) => chunks.push(c));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          resolve({ status: response.statusCode ?? 0, json });
        });
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(payload);
  });
}

/** One result line: rate, count, latency percentiles and errors. */
function report(label: string, r: PhaseResult): number {
  const rate = r.ok / r.elapsed;
  const errors = [...r.errors].map(([k, v]) => `${k} ×${v}`).join(', ') || '0';
  console.log(
    `${label.padEnd(34)} ${rate.toFixed(1).padStart(8)} /s  (${r.ok} in ${r.elapsed.toFixed(2)} s; p50 ${quantile(r.latencies, 0.5).toFixed(1)} ms, ` +
      `p99 ${quantile(r.latencies, 0.99).toFixed(1)} ms; errors ${errors})`,
  );
  return rate;
}

// ---------------------------------------------------------------------------------------------
// The scenario, for any server speaking a login + users/me protocol

/** How to talk to one server. */
interface Target {
  name: string;
  login(username: string): Promise<{ ok: boolean; token?: string; error?: string }>;
  me(token: string): Promise<boolean>;
}

/** Runs first-login (optional), login and users/me phases against `target` for `usernames`. */
async function measure(target: Target, usernames: string[], firstLogin: boolean): Promise<void> {
  const tokens: string[] = [];
  const loginOnce = async (i: number) => {
    const r = await target.login(usernames[i % usernames.length]!);
    if (r.ok && r.token) tokens.push(r.token);
    return r.ok || (r.error ?? false);
  };
  if (firstLogin) {
    // Every request a user who never logged in: LeanCloud hash → argon2id.
    report(`${target.name} first /1.1/login`, await closedLoop(SECONDS, CONCURRENCY, loginOnce, usernames.length));
  } else {
    await closedLoop(1, CONCURRENCY, loginOnce); // warm-up
  }
  const warmed = Math.max(CONCURRENCY, Math.min(usernames.length, tokens.length));
  const again = usernames.slice(0, warmed);
  report(`${target.name} login`, await closedLoop(SECONDS, CONCURRENCY, async (i) => {
    const r = await target.login(again[i % again.length]!);
    if (r.ok && r.token) tokens.push(r.token);
    return r.ok || (r.error ?? false);
  }));
  const live = tokens.slice(-Math.min(tokens.length, 1000));
  if (live.length === 0) throw new Error(`${target.name}: no session token to measure users/me with`);
  report(`${target.name} users/me`, await closedLoop(SECONDS, CONCURRENCY, (i) => target.me(live[i % live.length]!)));
}

// ---------------------------------------------------------------------------------------------
// Main

/** A fresh database on the PostgreSQL server of `serverUrl`, and how to drop it. */
async function freshPg(serverUrl: string, prefix: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

async function main(): Promise<void> {
  const cpus = os.availableParallelism();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tessera-lcbench-'));
  const pgDb = PG_SERVER ? await freshPg(PG_SERVER, 'tessera_lcbench') : undefined;
  const databaseUrl = pgDb?.url ?? `sqlite:${path.join(dir, 'bench.db')}`;
  console.log('Tessera LeanCloud (/1.1) benchmark');
  console.log(`  node ${process.version}, ${cpus} CPUs (${os.cpus()[0]?.model.trim() ?? 'unknown'}), database ${pgDb ? 'postgres' : 'sqlite (temp file)'}`);
  console.log(`  ${USERS} exported users, ${SECONDS} s per phase, HTTP concurrency ${CONCURRENCY}`);
  console.log('  hash schemes: import = LeanCloud SHA-512×513, upgraded at first login to argon2id (m=19456 KiB, t=2, p=1)');
  console.log('');

  let app: TesseraApp | undefined;
  try {
    const hash = leancloudHash(SALT, PASSWORD);
    const lines: string[] = [];
    for (let i = 0; i < USERS; i++) {
      const row: Record<string, unknown> = {
        objectId: createHash('md5').update(`bench${i}`).digest('hex').slice(0, 24),
        username: `lcbench${i}`,
        salt: SALT,
        password: hash,
        createdAt: '2019-09-19T06:06:03.116Z',
        level: i % 10,
      };
      if (i % 2 === 0) row.email = `lcbench${i}@example.com`;
      if (i % 10 === 0) row.authData = { weixin: { openid: `bench-openid-${i}`, access_token: 't' } };
      lines.push(JSON.stringify(row));
    }
    const file = path.join(dir, 'users.jsonl');
    writeFileSync(file, lines.join('\n'));
    const config = parseConfig({
      databaseUrl,
      logLevel: 'silent',
      port: 0,
      rateLimit: { signInPerMinute: 1e9, signUpPerHour: 1e9 },
      password: { hashConcurrency: cpus },
      signIn: { sendVerifyEmail: false },
      leancloud: KEYS,
    });
    const quiet = { isTTY: false, write: () => true };
    const t0 = performance.now();
    const imported = await importLeanCloud(config, file, { progress: quiet, concurrency: 16 });
    const importSeconds = (performance.now() - t0) / 1000;
    console.log(`${'tessera import leancloud'.padEnd(34)} ${(imported.imported / importSeconds).toFixed(1).padStart(8)} users/s  (${imported.imported} users in ${importSeconds.toFixed(2)} s; rejected ${imported.rejected.length})`);

    app = await createApp(config);
    const base = await app.listen();
    const headers = { 'x-lc-id': KEYS.appId, 'x-lc-key': KEYS.appKey };
    const tessera: Target = {
      name: 'tessera',
      async login(username) {
        const r = await send(`${base}/1.1/login`, 'POST', headers, { username, password: PASSWORD });
        return r.status === 200 ? { ok: true, token: r.json.sessionToken } : { ok: false, error: `HTTP ${r.status} ${r.json?.code}` };
      },
      async me(token) {
        return (await send(`${base}/1.1/users/me`, 'GET', { ...headers, 'x-lc-session': token })).status === 200;
      },
    };
    const usernames = Array.from({ length: USERS }, (_, i) => `lcbench${i}`);
    await measure(tessera, usernames, true);

    if (PARSE_DIR) await measureParse(usernames.slice(0, 200));
    console.log(`peak RSS: ${(process.resourceUsage().maxRSS / 1024).toFixed(1)} MiB (this process: the server, the import and the load generator)`);
  } finally {
    await app?.close();
    await pgDb?.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The same login and users/me phases against Parse Server (bcrypt) on a fresh PostgreSQL database. */
async function measureParse(usernames: string[]): Promise<void> {
  if (!PG_SERVER) throw new Error('--parse-dir needs --pg (Parse Server runs on PostgreSQL here)');
  const requireParse = createRequire(path.join(path.resolve(PARSE_DIR!), 'package.json'));
  const { ParseServer } = requireParse('parse-server') as { ParseServer: new (options: object) => { start(): Promise<void>; app: unknown; handleShutdown?: () => Promise<void> } };
  const express = requireParse('express') as () => { use(path: string, app: unknown): void; listen(port: number, host: string, cb: () => void): http.Server };
  const db = await freshPg(PG_SERVER, 'parse_lcbench');
  const server = new ParseServer({
    databaseURI: db.url,
    appId: KEYS.appId,
    masterKey: KEYS.masterKey,
    restAPIKey: KEYS.appKey,
    serverURL: 'http://127.0.0.1:1/parse',
    silent: true,
    enforcePrivateUsers: false,
    accountLockout: { duration: 15, threshold: 6 },
    maxLimit: 1000,
  });
  await server.start();
  const web = express();
  web.use('/parse', server.app);
  const listener = await new Promise<http.Server>((resolve) => {
    const l = web.listen(0, '127.0.0.1', () => resolve(l));
  });
  const base = `http://127.0.0.1:${(listener.address() as { port: number }).port}/parse`;
  const headers = { 'x-parse-application-id': KEYS.appId, 'x-parse-rest-api-key': KEYS.appKey };
  try {
    const signups = await closedLoop(3600, CONCURRENCY, async (i) => (await send(`${base}/users`, 'POST', headers, { username: usernames[i], password: PASSWORD })).status === 201, usernames.length);
    if (signups.ok !== usernames.length) throw new Error(`parse sign-up failed: ${[...signups.errors.keys()].join(', ')}`);
    const parse: Target = {
      name: 'parse-server',
      async login(username) {
        const r = await send(`${base}/login`, 'POST', headers, { username, password: PASSWORD });
        return r.status === 200 ? { ok: true, token: r.json.sessionToken } : { ok: false, error: `HTTP ${r.status} ${r.json?.code}` };
      },
      async me(token) {
        return (await send(`${base}/users/me`, 'GET', { ...headers, 'x-parse-session-token': token })).status === 200;
      },
    };
    console.log('  parse-server: bcrypt cost 10 (its default), PostgreSQL');
    await measure(parse, usernames, false);
  } finally {
    await new Promise<void>((resolve) => listener.close(() => resolve()));
    // handleShutdown also closes the HTTP server Parse starts itself (ParseServer.startApp), which this
    // embedding does not use; its database connections end with the dropped database.
    await Promise.resolve()
      .then(() => server.handleShutdown?.())
      .catch(() => undefined);
    await db.drop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
