import { generateSync } from 'otplib';
import type { Browser, BrowserContext, Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TABS } from '../../src/account-center/pages.js';
import { ALL_EDIT, freshPgDatabase, PG_URL } from '../helpers.js';
import { extractCode, type SmtpSink, startSmtpSink } from '../peers.js';
import { HAVE_CHROMIUM, launchChromium } from './chromium.js';
import { addVirtualAuthenticator, type LocalhostApp, startAppOnLocalhost, watchPage } from './passkey.js';
import { checkPage } from './ui-check.js';

/**
 * Issue 14 §3, "done means a real client went through it": the account center at /account in headless
 * Chromium — sign in through /oidc, change the name, bind an email by a code from a real SMTP sink,
 * change the password, enrol and remove a passkey (CDP virtual authenticator), end another browser's
 * session, delete the account; every section checked with axe-core at 1280 and 390 px in English and
 * Chinese. On SQLite, and on PostgreSQL when TESSERA_TEST_PG_URL is set.
 */
const PW = 'copper-meadow-58-thistle';
const PW2 = 'saffron-harbour-94-quill';

const targets: Array<[string, () => Promise<{ url: string; drop(): Promise<void> }>]> = [['SQLite', async () => ({ url: 'sqlite::memory:', drop: async () => {} })]];
const pgUrl = PG_URL;
if (pgUrl) targets.push(['PostgreSQL', () => freshPgDatabase(pgUrl)]);

describe.skipIf(!HAVE_CHROMIUM).each(targets)('account center in Chromium (%s)', (_name, database) => {
  let t: LocalhostApp;
  let smtp: SmtpSink;
  let browser: Browser;
  let db: { url: string; drop(): Promise<void> };
  const username = `acb${Date.now().toString(36)}`;
  const email = `${username}@example.test`;
  let userId: string;

  beforeAll(async () => {
    db = await database();
    smtp = await startSmtpSink();
    t = await startAppOnLocalhost({
      databaseUrl: db.url,
      email: { smtpUrl: smtp.url, from: 'Tessera Test <auth@tessera.test>' },
      codes: { resendIntervalSeconds: 0, perIdentifierPerHour: 1000, perIpPerHour: 100_000 },
    });
    await t.app.services.accountCenter.update({ enabled: true, fields: ALL_EDIT });
    userId = (await t.app.services.users.create({ username, password: PW })).id;
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await smtp?.close();
    await db?.drop();
  });

  /** Signs in at /account through the hosted sign-in page; ends on an account page. */
  async function signIn(page: Page, password: string) {
    await page.goto(`${t.origin}/account`);
    expect(page.url()).toContain('/oidc/interaction/');
    await page.fill('input[name="identifier"]', username);
    await page.fill('input[name="password"]', password);
    await Promise.all([page.waitForURL(`${t.origin}/account/**`), page.locator('button[type="submit"]').first().click()]);
  }

  /**
   * Submits a form by clicking `button` and waits until the page answering it has loaded. The click has
   * its own timeout, shorter than the navigation's, so a click that cannot land says why; a navigation
   * that fails names its network error.
   */
  async function submit(page: Page, button: string) {
    const failures: string[] = [];
    const onFailed = (r: Request) => {
      if (r.isNavigationRequest()) failures.push(`${r.method()} ${r.url()}: ${r.failure()?.errorText ?? 'failed'}`);
    };
    page.on('requestfailed', onFailed);
    const navigated = page.waitForEvent('framenavigated', { predicate: (f) => f === page.mainFrame(), timeout: 60_000 });
    navigated.catch(() => undefined); // awaited below; a click error must not leave it unhandled
    try {
      await page.locator(button).first().click({ timeout: 30_000 });
      await navigated.catch((error: Error) => {
        throw new Error(`${error.message}; failed navigation requests: ${failures.join('; ') || 'none'}`);
      });
      await page.waitForLoadState('load');
    } finally {
      page.off('requestfailed', onFailed);
    }
  }

  /** Answers "Confirm it's you" when the section asks for it. */
  async function confirm(page: Page, password: string) {
    if ((await page.locator('#proof-password').count()) === 0) return;
    await page.fill('#proof-password', password);
    await submit(page, '#proof-password ~ button[type="submit"]');
    await expect(page.locator('#proof-password').count()).resolves.toBe(0);
  }

  /** Every visible section, checked with axe and screenshotted in `locale`. */
  async function checkSections(page: Page, locale: string) {
    for (const tab of TABS) {
      await page.goto(`${t.origin}/account/${tab}`);
      expect(page.url()).toBe(`${t.origin}/account/${tab}`);
      await checkPage(page, `account-${tab}.${locale}`);
    }
  }

  it('goes through every section of the account center as a real browser', async () => {
    const context: BrowserContext = await browser.newContext({ locale: 'en-US' });
    const page = await context.newPage();
    const seen = watchPage(page);
    try {
      // Sign in through /oidc as the built-in client.
      await signIn(page, PW);
      expect(page.url()).toBe(`${t.origin}/account/profile`);
      await expect(page.locator('h1').textContent()).resolves.toBe('Your account');
      await expect(page.locator('h2').textContent()).resolves.toBe('Profile');

      // Profile: the name.
      await page.fill('#name', 'Ada Lovelace');
      await submit(page, 'form[action="/account/profile"] button[type="submit"]');
      await expect(page.locator('.notice').textContent()).resolves.toBe('Saved.');
      await expect(page.locator('#name').inputValue()).resolves.toBe('Ada Lovelace');

      // Email: confirm with the password, send a code to the new address, enter it.
      await page.goto(`${t.origin}/account/contact`);
      await confirm(page, PW);
      const before = smtp.messages.length;
      await page.fill('#new-email', email);
      await submit(page, 'form[action="/account/contact/code"]:has(#new-email) button[type="submit"]');
      const mail = await smtp.waitFor((m, i) => i >= before && m.to.toLowerCase() === email, 10_000);
      await page.fill('#email-code', extractCode(mail.text));
      await submit(page, 'form[action="/account/contact/verify"] button[type="submit"]');
      await expect(page.locator('.notice').textContent()).resolves.toBe('Saved.');
      await expect(page.locator('#email-title + p').textContent()).resolves.toBe(email);

      // Password: current → new.
      await page.goto(`${t.origin}/account/password`);
      await page.fill('#current', PW);
      await page.fill('#password', PW2);
      await submit(page, 'form[action="/account/password"] button[type="submit"]');
      await expect(page.locator('.notice').textContent()).resolves.toContain('Your password was changed');

      // Every section in English (with the proof held: the full forms), axe at both widths.
      await page.goto(`${t.origin}/account/mfa`);
      await confirm(page, PW2);
      await checkSections(page, 'en');

      // Passkey: enrolled by the browser's WebAuthn ceremony (virtual authenticator), then removed.
      const { cdp, authenticatorId } = await addVirtualAuthenticator(page);
      await page.goto(`${t.origin}/account/mfa`);
      await confirm(page, PW2);
      await page.locator('#passkey').waitFor({ state: 'visible' });
      await page.fill('#passkey-name', 'Virtual key');
      await Promise.all([page.waitForURL(`${t.origin}/account/mfa?done=passkey`), page.click('#passkey')]);
      await expect(page.locator('.notice').textContent()).resolves.toBe('The passkey was added.');
      await expect(page.locator('#factors').textContent()).resolves.toContain('Passkey: Virtual key');
      expect((await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials).toHaveLength(1);
      expect((await t.app.services.mfa.listFactors(userId)).map((f) => f.kind)).toEqual(['webauthn']);
      await submit(page, '#factors button');
      await expect(page.locator('.notice').textContent()).resolves.toBe('Removed.');
      await expect(page.locator('#factors li').count()).resolves.toBe(0);
      expect(await t.app.services.mfa.listFactors(userId)).toEqual([]);

      // Sign out: RP-initiated logout at /oidc, back to /account, which asks to sign in again.
      await Promise.all([page.waitForURL(`${t.origin}/oidc/session/end**`), page.click('form[action="/account/sign-out"] button')]);
      await Promise.all([page.waitForURL(`${t.origin}/oidc/interaction/**`), page.click('button[name="logout"][value="yes"]')]);
      const cookies = await context.cookies(`${t.origin}/account`);
      expect(cookies.find((c) => c.name === 'tessera_account')).toBeUndefined();
      expect(cookies.find((c) => c.name === 'tessera_account_auth')).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/account' });
      await page.fill('input[name="identifier"]', username);
      await page.fill('input[name="password"]', PW2);
      await Promise.all([page.waitForURL(`${t.origin}/account/**`), page.locator('button[type="submit"]').first().click()]);
      expect(page.url()).toBe(`${t.origin}/account/profile`);

      // Another browser signs in; this one ends that session, and that browser is signed out.
      const other = await browser.newContext({ locale: 'zh-CN' });
      const otherPage = await other.newPage();
      try {
        await signIn(otherPage, PW2);
        await expect(otherPage.locator('h1').textContent()).resolves.toBe('我的账户');
        await page.goto(`${t.origin}/account/sessions`);
        await confirm(page, PW2);
        await expect(page.locator('#sessions li').count()).resolves.toBe(2);
        await expect(page.locator('#sessions li form').count()).resolves.toBe(1);
        // Chinese pages, with that other browser's proof: this time a code sent to the current email.
        await otherPage.goto(`${t.origin}/account/sessions`);
        const sent = smtp.messages.length;
        await submit(otherPage, 'form[action="/account/verify/code"] button');
        const proofMail = await smtp.waitFor((m, i) => i >= sent && m.to.toLowerCase() === email, 10_000);
        await checkPage(otherPage, 'account-proof-code.zh-CN');
        await otherPage.fill('#proof-code', '000000' === extractCode(proofMail.text) ? '111111' : '000000');
        await submit(otherPage, 'form[action="/account/verify/code/check"] button');
        await expect(otherPage.locator('#proof-code').getAttribute('aria-invalid')).resolves.toBe('true');
        await otherPage.fill('#proof-code', extractCode(proofMail.text));
        await submit(otherPage, 'form[action="/account/verify/code/check"] button');
        expect(otherPage.url()).toBe(`${t.origin}/account/sessions`);
        await expect(otherPage.locator('#sessions li').count()).resolves.toBe(2);
        await checkSections(otherPage, 'zh-CN');

        await submit(page, '#sessions li form button');
        await expect(page.locator('.notice').textContent()).resolves.toBe('That session was signed out.');
        await expect(page.locator('#sessions li').count()).resolves.toBe(1);
        await otherPage.goto(`${t.origin}/account/profile`);
        expect(otherPage.url()).toContain('/oidc/interaction/');
      } finally {
        await other.close();
      }

      // An authenticator app: the QR code is drawn, a wrong code is refused with the same key, the right one enrols it.
      await page.goto(`${t.origin}/account/mfa`);
      await confirm(page, PW2);
      await submit(page, 'form[action="/account/mfa/totp/start"] button');
      await page.waitForFunction(() => {
        const img = document.getElementById('totp-qr') as HTMLImageElement | null;
        return img !== null && img.complete && img.naturalWidth > 0;
      });
      const secret = (await page.locator('#totp-secret').textContent())!.replace(/\s+/g, '');
      expect(secret).toMatch(/^[A-Z2-7]{32}$/);
      await checkPage(page, 'account-mfa-totp.en');
      await page.fill('#totp-code', '000000');
      await submit(page, 'form[action="/account/mfa/totp"] button');
      await expect(page.locator('#totp-code').getAttribute('aria-invalid')).resolves.toBe('true');
      await expect(page.locator('#totp-secret').textContent()).resolves.toBe(secret.replace(/(.{4})/g, '$1 ').trim());
      await page.fill('#totp-code', generateSync({ secret, epoch: Math.floor(Date.now() / 1000) }));
      await submit(page, 'form[action="/account/mfa/totp"] button');
      await expect(page.locator('.notice').textContent()).resolves.toBe('The authenticator app is set up.');
      await expect(page.locator('#factors').textContent()).resolves.toContain('Authenticator app');

      // Backup codes: shown once, ten of them; the list then counts them.
      await submit(page, 'form[action="/account/mfa/backup-codes"] button');
      await expect(page.locator('#backup-codes li').count()).resolves.toBe(10);
      await checkPage(page, 'account-mfa-backup-codes.en');
      await page.goto(`${t.origin}/account/mfa`);
      await expect(page.locator('#factors').textContent()).resolves.toContain('10 codes left');
      expect((await t.app.services.mfa.listFactors(userId)).map((f) => f.kind).sort()).toEqual(['backup_codes', 'totp']);

      // Delete the account, confirmed with the password.
      await page.goto(`${t.origin}/account/delete`);
      await page.fill('#delete-password', PW2);
      await submit(page, 'form[action="/account/delete"] button[type="submit"]');
      await expect(page.locator('main p').first().textContent()).resolves.toBe('Your account was deleted.');
      expect(await t.app.services.users.findById(userId)).toBeUndefined();

      expect(seen.violations).toEqual([]);
      expect(seen.errors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 180_000);
});
