import * as client from 'openid-client';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSKEY_LIBRARY } from '../../src/oidc/passkey-script.js';
import { pkceRequest } from '../oidc-helpers.js';
import { HAVE_CHROMIUM, launchChromium, type Site, startSite } from './chromium.js';
import { type LocalhostApp, passkeyUser, startAppOnLocalhost } from './passkey.js';

/**
 * Issue 21: "Use a passkey" on the hosted page's MFA step in real Chromium with a virtual authenticator.
 * The page loads @simplewebauthn/browser and its glue script from our origin under the strict CSP
 * (`script-src 'self'`, no inline script, no eval); the passkey enrolled through the Account API finishes
 * an authorization code + PKCE sign-in of a SPA client.
 */
const PW = 'amber-quarry-51-willow';

describe.skipIf(!HAVE_CHROMIUM)('passkey on the hosted MFA step in Chromium', () => {
  let t: LocalhostApp;
  let rp: Site;
  let browser: Browser;
  let rpOrigin: string;
  let clientId: string;

  beforeAll(async () => {
    t = await startAppOnLocalhost();
    rp = await startSite((_req, res) => {
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end('<!doctype html><title>Callback</title><h1>Signed in</h1>');
    });
    // Another site than the issuer's localhost.
    rpOrigin = `http://127.0.0.1:${rp.port}`;
    const spa = await t.app.services.applications.create({ name: 'Passkey SPA', type: 'spa', redirectUris: [`${rpOrigin}/callback`], corsOrigins: [rpOrigin] });
    clientId = spa.application.id;
    await t.app.services.accountCenter.update({ enabled: true, fields: { mfa: 'Edit' } });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await rp?.close();
    await t?.close();
  });

  it('enrols a passkey, then passes the MFA step with "Use a passkey" and reaches the client with a code', async () => {
    const user = await passkeyUser(browser, t, `passkey${Date.now().toString(36)}`, PW);
    const { page } = user;
    try {
      const { config, url, verifier, state } = await pkceRequest(t.origin, { id: clientId }, `${rpOrigin}/callback`, 'openid');
      await page.goto(url.href);
      await page.fill('input[name="identifier"]', user.username);
      await page.fill('input[name="password"]', PW);
      const [step, library] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/login')),
        page.waitForResponse((r) => new URL(r.url()).pathname === PASSKEY_LIBRARY.path),
        page.click('button[type="submit"]'),
      ]);
      // The step's CSP: scripts and fetches of our origin only, nothing inline, no eval.
      const csp = step.headers()['content-security-policy']!;
      expect(csp).toContain("script-src 'self';");
      expect(csp).not.toMatch(/unsafe-eval|script-src[^;]*unsafe-inline/);
      expect(library.status()).toBe(200);
      expect(library.headers()['content-type']).toBe('application/javascript; charset=utf-8');
      expect(library.headers()['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(library.headers()['x-content-type-options']).toBe('nosniff');

      // This user has only the passkey: no code field; the glue script shows the button.
      await expect(page.locator('h1').textContent()).resolves.toBe('Two-step verification');
      await expect(page.locator('input[name="code"]').count()).resolves.toBe(0);
      await page.waitForSelector('#passkey:not([hidden])');
      await Promise.all([page.waitForURL(`${rpOrigin}/callback?**`), page.click('#passkey')]);

      const tokens = await client.authorizationCodeGrant(config, new URL(page.url()), { pkceCodeVerifier: verifier, expectedState: state });
      const claims = tokens.claims()!;
      expect(claims.sub).toBe(user.id);
      expect(claims.amr).toEqual(['pwd', 'hwk', 'mfa']);
      // The assertion moved the authenticator's counter.
      await expect(user.signCount()).resolves.toBeGreaterThan(0);
      expect(user.seen).toEqual({ violations: [], errors: [] });
    } finally {
      await user.context.close();
    }
  }, 60_000);
});
