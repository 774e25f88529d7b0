import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DatabaseFactory, dialects, type RunningApp, startAppWithPublicUrl } from './helpers.js';

// Input the database cannot take must be a 4xx with a stable code, never a 500, and never stored.
// PostgreSQL `text` refuses NUL (error 22021) and its LIKE treats a trailing `\` as an error (22025);
// SQLite stores NUL silently. Both dialects must answer the same.

const ADMIN_ID = 'hardening-admin';
const ADMIN_SECRET = 'hardening-secret-0123456789';
const PW = 'violet-harbor-7-lantern';
const uniq = (p: string) => `${p}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

describe.each(dialects)('input the database cannot take, on %s', (_name, database) => {
  let t: RunningApp;
  let db: Awaited<ReturnType<DatabaseFactory>>;
  let mgmt: string;

  beforeAll(async () => {
    db = await database();
    t = await startAppWithPublicUrl({ databaseUrl: db.url, adminClientId: ADMIN_ID, adminClientSecret: ADMIN_SECRET });
    const res = await fetch(`${t.base}/oidc/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${ADMIN_ID}:${ADMIN_SECRET}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource: `${t.base}/api`, scope: 'all' }).toString(),
    });
    mgmt = (await res.json()).access_token;
    expect((await t.call('PATCH', '/api/account-center', { token: mgmt, body: { enabled: true, fields: { name: 'Edit', session: 'Edit' } } })).status).toBe(200);
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  async function send(method: string, path: string, options: { body?: unknown; token?: string } = {}) {
    const res = await t.call(method, path, options);
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  }

  it('refuses NUL in path parameters, query values and JSON bodies (Management and Account API) with 400 naming the place (Logto codes there: guard.invalid_input, request.invalid_input for a search)', async () => {
    const user = await send('POST', '/api/users', { token: mgmt, body: { username: uniq('nul'), password: PW } });
    expect(user.status).toBe(200);
    const id = user.body.id as string;
    const session = await send('POST', '/api/auth/sign-in', { body: { username: user.body.username, password: PW } });
    expect(session.status).toBe(200);
    const token = session.body.session.token as string;

    const cases: Array<[string, string, unknown, string, string]> = [
      ['GET', '/api/users?search.id=%00', undefined, mgmt, 'query.search.id'],
      ['GET', '/api/users/%00', undefined, mgmt, 'params.userId'],
      ['POST', '/api/users', { primaryEmail: 'x@\u0000.com' }, mgmt, 'body.primaryEmail'],
      ['PATCH', `/api/users/${id}`, { name: 'x\u0000y' }, mgmt, 'body.name'],
      ['PATCH', `/api/users/${id}/custom-data`, { customData: { nested: ['ok', 'n\u0000'] } }, mgmt, 'body.customData.nested.1'],
      ['POST', `/api/users/${id}/personal-access-tokens`, { name: 'n\u0000' }, mgmt, 'body.name'],
      ['POST', '/api/applications', { name: 'a\u0000', type: 'traditional' }, mgmt, 'body.name'],
      ['DELETE', `/api/users/${id}/sessions/%00`, undefined, mgmt, 'params.sessionId'],
      ['PATCH', '/api/my-account', { name: 'x\u0000y' }, token, 'body.name'],
      ['DELETE', '/api/my-account/sessions/%00', undefined, token, 'params.sessionId'],
      ['POST', '/api/verifications/verification-code', { identifier: { type: 'email', value: 'a\u0000@x.com' } }, token, 'body.identifier.value'],
      ['POST', '/api/verifications/password', { password: PW, ['k\u0000']: 1 }, token, 'body'],
    ];
    for (const [method, path, body, bearer, where] of cases) {
      const res = await send(method, path, { ...(body !== undefined ? { body } : {}), token: bearer });
      const code = where.startsWith('query.search') ? 'request.invalid_input' : 'guard.invalid_input';
      expect([method, path, res.status, res.body?.code]).toEqual([method, path, 400, code]);
      expect(res.body.data.issues[0].path).toBe(where);
    }
    // Nothing was written: the user keeps their name, and no application or token was created.
    const after = await send('GET', `/api/users/${id}`, { token: mgmt });
    expect(after.body.name).toBeNull();
    expect((await send('GET', '/api/applications', { token: mgmt })).body.map((a: { name: string }) => a.name)).not.toContain('a\u0000');
    expect((await send('GET', `/api/users/${id}/personal-access-tokens`, { token: mgmt })).body).toEqual([]);
  });

  it('a deeply nested JSON body is a 400, not a stack overflow', async () => {
    const deep = `{"name":${'['.repeat(20_000)}${']'.repeat(20_000)}}`;
    const res = await t.call('POST', '/api/users', { token: mgmt, body: deep, headers: { 'content-type': 'application/json' } });
    expect([res.status, (await res.json()).code]).toEqual([400, 'guard.invalid_input']);
  });

  it('a LIKE search with a trailing backslash matches literally on both databases (no 500)', async () => {
    const name = `back\\slash ${uniq('b')}`;
    const created = await send('POST', '/api/users', { token: mgmt, body: { username: uniq('bs'), name } });
    expect(created.status).toBe(200);
    const trailing = await send('GET', `/api/users?search.name=${encodeURIComponent('%\\')}&mode.name=like`, { token: mgmt });
    expect([trailing.status, trailing.body]).toEqual([200, []]);
    const inner = await send('GET', `/api/users?search.name=${encodeURIComponent('%k\\s%')}&mode.name=like`, { token: mgmt });
    expect(inner.status).toBe(200);
    expect(inner.body.map((u: { id: string }) => u.id)).toEqual([created.body.id]);
  });

  it('/oidc: a NUL in a client id or a cookie-borne id names nothing (RFC 6749 error, not a 500)', async () => {
    const token = await fetch(`${t.base}/oidc/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from('x\u0000y:secret').toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource: `${t.base}/api`, scope: 'all' }).toString(),
    });
    const tokenBody = await token.json();
    expect([token.status, tokenBody.error]).toEqual([400, 'invalid_request']);
    const auth = await fetch(`${t.base}/oidc/auth?client_id=%00&response_type=code&scope=openid&redirect_uri=https%3A%2F%2Frp.example.com%2Fcb`, { redirect: 'manual' });
    expect(auth.status).toBe(400);
    const introspect = await fetch(`${t.base}/oidc/token/introspection`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${ADMIN_ID}:${ADMIN_SECRET}`).toString('base64')}` },
      body: new URLSearchParams({ token: 'abc\u0000def' }).toString(),
    });
    expect(introspect.status).toBe(200);
    expect((await introspect.json()).active).toBe(false);
  });
});
