import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IssuedApplication } from '../src/domain/applications/index.js';
import { ManualClock } from '../src/util/clock.js';
import { type DatabaseFactory, dialects, type RunningApp, startApp, startAppWithPublicUrl, testConfig, ALL_EDIT } from './helpers.js';
import { Browser } from './browser.js';

/**
 * Regression tests of the Account API security review: a password change made with an OIDC access
 * token ends the user's other OIDC provider sessions; the Verification API's password proof goes
 * through the sign-in protections (account lockout, per-IP sign-in budget); the avatar is http(s) only.
 */

const PW = 'violet-harbor-7-lantern';
const NEW_PW = 'copper-meadow-42-quiver';
const REDIRECT = 'https://rp.example.com/callback';

const allEdit = ALL_EDIT;
const field = (html: string, name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1];
const uniq = (p: string) => `${p}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

/** Calls the app; returns status, Retry-After and parsed body (null when empty). */
async function api(t: RunningApp, method: string, path: string, token?: string, body?: unknown, proof?: string) {
  const res = await t.call(method, path, { token, body, headers: proof ? { 'logto-verification-id': proof } : {} });
  const text = await res.text();
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: text ? JSON.parse(text) : null };
}

async function signUp(t: RunningApp, extra: Record<string, unknown> = {}) {
  const username = uniq('u');
  const res = await api(t, 'POST', '/api/auth/sign-up', undefined, { username, password: PW, ...extra });
  expect(res.status).toBe(201);
  return { id: res.body.user.id as string, username, session: res.body.session.token as string };
}

describe.each(dialects)('Account API: a password change ends the other OIDC sessions; avatar URLs on %s', (_name, database) => {
  let t: RunningApp;
  let db: Awaited<ReturnType<DatabaseFactory>>;
  let web: IssuedApplication;

  beforeAll(async () => {
    db = await database();
    t = await startAppWithPublicUrl({ databaseUrl: db.url });
    web = await t.app.services.applications.create({ name: 'Account page', type: 'traditional', redirectUris: [REDIRECT] });
    await t.app.services.accountCenter.update({ enabled: true, fields: allEdit });
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  /**
   * The authorization code flow with openid-client in `browser`. Signs in on the HTML sign-in page
   * when it is shown and `password` is given; without it, a sign-in page ends the flow.
   * @returns the access token, or `signInPage: true` when the provider asked for a sign-in
   */
  async function authorize(browser: Browser, identifier: string, password?: string): Promise<{ token?: string; signInPage: boolean }> {
    const config = await client.discovery(new URL(`${t.base}/oidc`), web.application.id, web.secret!, client.ClientSecretBasic(web.secret!), {
      execute: [client.allowInsecureRequests],
    });
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: 'openid profile',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });
    let { res, url: pageUrl } = await browser.follow(url.href, t.base);
    if (!pageUrl.startsWith(REDIRECT)) {
      const html = await res.text();
      const form = /action="([^"]+\/login)"/.exec(html);
      expect(form, `expected the sign-in page, got ${res.status}`).not.toBeNull();
      if (password === undefined) return { signInPage: true };
      const posted = await browser.request(new URL(form![1]!, pageUrl).href, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: t.base },
        body: new URLSearchParams({ csrf: field(html, 'csrf') ?? '', identifier, password }).toString(),
      });
      expect(posted.status).toBe(303);
      ({ url: pageUrl } = await browser.follow(new URL(posted.headers.get('location')!, pageUrl).href, t.base));
    }
    expect(pageUrl.startsWith(REDIRECT)).toBe(true);
    const tokens = await client.authorizationCodeGrant(config, new URL(pageUrl), { pkceCodeVerifier: verifier, expectedState: state });
    return { token: tokens.access_token, signInPage: false };
  }

  it('a password change with an OIDC access token ends the other browsers\' provider sessions (no new code without the password), keeping the caller\'s', async () => {
    const user = await signUp(t);
    const attacker = new Browser(); // knew the old password
    const victim = new Browser();
    const a1 = (await authorize(attacker, user.username, PW)).token!;
    const v1 = (await authorize(victim, user.username, PW)).token!;
    expect((await api(t, 'GET', '/api/my-account', a1)).status).toBe(200);
    expect((await api(t, 'GET', '/api/my-account', v1)).status).toBe(200);
    // Signed in at /oidc: a new code comes without any password (first-party consent is automatic).
    const silent = await authorize(attacker, user.username);
    expect(silent.signInPage).toBe(false);
    expect((await api(t, 'GET', '/api/my-account', silent.token!)).status).toBe(200);

    const proof = await api(t, 'POST', '/api/verifications/password', v1, { password: PW });
    expect(proof.status).toBe(201);
    const changed = await api(t, 'POST', '/api/my-account/password', v1, { password: NEW_PW }, proof.body.verificationRecordId);
    expect(changed.status).toBe(204);

    // The other browser: its tokens are dead and /oidc/auth shows the sign-in page (no code).
    expect((await api(t, 'GET', '/api/my-account', a1)).status).toBe(401);
    expect((await api(t, 'GET', '/api/my-account', silent.token!)).status).toBe(401);
    expect(await authorize(attacker, user.username)).toEqual({ signInPage: true });
    // The caller's own browser session goes on: its token works and it gets new codes silently.
    expect((await api(t, 'GET', '/api/my-account', v1)).status).toBe(200);
    const again = await authorize(victim, user.username);
    expect(again.signInPage).toBe(false);
    expect((await api(t, 'GET', '/api/my-account', again.token!)).status).toBe(200);
    // The provider keeps exactly one session of the user: the caller's.
    expect(await t.app.services.store.oidcPayloads.listByAccount('Session', user.id, Date.now())).toHaveLength(1);
    // The other browser gets in again with the new password only.
    const back = await authorize(attacker, user.username, NEW_PW);
    expect((await api(t, 'GET', '/api/my-account', back.token!)).status).toBe(200);
  });

  it('PATCH /api/my-account refuses an avatar that is not an http(s) URL (400 guard.invalid_input, as Logto)', async () => {
    const user = await signUp(t);
    for (const avatar of ['javascript:alert(1)', 'data:image/svg+xml;base64,PHN2Zy8+', 'ftp://files.example.com/a.png']) {
      const res = await api(t, 'PATCH', '/api/my-account', user.session, { avatar });
      expect(res.status, avatar).toBe(400);
      expect(res.body.code).toBe('guard.invalid_input');
    }
    expect((await api(t, 'GET', '/api/my-account', user.session)).body.avatar).toBeNull();
    const ok = await api(t, 'PATCH', '/api/my-account', user.session, { avatar: 'https://cdn.example.com/a.png' });
    expect(ok.status).toBe(200);
    expect(ok.body.avatar).toBe('https://cdn.example.com/a.png');
  });
});

describe.each(dialects)('Verification API password proof: sign-in lockout and rate limit (injected clock) on %s', (_name, database) => {
  const clock = new ManualClock(Date.UTC(2026, 10, 1));
  let t: RunningApp;
  let db: Awaited<ReturnType<DatabaseFactory>>;

  beforeAll(async () => {
    db = await database();
    t = await startApp(testConfig({ databaseUrl: db.url }), { clock });
    await t.app.services.accountCenter.update({ enabled: true, fields: allEdit });
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  const prove = (token: string, password: string) => api(t, 'POST', '/api/verifications/password', token, { password });
  const signIn = (body: Record<string, unknown>) => api(t, 'POST', '/api/auth/sign-in', undefined, body);

  it('6 wrong passwords lock the account: 429 auth.too_many_failures with Retry-After, the right password too, and sign-in; the lock expires', async () => {
    const user = await signUp(t);
    for (let i = 0; i < 6; i++) {
      const wrong = await prove(user.session, `wrong-password-${i}`);
      expect(wrong.status).toBe(422);
      expect(wrong.body.code).toBe('session.invalid_credentials');
    }
    const locked = await prove(user.session, 'wrong-password-7');
    expect(locked.status).toBe(429);
    expect(locked.body.code).toBe('auth.too_many_failures');
    expect(locked.retryAfter).toBe('900');
    const right = await prove(user.session, PW);
    expect(right.status).toBe(429);
    expect(right.body.code).toBe('auth.too_many_failures');
    expect(Number(right.retryAfter)).toBeGreaterThan(0);
    // Password sign-in of the account is locked by these failures, exactly as by its own.
    const blocked = await signIn({ username: user.username, password: PW });
    expect(blocked.status).toBe(429);
    expect(blocked.body.code).toBe('auth.too_many_failures');
    expect(blocked.retryAfter).toBe('900');

    clock.advance(14 * 60_000);
    expect((await prove(user.session, PW)).retryAfter).toBe('60');
    clock.advance(60_000);
    const after = await prove(user.session, PW);
    expect(after.status).toBe(201);
    expect(typeof after.body.verificationRecordId).toBe('string');
    expect((await signIn({ username: user.username, password: PW })).status).toBe(200);
  });

  it('a wrong current password at POST /api/auth/me/password (SDK updatePassword) counts towards the same lockout', async () => {
    const user = await signUp(t);
    const change = (oldPassword: string) => api(t, 'POST', '/api/auth/me/password', user.session, { oldPassword, newPassword: 'amber-canyon-4-whistle' });
    for (let i = 0; i < 6; i++) expect((await change(`wrong-password-${i}`)).body.code).toBe('auth.invalid_credentials');
    const locked = await change(PW);
    expect([locked.status, locked.body.code, locked.retryAfter]).toEqual([429, 'auth.too_many_failures', '900']);
    expect((await signIn({ username: user.username, password: PW })).body.code).toBe('auth.too_many_failures');
    clock.advance(15 * 60_000);
    expect((await change(PW)).status).toBe(200);
    expect((await signIn({ username: user.username, password: 'amber-canyon-4-whistle' })).status).toBe(200);
  });

  it('password sign-in failures (by email) lock the password proof, until the lock expires', async () => {
    const email = `${uniq('lk')}@example.com`;
    const user = await signUp(t, { email });
    for (let i = 0; i < 6; i++) expect((await signIn({ email: email.toUpperCase(), password: 'bad-bad-bad' })).body.code).toBe('auth.invalid_credentials');
    const locked = await prove(user.session, PW);
    expect(locked.status).toBe(429);
    expect(locked.body.code).toBe('auth.too_many_failures');
    expect(locked.retryAfter).toBe('900');
    clock.advance(15 * 60_000);
    expect((await prove(user.session, PW)).status).toBe(201);
  });

  it('a right password resets the failure count, as a sign-in does; 6 failures after it lock again', async () => {
    const user = await signUp(t);
    for (let i = 0; i < 5; i++) expect((await prove(user.session, 'nope-nope-nope')).status).toBe(422);
    expect((await prove(user.session, PW)).status).toBe(201);
    for (let i = 0; i < 5; i++) expect((await prove(user.session, 'nope-nope-nope')).status).toBe(422);
    expect((await prove(user.session, PW)).status).toBe(201);
    // Sign-in's count was reset too: 5 failures there do not lock.
    for (let i = 0; i < 5; i++) expect((await signIn({ username: user.username, password: 'nope-nope-nope' })).status).toBe(401);
    expect((await signIn({ username: user.username, password: PW })).status).toBe(200);
    for (let i = 0; i < 6; i++) expect((await prove(user.session, 'nope-nope-nope')).status).toBe(422);
    expect((await prove(user.session, PW)).body.code).toBe('auth.too_many_failures');
    clock.advance(15 * 60_000);
  });

  it('spends the per-IP sign-in budget (429 request.rate_limited once it is spent)', async () => {
    const limitedDb = await database();
    const limited = await startApp(testConfig({ databaseUrl: limitedDb.url, rateLimit: { signInPerMinute: 3 } }));
    try {
      await limited.app.services.accountCenter.update({ enabled: true, fields: allEdit });
      const user = await signUp(limited);
      for (let i = 0; i < 3; i++) expect((await api(limited, 'POST', '/api/verifications/password', user.session, { password: PW })).status).toBe(201);
      const res = await api(limited, 'POST', '/api/verifications/password', user.session, { password: PW });
      expect(res.status).toBe(429);
      expect(res.body.code).toBe('request.rate_limited');
      expect(Number(res.retryAfter)).toBeGreaterThan(0);
    } finally {
      await limited.close();
      await limitedDb.drop();
    }
  });
});
