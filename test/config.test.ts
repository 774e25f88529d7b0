import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config/index.js';

const run = promisify(execFile);
const cli = join(import.meta.dirname, '..', 'bin', 'tessera.js');

describe('configuration', () => {
  it('has the documented defaults', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-cfg-'));
    const c = loadConfig({}, dir);
    expect(c).toMatchObject({
      host: '127.0.0.1',
      port: 3000,
      publicUrl: 'http://127.0.0.1:3000',
      databaseUrl: 'sqlite:./data/tessera.db',
      logLevel: 'info',
      bodyLimitBytes: 1_048_576,
      password: { minLength: 8, maxLength: 256, rejectCommon: true, characterLevel: 0 },
      session: { absoluteTtlSeconds: 2_592_000, idleTtlSeconds: 1_209_600 },
      lockout: { maxFailures: 6, windowSeconds: 900, durationSeconds: 900 },
    });
    expect(Object.isFrozen(c.password)).toBe(true);
    rmSync(dir, { recursive: true });
  });

  it('layers defaults ← tessera.config.json ← environment', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-cfg-'));
    writeFileSync(join(dir, 'tessera.config.json'), JSON.stringify({ port: 4000, logLevel: 'warn', lockout: { maxFailures: 3 } }));
    const c = loadConfig({ TESSERA_PORT: '5000', TESSERA_PUBLIC_URL: 'https://id.example.com/', TESSERA_PASSWORD_REJECT_COMMON: 'false' }, dir);
    expect(c.port).toBe(5000);
    expect(c.logLevel).toBe('warn');
    expect(c.lockout).toEqual({ maxFailures: 3, windowSeconds: 900, durationSeconds: 900 });
    expect(c.publicUrl).toBe('https://id.example.com');
    expect(c.password.rejectCommon).toBe(false);
    rmSync(dir, { recursive: true });
  });

  it('names every bad key, by its environment variable when it came from there', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-cfg-'));
    writeFileSync(join(dir, 'tessera.config.json'), JSON.stringify({ unknownKey: 1 }));
    try {
      loadConfig({ TESSERA_PORT: 'eighty', TESSERA_DATABASE_URL: 'mysql://x', TESSERA_LOG_LEVEL: 'loud' }, dir);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const text = (error as ConfigError).issues.join('\n');
      for (const key of ['TESSERA_PORT (port)', 'TESSERA_DATABASE_URL (databaseUrl)', 'TESSERA_LOG_LEVEL (logLevel)', 'unknownKey']) {
        expect(text).toContain(key);
      }
    }
    rmSync(dir, { recursive: true });
  });
});

describe('tessera CLI', () => {
  it('exits non-zero naming each bad key', async () => {
    const err = await run('node', [cli, 'start'], { env: { ...process.env, TESSERA_PORT: '-1', TESSERA_LOG_LEVEL: 'loud' } }).catch((e) => e);
    expect(err.code).toBe(2);
    expect(err.stderr).toContain('TESSERA_PORT');
    expect(err.stderr).toContain('TESSERA_LOG_LEVEL');
  });

  it('migrate creates and then keeps the schema', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-cli-'));
    const env = { ...process.env, TESSERA_DATABASE_URL: `sqlite:${join(dir, 'sub', 't.db')}` };
    expect((await run('node', [cli, 'migrate'], { env })).stdout).toMatch(/applied: 0001_foundation/);
    expect((await run('node', [cli, 'migrate'], { env })).stdout).toMatch(/up to date/);
    rmSync(dir, { recursive: true });
  });
});
