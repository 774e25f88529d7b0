import '../util/quiet-runtime-warning.js';
import cluster from 'node:cluster';
import { Command } from 'commander';
import type { Config } from '../config/index.js';
import { registerAdminCommands } from './admin-commands.js';
import { registerImportCommands } from './import-commands.js';
import { registerOidcCommands } from './oidc.js';

/**
 * The `tessera` command line: `tessera start` (migrate, then serve), `tessera migrate`, and the
 * OAuth commands `tessera apps create|rotate-secret|list|delete` and `tessera keys rotate` (cli/oidc.ts),
 * `tessera import leancloud|logto FILE` (cli/import-commands.ts), and the operator's `tessera users
 * list|create|suspend|reset-password` and `tessera config check` (cli/admin-commands.ts).
 * Only commander is loaded to define the commands; each action imports what it runs (the app, storage,
 * configuration) when it runs, so `tessera --help` answers at once (issue 22: < 0.3 s).
 * Configuration comes from `tessera.config.json` and `TESSERA_*` variables (README "Configuration");
 * invalid configuration exits with status 2 naming each bad key.
 */
const program = new Command()
  .name('tessera')
  .description('Tessera, a self-hosted account service')
  .version('0.1.0');

async function config(): Promise<Config> {
  const { ConfigError, loadConfig } = await import('../config/index.js');
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
}

program
  .command('start')
  .description('run pending migrations and start the server (TESSERA_WORKERS processes when > 1)')
  .action(async () => {
    const cfg = await config();
    const { limitHeapGrowth } = await import('../util/heap.js');
    if (cfg.workers > 1 && cluster.isPrimary) {
      limitHeapGrowth(cfg.heapGrowingPercent);
      const { runPrimary } = await import('./cluster.js');
      await runPrimary(cfg, cfg.workers);
      return;
    }
    const { createApp } = await import('../app.js');
    const app = await createApp(cfg);
    const url = await app.listen();
    app.server.log.info({ url, database: app.database.dialect, ...(cluster.isWorker ? { worker: cluster.worker?.id } : {}) }, 'tessera listening');
    // The compiled code is saved while V8's flags are still those the next start compiles under; the
    // heap growth cap (a V8 flag) matters under load, not for the first second.
    const { writeCompileCache } = await import('../util/compile-cache.js');
    writeCompileCache();
    limitHeapGrowth(cfg.heapGrowingPercent);
    let stopping = false;
    // Stop accepting, let the requests in flight finish, close the database; exit 1 if that takes longer
    // than shutdownTimeoutSeconds (whether started by npm, a supervisor or a terminal).
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      app.server.log.info({ signal, deadlineSeconds: cfg.shutdownTimeoutSeconds }, 'shutting down');
      const deadline = setTimeout(() => {
        app.server.log.error({ signal }, 'shutdown deadline passed; exiting with requests still open');
        process.exit(1);
      }, cfg.shutdownTimeoutSeconds * 1000);
      deadline.unref();
      await app.close();
      clearTimeout(deadline);
      app.server.log.info('stopped');
      process.exit(0);
    };
    process.on('SIGINT', () => void stop('SIGINT'));
    process.on('SIGTERM', () => void stop('SIGTERM'));
    // Started by `npm start`: npm may exit on SIGTERM without passing it on, which would leave this
    // server running as an orphan. When npm (the parent) is gone, stop as if signalled.
    if (process.env.npm_lifecycle_event === 'start') {
      const parent = process.ppid;
      const watch = setInterval(() => {
        if (process.ppid !== parent) void stop('parent npm exited');
      }, 250);
      watch.unref();
    }
  });

program
  .command('migrate')
  .description('apply pending database migrations and exit')
  .action(async () => {
    const { migrateToLatest, openDatabase } = await import('../storage/database.js');
    const { findDeepDocuments } = await import('../storage/deep-documents.js');
    const { MAX_JSON_DEPTH } = await import('../util/json-depth.js');
    const handle = openDatabase((await config()).databaseUrl);
    try {
      const applied = await migrateToLatest(handle.db);
      process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'database is up to date\n');
      const deep = await findDeepDocuments(handle.db);
      if (deep.length > 0) {
        process.stdout.write(
          `warning: ${deep.length} stored document(s) nested deeper than ${MAX_JSON_DEPTH} levels (readable, but no request may write them back as they are):\n` +
            deep.slice(0, 20).map((d) => `  user ${d.userId} ${d.column} depth ${d.depth}\n`).join(''),
        );
      }
    } finally {
      await handle.close();
    }
  });

registerOidcCommands(program, config);
registerImportCommands(program, config);
registerAdminCommands(program, config);

program.parseAsync().catch((error: unknown) => {
  // A domain refusal names its stable code (`user.username_taken`), as the HTTP APIs do.
  const raw = (error as { code?: unknown } | null)?.code;
  const code = error instanceof Error && typeof raw === 'string' && raw.includes('.') ? `${raw}: ` : '';
  process.stderr.write(`tessera: ${code}${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
