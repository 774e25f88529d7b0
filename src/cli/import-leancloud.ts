import type { Command } from 'commander';
import type { Config } from '../config/index.js';
import { type ImportReport, type ImportRunOptions, runImport } from './import-run.js';
import { LeanCloudImporter } from './leancloud-export.js';
import { LogtoImporter } from './logto-export.js';

export { progressLine, readExport } from './import-run.js';

/** Options of {@link importLeanCloud}. */
export type ImportLeanCloudOptions = ImportRunOptions;

/**
 * `tessera import leancloud FILE`: imports a LeanCloud `_User` export into the configured database
 * (see {@link LeanCloudImporter}), drawing a progress bar with rate and ETA on a terminal, and reports
 * rejected rows without stopping.
 * @returns the import report (also printed)
 */
export function importLeanCloud(config: Config, file: string, options: ImportLeanCloudOptions = {}): Promise<ImportReport> {
  return runImport(config, file, ({ users, identities, store }) => new LeanCloudImporter(users, identities, store), options);
}

/**
 * `tessera import logto FILE`: imports a Logto user export (JSON lines or an array of the objects
 * `GET /api/users?includePasswordHash=true` answers; see {@link LogtoImporter}) with the same progress
 * bar and report.
 * @returns the import report (also printed)
 */
export function importLogto(config: Config, file: string, options: ImportRunOptions = {}): Promise<ImportReport> {
  return runImport(config, file, ({ users, identities }) => new LogtoImporter(users, identities), options);
}

/**
 * Adds `tessera import leancloud|logto FILE [--report PATH] [--concurrency N]` to the command line.
 * LeanCloud numbers without `+` are read in `TESSERA_DEFAULT_PHONE_REGION` (set it to `CN` for most
 * LeanCloud apps); Logto's digits-only numbers are international numbers without their `+`.
 */
export function registerImportCommands(program: Command, config: () => Config): void {
  const importCommand = program.command('import').description('import users from another service');
  const options = (opts: { report?: string; concurrency: string }): ImportRunOptions => ({
    ...(opts.report ? { reportFile: opts.report } : {}),
    concurrency: Math.max(1, Number(opts.concurrency) || 8),
  });
  const exitCode = (report: ImportReport) => (report.total > 0 && report.imported + report.skipped === 0 ? 1 : 0);
  importCommand
    .command('leancloud')
    .description('import a LeanCloud _User export (JSON lines or a JSON array); re-running skips rows already imported')
    .argument('<file>', 'the export file')
    .option('--report <path>', 'write the rejected rows here as JSON lines')
    .option('--concurrency <n>', 'rows imported at once', '8')
    .action(async (file: string, opts: { report?: string; concurrency: string }) => {
      process.exitCode = exitCode(await importLeanCloud(config(), file, options(opts)));
    });
  importCommand
    .command('logto')
    .description('import Logto users (JSON lines or a JSON array of GET /api/users?includePasswordHash=true objects); re-running skips rows already imported')
    .argument('<file>', 'the export file')
    .option('--report <path>', 'write the rejected rows here as JSON lines')
    .option('--concurrency <n>', 'rows imported at once', '8')
    .action(async (file: string, opts: { report?: string; concurrency: string }) => {
      process.exitCode = exitCode(await importLogto(config(), file, options(opts)));
    });
}
