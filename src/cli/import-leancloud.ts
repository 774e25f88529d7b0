import type { Command } from 'commander';
import { createReadStream } from 'node:fs';
import { open, readFile, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { createApp } from '../app.js';
import type { Config } from '../config/index.js';
import { type ExportRow, type ImportReport, LeanCloudImporter } from './leancloud-export.js';

/** Options of {@link importLeanCloud}. */
export interface ImportLeanCloudOptions {
  /** Where to write the rejected rows as JSON lines (`{line, objectId?, reason}`). */
  reportFile?: string;
  /** Rows imported at once (default 8). */
  concurrency?: number;
  /** Progress output (default stderr); the bar is drawn only when it is a TTY. */
  progress?: NodeJS.WriteStream | { isTTY?: boolean; write(text: string): boolean };
}

/** The first non-blank character of a file and whether its first line is a JSON value by itself. */
async function sniff(file: string): Promise<{ first: string; firstLineIsJson: boolean }> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(1 << 16);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    const head = buffer.subarray(0, bytesRead).toString('utf8').replace(/^\uFEFF/, '');
    const first = head.trimStart()[0] ?? '';
    const newline = head.indexOf('\n');
    let firstLineIsJson = false;
    if (newline >= 0 || bytesRead < buffer.length) {
      try {
        JSON.parse(newline >= 0 ? head.slice(0, newline) : head);
        firstLineIsJson = true;
      } catch {
        firstLineIsJson = false;
      }
    }
    return { first, firstLineIsJson };
  } finally {
    await handle.close();
  }
}

/** Counts the non-blank lines of a file (for the progress bar's total). */
async function countLines(file: string): Promise<number> {
  let n = 0;
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) if (line.trim()) n++;
  return n;
}

/**
 * Reads a LeanCloud `_User` export: a JSON array, an object with a `results` array, or JSON lines (one
 * object per line, streamed). @returns the rows and their count
 */
export async function readExport(file: string): Promise<{ total: number; rows: AsyncIterable<ExportRow> }> {
  const { first, firstLineIsJson } = await sniff(file);
  if (first === '[' || (first === '{' && !firstLineIsJson)) {
    const parsed: unknown = JSON.parse((await readFile(file, 'utf8')).replace(/^\uFEFF/, ''));
    const list = Array.isArray(parsed) ? parsed : Array.isArray((parsed as { results?: unknown }).results) ? (parsed as { results: unknown[] }).results : [parsed];
    return {
      total: list.length,
      rows: (async function* () {
        for (const [i, row] of list.entries()) yield { line: i + 1, row };
      })(),
    };
  }
  return {
    total: await countLines(file),
    rows: (async function* () {
      let line = 0;
      for await (const text of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
        line++;
        if (!text.trim()) continue;
        let row: unknown;
        try {
          row = JSON.parse(text);
        } catch (error) {
          row = error as Error;
        }
        yield { line, row };
      }
    })(),
  };
}

/** `1234567` → `1,234,567`. */
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** One progress-bar line: bar, count, percent, rate and ETA. */
export function progressLine(done: number, total: number, elapsedMs: number, width = 30): string {
  const ratio = total > 0 ? Math.min(1, done / total) : 1;
  const filled = Math.round(ratio * width);
  const rate = elapsedMs > 0 ? (done * 1000) / elapsedMs : 0;
  const eta = rate > 0 ? Math.ceil((total - done) / rate) : 0;
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${fmt(done)}/${fmt(total)} ${Math.floor(ratio * 100)}% ${fmt(rate)} users/s ETA ${eta}s`;
}

/**
 * `tessera import leancloud FILE`: imports a LeanCloud `_User` export into the configured database
 * (see {@link LeanCloudImporter}), drawing a progress bar with rate and ETA on a terminal, and reports
 * rejected rows without stopping.
 * @returns the import report (also printed)
 */
export async function importLeanCloud(config: Config, file: string, options: ImportLeanCloudOptions = {}): Promise<ImportReport> {
  const out = options.progress ?? process.stderr;
  const { total, rows } = await readExport(file);
  const app = await createApp(config);
  try {
    const { users, identities, store } = app.services;
    const importer = new LeanCloudImporter(users, identities, store);
    const started = Date.now();
    let lastDraw = 0;
    const draw = (done: number, force = false) => {
      if (!out.isTTY) return;
      const now = Date.now();
      if (!force && now - lastDraw < 100) return;
      lastDraw = now;
      out.write(`\r${progressLine(done, total, now - started)}`);
    };
    const report = await importer.importAll(rows, { concurrency: options.concurrency ?? 8, onProgress: (done) => draw(done) });
    draw(report.total, true);
    if (out.isTTY) out.write('\n');
    const seconds = (Date.now() - started) / 1000;
    for (const r of report.rejected.slice(0, 20)) out.write(`rejected line ${r.line}${r.objectId ? ` (${r.objectId})` : ''}: ${r.reason}\n`);
    if (report.rejected.length > 20) out.write(`… and ${report.rejected.length - 20} more rejected rows\n`);
    if (options.reportFile) await writeFile(options.reportFile, report.rejected.map((r) => JSON.stringify(r)).join('\n') + (report.rejected.length ? '\n' : ''));
    out.write(
      `imported ${fmt(report.imported)}, skipped ${fmt(report.skipped)} (already present), rejected ${fmt(report.rejected.length)} ` +
        `of ${fmt(report.total)} rows in ${seconds.toFixed(1)} s (${fmt(report.total / Math.max(seconds, 0.001))} rows/s)\n`,
    );
    return report;
  } finally {
    await app.close();
  }
}

/**
 * Adds `tessera import leancloud FILE [--report PATH] [--concurrency N]` to the command line. Numbers
 * without `+` are read in `TESSERA_DEFAULT_PHONE_REGION` (set it to `CN` for most LeanCloud apps).
 */
export function registerImportCommands(program: Command, config: () => Config): void {
  program
    .command('import')
    .description('import users from another service')
    .command('leancloud')
    .description('import a LeanCloud _User export (JSON lines or a JSON array); re-running skips rows already imported')
    .argument('<file>', 'the export file')
    .option('--report <path>', 'write the rejected rows here as JSON lines')
    .option('--concurrency <n>', 'rows imported at once', '8')
    .action(async (file: string, opts: { report?: string; concurrency: string }) => {
      const report = await importLeanCloud(config(), file, {
        ...(opts.report ? { reportFile: opts.report } : {}),
        concurrency: Math.max(1, Number(opts.concurrency) || 8),
      });
      process.exitCode = report.total > 0 && report.imported + report.skipped === 0 ? 1 : 0;
    });
}
