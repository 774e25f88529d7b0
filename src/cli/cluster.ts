import cluster, { type Worker } from 'node:cluster';
import { createApp, createLogger } from '../app.js';
import type { Config } from '../config/index.js';

/** A worker that exits sooner than this after it was forked counts as a failed start, in ms. */
const EARLY_EXIT_MS = 10_000;

/** Consecutive failed starts after which the primary gives up (the configuration or database is broken). */
const MAX_FAILED_STARTS = 5;

/**
 * `tessera start` with `workers` > 1, in the **primary** process (node:cluster): prepares the database
 * once — migrations, OIDC keys, the bootstrap admin application — by building the app without
 * listening, then forks `workers` processes that each build their own app and listen on the same
 * address (the cluster module shares the socket; connections are spread round-robin). Everything the
 * workers share lives in the database (or Redis): sessions, tokens, lockout and rate-limit counters,
 * keys; the one per-process cache (account-center settings) is re-read after its short max age.
 *
 * A worker that dies is replaced; after {@link MAX_FAILED_STARTS} workers in a row die within
 * {@link EARLY_EXIT_MS} of starting, the primary stops them all and exits with status 1. SIGINT or
 * SIGTERM is passed to every worker (each closes its server and database), and the primary exits 0
 * once they are gone.
 * @returns when the workers were forked (the process then lives on its event loop)
 * @throws when the app cannot be built (bad database URL, failed migration)
 */
export async function runPrimary(config: Config, workers: number): Promise<void> {
  const logger = createLogger(config.logLevel);
  const prepared = await createApp(config);
  await prepared.close();

  let stopping = false;
  let failedStarts = 0;
  const startedAt = new Map<number, number>();
  const fork = () => {
    const worker: Worker = cluster.fork();
    startedAt.set(worker.id, Date.now());
  };

  cluster.on('exit', (worker, code, signal) => {
    const began = startedAt.get(worker.id) ?? 0;
    startedAt.delete(worker.id);
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    failedStarts = Date.now() - began < EARLY_EXIT_MS ? failedStarts + 1 : 0;
    logger.error({ pid: worker.process.pid, code, signal, failedStarts }, 'tessera worker exited');
    if (failedStarts >= MAX_FAILED_STARTS) {
      logger.fatal({ failedStarts }, 'tessera workers keep failing at start; giving up');
      stopping = true;
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
      process.exitCode = 1;
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(1);
      return;
    }
    fork();
  });

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down workers');
    const alive = Object.values(cluster.workers ?? {});
    if (alive.length === 0) process.exit(0);
    for (const w of alive) w?.process.kill(signal);
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));

  for (let i = 0; i < workers; i++) fork();
  logger.info({ workers, host: config.host, port: config.port }, 'tessera primary started its workers');
}
