import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findDeepDocuments } from '../src/storage/deep-documents.js';
import { sha256Hex } from '../src/util/crypto.js';
import { type DatabaseFactory, dialects, type RunningApp, startApp, startAppWithPublicUrl, testConfig } from './helpers.js';
import { lcConfig, lcFetch } from './leancloud-helpers.js';
import { managementToken } from './oidc-helpers.js';

/**
 * Issue 15, items 3 and 4, over real HTTP: answers carrying a token or a secret are never cached
 * (`Cache-Control: no-store`); verification record and captcha ids are stored only as SHA-256; request
 * targets in absolute form and NULs that appear only after decoding are 4xx, never 5xx.
 */

const PW = 'violet-harbor-7-lantern';
const root = new URL('..', import.meta.url).pathname;

/** Sends a raw HTTP/1.1 request with `target` as the request line's target (absolute form allowed). */
function rawGet(base: string, target: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; link: string | undefined }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method: 'GET', path: target, headers }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, link: typeof res.headers.link === 'string' ? res.headers.link : undefined }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe.each(dialects)('hardening on %s', (_name, database) => {
  let t: RunningApp;
  let db: Awaited<ReturnType<DatabaseFactory>>;
  const username = `hard${Date.now().toString(36)}`;

  beforeAll(async () => {
    db = await database();
    t = await startApp(lcConfig({ databaseUrl: db.url, signIn: { captchaAfterFailures: 3 } }));
    await t.app.services.accountCenter.update({ enabled: true, fields: { password: 'Edit' } });
    expect((await t.call('POST', '/api/auth/sign-up', { body: { username, password: PW } })).status).toBe(201);
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  it('token-bearing answers say Cache-Control: no-store (/api/auth/sign-in, /api/auth/refresh, /1.1/login, /api/verifications/password)', async () => {
    const signIn = await t.call('POST', '/api/auth/sign-in', { body: { username, password: PW } });
    expect(signIn.status).toBe(200);
    expect(signIn.headers.get('cache-control')).toBe('no-store');
    const token = (await signIn.json()).session.token as string;
    const refreshed = await t.call('POST', '/api/auth/refresh', { token });
    expect(refreshed.status).toBe(200);
    expect(refreshed.headers.get('cache-control')).toBe('no-store');
    const next = (await refreshed.json()).session.token as string;
    const lc = await lcFetch(t.base, 'POST', '/1.1/login', { body: { username, password: PW } });
    expect(lc.status).toBe(200);
    expect(lc.headers.get('cache-control')).toBe('no-store');
    const proof = await t.call('POST', '/api/verifications/password', { token: next, body: { password: PW } });
    expect(proof.status).toBe(201);
    expect(proof.headers.get('cache-control')).toBe('no-store');
  });

  it('verification record and captcha ids are stored only as SHA-256; a stored key is no usable id', async () => {
    const session = (await (await t.call('POST', '/api/auth/sign-in', { body: { username, password: PW } })).json()).session.token as string;
    const proof = await (await t.call('POST', '/api/verifications/password', { token: session, body: { password: PW } })).json();
    const id = proof.verificationRecordId as string;
    expect(id).toMatch(/^vrf_/);
    const dbh = t.app.database.db;
    expect(await dbh.selectFrom('verifications').select('id').where('id', '=', id).executeTakeFirst()).toBeUndefined();
    expect(await dbh.selectFrom('verifications').select('id').where('id', '=', sha256Hex(id)).executeTakeFirst()).toEqual({ id: sha256Hex(id) });
    // The stored key itself is refused as a proof (someone who read the table cannot use it)…
    const withKey = await t.call('POST', '/api/my-account/password', { token: session, body: { password: 'amber-falcon-88-orbit' }, headers: { 'logto-verification-id': sha256Hex(id) } });
    expect([withKey.status, (await withKey.json()).code]).toEqual([401, 'verification_record.permission_denied']);
    // …while the id works.
    const withId = await t.call('POST', '/api/my-account/password', { token: session, body: { password: 'amber-falcon-88-orbit' }, headers: { 'logto-verification-id': id } });
    expect(withId.status).toBe(204);

    const captcha = await (await t.call('POST', '/api/auth/captcha')).json();
    expect(captcha.id).toMatch(/^cap_/);
    expect(await dbh.selectFrom('captchas').select('id').where('id', '=', captcha.id).executeTakeFirst()).toBeUndefined();
    expect(await dbh.selectFrom('captchas').select('id').where('id', '=', sha256Hex(captcha.id)).executeTakeFirst()).toBeDefined();
  });

  it('a request target in absolute form is answered like its path, never with a 5xx', async () => {
    for (const target of ['http://evil.example/api/users', 'http://evil.example/api/users?page=2', 'http://evil.example/api/status', 'http://evil.example/1.1/users']) {
      const res = await rawGet(t.base, target);
      expect(res.status, target).toBeLessThan(500);
    }
  });

  it('a NUL that appears only after decoding a /1.1 where is a 400, never a 5xx', async () => {
    const where = encodeURIComponent(JSON.stringify({ username: 'a\u0000b' }));
    const res = await lcFetch(t.base, 'GET', `/1.1/classes/_User?where=${where}`, { master: true });
    expect(res.status).toBe(400);
    const nested = encodeURIComponent(JSON.stringify({ username: { $in: ['x', 'y\u0000'] } }));
    expect((await lcFetch(t.base, 'GET', `/1.1/classes/_User?where=${nested}`, { master: true })).status).toBe(400);
    const regex = encodeURIComponent(JSON.stringify({ username: { $regex: '\u0000' } }));
    expect((await lcFetch(t.base, 'GET', `/1.1/classes/_User?where=${regex}`, { master: true })).status).toBeLessThan(500);
  });
});

describe('pagination links of the Management API', () => {
  let t: RunningApp;
  let token: string;
  beforeAll(async () => {
    t = await startAppWithPublicUrl({ adminClientId: 'hard-admin', adminClientSecret: 'hard-admin-secret-0123456789' });
    token = await managementToken(t.base, 'hard-admin', 'hard-admin-secret-0123456789');
  });
  afterAll(async () => {
    await t.close();
  });

  it('an authenticated absolute-form target gets links on publicUrl with its own path, not a 500', async () => {
    const res = await rawGet(t.base, 'http://evil.example/api/users?page=1&page_size=1&search=a', { authorization: `Bearer ${token}` });
    expect(res.status).toBe(200);
    expect(res.link).toContain(`<${t.base}/api/users?page=1&page_size=1&search=a>; rel="first"`);
    expect(res.link).not.toContain('evil.example');
  });

  it('a query too long to echo gets no Link header (the answer stays readable by every client)', async () => {
    const res = await fetch(`${t.base}/api/users?x=${'a'.repeat(12_000)}`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('total-number')).not.toBeNull();
    expect(res.headers.get('link')).toBeNull();
  });
});

describe('tessera migrate lists stored documents nested deeper than the request limit', () => {
  it('finds a custom data document stored before the cap, and only that one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-deep-'));
    const url = `sqlite:${join(dir, 'deep.db')}`;
    try {
      const t = await startApp(testConfig({ databaseUrl: url }));
      const deepUser = await t.app.services.users.create({ username: `deep${Date.now().toString(36)}` });
      const fineUser = await t.app.services.users.create({ username: `fine${Date.now().toString(36)}` });
      // Written below the API (as a document stored by an older version would be).
      const nested = JSON.parse(`${'{"a":'.repeat(200)}1${'}'.repeat(200)}`) as Record<string, unknown>;
      await t.app.services.users.update(deepUser.id, { customData: nested });
      await t.app.services.users.update(fineUser.id, { customData: { plan: { tier: 'pro' } } });
      expect(await findDeepDocuments(t.app.database.db)).toEqual([{ userId: deepUser.id, column: 'custom_data', depth: 200 }]);
      await t.close();
      const out = execFileSync(process.execPath, [join(root, 'bin/tessera.js'), 'migrate'], { env: { ...process.env, TESSERA_DATABASE_URL: url }, encoding: 'utf8' });
      expect(out).toContain('database is up to date');
      expect(out).toContain(`user ${deepUser.id} custom_data depth 200`);
      expect(out).not.toContain(fineUser.id);
      expect(out).not.toContain('oidc-provider WARNING');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
