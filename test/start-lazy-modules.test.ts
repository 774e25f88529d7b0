import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from './helpers.js';

// Issue 22 item 1: `tessera start` answers sooner when libraries that only some requests need are loaded
// at their first use. The built server (dist/, which `npm test` compiles first) is started in a child
// process as `tessera start` starts it (createApp, then listen, on SQLite), and every module it loaded is
// listed: ES modules through a module hook, CommonJS ones from require's cache. The same holds for the
// bundle bin/tessera.js runs (dist/bundle/, scripts/bundle.mjs), whose chunks each hold many modules: its
// metafile says which.

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

  it('the bundle that bin/tessera.js runs loads none of them either, and loads it in a few dozen files', async () => {
    const bundle = join(root, 'dist', 'bundle');
    const meta = JSON.parse(readFileSync(join(bundle, 'meta.json'), 'utf8')) as { outputs: Record<string, { inputs: Record<string, unknown> }> };
    const log = join(dir, 'bundle-esm.txt');
    writeFileSync(log, '');
    writeFileSync(
      join(dir, 'hooks-bundle.mjs'),
      `import { appendFileSync } from 'node:fs';\nexport async function load(url, context, next) { appendFileSync(${JSON.stringify(log)}, url + '\\n'); return next(url, context); }\n`,
    );
    writeFileSync(join(dir, 'register-bundle.mjs'), `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks-bundle.mjs')).href)});\n`);
    // CommonJS modules required from the chunks (createRequire) do not pass the ES module hook.
    writeFileSync(
      join(dir, 'cjs-bundle.cjs'),
      `const M = require('node:module'); const { appendFileSync } = require('node:fs'); const load = M._load;\n` +
        `M._load = function (request, parent, isMain) { const e = load.apply(this, arguments); try { appendFileSync(${JSON.stringify(log)}, M._resolveFilename(request, parent, isMain) + '\\n'); } catch {} return e; };\n`,
    );
    const port = await freePort();
    const child = spawn(
      process.execPath,
      ['--require', join(dir, 'cjs-bundle.cjs'), '--import', pathToFileURL(join(dir, 'register-bundle.mjs')).href, join(bundle, 'main.js'), 'start'],
      {
        cwd: root,
        env: { ...process.env, NODE_ENV: 'production', TESSERA_DATABASE_URL: `sqlite:${join(dir, 'bundle.db')}`, TESSERA_HOST: '127.0.0.1', TESSERA_PORT: String(port), TESSERA_LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      for (let i = 0; !(await fetch(`http://127.0.0.1:${port}/api/status`).then((r) => r.status === 204, () => false)); i++) {
        if (i > 300 || child.exitCode !== null) throw new Error(`the bundle did not start:\n${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    }
    const loaded = readFileSync(log, 'utf8').split('\n').filter(Boolean).map((u) => (u.startsWith('file:') ? fileURLToPath(u) : u));
    const chunks = loaded.filter((f) => f.startsWith(bundle));
    const packages = new Set<string>();
    for (const file of loaded) {
      const output = meta.outputs[relative(root, file).split('\\').join('/')];
      if (output) for (const input of Object.keys(output.inputs)) packages.add(packageOf(input) ?? input);
      else packages.add(packageOf(file) ?? file);
    }
    // What start loads is in the listing (so an empty listing cannot pass), in far fewer files than unbundled.
    for (const name of ['fastify', 'kysely', 'oidc-provider', 'better-sqlite3']) expect(packages.has(name), name).toBe(true);
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.length).toBeLessThan(60);
    for (const [name, when] of Object.entries(LAZY)) expect(packages.has(name), `${name} is loaded at ${when}, not at start`).toBe(false);
  }, 60_000);
});
