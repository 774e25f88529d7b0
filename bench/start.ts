/**
 * Start-up benchmark (`npm run bench:start`): how fast a Tessera process is ready, and how much memory
 * it holds when idle. Issue 22 item 1 sets the targets printed beside each figure.
 *
 * In one run it measures and prints:
 *  1. `tessera --help`: wall-clock milliseconds from spawning `node bin/tessera.js --help` to its exit
 *     (median and minimum of `--runs` runs). Target < 300 ms.
 *  2. first answer after `npm start`: wall-clock milliseconds from spawning `npm start` to the first
 *     `GET /api/status` that answers 204, on an existing database (migrated before the first run, so
 *     every run starts the way a restart does). `/api/status` is polled every 5 ms. Median and maximum of
 *     `--runs` starts. Target < 1 500 ms. The same figure for `node bin/tessera.js start` alone shows
 *     what npm itself adds.
 *  3. idle RSS: the server process's resident set (MiB, `VmRSS` of /proc/<pid>/status) 3 s, 10 s, 30 s and
 *     `--idle` seconds after its first answer with no requests, and its peak (`VmHWM`). Target < 120 MiB.
 *     Right after start-up the young generation V8 grew while loading (two 16 MiB semi-spaces) is still
 *     mapped; V8's memory reducer gives it back after some idle seconds, which the later figures show.
 * Plus which code ran (the bundle `dist/bundle/tessera.cjs` and tsc's `dist/`, built by `npm run build`,
 * or the TypeScript sources through tsx), the database kind, the Node version and the CPU count.
 * The counted starts are restarts: an uncounted first start creates the OIDC keys and bootstrap data and,
 * in a code cache folder of the run's own (NODE_COMPILE_CACHE), writes the bundle's V8 code cache
 * (bin/tessera.js), as the first start after an install or a build does; its time to the first answer is
 * printed apart.
 *
 * Options (flag, else environment variable, else default):
 *   --runs <n>   BENCH_RUNS            starts (and `--help` runs) measured (default 5)
 *   --idle <n>   BENCH_IDLE            the last idle RSS reading, seconds after the first answer (default 60)
 *   --pg <url>   TESSERA_DATABASE_URL  PostgreSQL instead of a temp-file SQLite database
 * Linux only (reads /proc). With the defaults the whole run takes roughly 90 s.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort, numberOption, quantile } from './lib.js';

const { values: flags } = parseArgs({
  options: { runs: { type: 'string' }, idle: { type: 'string' }, pg: { type: 'string' } },
  strict: true,
});
const runs = numberOption(flags.runs, 'BENCH_RUNS', 5);
const idleSeconds = Math.max(31, numberOption(flags.idle, 'BENCH_IDLE', 60));
const pgUrl = flags.pg ?? (process.env.TESSERA_DATABASE_URL?.startsWith('postgres') ? process.env.TESSERA_DATABASE_URL : undefined);

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = path.join(root, 'bin', 'tessera.js');
const dir = mkdtempSync(path.join(os.tmpdir(), 'tessera-bench-start-'));
const databaseUrl = pgUrl ?? `sqlite:${path.join(dir, 'tessera.db')}`;


function baseEnv(port: number): NodeJS.ProcessEnv {
  return {
    ...process.env,
    TESSERA_DATABASE_URL: databaseUrl,
    TESSERA_HOST: '127.0.0.1',
    TESSERA_PORT: String(port),
    TESSERA_LOG_LEVEL: 'warn',
    NODE_ENV: 'production',
    // A code cache folder of this run's own, so that the first start compiles without one (see main).
    NODE_COMPILE_CACHE: path.join(dir, 'compile-cache'),
  };
}

/** `/proc/<pid>/status` fields in MiB. */
function memory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(/^(\S+):\s+(\d+) kB$/m.exec(status.split('\n').find((l) => l.startsWith(`${field}:`)) ?? '')?.[2] ?? NaN);
  return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 };
}

/** The pid of the `node … start` process under `parent` (npm runs it through `sh -c exec node …`). */
function serverPid(parent: number): number {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // the process ended while we looked
    }
  }
  const queue = [parent];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (path.basename(cmdline[0] ?? '') === 'node' && cmdline.includes('start') && cmdline.some((a) => a.endsWith('tessera.js'))) return pid;
    } catch {
      // gone
    }
    queue.push(...(children.get(pid) ?? []));
  }
  throw new Error(`no tessera server process under ${parent}`);
}

async function stop(child: ChildProcess, pid: number): Promise<void> {
  const exited = new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve())));
  process.kill(pid, 'SIGTERM');
  if (pid !== child.pid) child.kill('SIGTERM');
  await exited;
  // npm may exit before its child; wait until the server itself is gone too.
  for (let i = 0; i < 400 && existsSync(`/proc/${pid}`); i++) await new Promise((r) => setTimeout(r, 25));
}

interface StartRun {
  readyMs: number;
  /** [seconds after the first answer, RSS MiB] */
  rss?: Array<[number, number]>;
  peak?: number;
}

/** Spawns `command`, polls `/api/status` until 204, optionally reads memory after `idle` seconds, stops it. */
async function startOnce(command: string[], idle: boolean): Promise<StartRun> {
  const port = await freePort();
  const began = performance.now();
  const child = spawn(command[0]!, command.slice(1), { cwd: root, env: baseEnv(port), stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let readyMs = NaN;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}: ${stderr}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/api/status`);
      await res.arrayBuffer();
      if (res.status === 204) {
        readyMs = performance.now() - began;
        break;
      }
    } catch {
      // not listening yet
    }
    if (performance.now() - began > 60_000) throw new Error(`no answer within 60 s: ${stderr}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  const pid = serverPid(child.pid!);
  let result: StartRun = { readyMs };
  if (idle) {
    const readyAt = performance.now();
    const rss: Array<[number, number]> = [];
    for (const seconds of [3, 10, 30, idleSeconds]) {
      await new Promise((r) => setTimeout(r, Math.max(0, readyAt + seconds * 1000 - performance.now())));
      rss.push([seconds, memory(pid).rss]);
    }
    result = { readyMs, rss, peak: memory(pid).peak };
  }
  await stop(child, pid);
  return result;
}

const format = (n: number, digits = 0) => n.toFixed(digits).padStart(7);

async function main() {
  const compiled = existsSync(path.join(root, 'dist', 'cli', 'main.js'));
  const bundled = existsSync(path.join(root, 'dist', 'bundle', 'tessera.cjs'));
  console.log(`# tessera start-up — node ${process.version}, ${os.cpus().length} CPUs, ${pgUrl ? 'PostgreSQL' : 'SQLite (temp file)'}`);
  const probe = spawnSync(process.execPath, [bin, '--version'], { cwd: root, encoding: 'utf8' });
  console.log(`# code: ${probe.stderr.includes('running the TypeScript sources') || !compiled ? 'src/ through tsx' : bundled ? 'start: dist/bundle/tessera.cjs; --help: dist/cli/' : 'dist/ (no bundle)'}`);

  const migrate = spawnSync(process.execPath, [bin, 'migrate'], { cwd: root, env: baseEnv(0), encoding: 'utf8' });
  if (migrate.status !== 0) throw new Error(`migrate failed: ${migrate.stderr}`);
  // One start that is not counted: it creates the OIDC keys and the bootstrap data a restart finds, and
  // the code cache when this build has none yet.
  const first = await startOnce([process.execPath, bin, 'start'], false);

  const help: number[] = [];
  for (let i = 0; i < runs; i++) {
    const began = performance.now();
    const out = spawnSync(process.execPath, [bin, '--help'], { cwd: root, encoding: 'utf8' });
    help.push(performance.now() - began);
    if (out.status !== 0 || !out.stdout.includes('Usage: tessera')) throw new Error(`tessera --help failed: ${out.stderr}`);
  }

  const npm: StartRun[] = [];
  const direct: StartRun[] = [];
  for (let i = 0; i < runs; i++) {
    npm.push(await startOnce(['npm', 'start', '--silent'], false));
    direct.push(await startOnce([process.execPath, bin, 'start'], i === 0));
  }
  const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
  const ready = (xs: StartRun[]) => sorted(xs.map((r) => r.readyMs));

  console.log('');
  console.log('figure                                         median      min      max   target');
  console.log(`tessera --help (ms)                           ${format(quantile(sorted(help), 0.5))}  ${format(Math.min(...help))}  ${format(Math.max(...help))}    < 300`);
  console.log(`npm start → first /api/status 204 (ms)        ${format(quantile(ready(npm), 0.5))}  ${format(Math.min(...ready(npm)))}  ${format(Math.max(...ready(npm)))}  < 1 500`);
  console.log(`node bin/tessera.js start → first 204 (ms)    ${format(quantile(ready(direct), 0.5))}  ${format(Math.min(...ready(direct)))}  ${format(Math.max(...ready(direct)))}`);
  console.log(`first start after the build (no code cache yet; it also made the OIDC keys): ${first.readyMs.toFixed(0)} ms, not counted above`);
  console.log('');
  const idle = direct[0]!;
  console.log(`idle RSS of the server (MiB, target < 120): ${idle.rss!.map(([s, mib]) => `${s} s after the first answer ${mib.toFixed(1)}`).join(', ')}`);
  console.log(`peak RSS (VmHWM, MiB): ${idle.peak!.toFixed(1)}`);
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => rmSync(dir, { recursive: true, force: true }));
