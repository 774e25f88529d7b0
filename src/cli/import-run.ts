import { createReadStream } from 'node:fs';
import { open, readFile, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import cliProgress from 'cli-progress';
import { createApp, type TesseraApp } from '../app.js';
import type { Config } from '../config/index.js';

/**
 * What every `tessera import …` command shares: reading an export file (a JSON array, an object with a
 * `results` array, or JSON lines, streamed), importing its rows a few at a time with a progress bar on a
 * terminal (cli-progress), and the report of rejected rows. Each vendor's importer only reads one row
 * (leancloud-export.ts, logto-export.ts).
 */

/** A row of the export and where it was. */
export interface ExportRow {
  line: number;
  /** The parsed row, or an Error when the line was not JSON. */
  row: unknown;
}

/** What importing one row did. */
export type ImportOutcome = { status: 'imported'; objectId: string } | { status: 'skipped'; objectId: string } | { status: 'rejected'; objectId?: string; reason: string };

/** One refused row of an import. */
export interface RejectedRow {
  /** 1-based line (JSON lines) or index + 1 (JSON array) of the row. */
  line: number;
  objectId?: string;
  reason: string;
}

/** Totals of an import. */
export interface ImportReport {
  total: number;
  imported: number;
  /** Rows whose id already exists (a re-run imports nothing twice). */
  skipped: number;
  rejected: RejectedRow[];
}

/** Options of {@link runImport}. */
export interface ImportRunOptions {
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
 * Reads an export: a JSON array, an object with a `results` array, or JSON lines (one
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

/** The progress line in cli-progress placeholders; `{rate}` (rows per second so far) is ours. */
const BAR_FORMAT = '[{bar}] {value}/{total} {percentage}% {rate} users/s ETA {eta}s';
/** Bar characters, and counts with thousands separators (other values as cli-progress gives them). */
const BAR_STYLE = {
  barCompleteChar: '#',
  barIncompleteChar: '-',
  formatValue: (v, _options, type) => (type === 'value' || type === 'total' ? fmt(v) : String(v)),
} satisfies cliProgress.Options;

/** Rows per second after `done` rows in `elapsedMs`. */
const rateOf = (done: number, elapsedMs: number) => (elapsedMs > 0 ? (done * 1000) / elapsedMs : 0);

/**
 * One progress line as the bar draws it, through cli-progress's formatter: bar of `width` characters,
 * count, percent, rate (rows/s over the whole run) and ETA in seconds at that rate.
 * `progressLine(4200, 10000, 2000, 10)` is `[####------] 4,200/10,000 42% 2,100 users/s ETA 3s`.
 */
export function progressLine(done: number, total: number, elapsedMs: number, width = 30): string {
  const rate = rateOf(done, elapsedMs);
  const eta = rate > 0 ? Math.ceil((total - done) / rate) : 0;
  const options = { ...BAR_STYLE, format: BAR_FORMAT, barsize: width, barGlue: '', barCompleteString: '#'.repeat(width), barIncompleteString: '-'.repeat(width), autopaddingChar: '' };
  const params = { progress: total > 0 ? Math.min(1, done / total) : 1, eta, startTime: 0, stopTime: elapsedMs, total, value: done, maxWidth: Infinity };
  return cliProgress.Format.Formatter(options, params, { rate: fmt(rate) });
}

/**
 * Imports every row, `concurrency` at a time (the database's unique indexes keep concurrent rows
 * honest), reporting progress after each row.
 * @param importRow imports one row; throws only for infrastructure failures
 */
export async function importRows(
  rows: AsyncIterable<ExportRow>,
  importRow: (row: unknown) => Promise<ImportOutcome>,
  options: { concurrency?: number; onProgress?: (done: number) => void } = {},
): Promise<ImportReport> {
  const report: ImportReport = { total: 0, imported: 0, skipped: 0, rejected: [] };
  const running = new Set<Promise<void>>();
  const limit = Math.max(1, options.concurrency ?? 8);
  for await (const { line, row } of rows) {
    report.total++;
    const task = importRow(row).then((outcome) => {
      if (outcome.status === 'imported') report.imported++;
      else if (outcome.status === 'skipped') report.skipped++;
      else report.rejected.push({ line, ...(outcome.objectId ? { objectId: outcome.objectId } : {}), reason: outcome.reason });
      options.onProgress?.(report.imported + report.skipped + report.rejected.length);
    });
    const tracked: Promise<void> = task.finally(() => running.delete(tracked));
    running.add(tracked);
    if (running.size >= limit) await Promise.race(running);
  }
  await Promise.all(running);
  report.rejected.sort((a, b) => a.line - b.line);
  return report;
}

/**
 * Runs an import of `file` into the configured database: opens the app, builds the vendor's row
 * importer from its services, imports every row (see {@link importRows}) with a progress bar with rate
 * and ETA on a terminal, prints the first rejected rows and the totals, writes the report file.
 * @returns the import report
 */
export async function runImport(
  config: Config,
  file: string,
  importerOf: (services: TesseraApp['services']) => { importRow(row: unknown): Promise<ImportOutcome> },
  options: ImportRunOptions = {},
): Promise<ImportReport> {
  const out = options.progress ?? process.stderr;
  const { total, rows } = await readExport(file);
  const app = await createApp(config);
  try {
    const importer = importerOf(app.services);
    const started = Date.now();
    // cli-progress draws only on a TTY (nothing otherwise), at most 10 times a second, and ends the
    // line on stop(). The leading `\r` returns to the line start even where cursor codes are ignored.
    const bar = new cliProgress.SingleBar({ ...BAR_STYLE, format: `\r${BAR_FORMAT}`, barsize: 30, etaBuffer: 100, stream: out as NodeJS.WritableStream });
    bar.start(total, 0, { rate: '0' });
    let report: ImportReport;
    try {
      report = await importRows(rows, (row) => importer.importRow(row), {
        concurrency: options.concurrency ?? 8,
        onProgress: (done) => bar.update(done, { rate: fmt(rateOf(done, Date.now() - started)) }),
      });
    } finally {
      bar.stop();
    }
    const seconds = (Date.now() - started) / 1000;
    // `FILE:LINE: reason`, as compilers print it, so editors and terminals jump to the row.
    for (const r of report.rejected.slice(0, 20)) out.write(`${file}:${r.line}: rejected${r.objectId ? ` (${r.objectId})` : ''}: ${r.reason}\n`);
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
