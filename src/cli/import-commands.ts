import type { Command } from 'commander';
import type { Config } from '../config/index.js';
import type { ImportReport, ImportRunOptions } from './import-run.js';

// Loads only commander until a command runs (see cli/oidc.ts).

/**
 * Adds `tessera import leancloud|logto FILE [--report PATH] [--concurrency N] [--allow-rejects]` to the
 * command line. The exit status is 1 when any row was rejected (each is printed as `FILE:LINE: reason`),
 * unless `--allow-rejects`, and always when no row could be imported.
 * LeanCloud numbers without `+` are read in `TESSERA_DEFAULT_PHONE_REGION` (set it to `CN` for most
 * LeanCloud apps); Logto's digits-only numbers are international numbers without their `+`.
 */
export function registerImportCommands(program: Command, config: () => Promise<Config>): void {
  const importCommand = program.command('import').description('import users from another service');
  const options = (opts: { report?: string; concurrency: string }): ImportRunOptions => ({
    ...(opts.report ? { reportFile: opts.report } : {}),
    concurrency: Math.max(1, Number(opts.concurrency) || 8),
  });
  /** 1 when any row was rejected (unless --allow-rejects) or nothing could be imported at all. */
  const exitCode = (report: ImportReport, allowRejects: boolean) =>
    (report.rejected.length > 0 && !allowRejects) || (report.total > 0 && report.imported + report.skipped === 0) ? 1 : 0;
  const vendors = [
    ['leancloud', 'import a LeanCloud _User export (JSON lines or a JSON array); re-running skips rows already imported', 'importLeanCloud'],
    ['logto', 'import Logto users (JSON lines or a JSON array of GET /api/users?includePasswordHash=true objects); re-running skips rows already imported', 'importLogto'],
  ] as const;
  for (const [vendor, description, runner] of vendors) {
    importCommand
      .command(vendor)
      .description(description)
      .argument('<file>', 'the export file')
      .option('--report <path>', 'write the rejected rows here as JSON lines')
      .option('--concurrency <n>', 'rows imported at once', '8')
      .option('--allow-rejects', 'exit 0 even when some rows were rejected', false)
      .action(async (file: string, opts: { report?: string; concurrency: string; allowRejects: boolean }) => {
        const run = (await import('./import-leancloud.js'))[runner];
        process.exitCode = exitCode(await run(await config(), file, options(opts)), opts.allowRejects);
      });
  }
}
