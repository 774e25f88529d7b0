import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/util/clock.js';
import { sha256Hex } from '../src/util/crypto.js';
import { freshPgDatabase, LogCapture, PG_URL, type RunningApp, startAppWithPublicUrl } from './helpers.js';

type DatabaseFactory = () => Promise<{ url: string; drop(): Promise<void> }>;
const dialects: Array<[string, DatabaseFactory]> = [['SQLite', async () => ({ url: 'sqlite::memory:', drop: async () => {} })]];
const pgUrl = PG_URL;
if (pgUrl) dialects.push(['PostgreSQL', () => freshPgDatabase(pgUrl)]);

const ADMIN_ID = 'tessera-admin-tx';
const ADMIN_SECRET = 'admin-secret-for-token-exchange';
const GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const IMPERSONATION = 'urn:logto:token-type:impersonation_token';
const PAT = 'urn:logto:token-type:personal_access_token';
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
const REDIRECT = 'https://rp.example.com/callback';
let seq = 0;
const uniq = (p = 'tx') => `${p}${Date.now().toString(36)}${seq++}`;
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

interface App {
  id: string;
  secret: string;
}

describe.each(dialects)('personal access tokens, impersonation and token exchange on %s', (_name, database) => {
  const clock = new ManualClock(Date.now());
  const logs = new LogCapture();
  /** Every secret value seen by the test: none may reach the logs. */
  const secrets: string[] = [];
  let db: Awaited<ReturnType<DatabaseFactory>>;
  let t: RunningApp;
  let issuer: string;
  let resource: string;
  let token: string;
  let exchanger: App;
  let plain: App;
  let managementExchanger: App;
  let userId: string;

  const api = async (method: string, path: string, body?: unknown, bearer: string | null = token) => {
    const res = await t.call(method, path, { ...(body !== undefined ? { body } : {}), ...(bearer ? { token: bearer } : {}) });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
  };

  /** A raw token-exchange request with HTTP Basic client authentication. */
  const exchange = async (app: App, params: Record<string, string>) => {
    const res = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(app.id, app.secret) },
      body: new URLSearchParams({ grant_type: GRANT, ...params }).toString(),
    });
    const body = await res.json();
    if (typeof body.access_token === 'string') secrets.push(body.access_token);
    return { status: res.status, body };
  };

  const createApp = async (body: Record<string, unknown>): Promise<App> => {
    const res = await api('POST', '/api/applications', body);
    expect(res.status).toBe(200);
    secrets.push(res.body.secret);
    return { id: res.body.id, secret: res.body.secret };
  };

  const createUser = async (extra: Record<string, unknown> = {}) => {
    const res = await api('POST', '/api/users', { username: uniq('u'), ...extra });
    expect(res.status).toBe(200);
    return res.body.id as string;
  };

  const createPat = async (user: string, body: Record<string, unknown>) => {
    const res = await api('POST', `/api/users/${user}/personal-access-tokens`, body);
    if (typeof res.body?.value === 'string') secrets.push(res.body.value);
    return res;
  };

  const subjectToken = async (user: string, context?: Record<string, unknown>) => {
    const res = await api('POST', '/api/subject-tokens', { userId: user, ...(context ? { context } : {}) });
    expect(res.status).toBe(201);
    secrets.push(res.body.subjectToken);
    return res.body.subjectToken as string;
  };

  const discover = (app: App) =>
    client.discovery(new URL(issuer), app.id, { client_secret: app.secret }, client.ClientSecretBasic(app.secret), {
      execute: [client.allowInsecureRequests],
    });

  beforeAll(async () => {
    db = await database();
    t = await startAppWithPublicUrl(
      { databaseUrl: db.url, adminClientId: ADMIN_ID, adminClientSecret: ADMIN_SECRET, logLevel: 'info', rateLimit: { managementPer10Seconds: 100_000 } },
      { clock, logStream: logs },
    );
    issuer = `${t.base}/oidc`;
    resource = `${t.base}/api`;
    const res = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(ADMIN_ID, ADMIN_SECRET) },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource, scope: 'all' }).toString(),
    });
    token = (await res.json()).access_token;
    secrets.push(token);
    exchanger = await createApp({ name: 'Support console', type: 'traditional', redirectUris: [REDIRECT], allowTokenExchange: true });
    plain = await createApp({ name: 'Plain web app', type: 'traditional', redirectUris: [REDIRECT] });
    managementExchanger = await createApp({ name: 'Admin job', type: 'm2m', isManagement: true, allowTokenExchange: true });
    userId = await createUser({ name: 'Ada Lovelace', primaryEmail: `${uniq('ada')}@example.com` });
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  describe('applications opt in to token exchange', () => {
    it('is off by default, set on create or PATCH, and refused for public clients', async () => {
      expect((await api('GET', `/api/applications/${plain.id}`)).body.allowTokenExchange).toBe(false);
      expect((await api('GET', `/api/applications/${exchanger.id}`)).body.allowTokenExchange).toBe(true);
      const spa = await api('POST', '/api/applications', { name: 'SPA', type: 'spa', redirectUris: [REDIRECT], allowTokenExchange: true });
      expect(spa).toMatchObject({ status: 400, body: { code: 'application.invalid_metadata' } });
      const native = await api('POST', '/api/applications', { name: 'Native', type: 'native', redirectUris: ['com.example.app:/cb'] });
      expect((await api('PATCH', `/api/applications/${native.body.id}`, { allowTokenExchange: true })).body.code).toBe('application.invalid_metadata');
      const job = await createApp({ name: 'Toggled', type: 'm2m' });
      expect((await api('PATCH', `/api/applications/${job.id}`, { allowTokenExchange: true })).body.allowTokenExchange).toBe(true);
      expect((await api('PATCH', `/api/applications/${job.id}`, { allowTokenExchange: false })).body.allowTokenExchange).toBe(false);
    });

    it('advertises the grant type in discovery', async () => {
      const meta = (await discover(exchanger)).serverMetadata();
      expect(meta.grant_types_supported).toContain(GRANT);
    });
  });

  describe('personal access tokens (Management API)', () => {
    it('creates (value shown once), lists without values, and deletes by path or by body', async () => {
      const user = await createUser();
      expect((await api('GET', `/api/users/${user}/personal-access-tokens`)).body).toEqual([]);
      const expiresAt = clock.now() + 86_400_000;
      const created = await createPat(user, { name: 'CI deploys', expiresAt });
      expect(created.status).toBe(201);
      expect(created.headers.get('cache-control')).toBe('no-store');
      expect(created.body).toEqual({ name: 'CI deploys', createdAt: clock.now(), expiresAt, value: expect.stringMatching(/^pat_[A-Za-z0-9_-]{32}$/) });
      const createdAt = clock.now();
      clock.advance(1000);
      const odd = await createPat(user, { name: 'a/b c%d ü?' });
      expect(odd.body).toMatchObject({ name: 'a/b c%d ü?', expiresAt: null });
      const list = await api('GET', `/api/users/${user}/personal-access-tokens`);
      expect(list.body).toEqual([
        { name: 'CI deploys', createdAt, expiresAt },
        { name: 'a/b c%d ü?', createdAt: clock.now(), expiresAt: null },
      ]);
      expect(JSON.stringify(list.body)).not.toContain(created.body.value);
      // Only a SHA-256 of the value is stored.
      const stored = await t.app.services.store.personalAccessTokens.listByUser(user);
      expect(JSON.stringify(stored)).not.toContain(created.body.value);
      expect(stored[0]!.tokenHash).toMatch(/^[0-9a-f]{64}$/);

      expect((await api('DELETE', `/api/users/${user}/personal-access-tokens/${encodeURIComponent('a/b c%d ü?')}`)).status).toBe(204);
      expect((await api('POST', `/api/users/${user}/personal-access-tokens/delete`, { name: 'CI deploys' })).status).toBe(204);
      expect((await api('GET', `/api/users/${user}/personal-access-tokens`)).body).toEqual([]);
      const again = await api('DELETE', `/api/users/${user}/personal-access-tokens/CI%20deploys`);
      expect(again).toMatchObject({ status: 404, body: { code: 'entity.not_found' } });
    });

    it('renames a token by {currentName, name} or by path (Logto); the value keeps working; taken and missing names are refused', async () => {
      const user = await createUser();
      const created = await createPat(user, { name: 'old name' });
      expect(created.status).toBe(201);
      await createPat(user, { name: 'other' });
      const renamed = await api('PATCH', `/api/users/${user}/personal-access-tokens`, { currentName: 'old name', name: 'new name' });
      expect(renamed).toMatchObject({ status: 200, body: { name: 'new name', expiresAt: null } });
      expect(renamed.body).not.toHaveProperty('value');
      const byPath = await api('PATCH', `/api/users/${user}/personal-access-tokens/${encodeURIComponent('new name')}`, { name: 'newer' });
      expect(byPath).toMatchObject({ status: 200, body: { name: 'newer' } });
      expect((await api('GET', `/api/users/${user}/personal-access-tokens`)).body.map((p: { name: string }) => p.name).sort()).toEqual(['newer', 'other']);
      expect(await api('PATCH', `/api/users/${user}/personal-access-tokens`, { currentName: 'newer', name: 'other' })).toMatchObject({ status: 422, body: { code: 'user.personal_access_token_name_exists' } });
      expect(await api('PATCH', `/api/users/${user}/personal-access-tokens`, { currentName: 'gone', name: 'x' })).toMatchObject({ status: 404, body: { code: 'entity.not_found' } });
      // The token itself still resolves under its new name.
      const resolved = await t.app.services.personalAccessTokens.resolve(created.body.value);
      expect(resolved).toMatchObject({ status: 'valid', token: { name: 'newer' } });
    });

    it('refuses duplicate names, bad names and past expiries, and unknown users', async () => {
      const user = await createUser();
      expect((await createPat(user, { name: 'dup' })).status).toBe(201);
      expect(await createPat(user, { name: 'dup' })).toMatchObject({ status: 422, body: { code: 'user.personal_access_token_name_exists' } });
      // Names are unique per user only.
      expect((await createPat(await createUser(), { name: 'dup' })).status).toBe(201);
      expect((await createPat(user, { name: '' })).body.code).toBe('guard.invalid_input');
      expect((await createPat(user, { name: 'x'.repeat(257) })).body.code).toBe('guard.invalid_input');
      expect((await createPat(user, { name: '字'.repeat(256) })).status).toBe(201);
      expect((await createPat(user, { name: 'past', expiresAt: clock.now() })).body.code).toBe('request.invalid_input');
      expect((await createPat(user, { name: 'extra', value: 'pat_mine' })).body.code).toBe('guard.invalid_input');
      const ghost = '0123456789abcdef01234567';
      expect((await api('GET', `/api/users/${ghost}/personal-access-tokens`)).body.code).toBe('entity.not_found');
      expect((await createPat(ghost, { name: 'x' })).status).toBe(404);
      expect((await api('DELETE', `/api/users/${ghost}/personal-access-tokens/x`)).status).toBe(404);
      expect((await api('POST', `/api/users/${ghost}/personal-access-tokens/delete`, { name: 'x' })).status).toBe(404);
    });

    it('needs a Management API token', async () => {
      expect((await api('GET', `/api/users/${userId}/personal-access-tokens`, undefined, null)).status).toBe(401);
      expect((await api('POST', '/api/subject-tokens', { userId }, null)).status).toBe(401);
    });
  });

  describe('exchanging a personal access token', () => {
    it('works repeatedly with openid-client, and the token acts as the user at userinfo', async () => {
      const { body: pat } = await createPat(userId, { name: uniq('reuse') });
      const config = await discover(exchanger);
      for (let i = 0; i < 3; i++) {
        const tokens = await client.genericGrantRequest(config, GRANT, { subject_token: pat.value, subject_token_type: PAT, scope: 'openid profile email' });
        secrets.push(tokens.access_token);
        expect(tokens).toMatchObject({ token_type: 'bearer', expires_in: 3600, scope: 'openid profile email', issued_token_type: ACCESS_TOKEN });
        expect(tokens.access_token.split('.')).toHaveLength(1); // opaque, not a JWT (a random token may start with "ey")
        const info = await client.fetchUserInfo(config, tokens.access_token, userId);
        expect(info).toMatchObject({ sub: userId, name: 'Ada Lovelace' });
        expect(info.email).toEqual(expect.stringContaining('@example.com'));
      }
      // Without a scope the token still names the user (openid only).
      const minimal = await exchange(exchanger, { subject_token: pat.value, subject_token_type: PAT });
      expect(minimal.body.scope).toBe('openid');
      const me = await fetch(`${issuer}/me`, { headers: { authorization: `Bearer ${minimal.body.access_token}` } });
      expect(await me.json()).toEqual({ sub: userId });
    });

    it('refuses an expired personal access token, and never issues a token outliving it', async () => {
      const { body: pat } = await createPat(userId, { name: uniq('short'), expiresAt: clock.now() + 60_000 });
      const ok = await exchange(exchanger, { subject_token: pat.value, subject_token_type: PAT });
      expect(ok.status).toBe(200);
      expect(ok.body.expires_in).toBeLessThanOrEqual(60);
      clock.advance(61_000);
      const late = await exchange(exchanger, { subject_token: pat.value, subject_token_type: PAT });
      expect(late).toEqual({ status: 400, body: { error: 'invalid_grant', error_description: 'subject token is expired' } });
    });

    it('refuses a deleted personal access token and an unknown one', async () => {
      const name = uniq('gone');
      const { body: pat } = await createPat(userId, { name });
      expect((await exchange(exchanger, { subject_token: pat.value, subject_token_type: PAT })).status).toBe(200);
      expect((await api('DELETE', `/api/users/${userId}/personal-access-tokens/${name}`)).status).toBe(204);
      const after = await exchange(exchanger, { subject_token: pat.value, subject_token_type: PAT });
      expect(after).toEqual({ status: 400, body: { error: 'invalid_grant', error_description: 'subject token not found' } });
      expect((await exchange(exchanger, { subject_token: 'pat_nope', subject_token_type: PAT })).body.error).toBe('invalid_grant');
    });
  });

  describe('impersonation subject tokens', () => {
    it('are created for a user by an M2M app (201, 600 s) and unknown users are 404', async () => {
      const res = await api('POST', '/api/subject-tokens', { userId, context: { ticket: 'SUP-42' } });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({ subjectToken: expect.stringMatching(/^sub_[A-Za-z0-9_-]{32}$/), expiresIn: 600 });
      secrets.push(res.body.subjectToken);
      const stored = await t.app.services.store.subjectTokens.findByHash(sha256Hex(res.body.subjectToken));
      expect(stored).toMatchObject({ userId, creatorApplicationId: ADMIN_ID, context: { ticket: 'SUP-42' }, consumedAt: null });
      expect(stored!.expiresAt - stored!.createdAt).toBe(600_000);
      expect((await api('POST', '/api/subject-tokens', { userId: '0123456789abcdef01234567' })).body.code).toBe('entity.not_found');
      expect((await api('POST', '/api/subject-tokens', { userId, context: { big: 'x'.repeat(5000) } })).body.code).toBe('subject_token.invalid_context');
      expect((await api('POST', '/api/subject-tokens', { userId, context: [1] })).body.code).toBe('guard.invalid_input');
    });

    it('are single use: the second exchange is invalid_grant', async () => {
      const sub = await subjectToken(userId);
      const config = await discover(exchanger);
      const tokens = await client.genericGrantRequest(config, GRANT, { subject_token: sub, subject_token_type: IMPERSONATION, scope: 'profile' });
      secrets.push(tokens.access_token);
      expect(tokens.scope).toBe('openid profile');
      expect((await client.fetchUserInfo(config, tokens.access_token, userId)).sub).toBe(userId);
      await expect(client.genericGrantRequest(config, GRANT, { subject_token: sub, subject_token_type: IMPERSONATION })).rejects.toMatchObject({
        error: 'invalid_grant',
        error_description: 'subject token is already consumed',
      });
    });

    it('accepts the legacy access-token type for sub_ values', async () => {
      const sub = await subjectToken(userId);
      expect((await exchange(exchanger, { subject_token: sub, subject_token_type: ACCESS_TOKEN })).status).toBe(200);
    });

    it('of 10 concurrent exchanges exactly one succeeds', async () => {
      const sub = await subjectToken(userId);
      const results = await Promise.all(Array.from({ length: 10 }, () => exchange(exchanger, { subject_token: sub, subject_token_type: IMPERSONATION })));
      expect(results.filter((r) => r.status === 200)).toHaveLength(1);
      const refused = results.filter((r) => r.status !== 200);
      expect(refused).toHaveLength(9);
      for (const r of refused) expect(r).toEqual({ status: 400, body: { error: 'invalid_grant', error_description: 'subject token is already consumed' } });
    });

    it('expire after 10 minutes', async () => {
      const sub = await subjectToken(userId);
      clock.advance(600_000);
      expect(await exchange(exchanger, { subject_token: sub, subject_token_type: IMPERSONATION })).toEqual({
        status: 400,
        body: { error: 'invalid_grant', error_description: 'subject token is expired' },
      });
      const fresh = await subjectToken(userId);
      clock.advance(599_000);
      expect((await exchange(exchanger, { subject_token: fresh, subject_token_type: IMPERSONATION })).status).toBe(200);
      expect(await t.app.services.subjectTokens.purgeExpired()).toBeGreaterThanOrEqual(1);
    });
  });

  describe('who may exchange, and what', () => {
    it('refuses applications not allowed (unauthorized_client) without using up the subject token', async () => {
      const sub = await subjectToken(userId);
      const denied = await exchange(plain, { subject_token: sub, subject_token_type: IMPERSONATION });
      expect(denied).toEqual({ status: 400, body: { error: 'unauthorized_client', error_description: 'this client is not allowed to use token exchange' } });
      const config = await discover(plain);
      await expect(client.genericGrantRequest(config, GRANT, { subject_token: sub, subject_token_type: IMPERSONATION })).rejects.toMatchObject({
        error: 'unauthorized_client',
      });
      const wrongSecret = await exchange({ id: exchanger.id, secret: 'not-the-secret' }, { subject_token: sub, subject_token_type: IMPERSONATION });
      expect([wrongSecret.status, wrongSecret.body.error]).toEqual([401, 'invalid_client']);
      // A public client has no secret and cannot be allowed.
      const spa = await api('POST', '/api/applications', { name: 'SPA', type: 'spa', redirectUris: [REDIRECT] });
      const res = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: GRANT, client_id: spa.body.id, subject_token: sub, subject_token_type: IMPERSONATION }).toString(),
      });
      expect((await res.json()).error).toBe('unauthorized_client');
      // Switching the flag off takes effect at once.
      const job = await createApp({ name: 'Flip', type: 'm2m', allowTokenExchange: true });
      await api('PATCH', `/api/applications/${job.id}`, { allowTokenExchange: false });
      expect((await exchange(job, { subject_token: sub, subject_token_type: IMPERSONATION })).body.error).toBe('unauthorized_client');
      expect((await exchange(exchanger, { subject_token: sub, subject_token_type: IMPERSONATION })).status).toBe(200);
    });

    it('answers malformed requests with invalid_request / invalid_scope before touching the subject token', async () => {
      const sub = await subjectToken(userId);
      expect((await exchange(exchanger, { subject_token_type: IMPERSONATION })).body).toEqual({
        error: 'invalid_request',
        error_description: "missing required parameter 'subject_token'",
      });
      expect((await exchange(exchanger, { subject_token: sub })).body.error).toBe('invalid_request');
      expect((await exchange(exchanger, { subject_token: sub, subject_token_type: 'urn:example:saml' })).body.error).toBe('invalid_request');
      const wrongType = await exchange(exchanger, { subject_token: sub, subject_token_type: IMPERSONATION, requested_token_type: 'urn:ietf:params:oauth:token-type:id_token' });
      expect(wrongType.body.error).toBe('invalid_request');
      expect((await exchange(exchanger, { subject_token: sub, subject_token_type: IMPERSONATION, scope: 'openid admin' })).body.error).toBe('invalid_scope');
      expect((await exchange(exchanger, { subject_token: sub, subject_token_type: IMPERSONATION, resource })).body.error).toBe('invalid_target');
      // A PAT sent as an impersonation token is simply unknown.
      expect((await exchange(exchanger, { subject_token: 'pat_x', subject_token_type: IMPERSONATION })).body.error).toBe('invalid_grant');
      expect((await exchange(exchanger, { subject_token: sub, subject_token_type: IMPERSONATION, scope: 'openid offline_access' })).body).toMatchObject({
        scope: 'openid',
      });
    });

    it('issues a JWT for a resource the client may use, carrying none of the caller\'s rights', async () => {
      const sub = await subjectToken(userId);
      const res = await exchange(managementExchanger, { subject_token: sub, subject_token_type: IMPERSONATION, resource, scope: 'all' });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ token_type: 'Bearer', expires_in: 3600, issued_token_type: ACCESS_TOKEN, scope: '' });
      const { payload } = await jwtVerify(res.body.access_token, createRemoteJWKSet(new URL(`${issuer}/jwks`)), { issuer, audience: resource, typ: 'at+jwt' });
      expect(payload).toMatchObject({ sub: userId, client_id: managementExchanger.id });
      expect(payload.scope).toBeUndefined();
      // The user holds no Management API scope, so the token is no key to it.
      expect((await api('GET', '/api/users', undefined, res.body.access_token)).status).toBe(403);
    });

    it('refuses suspended and deleted users with invalid_grant', async () => {
      const user = await createUser();
      const { body: pat } = await createPat(user, { name: 'suspend-me' });
      const pending = await subjectToken(user);
      expect((await api('PATCH', `/api/users/${user}/is-suspended`, { isSuspended: true })).status).toBe(200);
      const suspendedPat = await exchange(exchanger, { subject_token: pat.value, subject_token_type: PAT });
      expect(suspendedPat.body).toEqual({ error: 'invalid_grant', error_description: 'the user of the subject token is suspended or deleted' });
      const sub = await subjectToken(user);
      expect((await exchange(exchanger, { subject_token: sub, subject_token_type: IMPERSONATION })).body.error).toBe('invalid_grant');
      await api('PATCH', `/api/users/${user}/is-suspended`, { isSuspended: false });
      // Suspension ended the user's unused subject tokens; the personal access token works again.
      expect((await exchange(exchanger, { subject_token: pending, subject_token_type: IMPERSONATION })).body.error_description).toBe('subject token not found');
      const restored = await exchange(exchanger, { subject_token: pat.value, subject_token_type: PAT });
      expect(restored.status).toBe(200);
      // Suspending again ends the exchanged token too (userinfo refuses it).
      await api('PATCH', `/api/users/${user}/is-suspended`, { isSuspended: true });
      expect((await fetch(`${issuer}/me`, { headers: { authorization: `Bearer ${restored.body.access_token}` } })).status).toBe(401);
      expect((await api('DELETE', `/api/users/${user}`)).status).toBe(204);
      expect((await exchange(exchanger, { subject_token: pat.value, subject_token_type: PAT })).body.error).toBe('invalid_grant');
    });
  });

  describe('audit and secrecy', () => {
    it('records every exchange: application, user, time, kind and outcome, never a value', async () => {
      const user = await createUser();
      const { body: pat } = await createPat(user, { name: 'audited' });
      const sub = await subjectToken(user);
      const before = clock.now();
      expect((await exchange(exchanger, { subject_token: pat.value, subject_token_type: PAT, scope: 'profile' })).status).toBe(200);
      expect((await exchange(exchanger, { subject_token: sub, subject_token_type: IMPERSONATION })).status).toBe(200);
      expect((await exchange(exchanger, { subject_token: sub, subject_token_type: IMPERSONATION })).status).toBe(400);
      const rows = await t.app.services.tokenExchange.auditForUser(user);
      expect(rows).toHaveLength(3);
      expect(rows).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ applicationId: exchanger.id, userId: user, tokenKind: 'personal_access_token', outcome: 'granted', scope: 'openid profile', resource: null }),
          expect.objectContaining({ applicationId: exchanger.id, userId: user, tokenKind: 'impersonation', outcome: 'granted', scope: 'openid' }),
          expect.objectContaining({ applicationId: exchanger.id, userId: user, tokenKind: 'impersonation', outcome: 'consumed', scope: null }),
        ]),
      );
      for (const row of rows) expect(row.at).toBeGreaterThanOrEqual(before);
      const stored = await t.app.services.store.personalAccessTokens.listByUser(user);
      expect(rows.find((r) => r.tokenKind === 'personal_access_token')!.tokenId).toBe(stored[0]!.id);
      const text = JSON.stringify(rows);
      expect(text).not.toContain(pat.value);
      expect(text).not.toContain(sub);
    });

    it('keeps token values out of the logs', async () => {
      // Even a value misplaced in a query string is redacted from the request log.
      const misplaced = await subjectToken(userId);
      await fetch(`${issuer}/token?subject_token=${misplaced}`);
      expect(logs.text).toContain('subject_token=[redacted]');
      expect(logs.lines.length).toBeGreaterThan(0);
      const text = logs.text;
      for (const secret of secrets) expect(text).not.toContain(secret);
      expect(text).not.toMatch(/pat_[A-Za-z0-9_-]{32}|sub_[A-Za-z0-9_-]{32}/);
    });
  });
});
