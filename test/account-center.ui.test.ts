import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCOUNT_CENTER_CLIENT_ID } from '../src/account-center/index.js';
import { deriveKeys, seal, SESSION_COOKIE, unseal } from '../src/account-center/session.js';
import { Browser } from './browser.js';
import { ALL_EDIT, type RunningApp, startAppWithPublicUrl } from './helpers.js';
import { formField } from './oidc-helpers.js';
import { type SmsWebhookPeer, startSmsWebhook } from './peers.js';

/**
 * The account center at /account over real HTTP (issue 14 §3): the sign-in through /oidc as the built-in
 * client, the cookie, CSRF and origin checks on its forms, field modes and the page language.
 */
const PW = 'lantern-orchard-73-basil';

describe('account center (/account) over HTTP', () => {
  let t: RunningApp;
  let sms: SmsWebhookPeer;
  const username = `ac${Date.now().toString(36)}`;

  beforeAll(async () => {
    sms = await startSmsWebhook();
    t = await startAppWithPublicUrl({
      sms: { webhookUrl: sms.url, webhookSecret: 'a-very-long-webhook-secret', timeoutSeconds: 2 },
      codes: { resendIntervalSeconds: 0, perIdentifierPerHour: 1000, perIpPerHour: 100_000 },
    });
    await t.app.services.accountCenter.update({ enabled: true, fields: { ...ALL_EDIT, customData: 'Off', username: 'ReadOnly' } });
    await t.app.services.users.create({ username, password: PW });
  });
  afterAll(async () => {
    await t?.close();
    await sms?.close();
  });

  /** Follows redirects within the server with `headers` on every hop. */
  async function follow(browser: Browser, url: string, headers: Record<string, string> = {}) {
    let current = url;
    for (let hops = 0; hops < 12; hops++) {
      const res = await browser.request(current, { headers });
      const location = res.headers.get('location');
      if (res.status < 300 || res.status >= 400 || !location) return { res, url: current };
      current = new URL(location, current).href;
      if (!current.startsWith(t.base)) return { res, url: current };
    }
    throw new Error('too many redirects');
  }

  /** Signs in at /account through the hosted sign-in page; returns the browser and the profile page. */
  async function signIn(headers: Record<string, string> = {}) {
    const browser = new Browser();
    const { res, url } = await follow(browser, `${t.base}/account`, headers);
    expect(url).toContain('/oidc/interaction/');
    const html = await res.text();
    const action = new URL(/action="([^"]+\/login)"/.exec(html)![1]!, url).href;
    const posted = await browser.request(action, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: t.base, ...headers },
      body: new URLSearchParams({ csrf: formField(html, 'csrf') ?? '', identifier: username, password: PW }).toString(),
    });
    expect(posted.status).toBe(303);
    const page = await follow(browser, new URL(posted.headers.get('location')!, action).href, headers);
    return { browser, ...page, html: await page.res.text() };
  }

  it('ensures its built-in first-party public client at start', async () => {
    const app = await t.app.services.applications.find(ACCOUNT_CENTER_CLIENT_ID);
    expect(app).toMatchObject({ type: 'spa', isThirdParty: false, secretHash: null, redirectUris: [`${t.base}/account/callback`], postLogoutRedirectUris: [`${t.base}/account`] });
  });

  it('sends a browser without a session into /oidc (authorization code + PKCE S256, state, nonce)', async () => {
    const res = await fetch(`${t.base}/account`, { redirect: 'manual' });
    expect(res.status).toBe(303);
    const location = new URL(res.headers.get('location')!);
    expect(location.origin + location.pathname).toBe(`${t.base}/oidc/auth`);
    const q = location.searchParams;
    expect(q.get('client_id')).toBe(ACCOUNT_CENTER_CLIENT_ID);
    expect(q.get('redirect_uri')).toBe(`${t.base}/account/callback`);
    expect(q.get('code_challenge_method')).toBe('S256');
    expect(q.get('state')).toBeTruthy();
    expect(q.get('nonce')).toBeTruthy();
    expect(q.get('scope')!.split(' ')).toEqual(expect.arrayContaining(['openid', 'offline_access', 'identities', 'urn:logto:scope:sessions']));
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('tessera_account_auth='))!;
    expect(cookie).toMatch(/; Path=\/account; HttpOnly; SameSite=Lax/);
    expect(cookie).not.toMatch(/Secure/);
  });

  it('signs in and shows the profile with the field modes (Off hidden, ReadOnly without a form)', async () => {
    const { res, url, html } = await signIn();
    expect(res.status).toBe(200);
    expect(url).toBe(`${t.base}/account/profile`);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(html).toContain('<h1>Your account</h1>');
    expect(html).toContain('href="/account/contact"');
    expect(html).not.toContain('href="/account/custom-data"');
    // Username is ReadOnly: shown, no input.
    expect(html).toContain(username);
    expect(html).not.toContain('name="username"');
    expect(html).toContain('name="name"');
    // A hidden section is not reachable either.
    const hidden = await (await signIn()).browser.request(`${t.base}/account/custom-data`);
    expect(hidden.status).toBe(303);
  });

  it('changes the name through the Account API with a same-origin form post carrying the CSRF token', async () => {
    const { browser, html } = await signIn();
    const csrf = formField(html, 'csrf')!;
    const saved = await browser.request(`${t.base}/account/profile`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: t.base, 'sec-fetch-site': 'same-origin' },
      body: new URLSearchParams({ csrf, name: 'Ada Lovelace', avatar: '' }).toString(),
    });
    expect(saved.status).toBe(303);
    expect(saved.headers.get('location')).toBe('/account/profile?done=saved');
    const page = await (await browser.request(`${t.base}/account/profile?done=saved`)).text();
    expect(page).toContain('value="Ada Lovelace"');
    expect(page).toContain('Saved.');
    const user = await t.app.services.users.findByIdentifier('username', username);
    expect(user?.name).toBe('Ada Lovelace');
  });

  it('refuses a cross-site form post (403) and a post without the CSRF token (403)', async () => {
    const { browser, html } = await signIn();
    const csrf = formField(html, 'csrf')!;
    const form = (extra: Record<string, string>) => new URLSearchParams({ name: 'Mallory', ...extra }).toString();
    const crossSite = await browser.request(`${t.base}/account/profile`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' },
      body: form({ csrf }),
    });
    expect(crossSite.status).toBe(403);
    const otherOrigin = await browser.request(`${t.base}/account/delete`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://evil.example' },
      body: form({ csrf, password: PW }),
    });
    expect(otherOrigin.status).toBe(403);
    const noToken = await browser.request(`${t.base}/account/profile`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: t.base },
      body: form({ csrf: 'x'.repeat(43) }),
    });
    expect(noToken.status).toBe(403);
    expect((await t.app.services.users.findByIdentifier('username', username))?.name).not.toBe('Mallory');
  });

  it('keeps tokens in an AES-GCM sealed cookie and refreshes an expired access token with the refresh token', async () => {
    const { browser } = await signIn();
    const first = await browser.request(`${t.base}/account/profile`);
    expect(first.status).toBe(200);
    // The session cookie of the jar, opened with the keys the server derives from the provider's cookie keys.
    const jar = (browser as unknown as { jar: Map<string, { name: string; value: string; path: string }> }).jar;
    const cookie = [...jar.values()].find((c) => c.name === SESSION_COOKIE)!;
    expect(cookie.path).toBe('/account');
    const keys = deriveKeys((await t.app.oidc.keys.load()).cookie);
    const session = unseal(keys.sealing, SESSION_COOKIE, cookie.value) as { accessToken: string; refreshToken?: string; expiresAt: number };
    expect(session.accessToken).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(session.refreshToken).toBeTruthy();
    expect(cookie.value).not.toContain(session.accessToken);
    // Expired: the next page refreshes (a new access and refresh token) and writes the cookie again. Two
    // pages at once (two tabs) share one refresh: a rotated refresh token used twice would revoke the grant.
    const expired = seal(keys.sealing, SESSION_COOKIE, { ...session, expiresAt: Date.now() - 1000 });
    const [res, twin] = await Promise.all(
      [0, 1].map(() => fetch(`${t.base}/account/profile`, { redirect: 'manual', headers: { cookie: `${SESSION_COOKIE}=${expired}` } })),
    );
    const opened = (r: Response) => {
      expect(r.status).toBe(200);
      const renewed = r.headers.getSetCookie().find((c) => c.startsWith(`${SESSION_COOKIE}=`))!;
      return { sealed: renewed.split(';')[0]!.slice(SESSION_COOKIE.length + 1), ...(unseal(keys.sealing, SESSION_COOKIE, renewed.split(';')[0]!.slice(SESSION_COOKIE.length + 1)) as typeof session) };
    };
    const next = opened(res!);
    expect(opened(twin!).accessToken).toBe(next.accessToken);
    expect(next.accessToken).not.toBe(session.accessToken);
    expect(next.refreshToken).not.toBe(session.refreshToken);
    expect(next.expiresAt).toBeGreaterThan(Date.now());
    // The grant survived: the renewed cookie works, and so does its own refresh later.
    const later = seal(keys.sealing, SESSION_COOKIE, { ...next, expiresAt: Date.now() - 1000 });
    const again = await fetch(`${t.base}/account/profile`, { redirect: 'manual', headers: { cookie: `${SESSION_COOKIE}=${later}` } });
    expect(again.status).toBe(200);
  });

  /** Posts a form of the account center from its own origin, with the session's CSRF token. */
  async function post(browser: Browser, html: string, path: string, fields: Record<string, string>) {
    return browser.request(`${t.base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: t.base, 'sec-fetch-site': 'same-origin' },
      body: new URLSearchParams({ csrf: formField(html, 'csrf')!, ...fields }).toString(),
    });
  }

  it('shows the Account API error of a refused change on the page (wrong password: 400, nothing deleted)', async () => {
    const { browser, html } = await signIn();
    const res = await post(browser, html, '/account/delete', { password: 'not-the-password' });
    expect(res.status).toBe(400);
    const page = await res.text();
    expect(page).toContain('aria-invalid="true"');
    expect(page).toMatch(/role="alert"/);
    expect(await t.app.services.users.findByIdentifier('username', username)).toBeDefined();
  });

  it('passes the browser’s Accept-Language to the Account API, so its error messages are in the page’s language', async () => {
    const alertOf = async (lang: string) => {
      const headers = { 'accept-language': lang };
      const { browser, html } = await signIn(headers);
      const res = await browser.request(`${t.base}/account/delete`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: t.base, ...headers },
        body: new URLSearchParams({ csrf: formField(html, 'csrf')!, password: 'not-the-password' }).toString(),
      });
      expect(res.status).toBe(400);
      return /<p class="alert" role="alert">([^<]+)<\/p>/.exec(await res.text())![1]!;
    };
    const en = await alertOf('en');
    const zh = await alertOf('zh-CN');
    expect(en).toMatch(/[A-Za-z]/);
    expect(zh).toMatch(/[\u4e00-\u9fff]/);
    expect(zh).not.toBe(en);
  });

  it('signs out: the cookie ends, the tokens are revoked, and the browser goes through RP-initiated logout', async () => {
    const { browser, html } = await signIn();
    const jar = (browser as unknown as { jar: Map<string, { name: string; value: string }> }).jar;
    const sealed = [...jar.values()].find((c) => c.name === SESSION_COOKIE)!.value;
    const res = await post(browser, html, '/account/sign-out', {});
    expect(res.status).toBe(303);
    const location = new URL(res.headers.get('location')!);
    expect(location.origin + location.pathname).toBe(`${t.base}/oidc/session/end`);
    expect(location.searchParams.get('client_id')).toBe(ACCOUNT_CENTER_CLIENT_ID);
    expect(location.searchParams.get('post_logout_redirect_uri')).toBe(`${t.base}/account`);
    expect(res.headers.getSetCookie().find((c) => c.startsWith(`${SESSION_COOKIE}=`))).toMatch(/Max-Age=0/);
    // The old cookie's tokens no longer work.
    const replay = await fetch(`${t.base}/account/profile`, { redirect: 'manual', headers: { cookie: `${SESSION_COOKIE}=${sealed}` } });
    expect(replay.status).toBe(303);
    expect(replay.headers.get('location')).toContain('/oidc/auth');
  });

  it('refuses a callback whose state does not match the pending sign-in (400, no session)', async () => {
    const browser = new Browser();
    const start = await browser.request(`${t.base}/account`);
    expect(start.status).toBe(303);
    const res = await browser.request(`${t.base}/account/callback?code=abc&state=forged&iss=${encodeURIComponent(`${t.base}/oidc`)}`);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('Signing in did not work');
    expect(res.headers.getSetCookie().some((c) => c.startsWith(`${SESSION_COOKIE}=`))).toBe(false);
  });

  it('shows a notice instead of signing in while the account center is disabled', async () => {
    await t.app.services.accountCenter.update({ enabled: false });
    try {
      const res = await fetch(`${t.base}/account`, { redirect: 'manual', headers: { 'accept-language': 'zh-CN' } });
      expect(res.status).toBe(403);
      expect(await res.text()).toContain('账户中心暂不可用');
    } finally {
      await t.app.services.accountCenter.update({ enabled: true });
    }
  });

  it('binds a phone number by a code (after the identity proof), then removes it', async () => {
    const { browser } = await signIn();
    const first = await (await browser.request(`${t.base}/account/contact`)).text();
    // No proof yet: the change forms wait for it.
    expect(first).toContain('id="proof-password"');
    expect(first).not.toContain('action="/account/contact/code"');
    expect((await post(browser, first, '/account/verify', { password: PW, return: 'contact' })).status).toBe(303);
    const page = await (await browser.request(`${t.base}/account/contact`)).text();
    const before = sms.requests.length;
    const sent = await post(browser, page, '/account/contact/code', { type: 'phone', value: '+1 415 555 0142' });
    expect(sent.status).toBe(200);
    const codePage = await sent.text();
    expect(codePage).toContain('id="phone-code"');
    const message = await sms.waitFor((r, i) => i >= before && r.json.to === '+14155550142', 5000);
    const wrong = await post(browser, codePage, '/account/contact/verify', {
      type: 'phone', value: formField(codePage, 'value')!, recordId: formField(codePage, 'recordId')!, code: message.json.code === '000000' ? '111111' : '000000',
    });
    expect(wrong.status).toBe(400);
    expect(await wrong.text()).toContain('aria-describedby="phone-code-error"');
    const bound = await post(browser, codePage, '/account/contact/verify', {
      type: 'phone', value: formField(codePage, 'value')!, recordId: formField(codePage, 'recordId')!, code: message.json.code as string,
    });
    expect([bound.status, bound.headers.get('location')]).toEqual([303, '/account/contact?done=saved']);
    expect((await t.app.services.users.findByIdentifier('username', username))?.primaryPhone).toBe('+14155550142');
    const removed = await post(browser, page, '/account/contact/remove', { type: 'phone' });
    expect([removed.status, removed.headers.get('location')]).toEqual([303, '/account/contact?done=removed']);
    expect((await t.app.services.users.findByIdentifier('username', username))?.primaryPhone).toBeNull();
  });

  it('lists and unlinks a linked social account', async () => {
    const user = (await t.app.services.users.findByIdentifier('username', username))!;
    await t.app.services.identities.link(user.id, 'github', 'gh-4711', { email: 'ada@github.example' }, { verified: true });
    const { browser } = await signIn();
    const before = await (await browser.request(`${t.base}/account/social`)).text();
    expect(before).toContain('github (ada@github.example)');
    // Unlinking needs the identity proof first (the user has a password): asked, then the button is there.
    expect(before).toContain('id="proof-password"');
    expect(before).not.toContain('action="/account/social/unlink"');
    const proved = await post(browser, before, '/account/verify', { password: PW, return: 'social' });
    expect(proved.status).toBe(303);
    expect(proved.headers.get('location')).toBe('/account/social');
    const page = await (await browser.request(`${t.base}/account/social`)).text();
    expect(page).toContain('action="/account/social/unlink"');
    const res = await post(browser, page, '/account/social/unlink', { target: 'github' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/account/social?done=unlinked');
    expect(await t.app.services.identities.list(user.id)).toEqual([]);
  });

  it('edits custom data only where the admin allows it, and refuses what is not a JSON object', async () => {
    await t.app.services.accountCenter.update({ enabled: true, fields: { ...ALL_EDIT, username: 'ReadOnly', customData: 'Edit' } });
    try {
      const { browser } = await signIn();
      const page = await (await browser.request(`${t.base}/account/custom-data`)).text();
      expect(page).toContain('<textarea id="customData"');
      const bad = await post(browser, page, '/account/custom-data', { customData: '[1, 2]' });
      expect(bad.status).toBe(400);
      expect(await bad.text()).toContain('aria-describedby="customData-error"');
      const good = await post(browser, page, '/account/custom-data', { customData: '{"team": "blue"}' });
      expect(good.status).toBe(303);
      expect((await t.app.services.users.findByIdentifier('username', username))?.customData).toEqual({ team: 'blue' });
      await t.app.services.accountCenter.update({ enabled: true, fields: { ...ALL_EDIT, username: 'ReadOnly', customData: 'ReadOnly' } });
      const readOnly = await (await browser.request(`${t.base}/account/custom-data`)).text();
      expect(readOnly).not.toContain('<textarea');
      expect(readOnly).toContain('&quot;team&quot;: &quot;blue&quot;');
    } finally {
      await t.app.services.accountCenter.update({ enabled: true, fields: { ...ALL_EDIT, customData: 'Off', username: 'ReadOnly' } });
    }
  });

  it('ignores a tampered session cookie (sign in again)', async () => {
    const res = await fetch(`${t.base}/account/profile`, { redirect: 'manual', headers: { cookie: 'tessera_account=AAAA' + 'B'.repeat(80) } });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toContain('/oidc/auth');
  });

  it('speaks Chinese to a zh-CN Accept-Language, through the sign-in page and the account pages', async () => {
    const headers = { 'accept-language': 'zh-CN,zh;q=0.9' };
    const start = await fetch(`${t.base}/account`, { redirect: 'manual', headers });
    expect(new URL(start.headers.get('location')!).searchParams.get('ui_locales')).toBe('zh-CN');
    const { html, res } = await signIn(headers);
    expect(res.status).toBe(200);
    expect(html).toContain('<html lang="zh-CN">');
    expect(html).toContain('<h1>我的账户</h1>');
    expect(html).toContain('个人资料');
  });
});
