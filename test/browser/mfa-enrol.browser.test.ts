import * as client from 'openid-client';
import { generateSync } from 'otplib';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningApp, startAppWithPublicUrl } from '../helpers.js';
import { HAVE_CHROMIUM, launchChromium, type Site, startSite } from './chromium.js';

/**
 * Issue 14: the hosted page's TOTP enrolment step in real Chromium (policy `required`): the key is shown
 * as a QR code that the browser actually draws (an SVG `data:` image the page's CSP must allow), and
 * the code of that key finishes the sign-in at the relying party.
 */
const PW = 'amber-quarry-51-willow';

describe.skipIf(!HAVE_CHROMIUM)('TOTP enrolment on the hosted page in Chromium', () => {
  let t: RunningApp;
  let rp: Site;
  let browser: Browser;
  let rpOrigin: string;
  let clientId: string;
  const username = `enrol${Date.now().toString(36)}`;

  beforeAll(async () => {
    t = await startAppWithPublicUrl({ mfa: { policy: 'required', issuer: 'Tessera Browser' } });
    rp = await startSite((req, res) => {
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end('<!doctype html><title>Callback</title><h1>Signed in</h1>');
    });
    rpOrigin = `http://localhost:${rp.port}`;
    const spa = await t.app.services.applications.create({ name: 'Browser SPA', type: 'spa', redirectUris: [`${rpOrigin}/callback`], corsOrigins: [rpOrigin] });
    clientId = spa.application.id;
    await t.app.services.users.create({ username, password: PW });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await rp?.close();
    await t?.close();
  });

  it('shows the key as a QR code the browser draws, and the key’s code finishes the sign-in', async () => {
    const config = await client.discovery(new URL(`${t.base}/oidc`), clientId, { token_endpoint_auth_method: 'none' }, client.None(), {
      execute: [client.allowInsecureRequests],
    });
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: `${rpOrigin}/callback`,
      scope: 'openid',
      code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    const context = await browser.newContext();
    const page = await context.newPage();
    const violations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to load/i.test(m.text())) violations.push(m.text());
    });
    try {
      await page.goto(url.href);
      await page.fill('input[name="identifier"]', username);
      await page.fill('input[name="password"]', PW);
      await Promise.all([page.waitForLoadState('load'), page.click('button[type="submit"]')]);
      await page.waitForSelector('#totp-qr');
      await expect(page.locator('h1').textContent()).resolves.toBe('Set up two-step verification');
      // The picture loaded and has its size: Chromium drew it (a CSP without img-src data: would block it).
      await page.waitForFunction(() => {
        const img = document.getElementById('totp-qr') as HTMLImageElement | null;
        return img !== null && img.complete && img.naturalWidth > 0;
      });
      const size = await page.locator('#totp-qr').evaluate((img) => [(img as HTMLImageElement).naturalWidth, (img as HTMLImageElement).naturalHeight]);
      expect(size[0]).toBeGreaterThan(0);
      expect(size[0]).toBe(size[1]);
      expect(violations).toEqual([]);

      const secret = (await page.locator('#totp-secret').textContent())!.replace(/\s+/g, '');
      expect(secret).toMatch(/^[A-Z2-7]{32}$/);
      await page.fill('input[name="code"]', generateSync({ secret, epoch: Math.floor(Date.now() / 1000) }));
      await Promise.all([page.waitForEvent('load'), page.click('button[type="submit"]')]);
      await expect(page.locator('#backup-codes li').count()).resolves.toBe(10);
      await Promise.all([page.waitForURL(`${rpOrigin}/callback**`), page.click('a.button')]);
      expect(new URL(page.url()).searchParams.get('code')).toBeTruthy();
    } finally {
      await context.close();
    }
  }, 60_000);
});
