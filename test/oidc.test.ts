import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IssuedApplication } from '../src/domain/applications/index.js';
import { freshPgDatabase, LogCapture, PG_URL, type RunningApp, startAppWithPublicUrl } from './helpers.js';
import { Browser } from './browser.js';

const PW = 'violet-harbor-7-lantern';
const RP = 'https://rp.example.com';
const REDIRECT = `${RP}/callback`;
const POST_LOGOUT = `${RP}/signed-out`;
const ADMIN_ID = 'tessera-admin';
const ADMIN_SECRET = 'bootstrap-secret-0123456789';

type DatabaseFactory = () => Promise<{ url: string; drop(): Promise<void> }>;
const dialects: Array<[string, DatabaseFactory]> = [['SQLite', async () => ({ url: 'sqlite::memory:', drop: async () => {} })]];
const pgUrl = PG_URL;
if (pgUrl) dialects.push(['PostgreSQL', () => freshPgDatabase(pgUrl)]);

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;


const field = (html: string, name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1];

describe.each(dialects)('OIDC provider on %s', (_name, database) => {
  let t: RunningApp;
  let db: Awaited<ReturnType<DatabaseFactory>>;
  let issuer: string;
  let resource: string;
  let m2m: IssuedApplication;
  let plainM2m: IssuedApplication;
  let web: IssuedApplication;
  let spa: IssuedApplication;
  let userId: string;
  let username: string;

  beforeAll(async () => {
    db = await database();
    t = await startAppWithPublicUrl({ databaseUrl: db.url, adminClientId: ADMIN_ID, adminClientSecret: ADMIN_SECRET });
    issuer = `${t.base}/oidc`;
    resource = `${t.base}/api`;
    const apps = t.app.services.applications;
    m2m = await apps.create({ name: 'Backend job', type: 'm2m', isManagement: true });
    plainM2m = await apps.create({ name: 'Other job', type: 'm2m' });
    web = await apps.create({ name: 'Web <App> & "Co"', type: 'traditional', redirectUris: [REDIRECT], postLogoutRedirectUris: [POST_LOGOUT] });
    spa = await apps.create({ name: 'SPA', type: 'spa', redirectUris: [REDIRECT], corsOrigins: [RP] });
    username = `oidc${Date.now().toString(36)}`;
    const res = await t.call('POST', '/api/auth/sign-up', {
      body: { username, email: `${username}@Example.com`, phone: '+1 415 555 0142', password: PW, name: 'Ada Lovelace', profile: { givenName: 'Ada' } },
    });
    expect(res.status).toBe(201);
    userId = (await res.json()).user.id;
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  const discover = (id: string, secret?: string) =>
    client.discovery(
      new URL(issuer),
      id,
      secret ? { client_secret: secret } : { token_endpoint_auth_method: 'none' },
      secret ? client.ClientSecretBasic(secret) : client.None(),
      { execute: [client.allowInsecureRequests] },
    );

  async function tokenRequest(auth: string, params: Record<string, string>) {
    const res = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: auth },
      body: new URLSearchParams(params).toString(),
    });
    return { status: res.status, body: await res.json(), headers: res.headers };
  }

  /** Runs the authorization request in a fresh browser up to the sign-in page. */
  async function startAuthorization(params: Record<string, string> = {}) {
    const config = await discover(web.application.id, web.secret!);
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: 'openid profile email phone offline_access',
      prompt: 'consent',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
      ...params,
    });
    const browser = new Browser();
    const { res, url: pageUrl } = await browser.follow(url.href, t.base);
    return { config, verifier, state, nonce, browser, res, pageUrl };
  }

  async function signIn(browser: Browser, pageUrl: string, html: string, identifier: string, password: string, headers: Record<string, string> = {}) {
    const action = new URL(/action="([^"]+\/login)"/.exec(html)![1]!, pageUrl).href;
    return browser.request(action, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: t.base, ...headers },
      body: new URLSearchParams({ csrf: field(html, 'csrf') ?? '', identifier, password }).toString(),
    });
  }

  /** Full code flow through the HTML sign-in page: returns the token response and the client config. */
  async function codeFlow(identifier = username) {
    const flow = await startAuthorization();
    const html = await flow.res.text();
    const posted = await signIn(flow.browser, flow.pageUrl, html, identifier, PW);
    expect(posted.status).toBe(303);
    const { url: callback } = await flow.browser.follow(new URL(posted.headers.get('location')!, flow.pageUrl).href, t.base);
    expect(callback.startsWith(REDIRECT)).toBe(true);
    const tokens = await client.authorizationCodeGrant(flow.config, new URL(callback), {
      pkceCodeVerifier: flow.verifier,
      expectedState: flow.state,
      expectedNonce: flow.nonce,
      idTokenExpected: true,
    });
    return { ...flow, tokens };
  }

  it('serves discovery and a public-only JWKS with ES256 and RS256 keys', async () => {
    const config = await discover(m2m.application.id, m2m.secret!);
    const meta = config.serverMetadata();
    expect(meta.issuer).toBe(issuer);
    expect(meta.token_endpoint).toBe(`${issuer}/token`);
    expect(meta.code_challenge_methods_supported).toEqual(['S256']);
    expect(meta.grant_types_supported).toEqual(expect.arrayContaining(['authorization_code', 'refresh_token', 'client_credentials']));
    expect(meta.token_endpoint_auth_methods_supported).not.toContain('client_secret_jwt');
    expect(meta.response_types_supported).toEqual(['code']);
    expect(meta.introspection_endpoint).toBe(`${issuer}/token/introspection`);
    expect(meta.revocation_endpoint).toBe(`${issuer}/token/revocation`);
    expect(meta.end_session_endpoint).toBe(`${issuer}/session/end`);
    const jwks = (await (await fetch(meta.jwks_uri!)).json()) as { keys: Array<Record<string, unknown>> };
    expect(jwks.keys.map((k) => k.alg).sort()).toEqual(['ES256', 'RS256']);
    for (const key of jwks.keys) for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(key).not.toHaveProperty(secret);
  });

  describe('client_credentials (Management API resource)', () => {
    it('issues a 3600 s JWT for the resource with scope all, verified against the served JWKS', async () => {
      const config = await discover(m2m.application.id, m2m.secret!);
      const tokens = await client.clientCredentialsGrant(config, { resource, scope: 'all' });
      expect(tokens.token_type).toBe('bearer');
      const jwks = createRemoteJWKSet(new URL(`${issuer}/jwks`));
      const { payload, protectedHeader } = await jwtVerify(tokens.access_token, jwks, { issuer, audience: resource, typ: 'at+jwt' });
      expect(protectedHeader.alg).toBe('ES256');
      expect(payload).toMatchObject({ sub: m2m.application.id, client_id: m2m.application.id, scope: 'all' });
      expect(payload.exp! - payload.iat!).toBe(3600);
    });

    it('answers exactly as seed 001 shows, with HTTP Basic and a form body', async () => {
      const { status, body, headers } = await tokenRequest(basic(m2m.application.id, m2m.secret!), {
        grant_type: 'client_credentials',
        resource,
        scope: 'all',
      });
      expect(status).toBe(200);
      expect(headers.get('cache-control')).toBe('no-store');
      expect(Object.keys(body).sort()).toEqual(['access_token', 'expires_in', 'scope', 'token_type']);
      expect(body).toEqual({ access_token: expect.stringMatching(/^ey[\w-]+\.[\w-]+\.[\w-]+$/), expires_in: 3600, token_type: 'Bearer', scope: 'all' });
    });

    it('ensures the configured admin app at start', async () => {
      const { status, body } = await tokenRequest(basic(ADMIN_ID, ADMIN_SECRET), { grant_type: 'client_credentials', resource, scope: 'all' });
      expect(status).toBe(200);
      expect(body.scope).toBe('all');
      const stored = await t.app.services.applications.require(ADMIN_ID);
      expect(stored).toMatchObject({ type: 'm2m', isManagement: true });
      expect(stored.secretHash).not.toContain(ADMIN_SECRET);
    });

    it('refuses the resource to an application without the management role', async () => {
      const { status, body } = await tokenRequest(basic(plainM2m.application.id, plainM2m.secret!), {
        grant_type: 'client_credentials',
        resource,
        scope: 'all',
      });
      expect(status).toBe(400);
      expect(body).toEqual({ error: 'invalid_target', error_description: expect.any(String) });
      const config = await discover(plainM2m.application.id, plainM2m.secret!);
      await expect(client.clientCredentialsGrant(config, { resource, scope: 'all' })).rejects.toMatchObject({ error: 'invalid_target' });
    });

    it('refuses a missing or unknown resource, and other grant types', async () => {
      const auth = basic(m2m.application.id, m2m.secret!);
      expect((await tokenRequest(auth, { grant_type: 'client_credentials', scope: 'all' })).body.error).toBe('invalid_target');
      expect((await tokenRequest(auth, { grant_type: 'client_credentials', resource: 'https://other.example/api', scope: 'all' })).body.error).toBe(
        'invalid_target',
      );
      const web2 = await tokenRequest(basic(web.application.id, web.secret!), { grant_type: 'client_credentials', resource, scope: 'all' });
      expect(web2.body).toEqual({ error: 'invalid_request', error_description: 'requested grant type is not allowed for this client' });
    });

    it('rejects a wrong secret or an unknown client with invalid_client (401)', async () => {
      const wrong = await tokenRequest(basic(m2m.application.id, `${m2m.secret!}x`), { grant_type: 'client_credentials', resource, scope: 'all' });
      expect(wrong.status).toBe(401);
      expect(wrong.body).toEqual({ error: 'invalid_client', error_description: 'client authentication failed' });
      expect(wrong.headers.get('www-authenticate')).toMatch(/^Basic /);
      const unknown = await tokenRequest(basic('000000000000000000000000', 'whatever-secret'), { grant_type: 'client_credentials', resource });
      expect(unknown.status).toBe(401);
      expect(unknown.body.error).toBe('invalid_client');
      // The stored hash is not a usable secret either.
      const stored = await t.app.services.applications.require(m2m.application.id);
      const hash = await tokenRequest(basic(m2m.application.id, stored.secretHash!), { grant_type: 'client_credentials', resource });
      expect(hash.body.error).toBe('invalid_client');
      const config = await discover(m2m.application.id, 'not-the-secret');
      await expect(client.clientCredentialsGrant(config, { resource, scope: 'all' })).rejects.toMatchObject({
        status: 401,
        cause: [{ scheme: 'basic', parameters: { error: 'invalid_client' } }],
      });
    });

    it('sees application changes without a restart (secret rotation, role removal)', async () => {
      const apps = t.app.services.applications;
      const app = await apps.create({ name: 'Rotating job', type: 'm2m', isManagement: true });
      const params = { grant_type: 'client_credentials', resource, scope: 'all' };
      expect((await tokenRequest(basic(app.application.id, app.secret!), params)).status).toBe(200);
      const rotated = await apps.rotateSecret(app.application.id);
      expect(rotated.secret).not.toBe(app.secret);
      expect((await tokenRequest(basic(app.application.id, app.secret!), params)).body.error).toBe('invalid_client');
      expect((await tokenRequest(basic(app.application.id, rotated.secret!), params)).status).toBe(200);
      await apps.update(app.application.id, { isManagement: false });
      expect((await tokenRequest(basic(app.application.id, rotated.secret!), params)).body.error).toBe('invalid_target');
      await apps.delete(app.application.id);
      expect((await tokenRequest(basic(app.application.id, rotated.secret!), params)).body.error).toBe('invalid_client');
    });
  });

  describe('authorization code + PKCE through the sign-in page', () => {
    it('signs in on the HTML page and issues ID, access and refresh tokens', async () => {
      const { tokens, config } = await codeFlow();
      expect(tokens.refresh_token).toBeTruthy();
      expect(tokens.access_token.split('.')).toHaveLength(1); // opaque (not a JWT): no resource was requested
      expect(tokens.expires_in).toBe(3600);
      const claims = tokens.claims()!;
      expect(claims).toMatchObject({
        iss: issuer,
        aud: web.application.id,
        sub: userId,
        email: `${username}@Example.com`,
        email_verified: false,
        phone_number: '+14155550142',
        name: 'Ada Lovelace',
        given_name: 'Ada',
        preferred_username: username,
      });
      expect(decodeProtectedHeader(tokens.id_token!).alg).toBe('RS256');
      const info = await client.fetchUserInfo(config, tokens.access_token, userId);
      expect(info).toMatchObject({ sub: userId, email: `${username}@Example.com`, name: 'Ada Lovelace' });
    });

    it('escapes the application name and rejects wrong credentials on the page', async () => {
      const flow = await startAuthorization();
      expect(flow.res.status).toBe(200);
      expect(flow.res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(flow.res.headers.get('content-security-policy')).toContain(`form-action 'self' ${RP}`);
      const html = await flow.res.text();
      // Preact escapes `<` and `&` in text and `"`, `<` and `&` in attribute values (enough for both contexts).
      expect(html).toContain('Web &lt;App> &amp; &quot;Co&quot;');
      expect(html).not.toContain('<App>');
      const bad = await signIn(flow.browser, flow.pageUrl, html, '"><script>alert(1)</script>', 'wrong password');
      expect(bad.status).toBe(401);
      const badHtml = await bad.text();
      expect(badHtml).toContain('The identifier or password is incorrect.');
      expect(badHtml).toContain('value="&quot;>&lt;script>alert(1)&lt;/script>"');
      expect(badHtml).not.toContain('<script>alert(1)');
    });

    it('refuses posts without the CSRF token or from another origin', async () => {
      const flow = await startAuthorization();
      const html = await flow.res.text();
      const action = new URL(/action="([^"]+\/login)"/.exec(html)![1]!, flow.pageUrl).href;
      const noToken = await flow.browser.request(action, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ identifier: username, password: PW }).toString(),
      });
      expect(noToken.status).toBe(403);
      const foreign = await signIn(flow.browser, flow.pageUrl, html, username, PW, { origin: 'https://evil.example' });
      expect(foreign.status).toBe(403);
      // Without the interaction cookie (another browser) the page is gone.
      const stranger = await new Browser().request(flow.pageUrl);
      expect(stranger.status).toBe(400);
    });

    it('requires PKCE with S256', async () => {
      const config = await discover(web.application.id, web.secret!);
      const noPkce = client.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid', state: 'x' });
      const res = await fetch(noPkce, { redirect: 'manual' });
      const location = new URL(res.headers.get('location')!);
      expect(location.origin + location.pathname).toBe(REDIRECT);
      expect(location.searchParams.get('error')).toBe('invalid_request');
      expect(location.searchParams.get('error_description')).toMatch(/PKCE/);
      const plain = client.buildAuthorizationUrl(config, {
        redirect_uri: REDIRECT,
        scope: 'openid',
        code_challenge: 'a'.repeat(43),
        code_challenge_method: 'plain',
      });
      const res2 = await fetch(plain, { redirect: 'manual' });
      expect(new URL(res2.headers.get('location')!).searchParams.get('error')).toBe('invalid_request');
    });

    it('rotates refresh tokens: the old one dies, and reusing it revokes the grant', async () => {
      const { tokens, config } = await codeFlow();
      const first = tokens.refresh_token!;
      const second = await client.refreshTokenGrant(config, first);
      expect(second.refresh_token).toBeTruthy();
      expect(second.refresh_token).not.toBe(first);
      expect(second.claims()?.sub).toBe(userId);
      await expect(client.refreshTokenGrant(config, first)).rejects.toMatchObject({ error: 'invalid_grant' });
      // Reuse detection: the whole grant is gone, the rotated token too.
      await expect(client.refreshTokenGrant(config, second.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    });

    it('introspects and revokes tokens (RFC 7662, RFC 7009)', async () => {
      const { tokens, config } = await codeFlow();
      const active = await client.tokenIntrospection(config, tokens.access_token);
      expect(active).toMatchObject({ active: true, sub: userId, client_id: web.application.id, token_type: 'Bearer' });
      expect(active.scope).toContain('openid');
      const rt = await client.tokenIntrospection(config, tokens.refresh_token!);
      expect(rt).toMatchObject({ active: true, sub: userId, client_id: web.application.id });
      expect(rt.scope).toContain('offline_access');
      await client.tokenRevocation(config, tokens.access_token);
      expect(await client.tokenIntrospection(config, tokens.access_token)).toEqual({ active: false });
      await client.tokenRevocation(config, tokens.refresh_token!);
      await expect(client.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
      // Another client learns nothing about this client's tokens, and cannot revoke them.
      const other = await discover(m2m.application.id, m2m.secret!);
      const fresh = await codeFlow();
      expect(await client.tokenIntrospection(other, fresh.tokens.access_token)).toEqual({ active: false });
      await expect(client.tokenRevocation(other, fresh.tokens.access_token)).rejects.toMatchObject({ error: 'invalid_request' });
      expect(await client.tokenIntrospection(fresh.config, fresh.tokens.access_token)).toMatchObject({ active: true });
    });

    it('ends the session at the end_session endpoint (RP-initiated logout)', async () => {
      const flow = await codeFlow();
      const url = client.buildEndSessionUrl(flow.config, {
        id_token_hint: flow.tokens.id_token!,
        post_logout_redirect_uri: POST_LOGOUT,
        state: 'bye',
      });
      const page = await flow.browser.request(url.href);
      expect(page.status).toBe(200);
      const html = await page.text();
      const action = /<form[^>]*action="([^"]+)"/.exec(html)![1]!;
      const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)![1]!;
      const confirm = await flow.browser.request(new URL(action, url).href, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ xsrf, logout: 'yes' }).toString(),
      });
      expect(confirm.status).toBe(303);
      const done = new URL(confirm.headers.get('location')!);
      expect(done.origin + done.pathname).toBe(POST_LOGOUT);
      expect(done.searchParams.get('state')).toBe('bye');
      // Signed out: the next authorization request asks for credentials again.
      const again = client.buildAuthorizationUrl(flow.config, {
        redirect_uri: REDIRECT,
        scope: 'openid',
        code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
        code_challenge_method: 'S256',
      });
      const { res } = await flow.browser.follow(again.href, t.base);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('name="password"');
      // Offline access (OpenID Connect Core §11) outlives the browser session: the refresh token still works.
      expect((await client.refreshTokenGrant(flow.config, flow.tokens.refresh_token!)).access_token).toBeTruthy();
    });

    it('lets a public SPA client use the code flow with PKCE and no secret', async () => {
      const config = await discover(spa.application.id);
      const verifier = client.randomPKCECodeVerifier();
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: REDIRECT,
        scope: 'openid email',
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state: 's1',
      });
      const browser = new Browser();
      const { res, url: pageUrl } = await browser.follow(url.href, t.base);
      const posted = await signIn(browser, pageUrl, await res.text(), `${username}@example.COM`, PW);
      expect(posted.status).toBe(303);
      const { url: callback } = await browser.follow(new URL(posted.headers.get('location')!, pageUrl).href, t.base);
      const tokens = await client.authorizationCodeGrant(config, new URL(callback), { pkceCodeVerifier: verifier, expectedState: 's1' });
      expect(tokens.claims()).toMatchObject({ sub: userId, email: `${username}@Example.com` });
      // CORS for the SPA's origin on the token endpoint, nothing for strangers.
      const preflight = await fetch(`${issuer}/token`, {
        method: 'OPTIONS',
        headers: { origin: RP, 'access-control-request-method': 'POST' },
      });
      expect(preflight.headers.get('access-control-allow-origin')).toBe(RP);
      const refused = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: { origin: 'https://evil.example', 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'x', client_id: spa.application.id }).toString(),
      });
      expect(refused.headers.get('access-control-allow-origin')).toBeNull();
    });

    it('applies the lockout of password sign-in to the page', async () => {
      const name = `lock${Date.now().toString(36)}`;
      const res = await t.call('POST', '/api/auth/sign-up', { body: { username: name, password: PW } });
      expect(res.status).toBe(201);
      const flow = await startAuthorization();
      let html = await flow.res.text();
      let last: Response | undefined;
      for (let i = 0; i < 6; i++) {
        last = await signIn(flow.browser, flow.pageUrl, html, name, 'not the password');
        html = await last.text();
      }
      expect(last!.status).toBe(401);
      const locked = await signIn(flow.browser, flow.pageUrl, html, name, PW);
      expect(locked.status).toBe(429);
      expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(await locked.text()).toContain('locked');
    });

    it('refuses tokens to a suspended user', async () => {
      const name = `susp${Date.now().toString(36)}`;
      const created = await t.call('POST', '/api/auth/sign-up', { body: { username: name, password: PW } });
      const suspendedId = (await created.json()).user.id as string;
      const { tokens, config } = await codeFlow(name);
      await t.app.services.users.update(suspendedId, { isSuspended: true });
      await expect(client.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
      await expect(client.fetchUserInfo(config, tokens.access_token, suspendedId)).rejects.toBeDefined();
    });
  });

  it('keeps RFC 6749 error bodies on /oidc', async () => {
    const bad = await tokenRequest(basic(m2m.application.id, m2m.secret!), { grant_type: 'password', username: 'x', password: 'y' });
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({ error: 'unsupported_grant_type', error_description: 'unsupported grant_type requested' });
    const unknown = await fetch(`${issuer}/no-such-endpoint`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: 'invalid_request', error_description: expect.any(String) });
  });

  it('rotates signing keys: new tokens use the new key, old tokens still verify', async () => {
    const params = { grant_type: 'client_credentials', resource, scope: 'all' };
    const before = (await tokenRequest(basic(m2m.application.id, m2m.secret!), params)).body.access_token as string;
    const oldKid = decodeProtectedHeader(before).kid;
    const rotation = await t.app.oidc.rotateKeys();
    expect(rotation.retired).toContain(oldKid);
    const jwks = (await (await fetch(`${issuer}/jwks`)).json()) as { keys: Array<{ kid: string }> };
    const kids = jwks.keys.map((k) => k.kid);
    expect(kids).toEqual(expect.arrayContaining([oldKid, ...rotation.created]));
    expect(kids).toHaveLength(4);
    const after = (await tokenRequest(basic(m2m.application.id, m2m.secret!), params)).body.access_token as string;
    const newKid = decodeProtectedHeader(after).kid;
    expect(rotation.created).toContain(newKid);
    expect(newKid).not.toBe(oldKid);
    const keySet = createRemoteJWKSet(new URL(`${issuer}/jwks`));
    await expect(jwtVerify(before, keySet, { issuer, audience: resource })).resolves.toBeDefined();
    await expect(jwtVerify(after, keySet, { issuer, audience: resource })).resolves.toBeDefined();
    // The in-process resolver (for resource servers inside Tessera) follows the rotation too.
    await expect(jwtVerify(before, t.app.oidc.verificationKey, { issuer, audience: resource })).resolves.toBeDefined();
    await expect(jwtVerify(after, t.app.oidc.verificationKey, { issuer, audience: resource })).resolves.toBeDefined();
  });

  describe('applications', () => {
    it('validates settings and keeps secrets only as hashes', async () => {
      const apps = t.app.services.applications;
      const invalid = { code: 'application.invalid_metadata' };
      await expect(apps.create({ name: 'x', type: 'spa', isManagement: true })).rejects.toMatchObject(invalid);
      await expect(apps.create({ name: 'x', type: 'm2m', redirectUris: [REDIRECT] })).rejects.toMatchObject(invalid);
      await expect(apps.create({ name: 'x', type: 'traditional', redirectUris: ['https://rp.example.com/cb#frag'] })).rejects.toMatchObject(invalid);
      await expect(apps.create({ name: 'x', type: 'spa', redirectUris: ['com.example.app:/cb'] })).rejects.toMatchObject(invalid);
      await expect(apps.create({ name: 'x', type: 'spa', corsOrigins: ['https://rp.example.com/path'] })).rejects.toMatchObject(invalid);
      await expect(apps.create({ name: '   ', type: 'spa' })).rejects.toMatchObject(invalid);
      const native = await apps.create({ name: 'Phone', type: 'native', redirectUris: ['com.example.app:/cb', 'http://127.0.0.1/cb'] });
      expect(native.secret).toBeNull();
      expect(native.application.secretHash).toBeNull();
      expect(native.application.id).toMatch(/^[0-9a-f]{24}$/);
      await expect(apps.rotateSecret(native.application.id)).rejects.toMatchObject(invalid);
      expect(m2m.secret).toMatch(/^[A-Za-z0-9_-]{43}$/); // 256 bits
      const stored = await apps.require(m2m.application.id);
      expect(stored.secretHash).toMatch(/^[0-9a-f]{64}$/);
      expect(JSON.stringify(stored)).not.toContain(m2m.secret!);
      await expect(apps.create({ id: m2m.application.id, name: 'dup', type: 'm2m' })).rejects.toMatchObject({ code: 'application.id_taken' });
      await expect(apps.require('missing')).rejects.toMatchObject({ code: 'application.not_found' });
      const page = await apps.list({ offset: 0, limit: 2 });
      expect(page.items).toHaveLength(2);
      expect(page.total).toBeGreaterThanOrEqual(5);
    });

    it('converges the bootstrap admin app to the configured secret and role', async () => {
      const apps = t.app.services.applications;
      await apps.create({ id: 'legacy-admin', name: 'Legacy', type: 'm2m' });
      const ensured = await apps.ensureBootstrap('legacy-admin', 'configured-secret-value');
      expect(ensured.isManagement).toBe(true);
      const params = { grant_type: 'client_credentials', resource, scope: 'all' };
      expect((await tokenRequest(basic('legacy-admin', 'configured-secret-value'), params)).status).toBe(200);
      expect((await apps.ensureBootstrap('legacy-admin', 'configured-secret-value')).updatedAt).toBe(ensured.updatedAt);
      await expect(apps.ensureBootstrap(spa.application.id, 'configured-secret-value')).rejects.toMatchObject({ code: 'application.invalid_metadata' });
    });
  });

  describe('oidc_payloads storage', () => {
    it('hides expired rows, records consumption, and revokes by grant, account and client', async () => {
      const store = t.app.services.store.oidcPayloads;
      const now = Date.now();
      const ix = (over: Record<string, string | null> = {}) => ({ grantId: 'g1', userCode: null, uid: null, accountId: 'acct-1', clientId: 'client-1', ...over });
      await store.upsert('RefreshToken', 'rt-1', { jti: 'rt-1', grantId: 'g1' }, now + 60_000, ix());
      await store.upsert('AccessToken', 'at-1', { jti: 'at-1', grantId: 'g1' }, now + 60_000, ix());
      await store.upsert('AccessToken', 'at-old', { jti: 'at-old' }, now - 1, ix({ grantId: 'g2', clientId: 'client-2' }));
      await store.upsert('Session', 'sess-1', { uid: 'uid-1', accountId: 'acct-2' }, null, ix({ grantId: null, uid: 'uid-1', accountId: 'acct-2', clientId: null }));
      expect(await store.find('AccessToken', 'at-old', now)).toBeUndefined();
      expect((await store.findByUid('uid-1', now))?.payload).toEqual({ uid: 'uid-1', accountId: 'acct-2' });
      await store.consume('RefreshToken', 'rt-1', now);
      expect(await store.find('RefreshToken', 'rt-1', now)).toMatchObject({ consumedAt: now });
      // Upserting again (same model and id) replaces the row.
      await store.upsert('RefreshToken', 'rt-1', { jti: 'rt-1', v: 2 }, now + 60_000, ix());
      expect(await store.find('RefreshToken', 'rt-1', now)).toMatchObject({ payload: { jti: 'rt-1', v: 2 }, consumedAt: null });
      await store.revokeByGrantId('AccessToken', 'g1');
      expect(await store.find('AccessToken', 'at-1', now)).toBeUndefined();
      expect(await store.find('RefreshToken', 'rt-1', now)).toBeDefined();
      expect(await store.deleteByClient('client-1')).toBeGreaterThanOrEqual(1);
      expect(await store.find('RefreshToken', 'rt-1', now)).toBeUndefined();
      expect(await store.deleteByAccount('acct-2')).toBe(1);
      expect(await store.findByUid('uid-1', now)).toBeUndefined();
      expect(await store.deleteExpired(now)).toBeGreaterThanOrEqual(1);
    });
  });
});

const run = promisify(execFile);
const cli = join(import.meta.dirname, '..', 'bin', 'tessera.js');

describe('tessera apps / keys commands and logs', () => {
  it('creates an M2M app and rotates keys from the command line; the server uses both', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-oidc-'));
    const env = { ...process.env, TESSERA_DATABASE_URL: `sqlite:${join(dir, 'tessera.db')}`, TESSERA_LOG_LEVEL: 'silent' };
    const created = JSON.parse((await run('node', [cli, 'apps', 'create', '--type', 'm2m', '--name', 'CLI job', '--management'], { env })).stdout);
    expect(Object.keys(created).sort()).toEqual(['id', 'secret']);
    expect(created.id).toMatch(/^[0-9a-f]{24}$/);
    const spaOut = JSON.parse((await run('node', [cli, 'apps', 'create', '--type', 'spa', '--name', 'CLI spa', '--redirect-uri', REDIRECT], { env })).stdout);
    expect(spaOut.secret).toBeNull();
    const refused = await run('node', [cli, 'apps', 'create', '--type', 'spa', '--name', 'x', '--management'], { env }).catch((e: { code: number; stderr: string }) => e);
    expect(refused).toMatchObject({ code: 1, stderr: expect.stringContaining('machine-to-machine') });
    const rotation = JSON.parse((await run('node', [cli, 'keys', 'rotate'], { env })).stdout);
    expect(rotation.created).toHaveLength(2);
    expect(rotation.retired).toHaveLength(2);

    const t = await startAppWithPublicUrl({ databaseUrl: env.TESSERA_DATABASE_URL });
    try {
      const res = await fetch(`${t.base}/oidc/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(created.id, created.secret) },
        body: new URLSearchParams({ grant_type: 'client_credentials', resource: `${t.base}/api`, scope: 'all' }),
      });
      expect(res.status).toBe(200);
      const { access_token: token } = await res.json();
      expect(rotation.created).toContain(decodeProtectedHeader(token).kid);
      const jwks = (await (await fetch(`${t.base}/oidc/jwks`)).json()) as { keys: Array<{ kid: string }> };
      expect(jwks.keys.map((k) => k.kid).sort()).toEqual([...rotation.created, ...rotation.retired].sort());
      // A rotation by another process reaches a running server at its next key check.
      const second = JSON.parse((await run('node', [cli, 'keys', 'rotate'], { env })).stdout);
      await t.app.oidc.reload();
      const again = await fetch(`${t.base}/oidc/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(created.id, created.secret) },
        body: new URLSearchParams({ grant_type: 'client_credentials', resource: `${t.base}/api`, scope: 'all' }),
      });
      expect(second.created).toContain(decodeProtectedHeader((await again.json()).access_token).kid);
    } finally {
      await t.close();
    }
  });

  it('never writes client secrets, passwords or tokens to the logs', async () => {
    const logs = new LogCapture();
    const t = await startAppWithPublicUrl({ logLevel: 'trace' }, { logStream: logs });
    try {
      const job = await t.app.services.applications.create({ name: 'Logged job', type: 'm2m', isManagement: true });
      const form = { grant_type: 'client_credentials', resource: `${t.base}/api`, scope: 'all' };
      const basicRes = await fetch(`${t.base}/oidc/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(job.application.id, job.secret!) },
        body: new URLSearchParams(form),
      });
      const { access_token: token } = await basicRes.json();
      await fetch(`${t.base}/oidc/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ ...form, client_id: job.application.id, client_secret: job.secret! }),
      });
      await fetch(`${t.base}/oidc/token?client_secret=${job.secret!}`, { method: 'POST' });
      const name = `logs${Date.now().toString(36)}`;
      await t.call('POST', '/api/auth/sign-up', { body: { username: name, password: PW } });
      const web = await t.app.services.applications.create({ name: 'Logged web', type: 'traditional', redirectUris: [REDIRECT] });
      const config = await client.discovery(new URL(`${t.base}/oidc`), web.application.id, web.secret!, client.ClientSecretBasic(web.secret!), {
        execute: [client.allowInsecureRequests],
      });
      const verifier = client.randomPKCECodeVerifier();
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: REDIRECT,
        scope: 'openid',
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      });
      const browser = new Browser();
      const { res, url: pageUrl } = await browser.follow(url.href, t.base);
      const html = await res.text();
      const action = new URL(/action="([^"]+\/login)"/.exec(html)![1]!, pageUrl).href;
      const posted = await browser.request(action, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ csrf: field(html, 'csrf')!, identifier: name, password: PW }),
      });
      const { url: callback } = await browser.follow(new URL(posted.headers.get('location')!, pageUrl).href, t.base);
      const code = new URL(callback).searchParams.get('code')!;
      const tokens = await client.authorizationCodeGrant(config, new URL(callback), { pkceCodeVerifier: verifier, idTokenExpected: true });
      expect(logs.text).toContain('/oidc/token');
      for (const secret of [job.secret!, web.secret!, PW, token, code, tokens.access_token, tokens.id_token!]) expect(logs.mentions(secret)).toBe(false);
    } finally {
      await t.close();
    }
  });
});
