import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningApp, startAppWithPublicUrl } from '../helpers.js';
import { HAVE_CHROMIUM, launchChromium } from './chromium.js';

/**
 * Issue 21 item 2: `/api/docs` in real Chromium is Tessera's — the tab title and the header's word mark
 * (an SVG `data:` image the page's CSP must allow) — and it renders the document's operations.
 */
describe.skipIf(!HAVE_CHROMIUM)('/api/docs in Chromium', () => {
  let t: RunningApp;
  let browser: Browser;

  beforeAll(async () => {
    t = await startAppWithPublicUrl();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('shows Tessera’s title and word mark, and the operations of the document', async () => {
    const page = await browser.newPage();
    const blocked: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy|Refused/i.test(m.text())) blocked.push(m.text());
    });
    await page.goto(`${t.base}/api/docs/`);
    expect(await page.title()).toBe('Tessera API');
    const logo = page.locator('.topbar img').first();
    await logo.waitFor({ state: 'visible', timeout: 15_000 });
    expect(await logo.getAttribute('src')).toMatch(/^data:image\/svg\+xml;base64,/);
    // The image decoded (a CSP refusal or a broken SVG leaves naturalWidth at 0).
    expect(await logo.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);
    await page.locator('.opblock-summary-path', { hasText: '/api/auth/sign-in' }).first().waitFor({ timeout: 15_000 });
    expect(blocked).toEqual([]);
    await page.close();
  }, 60_000);
});
