import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operationIdOf } from '../src/http/openapi.js';
import { lcConfig } from './leancloud-helpers.js';
import { type RunningApp, startApp } from './helpers.js';

/**
 * Issue 21 item 2: the OpenAPI document of a server with every surface on passes Redocly's recommended
 * ruleset with no error (`@redocly/cli lint`, the real tool, offline), every operation has a unique
 * stable operationId and declares its security, the OIDC provider's internal catch-all is not in it, and
 * `/api/docs` is Tessera's.
 */

const run = promisify(execFile);
const redocly = join(dirname(createRequire(import.meta.url).resolve('@redocly/cli/package.json')), 'bin', 'cli.js');
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head'];

describe('the OpenAPI document', () => {
  let t: RunningApp;
  let doc: { paths: Record<string, Record<string, { operationId?: string; security?: unknown[]; responses?: Record<string, unknown> }>> };
  let dir: string;

  beforeAll(async () => {
    t = await startApp(lcConfig({ authing: { appId: 'docs-app', secret: 'authing-pool-secret-0123456789' } }));
    doc = await (await t.call('GET', '/api/openapi.json')).json();
    dir = mkdtempSync(join(tmpdir(), 'tessera-openapi-'));
  });
  afterAll(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const operations = () =>
    Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).filter(([m]) => METHODS.includes(m)).map(([method, op]) => ({ path, method, op })));

  it('has a unique operationId and a security declaration on every operation, and no internal catch-all', () => {
    const ops = operations();
    expect(ops.length).toBeGreaterThan(150);
    const ids = ops.map(({ op }) => op.operationId);
    expect(ids.every((id) => typeof id === 'string' && /^[a-z][A-Za-z0-9]+$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ops.filter(({ op }) => !Array.isArray(op.security))).toEqual([]);
    expect(ops.filter(({ op }) => !Object.keys(op.responses ?? {}).some((s) => /^4/.test(s)))).toEqual([]);
    expect(Object.keys(doc.paths).filter((p) => p.includes('*'))).toEqual([]);
    expect(doc.paths['/api/users/{userId}']?.get?.operationId).toBe('getApiUsersByUserId');
    expect(doc.paths['/api/users/{userId}']?.get?.security).toEqual([{ managementToken: [] }]);
    expect(doc.paths['/api/auth/sign-in']?.post?.security).toEqual([]);
  });

  it('passes Redocly’s recommended rules with no error', async () => {
    const file = join(dir, 'openapi.json');
    writeFileSync(file, JSON.stringify(doc));
    const { stdout } = await run(process.execPath, [redocly, 'lint', file, '--format=json', '--max-problems=1000'], {
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' },
      maxBuffer: 16 * 1024 * 1024,
    }).catch((e: { stdout: string; stderr: string }) => e);
    const report = JSON.parse(stdout) as { totals: { errors: number; warnings: number }; problems: Array<{ ruleId: string; severity: string; message: string; location: Array<{ pointer: string }> }> };
    const errors = report.problems.filter((p) => p.severity === 'error').map((p) => `${p.ruleId} ${p.location[0]?.pointer}: ${p.message}`);
    expect(errors).toEqual([]);
    console.log(`redocly lint (recommended): 0 errors, ${report.totals.warnings} warnings`);
  }, 60_000);

  it('/api/docs carries Tessera’s name', async () => {
    const page = await t.call('GET', '/api/docs/');
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>Tessera API</title>');
    // The header's image is Tessera's word mark, inlined by the page's initializer.
    const init = await (await t.call('GET', '/api/docs/static/swagger-initializer.js')).text();
    const mark = /data:image\/svg\+xml;base64,([A-Za-z0-9+/=]+)/.exec(init);
    expect(Buffer.from(mark![1]!, 'base64').toString('utf8')).toContain('aria-label="Tessera"');
  });

  it('operationIdOf is the method and the path, parameters as By<Name>', () => {
    expect(operationIdOf('GET', '/api/users/:userId/identities/:target')).toBe('getApiUsersByUserIdIdentitiesByTarget');
    expect(operationIdOf('post', '/1.1/users/:id/refreshSessionToken')).toBe('post11UsersByIdRefreshSessionToken');
    expect(operationIdOf('GET', '/.well-known/webauthn')).toBe('getWellKnownWebauthn');
  });
});
