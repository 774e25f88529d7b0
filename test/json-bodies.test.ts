import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH } from '../src/util/json-depth.js';
import { type DatabaseFactory, dialects, type RunningApp, startApp } from './helpers.js';
import { lcConfig, lcFetch, lcHeaders } from './leancloud-helpers.js';

/**
 * Request bodies on every surface: `Content-Type: application/json` with an empty body is no body
 * (issue 16: what many HTTP clients send on DELETE and bodiless POST, and what Logto's server accepts);
 * JSON nested deeper than MAX_JSON_DEPTH is a 400, never a stack overflow (issue 15).
 */

const PW = 'violet-harbor-7-lantern';
const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
const nestedObject = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

describe.each(dialects)('JSON request bodies on %s', (_name, database) => {
  let t: RunningApp;
  let db: Awaited<ReturnType<DatabaseFactory>>;
  let session: string;
  let userId: string;

  beforeAll(async () => {
    db = await database();
    t = await startApp(lcConfig({ databaseUrl: db.url }));
    await t.app.services.accountCenter.update({ enabled: true, fields: { email: 'Edit', customData: 'Edit', name: 'Edit' } });
    const res = await t.call('POST', '/api/auth/sign-up', { body: { username: `jb${Date.now().toString(36)}`, email: `jb${Date.now()}@example.com`, password: PW } });
    const body = await res.json();
    session = body.session.token;
    userId = body.user.id;
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  it('an empty body with Content-Type: application/json is no body (POST /api/auth/refresh, DELETE /api/my-account/primary-email)', async () => {
    const refreshed = await t.call('POST', '/api/auth/refresh', { token: session, body: '', headers: { 'content-type': 'application/json' } });
    expect(refreshed.status).toBe(200);
    session = (await refreshed.json()).session.token;
    // A whitespace-only body too.
    const again = await t.call('POST', '/api/auth/refresh', { token: session, body: ' \r\n', headers: { 'content-type': 'application/json' } });
    expect(again.status).toBe(200);
    session = (await again.json()).session.token;
    // Removing the email: not refused for its body (the user has a username and a password left).
    const proof = await (await t.call('POST', '/api/verifications/password', { token: session, body: { password: PW } })).json();
    const removed = await t.call('DELETE', '/api/my-account/primary-email', {
      token: session,
      body: '',
      headers: { 'content-type': 'application/json', 'logto-verification-id': proof.verificationRecordId },
    });
    expect(removed.status).toBe(204);
    expect((await t.app.services.users.require(userId)).primaryEmail).toBeNull();
  });

  it('a route that needs a body still says so (400 request.invalid), and malformed JSON is request.malformed_json', async () => {
    const empty = await t.call('POST', '/api/auth/sign-in', { body: '', headers: { 'content-type': 'application/json' } });
    expect([empty.status, (await empty.json()).code]).toEqual([400, 'request.invalid']);
    const bad = await t.call('POST', '/api/auth/sign-in', { body: '{"username":', headers: { 'content-type': 'application/json' } });
    expect([bad.status, (await bad.json()).code]).toEqual([400, 'request.malformed_json']);
    const poisoned = await t.call('POST', '/api/auth/sign-in', { body: '{"__proto__":{"x":1},"username":"a","password":"b"}', headers: { 'content-type': 'application/json' } });
    expect(poisoned.status).toBe(400);
  });

  it(`JSON nested deeper than ${MAX_JSON_DEPTH} is a 400 everywhere (not a stack overflow); ${MAX_JSON_DEPTH} levels are accepted`, async () => {
    for (const depth of [MAX_JSON_DEPTH + 1, 5000, 100_000]) {
      for (const body of [nested(depth), nestedObject(depth)]) {
        const me = await t.call('PATCH', '/api/auth/me', { token: session, body: `{"customData":{"deep":${body}}}` });
        expect(me.status, `PATCH /api/auth/me depth ${depth}`).toBe(400);
        expect((await me.json()).code).toBe('request.invalid');
        const lc = await lcFetch(t.base, 'POST', '/1.1/batch', { body: `{"requests":${body}}`, headers: lcHeaders() });
        expect(lc.status, `/1.1/batch depth ${depth}`).toBe(400);
        expect(lc.body.code).toBe(107);
        const put = await lcFetch(t.base, 'PUT', `/1.1/users/${userId}`, { session, body: `{"deep":${body}}` });
        expect(put.status).toBe(400);
      }
    }
    // At the limit: the body itself is level 1, so customData.deep may hold MAX_JSON_DEPTH - 2 levels.
    const ok = await t.call('PATCH', '/api/auth/me', { token: session, body: `{"customData":{"deep":${nested(MAX_JSON_DEPTH - 2)}}}` });
    expect(ok.status).toBe(200);
    // And the stored value does not break the user's other surfaces.
    expect((await lcFetch(t.base, 'PUT', `/1.1/users/${userId}`, { session, body: { name2: 'x' } })).status).toBe(200);
  });
});
