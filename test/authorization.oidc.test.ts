import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthorizationService } from '../src/domain/authorization/index.js';
import { Browser } from './browser.js';
import { type DatabaseFactory, dialects, type RunningApp, startAppWithPublicUrl } from './helpers.js';
import { formField } from './oidc-helpers.js';

/**
 * Issue 18, "Done when" (tokens): through openid-client and real HTTP, on SQLite and PostgreSQL —
 * a user whose role R holds `read:x` of resource X asks for `read:x write:x` and gets a JWT (verified with
 * the JWKS, jose) whose scope is `read:x` only; the `roles` claim names R; removing the role makes the next
 * token (refresh) carry no scope; an M2M app with an M2M role gets its permission by client_credentials,
 * and not after the role is taken; an app cannot be given a User role; a resource's deletion ends its grants.
 */

const ADMIN_ID = 'authz-oidc-admin';
const ADMIN_SECRET = 'authz-oidc-admin-secret-0123456789';
const PW = 'violet-harbor-7-lantern';
const REDIRECT = 'https://app.example.com/callback';
const X = 'https://api.x.example.com';

describe.each(dialects)('authorization in tokens on %s', (_name, database: DatabaseFactory) => {
  let t: RunningApp;
  let db: Awaited<ReturnType<DatabaseFactory>>;
  let authz: AuthorizationService;
  let web: { id: string; secret: string };
  let issuer: string;

  beforeAll(async () => {
    db = await database();
    t = await startAppWithPublicUrl({ databaseUrl: db.url, adminClientId: ADMIN_ID, adminClientSecret: ADMIN_SECRET });
    authz = t.app.services.authorization;
    issuer = `${t.base}/oidc`;
    const app = await t.app.services.applications.create({ name: 'Web', type: 'traditional', redirectUris: [REDIRECT] });
    web = { id: app.application.id, secret: app.secret! };
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  const jwks = () => createRemoteJWKSet(new URL(`${issuer}/jwks`));
  const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
  async function clientCredentials(id: string, secret: string, params: Record<string, string>) {
    const res = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(id, secret) },
      body: new URLSearchParams({ grant_type: 'client_credentials', ...params }).toString(),
    });
    return { status: res.status, body: (await res.json()) as Record<string, string> };
  }

  /** Code flow + PKCE through the hosted page for `resource`; the code is redeemed for that resource. */
  async function signInFor(username: string, scope: string, resource: string) {
    const config = await client.discovery(new URL(issuer), web.id, web.secret, client.ClientSecretBasic(web.secret), { execute: [client.allowInsecureRequests] });
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope,
      resource,
      prompt: 'consent',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });
    const browser = new Browser();
    const { res, url: pageUrl } = await browser.follow(url.href, t.base);
    const html = await res.text();
    const action = new URL(/action="([^"]+\/login)"/.exec(html)![1]!, pageUrl).href;
    const posted = await browser.request(action, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: t.base },
      body: new URLSearchParams({ csrf: formField(html, 'csrf') ?? '', identifier: username, password: PW }).toString(),
    });
    expect(posted.status).toBe(303);
    const { url: callback } = await browser.follow(new URL(posted.headers.get('location')!, pageUrl).href, t.base);
    expect(callback.startsWith(REDIRECT)).toBe(true);
    const tokens = await client.authorizationCodeGrant(config, new URL(callback), { pkceCodeVerifier: verifier, expectedState: state }, { resource });
    return { config, tokens };
  }

  it('a user gets the requested permissions their roles hold, and not after the role is removed', async () => {
    const resource = await authz.createResource({ name: 'X', indicator: X });
    const read = await authz.createScope(resource.id, { name: 'read:x' });
    await authz.createScope(resource.id, { name: 'write:x' });
    const role = await authz.createRole({ name: `Reader ${Date.now()}`, description: 'reads x', scopeIds: [read.id] });
    const username = `authz${Date.now().toString(36)}`;
    const user = await t.app.services.users.create({ username, password: PW });
    await authz.grantUserRoles(user.id, [role.id]);

    const { config, tokens } = await signInFor(username, 'openid offline_access roles read:x write:x', X);
    expect(tokens.scope).toBe('read:x');
    const { payload } = await jwtVerify(tokens.access_token, jwks(), { issuer, audience: X, typ: 'at+jwt' });
    expect(payload).toMatchObject({ sub: user.id, scope: 'read:x', client_id: web.id });
    // The ID token and userinfo name the user's roles (Logto's `roles` scope and claim).
    expect(tokens.claims()).toMatchObject({ sub: user.id, roles: [role.name] });

    // The role goes: the next token (refresh) has no scope, and the ID token no role.
    await authz.revokeUserRole(user.id, role.id);
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!, { resource: X });
    const after = await jwtVerify(refreshed.access_token, jwks(), { issuer, audience: X });
    expect(after.payload.scope).toBeUndefined();
    expect(refreshed.claims()).toMatchObject({ roles: [] });

    // Given again: the next refresh has it again (read at each issuance, no cache).
    await authz.grantUserRoles(user.id, [role.id]);
    const again = await client.refreshTokenGrant(config, refreshed.refresh_token!, { resource: X });
    expect((await jwtVerify(again.access_token, jwks(), { issuer, audience: X })).payload.scope).toBe('read:x');
  });

  it('an M2M app gets its M2M role’s permissions through client_credentials; a User role cannot be given to it', async () => {
    const indicator = `https://api.m2m-${Date.now()}.example.com`;
    const resource = await authz.createResource({ name: 'Reports', indicator, accessTokenTtl: 600 });
    const export_ = await authz.createScope(resource.id, { name: 'export:reports' });
    const role = await authz.createRole({ name: `Exporter ${Date.now()}`, description: 'exports', type: 'MachineToMachine', scopeIds: [export_.id] });
    const userRole = await authz.createRole({ name: `User role ${Date.now()}`, description: 'for people' });
    const job = await t.app.services.applications.create({ name: 'Nightly export', type: 'm2m' });
    const id = job.application.id;

    // No role, no scope (Logto: ungranted scopes are dropped; the token is issued).
    const none = await clientCredentials(id, job.secret!, { resource: indicator, scope: 'export:reports' });
    expect(none.status).toBe(200);
    expect(none.body.scope).toBeUndefined();

    await expect(authz.grantApplicationRoles(id, [userRole.id])).rejects.toMatchObject({ code: 'role.type_mismatch', status: 422 });
    await authz.grantApplicationRoles(id, [role.id]);
    const granted = await clientCredentials(id, job.secret!, { resource: indicator, scope: 'export:reports delete:everything' });
    expect(granted).toMatchObject({ status: 200, body: { scope: 'export:reports', expires_in: 600 } });
    const { payload } = await jwtVerify(granted.body.access_token!, jwks(), { issuer, audience: indicator });
    expect(payload).toMatchObject({ sub: id, scope: 'export:reports' });

    // Unknown resources are refused; the Management API only to a holder of its permission.
    expect((await clientCredentials(id, job.secret!, { resource: 'https://unknown.example.com', scope: 'x' })).body.error).toBe('invalid_target');
    expect((await clientCredentials(id, job.secret!, { resource: `${t.base}/api`, scope: 'all' })).body.error).toBe('invalid_target');

    // Deleting the resource ends its grants (one transaction, cascades): the role keeps no permission.
    await authz.deleteResource(resource.id);
    expect((await authz.listRoleScopes(role.id, { offset: 0, limit: 20 })).total).toBe(0);
    expect((await clientCredentials(id, job.secret!, { resource: indicator, scope: 'export:reports' })).body.error).toBe('invalid_target');
  });

  it('the built-in role gives the Management API: a Logto back end’s request is unchanged, and the role taken ends access at once', async () => {
    const job = await t.app.services.applications.create({ name: 'Back end', type: 'm2m' });
    const id = job.application.id;
    expect((await clientCredentials(id, job.secret!, { resource: 'https://default.logto.app/api', scope: 'all' })).body.error).toBe('invalid_target');
    await authz.grantApplicationRoles(id, ['management-api-access']);
    expect((await t.app.services.applications.require(id)).isManagement).toBe(true);
    const token = await clientCredentials(id, job.secret!, { resource: 'https://default.logto.app/api', scope: 'all' });
    expect(token.body.scope).toBe('all');
    const list = await t.call('GET', '/api/users', { token: token.body.access_token! });
    expect(list.status).toBe(200);
    await authz.revokeApplicationRole(id, 'management-api-access');
    expect((await t.call('GET', '/api/users', { token: token.body.access_token! })).status).toBe(401);
    // The built-in role and the Management API resource are not to be removed.
    await expect(authz.deleteRole('management-api-access')).rejects.toMatchObject({ code: 'role.management_role_read_only' });
    await expect(authz.deleteResource('management-api')).rejects.toMatchObject({ code: 'resource.management_api_read_only' });
  });

  it('default roles go to every new user; grants and revocations are in the audit log', async () => {
    const role = await authz.createRole({ name: `Member ${Date.now()}`, description: 'everyone', isDefault: true });
    const user = await t.app.services.users.create({ username: `dflt${Date.now().toString(36)}`, password: PW });
    expect((await authz.userRoles(user.id)).map((r) => r.id)).toContain(role.id);
    await authz.revokeUserRole(user.id, role.id);
    await authz.updateRole(role.id, { isDefault: false });
    const logs = await t.app.services.store.logs.list({ userId: user.id, offset: 0, limit: 20 } as never);
    expect(logs.logs.map((l) => l.key)).toContain('Authorization.Revoke');
  });

  it('20 concurrent grants of one role to one user make one assignment and no error', async () => {
    const role = await authz.createRole({ name: `Concurrent ${Date.now()}`, description: 'race' });
    const user = await t.app.services.users.create({ username: `race${Date.now().toString(36)}`, password: PW });
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => authz.grantUserRoles(user.id, [role.id])));
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect((await authz.userRoles(user.id)).filter((r) => r.id === role.id)).toHaveLength(1);
  });
});
