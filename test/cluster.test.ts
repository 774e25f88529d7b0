import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../src/config/index.js';
import { freePort } from './helpers.js';

const cli = join(import.meta.dirname, '..', 'bin', 'tessera.js');

/** The pids of `pid`'s child processes (Linux `ps`). */
function childrenOf(pid: number): number[] {
  try {
    return execFileSync('ps', ['--ppid', String(pid), '-o', 'pid='], { encoding: 'utf8' })
      .split('\n')
      .map((l) => Number(l.trim()))
      .filter((n) => n > 0);
  } catch {
    return []; // ps exits 1 when there are none
  }
}

async function waitFor<T>(what: string | (() => string), probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 45_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe('configuration of workers', () => {
  it('defaults to one process and shares the CPUs argon2id slots among several workers', () => {
    expect(parseConfig({}).workers).toBe(1);
    expect(parseConfig({}).password.hashConcurrency).toBe(availableParallelism());
    const two = parseConfig({ workers: 2, databaseUrl: 'sqlite:/tmp/x.db' });
    expect(two.password.hashConcurrency).toBe(Math.max(1, Math.floor(availableParallelism() / 2)));
    // An explicit choice wins.
    expect(parseConfig({ workers: 2, databaseUrl: 'sqlite:/tmp/x.db', password: { hashConcurrency: 3 } }).password.hashConcurrency).toBe(3);
  });

  it('refuses several workers on an in-memory database, and a worker count below 1', () => {
    expect(() => parseConfig({ workers: 2, databaseUrl: 'sqlite::memory:' })).toThrow(ConfigError);
    expect(() => parseConfig({ workers: 0 })).toThrow(/workers/);
  });
});

describe('tessera start with TESSERA_WORKERS=2', () => {
  let dir: string;
  let server: ChildProcess;
  let base: string;
  let output = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-cluster-'));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    server = spawn('node', [cli, 'start'], {
      env: {
        ...process.env,
        TESSERA_WORKERS: '2',
        TESSERA_PORT: String(port),
        TESSERA_PUBLIC_URL: base,
        TESSERA_DATABASE_URL: `sqlite:${join(dir, 'tessera.db')}`,
        TESSERA_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // The server's own log lines (warn and above), named in a failure to start.
    for (const stream of [server.stdout!, server.stderr!]) stream.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
    await waitFor(() => `the workers to answer (server log: ${output || 'nothing'})`, async () => {
      const status = await fetch(`${base}/api/status`).then((r) => r.status).catch(() => 0);
      return status === 204 && childrenOf(server.pid!).length === 2 ? true : undefined;
    });
  }, 60_000);

  afterAll(() => {
    if (server.exitCode === null) server.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves from two worker processes sharing one database', async () => {
    expect(childrenOf(server.pid!)).toHaveLength(2);
    const signUp = await fetch(`${base}/api/auth/sign-up`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'clustered', password: 'violet-harbor-7-lantern' }),
    });
    expect(signUp.status).toBe(201);
    const { session } = (await signUp.json()) as { session: { token: string } };
    // Whichever worker answers knows the session (it lives in the shared database).
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => fetch(`${base}/api/auth/me`, { headers: { authorization: `Bearer ${session.token}` } }).then((r) => r.status)),
    );
    expect(answers).toEqual(Array(20).fill(200));
  });

  it('replaces a worker that dies, and keeps serving', async () => {
    const [victim] = childrenOf(server.pid!);
    process.kill(victim!, 'SIGKILL');
    const replaced = await waitFor('a replacement worker', () => {
      const now = childrenOf(server.pid!);
      return now.length === 2 && !now.includes(victim!) ? now : undefined;
    });
    expect(replaced).not.toContain(victim);
    await waitFor('the service', async () => ((await fetch(`${base}/api/status`).then((r) => r.status).catch(() => 0)) === 204 ? true : undefined));
  }, 60_000);

  it('stops every worker and exits 0 on SIGTERM', async () => {
    const workers = childrenOf(server.pid!);
    const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));
    server.kill('SIGTERM');
    expect(await exited).toBe(0);
    for (const pid of workers) expect(() => process.kill(pid, 0)).toThrow();
  }, 30_000);
});
