import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrganizationService } from '../src/domain/organizations/index.js';
import { Browser } from './browser.js';
import { type DatabaseFactory, dialects, type RunningApp, startAppWithPublicUrl } from './helpers.js';
import { formField } from './oidc-helpers.js';

/**
 * Issue 18 §3–4, organization tokens (Logto RFC 0001 and 0006), through real HTTP on SQLite and PostgreSQL:
 * a member who signed in with `urn:logto:scope:organizations` and `offline_access` trades the refresh token and
 * `organization_id` for a JWT (verified against the JWKS with jose) with `aud: urn:logto:organization:<id>` whose
 * scope is the requested organization permissions their organization roles hold; a non-member, a refresh token
 * without the scope and a member without a second factor in an MFA organization are refused (`access_denied` /
 * `insufficient_scope`, 403) and their refresh token keeps working; removing the role empties the next token;
 * an M2M member app gets its organization permissions by client_credentials, a non-member app is refused; the
 * ID token and userinfo carry `organizations`, `organization_roles` (and userinfo `organization_data`); a Logto
 * SDK's sign-in (which adds `resource=urn:logto:resource:organizations`) works; a third-party application gets no
 * organization token; a personal access token is exchanged for one (token exchange with `organization_id`).
 */

const ADMIN_ID = 'org-tokens-admin';
const ADMIN_SECRET = 'org-tokens-admin-secret-0123456789';
const PW = 'amber-quarry-9-compass';
const REDIRECT = 'https://app.example.com/callback';
const ORGS = 'urn:logto:scope:organizations';
const ORG_ROLES = 'urn:logto:scope:organization_roles';

describe.each(dialects)('organization tokens on %s', (_name, database: DatabaseFactory) => {
  let t: RunningApp;
  let db: Awaited<ReturnType<DatabaseFactory>>;
  let orgs: OrganizationService;
  let web: { id: string; secret: string };
  let issuer: string;
  let org: { id: string; name: string };
  let other: { id: string };
  let editor: { id: string; name: string };
  let m2mRole: { id: string };

  beforeAll(async () => {
    db = await database();
    t = await startAppWithPublicUrl({ databaseUrl: db.url, adminClientId: ADMIN_ID, adminClientSecret: ADMIN_SECRET });
    orgs = t.app.services.organizations;
    issuer = `${t.base}/oidc`;
    const app = await t.app.services.applications.create({ name: 'Web', type: 'traditional', redirectUris: [REDIRECT] });
    web = { id: app.application.id, secret: app.secret! };
    const [read, write] = [await orgs.createScope({ name: 'read:data' }), await orgs.createScope({ name: 'write:data' })];
    await orgs.createScope({ name: 'delete:data' });
    // A permission name with a space cannot be an OAuth scope token: it is never issued, nor any part of it.
    const spaced = await orgs.createScope({ name: 'read everything' });
    editor = await orgs.createRole({ name: 'Editor', organizationScopeIds: [read.id, write.id, spaced.id] });
    m2mRole = await orgs.createRole({ name: 'Sync', type: 'MachineToMachine', organizationScopeIds: [read.id] });
    org = await orgs.create({ name: 'Acme', description: 'the first' });
    other = await orgs.create({ name: 'Globex' });
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  const jwks = () => createRemoteJWKSet(new URL(`${issuer}/jwks`));
  const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
  async function token(id: string, secret: string, params: Record<string, string>) {
    const res = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(id, secret) },
      body: new URLSearchParams(params).toString(),
    });
    return { status: res.status, body: (await res.json()) as Record<string, string> };
  }
  const refresh = (refreshToken: string, params: Record<string, string> = {}) =>
    token(web.id, web.secret, { grant_type: 'refresh_token', refresh_token: refreshToken, ...params });

  /** A new user, signed in through the hosted page (code flow + PKCE) with `scope` at `app` (a third party's consent page is answered "Allow"). */
  async function signIn(scope: string, app = web, resource?: string) {
    const username = `org${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    const user = await t.app.services.users.create({ username, password: PW });
    const config = await client.discovery(new URL(issuer), app.id, app.secret, client.ClientSecretBasic(app.secret), { execute: [client.allowInsecureRequests] });
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope,
      // node-oidc-provider issues a refresh token (offline_access) only with prompt=consent.
      prompt: 'consent',
      ...(resource ? { resource } : {}),
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
    let { res: landed, url: callback } = await browser.follow(new URL(posted.headers.get('location')!, pageUrl).href, t.base);
    if (!callback.startsWith(REDIRECT)) {
      const consent = await landed.text();
      const allow = new URL(/action="([^"]+\/consent)"/.exec(consent)![1]!, callback).href;
      const answered = await browser.request(allow, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: t.base },
        body: new URLSearchParams({ csrf: formField(consent, 'csrf') ?? '' }).toString(),
      });
      expect(answered.status).toBe(303);
      ({ res: landed, url: callback } = await browser.follow(new URL(answered.headers.get('location')!, callback).href, t.base));
    }
    expect(callback.startsWith(REDIRECT)).toBe(true);
    const tokens = await client.authorizationCodeGrant(config, new URL(callback), { pkceCodeVerifier: verifier, expectedState: state });
    return { user, config, tokens };
  }

  it('discovery lists the organization scopes and claims', async () => {
    const res = await fetch(`${issuer}/.well-known/openid-configuration`);
    const body = (await res.json()) as { scopes_supported: string[]; claims_supported: string[] };
    expect(body.scopes_supported).toEqual(expect.arrayContaining([ORGS, ORG_ROLES]));
    expect(body.claims_supported).toEqual(expect.arrayContaining(['organizations', 'organization_roles']));
  });

  it('a member trades the refresh token for an organization token with the permissions their roles hold', async () => {
    const { user, config, tokens } = await signIn(`openid offline_access ${ORGS} ${ORG_ROLES}`);
    await orgs.addMembers(org.id, [user.id]);
    await orgs.addMemberRoles(org.id, [user.id], [editor.id]);

    // Requested ∩ held: `delete:data` is not held, `read` is only part of a held name.
    const asked = await refresh(tokens.refresh_token!, { organization_id: org.id, scope: 'read:data delete:data read' });
    expect(asked.status).toBe(200);
    expect(asked.body).toMatchObject({ token_type: 'Bearer', scope: 'read:data', expires_in: 3600 });
    const { payload, protectedHeader } = await jwtVerify(asked.body.access_token!, jwks(), { issuer, audience: `urn:logto:organization:${org.id}`, typ: 'at+jwt' });
    expect(protectedHeader.alg).toBe('ES256');
    expect(payload).toMatchObject({ sub: user.id, client_id: web.id, scope: 'read:data' });
    // The answer is a refresh answer: a rotated refresh token and an ID token with the organization claims.
    expect(asked.body.refresh_token).toBeTruthy();
    expect(asked.body.refresh_token).not.toBe(tokens.refresh_token);
    expect(decodeJwt(asked.body.id_token!)).toMatchObject({ sub: user.id, organizations: [org.id], organization_roles: [`${org.id}:Editor`] });

    // Nothing requested: every organization permission held (a name with a space is never issued).
    const all = await refresh(asked.body.refresh_token!, { organization_id: org.id });
    expect(all.status).toBe(200);
    expect(all.body.scope!.split(' ').sort()).toEqual(['read:data', 'write:data']);

    // The rotated refresh token keeps working for a plain refresh (same rotation as without organization_id),
    // and the replaced token of the organization request is a refresh token like any other.
    const plain = await client.refreshTokenGrant(config, all.body.refresh_token!);
    expect(plain.access_token).toBeTruthy();
    expect(decodeJwt(plain.id_token!)).toMatchObject({ organizations: [org.id] });
    // The role goes: the next organization token carries no scope.
    await orgs.removeMemberRole(org.id, user.id, editor.id);
    const none = await refresh(plain.refresh_token!, { organization_id: org.id, scope: 'read:data' });
    expect(none.status).toBe(200);
    expect(none.body.scope).toBe('');
    const after = await jwtVerify(none.body.access_token!, jwks(), { issuer, audience: `urn:logto:organization:${org.id}` });
    expect(after.payload.scope).toBeUndefined();
    expect(decodeJwt(none.body.id_token!)).toMatchObject({ organizations: [org.id], organization_roles: [] });

    // A used refresh token is refused with organization_id too (the plain grant's reuse detection).
    expect((await refresh(all.body.refresh_token!, { organization_id: org.id })).body.error).toBe('invalid_grant');
  });

  it('a Logto SDK sign-in (resource urn:logto:resource:organizations) works, and no token is issued for that resource', async () => {
    const { user, tokens } = await signIn(`openid offline_access ${ORGS}`, web, 'urn:logto:resource:organizations');
    expect(tokens.access_token.split('.')).toHaveLength(1); // the userinfo token, as without the resource
    await orgs.addMembers(org.id, [user.id]);
    await orgs.addMemberRoles(org.id, [user.id], [editor.id]);
    const organization = await refresh(tokens.refresh_token!, { organization_id: org.id, scope: 'write:data' });
    expect(organization).toMatchObject({ status: 200, body: { scope: 'write:data' } });
    const refused = await refresh(organization.body.refresh_token!, { resource: 'urn:logto:resource:organizations' });
    expect(refused.body.error).toBe('invalid_target');
  });

  it('a non-member is refused as Logto refuses, and the refresh token keeps working', async () => {
    const { tokens } = await signIn(`openid offline_access ${ORGS}`);
    for (const organizationId of [other.id, 'no-such-organization']) {
      const refused = await refresh(tokens.refresh_token!, { organization_id: organizationId });
      expect(refused).toMatchObject({ status: 403, body: { error: 'access_denied', error_description: 'user is not a member of the organization' } });
    }
    // Not consumed: the same refresh token still refreshes.
    const plain = await refresh(tokens.refresh_token!);
    expect(plain.status).toBe(200);
    expect(decodeJwt(plain.body.id_token!)).toMatchObject({ organizations: [] });
  });

  it('needs the organizations scope on the refresh token, and no resource besides organization_id', async () => {
    const { user, tokens } = await signIn('openid offline_access');
    await orgs.addMembers(org.id, [user.id]);
    const refused = await refresh(tokens.refresh_token!, { organization_id: org.id });
    expect(refused).toMatchObject({ status: 403, body: { error: 'insufficient_scope', scope: ORGS } });
    expect((await refresh(tokens.refresh_token!, { organization_id: org.id, resource: 'https://api.example.com' })).body.error).toBe('invalid_request');
    // Both refusals left the refresh token usable.
    const plain = await refresh(tokens.refresh_token!);
    expect(plain.status).toBe(200);
    // An organization is never a resource of its own.
    expect((await refresh(plain.body.refresh_token!, { resource: `urn:logto:organization:${org.id}` })).body.error).toBe('invalid_target');
  });

  it('an organization that requires MFA refuses a member without a second factor', async () => {
    const mfaOrg = await orgs.create({ name: 'Secure', isMfaRequired: true });
    const { user, tokens } = await signIn(`openid offline_access ${ORGS}`);
    await orgs.addMembers(mfaOrg.id, [user.id]);
    const refused = await refresh(tokens.refresh_token!, { organization_id: mfaOrg.id });
    expect(refused).toMatchObject({ status: 403, body: { error: 'access_denied', error_description: 'organization requires MFA but user has no MFA configured' } });
    await t.app.services.mfa.addTotp(user.id, 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP');
    const granted = await refresh(tokens.refresh_token!, { organization_id: mfaOrg.id });
    expect(granted.status).toBe(200);
    expect(decodeJwt(granted.body.access_token!).aud).toBe(`urn:logto:organization:${mfaOrg.id}`);
  });

  it('userinfo carries organizations, organization_data and organization_roles', async () => {
    const { user, config, tokens } = await signIn(`openid ${ORGS} ${ORG_ROLES}`);
    await orgs.addMembers(org.id, [user.id]);
    await orgs.addMemberRoles(org.id, [user.id], [editor.id]);
    const info = await client.fetchUserInfo(config, tokens.access_token, user.id);
    expect(info).toMatchObject({
      sub: user.id,
      organizations: [org.id],
      organization_roles: [`${org.id}:Editor`],
      organization_data: [{ id: org.id, name: 'Acme', description: 'the first' }],
    });
    // The sign-in's ID token (before the membership) names none; organization_data stays out of ID tokens.
    expect(tokens.claims()).toMatchObject({ organizations: [], organization_roles: [] });
    expect(tokens.claims()).not.toHaveProperty('organization_data');
  });

  it('an M2M member app gets its organization permissions by client_credentials; a non-member app is refused', async () => {
    const job = await t.app.services.applications.create({ name: 'Sync job', type: 'm2m' });
    const id = job.application.id;
    const ask = (params: Record<string, string>) => token(id, job.secret!, { grant_type: 'client_credentials', ...params });

    const refused = await ask({ organization_id: org.id, scope: 'read:data' });
    expect(refused).toMatchObject({ status: 403, body: { error: 'access_denied', error_description: 'app has not associated with the organization' } });

    await orgs.addApplications(org.id, [id]);
    await orgs.addApplicationRoles(org.id, [id], [m2mRole.id]);
    const granted = await ask({ organization_id: org.id, scope: 'read:data write:data' });
    expect(granted).toMatchObject({ status: 200, body: { scope: 'read:data', expires_in: 3600 } });
    const { payload } = await jwtVerify(granted.body.access_token!, jwks(), { issuer, audience: `urn:logto:organization:${org.id}`, typ: 'at+jwt' });
    expect(payload).toMatchObject({ sub: id, client_id: id, scope: 'read:data' });

    // Nothing requested, nothing issued (as for any resource of this grant, and as Logto).
    const bare = await ask({ organization_id: org.id });
    expect(bare.status).toBe(200);
    expect(bare.body.scope).toBeUndefined();
    // Membership is per organization; an organization is asked with organization_id only.
    expect((await ask({ organization_id: other.id, scope: 'read:data' })).body.error).toBe('access_denied');
    expect((await ask({ resource: `urn:logto:organization:${org.id}`, scope: 'read:data' })).body.error).toBe('invalid_target');
    expect((await ask({ organization_id: org.id, resource: `urn:logto:organization:${org.id}` })).body.error).toBe('invalid_request');

    // Its role goes: the next token carries no scope.
    await orgs.removeApplicationRole(org.id, id, m2mRole.id);
    const after = await ask({ organization_id: org.id, scope: 'read:data' });
    expect(after.status).toBe(200);
    expect(after.body.scope).toBeUndefined();
  });

  it('a third-party application gets no organization token (no per-organization consent in Tessera)', async () => {
    const created = await t.app.services.applications.create({ name: 'Outsider', type: 'traditional', redirectUris: [REDIRECT], isThirdParty: true });
    const outsider = { id: created.application.id, secret: created.secret! };
    const { user, tokens } = await signIn(`openid offline_access ${ORGS}`, outsider);
    expect(tokens.refresh_token).toBeTruthy();
    await orgs.addMembers(org.id, [user.id]);
    const refused = await token(outsider.id, outsider.secret, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token!, organization_id: org.id });
    expect(refused).toMatchObject({ status: 403, body: { error: 'access_denied', error_description: 'organization access is not granted to the application' } });
    expect((await token(outsider.id, outsider.secret, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! })).status).toBe(200);
  });

  it('a personal access token is exchanged for an organization token of a member', async () => {
    const created = await t.app.services.applications.create({ name: 'Exchanger', type: 'traditional', redirectUris: [REDIRECT], allowTokenExchange: true });
    const exchanger = { id: created.application.id, secret: created.secret! };
    const user = await t.app.services.users.create({ username: `pat${Date.now().toString(36)}`, password: PW });
    const pat = await t.app.services.personalAccessTokens.create(user.id, { name: 'ci' });
    const exchange = (params: Record<string, string>) =>
      token(exchanger.id, exchanger.secret, {
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        subject_token: pat.value,
        subject_token_type: 'urn:logto:token-type:personal_access_token',
        ...params,
      });

    expect(await exchange({ organization_id: org.id, scope: 'read:data' })).toMatchObject({
      status: 403,
      body: { error: 'access_denied', error_description: 'user is not a member of the organization' },
    });
    await orgs.addMembers(org.id, [user.id]);
    await orgs.addMemberRoles(org.id, [user.id], [editor.id]);
    const granted = await exchange({ organization_id: org.id, scope: 'read:data delete:data' });
    expect(granted).toMatchObject({ status: 200, body: { scope: 'read:data', issued_token_type: 'urn:ietf:params:oauth:token-type:access_token' } });
    const { payload } = await jwtVerify(granted.body.access_token!, jwks(), { issuer, audience: `urn:logto:organization:${org.id}`, typ: 'at+jwt' });
    expect(payload).toMatchObject({ sub: user.id, scope: 'read:data' });
    expect((await exchange({ organization_id: org.id, resource: 'https://api.example.com' })).body.error).toBe('invalid_request');
  });
});
