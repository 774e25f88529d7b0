import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import type { Kysely } from 'kysely';
import type { Database, UsersTable } from '../src/storage/schema.js';
import { Worker } from 'node:worker_threads';

/** Small helpers shared by the benchmarks under bench/. */

/**
 * A positive number from a command-line flag, else an environment variable, else `fallback`.
 * @throws Error naming the variable when the value is not a positive number
 */
export function numberOption(flag: string | undefined, envName: string, fallback: number): number {
  const raw = flag ?? process.env[envName];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${envName}/--option must be a positive number, got ${raw}`);
  return value;
}

/** The `q`-quantile (0..1) of ascending `sorted`, nearest-rank; NaN when empty. */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/**
 * CPU time used so far, in **milliseconds**: by the whole process (every thread: the event loop,
 * libuv's pool where argon2id runs, GC helpers) and by the main (event-loop) thread alone. The
 * main-thread figure comes from `/proc/self/task/<pid>/stat` (Linux; clock ticks, usually 10 ms
 * resolution) and is NaN elsewhere. Differences of two readings tell what one phase cost, which,
 * unlike wall-clock busy time, does not count the time a thread waited for a CPU.
 */
export function cpuTimeMs(): { process: number; mainThread: number } {
  const usage = process.cpuUsage();
  let mainThread = Number.NaN;
  try {
    mainThread = statCpuMs(readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8'));
  } catch {
    mainThread = Number.NaN;
  }
  return { process: (usage.user + usage.system) / 1000, mainThread };
}

/**
 * CPU time, in **milliseconds**, used so far by process `pid` and its direct children (e.g. a
 * `tessera start` primary and its cluster workers), from `/proc/<pid>/stat` (Linux; NaN elsewhere).
 * A child that exited is no longer counted.
 */
export function processTreeCpuMs(pid: number): number {
  const statOf = (p: number) => statCpuMs(readFileSync(`/proc/${p}/stat`, 'utf8'));
  try {
    let total = statOf(pid);
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    for (const child of children) {
      try {
        total += statOf(Number(child));
      } catch {
        // exited meanwhile
      }
    }
    return total;
  } catch {
    return Number.NaN;
  }
}

/**
 * Peak resident set size, in **MiB**, of process `pid` and of each of its direct children (a
 * `tessera start` primary and its cluster workers): `VmHWM` of `/proc/<pid>/status` (Linux; an empty
 * list elsewhere). Read it before the process exits.
 */
export function peakRssMiB(pid: number): Array<{ pid: number; mib: number }> {
  const of = (p: number) => {
    const kib = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1];
    return { pid: p, mib: Number(kib) / 1024 };
  };
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    return [of(pid), ...children.flatMap((c) => {
      try {
        return [of(c)];
      } catch {
        return [];
      }
    })];
  } catch {
    return [];
  }
}

/** USER_HZ: Linux reports per-thread CPU time in these ticks (100 on every mainstream build). */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * The CPU time (utime + stime), in **milliseconds**, in the text of a Linux `/proc/<pid>/stat` or
 * `/proc/<pid>/task/<tid>/stat` file: fields 14 and 15 (1-based), counted after the parenthesised command name.
 */
export function statCpuMs(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
}

/** A TCP port on 127.0.0.1 that was free a moment ago (so a `publicUrl` can name it before a server listens). */
export async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', resolve);
  });
  const { port } = probe.address() as net.AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** Outcome of one closed-loop load phase run by {@link loadInWorker}. */
export interface LoadResult {
  /** Requests answered with the expected status. */
  ok: number;
  /** Unexpected statuses (`HTTP 429`…) and network errors, with counts. */
  errors: Map<string, number>;
  /** Latencies of the successful requests, **milliseconds**, ascending. */
  latencies: number[];
  /** Wall-clock **seconds** from the start to the completion of the last request. */
  elapsed: number;
}

/**
 * Runs a closed-loop load phase from a **worker thread** (bench/load-worker.mjs): `concurrency`
 * keep-alive connections, each with one request in flight for `seconds`, sent again as soon as its
 * whole answer is read; `bodies` (if any) are sent in turn. The client is a minimal HTTP/1.1 client
 * over `node:net` that encodes each request once (less than half a `node:http` agent's CPU per
 * request: 65–73 µs against 165 µs per `client_credentials` request in bench:m2m), so that the load
 * generator takes as little as possible of the CPUs it shares with the server. The server under test
 * keeps the main thread's event loop to itself, as it would in production.
 * Only `http:` URLs; answers must be framed by Content-Length or chunked encoding.
 * @param expected the status that counts as success
 */
export function loadInWorker(options: {
  url: string;
  method: string;
  headers: Record<string, string>;
  bodies?: string[];
  concurrency: number;
  seconds: number;
  expected: number;
}): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./load-worker.mjs', import.meta.url), {
      workerData: { ...options, bodies: options.bodies ?? null },
      // The worker is plain JavaScript: it needs no TypeScript loader.
      execArgv: [],
    });
    worker.once('message', (m: { ok: number; errors: Array<[string, number]>; latencies: number[]; elapsed: number }) =>
      resolve({ ok: m.ok, errors: new Map(m.errors), latencies: m.latencies, elapsed: m.elapsed }),
    );
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`load worker exited with code ${code}`));
    });
  });
}

/**
 * Runs `concurrency` workers in a closed loop on this event loop: each sends request number `i`,
 * waits for the complete answer and sends the next, until `seconds` have passed (requests in flight
 * then finish and count). Only answers with the `expected` status count as successes.
 * @param request sends request number `i` and resolves to its HTTP status
 */
export async function closedLoop(seconds: number, concurrency: number, expected: number, request: (i: number) => Promise<number>): Promise<LoadResult> {
  const result: LoadResult = { ok: 0, errors: new Map(), latencies: [], elapsed: 0 };
  const start = performance.now();
  const deadline = start + seconds * 1000;
  let next = 0;
  let lastEnd = start;
  const worker = async () => {
    while (performance.now() < deadline) {
      const i = next++;
      const t0 = performance.now();
      let outcome: string;
      try {
        const status = await request(i);
        outcome = status === expected ? 'ok' : `HTTP ${status}`;
      } catch (error) {
        outcome = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      }
      const t1 = performance.now();
      lastEnd = Math.max(lastEnd, t1);
      if (outcome === 'ok') {
        result.ok++;
        result.latencies.push(t1 - t0);
      } else {
        result.errors.set(outcome, (result.errors.get(outcome) ?? 0) + 1);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  result.elapsed = (lastEnd - start) / 1000;
  result.latencies.sort((a, b) => a - b);
  return result;
}

/**
 * Inserts `count` user rows straight through Kysely, `row(i)` for i = 0 … count − 1, in multi-row INSERTs of
 * 500 rows (17 columns each: well under SQLite's 32 766 host parameters), 20 000 rows per transaction (the benchmarks' seeding; no domain rules, no HTTP).
 */
export async function insertUserRows(db: Kysely<Database>, count: number, row: (i: number) => UsersTable): Promise<void> {
  const perInsert = 500;
  const perTransaction = 20_000;
  for (let t = 0; t < count; t += perTransaction) {
    await db.transaction().execute(async (trx) => {
      for (let i = t; i < Math.min(count, t + perTransaction); i += perInsert) {
        await trx.insertInto('users').values(Array.from({ length: Math.min(perInsert, count - i) }, (_, k) => row(i + k))).execute();
      }
    });
  }
}

/** Whether `GET <url>/api/status` answers 204 now. */
function statusAnswers(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    http
      .get(`${url}/api/status`, (response) => {
        response.resume();
        resolve(response.statusCode === 204);
      })
      .on('error', () => resolve(false));
  });
}

/**
 * Spawns `tessera start` (bin/tessera.js: the compiled dist/ when it is up to date, else src/ through
 * tsx, as in production) with `env` added to this environment and resolves once `GET <url>/api/status`
 * answers 204 (within 60 s). `BENCH_SERVER_NODE_ARGS` adds Node flags to the server
 * (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`).
 * @throws when the server exits or does not answer in time
 */
export async function startServer(env: Record<string, string>, url: string): Promise<ChildProcess> {
  const nodeArgs = (process.env['BENCH_SERVER_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, path.join(import.meta.dirname, '..', 'bin', 'tessera.js'), 'start'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  const deadline = performance.now() + 60_000;
  while (performance.now() < deadline) {
    if (exited) throw new Error('the server exited during start');
    if (await statusAnswers(url)) return child;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  child.kill('SIGKILL');
  throw new Error('the server did not answer within 60 s');
}

/** SIGTERM, then waits for the server (and its workers) to exit. */
export async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}
