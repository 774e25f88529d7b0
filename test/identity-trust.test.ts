/**
 * Trust of third-party identities (security review: "account takeover through LeanCloud authData
 * claiming identities a social connector verified"; migration 0013 `user_identities.verified`), on
 * SQLite and PostgreSQL, with real providers (node-oidc-provider as Google, GitHub- and WeChat-shaped
 * servers) and the real `/1.1` surface:
 * - client authData cannot sign in as, nor link, an identity a connector proved (208); imported ones stay open to it;
 * - a connector does not trust a row written from client authData (409 identity.already_linked; 422
 *   user.identity_already_in_use on the Account API),
 *   except the caller's own row on the Account API, which the proof upgrades;
 * - the operator's import is trusted: an imported `weixin` identity and the WeChat connector are one row;
 * - extra authData entries join the owner only after the sign-in passed the MFA gate, all or none.
 */
import { generateSync } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeanCloudImporter } from '../src/cli/leancloud-export.js';
import { Browser } from './browser.js';
import { type DatabaseFactory, type RunningApp, startAppWithPublicUrl } from './helpers.js';
import { dialects, LC_KEYS, lcFetch, PW, uniq } from './leancloud-helpers.js';
import { type OAuthServer, type OidcIdp, startOAuthServer, startOidcIdp, startWeChatServer, type WeChatServer } from './social-peers.js';

const ADMIN_ID = 'tessera-admin';
const ADMIN_SECRET = 'bootstrap-secret-0123456789';
const APP_REDIRECT = 'https://app.example.test/social/callback';
const GOOGLE_CLIENT = 'tessera-at-google';
const GOOGLE_SECRET = 'google-client-secret-VERY-secret-1';
const GH_CLIENT = 'tessera-at-github';
const GH_SECRET = 'github-client-secret-VERY-secret-2';
const WX_APP = 'wx-app-id-trust';
const WX_SECRET = 'wx-app-secret-trust';

/** Follows the provider's pages until it redirects off its origin; returns that URL. */
async function driveIdp(authorizationUri: string, idpOrigin: string): Promise<URL> {
  const { url, res } = await new Browser().follow(authorizationUri, idpOrigin);
  expect(url.startsWith(idpOrigin), `IdP stopped at ${url} with ${res.status}`).toBe(false);
  return new URL(url);
}

describe.each(dialects)('Identity trust (verified connector/import rows vs client authData) on %s', (_name, database) => {
  let t: RunningApp;
  let db: Awaited<ReturnType<DatabaseFactory>>;
  let google: OidcIdp;
  let gh: OAuthServer;
  let wx: WeChatServer;
  let mgmt: string;
  const connectors: Record<'google' | 'github' | 'wechat', string> = { google: '', github: '', wechat: '' };

  const call = async (method: string, path: string, body?: unknown, token?: string, headers: Record<string, string> = {}) => {
    const res = await t.call(method, path, { ...(body !== undefined ? { body } : {}), ...(token ? { token } : {}), headers });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };

  beforeAll(async () => {
    db = await database();
    t = await startAppWithPublicUrl({
      databaseUrl: db.url,
      adminClientId: ADMIN_ID,
      adminClientSecret: ADMIN_SECRET,
      social: { redirectUris: [APP_REDIRECT], timeoutSeconds: 5 },
      leancloud: { appId: LC_KEYS.appId, appKey: LC_KEYS.appKey, masterKey: LC_KEYS.masterKey },
    });
    google = await startOidcIdp([{ client_id: GOOGLE_CLIENT, client_secret: GOOGLE_SECRET, redirect_uris: [APP_REDIRECT], token_endpoint_auth_method: 'client_secret_post' }]);
    gh = await startOAuthServer(GH_CLIENT, GH_SECRET);
    wx = await startWeChatServer(WX_APP, WX_SECRET);
    const tokenRes = await fetch(`${t.base}/oidc/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${ADMIN_ID}:${ADMIN_SECRET}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource: `${t.base}/api`, scope: 'all' }).toString(),
    });
    mgmt = (await tokenRes.json()).access_token;
    const create = async (body: unknown) => {
      const res = await call('POST', '/api/connectors', body, mgmt);
      expect(res.status).toBe(201);
      return res.body.id as string;
    };
    connectors.google = await create({ preset: 'google', name: 'Google', config: { clientId: GOOGLE_CLIENT, clientSecret: GOOGLE_SECRET, issuer: google.issuer } });
    connectors.github = await create({
      preset: 'github',
      name: 'GitHub',
      config: {
        clientId: GH_CLIENT,
        clientSecret: GH_SECRET,
        authorizationEndpoint: `${gh.base}/login/oauth/authorize`,
        tokenEndpoint: `${gh.base}/login/oauth/access_token`,
        userinfoEndpoint: `${gh.base}/user`,
        emailsEndpoint: `${gh.base}/user/emails`,
      },
    });
    connectors.wechat = await create({
      preset: 'wechat',
      name: '微信',
      config: {
        clientId: WX_APP,
        clientSecret: WX_SECRET,
        authorizationEndpoint: `${wx.base}/connect/qrconnect`,
        tokenEndpoint: `${wx.base}/sns/oauth2/access_token`,
        userinfoEndpoint: `${wx.base}/sns/userinfo`,
      },
    });
    const social = { name: 'Edit', username: 'Edit', email: 'Edit', phone: 'Edit', password: 'Edit', social: 'Edit' };
    expect((await call('PATCH', '/api/account-center', { enabled: true, fields: social }, mgmt)).status).toBe(200);
  });
  afterAll(async () => {
    await t?.close();
    await google?.close();
    await gh?.close();
    await wx?.close();
    await db?.drop();
  });

  /** First-party social sign-in through a connector; returns the callback answer. */
  async function socialSignIn(connectorId: string, idpOrigin: string) {
    const started = await call('POST', '/api/auth/social/start', { connectorId, redirectUri: APP_REDIRECT });
    expect(started.status).toBe(200);
    const back = await driveIdp(started.body.authorizationUri, idpOrigin);
    return call('POST', '/api/auth/social/callback', { connectorId, state: started.body.state, query: Object.fromEntries(back.searchParams) });
  }

  /** Account API: proves `connectorId` for the signed-in caller and asks to link it. */
  async function bindSocial(token: string, connectorId: string, idpOrigin: string) {
    const proof = await call('POST', '/api/verifications/password', { password: PW }, token);
    expect(proof.status).toBe(201);
    const started = await call('POST', '/api/verifications/social', { connectorId, redirectUri: APP_REDIRECT, state: uniq('st') }, token);
    expect(started.status).toBe(201);
    const back = await driveIdp(started.body.authorizationUri, idpOrigin);
    const verified = await call('POST', '/api/verifications/social/verify', { connectorData: Object.fromEntries(back.searchParams), verificationRecordId: started.body.verificationRecordId }, token);
    expect(verified.status).toBe(200);
    return call('POST', '/api/my-account/identities', { newIdentifierVerificationRecordId: started.body.verificationRecordId }, token, {
      'logto-verification-id': proof.body.verificationRecordId,
    });
  }

  const find = (provider: string, subject: string) => t.app.services.identities.find(provider, subject);
  const userCount = () => t.app.services.store.users.count();

  it('refuses authData claiming a GitHub identity a connector verified (sign-in, sign-up, PUT link), writing nothing', async () => {
    gh.users.set('victim', { id: 4242001, login: 'victim', name: 'Victim', emails: [{ email: 'victim@github.test', primary: true, verified: true }] });
    gh.nextUser = 'victim';
    const first = await socialSignIn(connectors.github, gh.base);
    expect(first.status).toBe(200);
    const victimId = first.body.user.id as string;
    const before = await find('github', '4242001');
    expect(before).toMatchObject({ userId: victimId, verified: true });
    const users = await userCount();

    // The attack: only the public app key, the victim's public GitHub id (as text and as a number), plus
    // an extra entry and a username that must not be written anywhere.
    const attackerName = uniq('atk');
    for (const uid of ['4242001', 4242001]) {
      const res = await lcFetch(t.base, 'POST', '/1.1/users', { body: { username: attackerName, authData: { github: { uid, access_token: 'forged' }, qq: { openid: 'atk-qq-1' } } } });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ code: 208, error: expect.any(String) });
      expect(res.body.sessionToken).toBeUndefined();
    }
    const failOnNotExist = await lcFetch(t.base, 'POST', '/1.1/users?failOnNotExist=true', { body: { authData: { github: { uid: '4242001' } } } });
    expect(failOnNotExist.body.code).toBe(208);
    expect(await userCount()).toBe(users);
    expect(await find('github', '4242001')).toEqual(before);
    expect(await find('qq', 'atk-qq-1')).toBeUndefined();
    expect(await t.app.services.users.findByIdentifier('username', attackerName)).toBeUndefined();

    // Linking it to the attacker's own account (own session, or even the master key) is refused too.
    const own = await lcFetch(t.base, 'POST', '/1.1/users', { body: { username: uniq('atk'), password: PW } });
    expect(own.status).toBe(201);
    // (Only `social` is editable in this suite's account center, so the user's own change carries no custom field.)
    for (const auth of [{ session: own.body.sessionToken as string }, { master: true }]) {
      const body = 'master' in auth ? { nickname: 'x', authData: { github: { uid: '4242001' } } } : { authData: { github: { uid: '4242001' } } };
      const put = await lcFetch(t.base, 'PUT', `/1.1/users/${own.body.objectId}`, { ...auth, body });
      expect(put.status).toBe(400);
      expect(put.body.code).toBe(208);
    }
    expect(await t.app.services.identities.list(own.body.objectId)).toEqual([]);
    expect((await t.app.services.users.require(own.body.objectId)).customData.nickname).toBeUndefined();
    expect(await find('github', '4242001')).toEqual(before);

    // The victim still signs in with GitHub, into their own account.
    gh.nextUser = 'victim';
    const again = await socialSignIn(connectors.github, gh.base);
    expect(again.status).toBe(200);
    expect(again.body.user.id).toBe(victimId);
  });

  it('does not let an authData pre-claim of a Google sub capture the victim (connector sign-in and Account API link)', async () => {
    const sub = uniq('g-victim');
    const email = `${uniq('victim')}@gmail.test`;
    const claim = await lcFetch(t.base, 'POST', '/1.1/users', { body: { authData: { google: { uid: sub, access_token: 'attacker' } } } });
    expect(claim.status).toBe(201);
    const attackerId = claim.body.objectId as string;
    const row = await find('google', sub);
    expect(row).toMatchObject({ userId: attackerId, verified: false });
    const users = await userCount();

    google.accounts.set(sub, { sub, email, email_verified: true, name: 'Victim' });
    google.nextAccount = sub;
    const signIn = await socialSignIn(connectors.google, google.issuer);
    // Native surface: our code (the Account API below answers Logto's 422 user.identity_already_in_use).
    expect(signIn.status).toBe(409);
    expect(signIn.body.code).toBe('identity.already_linked');
    expect(signIn.body.session).toBeUndefined();
    expect(await userCount()).toBe(users);
    expect(await find('google', sub)).toEqual(row);
    expect(await t.app.services.users.findByIdentifier('email', email)).toBeUndefined();

    // Signed in another way, the victim cannot link it either while the attacker's row stands.
    const victim = await call('POST', '/api/auth/sign-up', { username: uniq('vic'), password: PW });
    expect(victim.status).toBe(201);
    google.nextAccount = sub;
    const bound = await bindSocial(victim.body.session.token, connectors.google, google.issuer);
    expect(bound.status).toBe(422);
    expect(bound.body.code).toBe('user.identity_already_in_use');
    expect(await t.app.services.identities.list(victim.body.user.id)).toEqual([]);
    expect(await find('google', sub)).toEqual(row);
  });

  it('upgrades the caller\'s own authData row when they link the connector from the Account API', async () => {
    const sub = uniq('g-self');
    const username = uniq('self');
    const lc = await lcFetch(t.base, 'POST', '/1.1/users', { body: { username, password: PW, authData: { google: { uid: sub, access_token: 'lc-at' } } } });
    expect(lc.status).toBe(201);
    const userId = lc.body.objectId as string;
    expect(await find('google', sub)).toMatchObject({ userId, verified: false });
    google.accounts.set(sub, { sub, name: 'Self' });

    // Not trusted by the connector as long as nobody verified it…
    google.nextAccount = sub;
    expect((await socialSignIn(connectors.google, google.issuer)).body.code).toBe('identity.already_linked');

    // …until the owner, signed in with the password, proves it on the Account API.
    const session = await call('POST', '/api/auth/sign-in', { username, password: PW });
    expect(session.status).toBe(200);
    google.nextAccount = sub;
    const bound = await bindSocial(session.body.session.token, connectors.google, google.issuer);
    expect(bound.status).toBe(204);
    const upgraded = await find('google', sub);
    expect(upgraded).toMatchObject({ userId, verified: true, data: { uid: sub, access_token: 'lc-at', sub, connectorId: connectors.google } });
    expect((await t.app.services.identities.list(userId)).filter((i) => i.provider === 'google')).toHaveLength(1);

    google.nextAccount = sub;
    const signIn = await socialSignIn(connectors.google, google.issuer);
    expect(signIn.status).toBe(200);
    expect(signIn.body.user.id).toBe(userId);
    // From now on client authData cannot use it, not even with the owner's own session.
    expect((await lcFetch(t.base, 'POST', '/1.1/users', { body: { authData: { google: { uid: sub } } } })).body.code).toBe(208);
    const put = await lcFetch(t.base, 'PUT', `/1.1/users/${userId}`, { session: lc.body.sessionToken, body: { authData: { google: { uid: sub, access_token: 'replaced' } } } });
    expect(put.body.code).toBe(208);
    expect((await find('google', sub))?.data.access_token).toBe('lc-at');
  });

  it('keeps an imported weixin identity and the WeChat connector one row (issue 7 item 5), still open to the LeanCloud SDK', async () => {
    const objectId = `5d831acb9c9235000${Date.now().toString(16).slice(-7)}`;
    const openid = uniq('oWX-');
    const unionid = uniq('uWX-');
    const imported = await new LeanCloudImporter(t.app.services.users, t.app.services.identities, t.app.services.store).importRow({
      objectId,
      username: uniq('wx'),
      authData: { weixin: { openid, access_token: 'exported-token' }, _weixin_unionid: { uid: unionid } },
    });
    expect(imported).toEqual({ status: 'imported', objectId });
    expect(await find('weixin', openid)).toMatchObject({ userId: objectId, verified: true });

    wx.users.set('imp', { openid, unionid, nickname: '小红' });
    wx.nextUser = 'imp';
    const res = await socialSignIn(connectors.wechat, wx.base);
    expect(res.status).toBe(200);
    expect(res.body.user.id).toBe(objectId);
    const rows = (await t.app.services.identities.list(objectId)).filter((i) => i.provider === 'weixin');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ subject: openid, verified: true, data: { openid, access_token: 'exported-token', nickname: '小红' } });

    // The connector sign-in kept the row's imported mark, so the app's LeanCloud SDK still logs the
    // user in with authData (as LeanCloud did for these accounts), by openid or through the UnionID.
    expect(rows[0]).toMatchObject({ imported: true });
    const users = await userCount();
    const byOpenid = await lcFetch(t.base, 'POST', '/1.1/users', { body: { authData: { weixin: { openid } } } });
    expect(byOpenid.body.objectId).toBe(objectId);
    const byUnion = await lcFetch(t.base, 'POST', '/1.1/users', {
      body: { authData: { weixin_mini: { openid: 'mini-openid-1', unionid, platform: 'weixin', main_account: false } } },
    });
    expect(byUnion.body.objectId).toBe(objectId);
    expect(await userCount()).toBe(users);
    expect(await find('weixin', openid)).toMatchObject({ userId: objectId, imported: true });
  });

  it('links extra authData entries only after the MFA gate, and all of them or none', async () => {
    const openid = uniq('o-mfa-');
    const created = await lcFetch(t.base, 'POST', '/1.1/users', { body: { authData: { weixin: { openid } } } });
    expect(created.status).toBe(201);
    const userId = created.body.objectId as string;
    const secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
    await t.app.services.mfa.addTotp(userId, secret, generateSync({ secret }));

    const extra = uniq('q-extra-');
    const gated = await lcFetch(t.base, 'POST', '/1.1/users', { body: { authData: { weixin: { openid, note: 'changed' }, qq: { openid: extra } } } });
    expect(gated.status).toBe(403);
    expect(gated.body.sessionToken).toBeUndefined();
    expect(await find('qq', extra)).toBeUndefined();
    expect((await find('weixin', openid))?.data).toEqual({ openid });

    // Without a second factor: an entry owned by someone else refuses the whole request (no partial link)…
    const plainOpenid = uniq('o-plain-');
    const plain = await lcFetch(t.base, 'POST', '/1.1/users', { body: { authData: { weixin: { openid: plainOpenid } } } });
    const otherQq = uniq('q-other-');
    expect((await lcFetch(t.base, 'POST', '/1.1/users', { body: { authData: { qq: { openid: otherQq } } } })).status).toBe(201);
    const mixed = await lcFetch(t.base, 'POST', '/1.1/users', { body: { authData: { weixin: { openid: plainOpenid, note: 'changed' }, qq: { openid: otherQq } } } });
    expect(mixed.status).toBe(400);
    expect(mixed.body.code).toBe(208);
    expect(mixed.body.sessionToken).toBeUndefined();
    expect((await find('weixin', plainOpenid))?.data).toEqual({ openid: plainOpenid });
    expect((await t.app.services.identities.list(plain.body.objectId)).map((i) => i.provider)).toEqual(['weixin']);

    // …and a free extra entry is linked (unverified) once the sign-in succeeded.
    const freeQq = uniq('q-free-');
    const ok = await lcFetch(t.base, 'POST', '/1.1/users', { body: { authData: { weixin: { openid: plainOpenid }, qq: { openid: freeQq } } } });
    expect(ok.status).toBe(200);
    expect(ok.body.objectId).toBe(plain.body.objectId);
    expect(ok.body.authData.qq).toEqual({ openid: freeQq });
    expect(await find('qq', freeQq)).toMatchObject({ userId: plain.body.objectId, verified: false });
  });
});
