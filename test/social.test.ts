import { createHash, randomBytes, randomUUID } from 'node:crypto';
import * as client from 'openid-client';
import { generateSync } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IssuedApplication } from '../src/domain/applications/index.js';
import { LeanCloudImporter } from '../src/cli/leancloud-export.js';
import { ManualClock } from '../src/util/clock.js';
import { Browser } from './browser.js';
import { type DatabaseFactory, dialects, type RunningApp, startAppWithPublicUrl } from './helpers.js';
import { LC_KEYS } from './leancloud-helpers.js';
import { type OAuthServer, type OidcIdp, startOAuthServer, startOidcIdp, startWeChatServer, type WeChatServer } from './social-peers.js';

const PW = 'violet-harbor-7-lantern';
const ADMIN_ID = 'tessera-admin';
const ADMIN_SECRET = 'bootstrap-secret-0123456789';
/** Where first-party apps and the Account API page receive the provider callback (never fetched). */
const APP_REDIRECT = 'https://app.example.test/social/callback';
const RP_REDIRECT = 'https://rp.example.test/callback';
const GOOGLE_CLIENT = 'tessera-at-google';
const GOOGLE_SECRET = 'google-client-secret-VERY-secret-1';
const GH_CLIENT = 'tessera-at-github';
const GH_SECRET = 'github-client-secret-VERY-secret-2';

/** The `github` preset pointed at the GitHub-shaped peer. */
const githubConfig = (gh: OAuthServer) => ({
  clientId: GH_CLIENT,
  clientSecret: GH_SECRET,
  authorizationEndpoint: `${gh.base}/login/oauth/authorize`,
  tokenEndpoint: `${gh.base}/login/oauth/access_token`,
  userinfoEndpoint: `${gh.base}/user`,
  emailsEndpoint: `${gh.base}/user/emails`,
});

const uniq = (p: string) => `${p}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

/** Follows the provider's pages in a fresh browser until it redirects off its origin; returns that URL. */
async function driveIdp(authorizationUri: string, idpOrigin: string): Promise<URL> {
  const { url, res } = await new Browser().follow(authorizationUri, idpOrigin);
  expect(url.startsWith(idpOrigin), `IdP stopped at ${url} with ${res.status}`).toBe(false);
  return new URL(url);
}

async function managementToken(base: string): Promise<string> {
  const res = await fetch(`${base}/oidc/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${ADMIN_ID}:${ADMIN_SECRET}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', resource: `${base}/api`, scope: 'all' }).toString(),
  });
  return (await res.json()).access_token;
}

describe.each(dialects)('Social sign-in on %s', (_name, database) => {
  let t: RunningApp;
  let db: Awaited<ReturnType<DatabaseFactory>>;
  let google: OidcIdp;
  let gh: OAuthServer;
  let mgmt: string;
  let googleId: string;
  let githubId: string;
  let rogueId: string;
  let rp: IssuedApplication;

  beforeAll(async () => {
    db = await database();
    t = await startAppWithPublicUrl({
      databaseUrl: db.url,
      adminClientId: ADMIN_ID,
      adminClientSecret: ADMIN_SECRET,
      social: { redirectUris: [APP_REDIRECT], timeoutSeconds: 5 },
    });
    google = await startOidcIdp([
      {
        client_id: GOOGLE_CLIENT,
        client_secret: GOOGLE_SECRET,
        redirect_uris: [APP_REDIRECT, `${t.base}/oidc/social/callback`],
        token_endpoint_auth_method: 'client_secret_post',
      },
    ]);
    gh = await startOAuthServer(GH_CLIENT, GH_SECRET);
    mgmt = await managementToken(t.base);
    rp = await t.app.services.applications.create({ name: 'Relying party', type: 'traditional', redirectUris: [RP_REDIRECT] });
  });
  afterAll(async () => {
    await t?.close();
    await google?.close();
    await gh?.close();
    await db?.drop();
  });

  const call = async (method: string, path: string, body?: unknown, token?: string, headers: Record<string, string> = {}) => {
    const res = await t.call(method, path, { ...(body !== undefined ? { body } : {}), ...(token ? { token } : {}), headers });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null, text };
  };

  /** First-party social sign-in through a provider; returns the callback answer. */
  async function socialSignIn(connectorId: string, idpOrigin: string) {
    const started = await call('POST', '/api/auth/social/start', { connectorId, redirectUri: APP_REDIRECT });
    expect(started.status).toBe(200);
    const back = await driveIdp(started.body.authorizationUri, idpOrigin);
    expect(back.searchParams.get('state')).toBe(started.body.state);
    return {
      started: started.body,
      back,
      result: await call('POST', '/api/auth/social/callback', { connectorId, state: started.body.state, query: Object.fromEntries(back.searchParams) }),
    };
  }

  describe('Management API /api/connectors', () => {
    it('creates presets and generic connectors; the client secret is write-only', async () => {
      const created = await call(
        'POST',
        '/api/connectors',
        { preset: 'google', name: 'Google', config: { clientId: GOOGLE_CLIENT, clientSecret: GOOGLE_SECRET, issuer: google.issuer } },
        mgmt,
      );
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ type: 'oidc', preset: 'google', target: 'google', name: 'Google', enabled: true, hasClientSecret: true });
      expect(created.body.config).toMatchObject({ clientId: GOOGLE_CLIENT, issuer: google.issuer });
      expect(created.text).not.toContain(GOOGLE_SECRET);
      googleId = created.body.id;

      const github = await call(
        'POST',
        '/api/connectors',
        {
          preset: 'github',
          name: 'GitHub',
          config: githubConfig(gh),
        },
        mgmt,
      );
      expect(github.status).toBe(201);
      expect(github.body).toMatchObject({ type: 'oauth2', preset: 'github', target: 'github' });
      githubId = github.body.id;

      // A generic OIDC connector against the minimal-OIDC mode of the same server (for ID-token checks).
      const rogue = await call(
        'POST',
        '/api/connectors',
        { type: 'oidc', target: 'rogue-oidc', name: 'Rogue', config: { clientId: GH_CLIENT, clientSecret: GH_SECRET, issuer: gh.base } },
        mgmt,
      );
      expect(rogue.status).toBe(201);
      rogueId = rogue.body.id;

      // Token storage needs a token-vault key, which this app has not.
      const noVault = await call('PATCH', `/api/connectors/${githubId}`, { enableTokenStorage: true }, mgmt);
      expect(noVault.status).toBe(400);
      expect(noVault.body.code).toBe('connector.invalid_config');
      expect(noVault.body.message).toContain('TESSERA_SOCIAL_TOKEN_VAULT_KEY');

      const list = await call('GET', '/api/connectors', undefined, mgmt);
      expect(list.status).toBe(200);
      expect(list.body.map((c: { id: string }) => c.id)).toEqual(expect.arrayContaining([googleId, githubId, rogueId]));
      expect(list.text).not.toContain(GOOGLE_SECRET);
      expect(list.text).not.toContain(GH_SECRET);
      expect(list.text).not.toContain('clientSecret');
      const one = await call('GET', `/api/connectors/${githubId}`, undefined, mgmt);
      expect(one.status).toBe(200);
      expect(one.text).not.toContain(GH_SECRET);
    });

    it('updates by merging config (the secret is kept when omitted), validates, deletes, and needs a management token', async () => {
      const renamed = await call('PATCH', `/api/connectors/${githubId}`, { name: 'GitHub.com', config: { scope: 'read:user user:email' } }, mgmt);
      expect(renamed.status).toBe(200);
      expect(renamed.body).toMatchObject({ name: 'GitHub.com', hasClientSecret: true });
      expect(renamed.body.config.tokenEndpoint).toBe(`${gh.base}/login/oauth/access_token`);
      expect(renamed.text).not.toContain(GH_SECRET);

      const bad = await call('POST', '/api/connectors', { type: 'oauth2', target: 'x', name: 'X', config: { clientId: 'a', clientSecret: 'b' } }, mgmt);
      expect(bad.status).toBe(400);
      expect(bad.body.code).toBe('connector.invalid_config');
      const badUrl = await call('POST', '/api/connectors', { preset: 'google', name: 'G', config: { clientId: 'a', clientSecret: 'b', issuer: 'javascript:alert(1)' } }, mgmt);
      expect(badUrl.status).toBe(400);
      expect(badUrl.body.code).toBe('connector.invalid_config');
      const unknownKey = await call('POST', '/api/connectors', { preset: 'google', name: 'G', config: { clientId: 'a', clientSecret: 'b', admin: true } }, mgmt);
      expect(unknownKey.status).toBe(400);

      const reserved = await call('POST', '/api/connectors', { type: 'oidc', target: '_weixin_unionid', name: 'R', config: { clientId: 'a', clientSecret: 'b', issuer: gh.base } }, mgmt);
      expect(reserved.status).toBe(400);
      expect(reserved.body.code).toBe('connector.invalid_config');
      const noAuth = await call('GET', '/api/connectors');
      expect(noAuth.status).toBe(401);

      const temp = await call('POST', '/api/connectors', { preset: 'wechat', name: 'WeChat', config: { clientId: 'wx123', clientSecret: 'wxsecret' } }, mgmt);
      expect(temp.status).toBe(201);
      expect(temp.body.target).toBe('weixin');
      const started = await call('POST', '/api/auth/social/start', { connectorId: temp.body.id, redirectUri: APP_REDIRECT });
      expect(started.status).toBe(200);
      const wx = new URL(started.body.authorizationUri);
      expect(`${wx.origin}${wx.pathname}`).toBe('https://open.weixin.qq.com/connect/qrconnect');
      expect(wx.searchParams.get('appid')).toBe('wx123');
      expect(wx.searchParams.get('scope')).toBe('snsapi_login');
      expect(wx.hash).toBe('#wechat_redirect');
      expect(started.body.authorizationUri).not.toContain('wxsecret');
      expect((await call('DELETE', `/api/connectors/${temp.body.id}`, undefined, mgmt)).status).toBe(204);
      const gone = await call('GET', `/api/connectors/${temp.body.id}`, undefined, mgmt);
      expect(gone.status).toBe(404);
      expect(gone.body.code).toBe('connector.social_not_found');
    });
  });

  describe('first-party sign-in (/api/auth/social)', () => {
    it('refuses unregistered redirect URIs and unknown connectors', async () => {
      const open = await call('POST', '/api/auth/social/start', { connectorId: googleId, redirectUri: 'https://evil.example/steal' });
      expect(open.status).toBe(400);
      expect(open.body.code).toBe('connector.redirect_uri_not_allowed');
      const viaApp = await call('POST', '/api/auth/social/start', { connectorId: googleId, redirectUri: RP_REDIRECT, clientId: rp.application.id });
      expect(viaApp.status).toBe(200);
      const outsider = await t.app.services.applications.create({ name: 'Outsider', type: 'traditional', redirectUris: ['https://outsider.example/cb'], isThirdParty: true });
      const viaThirdParty = await call('POST', '/api/auth/social/start', { connectorId: googleId, redirectUri: 'https://outsider.example/cb', clientId: outsider.application.id });
      expect(viaThirdParty).toMatchObject({ status: 400, body: { code: 'connector.redirect_uri_not_allowed' } });
      const unknown = await call('POST', '/api/auth/social/start', { connectorId: 'conn_nope', redirectUri: APP_REDIRECT });
      expect(unknown.status).toBe(422);
      expect(unknown.body.code).toBe('session.invalid_connector_id');
    });

    it('signs a new user up through the OIDC provider, then signs the same user in', async () => {
      google.accounts.set('g-alice', { sub: 'g-alice', email: 'alice@gmail.test', email_verified: true, name: 'Alice', picture: 'https://img.test/a.png' });
      google.nextAccount = 'g-alice';
      const first = await socialSignIn(googleId, google.issuer);
      const auth = new URL(first.started.authorizationUri);
      expect(auth.searchParams.get('code_challenge_method')).toBe('S256');
      expect(auth.searchParams.get('nonce')).toBeTruthy();
      expect(first.result.status).toBe(200);
      expect(first.result.body.user).toMatchObject({ name: 'Alice', avatar: 'https://img.test/a.png', primaryEmail: 'alice@gmail.test', emailVerified: true, hasPassword: false });
      const me = await call('GET', '/api/auth/me', undefined, first.result.body.session.token);
      expect(me.status).toBe(200);
      expect(me.body.id).toBe(first.result.body.user.id);

      const again = await socialSignIn(googleId, google.issuer);
      expect(again.result.status).toBe(200);
      expect(again.result.body.user.id).toBe(first.result.body.user.id);

      const identities = await call('GET', `/api/users/${first.result.body.user.id}/identities`, undefined, mgmt);
      expect(identities.status).toBe(200);
      expect(identities.body.google.userId).toBe('g-alice');
      expect(identities.body.google.details).toMatchObject({ email: 'alice@gmail.test', emailVerified: true });
    });

    it('uses a state once: a replayed callback, an unknown state and a mismatched state are refused', async () => {
      google.nextAccount = 'g-alice';
      const { started, back, result } = await socialSignIn(googleId, google.issuer);
      expect(result.status).toBe(200);
      const replay = await call('POST', '/api/auth/social/callback', { connectorId: googleId, state: started.state, query: Object.fromEntries(back.searchParams) });
      expect(replay.status).toBe(400);
      expect(replay.body.code).toBe('connector.session_not_found');

      const forged = await call('POST', '/api/auth/social/callback', { connectorId: googleId, state: 'forged-state', code: back.searchParams.get('code') });
      expect(forged.status).toBe(400);
      expect(forged.body.code).toBe('connector.session_not_found');

      const a = await call('POST', '/api/auth/social/start', { connectorId: googleId, redirectUri: APP_REDIRECT });
      const b = await call('POST', '/api/auth/social/start', { connectorId: googleId, redirectUri: APP_REDIRECT });
      const backA = await driveIdp(a.body.authorizationUri, google.issuer);
      const mismatch = await call('POST', '/api/auth/social/callback', { connectorId: googleId, state: b.body.state, query: Object.fromEntries(backA.searchParams) });
      expect(mismatch.status).toBe(400);
      expect(mismatch.body.code).toBe('connector.state_mismatch');
      // The state of another connector's attempt is refused too.
      const otherConnector = await call('POST', '/api/auth/social/callback', { connectorId: githubId, state: a.body.state, code: backA.searchParams.get('code') });
      expect(otherConnector.status).toBe(400);
      expect(otherConnector.body.code).toBe('connector.state_mismatch');
    });

    it('refuses a replayed authorization code (the provider refuses it; nothing is signed in)', async () => {
      google.nextAccount = 'g-alice';
      const { back, result } = await socialSignIn(googleId, google.issuer);
      expect(result.status).toBe(200);
      const fresh = await call('POST', '/api/auth/social/start', { connectorId: googleId, redirectUri: APP_REDIRECT });
      const replayed = await call('POST', '/api/auth/social/callback', { connectorId: googleId, state: fresh.body.state, code: back.searchParams.get('code') });
      expect(replayed.status).toBe(400);
      expect(replayed.body.code).toBe('connector.authorization_failed');
      expect(replayed.body.session).toBeUndefined();
    });

    it('signs up through the GitHub-shaped OAuth 2.0 server with the verified primary email', async () => {
      gh.users.set('octo', {
        id: 583231,
        login: 'octocat',
        name: 'The Octocat',
        avatar_url: 'https://avatars.test/583231',
        emails: [
          { email: 'octo-old@github.test', primary: false, verified: true },
          { email: 'octocat@github.test', primary: true, verified: true },
        ],
      });
      gh.nextUser = 'octo';
      const { started, back, result } = await socialSignIn(githubId, gh.base);
      expect(new URL(started.authorizationUri).searchParams.get('code_challenge_method')).toBe('S256');
      expect(result.status).toBe(200);
      expect(result.body.user).toMatchObject({ name: 'The Octocat', primaryEmail: 'octocat@github.test', emailVerified: true });
      const identities = await call('GET', `/api/users/${result.body.user.id}/identities`, undefined, mgmt);
      expect(identities.body.github.userId).toBe('583231');

      // GitHub answers a used code with 200 {error}: still refused.
      const refusalsBefore = gh.refusals;
      const fresh = await call('POST', '/api/auth/social/start', { connectorId: githubId, redirectUri: APP_REDIRECT });
      const replayed = await call('POST', '/api/auth/social/callback', { connectorId: githubId, state: fresh.body.state, code: back.searchParams.get('code') });
      expect(replayed.status).toBe(400);
      expect(replayed.body.code).toBe('connector.authorization_failed');
      expect(gh.refusals).toBe(refusalsBefore + 1);
    });

    it('refuses ID tokens with a wrong audience or nonce, accepts a correct one', async () => {
      gh.users.set('rogue-user', { id: 777, login: 'r', name: 'Rogue User', emails: [{ email: 'rogue@idp.test', primary: true, verified: true }] });
      gh.nextUser = 'rogue-user';
      gh.idToken = { aud: 'some-other-client' };
      const wrongAud = await socialSignIn(rogueId, gh.base);
      expect(wrongAud.result.status).toBe(400);
      expect(wrongAud.result.body.code).toBe('connector.id_token_invalid');
      gh.idToken = { nonce: 'not-the-nonce-we-sent' };
      const wrongNonce = await socialSignIn(rogueId, gh.base);
      expect(wrongNonce.result.status).toBe(400);
      expect(wrongNonce.result.body.code).toBe('connector.id_token_invalid');
      gh.idToken = {};
      const ok = await socialSignIn(rogueId, gh.base);
      expect(ok.result.status).toBe(200);
      expect(ok.result.body.user).toMatchObject({ name: 'Rogue User', primaryEmail: 'rogue@idp.test' });
    });

    it('does not link by email when social.linkByVerifiedEmail is off (default)', async () => {
      const email = `${uniq('bob')}@example.test`;
      const local = await call('POST', '/api/auth/sign-up', { username: uniq('bob'), email, password: PW });
      expect(local.status).toBe(201);
      await t.app.services.users.update(local.body.user.id, { emailVerified: true });
      google.accounts.set('g-bob', { sub: 'g-bob', email, email_verified: true, name: 'Bob' });
      google.nextAccount = 'g-bob';
      const { result } = await socialSignIn(googleId, google.issuer);
      expect(result.status).toBe(200);
      expect(result.body.user.id).not.toBe(local.body.user.id);
      expect(result.body.user.primaryEmail).toBeNull();
    });
  });

  describe('Account API social binding (seed 000)', () => {
    const allEdit = { name: 'Edit', username: 'Edit', email: 'Edit', phone: 'Edit', password: 'Edit', social: 'Edit' };

    it('replays the seed 000 curls: verification record → authorize → verify → link → unlink', async () => {
      expect((await call('PATCH', '/api/account-center', { enabled: true, fields: allEdit }, mgmt)).status).toBe(200);
      const username = uniq('carl');
      const signUp = await call('POST', '/api/auth/sign-up', { username, password: PW });
      const token = signUp.body.session.token as string;
      const userId = signUp.body.user.id as string;
      google.accounts.set('g-carl', { sub: 'g-carl', email: 'carl@gmail.test', email_verified: true, name: 'Carl' });
      google.nextAccount = 'g-carl';
      const B = t.base;
      const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };

      // curl -X POST …/api/verifications/password --data-raw '{"password":"..."}'
      const proofRes = await fetch(`${B}/api/verifications/password`, { method: 'POST', headers: auth, body: JSON.stringify({ password: PW }) });
      expect(proofRes.status).toBe(201);
      const proof = (await proofRes.json()).verificationRecordId as string;

      // curl -X POST …/api/verifications/social --data-raw '{"connectorId":"...","redirectUri":"...","state":"..."}'
      const clientState = 'client-state-8c1f';
      const socialRes = await fetch(`${B}/api/verifications/social`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ connectorId: googleId, redirectUri: APP_REDIRECT, state: clientState }),
      });
      expect(socialRes.status).toBe(201);
      const social = await socialRes.json();
      expect(social).toMatchObject({ verificationRecordId: expect.any(String), authorizationUri: expect.any(String), expiresAt: expect.any(String) });
      expect(new URL(social.authorizationUri).searchParams.get('state')).toBe(clientState);

      // The user authorizes at the provider; the page at redirectUri reads the query parameters.
      const back = await driveIdp(social.authorizationUri, google.issuer);
      expect(back.searchParams.get('state')).toBe(clientState);
      const connectorData = Object.fromEntries(back.searchParams);

      // Without the identity proof the link is refused (the user has a password).
      const unproven = await call('POST', '/api/verifications/social/verify', { connectorData, verificationRecordId: social.verificationRecordId }, token);
      expect(unproven.status).toBe(200);
      const noProof = await call('POST', '/api/my-account/identities', { newIdentifierVerificationRecordId: social.verificationRecordId }, token);
      expect(noProof.status).toBe(401);
      expect(noProof.body.code).toBe('verification_record.permission_denied');

      // curl -X POST …/api/my-account/identities -H 'logto-verification-id: …' --data-raw '{"newIdentifierVerificationRecordId":"..."}'
      const linkRes = await fetch(`${B}/api/my-account/identities`, {
        method: 'POST',
        headers: { ...auth, 'logto-verification-id': proof },
        body: JSON.stringify({ newIdentifierVerificationRecordId: social.verificationRecordId }),
      });
      expect(linkRes.status).toBe(204);
      const identities = await call('GET', `/api/users/${userId}/identities`, undefined, mgmt);
      expect(identities.body.google.userId).toBe('g-carl');

      // The record is spent.
      const again = await call('POST', '/api/my-account/identities', { newIdentifierVerificationRecordId: social.verificationRecordId }, token, { 'logto-verification-id': proof });
      expect(again.status).toBe(400);
      expect(again.body.code).toBe('verification_record.not_found');

      // Social sign-in with that Google account now signs in as this user.
      google.nextAccount = 'g-carl';
      const signedIn = await socialSignIn(googleId, google.issuer);
      expect(signedIn.result.status).toBe(200);
      expect(signedIn.result.body.user.id).toBe(userId);

      // curl -X DELETE …/api/my-account/identities/[connector_target_id] -H 'logto-verification-id: …'
      const unlinkRes = await fetch(`${B}/api/my-account/identities/google`, { method: 'DELETE', headers: { authorization: `Bearer ${token}`, 'logto-verification-id': proof } });
      expect(unlinkRes.status).toBe(204);
      const none = await call('DELETE', '/api/my-account/identities/google', undefined, token, { 'logto-verification-id': proof });
      expect(none.status).toBe(404);
      expect(none.body.code).toBe('user.identity_not_exist');
      expect((await call('GET', `/api/users/${userId}/identities`, undefined, mgmt)).body).toEqual({});
    });

    it('PUT /api/my-account/identities replaces the identity of that target where POST refuses (Logto upsert); GET /api/my-account shows the map', async () => {
      expect((await call('PATCH', '/api/account-center', { enabled: true, fields: allEdit }, mgmt)).status).toBe(200);
      const signUp = await call('POST', '/api/auth/sign-up', { username: uniq('erin'), password: PW });
      const token = signUp.body.session.token as string;
      const proof = (await call('POST', '/api/verifications/password', { password: PW }, token)).body.verificationRecordId as string;
      const prove = async (sub: string) => {
        google.accounts.set(sub, { sub, email: `${sub}@gmail.test`, email_verified: true, name: sub });
        google.nextAccount = sub;
        const started = await call('POST', '/api/verifications/social', { connectorId: googleId, redirectUri: APP_REDIRECT, state: `st-${sub}` }, token);
        const back = await driveIdp(started.body.authorizationUri, google.issuer);
        const done = await call('POST', '/api/verifications/social/verify', { connectorData: Object.fromEntries(back.searchParams), verificationRecordId: started.body.verificationRecordId }, token);
        expect(done.status).toBe(200);
        return started.body.verificationRecordId as string;
      };
      const first = await prove(uniq('g-erin'));
      expect((await call('POST', '/api/my-account/identities', { newIdentifierVerificationRecordId: first }, token, { 'logto-verification-id': proof })).status).toBe(204);
      const secondSub = uniq('g-erin2');
      const second = await prove(secondSub);
      const refused = await call('POST', '/api/my-account/identities', { newIdentifierVerificationRecordId: second }, token, { 'logto-verification-id': proof });
      expect([refused.status, refused.body.code]).toEqual([400, 'user.identity_already_bound']);
      expect((await call('PUT', '/api/my-account/identities', { newIdentifierVerificationRecordId: second }, token, { 'logto-verification-id': proof })).status).toBe(204);
      const me = await call('GET', '/api/my-account', undefined, token);
      expect(Object.keys(me.body.identities)).toEqual(['google']);
      expect(me.body.identities.google.userId).toBe(secondSub);
      // The record is spent by the PUT.
      expect((await call('PUT', '/api/my-account/identities', { newIdentifierVerificationRecordId: second }, token, { 'logto-verification-id': proof })).body.code).toBe('verification_record.not_found');
    });

    it('refuses an external account linked to another user, a wrong state, and gating off', async () => {
      expect((await call('PATCH', '/api/account-center', { enabled: true, fields: allEdit }, mgmt)).status).toBe(200);
      const other = await call('POST', '/api/auth/sign-up', { username: uniq('dora'), password: PW });
      const token = other.body.session.token as string;
      const proof = (await call('POST', '/api/verifications/password', { password: PW }, token)).body.verificationRecordId as string;
      google.nextAccount = 'g-alice'; // already the identity of the user signed up earlier

      const started = await call('POST', '/api/verifications/social', { connectorId: googleId, redirectUri: APP_REDIRECT, state: 's-1' }, token);
      expect(started.status).toBe(201);
      const back = await driveIdp(started.body.authorizationUri, google.issuer);
      const wrongState = await call('POST', '/api/verifications/social/verify', {
        connectorData: { ...Object.fromEntries(back.searchParams), state: 's-2' },
        verificationRecordId: started.body.verificationRecordId,
      }, token);
      expect(wrongState.status).toBe(400);
      expect(wrongState.body.code).toBe('connector.state_mismatch');
      // connectorData may also come as a JSON string of the query.
      const verified = await call('POST', '/api/verifications/social/verify', {
        connectorData: JSON.stringify(Object.fromEntries(back.searchParams)),
        verificationRecordId: started.body.verificationRecordId,
      }, token);
      expect(verified.status).toBe(200);
      const taken = await call('POST', '/api/my-account/identities', { newIdentifierVerificationRecordId: started.body.verificationRecordId }, token, { 'logto-verification-id': proof });
      expect(taken.status).toBe(422);
      expect(taken.body.code).toBe('user.identity_already_in_use');

      // Another user's record cannot be verified or bound by this caller.
      const foreign = await call('POST', '/api/verifications/social', { connectorId: googleId, redirectUri: APP_REDIRECT, state: 's-3' }, signUpToken);
      const notMine = await call('POST', '/api/my-account/identities', { newIdentifierVerificationRecordId: foreign.body.verificationRecordId }, token, { 'logto-verification-id': proof });
      expect(notMine.status).toBe(400);

      const unregistered = await call('POST', '/api/verifications/social', { connectorId: googleId, redirectUri: 'https://evil.example/cb', state: 's' }, token);
      expect(unregistered.status).toBe(400);
      expect(unregistered.body.code).toBe('connector.redirect_uri_not_allowed');
      const unknown = await call('POST', '/api/verifications/social', { connectorId: 'nope', redirectUri: APP_REDIRECT, state: 's' }, token);
      expect(unknown.status).toBe(422);
      expect(unknown.body.code).toBe('session.invalid_connector_id');

      expect((await call('PATCH', '/api/account-center', { enabled: true, fields: { ...allEdit, social: 'ReadOnly' } }, mgmt)).status).toBe(200);
      const gated = await call('DELETE', '/api/my-account/identities/google', undefined, token, { 'logto-verification-id': proof });
      expect(gated.status).toBe(400);
      expect(gated.body.code).toBe('account_center.field_not_editable');
    });

    let signUpToken = '';
    beforeAll(async () => {
      // A bystander whose records the other tests try to use.
      const res = await t.call('POST', '/api/auth/sign-up', { body: { username: uniq('eve'), password: PW } });
      signUpToken = (await res.json()).session.token;
    });

    it('refuses to unlink the last way to sign in of a social-only user (no proof needed for them)', async () => {
      expect((await call('PATCH', '/api/account-center', { enabled: true, fields: allEdit }, mgmt)).status).toBe(200);
      google.accounts.set('g-fay', { sub: 'g-fay', email: 'fay@gmail.test', email_verified: false, name: 'Fay' });
      google.nextAccount = 'g-fay';
      const { result } = await socialSignIn(googleId, google.issuer);
      expect(result.status).toBe(200);
      expect(result.body.user).toMatchObject({ primaryEmail: null, username: null, hasPassword: false });
      const last = await call('DELETE', '/api/my-account/identities/google', undefined, result.body.session.token);
      expect(last.status).toBe(400);
      expect(last.body.code).toBe('user.last_sign_in_method_required');

      // With a second identity (GitHub, linked without a proof: no password, email or phone) one may go.
      gh.nextUser = 'octo2';
      gh.users.set('octo2', { id: 9001, login: 'fay-gh', emails: [] });
      const started = await call('POST', '/api/verifications/social', { connectorId: githubId, redirectUri: APP_REDIRECT, state: 'fay' }, result.body.session.token);
      const back = await driveIdp(started.body.authorizationUri, gh.base);
      expect((await call('POST', '/api/verifications/social/verify', { connectorData: Object.fromEntries(back.searchParams), verificationRecordId: started.body.verificationRecordId }, result.body.session.token)).status).toBe(200);
      expect((await call('POST', '/api/my-account/identities', { newIdentifierVerificationRecordId: started.body.verificationRecordId }, result.body.session.token)).status).toBe(204);
      expect((await call('DELETE', '/api/my-account/identities/google', undefined, result.body.session.token)).status).toBe(204);
    });
  });

  describe('OIDC sign-in page', () => {
    it('shows "Continue with Google" and completes the authorization request through the external provider', async () => {
      google.nextAccount = 'g-alice';
      const alice = await socialSignIn(googleId, google.issuer);
      expect(alice.result.status).toBe(200);
      const config = await client.discovery(new URL(`${t.base}/oidc`), rp.application.id, rp.secret!, client.ClientSecretBasic(rp.secret!), {
        execute: [client.allowInsecureRequests],
      });
      const verifier = client.randomPKCECodeVerifier();
      const state = client.randomState();
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: RP_REDIRECT,
        scope: 'openid profile email',
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
      });
      const browser = new Browser();
      const { res, url: pageUrl } = await browser.follow(url.href, t.base);
      const html = await res.text();
      expect(html).toContain('Continue with Google');
      const href = /href="([^"]*\/social\/[^"]+)"[^>]*>Continue with Google</.exec(html)?.[1];
      expect(href).toBeTruthy();
      const toIdp = await browser.request(new URL(href!.replace(/&amp;/g, '&'), pageUrl).href);
      expect(toIdp.status).toBe(303);
      const idpCallback = await driveIdp(toIdp.headers.get('location')!, google.issuer);
      expect(idpCallback.href.startsWith(`${t.base}/oidc/social/callback?`)).toBe(true);
      const { url: rpCallback } = await browser.follow(idpCallback.href, t.base);
      expect(rpCallback.startsWith(RP_REDIRECT)).toBe(true);
      const tokens = await client.authorizationCodeGrant(config, new URL(rpCallback), { pkceCodeVerifier: verifier, expectedState: state });
      const claims = tokens.claims()!;
      expect(claims.sub).toBe(alice.result.body.user.id);
      // The provider session records how the user authenticated (RFC 8176 "fed").
      const oidcSessions = await t.app.services.store.oidcPayloads.listByAccount('Session', alice.result.body.user.id, Date.now());
      expect(oidcSessions.map((r) => r.payload['amr'])).toContainEqual(['fed']);
    });

    it('hands a user with a second factor to the page\'s MFA step, then completes with amr fed + otp', async () => {
      google.accounts.set('g-mfa', { sub: 'g-mfa', email: 'mfa@gmail.test', email_verified: true, name: 'Mona' });
      google.nextAccount = 'g-mfa';
      const first = await socialSignIn(googleId, google.issuer);
      expect(first.result.status).toBe(200);
      const userId = first.result.body.user.id as string;
      const secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
      await t.app.services.mfa.addTotp(userId, secret);
      const config = await client.discovery(new URL(`${t.base}/oidc`), rp.application.id, rp.secret!, client.ClientSecretBasic(rp.secret!), {
        execute: [client.allowInsecureRequests],
      });
      const verifier = client.randomPKCECodeVerifier();
      const state = client.randomState();
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: RP_REDIRECT,
        scope: 'openid',
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
      });
      const browser = new Browser();
      const { res, url: pageUrl } = await browser.follow(url.href, t.base);
      const href = /href="([^"]*\/social\/[^"]+)"[^>]*>Continue with Google</.exec(await res.text())![1]!;
      const toIdp = await browser.request(new URL(href.replace(/&amp;/g, '&'), pageUrl).href);
      const idpCallback = await driveIdp(toIdp.headers.get('location')!, google.issuer);
      // The callback lands on the MFA step instead of completing the login.
      const { res: stepRes, url: stepUrl } = await browser.follow(idpCallback.href, t.base);
      expect(stepRes.status).toBe(200);
      const step = await stepRes.text();
      expect(step).toContain('Two-step verification');
      const field = (name: string) => new RegExp(`name="${name}" value="([^"]+)"`).exec(step)?.[1];
      const action = /action="([^"]+\/mfa)"/.exec(step)![1]!;
      const post = (fields: Record<string, string>) =>
        browser.request(new URL(action, stepUrl).href, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', origin: t.base },
          body: new URLSearchParams(fields).toString(),
        });
      const wrong = await post({ csrf: field('csrf')!, pendingSignInId: field('pendingSignInId')!, code: generateSync({ secret }) === '000000' ? '111111' : '000000' });
      expect(wrong.status).toBe(400);
      const done = await post({ csrf: field('csrf')!, pendingSignInId: field('pendingSignInId')!, code: generateSync({ secret }) });
      expect(done.status).toBe(303);
      const { url: rpCallback } = await browser.follow(new URL(done.headers.get('location')!, t.base).href, t.base);
      expect(rpCallback.startsWith(RP_REDIRECT)).toBe(true);
      const tokens = await client.authorizationCodeGrant(config, new URL(rpCallback), { pkceCodeVerifier: verifier, expectedState: state });
      expect(tokens.claims()!.sub).toBe(userId);
      const oidcSessions = await t.app.services.store.oidcPayloads.listByAccount('Session', userId, Date.now());
      expect(oidcSessions.map((r) => r.payload['amr'])).toContainEqual(['fed', 'otp', 'mfa']);
    });

    it('refuses a callback whose state belongs to another interaction', async () => {
      const config = await client.discovery(new URL(`${t.base}/oidc`), rp.application.id, rp.secret!, client.ClientSecretBasic(rp.secret!), {
        execute: [client.allowInsecureRequests],
      });
      const open = async () => {
        const url = client.buildAuthorizationUrl(config, {
          redirect_uri: RP_REDIRECT,
          scope: 'openid',
          code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
          code_challenge_method: 'S256',
          state: client.randomState(),
        });
        const browser = new Browser();
        const { res, url: pageUrl } = await browser.follow(url.href, t.base);
        const href = /href="([^"]*\/social\/[^"]+)"[^>]*>Continue with Google</.exec(await res.text())![1]!;
        return { browser, pageUrl, href: new URL(href.replace(/&amp;/g, '&'), pageUrl).href };
      };
      const victim = await open();
      const attacker = await open();
      google.nextAccount = 'g-alice';
      const toIdp = await attacker.browser.request(attacker.href);
      const idpCallback = await driveIdp(toIdp.headers.get('location')!, google.issuer);
      // The attacker's callback, replayed into the victim's interaction, must not log the victim in.
      const bounce = await victim.browser.request(idpCallback.href);
      expect(bounce.status).toBe(303);
      const landed = await victim.browser.request(new URL(bounce.headers.get('location')!, t.base).href);
      expect(landed.status).toBe(400);
      expect(await landed.text()).not.toContain('Continue with');
    });
  });

  describe("Management API POST /api/users/:id/identities (Logto's connectorData: a code the app obtained itself)", () => {
    /** The app's own authorization request at the GitHub-shaped server (no Tessera attempt behind it); the code. */
    async function appOwnCode(params: Record<string, string> = {}): Promise<string> {
      const url = new URL(`${gh.base}/login/oauth/authorize`);
      for (const [k, v] of Object.entries({ client_id: GH_CLIENT, redirect_uri: APP_REDIRECT, state: 'app-state', ...params })) url.searchParams.set(k, v);
      const res = await fetch(url, { redirect: 'manual' });
      expect(res.status).toBe(302);
      return new URL(res.headers.get('location')!).searchParams.get('code')!;
    }
    const newUser = async () => (await call('POST', '/api/users', { username: uniq('linked') }, mgmt)).body.id as string;
    const link = (userId: string, body: unknown, token: string | undefined = mgmt) => call('POST', `/api/users/${userId}/identities`, body, token);

    it('redeems the code through the connector and links the proven account (verified: it signs the user in); the code is single use', async () => {
      gh.users.set('admin-linked', { id: 424242, login: 'al', name: 'Admin Linked', emails: [{ email: 'al@idp.test', primary: true, verified: true }] });
      gh.nextUser = 'admin-linked';
      const userId = await newUser();
      const code = await appOwnCode();
      const linked = await link(userId, { connectorId: githubId, connectorData: { code, state: 'app-state', redirectUri: APP_REDIRECT } });
      expect(linked.status).toBe(200);
      expect(linked.body).toEqual({ github: { userId: '424242', details: expect.objectContaining({ login: 'al', connectorId: githubId }) } });
      expect(linked.text).not.toMatch(/access_token|accessToken/);
      expect((await call('GET', `/api/users/${userId}/identities`, undefined, mgmt)).body).toEqual(linked.body);

      // The same code again: the provider refuses it, nothing changes.
      const replay = await link(userId, { connectorId: githubId, connectorData: { code, redirectUri: APP_REDIRECT } });
      expect(replay.status).toBe(400);
      expect(replay.body.code).toBe('connector.authorization_failed');

      // The link is a verified identity: signing in with that GitHub account is this user.
      const { result } = await socialSignIn(githubId, gh.base);
      expect(result.status).toBe(200);
      expect(result.body.user.id).toBe(userId);

      // Another user cannot take it (Logto's 422); theirs stays empty.
      const other = await newUser();
      const taken = await link(other, { connectorId: githubId, connectorData: { code: await appOwnCode(), redirectUri: APP_REDIRECT } });
      expect(taken.status).toBe(422);
      expect(taken.body.code).toBe('user.identity_already_in_use');
      expect((await call('GET', `/api/users/${other}/identities`, undefined, mgmt)).body).toEqual({});
    });

    it('uses the request\'s PKCE verifier and OIDC nonce when it had them, and refuses a code whose request had them when they are not given', async () => {
      gh.users.set('pkce-user', { id: 515151, login: 'pk', emails: [] });
      gh.nextUser = 'pkce-user';
      const userId = await newUser();
      const verifier = 'v'.repeat(20) + randomUUID().replaceAll('-', '');
      const challenge = createHash('sha256').update(verifier).digest('base64url');
      const withoutVerifier = await link(userId, { connectorId: githubId, connectorData: { code: await appOwnCode({ code_challenge: challenge, code_challenge_method: 'S256' }), redirectUri: APP_REDIRECT } });
      expect(withoutVerifier.status).toBe(400);
      expect(withoutVerifier.body.code).toBe('connector.authorization_failed');
      const withVerifier = await link(userId, {
        connectorId: githubId,
        connectorData: { code: await appOwnCode({ code_challenge: challenge, code_challenge_method: 'S256' }), redirectUri: APP_REDIRECT, codeVerifier: verifier },
      });
      expect(withVerifier.status).toBe(200);
      expect(withVerifier.body.github.userId).toBe('515151');

      // OIDC (ID token checked: issuer, audience, signature, and the nonce of the app's request).
      const nonceMissing = await link(userId, { connectorId: rogueId, connectorData: { code: await appOwnCode({ nonce: 'app-nonce-1' }), redirectUri: APP_REDIRECT } });
      expect(nonceMissing.status).toBe(400);
      expect(nonceMissing.body.code).toBe('connector.id_token_invalid');
      const nonceWrong = await link(userId, { connectorId: rogueId, connectorData: { code: await appOwnCode({ nonce: 'app-nonce-1' }), redirectUri: APP_REDIRECT, nonce: 'app-nonce-2' } });
      expect(nonceWrong.status).toBe(400);
      expect(nonceWrong.body.code).toBe('connector.id_token_invalid');
      const withNonce = await link(userId, { connectorId: rogueId, connectorData: { code: await appOwnCode({ nonce: 'app-nonce-1' }), redirectUri: APP_REDIRECT, nonce: 'app-nonce-1' } });
      expect(withNonce.status).toBe(200);
      expect(withNonce.body['rogue-oidc'].userId).toBe('515151');
      const noNonce = await link(userId, { connectorId: rogueId, connectorData: { code: await appOwnCode(), redirectUri: APP_REDIRECT } });
      expect(noNonce.status).toBe(200);
      expect(Object.keys(noNonce.body).sort()).toEqual(['github', 'rogue-oidc']);
    });

    it('refuses unknown users and connectors, bodies without a code or redirect URI, and callers without a management token', async () => {
      const userId = await newUser();
      const code = await appOwnCode();
      const unknownUser = await link('no-such-user', { connectorId: githubId, connectorData: { code, redirectUri: APP_REDIRECT } });
      expect(unknownUser.status).toBe(404);
      expect(unknownUser.body.code).toBe('entity.not_found');
      const unknownConnector = await link(userId, { connectorId: 'no-such-connector', connectorData: { code, redirectUri: APP_REDIRECT } });
      expect(unknownConnector.status).toBe(422);
      expect(unknownConnector.body.code).toBe('session.invalid_connector_id');
      for (const connectorData of [{ code }, { redirectUri: APP_REDIRECT }, { code: '', redirectUri: APP_REDIRECT }]) {
        const bad = await link(userId, { connectorId: githubId, connectorData });
        expect(bad.status).toBe(400);
        expect(bad.body.code).toBe('guard.invalid_input');
      }
      const noToken = await link(userId, { connectorId: githubId, connectorData: { code, redirectUri: APP_REDIRECT } }, '');
      expect(noToken.status).toBe(401);
      expect((await call('GET', `/api/users/${userId}/identities`, undefined, mgmt)).body).toEqual({});
    });
  });
});

describe.each(dialects)('Social sign-in on the OIDC page under MFA policy "required" on %s', (_name, database) => {
  const STEP_MS = 30_000;
  // Mid-step, so a code computed at clock.now() is the current one.
  const clock = new ManualClock(Math.floor(Date.now() / STEP_MS) * STEP_MS + STEP_MS / 2);
  let t: RunningApp;
  let db: Awaited<ReturnType<DatabaseFactory>>;
  let google: OidcIdp;
  let rp: IssuedApplication;

  beforeAll(async () => {
    db = await database();
    t = await startAppWithPublicUrl({
      databaseUrl: db.url,
      adminClientId: ADMIN_ID,
      adminClientSecret: ADMIN_SECRET,
      social: { redirectUris: [APP_REDIRECT] },
      mfa: { policy: 'required' },
    }, { clock });
    google = await startOidcIdp([{ client_id: GOOGLE_CLIENT, client_secret: GOOGLE_SECRET, redirect_uris: [`${t.base}/oidc/social/callback`], token_endpoint_auth_method: 'client_secret_post' }]);
    const res = await t.call('POST', '/api/connectors', {
      token: await managementToken(t.base),
      body: { preset: 'google', name: 'Google', config: { clientId: GOOGLE_CLIENT, clientSecret: GOOGLE_SECRET, issuer: google.issuer } },
    });
    expect(res.status).toBe(201);
    rp = await t.app.services.applications.create({ name: 'Relying party', type: 'traditional', redirectUris: [RP_REDIRECT] });
  });
  afterAll(async () => {
    await t?.close();
    await google?.close();
    await db?.drop();
  });

  it('hands a new social user to the page\'s TOTP enrolment step, then completes with amr fed + otp + mfa', async () => {
    google.accounts.set('g-enrol', { sub: 'g-enrol', email: 'enrol@gmail.test', email_verified: true, name: 'Enid' });
    google.nextAccount = 'g-enrol';
    const config = await client.discovery(new URL(`${t.base}/oidc`), rp.application.id, rp.secret!, client.ClientSecretBasic(rp.secret!), {
      execute: [client.allowInsecureRequests],
    });
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: RP_REDIRECT, scope: 'openid', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state,
    });
    const browser = new Browser();
    const { res, url: pageUrl } = await browser.follow(url.href, t.base);
    const href = /href="([^"]*\/social\/[^"]+)"[^>]*>Continue with Google</.exec(await res.text())![1]!;
    const toIdp = await browser.request(new URL(href.replace(/&amp;/g, '&'), pageUrl).href);
    const idpCallback = await driveIdp(toIdp.headers.get('location')!, google.issuer);
    // The callback lands on the enrolment step instead of completing the login.
    const { res: stepRes, url: stepUrl } = await browser.follow(idpCallback.href, t.base);
    expect(stepRes.status).toBe(200);
    const step = await stepRes.text();
    expect(step).toContain('Set up two-step verification');
    const field = (name: string) => new RegExp(`name="${name}" value="([^"]+)"`).exec(step)?.[1];
    const secret = field('secret')!;
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    const action = /action="([^"]+\/mfa\/enroll)"/.exec(step)![1]!;
    const fields = { csrf: field('csrf')!, pendingSignInId: field('pendingSignInId')!, binding: field('binding')!, secret, secretBinding: field('secretBinding')! };
    const done = await browser.request(new URL(action, stepUrl).href, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: t.base },
      body: new URLSearchParams({ ...fields, code: generateSync({ secret, epoch: Math.floor(clock.now() / 1000) }) }).toString(),
    });
    // The enrolment ends on the page of ten backup codes, shown once; its link resumes the authorization.
    expect(done.status).toBe(200);
    const codesPage = await done.text();
    expect(codesPage.match(/<li><code>[0-9a-f]{10}<\/code><\/li>/g)).toHaveLength(10);
    const resume = /<a class="button" href="([^"]+)"/.exec(codesPage)![1]!.replace(/&amp;/g, '&');
    const { url: rpCallback } = await browser.follow(new URL(resume, t.base).href, t.base);
    expect(rpCallback.startsWith(RP_REDIRECT)).toBe(true);
    const tokens = await client.authorizationCodeGrant(config, new URL(rpCallback), { pkceCodeVerifier: verifier, expectedState: state });
    const claims = tokens.claims()!;
    expect(claims.amr).toEqual(['fed', 'otp', 'mfa']);
    const factors = await t.app.services.mfa.listFactors(claims.sub);
    expect(factors.map((f) => f.kind).sort()).toEqual(['backup_codes', 'totp']);
  });
});

describe.each(dialects)('Social link by verified email (on) on %s', (_name, database) => {
  let t: RunningApp;
  let db: Awaited<ReturnType<DatabaseFactory>>;
  let google: OidcIdp;
  let googleId: string;
  const clock = new ManualClock(Date.now());

  beforeAll(async () => {
    db = await database();
    t = await startAppWithPublicUrl({
      databaseUrl: db.url,
      adminClientId: ADMIN_ID,
      adminClientSecret: ADMIN_SECRET,
      social: { redirectUris: [APP_REDIRECT], linkByVerifiedEmail: true },
    }, { clock });
    google = await startOidcIdp([{ client_id: GOOGLE_CLIENT, client_secret: GOOGLE_SECRET, redirect_uris: [APP_REDIRECT], token_endpoint_auth_method: 'client_secret_basic' }]);
    const mgmt = await managementToken(t.base);
    const res = await t.call('POST', '/api/connectors', {
      token: mgmt,
      body: { type: 'oidc', target: 'google', name: 'Google', config: { clientId: GOOGLE_CLIENT, clientSecret: GOOGLE_SECRET, issuer: google.issuer } },
    });
    expect(res.status).toBe(201);
    googleId = (await res.json()).id;
  });
  afterAll(async () => {
    await t?.close();
    await google?.close();
    await db?.drop();
  });

  async function signInAs(account: string) {
    google.nextAccount = account;
    const started = await (await t.call('POST', '/api/auth/social/start', { body: { connectorId: googleId, redirectUri: APP_REDIRECT } })).json();
    const back = await driveIdp(started.authorizationUri, google.issuer);
    const res = await t.call('POST', '/api/auth/social/callback', { body: { connectorId: googleId, state: started.state, code: back.searchParams.get('code') } });
    return { status: res.status, body: await res.json() };
  }

  async function localUser(email: string, verified: boolean) {
    const res = await t.call('POST', '/api/auth/sign-up', { body: { username: uniq('l'), email, password: PW } });
    expect(res.status).toBe(201);
    const id = (await res.json()).user.id as string;
    if (verified) await t.app.services.users.update(id, { emailVerified: true });
    return id;
  }

  it('links to the account with the same verified email when the provider says it is verified', async () => {
    const email = `${uniq('carol')}@example.test`;
    const id = await localUser(email, true);
    google.accounts.set('g-carol', { sub: 'g-carol', email: email.toUpperCase(), email_verified: true, name: 'Carol' });
    const result = await signInAs('g-carol');
    expect(result.status).toBe(200);
    expect(result.body.user.id).toBe(id);
  });

  it('does not link when the provider does not vouch for the email', async () => {
    const email = `${uniq('dave')}@example.test`;
    const id = await localUser(email, true);
    google.accounts.set('g-dave', { sub: 'g-dave', email, email_verified: false });
    const result = await signInAs('g-dave');
    expect(result.status).toBe(200);
    expect(result.body.user.id).not.toBe(id);
    expect(result.body.user.primaryEmail).toBeNull();
  });

  it('refuses to link to a local account whose own email is unverified (pre-hijacking)', async () => {
    const email = `${uniq('erin')}@example.test`;
    await localUser(email, false);
    google.accounts.set('g-erin', { sub: 'g-erin', email, email_verified: true });
    const result = await signInAs('g-erin');
    expect(result.status).toBe(409);
    expect(result.body.code).toBe('user.email_taken');
  });

  it('refuses a suspended user', async () => {
    const email = `${uniq('sam')}@example.test`;
    const id = await localUser(email, true);
    google.accounts.set('g-sam', { sub: 'g-sam', email, email_verified: true });
    expect((await signInAs('g-sam')).body.user.id).toBe(id);
    await t.app.services.users.update(id, { isSuspended: true });
    const refused = await signInAs('g-sam');
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('auth.user_suspended');
  });

  it('refuses a state older than 10 minutes', async () => {
    google.accounts.set('g-late', { sub: 'g-late', name: 'Late' });
    google.nextAccount = 'g-late';
    const started = await (await t.call('POST', '/api/auth/social/start', { body: { connectorId: googleId, redirectUri: APP_REDIRECT } })).json();
    const back = await driveIdp(started.authorizationUri, google.issuer);
    clock.advance(10 * 60_000 + 1);
    const res = await t.call('POST', '/api/auth/social/callback', { body: { connectorId: googleId, state: started.state, code: back.searchParams.get('code') } });
    expect(res.status).toBe(400);
    expect((await res.json()).code).toBe('connector.session_not_found');
  });
});

describe.each(dialects)('WeChat connector and LeanCloud weixin authData on %s', (_name, database) => {
  let t: RunningApp;
  let db: Awaited<ReturnType<DatabaseFactory>>;
  let wx: WeChatServer;
  let wechatId: string;

  beforeAll(async () => {
    db = await database();
    t = await startAppWithPublicUrl({
      databaseUrl: db.url,
      adminClientId: ADMIN_ID,
      adminClientSecret: ADMIN_SECRET,
      social: { redirectUris: [APP_REDIRECT] },
      leancloud: { appId: LC_KEYS.appId, appKey: LC_KEYS.appKey },
    });
    wx = await startWeChatServer('wx-app-id-1', 'wx-app-secret-1');
    const res = await t.call('POST', '/api/connectors', {
      token: await managementToken(t.base),
      body: {
        preset: 'wechat',
        name: '微信',
        config: {
          clientId: 'wx-app-id-1',
          clientSecret: 'wx-app-secret-1',
          authorizationEndpoint: `${wx.base}/connect/qrconnect`,
          tokenEndpoint: `${wx.base}/sns/oauth2/access_token`,
          userinfoEndpoint: `${wx.base}/sns/userinfo`,
        },
      },
    });
    expect(res.status).toBe(201);
    wechatId = (await res.json()).id;
  });
  afterAll(async () => {
    await t?.close();
    await wx?.close();
    await db?.drop();
  });

  it('signs in the imported LeanCloud user whose authData.weixin has the same openid (one identity row)', async () => {
    // The operator's LeanCloud export is trusted (verified row); a row written from client authData is
    // not, and the connector refuses it (test/identity-trust.test.ts).
    const lcUserId = '5d831acb9c923500080000a1';
    const imported = await new LeanCloudImporter(t.app.services.users, t.app.services.identities, t.app.services.store).importRow({
      objectId: lcUserId,
      username: 'wx-imported',
      authData: { weixin: { openid: 'oWX-0001', access_token: 'lc-token', expires_in: 7200 } },
    });
    expect(imported).toEqual({ status: 'imported', objectId: lcUserId });

    wx.users.set('w1', { openid: 'oWX-0001', unionid: 'uWX-9', nickname: '小明', headimgurl: 'https://wx.test/h.png' });
    wx.nextUser = 'w1';
    const started = await (await t.call('POST', '/api/auth/social/start', { body: { connectorId: wechatId, redirectUri: APP_REDIRECT } })).json();
    const back = await driveIdp(started.authorizationUri, wx.base);
    const res = await t.call('POST', '/api/auth/social/callback', { body: { connectorId: wechatId, state: started.state, query: Object.fromEntries(back.searchParams) } });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.user.id).toBe(lcUserId);
    const identities = await t.app.services.identities.list(lcUserId);
    expect(identities.filter((i) => i.provider === 'weixin').map((i) => i.subject)).toEqual(['oWX-0001']);
    expect(identities.find((i) => i.provider === 'weixin')!.data).toMatchObject({ openid: 'oWX-0001', unionid: 'uWX-9', nickname: '小明', access_token: 'lc-token' });

    // A used code is answered by WeChat with HTTP 200 {errcode}: refused.
    const fresh = await (await t.call('POST', '/api/auth/social/start', { body: { connectorId: wechatId, redirectUri: APP_REDIRECT } })).json();
    const replay = await t.call('POST', '/api/auth/social/callback', { body: { connectorId: wechatId, state: fresh.state, code: back.searchParams.get('code') } });
    expect(replay.status).toBe(400);
    expect((await replay.json()).code).toBe('connector.authorization_failed');
  });
});

describe.each(dialects)('Provider token storage (Logto Secret Vault) on %s', (_name, database) => {
  const VAULT_KEY = randomBytes(32).toString('base64');
  const clock = new ManualClock(Date.now());
  let t: RunningApp;
  let db: Awaited<ReturnType<DatabaseFactory>>;
  let gh: OAuthServer;
  let mgmt: string;
  let githubId: string;

  beforeAll(async () => {
    db = await database();
    t = await startAppWithPublicUrl(
      {
        databaseUrl: db.url,
        adminClientId: ADMIN_ID,
        adminClientSecret: ADMIN_SECRET,
        social: { redirectUris: [APP_REDIRECT], timeoutSeconds: 5, tokenVaultKey: VAULT_KEY },
      },
      { clock },
    );
    gh = await startOAuthServer(GH_CLIENT, GH_SECRET);
    gh.tokenLifetime = { expiresIn: 3600 };
    mgmt = await managementToken(t.base);
    const created = await call('POST', '/api/connectors', {
      preset: 'github',
      name: 'GitHub',
      enableTokenStorage: true,
      config: githubConfig(gh),
    }, mgmt);
    expect(created.status).toBe(201);
    expect(created.body.enableTokenStorage).toBe(true);
    githubId = created.body.id;
    expect((await call('PATCH', '/api/account-center', { enabled: true, fields: { social: 'ReadOnly' } }, mgmt)).status).toBe(200);
  });
  afterAll(async () => {
    await t?.close();
    await gh?.close();
    await db?.drop();
  });

  async function call(method: string, path: string, body?: unknown, token?: string) {
    const res = await t.call(method, path, { ...(body !== undefined ? { body } : {}), ...(token ? { token } : {}) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null, text, headers: res.headers };
  }

  /** A first-party social sign-in as the GitHub-shaped server's user `login`; the Tessera session token and user id. */
  async function signInAs(login: string, id: number) {
    gh.users.set(login, { id, login, name: login, emails: [] });
    gh.nextUser = login;
    const started = await call('POST', '/api/auth/social/start', { connectorId: githubId, redirectUri: APP_REDIRECT });
    expect(started.status).toBe(200);
    const back = await driveIdp(started.body.authorizationUri, gh.base);
    const done = await call('POST', '/api/auth/social/callback', { connectorId: githubId, state: started.body.state, query: Object.fromEntries(back.searchParams) });
    expect(done.status).toBe(200);
    return { token: done.body.session.token as string, userId: done.body.user.id as string };
  }

  /** Who the provider says the token belongs to (its own /user endpoint). */
  const providerUser = async (accessToken: string) => {
    const res = await fetch(`${gh.base}/user`, { headers: { authorization: `Bearer ${accessToken}` } });
    return res.status === 200 ? ((await res.json()) as { login: string }).login : res.status;
  };

  it('keeps the tokens of a sign-in sealed and hands the access token to its user (no-store); the administrator sees metadata only', async () => {
    const { token, userId } = await signInAs(uniq('vault'), 880001);
    const got = await call('GET', '/api/my-account/identities/github/access-token', undefined, token);
    expect(got.status).toBe(200);
    expect(got.headers.get('cache-control')).toBe('no-store');
    expect(got.body).toEqual({ access_token: expect.any(String), token_type: 'bearer', scope: 'read:user,user:email', expires_in: expect.any(Number) });
    expect(got.body.expires_in).toBeGreaterThan(3590);
    expect(got.body.expires_in).toBeLessThanOrEqual(3600);
    expect(await providerUser(got.body.access_token)).toMatch(/^vault/);

    // At rest: sealed, not the token; the identity's details carry no token either.
    const rows = await t.app.database.db.selectFrom('social_token_sets').selectAll().where('user_id', '=', userId).execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.sealed).not.toContain(got.body.access_token);
    expect(rows[0]!.sealed.startsWith('v1.')).toBe(true);
    const identity = await call('GET', `/api/users/${userId}/identities/github?includeTokenSecret=true`, undefined, mgmt);
    expect(identity.status).toBe(200);
    expect(identity.text).not.toContain(got.body.access_token);
    expect(identity.text).not.toContain('r1.');
    expect(identity.body.tokenSecret).toEqual({
      userId, type: 'FederatedTokenSet', connectorId: githubId, identityId: '880001', target: 'github',
      metadata: { scope: 'read:user,user:email', tokenType: 'bearer', expiresAt: expect.any(Number), hasRefreshToken: true },
      createdAt: expect.any(Number), updatedAt: expect.any(Number),
    });
    expect(identity.body.tokenSecret.metadata.expiresAt).toBeGreaterThan(Math.floor(clock.now() / 1000) + 3500);
    expect((await call('GET', `/api/users/${userId}/identities/github`, undefined, mgmt)).body.tokenSecret).toBeUndefined();

    // Nobody else reads it: another user has no such identity; no token, no answer.
    const other = await call('POST', '/api/auth/sign-up', { username: uniq('nobody'), password: PW });
    const theirs = await call('GET', '/api/my-account/identities/github/access-token', undefined, other.body.session.token);
    expect(theirs.status).toBe(404);
    expect(theirs.body.code).toBe('secrets.third_party_token_set.token_not_found');
    expect((await call('GET', '/api/my-account/identities/github/access-token')).status).toBe(401);
  });

  it('refreshes an expired access token with the kept refresh token; a refused refresh deletes the set (401, then 404)', async () => {
    const { token } = await signInAs(uniq('fresh'), 880002);
    const first = (await call('GET', '/api/my-account/identities/github/access-token', undefined, token)).body.access_token as string;
    clock.advance(3601_000);
    const refreshesBefore = gh.refreshes;
    const renewed = await call('GET', '/api/my-account/identities/github/access-token', undefined, token);
    expect(renewed.status).toBe(200);
    expect(gh.refreshes).toBe(refreshesBefore + 1);
    expect(renewed.body.access_token).not.toBe(first);
    expect(renewed.body.expires_in).toBeGreaterThan(3590);
    expect(await providerUser(renewed.body.access_token)).toMatch(/^fresh/);
    // Within its lifetime the kept token is answered as it is.
    expect((await call('GET', '/api/my-account/identities/github/access-token', undefined, token)).body.access_token).toBe(renewed.body.access_token);
    expect(gh.refreshes).toBe(refreshesBefore + 1);

    clock.advance(3601_000);
    gh.refuseRefresh = true;
    try {
      const expired = await call('GET', '/api/my-account/identities/github/access-token', undefined, token);
      expect(expired.status).toBe(401);
      expect(expired.body.code).toBe('secrets.third_party_token_set.access_token_expired');
      expect(expired.text).not.toContain('r1.');
      const gone = await call('GET', '/api/my-account/identities/github/access-token', undefined, token);
      expect(gone.status).toBe(404);
    } finally {
      gh.refuseRefresh = false;
    }
  });

  it('a link through the Account API keeps the tokens too; the verification record carries them only sealed', async () => {
    expect((await call('PATCH', '/api/account-center', { enabled: true, fields: { social: 'Edit' } }, mgmt)).status).toBe(200);
    try {
      const signUp = await call('POST', '/api/auth/sign-up', { username: uniq('binder'), password: PW });
      const token = signUp.body.session.token as string;
      const proof = (await call('POST', '/api/verifications/password', { password: PW }, token)).body.verificationRecordId as string;
      const started = await call('POST', '/api/verifications/social', { connectorId: githubId, redirectUri: APP_REDIRECT, state: 'st-binder' }, token);
      expect(started.status).toBe(201);
      gh.users.set('binder-gh', { id: 880006, login: 'binder-gh', emails: [] });
      gh.nextUser = 'binder-gh';
      const back = await driveIdp(started.body.authorizationUri, gh.base);
      const verified = await call('POST', '/api/verifications/social/verify', { connectorData: Object.fromEntries(back.searchParams), verificationRecordId: started.body.verificationRecordId }, token);
      expect(verified.status).toBe(200);
      const record = await t.app.database.db.selectFrom('social_sessions').select('result').where('id', '=', started.body.verificationRecordId).executeTakeFirstOrThrow();
      expect(record.result).not.toMatch(/access_token|accessToken|refresh_token|refreshToken|"r1\./);
      expect(JSON.parse(record.result!).tokenSet.sealed).toMatch(/^v1\./);
      const linked = await t.call('POST', '/api/my-account/identities', { token, body: { newIdentifierVerificationRecordId: started.body.verificationRecordId }, headers: { 'logto-verification-id': proof } });
      expect(linked.status).toBe(204);
      const got = await call('GET', '/api/my-account/identities/github/access-token', undefined, token);
      expect(got.status).toBe(200);
      expect(await providerUser(got.body.access_token)).toBe('binder-gh');
    } finally {
      await call('PATCH', '/api/account-center', { enabled: true, fields: { social: 'ReadOnly' } }, mgmt);
    }
  });

  it('PUT …/access-token keeps the tokens of a fresh verification of an identity the user has, once; other accounts and targets are refused', async () => {
    const login = uniq('renew');
    const { token } = await signInAs(login, 880007);
    const before = (await call('GET', '/api/my-account/identities/github/access-token', undefined, token)).body.access_token as string;
    /** A verified social record of the GitHub-shaped server's user `who`, for this session. */
    const verifiedRecord = async (who: string) => {
      gh.nextUser = who;
      const started = await call('POST', '/api/verifications/social', { connectorId: githubId, redirectUri: APP_REDIRECT, state: `st-${who}` }, token);
      expect(started.status).toBe(201);
      const back = await driveIdp(started.body.authorizationUri, gh.base);
      expect((await call('POST', '/api/verifications/social/verify', { connectorData: Object.fromEntries(back.searchParams), verificationRecordId: started.body.verificationRecordId }, token)).status).toBe(200);
      return started.body.verificationRecordId as string;
    };
    const record = await verifiedRecord(login);
    const wrongTarget = await call('PUT', '/api/my-account/identities/google/access-token', { verificationRecordId: record }, token);
    expect(wrongTarget.status).toBe(422);
    expect(wrongTarget.body.code).toBe('verification_record.social_verification.invalid_target');
    const renewed = await call('PUT', '/api/my-account/identities/github/access-token', { verificationRecordId: record }, token);
    expect(renewed.status).toBe(200);
    expect(renewed.headers.get('cache-control')).toBe('no-store');
    expect(renewed.body.access_token).not.toBe(before);
    expect(await providerUser(renewed.body.access_token)).toBe(login);
    expect((await call('GET', '/api/my-account/identities/github/access-token', undefined, token)).body.access_token).toBe(renewed.body.access_token);
    const replay = await call('PUT', '/api/my-account/identities/github/access-token', { verificationRecordId: record }, token);
    expect(replay.status).toBe(400);
    expect(replay.body.code).toBe('verification_record.not_found');

    gh.users.set('stranger-gh', { id: 880008, login: 'stranger-gh', emails: [] });
    const stranger = await call('PUT', '/api/my-account/identities/github/access-token', { verificationRecordId: await verifiedRecord('stranger-gh') }, token);
    expect(stranger.status).toBe(422);
    expect(stranger.body.code).toBe('user.identity_not_exists_in_current_user');
    expect((await call('GET', '/api/my-account/identities/github/access-token', undefined, token)).body.access_token).toBe(renewed.body.access_token);
  });

  it('the set lives with its identity: unlinking deletes it; turning storage off deletes every set of the connector and keeps no new ones', async () => {
    const a = await signInAs(uniq('unl'), 880003);
    expect((await call('GET', '/api/my-account/identities/github/access-token', undefined, a.token)).status).toBe(200);
    // A username first, so the identity is not the last way to sign in; then the administrator unlinks it.
    expect((await call('PATCH', `/api/users/${a.userId}`, { username: uniq('kept') }, mgmt)).status).toBe(200);
    expect((await call('DELETE', `/api/users/${a.userId}/identities/github`, undefined, mgmt)).status).toBe(200);
    expect(await t.app.database.db.selectFrom('social_token_sets').select('user_id').where('user_id', '=', a.userId).execute()).toEqual([]);

    const b = await signInAs(uniq('off'), 880004);
    expect((await call('GET', '/api/my-account/identities/github/access-token', undefined, b.token)).status).toBe(200);
    const off = await call('PATCH', `/api/connectors/${githubId}`, { enableTokenStorage: false }, mgmt);
    expect(off.status).toBe(200);
    expect(off.body.enableTokenStorage).toBe(false);
    expect((await call('GET', '/api/my-account/identities/github/access-token', undefined, b.token)).status).toBe(404);
    const again = await signInAs(uniq('off2'), 880005);
    expect((await call('GET', '/api/my-account/identities/github/access-token', undefined, again.token)).status).toBe(404);
    expect((await call('PATCH', `/api/connectors/${githubId}`, { enableTokenStorage: true }, mgmt)).status).toBe(200);
  });
});
