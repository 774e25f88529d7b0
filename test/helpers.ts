import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import pg from 'pg';
import { createApp, type AppOptions, type TesseraApp } from '../src/app.js';
import { type Config, type ConfigInput, parseConfig } from '../src/config/index.js';
import { ACCOUNT_CENTER_FIELDS, type AccountCenterField, type FieldMode } from '../src/domain/account/center.js';

/** Every account-center field in mode `Edit` (start from it and override the fields a test gates). */
export const ALL_EDIT: Record<AccountCenterField, FieldMode> = Object.fromEntries(ACCOUNT_CENTER_FIELDS.map((f) => [f, 'Edit'])) as Record<AccountCenterField, FieldMode>;

/** PostgreSQL server for the PostgreSQL variants of the suites (set by .ci/run). */
export const PG_URL = process.env.TESSERA_TEST_PG_URL;

/** A database for one suite: its URL and how to throw it away. */
export type DatabaseFactory = () => Promise<{ url: string; drop(): Promise<void> }>;

/**
 * The databases every API suite runs on, for `describe.each`: a private in-memory SQLite database,
 * and a fresh PostgreSQL database when `TESSERA_TEST_PG_URL` is set.
 */
export const dialects: Array<[string, DatabaseFactory]> = [['SQLite', async () => ({ url: 'sqlite::memory:', drop: async () => {} })]];
if (PG_URL) {
  const pgUrl = PG_URL;
  dialects.push(['PostgreSQL', () => freshPgDatabase(pgUrl)]);
}

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

/**
 * A configuration for tests: private in-memory SQLite, silent logs, an ephemeral port, and per-IP
 * rate limits high enough not to interfere (tests of the limits set their own), and no sign-in captcha.
 */
export function testConfig(overrides: DeepPartial<ConfigInput> = {}): Config {
  const base: ConfigInput = {
    databaseUrl: 'sqlite::memory:',
    logLevel: 'silent',
    port: 0,
    password: { hashConcurrency: 2 },
    rateLimit: { signInPerMinute: 100_000, signUpPerHour: 100_000 },
    // Suites that test repeated failures expect lockout, not the per-IP captcha (test/captcha.test.ts turns it on).
    signIn: { captchaAfterFailures: 0 },
  };
  const merged = merge(base as Record<string, unknown>, overrides as Record<string, unknown>);
  return parseConfig(merged);
}

function merge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] = v && typeof v === 'object' && prev && typeof prev === 'object' ? merge(prev as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}

/** A running app on 127.0.0.1 and a small JSON client for it. */
export interface RunningApp {
  app: TesseraApp;
  base: string;
  /** Sends a request; `body` objects are JSON-encoded, strings are sent as they are. */
  call(method: string, path: string, options?: { body?: unknown; token?: string; headers?: Record<string, string> }): Promise<Response & { json(): Promise<any> }>;
  close(): Promise<void>;
}

/** Builds and starts an app on a real port. */
export async function startApp(config: Config = testConfig(), options: AppOptions = {}): Promise<RunningApp> {
  const app = await createApp(config, options);
  const base = await app.listen().catch(async (error: unknown) => {
    await app.close();
    throw error;
  });
  return {
    app,
    base,
    call(method, path, { body, token, headers = {} } = {}) {
      const h: Record<string, string> = { ...headers };
      if (token) h.authorization = `Bearer ${token}`;
      let payload: string | undefined;
      if (body !== undefined) {
        payload = typeof body === 'string' ? body : JSON.stringify(body);
        h['content-type'] ??= 'application/json';
      }
      return fetch(base + path, { method, headers: h, body: payload });
    },
    close: () => app.close(),
  };
}

/**
 * A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it). For apps whose public URL must
 * name the port before they listen (the OIDC issuer is `<publicUrl>/oidc`).
 */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/**
 * Starts an app whose `publicUrl` is its own listening address (`http://127.0.0.1:<port>`), so that
 * the OIDC issuer matches what clients connect to. Retries once with another port if the picked
 * one was taken in between.
 */
export async function startAppWithPublicUrl(overrides: DeepPartial<ConfigInput> = {}, options: AppOptions = {}): Promise<RunningApp> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    try {
      return await startApp(testConfig({ ...overrides, port, publicUrl: `http://127.0.0.1:${port}` }), options);
    } catch (error) {
      if (attempt >= 2 || (error as { code?: string }).code !== 'EADDRINUSE') throw error;
    }
  }
}

/** A log sink that keeps every line (to check what reaches the logs). */
export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: string, done: () => void) {
    this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    done();
  }
  get text() {
    return this.lines.join('\n');
  }

  /**
   * Whether `secret` appears in the captured log as a value of its own. An all-digit secret (a 6-digit
   * code) counts only with no digit next to it: it may occur by chance inside a longer number of a log
   * line (a timestamp, a response time), which is no leak.
   */
  mentions(secret: string): boolean {
    if (!/^\d+$/.test(secret)) return this.text.includes(secret);
    return new RegExp(`(?<!\\d)${secret}(?!\\d)`).test(this.text);
  }
}

/**
 * Creates a fresh, empty PostgreSQL database on the server of `baseUrl` and returns its URL and a
 * function that drops it (so PostgreSQL suites never see each other's rows).
 */
export async function freshPgDatabase(baseUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `tessera_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: baseUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** A `tessera start` child process (see {@link startTesseraProcess}). */
export interface TesseraProcess {
  child: ChildProcess;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** SIGTERM (a graceful stop), then waits for it to exit. */
  stop(): Promise<void>;
}

/**
 * Starts `node [nodeArgs] bin/tessera.js start` as a user does, on 127.0.0.1:`port`, with `env` over this
 * process's environment, and resolves once `GET /api/status` answers 204 (polled every 100 ms, up to
 * 30 s). Fails if bin/tessera.js fell back to the TypeScript sources (dist/ older than src/: run
 * `npm run build`), so that a test of the built server never tests something else.
 * @throws Error with the process's output when it exits or does not answer in time
 */
export async function startTesseraProcess(port: number, env: Record<string, string>, nodeArgs: string[] = []): Promise<TesseraProcess> {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const child = spawn(process.execPath, [...nodeArgs, join(root, 'bin', 'tessera.js'), 'start'], {
    cwd: root,
    env: { ...process.env, TESSERA_HOST: '127.0.0.1', TESSERA_PORT: String(port), TESSERA_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
  try {
    for (let i = 0; !(await fetch(`http://127.0.0.1:${port}/api/status`).then((r) => r.status === 204, () => false)); i++) {
      if (i > 300 || child.exitCode !== null) throw new Error(`tessera start did not answer:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    if (output.includes('running the TypeScript sources')) throw new Error('bin/tessera.js ran src/ through tsx: run `npm run build`');
  } catch (error) {
    await stop();
    throw error;
  }
  return { child, output: () => output, stop };
}
