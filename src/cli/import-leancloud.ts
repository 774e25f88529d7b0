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
