import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_EDIT, type DatabaseFactory, dialects, type RunningApp, startAppWithPublicUrl } from './helpers.js';
import { LogtoAccountClient, LogtoApiError, LogtoManagementClient } from './logto-client.js';
import { openSignInPage } from './oidc-helpers.js';
import { extractCode, type SmtpSink, startSmtpSink } from './peers.js';

/**
 * Issue 19, "done when": a Logto-shaped client (test/logto-client.ts, written from Logto's OpenAPI and
 * docs) runs the flows of seeds 000–002 against Tessera with no adaptation — the Management API
 * reached with Logto OSS's resource indicator, digits-only phones, Logto's application bodies, the
 * identities map, Logto's error codes and statuses; then the Account and Verification APIs with an
 * access token from a real OIDC sign-in; then seed 002's connected apps and personal access tokens.
 */

const ADMIN_ID = 'logto-client-admin';
const ADMIN_SECRET = 'logto-client-secret-0123456789';
const REDIRECT = 'https://backend.example.com/callback';
const PW = 'violet-harbor-7-lantern';
let seq = 0;
const uniq = (p: string) => `${p}${Date.now().toString(36)}${(seq++).toString(36)}`;

/** Expects `promise` to fail with Logto's `code` and `status`. */
async function refused(promise: Promise<unknown>, status: number, code: string) {
  const error = await promise.then(
    () => new Error(`expected ${status} ${code}, the call succeeded`),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(LogtoApiError);
  expect({ status: (error as LogtoApiError).status, code: (error as LogtoApiError).code }).toEqual({ status, code });
}

describe.each(dialects)('a Logto-shaped client runs seeds 000–002 on %s', (_name, database) => {
  let t: RunningApp;
  let db: Awaited<ReturnType<DatabaseFactory>>;
  let smtp: SmtpSink;
  let mgmt: LogtoManagementClient;

  beforeAll(async () => {
    smtp = await startSmtpSink();
    db = await database();
    t = await startAppWithPublicUrl({
      databaseUrl: db.url,
      adminClientId: ADMIN_ID,
      adminClientSecret: ADMIN_SECRET,
      email: { smtpUrl: smtp.url, from: 'Tessera Test <auth@tessera.test>' },
      codes: { resendIntervalSeconds: 0, perIdentifierPerHour: 1000, perIpPerHour: 100_000 },
    });
    mgmt = new LogtoManagementClient(t.base, ADMIN_ID, ADMIN_SECRET);
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
    await smtp.close();
  });

  it('seed 001: the Management API with Logto OSS’s resource, users, applications, identities and errors', async () => {
    const token = await mgmt.fetchAccessToken();
    expect(token).toMatchObject({ token_type: 'Bearer', scope: 'all', expires_in: expect.any(Number) });

    // fetchLogtoApplications, and an app created with Logto's body.
    const created = await mgmt.createApplication({ name: 'Back office web', type: 'Traditional', oidcClientMetadata: { redirectUris: [REDIRECT], postLogoutRedirectUris: [] } });
    expect(created).toMatchObject({ type: 'Traditional', oidcClientMetadata: { redirectUris: [REDIRECT] }, secret: expect.any(String) });
    const apps = await mgmt.listApplications();
    expect(apps.find((a) => a.id === created.id)).toMatchObject({ name: 'Back office web', type: 'Traditional', isThirdParty: false });
    expect(apps.every((a) => ['Native', 'SPA', 'Traditional', 'MachineToMachine'].includes(a.type) && Array.isArray(a.oidcClientMetadata.redirectUris))).toBe(true);

    // Users: digits-only phones in and out, the identities map, Logto's codes.
    const username = uniq('lg');
    const user = await mgmt.createUser({ username, primaryEmail: `${username}@example.com`, primaryPhone: '8613800138042', password: PW, name: 'Lin' });
    expect(user).toMatchObject({ username, primaryPhone: '8613800138042', identities: {}, customData: {}, isSuspended: false });
    await refused(mgmt.createUser({ username }), 422, 'user.username_already_in_use');
    await refused(mgmt.createUser({ username: uniq('p'), primaryPhone: '8613800138042' }), 422, 'user.phone_already_in_use');
    await refused(mgmt.getUser('nonexistent12'), 404, 'entity.not_found');
    await refused(mgmt.updateUser(user.id, {}), 422, 'entity.invalid_input');
    await refused(mgmt.createUser({ username: 42 }), 400, 'guard.invalid_input');
    await refused(mgmt.listUsers({ page_size: '0' }), 400, 'guard.invalid_pagination');
    expect((await mgmt.updateUser(user.id, { name: 'Lin Wei', customData: { tier: 'gold' } })).customData).toEqual({ tier: 'gold' });

    const page = await mgmt.listUsers({ search: `%${username}%`, page_size: '1' });
    expect(page.items.map((u) => u.id)).toEqual([user.id]);
    expect(page.totalNumber).toBe(1);
    expect(page.link).toContain('rel="first"');

    // Identities by target.
    expect(await mgmt.putUserIdentity(user.id, 'github', { userId: `gh-${username}`, details: { login: username } })).toEqual({
      status: 201,
      identities: { github: { userId: `gh-${username}`, details: { login: username } } },
    });
    expect((await mgmt.getUser(user.id)).identities.github?.userId).toBe(`gh-${username}`);
    expect(await mgmt.getUserIdentity(user.id, 'github')).toEqual({ identity: { userId: `gh-${username}`, details: { login: username } } });
    await refused(mgmt.getUserIdentity(user.id, 'google'), 404, 'user.identity_not_exist');
  });

  it('seed 000: the Account and Verification APIs with the access token of a real sign-in', async () => {
    await mgmt.updateAccountCenter({ enabled: true, fields: ALL_EDIT });
    const app = await mgmt.createApplication({ name: 'Account page', type: 'Traditional', oidcClientMetadata: { redirectUris: [REDIRECT], postLogoutRedirectUris: [] } });
    const username = uniq('acc');
    const email = `${username}@example.com`;
    const user = await mgmt.createUser({ username, primaryEmail: email, primaryPhone: '14155550142', password: PW });
    await mgmt.putUserIdentity(user.id, 'github', { userId: `gh-${username}` });

    // client.getAccessToken() after a browser sign-in: an opaque token without a resource.
    const page = await openSignInPage(t.base, { id: app.id, secret: app.secret! }, REDIRECT, 'openid profile email phone identities custom_data urn:logto:scope:sessions');
    const posted = await page.post({ identifier: username, password: PW });
    expect(posted.status).toBe(303);
    // A first-party application: no consent step.
    const { url } = await page.browser.follow(new URL(posted.headers.get('location')!, page.action).href, t.base);
    expect(url.startsWith(REDIRECT)).toBe(true);
    const tokens = await client.authorizationCodeGrant(page.config, new URL(url), { pkceCodeVerifier: page.verifier, expectedState: page.state });
    const account = new LogtoAccountClient(t.base, tokens.access_token);

    const profile = await account.getProfile();
    expect(profile).toMatchObject({ id: user.id, username, primaryEmail: email, primaryPhone: '14155550142', identities: { github: { userId: `gh-${username}` } } });
    expect((await account.updateProfile({ name: 'Ada L.' })).name).toBe('Ada L.');
    await refused(account.updateProfile({}), 422, 'entity.invalid_input');

    await refused(account.verifyPassword('not-the-password-1'), 422, 'session.invalid_credentials');
    const proof = await account.verifyPassword(PW);
    expect(proof).toMatchObject({ verificationRecordId: expect.any(String), expiresAt: expect.stringMatching(/Z$/) });
    await refused(account.updateProfile({ username: uniq('x') }), 401, 'verification_record.permission_denied');
    expect((await account.updateProfile({ username: `${username}_2` }, proof.verificationRecordId)).username).toBe(`${username}_2`);

    const before = smtp.messages.length;
    const sent = await account.sendVerificationCode({ type: 'email', value: email });
    const mail = await smtp.waitFor((m, i) => i >= before && m.to.toLowerCase() === email, 5000);
    const code = extractCode(mail.text);
    await refused(account.verifyVerificationCode({ type: 'email', value: email }, sent.verificationRecordId, code === '000000' ? '111111' : '000000'), 400, 'verification_code.code_mismatch');
    expect(await account.verifyVerificationCode({ type: 'email', value: email }, sent.verificationRecordId, code)).toEqual({ verificationRecordId: sent.verificationRecordId });
    await refused(account.verifyVerificationCode({ type: 'email', value: email }, sent.verificationRecordId, code), 400, 'verification_code.not_found');
    expect(await account.getMfaSettings()).toEqual({ skipMfaOnSignIn: false });

    // Seed 002: the user's connected apps, seen by the user and by the back end.
    const mine = await account.getGrants('firstParty', proof.verificationRecordId);
    expect(mine.grants.length).toBeGreaterThanOrEqual(1);
    const theirs = await mgmt.listUserGrants(user.id, 'firstParty');
    expect(theirs.grants.map((g) => g.id).sort()).toEqual(mine.grants.map((g) => g.id).sort());
    expect((await mgmt.listUserGrants(user.id, 'thirdParty')).grants).toEqual([]);
  });

  it('seed 002: personal access tokens, password expiry and unlinking, as a Logto back end does them', async () => {
    const username = uniq('pat');
    const user = await mgmt.createUser({ username, password: PW });
    expect(await mgmt.createPersonalAccessToken(user.id, { name: 'CI' })).toMatchObject({ name: 'CI', value: expect.stringMatching(/^pat_/) });
    await refused(mgmt.createPersonalAccessToken(user.id, { name: 'CI' }), 422, 'user.personal_access_token_name_exists');
    await refused(mgmt.createPersonalAccessToken(user.id, { name: 'old', expiresAt: Date.now() - 1000 }), 400, 'request.invalid_input');
    expect(await mgmt.renamePersonalAccessToken(user.id, 'CI', 'CI (prod)')).toMatchObject({ name: 'CI (prod)' });
    expect((await mgmt.updateUserPasswordExpiration(user.id, true)).id).toBe(user.id);
    await mgmt.putUserIdentity(user.id, 'wechat', { userId: `wx-${username}` });
    const after = await mgmt.deleteUserIdentity(user.id, 'wechat');
    expect(after).toMatchObject({ id: user.id, identities: {} });
    await refused(mgmt.deleteUserIdentity(user.id, 'wechat'), 404, 'user.identity_not_exist');
  });
});
