/**
 * Machine-to-machine benchmark (`npm run bench:m2m`, issue 4 "Done when"): Management API tokens and
 * user listing with 100 000 users on SQLite.
 *
 * In one run it:
 *  1. in a child process (so that the load generator does not carry the seeding's heap), builds a real
 *     app (`createApp`) on a temp-file SQLite database (migrations, an admin M2M app from
 *     `adminClientId` / `adminClientSecret`) and seeds `--users` users (default 100 000) straight
 *     through Kysely, in multi-row INSERTs inside transactions (not through HTTP), and prints how long
 *     that took;
 *  2. starts `tessera start` on that database as a child process with `--workers` worker processes,
 *     listening on 127.0.0.1 with a `publicUrl` naming its own port (so the OIDC issuer and the token
 *     audience match) and the Management API rate limit lifted;
 *  3. measures `client_credentials` at `POST /oidc/token` (HTTP Basic client auth, `resource=<publicUrl>/api`,
 *     `scope=all`) in a closed loop for a fixed time: tokens/s and tokens/s per core
 *     (`os.availableParallelism()`), and tokens per CPU-second the server processes used (the same
 *     target counted on the server's own CPU, which the load generator on this machine does not take);
 *     target ≥ 1 000 tokens/s per core;
 *     then the same grant for an app holding 3 MachineToMachine roles over the 50 permissions of another
 *     resource, asking for all 50, alternating with the single-permission grant for BENCH_RBAC_ROUNDS
 *     (default 3) pairs of phases (issue 18: the RBAC figure within 10 % of it, counted per CPU-second of
 *     server time; the median of the pairs' ratios);
 *  4. measures `GET /api/users?page_size=20` with one Management API token: page 1, a deep page
 *     (`page=2500`, i.e. OFFSET 49 980), an exact search (`search.username=USER_4242&mode.username=exact`,
 *     case-insensitive) and a substring search (`search=%25user_4242%25`, a LIKE over every searchable
 *     column): req/s and p50/p95/p99 latency; target p95 < 20 ms (substring < 50 ms at 1 000 000 users).
 *     Searches read the trigram indexes of migration 0019 (SQLite FTS5, PostgreSQL pg_trgm).
 * Figures are printed, never asserted.
 *
 * Units: rates are completed requests with the expected status per second of wall-clock time;
 * latencies are milliseconds from sending a request to reading its whole body. The server is a real
 * `tessera start` child process with `--workers` worker processes (node:cluster) on the seeded
 * database; this process is only the load generator (bench/load-worker.mjs in a worker thread: a
 * minimal keep-alive HTTP/1.1 client over `node:net`, encoding each request once), so server and
 * client share the machine's CPUs but not an event loop.
 * In a closed loop latency ≈ concurrency ÷ rate, so the p95 figures are those seen with
 * `--concurrency` requests in flight.
 *
 * Options (flag, else environment variable, else default):
 *   --seconds <n>      BENCH_SECONDS      measured duration of each phase (default 5)
 *   --warmup <n>       BENCH_WARMUP       warm-up seconds before each phase (default 1)
 *   --concurrency <n>  BENCH_CONCURRENCY  requests in flight (default 8)
 *   --users <n>        BENCH_USERS        users to seed (default 100000)
 *   --workers <n>      BENCH_WORKERS      server processes, TESSERA_WORKERS of `tessera start` (default 1)
 *   --pg <url>         BENCH_PG_URL       PostgreSQL server: a fresh database is created there (and dropped
 *                                         afterwards) instead of the default temp-file SQLite database
 *   --database <url>   BENCH_DATABASE_URL an existing database seeded before (`--seed-into <url> --users <n>`):
 *                                         neither seeded nor dropped, so phases can be rerun on a million
 *                                         users without seeding them again (`--users` should say how many)
 *   (env)              BENCH_SERVER_NODE_ARGS  extra Node flags for the server process, e.g. to profile it
 *   --phases <list>    BENCH_PHASES       phases to run: tokens,list (default both; e.g. `--phases tokens`
 *                                         with `node --cpu-prof` profiles the token endpoint alone)
 * With the defaults the whole run takes roughly 30 s.
 */
import { type ChildProcess, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
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
import { freePort } from '../test/helpers.js';
import { cpuTimeMs, type LoadResult, loadInWorker, numberOption, peakRssMiB, processTreeCpuMs, quantile, insertUserRows, startServer, stopServer } from './lib.js';

// ---------------------------------------------------------------------------------------------
// Options

const { values: flags } = parseArgs({
  options: {
    seconds: { type: 'string' },
    warmup: { type: 'string' },
    concurrency: { type: 'string' },
    users: { type: 'string' },
    phases: { type: 'string' },
    workers: { type: 'string' },
    'seed-into': { type: 'string' },
    pg: { type: 'string' },
    database: { type: 'string' },
  },
  strict: true,
});


const SECONDS = numberOption(flags.seconds, 'BENCH_SECONDS', 5);
const WARMUP_SECONDS = numberOption(flags.warmup, 'BENCH_WARMUP', 1);
const CONCURRENCY = Math.floor(numberOption(flags.concurrency, 'BENCH_CONCURRENCY', 8));
const USERS = Math.floor(numberOption(flags.users, 'BENCH_USERS', 100_000));
/** Which phases run (comma-separated `tokens`, `list`; default both) — one phase alone is easier to profile. */
/**
 * Server processes (`TESSERA_WORKERS` of the spawned `tessera start`); default 1. On machines whose
 * vCPUs are hyperthreads of fewer physical cores, two workers cost more CPU per token than one.
 */
const WORKERS = Math.floor(numberOption(flags.workers, 'BENCH_WORKERS', 1));
const PHASES = new Set((flags.phases ?? process.env['BENCH_PHASES'] ?? 'tokens,list').split(',').map((p) => p.trim()));

const sqliteFile = path.join(os.tmpdir(), `tessera-bench-m2m-${process.pid}.db`);
/** An existing, already seeded database (`--database`): used as it is. */
const EXISTING_URL = flags.database ?? process.env['BENCH_DATABASE_URL'];
const PG_URL = EXISTING_URL ? undefined : (flags.pg ?? process.env['BENCH_PG_URL']);
/** PostgreSQL: a database of this run on the `--pg` server. */
const pgDatabase = PG_URL ? { name: `tessera_bench_m2m_${process.pid}`, url: Object.assign(new URL(PG_URL), { pathname: `/tessera_bench_m2m_${process.pid}` }).toString() } : undefined;
const databaseUrl = EXISTING_URL ?? pgDatabase?.url ?? `sqlite:${sqliteFile}`;

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
const CLIENT_ID = 'bench-m2m-admin';
const CLIENT_SECRET = randomBytes(24).toString('base64url');

// ---------------------------------------------------------------------------------------------
// Load generator




/** Keep-alive `node:http` agent for the few set-up requests (the measured load comes from bench/load-worker.mjs). */
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** Sends one request and reads the whole answer. */
function send(url: string, method: string, headers: Record<string, string>, body?: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method, agent, headers: body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(body);
  });
}


/** The server process whose CPU time {@link phase} reports (set once it runs). */
let serverPid: number | undefined;

/**
 * A warm-up and a measured closed-loop phase expecting 200, with the CPU time (ms) the server processes
 * and this load generator used during the measured part.
 */
async function phase(request: { url: string; method: string; headers: Record<string, string>; body?: string }): Promise<LoadResult & { serverCpuMs: number; clientCpuMs: number }> {
  const load = (seconds: number) =>
    loadInWorker({ ...request, bodies: request.body === undefined ? undefined : [request.body], concurrency: CONCURRENCY, seconds, expected: 200 });
  await load(WARMUP_SECONDS);
  const server0 = serverPid === undefined ? Number.NaN : processTreeCpuMs(serverPid);
  const client0 = cpuTimeMs().process;
  const result = await load(SECONDS);
  const serverCpuMs = serverPid === undefined ? Number.NaN : processTreeCpuMs(serverPid) - server0;
  return { ...result, serverCpuMs, clientCpuMs: cpuTimeMs().process - client0 };
}

/** "CPU per request: server X µs, load generator Y µs" for a phase. */
const fmtCpu = (r: { ok: number; serverCpuMs: number; clientCpuMs: number }) =>
  `CPU per request: server ${((r.serverCpuMs * 1000) / r.ok).toFixed(0)} µs, load generator ${((r.clientCpuMs * 1000) / r.ok).toFixed(0)} µs`;

const fmtRate = (n: number) => n.toFixed(1);
const fmtMs = (n: number) => (Number.isNaN(n) ? 'n/a' : n.toFixed(2));
const fmtErrors = (errors: Map<string, number>) => {
  const total = [...errors.values()].reduce((a, b) => a + b, 0);
  return total === 0 ? '0' : `${total} (${[...errors].map(([k, v]) => `${k} ×${v}`).join(', ')})`;
};

// ---------------------------------------------------------------------------------------------
// Seeding

/**
 * Inserts `count` users (`user_<i>`, `user_<i>@example.com`, name `User <i>`, no password; creation
 * times one millisecond apart) in multi-row INSERTs ({@link insertUserRows}).
 * @returns seconds taken
 */
async function seedUsers(app: TesseraApp, count: number): Promise<number> {
  const start = performance.now();
  const base = Date.now() - count;
  const row = (i: number): UsersTable => {
    const id = `${Math.floor((base + i) / 1000).toString(16).padStart(8, '0')}${i.toString(16).padStart(16, '0')}`;
    return toUserRow(
      userRecord({ id, username: `user_${i}`, primaryEmail: `user_${i}@example.com`, name: `User ${i}`, createdAt: base + i, updatedAt: base + i }),
    );
  };
  await insertUserRows(app.database.db, count, row);
  return (performance.now() - start) / 1000;
}

// ---------------------------------------------------------------------------------------------
// Server process

// ---------------------------------------------------------------------------------------------
// Main

/** Builds the app, seeds the users, runs the token and list phases and prints the figures. */
async function main(): Promise<void> {
  const cpus = os.availableParallelism();
  console.log('Tessera machine-to-machine benchmark');
  console.log(`  node ${process.version}, ${cpus} CPUs (${os.cpus()[0]?.model.trim() ?? 'unknown'}), database ${EXISTING_URL ? `${EXISTING_URL.startsWith('postgres') ? 'PostgreSQL' : 'sqlite'} (existing, ${EXISTING_URL.replace(/\/\/[^@/]*@/, '//')})` : pgDatabase ? 'PostgreSQL' : 'sqlite (temp file)'}`);
  console.log(`  ${SECONDS} s per phase after ${WARMUP_SECONDS} s warm-up, concurrency ${CONCURRENCY}, ${USERS.toLocaleString('en')} users`);
  console.log(`  server: tessera start with ${WORKERS} worker process${WORKERS === 1 ? '' : 'es'} (TESSERA_WORKERS); load generator: a worker thread of this process`);
  console.log('');

  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const config = parseConfig({
    databaseUrl,
    logLevel: 'silent',
    host: '127.0.0.1',
    port,
    publicUrl,
    adminClientId: CLIENT_ID,
    adminClientSecret: CLIENT_SECRET,
    rateLimit: { managementPer10Seconds: 1e9 },
  });
  let server: ChildProcess | undefined;
  try {
    // Migrate, bootstrap the admin app and seed in a child process (so this load generator does not
    // carry the seeding's heap), then hand the database to the server.
    if (pgDatabase) await pgAdmin(`CREATE DATABASE ${pgDatabase.name}`);
    if (EXISTING_URL) console.log('seeding:        skipped (--database: an existing database)');
    else {
    const seeded = spawnSync(process.execPath, ['--import', 'tsx', import.meta.filename, '--seed-into', databaseUrl, '--users', String(USERS)], {
      env: { ...process.env, BENCH_SEED_ADMIN_SECRET: CLIENT_SECRET },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    if (seeded.status !== 0) throw new Error(`seeding failed (exit ${seeded.status})`);
    const seconds = (JSON.parse(seeded.stdout.trim().split('\n').pop() ?? '{}') as { seconds: number }).seconds;
    console.log(`seeding:        ${USERS.toLocaleString('en')} users in ${seconds.toFixed(2)} s (${fmtRate(USERS / seconds)} users/s)`);
    }
    server = await startServer({
      TESSERA_WORKERS: String(WORKERS),
      TESSERA_DATABASE_URL: databaseUrl,
      TESSERA_HOST: '127.0.0.1',
      TESSERA_PORT: String(port),
      TESSERA_PUBLIC_URL: publicUrl,
      TESSERA_LOG_LEVEL: 'warn',
      TESSERA_ADMIN_CLIENT_ID: CLIENT_ID,
      TESSERA_ADMIN_CLIENT_SECRET: CLIENT_SECRET,
      TESSERA_RATE_LIMIT_MANAGEMENT_PER_10_SECONDS: '1000000000',
    }, publicUrl);
    serverPid = server.pid;

    // client_credentials
    const tokenUrl = `${publicUrl}/oidc/token`;
    const tokenHeaders = {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`,
    };
    const tokenBody = new URLSearchParams({ grant_type: 'client_credentials', resource: `${publicUrl}/api`, scope: 'all' }).toString();
    const first = await send(tokenUrl, 'POST', tokenHeaders, tokenBody);
    if (first.status !== 200) throw new Error(`token request failed: ${first.status} ${first.body}`);
    const accessToken = (JSON.parse(first.body) as { access_token: string }).access_token;
    if (PHASES.has('tokens')) {
    const tokens = await phase({ url: tokenUrl, method: 'POST', headers: tokenHeaders, body: tokenBody });
    const tokenRate = tokens.ok / tokens.elapsed;
    const perCore = tokenRate / cpus;
    console.log(
      `tokens/s:       ${fmtRate(tokenRate)} /s, ${fmtRate(perCore)} /s per core ` +
        `(${tokens.ok} × 200 in ${tokens.elapsed.toFixed(2)} s; p50 ${fmtMs(quantile(tokens.latencies, 0.5))} ms, ` +
        `p95 ${fmtMs(quantile(tokens.latencies, 0.95))} ms; errors ${fmtErrors(tokens.errors)})  ` +
        `target ≥ 1,000 /s per core: ${perCore >= 1000 ? 'met' : 'NOT met'}`,
    );
    console.log(`                ${fmtCpu(tokens)}`);
    // The same target counted on the CPU the server itself used (its processes' CPU time), which the
    // load generator sharing this machine does not take away.
    const perServerCpuSecond = (tokens.ok * 1000) / tokens.serverCpuMs;
    console.log(
      `                tokens per CPU-second of server time: ${fmtRate(perServerCpuSecond)}  ` +
        `target ≥ 1,000 per core counted this way: ${perServerCpuSecond >= 1000 ? 'met' : 'NOT met'}`,
    );

    // The same grant for an app holding 3 roles over 50 permissions, asking for all 50 (issue 18).
    const rbacHeaders = { ...tokenHeaders, authorization: `Basic ${Buffer.from(`${RBAC_CLIENT_ID}:${RBAC_CLIENT_SECRET}`).toString('base64')}` };
    const rbacBody = new URLSearchParams({ grant_type: 'client_credentials', resource: RBAC_RESOURCE, scope: RBAC_SCOPES.join(' ') }).toString();
    const rbacProbe = await send(tokenUrl, 'POST', rbacHeaders, rbacBody);
    if (rbacProbe.status !== 200) console.log(`tokens (RBAC):  skipped (${rbacProbe.status}: the database was not seeded by this benchmark)`);
    else {
      const granted = ((JSON.parse(rbacProbe.body) as { scope?: string }).scope ?? '').split(' ').filter(Boolean).length;
      if (granted !== RBAC_SCOPES.length) throw new Error(`the RBAC token carries ${granted} permissions, expected ${RBAC_SCOPES.length}`);
      // RBAC and single-permission phases alternate (ROUNDS pairs), so both run on an equally warm server
      // and drift (JIT warm-up, the machine's other load) falls on both; the median of the pair ratios counts.
      const pairs: Array<{ rbac: Awaited<ReturnType<typeof phase>>; single: Awaited<ReturnType<typeof phase>>; ratio: number }> = [];
      for (let round = 0; round < RBAC_ROUNDS; round++) {
        const rbac = await phase({ url: tokenUrl, method: 'POST', headers: rbacHeaders, body: rbacBody });
        const single = await phase({ url: tokenUrl, method: 'POST', headers: tokenHeaders, body: tokenBody });
        pairs.push({ rbac, single, ratio: (rbac.ok * 1000) / rbac.serverCpuMs / ((single.ok * 1000) / single.serverCpuMs) });
      }
      for (const [i, { rbac, single, ratio }] of pairs.entries()) {
        console.log(
          `tokens (RBAC):  round ${i + 1}: ${fmtRate(rbac.ok / rbac.elapsed)} /s, ${fmtRate((rbac.ok * 1000) / rbac.serverCpuMs)} per CPU-second of server time ` +
            `for 3 roles over 50 permissions (all 50 asked and granted; p95 ${fmtMs(quantile(rbac.latencies, 0.95))} ms; errors ${fmtErrors(rbac.errors)}), ` +
            `single permission right after ${fmtRate((single.ok * 1000) / single.serverCpuMs)} per CPU-second: ${(ratio * 100).toFixed(1)} %`,
        );
        console.log(`                ${fmtCpu(rbac)}`);
      }
      const ratio = [...pairs.map((p) => p.ratio)].sort((a, b) => a - b)[Math.floor(pairs.length / 2)]!;
      console.log(`tokens (RBAC):  median of ${pairs.length} rounds: ${(ratio * 100).toFixed(1)} % of the single-permission figure  target within 10 %: ${ratio >= 0.9 ? 'met' : 'NOT met'}`);
    }
    }

    // GET /api/users
    const listHeaders = { authorization: `Bearer ${accessToken}` };
    const queries: Array<[string, string]> = [
      ['page 1', 'page_size=20'],
      ['page 2500', 'page_size=20&page=2500'],
      ['exact search', 'page_size=20&search.username=USER_4242&mode.username=exact'],
      ['substring', 'page_size=20&search=%25user_4242%25'],
    ];
    for (const [label, query] of PHASES.has('list') ? queries : []) {
      const url = `${publicUrl}/api/users?${query}`;
      const probe = await send(url, 'GET', listHeaders);
      if (probe.status !== 200) throw new Error(`GET ${url} failed: ${probe.status} ${probe.body}`);
      const shown = (JSON.parse(probe.body) as unknown[]).length;
      const r = await phase({ url, method: 'GET', headers: listHeaders });
      const p95 = quantile(r.latencies, 0.95);
      console.log(
        `${`list ${label}:`.padEnd(16)}${fmtRate(r.ok / r.elapsed)} req/s; p50 ${fmtMs(quantile(r.latencies, 0.5))} ms, p95 ${fmtMs(p95)} ms, ` +
          `p99 ${fmtMs(quantile(r.latencies, 0.99))} ms (${shown} users of Total-Number ${String(probe.headers['total-number'])}; ` +
          `errors ${fmtErrors(r.errors)})  target p95 < ${label === 'substring' ? 50 : 20} ms: ${p95 < (label === 'substring' ? 50 : 20) ? 'met' : 'NOT met'}`,
      );
      console.log(`                ${fmtCpu(r)}`);
    }
  } finally {
    agent.destroy();
    if (server?.pid !== undefined) {
      const peaks = peakRssMiB(server.pid);
      if (peaks.length > 0) console.log(`peak RSS:       ${peaks.map((p, i) => `${i === 0 ? 'server' : `worker ${i}`} ${p.mib.toFixed(1)} MiB`).join(', ')} (target < 250 MiB per process)`);
    }
    if (server) await stopServer(server);
    if (!EXISTING_URL) for (const suffix of ['', '-wal', '-shm']) rmSync(sqliteFile + suffix, { force: true });
    if (pgDatabase) await pgAdmin(`DROP DATABASE IF EXISTS ${pgDatabase.name} WITH (FORCE)`);
  }
}

/**
 * `--seed-into <file | database URL>` (used by {@link main} in a child process): migrates the database, makes sure
 * the admin M2M app exists (secret from BENCH_SEED_ADMIN_SECRET) and seeds `--users` users; prints
 * `{"seconds": <seeding time>}` as the last stdout line.
 */
async function seedOnly(target: string): Promise<void> {
  const app = await createApp(
    parseConfig({
      databaseUrl: /^(sqlite|postgres(ql)?):/.test(target) ? target : `sqlite:${target}`,
      logLevel: 'silent',
      adminClientId: CLIENT_ID,
      adminClientSecret: process.env['BENCH_SEED_ADMIN_SECRET'] ?? CLIENT_SECRET,
    }),
  );
  try {
    await seedRbac(app);
    const seconds = await seedUsers(app, USERS);
    // PostgreSQL: what autovacuum would do within minutes of a bulk load: planner statistics and the
    // visibility map (index-only scans), so the phases measure the steady state, not a cold table.
    if (app.database.dialect === 'postgres') await sql`vacuum analyze users`.execute(app.database.db);
    process.stdout.write(`${JSON.stringify({ seconds })}\n`);
  } finally {
    await app.close();
  }
}

/** The RBAC phase's client: an M2M app holding 3 roles over the 50 permissions of {@link RBAC_RESOURCE} (issue 18). */
const RBAC_CLIENT_ID = 'bench-rbac-app';
/** Alternating RBAC / single-permission phase pairs (BENCH_RBAC_ROUNDS, default 3). */
const RBAC_ROUNDS = Math.max(1, Math.floor(Number(process.env['BENCH_RBAC_ROUNDS'] ?? 3)));
const RBAC_CLIENT_SECRET = 'bench-rbac-secret-0123456789abcdef';
const RBAC_RESOURCE = 'https://api.bench.example.com';
const RBAC_SCOPES = Array.from({ length: 50 }, (_, i) => `perm:${i}`);

/**
 * Seeds the RBAC phase (issue 18): a resource with 50 permissions, 3 MachineToMachine roles holding 17, 17
 * and 16 of them, and {@link RBAC_CLIENT_ID} holding the 3 roles. Skipped when the app exists (a reseeded database).
 */
async function seedRbac(app: TesseraApp): Promise<void> {
  const { applications, authorization } = app.services;
  if (await applications.find(RBAC_CLIENT_ID)) return;
  const resource = await authorization.createResource({ name: 'Bench API', indicator: RBAC_RESOURCE });
  const scopes = [];
  for (const name of RBAC_SCOPES) scopes.push(await authorization.createScope(resource.id, { name }));
  const roles = [];
  for (let r = 0; r < 3; r++) {
    const scopeIds = scopes.filter((_, i) => i % 3 === r).map((s) => s.id);
    roles.push(await authorization.createRole({ name: `bench role ${r}`, description: 'bench', type: 'MachineToMachine', scopeIds }));
  }
  await applications.create({ id: RBAC_CLIENT_ID, secret: RBAC_CLIENT_SECRET, name: 'Bench RBAC', type: 'm2m' });
  await authorization.grantApplicationRoles(RBAC_CLIENT_ID, roles.map((r) => r.id));
}

(flags['seed-into'] ? seedOnly(flags['seed-into']) : main()).catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
