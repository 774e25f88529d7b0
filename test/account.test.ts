import type { FastifyRequest } from 'fastify';
import * as client from 'openid-client';
import { AccountClient } from '../sdk/src/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IssuedApplication } from '../src/domain/applications/index.js';
import type { SessionService } from '../src/domain/sessions/index.js';
import { accountAuthorizer } from '../src/http/principal.js';
import type { OpaqueAccessToken } from '../src/oidc/access-tokens.js';
import type { UserRecord } from '../src/storage/store.js';
import { type DatabaseFactory, dialects, type RunningApp, startAppWithPublicUrl, ALL_EDIT } from './helpers.js';
import { extractCode, type SmsWebhookPeer, type SmtpSink, startSmsWebhook, startSmtpSink } from './peers.js';
import { Browser } from './browser.js';

const PW = 'violet-harbor-7-lantern';
const NEW_PW = 'copper-meadow-42-quiver';
const REDIRECT = 'https://rp.example.com/callback';
const ADMIN_ID = 'tessera-admin';
const ADMIN_SECRET = 'bootstrap-secret-0123456789';



const field = (html: string, name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1];
const uniq = (p: string) => `${p}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

describe.each(dialects)('Account API and Verification API on %s', (_name, database) => {
  let t: RunningApp;
  let db: Awaited<ReturnType<DatabaseFactory>>;
  let smtp: SmtpSink;
  let sms: SmsWebhookPeer;
  let web: IssuedApplication;
  let mgmt: string;

  beforeAll(async () => {
    smtp = await startSmtpSink();
    sms = await startSmsWebhook();
    db = await database();
    t = await startAppWithPublicUrl({
      databaseUrl: db.url,
      adminClientId: ADMIN_ID,
      adminClientSecret: ADMIN_SECRET,
      email: { smtpUrl: smtp.url, from: 'Tessera Test <auth@tessera.test>' },
      sms: { webhookUrl: sms.url, webhookSecret: 'a-very-long-webhook-secret', timeoutSeconds: 2 },
      codes: { resendIntervalSeconds: 0, perIdentifierPerHour: 1000, perIpPerHour: 100_000 },
    });
    web = await t.app.services.applications.create({ name: 'Account page', type: 'traditional', redirectUris: [REDIRECT] });
    const res = await fetch(`${t.base}/oidc/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${ADMIN_ID}:${ADMIN_SECRET}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource: `${t.base}/api`, scope: 'all' }).toString(),
    });
    mgmt = (await res.json()).access_token;
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
    await sms.close();
    await db.drop();
  });

  const allEdit = ALL_EDIT;
  const setCenter = async (body: unknown) => {
    const res = await t.call('PATCH', '/api/account-center', { token: mgmt, body });
    expect(res.status).toBe(200);
  };
  /** Calls the Account API; returns status and parsed body (null when empty). */
  async function api(method: string, path: string, token: string, body?: unknown, proof?: string) {
    const res = await t.call(method, path, { token, body, headers: proof ? { 'logto-verification-id': proof } : {} });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  }

  async function signUp(extra: Record<string, unknown> = {}) {
    const username = uniq('u');
    const res = await t.call('POST', '/api/auth/sign-up', { body: { username, password: PW, ...extra } });
    expect(res.status).toBe(201);
    const body = await res.json();
    return { id: body.user.id as string, username, session: body.session.token as string };
  }

  /** The OIDC authorization code flow through the sign-in page; returns the (opaque) access token. */
  async function oidcToken(identifier: string, password = PW, scope = 'openid profile email phone offline_access') {
    const config = await client.discovery(new URL(`${t.base}/oidc`), web.application.id, web.secret!, client.ClientSecretBasic(web.secret!), {
      execute: [client.allowInsecureRequests],
    });
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope,
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
      body: new URLSearchParams({ csrf: field(html, 'csrf') ?? '', identifier, password }).toString(),
    });
    expect(posted.status).toBe(303);
    const { url: callback } = await browser.follow(new URL(posted.headers.get('location')!, pageUrl).href, t.base);
    const tokens = await client.authorizationCodeGrant(config, new URL(callback), { pkceCodeVerifier: verifier, expectedState: state });
    return tokens.access_token;
  }

  /** `POST /api/verifications/verification-code` for an email, and the code read from the SMTP sink. */
  async function emailCode(token: string, email: string) {
    const before = smtp.messages.length;
    const sent = await api('POST', '/api/verifications/verification-code', token, { identifier: { type: 'email', value: email } });
    expect(sent.status).toBe(201);
    const mail = await smtp.waitFor((m, i) => i >= before && m.to.toLowerCase() === email.toLowerCase(), 5000);
    return { id: sent.body.verificationRecordId as string, code: extractCode(mail.text) };
  }

  async function phoneCode(token: string, phone: string) {
    const before = sms.requests.length;
    const sent = await api('POST', '/api/verifications/verification-code', token, { identifier: { type: 'phone', value: phone } });
    expect(sent.status).toBe(201);
    const req = await sms.waitFor((r, i) => i >= before && r.json.to === `+${phone.replace(/^\+/, '')}`, 5000);
    return { id: sent.body.verificationRecordId as string, code: req.json.code as string };
  }

  async function provePassword(token: string, password = PW) {
    const res = await api('POST', '/api/verifications/password', token, { password });
    expect(res.status).toBe(201);
    return res.body.verificationRecordId as string;
  }

  async function newEmailRecord(token: string, email: string) {
    const { id, code } = await emailCode(token, email);
    const verified = await api('POST', '/api/verifications/verification-code/verify', token, { identifier: { type: 'email', value: email }, verificationId: id, code });
    expect(verified.status).toBe(200);
    return id;
  }

  it('replays seed 000 in order: enable, sign in with OIDC, profile, verifications, email, phone, password', async () => {
    const user = await signUp({ email: `${uniq('seed')}@example.com`, name: 'Ada' });
    const token = await oidcToken(user.username);
    expect(token.split('.')).toHaveLength(1);

    // Disabled by default: every route refuses.
    expect((await api('GET', '/api/my-account', token)).body.code).toBe('account_center.not_enabled');

    // curl -X PATCH /api/account-center --data-raw '{"enabled":true,"fields":{"username":"Edit"}}'
    await setCenter({ enabled: true, fields: { username: 'Edit' } });
    const limited = await api('GET', '/api/my-account', token);
    expect(limited.status).toBe(200);
    expect(limited.body).toMatchObject({ id: user.id, username: user.username });
    expect(limited.body).not.toHaveProperty('name');
    expect(limited.body).not.toHaveProperty('primaryEmail');
    await setCenter({ enabled: true, fields: allEdit });

    // curl /api/my-account
    const me = await api('GET', '/api/my-account', token);
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ id: user.id, username: user.username, name: 'Ada', avatar: null, hasPassword: true });
    expect(JSON.stringify(me.body)).not.toContain('argon2');

    // curl -X PATCH /api/my-account --data-raw '{"username":"...","name":"...","avatar":"..."}'
    const basics = { username: uniq('renamed'), name: 'Ada Lovelace', avatar: 'https://cdn.example.com/ada.png' };
    expect((await api('PATCH', '/api/my-account', token, basics)).body.code).toBe('verification_record.permission_denied');

    // curl -X PATCH /api/my-account/profile --data-raw '{"familyName":"...","givenName":"..."}'
    const profile = await api('PATCH', '/api/my-account/profile', token, { familyName: 'Lovelace', givenName: 'Ada' });
    expect(profile).toEqual({ status: 200, body: { familyName: 'Lovelace', givenName: 'Ada' } });
    expect((await api('PATCH', '/api/my-account/profile', token, { nickname: 'AL' })).body).toEqual({ familyName: 'Lovelace', givenName: 'Ada', nickname: 'AL' });

    // curl -X POST /api/verifications/password --data-raw '{"password":"..."}'
    const pwd = await api('POST', '/api/verifications/password', token, { password: PW });
    expect(pwd.status).toBe(201);
    expect(new Date(pwd.body.expiresAt).toISOString()).toBe(pwd.body.expiresAt);
    const proof = pwd.body.verificationRecordId as string;
    const renamed = await api('PATCH', '/api/my-account', token, basics, proof);
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject(basics);
    expect((await api('POST', '/api/verifications/password', token, { password: 'wrong-password-1' })).body.code).toBe('session.invalid_credentials');

    // Code to the current email: curl -X POST /api/verifications/verification-code, then …/verify.
    const current = me.body.primaryEmail as string;
    const own = await emailCode(token, current);
    const ownVerified = await api('POST', '/api/verifications/verification-code/verify', token, {
      identifier: { type: 'email', value: current }, verificationId: own.id, code: own.code,
    });
    expect(ownVerified).toEqual({ status: 200, body: { verificationRecordId: own.id } });

    // New email: code, verify, PATCH /api/my-account/primary-email with both records.
    const newEmail = `${uniq('new')}@example.com`;
    const newRecord = await newEmailRecord(token, newEmail);
    const bound = await api('PATCH', '/api/my-account/primary-email', token, { email: newEmail, newIdentifierVerificationRecordId: newRecord }, own.id);
    expect(bound.status).toBe(204);
    expect((await api('GET', '/api/my-account', token)).body.primaryEmail).toBe(newEmail);
    // The new-identifier record was consumed.
    expect((await api('POST', '/api/my-account/primary-email', token, { email: newEmail, newIdentifierVerificationRecordId: newRecord }, proof)).body.code).toBe('verification_record.not_found');

    // curl -X DELETE /api/my-account/primary-email -H 'logto-verification-id: …'
    expect((await api('DELETE', '/api/my-account/primary-email', token, undefined, proof)).status).toBe(204);
    expect((await api('GET', '/api/my-account', token)).body.primaryEmail).toBeNull();

    // Phone: the same two routes.
    const phone = '14155550' + String(Math.floor(Math.random() * 900) + 100);
    const sent = await phoneCode(token, phone);
    expect((await api('POST', '/api/verifications/verification-code/verify', token, { identifier: { type: 'phone', value: phone }, verificationId: sent.id, code: sent.code })).status).toBe(200);
    expect((await api('PATCH', '/api/my-account/primary-phone', token, { phone, newIdentifierVerificationRecordId: sent.id }, proof)).status).toBe(204);
    expect((await api('GET', '/api/my-account', token)).body.primaryPhone).toBe(phone);
    expect((await api('DELETE', '/api/my-account/primary-phone', token, undefined, proof)).status).toBe(204);

    // Password: policy, then change; the old password no longer proves identity.
    expect((await api('POST', '/api/my-account/password', token, { password: 'short' }, proof)).body.code).toBe('password.rejected');
    expect((await api('POST', '/api/my-account/password', token, { password: PW }, proof)).body.code).toBe('user.same_password');
    expect((await api('POST', '/api/my-account/password', token, { password: NEW_PW }, proof)).status).toBe(204);
    expect((await api('POST', '/api/verifications/password', token, { password: PW })).body.code).toBe('session.invalid_credentials');
    expect((await api('POST', '/api/verifications/password', token, { password: NEW_PW })).status).toBe(201);
    // The other (first-party) session of the user ended; this token still works.
    expect((await api('GET', '/api/my-account', user.session)).status).toBe(401);
    expect((await api('GET', '/api/my-account', token)).status).toBe(200);

    // Every change is in the audit log (who, what, when, IP, client), never a value.
    const entries = await t.app.services.store.accountAudit.listByUser(user.id, 50);
    expect(entries.map((e) => e.action).reverse()).toEqual([
      'update_profile', 'update_profile', 'update', 'bind_email', 'remove_email', 'bind_phone', 'remove_phone', 'change_password',
    ]);
    expect(entries[0]).toMatchObject({ userId: user.id, fields: ['password'], clientId: web.application.id });
    expect(entries[0]!.ip).toBeTruthy();
    expect(JSON.stringify(entries)).not.toContain(newEmail);
    expect(JSON.stringify(entries)).not.toContain(NEW_PW);
  });

  it("the SDK's AccountClient works with the opaque access token of a real OIDC sign-in (openid-client, code + PKCE)", async () => {
    const user = await signUp({ email: `${uniq('sdk')}@example.com` });
    await setCenter({ enabled: true, fields: allEdit });
    let current = await oidcToken(user.username);
    // A function: a refreshing OIDC client hands over its current token before each call.
    const account = new AccountClient({ endpoint: t.base, accessToken: () => current });
    expect(await account.getProfile()).toMatchObject({ id: user.id, username: user.username });
    expect(await account.updateProfile({ name: 'Via OIDC' })).toMatchObject({ name: 'Via OIDC' });
    const proof = await account.verifyPassword(PW);
    expect(proof.verificationRecordId).toEqual(expect.any(String));
    current = 'no-longer-valid';
    await expect(account.getProfile()).rejects.toMatchObject({ code: 'auth.unauthorized', status: 401 });
  });

  it("answers Logto's way where Logto is lenient or strict (issue 19 item 6): unknown profile keys ignored, {customData} unwrapped, {} refused, a code verifies once", async () => {
    await setCenter({ enabled: true, fields: allEdit });
    const user = await signUp({ email: `${uniq('lenient')}@example.com` });
    // PATCH /my-account/profile: an unknown key is dropped, the known ones stored.
    const profile = await api('PATCH', '/api/my-account/profile', user.session, { nickname: 'Ada', favouriteColour: 'teal' });
    expect(profile).toMatchObject({ status: 200, body: { nickname: 'Ada' } });
    expect(profile.body).not.toHaveProperty('favouriteColour');
    expect((await t.app.services.users.findById(user.id))!.profile).toEqual({ nickname: 'Ada' });
    // PATCH /my-account/custom-data with the Management API's {customData: {...}} body merges its content.
    expect(await api('PATCH', '/api/my-account/custom-data', user.session, { customData: { plan: 'pro' } })).toEqual({ status: 200, body: { plan: 'pro' } });
    expect(await api('PATCH', '/api/my-account/custom-data', user.session, { seats: 2 })).toEqual({ status: 200, body: { plan: 'pro', seats: 2 } });
    // PATCH /my-account with nothing to change: Logto's 422 entity.invalid_input.
    expect(await api('PATCH', '/api/my-account', user.session, {})).toMatchObject({ status: 422, body: { code: 'entity.invalid_input' } });
    // A code verifies once; checking it again is Logto's 400 verification_code.not_found, and the record stays a proof.
    const email = (await t.app.services.users.findById(user.id))!.primaryEmail!;
    const sent = await emailCode(user.session, email);
    const verify = () => api('POST', '/api/verifications/verification-code/verify', user.session, { identifier: { type: 'email', value: email }, verificationId: sent.id, code: sent.code });
    expect((await verify()).status).toBe(200);
    expect(await verify()).toMatchObject({ status: 400, body: { code: 'verification_code.not_found' } });
    expect((await api('DELETE', '/api/my-account/sessions/none-such', user.session, undefined, sent.id)).status).toBe(404);
  });

  it('resolves callers: missing, non-Bearer, unknown, Management JWT refused; session tokens accepted', async () => {
    await setCenter({ enabled: true, fields: allEdit });
    const user = await signUp();
    const res = await fetch(`${t.base}/api/my-account`);
    expect(res.status).toBe(401);
    expect((await res.json()).code).toBe('auth.authorization_header_missing');
    const basic = await t.call('GET', '/api/my-account', { headers: { authorization: 'Basic abc' } });
    expect(basic.status).toBe(401);
    expect((await basic.json()).code).toBe('auth.authorization_token_type_not_supported');
    expect(await api('GET', '/api/my-account', 'not-a-token')).toMatchObject({ status: 401, body: { code: 'auth.unauthorized' } });
    expect(await api('GET', '/api/my-account', mgmt)).toMatchObject({ status: 401, body: { code: 'auth.unauthorized' } });
    expect(await api('POST', '/api/verifications/password', mgmt, { password: PW })).toMatchObject({ status: 401 });
    const mine = await api('GET', '/api/my-account', user.session);
    expect(mine).toMatchObject({ status: 200, body: { id: user.id } });
    // Suspension ends the token; a revoked token is refused.
    const token = await oidcToken(user.username);
    expect((await api('GET', '/api/my-account', token)).status).toBe(200);
    const revoked = await oidcToken(user.username);
    const rev = await fetch(`${t.base}/oidc/token/revocation`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${web.application.id}:${web.secret!}`).toString('base64')}`,
      },
      body: new URLSearchParams({ token: revoked }).toString(),
    });
    expect(rev.status).toBe(200);
    expect((await api('GET', '/api/my-account', revoked)).body.code).toBe('auth.unauthorized');
    await t.app.services.users.setSuspended(user.id, true);
    expect((await api('GET', '/api/my-account', token)).status).toBe(401);
    expect((await api('GET', '/api/my-account', user.session)).status).toBe(401);
  });

  it('shows only what the token\'s scopes allow', async () => {
    await setCenter({ enabled: true, fields: allEdit });
    const user = await signUp({ email: `${uniq('sc')}@example.com`, name: 'Scoped', profile: { givenName: 'S', address: { country: 'NZ' } } });
    const bare = await api('GET', '/api/my-account', await oidcToken(user.username, PW, 'openid'));
    expect(bare.status).toBe(200);
    for (const key of ['name', 'username', 'profile', 'primaryEmail', 'primaryPhone', 'hasPassword']) expect(bare.body).not.toHaveProperty(key);
    const profileOnly = await oidcToken(user.username, PW, 'openid profile');
    const partial = await api('GET', '/api/my-account', profileOnly);
    expect(partial.body).toMatchObject({ name: 'Scoped', profile: { givenName: 'S' }, hasPassword: true });
    expect(partial.body.profile).not.toHaveProperty('address');
    expect(partial.body).not.toHaveProperty('primaryEmail');
    const full = await api('GET', '/api/my-account', await oidcToken(user.username, PW, 'openid profile email address'));
    expect(full.body).toMatchObject({ primaryEmail: expect.stringContaining('@example.com'), profile: { address: { country: 'NZ' } } });
  });

  it('lists and revokes the OAuth grants of the user', async () => {
    await setCenter({ enabled: true, fields: allEdit });
    const user = await signUp();
    const token = await oidcToken(user.username);
    const proof = await provePassword(user.session);
    const listed = await api('GET', '/api/my-account/grants', user.session, undefined, proof);
    expect(listed.status).toBe(200);
    expect(listed.body.grants.length).toBeGreaterThanOrEqual(1);
    expect(listed.body.grants[0]).toMatchObject({ clientId: web.application.id, scope: expect.stringContaining('openid') });
    const other = await signUp();
    const otherProof = await provePassword(other.session);
    const grantId = listed.body.grants[0].id as string;
    // ?appType: the web app is first-party (seed 002's connected apps, Logto's filter).
    expect((await api('GET', '/api/my-account/grants?appType=firstParty', user.session, undefined, proof)).body.grants).toEqual(listed.body.grants);
    expect((await api('GET', '/api/my-account/grants?appType=thirdParty', user.session, undefined, proof)).body).toEqual({ grants: [] });
    expect((await api('GET', '/api/my-account/grants?appType=other', user.session, undefined, proof)).status).toBe(400);
    // The Management API lists and revokes the same grants.
    const admin = async (method: string, path: string) => {
      const res = await t.call(method, path, { token: mgmt });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    };
    expect(await admin('GET', `/api/users/${user.id}/grants`)).toEqual({ status: 200, body: { grants: listed.body.grants } });
    expect((await admin('GET', `/api/users/${user.id}/grants?appType=thirdParty`)).body).toEqual({ grants: [] });
    expect(await admin('DELETE', `/api/users/${other.id}/grants/${grantId}`)).toMatchObject({ status: 404, body: { code: 'oidc.grant_not_found' } });
    expect((await admin('GET', '/api/users/nobody-here/grants')).status).toBe(404);
    expect(await api('DELETE', `/api/my-account/grants/${grantId}`, other.session, undefined, otherProof)).toMatchObject({ status: 404, body: { code: 'oidc.grant_not_found' } });
    expect((await api('DELETE', `/api/my-account/grants/${grantId}`, user.session)).status).toBe(401);
    const [first, ...rest] = listed.body.grants as Array<{ id: string }>;
    expect((await admin('DELETE', `/api/users/${user.id}/grants/${first!.id}`)).status).toBe(204);
    for (const grant of rest) expect((await api('DELETE', `/api/my-account/grants/${grant.id}`, user.session, undefined, proof)).status).toBe(204);
    expect((await api('GET', '/api/my-account', token)).status).toBe(401);
    expect((await api('GET', '/api/my-account/grants', user.session, undefined, proof)).body).toEqual({ grants: [] });
  });

  it('lists the OIDC provider sessions next to first-party ones, marks the current one, and ends one with its grants', async () => {
    await setCenter({ enabled: true, fields: allEdit });
    const user = await signUp();
    const token = await oidcToken(user.username, PW, 'openid profile urn:logto:scope:sessions');
    const proof = await provePassword(user.session);
    const viaOidc = await api('GET', '/api/my-account/sessions', token, undefined, proof);
    expect(viaOidc.status).toBe(200);
    const sessions = viaOidc.body.sessions as Array<Record<string, unknown>>;
    const oidc = sessions.filter((s) => s.kind === 'oidc');
    expect(oidc).toHaveLength(1);
    expect(oidc[0]).toMatchObject({ isCurrent: true, clientIds: [web.application.id], amr: ['pwd'], ip: null });
    // The listed id is the session's uid, never the provider's session id (the session cookie's value).
    const stored = await t.app.services.store.oidcPayloads.listByAccount('Session', user.id, Date.now());
    expect(stored.map((r) => r.id)).not.toContain(oidc[0]!.id);
    expect(sessions.filter((s) => s.kind === 'session').map((s) => s.isCurrent)).toEqual(expect.arrayContaining([false]));
    // Another user cannot end it; an unknown id is 404.
    const other = await signUp();
    const otherProof = await provePassword(other.session);
    expect(await api('DELETE', `/api/my-account/sessions/${oidc[0]!.id}`, other.session, undefined, otherProof)).toMatchObject({ status: 404, body: { code: 'oidc.session_not_found' } });
    expect(await api('DELETE', '/api/my-account/sessions/nope', user.session, undefined, proof)).toMatchObject({ status: 404, body: { code: 'oidc.session_not_found' } });
    // Ending it signs the browser out; a token without offline_access expires with its session, while
    // the grant stays.
    expect((await api('DELETE', `/api/my-account/sessions/${oidc[0]!.id}`, user.session, undefined, proof)).status).toBe(204);
    expect((await api('GET', '/api/my-account', token)).status).toBe(401);
    const after = await api('GET', '/api/my-account/sessions', user.session, undefined, proof);
    expect((after.body.sessions as Array<{ kind: string }>).filter((s) => s.kind === 'oidc')).toHaveLength(0);
    expect((await api('GET', '/api/my-account/grants', user.session, undefined, proof)).body.grants).toHaveLength(1);
    // With revokeGrantsTarget=all the grants it authorized go too, and offline tokens with them.
    const grantsBefore = (await api('GET', '/api/my-account/grants', user.session, undefined, proof)).body.grants as Array<{ id: string }>;
    const offline = await oidcToken(user.username, PW, 'openid profile offline_access urn:logto:scope:sessions');
    const again = (await api('GET', '/api/my-account/sessions', offline, undefined, proof)).body.sessions as Array<{ kind: string; id: string }>;
    const uid = again.find((s) => s.kind === 'oidc')!.id;
    expect((await api('DELETE', `/api/my-account/sessions/${uid}?revokeGrantsTarget=all`, user.session, undefined, proof)).status).toBe(204);
    expect((await api('GET', '/api/my-account', offline)).status).toBe(401);
    // Only the grant of the ended session went; the first session's grant is untouched.
    expect((await api('GET', '/api/my-account/grants', user.session, undefined, proof)).body.grants).toEqual(grantsBefore);
  });

  it('lets a user without password, email or phone set a first password without a proof', async () => {
    await setCenter({ enabled: true, fields: allEdit });
    const bare = await t.app.services.users.create({ username: uniq('bare') }, { requireIdentifier: true });
    const { token } = await t.app.services.sessions.create(bare.id, { amr: [] });
    expect((await api('GET', '/api/my-account', token)).body).toMatchObject({ hasPassword: false, hasSecurityVerificationMethod: false });
    expect((await api('POST', '/api/my-account/password', token, { password: NEW_PW })).status).toBe(204);
    // Now that a password exists, the next change needs a proof.
    expect((await api('POST', '/api/my-account/password', token, { password: `${NEW_PW}-2` })).body.code).toBe('verification_record.permission_denied');
    expect((await api('POST', '/api/verifications/password', token, { password: NEW_PW })).status).toBe(201);
  });

  it('gates every route when disabled, and each field by Off / ReadOnly / Edit', async () => {
    const user = await signUp({ name: 'Grace' });
    await setCenter({ enabled: false, fields: allEdit });
    const routes: Array<[string, string, unknown?]> = [
      ['GET', '/api/my-account'], ['PATCH', '/api/my-account', { name: 'x' }], ['PATCH', '/api/my-account/profile', {}],
      ['GET', '/api/my-account/custom-data'], ['PATCH', '/api/my-account/custom-data', {}], ['POST', '/api/my-account/password', { password: NEW_PW }],
      ['POST', '/api/my-account/primary-email', { email: 'a@b.co', newIdentifierVerificationRecordId: 'x' }], ['DELETE', '/api/my-account/primary-email'],
      ['PATCH', '/api/my-account/primary-phone', { phone: '1', newIdentifierVerificationRecordId: 'x' }], ['DELETE', '/api/my-account/primary-phone'],
      ['GET', '/api/my-account/sessions'], ['DELETE', '/api/my-account'],
      ['POST', '/api/verifications/password', { password: PW }],
      ['POST', '/api/verifications/verification-code', { identifier: { type: 'email', value: 'a@b.co' } }],
      ['POST', '/api/verifications/verification-code/verify', { identifier: { type: 'email', value: 'a@b.co' }, verificationId: 'x', code: '123456' }],
    ];
    for (const [method, path, body] of routes) {
      expect(await api(method, path, user.session, body), `${method} ${path}`).toMatchObject({ status: 400, body: { code: 'account_center.not_enabled' } });
    }

    await setCenter({ enabled: true, fields: { name: 'ReadOnly', profile: 'ReadOnly', customData: 'Off' } });
    const me = await api('GET', '/api/my-account', user.session);
    expect(me.body.name).toBe('Grace');
    expect(me.body).not.toHaveProperty('customData');
    expect(me.body).not.toHaveProperty('avatar');
    expect(me.body).not.toHaveProperty('hasPassword');
    const proof = await provePassword(user.session);
    expect(await api('PATCH', '/api/my-account', user.session, { name: 'G' })).toMatchObject({ status: 400, body: { code: 'account_center.field_not_editable' } });
    expect((await api('PATCH', '/api/my-account', user.session, { avatar: 'https://a.example/x.png' })).body.code).toBe('account_center.field_not_editable');
    expect((await api('PATCH', '/api/my-account', user.session, { username: 'zed' }, proof)).body.code).toBe('account_center.field_not_editable');
    expect((await api('PATCH', '/api/my-account/profile', user.session, { nickname: 'g' })).body.code).toBe('account_center.field_not_editable');
    expect((await api('GET', '/api/my-account/custom-data', user.session)).body.code).toBe('account_center.field_not_enabled');
    expect((await api('PATCH', '/api/my-account/custom-data', user.session, { a: 1 })).body.code).toBe('account_center.field_not_editable');
    expect((await api('POST', '/api/my-account/password', user.session, { password: NEW_PW }, proof)).body.code).toBe('account_center.field_not_editable');
    expect((await api('DELETE', '/api/my-account/primary-email', user.session, undefined, proof)).body.code).toBe('account_center.field_not_editable');
    expect((await api('GET', '/api/my-account/sessions', user.session, undefined, proof)).body.code).toBe('account_center.field_not_enabled');

    await setCenter({ enabled: true, fields: { customData: 'Edit', name: 'Edit' } });
    expect(await api('PATCH', '/api/my-account/custom-data', user.session, { a: 1 })).toEqual({ status: 200, body: { a: 1 } });
    expect(await api('PATCH', '/api/my-account/custom-data', user.session, { b: { c: 2 } })).toEqual({ status: 200, body: { a: 1, b: { c: 2 } } });
    expect(await api('GET', '/api/my-account/custom-data', user.session)).toEqual({ status: 200, body: { a: 1, b: { c: 2 } } });
    const named = await api('PATCH', '/api/my-account', user.session, { name: 'Grace Hopper' });
    expect(named.body).toMatchObject({ name: 'Grace Hopper' });
    expect(named.body.updatedAt).toBeGreaterThanOrEqual(me.body.updatedAt);
  });

  it('accepts only live identity proofs of the same user', async () => {
    await setCenter({ enabled: true, fields: allEdit });
    const alice = await signUp({ email: `${uniq('alice')}@example.com` });
    const bob = await signUp();
    const bobProof = await provePassword(bob.session);
    const del = (proof?: string) => api('DELETE', '/api/my-account/primary-email', alice.session, undefined, proof);
    expect((await del()).body.code).toBe('verification_record.permission_denied');
    expect((await del('vrf_unknown')).status).toBe(401);
    expect((await del(bobProof)).body.code).toBe('verification_record.permission_denied');
    // A record proving a new identifier is not an identity proof.
    const newRecord = await newEmailRecord(alice.session, `${uniq('other')}@example.com`);
    expect((await del(newRecord)).body.code).toBe('verification_record.permission_denied');
    // An unverified code to the current email is no proof either.
    const pending = await emailCode(alice.session, (await api('GET', '/api/my-account', alice.session)).body.primaryEmail);
    expect((await del(pending.id)).status).toBe(401);
    // A valid proof is reusable within its window.
    const proof = await provePassword(alice.session);
    expect((await api('GET', '/api/my-account/sessions', alice.session, undefined, proof)).status).toBe(200);
    expect((await del(proof)).status).toBe(204);
  });

  it('refuses expired proofs', async () => {
    await setCenter({ enabled: true, fields: allEdit });
    const user = await signUp({ email: `${uniq('exp')}@example.com` });
    const now = Date.now();
    const id = `vrf_expired_${uniq('')}`;
    await t.app.services.store.verifications.insert({
      id, type: 'password', purpose: 'Identity', identifierType: null, identifier: null, userId: user.id,
      codeHash: null, linkHash: null, attempts: 0, ip: null, createdAt: now - 700_000, expiresAt: now - 100_000, verifiedAt: now - 700_000, consumedAt: null,
    });
    expect((await api('DELETE', '/api/my-account/primary-email', user.session, undefined, id)).body.code).toBe('verification_record.permission_denied');
  });

  it('binds a new-identifier record exactly once under 10 concurrent requests; refuses taken and mismatched addresses', async () => {
    await setCenter({ enabled: true, fields: allEdit });
    const user = await signUp();
    const proof = await provePassword(user.session);
    const email = `${uniq('race')}@example.com`;
    const record = await newEmailRecord(user.session, email);
    const results = await Promise.all(
      Array.from({ length: 10 }, () => api('POST', '/api/my-account/primary-email', user.session, { email, newIdentifierVerificationRecordId: record }, proof)),
    );
    expect(results.filter((r) => r.status === 204)).toHaveLength(1);
    for (const r of results.filter((r) => r.status !== 204)) expect(r.body.code).toBe('verification_record.not_found');

    // Another user cannot bind the same address (422), nor use a record for a different address (400).
    const other = await signUp();
    const otherProof = await provePassword(other.session);
    const again = await newEmailRecord(other.session, email);
    expect(await api('POST', '/api/my-account/primary-email', other.session, { email, newIdentifierVerificationRecordId: again }, otherProof)).toMatchObject({
      status: 422, body: { code: 'user.email_already_in_use' },
    });
    expect((await api('POST', '/api/my-account/primary-email', other.session, { email: `${uniq('x')}@example.com`, newIdentifierVerificationRecordId: again }, otherProof)).body.code).toBe('verification_record.not_found');
    // Wrong code on verify.
    const sent = await emailCode(other.session, `${uniq('y')}@example.com`);
    const wrong = sent.code === '000000' ? '111111' : '000000';
    expect((await api('POST', '/api/verifications/verification-code/verify', other.session, { identifier: { type: 'email', value: 'nobody@example.com' }, verificationId: sent.id, code: wrong })).body.code).toBe('verification_record.not_found');
  });

  it('refuses removing the last way to sign in; lists and ends sessions; deletes the account', async () => {
    await setCenter({ enabled: true, fields: allEdit });
    const email = `${uniq('only')}@example.com`;
    const res = await t.call('POST', '/api/auth/sign-up', { body: { email, password: PW } });
    expect(res.status).toBe(201);
    const signed = await res.json();
    const session = signed.session.token as string;
    const proof = await provePassword(session);
    expect(await api('DELETE', '/api/my-account/primary-email', session, undefined, proof)).toMatchObject({ status: 400, body: { code: 'user.last_sign_in_method_required' } });
    const named = await signUp();
    const namedProof = await provePassword(named.session);
    expect((await api('PATCH', '/api/my-account', named.session, { username: null }, namedProof)).body.code).toBe('user.last_sign_in_method_required');

    const second = await t.call('POST', '/api/auth/sign-in', { body: { email, password: PW } });
    const secondToken = (await second.json()).session.token as string;
    const list = await api('GET', '/api/my-account/sessions', session, undefined, proof);
    expect(list.body.sessions).toHaveLength(2);
    const other = list.body.sessions.find((s: { isCurrent: boolean }) => !s.isCurrent);
    expect((await api('DELETE', `/api/my-account/sessions/${other.id}`, session, undefined, proof)).status).toBe(204);
    expect((await api('GET', '/api/my-account', secondToken)).status).toBe(401);
    expect((await api('DELETE', '/api/my-account/sessions/nope', session, undefined, proof)).body.code).toBe('oidc.session_not_found');

    expect((await api('DELETE', '/api/my-account', session)).status).toBe(401);
    expect((await api('DELETE', '/api/my-account', session, undefined, proof)).status).toBe(204);
    expect((await api('GET', '/api/my-account', session)).status).toBe(401);
    expect(await t.app.services.users.findById(signed.user.id)).toBeUndefined();
    const audit = await t.app.services.store.accountAudit.listByUser(signed.user.id, 10);
    expect(audit.map((e) => e.action)).toEqual(['delete_account', 'revoke_session']);
  });
});

describe('accountAuthorizer', () => {
  const user = { id: 'u1', isSuspended: false } as UserRecord;
  const request = (authorization: string) => ({ headers: { authorization } }) as FastifyRequest;
  const authorizer = (found: OpaqueAccessToken | undefined) =>
    accountAuthorizer({
      sessions: {} as SessionService,
      findUser: async (id) => (id === 'u1' ? user : undefined),
      findAccessToken: async () => found,
    });

  it('requires an account, the openid scope and no resource audience', async () => {
    await expect(authorizer({ accountId: 'u1', scope: 'openid profile', clientId: 'c', grantId: 'g' })(request('Bearer abc'))).resolves.toMatchObject({
      kind: 'oidc', clientId: 'c', grantId: 'g',
    });
    await expect(authorizer({ accountId: 'u1', scope: 'profile' })(request('Bearer abc'))).rejects.toMatchObject({ code: 'auth.forbidden', status: 403 });
    await expect(authorizer({ scope: 'openid' })(request('Bearer abc'))).rejects.toMatchObject({ code: 'auth.unauthorized' });
    await expect(authorizer({ accountId: 'u1', scope: 'openid', aud: 'https://api.example' })(request('Bearer abc'))).rejects.toMatchObject({ code: 'auth.unauthorized' });
    await expect(authorizer({ accountId: 'gone', scope: 'openid' })(request('Bearer abc'))).rejects.toMatchObject({ code: 'auth.unauthorized' });
    await expect(authorizer(undefined)(request('Bearer abc'))).rejects.toMatchObject({ code: 'auth.unauthorized' });
    await expect(authorizer({ accountId: 'u1', scope: 'openid' })(request('Bearer a.b.c'))).rejects.toMatchObject({ code: 'auth.unauthorized' });
  });
});
