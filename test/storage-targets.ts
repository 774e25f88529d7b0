import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect } from 'vitest';
import { type DatabaseHandle, openDatabase } from '../src/storage/database.js';
import { freshPgDatabase, PG_URL } from './helpers.js';

/** An opened database for one conformance suite and how to throw it away. */
export interface OpenedStore {
  handle: DatabaseHandle;
  cleanup(): Promise<void>;
}

/**
 * Runs `suite` once per storage target of the conformance suites: SQLite in memory, a SQLite file in a
 * new (nested) temporary directory in WAL mode with foreign keys on, and a fresh PostgreSQL database
 * when `TESSERA_TEST_PG_URL` is set.
 */
export function forEachStorage(suite: (name: string, open: () => Promise<OpenedStore>) => void): void {
  suite('SQLite (memory)', async () => {
    const handle = openDatabase('sqlite::memory:');
    return { handle, cleanup: () => handle.close() };
  });
  suite('SQLite (file, WAL)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-conformance-'));
    const handle = openDatabase(`sqlite:${join(dir, 'nested', 'tessera.db')}`);
    expect(handle.sqlite?.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(handle.sqlite?.pragma('foreign_keys', { simple: true })).toBe(1);
    return {
      handle,
      async cleanup() {
        await handle.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  });
  const pgUrl = PG_URL;
  describe.runIf(pgUrl)('PostgreSQL', () => {
    suite('PostgreSQL', async () => {
      const fresh = await freshPgDatabase(pgUrl!);
      const handle = openDatabase(fresh.url);
      return {
        handle,
        async cleanup() {
          await handle.close();
          await fresh.drop();
        },
      };
    });
  });
}
