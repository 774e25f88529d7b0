import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, startTesseraProcess } from './helpers.js';

// Issue 22 item 1: `tessera start` answers sooner when libraries that only some requests need are loaded
// at their first use. The built server (dist/, which `npm test` compiles first) is started in a child
// process as `tessera start` starts it (createApp, then listen, on SQLite), and every module it loaded is
// listed: ES modules through a module hook, CommonJS ones from require's cache. The same holds for the
// bundle bin/tessera.js runs (dist/bundle/tessera.cjs, scripts/bundle.mjs), which must leave these
// libraries out (its metafile says what it holds) and require none of them at start.

const root = fileURLToPath(new URL('..', import.meta.url));

/** The npm package a module's path is in, if any. */
const packageOf = (file: string) => /[\\/]?node_modules[\\/]((?:@[^\\/]+[\\/])?[^\\/]+)[\\/]/.exec(file)?.[1]?.replace('\\', '/');

/** Packages loaded at their first use, each with what first uses it. */
const LAZY: Record<string, string> = {
  'svg-captcha': 'the first captcha (domain/sign-in/captcha.ts)',
  'libphonenumber-js': 'the first phone number (domain/users/identifiers.ts)',
  ajv: 'nothing: every route validates with zod (app.ts schemaController)',
  '@fastify/ajv-compiler': 'nothing: every route validates with zod (app.ts schemaController)',
  '@fastify/fast-json-stringify-compiler': 'nothing: every route serialises with zod (app.ts schemaController)',
  qrcode: 'the first TOTP enrolment page',
  '@simplewebauthn/server': 'the first passkey operation (domain/mfa)',
  '@zxcvbn-ts/core': 'the first password check (domain/credentials/passwords.ts)',
  'prom-client': 'TESSERA_METRICS_TOKEN',
  ioredis: 'a Redis URL',
  pg: 'a PostgreSQL database URL',
};

describe('modules `tessera start` leaves for later', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-start-modules-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('loads none of the libraries that only some requests need', () => {
    const log = join(dir, 'esm.txt');
    writeFileSync(log, '');
    writeFileSync(
      join(dir, 'hooks.mjs'),
      `import { appendFileSync } from 'node:fs';\nexport async function load(url, context, next) { appendFileSync(${JSON.stringify(log)}, url + '\\n'); return next(url, context); }\n`,
    );
    writeFileSync(join(dir, 'register.mjs'), `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});\n`);
    const dist = (file: string) => JSON.stringify(pathToFileURL(join(root, 'dist', file)).href);
    const script = `
      import { createRequire } from 'node:module';
      const { parseConfig } = await import(${dist('config/index.js')});
      const { createApp } = await import(${dist('app.js')});
      const app = await createApp(parseConfig({ databaseUrl: 'sqlite::memory:', logLevel: 'silent', host: '127.0.0.1', port: 0 }));
      const url = await app.listen();
      const status = (await fetch(url + '/api/status')).status;
      const cjs = Object.keys(createRequire(${dist('app.js')}).cache);
      await app.close();
      process.stdout.write(JSON.stringify({ status, cjs }));
    `;
    const out = execFileSync(process.execPath, ['--import', pathToFileURL(join(dir, 'register.mjs')).href, '--input-type=module', '-e', script], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, NODE_ENV: 'production' },
    });
    const { status, cjs } = JSON.parse(out) as { status: number; cjs: string[] };
    expect(status).toBe(204);
    const files = [...readFileSync(log, 'utf8').split('\n').filter(Boolean).map((u) => (u.startsWith('file:') ? fileURLToPath(u) : u)), ...cjs];
    const packages = new Set(files.map(packageOf).filter((p) => p !== undefined));
    // The listing sees what start does load (so an empty listing cannot pass).
    for (const loaded of ['fastify', 'kysely', 'oidc-provider', 'better-sqlite3']) expect(packages.has(loaded), loaded).toBe(true);
    for (const [name, when] of Object.entries(LAZY)) expect(packages.has(name), `${name} is loaded at ${when}, not at start`).toBe(false);
  });

  it('the bundle that bin/tessera.js runs holds none of them and loads none of them at start', async () => {
    const meta = JSON.parse(readFileSync(join(root, 'dist', 'bundle', 'meta.json'), 'utf8')) as { inputs: Record<string, unknown> };
    const bundled = new Set(Object.keys(meta.inputs).map((input) => packageOf(input)).filter((p) => p !== undefined));
    // The bundle holds what start runs; the lazy libraries stay in node_modules (scripts/bundle.mjs), so
    // that loading one means requiring it, which the hook below sees.
    for (const name of ['fastify', 'kysely', 'oidc-provider', 'zod']) expect(bundled.has(name), name).toBe(true);
    for (const name of Object.keys(LAZY)) expect(bundled.has(name), `${name} is in the bundle`).toBe(false);

    const log = join(dir, 'bundle-cjs.txt');
    writeFileSync(log, '');
    writeFileSync(
      join(dir, 'cjs-hook.cjs'),
      `const M = require('node:module'); const { appendFileSync } = require('node:fs'); const load = M._load;\n` +
        `M._load = function (request, parent, isMain) { const e = load.apply(this, arguments); try { appendFileSync(${JSON.stringify(log)}, M._resolveFilename(request, parent, isMain) + '\\n'); } catch {} return e; };\n`,
    );
    const server = await startTesseraProcess(
      await freePort(),
      { NODE_ENV: 'production', NODE_COMPILE_CACHE: join(dir, 'compile-cache'), TESSERA_DATABASE_URL: `sqlite:${join(dir, 'bundle.db')}` },
      ['--require', join(dir, 'cjs-hook.cjs')],
    );
    await server.stop();
    const loaded = new Set(readFileSync(log, 'utf8').split('\n').filter(Boolean).map(packageOf).filter((p) => p !== undefined));
    // The listing sees what start requires from node_modules (so an empty listing cannot pass).
    expect(loaded.has('better-sqlite3')).toBe(true);
    for (const [name, when] of Object.entries(LAZY)) expect(loaded.has(name), `${name} is loaded at ${when}, not at start`).toBe(false);
  }, 60_000);
});
