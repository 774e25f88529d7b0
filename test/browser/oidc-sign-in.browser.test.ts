import * as client from 'openid-client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects, type RunningApp, startAppWithPublicUrl } from '../helpers.js';
import { pkceRequest } from '../oidc-helpers.js';
import { HAVE_CHROMIUM, launchChromium, type Site, startSite } from './chromium.js';

/**
 * The hosted sign-in page at /oidc driven by real headless Chromium (issue 14, item 1): what a person
 * does with a SPA client (authorization code + PKCE), and the cross-site form posts it must refuse.
 * The relying party is a real HTTP server on `localhost` (another site than the issuer's 127.0.0.1).
 */
const PW = 'amber-quarry-51-willow';

describe.skipIf(!HAVE_CHROMIUM).each(dialects)('hosted sign-in page in Chromium on %s', (_name, database) => {
  let db: Awaited<ReturnType<(typeof dialects)[number][1]>>;
  let t: RunningApp;
  let rp: Site;
  let browser: Browser;
  let rpOrigin: string;
  let clientId: string;
  let username: string;
  let userId: string;
  /** Forms the "attacker" pages post: set per test before the page is opened. */
  let attackForm = '';

  beforeAll(async () => {
    db = await database();
    t = await startAppWithPublicUrl({ databaseUrl: db.url });
    rp = await startSite((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      res.setHeader('content-type', 'text/html; charset=utf-8');
      if (url.pathname === '/callback') return res.end('<!doctype html><title>Callback</title><h1>Signed in</h1>');
      if (url.pathname === '/attack') return res.end(attackForm);
      res.statusCode = 404;
      res.end('not found');
    });
    rpOrigin = `http://localhost:${rp.port}`;
    const spa = await t.app.services.applications.create({
      name: 'Browser SPA',
      type: 'spa',
      redirectUris: [`${rpOrigin}/callback`],
      corsOrigins: [rpOrigin],
    });
    clientId = spa.application.id;
    username = `chromium${Date.now().toString(36)}`;
    const res = await t.call('POST', '/api/auth/sign-up', { body: { username, password: PW } });
    expect(res.status).toBe(201);
    userId = (await res.json()).user.id;
    await t.app.services.accountCenter.update({ enabled: true, fields: { username: 'ReadOnly' } });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await rp?.close();
    await t?.close();
    await db?.drop();
  });

  /** Opens the authorization request of the SPA client in a fresh browser context, up to the sign-in page. */
  async function authorize(): Promise<{ context: BrowserContext; page: Page; config: client.Configuration; verifier: string; state: string }> {
    const { config, url, verifier, state } = await pkceRequest(t.base, { id: clientId }, `${rpOrigin}/callback`, 'openid profile');
    const context = await browser.newContext();
    const page = await context.newPage();
    const answer = await page.goto(url.href);
    expect(answer?.status()).toBe(200);
    await expect(page.locator('input[name="identifier"]').count()).resolves.toBe(1);
    return { context, page, config, verifier, state };
  }

  /** Types into the sign-in form and presses its submit button; returns the status of the form post. */
  async function submit(page: Page, identifier: string, password: string): Promise<number> {
    await page.fill('input[name="identifier"]', identifier);
    await page.fill('input[name="password"]', password);
    const [post] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/login')),
      page.click('button[type="submit"]'),
    ]);
    return post.status();
  }

  it('signs in with a password (code flow with PKCE), after a wrong password is shown as such', async () => {
    const { context, page, config, verifier, state } = await authorize();
    try {
      expect(await submit(page, username, 'not-the-password')).toBe(401);
      await expect(page.locator('[role="alert"]').innerText()).resolves.toContain('The identifier or password is incorrect.');

      expect(await submit(page, username, PW)).toBe(303);
      await page.waitForURL(`${rpOrigin}/callback?**`);
      const tokens = await client.authorizationCodeGrant(config, new URL(page.url()), { pkceCodeVerifier: verifier, expectedState: state });
      expect(tokens.claims()?.sub).toBe(userId);
      const me = await t.call('GET', '/api/my-account', { token: tokens.access_token });
      const body = await me.json();
      expect(me.status, JSON.stringify(body)).toBe(200);
      expect(body.username).toBe(username);
    } finally {
      await context.close();
    }
  });

  /**
   * An attacker's page that posts the sign-in form with a valid CSRF token (the strongest case: the token
   * leaked) and the right password. `origin` is where the attacker's page is served from.
   */
  async function attack(page: Page, context: BrowserContext, origin: string, referrerPolicy: string) {
    const action = new URL((await page.getAttribute('form[action$="/login"]', 'action'))!, page.url()).href;
    const csrf = (await page.getAttribute('input[name="csrf"]', 'value'))!;
    attackForm = `<!doctype html><meta name="referrer" content="${referrerPolicy}"><title>Win a prize</title>
<form method="post" action="${action}"><input type="hidden" name="csrf" value="${csrf}">
<input type="hidden" name="identifier" value="${username}"><input type="hidden" name="password" value="${PW}">
<button type="submit">Claim</button></form>`;
    const evil = await context.newPage();
    try {
      await evil.goto(`${origin}/attack`);
      const [post] = await Promise.all([
        evil.waitForResponse((r) => r.request().method() === 'POST' && r.url() === action),
        evil.click('button[type="submit"]'),
      ]);
      await evil.waitForLoadState();
      return { status: post.status(), headers: await post.request().allHeaders(), finalUrl: evil.url(), text: await evil.locator('body').innerText() };
    } finally {
      await evil.close();
    }
  }

  it('refuses the sign-in form posted from another origin of the same site and from another site', async () => {
    const { context, page } = await authorize();
    try {
      // Same site, another origin (another port of 127.0.0.1): the interaction cookie is sent, the Origin is not ours.
      const sameSite = await attack(page, context, `http://127.0.0.1:${rp.port}`, 'origin');
      expect(sameSite.headers['origin']).toBe(`http://127.0.0.1:${rp.port}`);
      expect(sameSite.status).toBe(403);
      expect(sameSite.finalUrl.startsWith(`${rpOrigin}/callback`)).toBe(false);

      // The same with Origin: null (the attacker's page sends no referrer): Sec-Fetch-Site says it is not ours.
      const nullOrigin = await attack(page, context, `http://127.0.0.1:${rp.port}`, 'no-referrer');
      expect(nullOrigin.headers['origin']).toBe('null');
      expect(nullOrigin.headers['sec-fetch-site']).toBe('same-site');
      expect(nullOrigin.status).toBe(403);

      // Another site: whatever reaches the server, no sign-in comes of it.
      const crossSite = await attack(page, context, rpOrigin, 'no-referrer');
      expect([400, 403]).toContain(crossSite.status);
      expect(crossSite.finalUrl.startsWith(`${rpOrigin}/callback`)).toBe(false);

      // The real page still works afterwards: none of the attacks used up the interaction.
      expect(await submit(page, username, PW)).toBe(303);
      await page.waitForURL(`${rpOrigin}/callback?**`);
    } finally {
      await context.close();
    }
  });
});
