import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * Issue 21 item 1: `@tessera/sdk` is publishable. The package is built and packed as `npm publish` would
 * pack it, installed from the tarball into an empty app, and imported there by Node (ESM, types included).
 */

const run = promisify(execFile);
const root = join(import.meta.dirname, '..');
const sdk = join(root, 'sdk');

describe('the @tessera/sdk package', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-sdk-pack-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('packs dist with its types (and the sources its source maps name), no tests; installs from the tarball and imports in a fresh app', async () => {
    // Compile only (not `npm run build`, which also regenerates src/codes.ts that other suites import).
    await run(process.execPath, [createRequire(import.meta.url).resolve('typescript/bin/tsc'), '-p', join(sdk, 'tsconfig.json')], { cwd: root });
    const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: sdk });
    const [packed] = JSON.parse(stdout) as Array<{ name: string; filename: string; files: Array<{ path: string }> }>;
    expect(packed!.name).toBe('@tessera/sdk');
    const paths = packed!.files.map((f) => f.path);
    for (const required of ['package.json', 'README.md', 'dist/index.js', 'dist/index.d.ts', 'dist/account.js', 'dist/authentication.d.ts']) expect(paths).toContain(required);
    expect(paths.filter((p) => p.startsWith('test/') || p.includes('.test.'))).toEqual([]);

    const app = join(dir, 'app');
    await run('mkdir', ['-p', app]);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'sdk-consumer', private: true, type: 'module' }));
    await run('npm', ['install', '--no-audit', '--no-fund', '--offline', join(dir, packed!.filename)], { cwd: app });
    expect(existsSync(join(app, 'node_modules/@tessera/sdk/dist/index.d.ts'))).toBe(true);
    expect(readdirSync(join(app, 'node_modules'))).toEqual(['.package-lock.json', '@tessera']);
    const probe = `
      import { AccountClient, AuthenticationClient, ManagementClient, TesseraError, isMfaRequired } from '@tessera/sdk';
      const auth = new AuthenticationClient({ appHost: 'https://id.example.com' });
      const account = new AccountClient({ endpoint: 'https://id.example.com', accessToken: 't' });
      console.log(JSON.stringify([typeof auth.loginByEmail, typeof auth.mfa.verifyTotpMfa, typeof account.getProfile, typeof ManagementClient, isMfaRequired(new TesseraError('auth.mfa_required', 403, 'x', { pendingSignInId: 'p', factors: ['totp'] }))]));
    `;
    writeFileSync(join(app, 'probe.mjs'), probe);
    const out = await run(process.execPath, ['probe.mjs'], { cwd: app });
    expect(JSON.parse(out.stdout)).toEqual(['function', 'function', 'function', 'function', true]);
  }, 180_000);
});
