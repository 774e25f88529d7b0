import jsqr from 'jsqr';
import * as client from 'openid-client';
import { generateSync } from 'otplib';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects } from '../helpers.js';
import { extractCode, type SmtpSink, startSmtpSink } from '../peers.js';
import { pkceRequest } from '../oidc-helpers.js';
import { HAVE_CHROMIUM, launchChromium, type Site, startSite } from './chromium.js';
import { addVirtualAuthenticator, enrolPasskey, type LocalhostApp, startAppOnLocalhost, watchPage } from './passkey.js';
import { checkPage } from './ui-check.js';

/**
 * The hosted sign-in experience at /oidc in real headless Chromium (issue 14 §2, "Done when"): a SPA
 * client's authorization code flow with PKCE through every way in — sign-up (`prompt=create`),
 * sign-out, password (wrong password, lockout with its duration), email code (from a real SMTP sink),
 * forgot password, the MFA step, TOTP enrolment by scanning the rendered QR code, consent for a
 * third-party app, passkey sign-in with a CDP virtual authenticator — in English and Chinese. Every page
 * passes axe-core at 1280 and 390 px and is screenshotted under test-results/. The server is on
 * `localhost` (WebAuthn needs a domain as RP ID); the relying party on 127.0.0.1 (another site).
 */
const PW = 'amber-quarry-51-willow';
/** jsQR is CommonJS with `exports.default`: Node's default import is the module object, whose `default` is the function. */
const jsQR = ((jsqr as unknown as { default?: typeof jsqr }).default ?? jsqr) as unknown as (data: Uint8ClampedArray, width: number, height: number) => { data: string } | null;
const NEW_PW = 'copper-lantern-88-meadow';

describe.skipIf(!HAVE_CHROMIUM).each(dialects)('sign-in experience in Chromium on %s', (dialect, database) => {
  let db: Awaited<ReturnType<(typeof dialects)[number][1]>>;
  let t: LocalhostApp;
  let smtp: SmtpSink;
  let rp: Site;
  let browser: Browser;
  let rpOrigin: string;
  let spaId: string;
  let thirdId: string;
  /** The form the attacker's page (`/attack` of the relying party's server) posts; set before opening it. */
  let attackForm = '';
  /** Screenshots and axe checks on SQLite only (the pages are the same on PostgreSQL). */
  const check = (page: Page, name: string) => (dialect === 'SQLite' ? checkPage(page, name) : Promise.resolve());
  const unique = (prefix: string) => `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;

  beforeAll(async () => {
    db = await database();
    smtp = await startSmtpSink();
    t = await startAppOnLocalhost({
      databaseUrl: db.url,
      email: { smtpUrl: smtp.url, from: 'Tessera <no-reply@example.com>' },
      lockout: { maxFailures: 3 },
      ui: { productName: 'Acme ID', primaryColor: '#0b6e4f', supportUrl: 'https://support.example.com/' },
    });
    rp = await startSite((req, res) => {
      res.setHeader('content-type', 'text/html; charset=utf-8');
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (path === '/attack') return res.end(attackForm);
      res.end(path === '/callback' ? '<!doctype html><title>Callback</title><h1>Signed in</h1>' : '<!doctype html><title>Home</title><h1>Home</h1>');
    });
    rpOrigin = `http://127.0.0.1:${rp.port}`;
    const spa = await t.app.services.applications.create({
      name: 'Acme Notes',
      type: 'spa',
      redirectUris: [`${rpOrigin}/callback`],
      postLogoutRedirectUris: [`${rpOrigin}/`],
      corsOrigins: [rpOrigin],
    });
    spaId = spa.application.id;
    const third = await t.app.services.applications.create({ name: 'Partner Board', type: 'spa', redirectUris: [`${rpOrigin}/callback`], corsOrigins: [rpOrigin], isThirdParty: true });
    thirdId = third.application.id;
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await rp?.close();
    await t?.close();
    await smtp?.close();
    await db?.drop();
  });

  interface Flow {
    context: BrowserContext;
    page: Page;
    config: client.Configuration;
    verifier: string;
    state: string;
    seen: { violations: string[]; errors: string[] };
  }

  /** Opens an authorization request (code + PKCE) of `clientId` in a new context whose browser language is `locale`. */
  async function authorize(options: { locale?: string; clientId?: string; scope?: string; prompt?: string; context?: BrowserContext } = {}): Promise<Flow> {
    const { config, url, verifier, state } = await pkceRequest(
      t.origin,
      { id: options.clientId ?? spaId },
      `${rpOrigin}/callback`,
      options.scope ?? 'openid profile email',
      options.prompt ? { prompt: options.prompt } : {},
    );
    const context = options.context ?? (await browser.newContext({ locale: options.locale ?? 'en-US' }));
    const page = await context.newPage();
    const seen = watchPage(page);
    const answer = await page.goto(url.href);
    expect(answer?.status()).toBe(200);
    return { context, page, config, verifier, state, seen };
  }

  /** Clicks the form's primary (first) submit button and waits for the next page. */
  async function submit(page: Page, form = 'main form'): Promise<void> {
    await Promise.all([page.waitForEvent('load'), page.locator(`${form} button[type="submit"]`).first().click()]);
  }

  /** Waits for the relying party's callback and redeems the code (PKCE); returns the ID token's claims. */
  async function finish(flow: Flow): Promise<client.IDToken> {
    await flow.page.waitForURL(`${rpOrigin}/callback**`);
    const tokens = await client.authorizationCodeGrant(flow.config, new URL(flow.page.url()), { pkceCodeVerifier: flow.verifier, expectedState: flow.state });
    expect(flow.seen.violations).toEqual([]);
    expect(flow.seen.errors).toEqual([]);
    return tokens.claims()!;
  }

  const alertText = (page: Page) => page.locator('[role="alert"]').first().textContent();

  it('signs up with prompt=create, then signs out through the end-session page', async () => {
    const flow = await authorize({ prompt: 'create' });
    const { page } = flow;
    await expect(page.locator('h1').textContent()).resolves.toBe('Create your account');
    await check(page, 'sign-up.en');
    // A rejected password is tied to its field.
    const username = unique('newbie');
    await page.fill('#username', username);
    await page.fill('#email', `${username}@example.com`);
    await page.fill('#password', 'short');
    await submit(page);
    await expect(page.locator('#password').getAttribute('aria-invalid')).resolves.toBe('true');
    await expect(page.locator('#password-error').textContent()).resolves.toContain('at least 8 characters');
    await expect(page.locator('#password').getAttribute('aria-describedby')).resolves.toContain('password-error');
    await check(page, 'sign-up-error.en');
    await page.fill('#password', PW);
    await submit(page);
    const claims = await finish(flow);
    const user = await t.app.services.users.findByIdentifier('username', username);
    expect(claims.sub).toBe(user?.id);

    // Sign-out (RP-initiated logout): the confirmation page, then back to the application.
    await page.goto(`${t.origin}/oidc/session/end?client_id=${spaId}&post_logout_redirect_uri=${encodeURIComponent(`${rpOrigin}/`)}`);
    await expect(page.locator('h1').textContent()).resolves.toBe('Sign out');
    await check(page, 'sign-out.en');
    await Promise.all([page.waitForURL(`${rpOrigin}/**`), page.click('button[name="logout"]')]);
    // Without a post-logout redirect URI the provider's own "signed out" page ends it.
    const again = await authorize({ context: flow.context });
    await again.page.fill('#identifier', username);
    await again.page.fill('#password', PW);
    await submit(again.page);
    await finish(again);
    await again.page.goto(`${t.origin}/oidc/session/end`);
    await Promise.all([again.page.waitForEvent('load'), again.page.click('button[name="logout"]')]);
    await expect(again.page.locator('h1').textContent()).resolves.toBe('Signed out');
    await check(again.page, 'signed-out.en');
    await flow.context.close();
  });

  it('signs in with a password; shows a wrong password, then the lockout with its duration', async () => {
    const username = unique('pat');
    await t.app.services.users.create({ username, password: PW });
    const flow = await authorize();
    const { page } = flow;
    await expect(page.locator('h1').textContent()).resolves.toBe('Sign in');
    await expect(page.locator('.lead').textContent()).resolves.toBe('to continue to Acme Notes');
    await check(page, 'sign-in.en');
    await page.fill('#identifier', username);
    await page.fill('#password', 'not-the-password');
    await submit(page);
    await expect(alertText(page)).resolves.toBe('The identifier or password is incorrect.');
    await check(page, 'sign-in-wrong-password.en');
    await page.fill('#password', PW);
    await submit(page);
    await finish(flow);
    await flow.context.close();

    // Three failures lock the identifier (lockout.maxFailures = 3 here) for 15 minutes: the fourth
    // attempt is refused with the wait.
    const locked = await authorize();
    for (let i = 0; i < 4; i++) {
      await locked.page.fill('#identifier', username);
      await locked.page.fill('#password', `wrong-${i}`);
      await submit(locked.page);
    }
    await expect(alertText(locked.page)).resolves.toMatch(/locked.*Try again in 15 minutes\.$/);
    await check(locked.page, 'sign-in-locked.en');
    await locked.context.close();
  });

  it('signs in with a code sent by email (from the SMTP sink); an unknown address gets an account', async () => {
    const username = unique('coder');
    const email = `${username}@example.com`;
    await t.app.services.users.create({ username, email, password: PW });
    for (const address of [email, `${unique('fresh')}@example.com`]) {
      const flow = await authorize();
      const { page } = flow;
      await Promise.all([page.waitForEvent('load'), page.click('text=Sign in with a one-time code')]);
      await expect(page.locator('h1').textContent()).resolves.toBe('Sign in with a code');
      if (address === email) await check(page, 'code.en');
      await page.fill('#identifier', address);
      await submit(page);
      await expect(page.locator('[role="status"]').first().textContent()).resolves.toContain(address);
      const mail = await smtp.waitFor((m) => m.to === address);
      if (address === email) await check(page, 'code-sent.en');
      await page.fill('#code', extractCode(mail.text));
      await submit(page);
      const claims = await finish(flow);
      const user = await t.app.services.users.findByIdentifier('email', address);
      expect(claims.sub).toBe(user?.id);
      expect(user?.emailVerified).toBe(true);
      await flow.context.close();
    }
  });

  it('resets a forgotten password with an emailed code, then signs in with the new one', async () => {
    const username = unique('forgetful');
    const email = `${username}@example.com`;
    await t.app.services.users.create({ username, email, password: PW });
    const flow = await authorize();
    const { page } = flow;
    await Promise.all([page.waitForEvent('load'), page.click('text=Forgot your password?')]);
    await expect(page.locator('h1').textContent()).resolves.toBe('Reset your password');
    await check(page, 'forgot-password.en');
    await page.fill('#identifier', email);
    await submit(page);
    const mail = await smtp.waitFor((m) => m.to === email && /reset/i.test(m.subject));
    await page.fill('#code', '000000' === extractCode(mail.text) ? '111111' : '000000');
    await page.fill('#password', NEW_PW);
    await submit(page);
    await expect(page.locator('#code').getAttribute('aria-invalid')).resolves.toBe('true');
    await page.fill('#code', extractCode(mail.text));
    await page.fill('#password', NEW_PW);
    await submit(page);
    await expect(page.locator('[role="status"]').first().textContent()).resolves.toBe('Your password has been changed. Sign in with your new password.');
    await check(page, 'forgot-password-done.en');
    await Promise.all([page.waitForEvent('load'), page.click('a.button')]);
    await page.fill('#identifier', email);
    await page.fill('#password', NEW_PW);
    await submit(page);
    await finish(flow);
    await flow.context.close();
  });

  it('asks for the authenticator code after the password (MFA step)', async () => {
    const username = unique('twofa');
    const user = await t.app.services.users.create({ username, password: PW });
    const { secret } = t.app.services.mfa.generateTotpSecret(user);
    await t.app.services.mfa.addTotp(user.id, secret, generateSync({ secret, epoch: Math.floor(Date.now() / 1000) }));
    const flow = await authorize();
    const { page } = flow;
    await page.fill('#identifier', username);
    await page.fill('#password', PW);
    await submit(page);
    await expect(page.locator('h1').textContent()).resolves.toBe('Two-step verification');
    await check(page, 'mfa.en');
    await page.fill('#code', '000000');
    await submit(page);
    await expect(page.locator('#code').getAttribute('aria-invalid')).resolves.toBe('true');
    // The next time step: the code of the enrolment's step cannot be used twice.
    await page.fill('#code', generateSync({ secret, epoch: Math.floor(Date.now() / 1000) + 30 }));
    await submit(page);
    const claims = await finish(flow);
    expect(claims.amr).toEqual(expect.arrayContaining(['pwd', 'otp', 'mfa']));
    await flow.context.close();
  });

  it('asks a third-party application’s user for consent', async () => {
    const username = unique('consenting');
    await t.app.services.users.create({ username, password: PW });
    const flow = await authorize({ clientId: thirdId });
    const { page } = flow;
    await page.fill('#identifier', username);
    await page.fill('#password', PW);
    await submit(page);
    await expect(page.locator('h1').textContent()).resolves.toBe('Allow access?');
    await expect(page.locator('main li').allTextContents()).resolves.toEqual([
      'Know who you are (your account id)',
      'See your name, username, picture and profile details',
      'See your email address',
    ]);
    await check(page, 'consent.en');
    await submit(page);
    await finish(flow);
    await flow.context.close();
  });

  it('signs in with a passkey (discoverable credential in a virtual authenticator)', async () => {
    const username = unique('passkey');
    const signUp = await t.call('POST', '/api/auth/sign-up', { body: { username, password: PW } });
    const { user, session } = await signUp.json();
    await t.app.services.accountCenter.update({ enabled: true, fields: { mfa: 'Edit' } });
    const context = await browser.newContext({ locale: 'en-US' });
    const enrolPage = await context.newPage();
    await addVirtualAuthenticator(enrolPage);
    await enrolPasskey(enrolPage, t, session.token, PW);
    // The authenticator lives in the tab: the authorization request opens in the same one.
    const flow = await authorize({ context });
    await flow.page.close();
    const config = flow.config;
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: `${rpOrigin}/callback`,
      scope: 'openid',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });
    const seen = watchPage(enrolPage);
    await enrolPage.goto(url.href);
    await Promise.all([enrolPage.waitForEvent('load'), enrolPage.click('text=Sign in with a passkey')]);
    await expect(enrolPage.locator('h1').textContent()).resolves.toBe('Sign in with a passkey');
    await enrolPage.waitForSelector('#passkey:not([hidden])');
    await check(enrolPage, 'passkey.en');
    await enrolPage.click('#passkey');
    const claims = await finish({ context, page: enrolPage, config, verifier, state, seen });
    expect(claims.sub).toBe(user.id);
    expect(claims.amr).toEqual(expect.arrayContaining(['hwk', 'mfa']));
    await context.close();
  });

  it('speaks Chinese to a zh-CN browser on every page, errors included', async () => {
    const username = unique('zh');
    await t.app.services.users.create({ username, email: `${username}@example.com`, password: PW });
    const flow = await authorize({ locale: 'zh-CN' });
    const { page } = flow;
    await expect(page.locator('html').getAttribute('lang')).resolves.toBe('zh-CN');
    await expect(page.locator('h1').textContent()).resolves.toBe('登录');
    await check(page, 'sign-in.zh-CN');
    await page.fill('#identifier', username);
    await page.fill('#password', 'not-the-password');
    await submit(page);
    await expect(alertText(page)).resolves.toMatch(/[\u4e00-\u9fff]/);
    await check(page, 'sign-in-wrong-password.zh-CN');
    for (const [link, heading, name] of [
      ['使用一次性验证码登录', '验证码登录', 'code'],
      ['创建账号', '创建账号', 'sign-up'],
    ] as const) {
      await page.goto(flow.page.url().replace(/\/(login|code|sign-up)$/, ''));
      await Promise.all([page.waitForEvent('load'), page.click(`main a:text-is("${link}")`)]);
      await expect(page.locator('h1').textContent()).resolves.toBe(heading);
      await check(page, `${name}.zh-CN`);
    }
    await page.goto(flow.page.url().replace(/\/(login|code|sign-up)$/, ''));
    await Promise.all([page.waitForEvent('load'), page.click('text=忘记密码？')]);
    await expect(page.locator('h1').textContent()).resolves.toBe('重置密码');
    await check(page, 'forgot-password.zh-CN');
    await page.fill('#identifier', `${username}@example.com`);
    await submit(page);
    const mail = await smtp.waitFor((m) => m.to === `${username}@example.com`);
    expect(mail.subject).toMatch(/[\u4e00-\u9fff]/);
    await flow.context.close();

    // `ui_locales` of the request wins over the browser's language.
    const config = await client.discovery(new URL(`${t.origin}/oidc`), spaId, { token_endpoint_auth_method: 'none' }, client.None(), { execute: [client.allowInsecureRequests] });
    expect(config.serverMetadata().ui_locales_supported).toEqual(['en', 'zh-CN']);
    expect(config.serverMetadata().prompt_values_supported).toEqual(expect.arrayContaining(['login', 'consent', 'create']));
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: `${rpOrigin}/callback`,
      scope: 'openid',
      code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
      ui_locales: 'zh-Hans en',
    });
    const context = await browser.newContext({ locale: 'en-US' });
    const english = await context.newPage();
    await english.goto(url.href);
    await expect(english.locator('h1').textContent()).resolves.toBe('登录');
    await context.close();
  });

  it('refuses a form posted to any interaction endpoint from another origin, even with the leaked CSRF token', async () => {
    const username = unique('target');
    await t.app.services.users.create({ username, email: `${username}@example.com`, password: PW });
    const flow = await authorize();
    const { page, context } = flow;
    const base = page.url();
    const csrf = (await page.getAttribute('input[name="csrf"]', 'value'))!;
    const fields: Record<string, string> = { csrf, identifier: username, password: PW, username: unique('evil'), email: `${unique('evil')}@example.com`, code: '123456', pendingSignInId: 'x', challengeId: 'x', response: '{}' };
    const endpoints = ['login', 'sign-up', 'code/send', 'code', 'forgot-password/send', 'forgot-password', 'passkey/options', 'passkey', 'mfa', 'mfa/webauthn-options', 'mfa/enroll', 'consent', 'abort'];
    // Another origin of the same site (another port of localhost: the interaction cookie is sent) and another site.
    for (const attacker of [`http://localhost:${rp.port}`, rpOrigin]) {
      for (const endpoint of endpoints) {
        const action = `${base}/${endpoint}`;
        attackForm = `<!doctype html><meta name="referrer" content="no-referrer"><title>Win a prize</title>
<form method="post" action="${action}">${Object.entries(fields).map(([k, v]) => `<input type="hidden" name="${k}" value="${v.replace(/"/g, '&quot;')}">`).join('')}
<button type="submit">Claim</button></form>`;
        const evil = await context.newPage();
        await evil.goto(`${attacker}/attack`);
        const [post] = await Promise.all([evil.waitForResponse((r) => r.request().method() === 'POST' && r.url() === action), evil.click('button[type="submit"]')]);
        await evil.waitForLoadState();
        // Same site: the cookie names the interaction, so the origin check answers 403 (consent: 400, this
        // interaction is at its login prompt); another site: the SameSite cookie is not sent, 400.
        expect([400, 403], `${attacker} → ${endpoint}`).toContain(post.status());
        if (attacker.includes('localhost')) expect(post.status(), endpoint).toBe(endpoint === 'consent' ? 400 : 403);
        expect(evil.url().startsWith(`${rpOrigin}/callback`)).toBe(false);
        await evil.close();
      }
    }
    expect(smtp.messages.filter((m) => m.to.includes(username))).toEqual([]);
    // None of it used the interaction up: the real page still signs in.
    await page.fill('#identifier', username);
    await page.fill('#password', PW);
    await submit(page);
    await finish(flow);
    await context.close();
  });

  it('shows a friendly error page without protocol fields', async () => {
    for (const [locale, heading] of [
      ['en-US', 'Something went wrong'],
      ['zh-CN', '出错了'],
    ] as const) {
      const context = await browser.newContext({ locale });
      const page = await context.newPage();
      await page.goto(`${t.origin}/oidc/auth?client_id=no-such-app&response_type=code&scope=openid&redirect_uri=${encodeURIComponent(`${rpOrigin}/callback`)}`);
      await expect(page.locator('h1').textContent()).resolves.toBe(heading);
      const text = await page.locator('main').textContent();
      expect(text).not.toMatch(/invalid_client|error_description|client_id/);
      await check(page, `error.${locale === 'en-US' ? 'en' : 'zh-CN'}`);
      await context.close();
    }
  });
});

/**
 * TOTP enrolment (MFA policy `required`) by scanning the QR code as a phone would: the test reads the
 * pixels Chromium drew for the QR image, decodes them with jsQR and computes the code from the decoded
 * otpauth:// URI — not from the text key next to it.
 */
describe.skipIf(!HAVE_CHROMIUM)('TOTP enrolment by scanning the QR code in Chromium', () => {
  let t: LocalhostApp;
  let rp: Site;
  let browser: Browser;

  beforeAll(async () => {
    t = await startAppOnLocalhost({ mfa: { policy: 'required', issuer: 'Acme ID' } });
    rp = await startSite((_req, res) => {
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end('<!doctype html><title>Callback</title><h1>Signed in</h1>');
    });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await rp?.close();
    await t?.close();
  });

  it.each([
    ['en-US', 'en', 'Set up two-step verification'],
    ['zh-CN', 'zh-CN', '设置两步验证'],
  ])('enrols by the decoded QR code (%s)', async (locale, tag, heading) => {
    const rpOrigin = `http://127.0.0.1:${rp.port}`;
    const spa = await t.app.services.applications.create({ name: 'Scanner', type: 'spa', redirectUris: [`${rpOrigin}/callback`], corsOrigins: [rpOrigin] });
    const username = `scan${Date.now().toString(36)}${tag.length}`;
    await t.app.services.users.create({ username, password: PW });
    const config = await client.discovery(new URL(`${t.origin}/oidc`), spa.application.id, { token_endpoint_auth_method: 'none' }, client.None(), {
      execute: [client.allowInsecureRequests],
    });
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: `${rpOrigin}/callback`,
      scope: 'openid',
      code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    const context = await browser.newContext({ locale });
    const page = await context.newPage();
    try {
      await page.goto(url.href);
      await page.fill('#identifier', username);
      await page.fill('#password', PW);
      await Promise.all([page.waitForEvent('load'), page.click('main form button[type="submit"]')]);
      await expect(page.locator('h1').textContent()).resolves.toBe(heading);
      await page.waitForFunction(() => {
        const img = document.getElementById('totp-qr') as HTMLImageElement | null;
        return img !== null && img.complete && img.naturalWidth > 0;
      });
      await checkPage(page, `mfa-enroll.${tag}`);
      // What the camera sees: the drawn QR code, scaled up on a white canvas.
      const pixels = await page.evaluate(() => {
        const img = document.getElementById('totp-qr') as HTMLImageElement;
        const canvas = document.createElement('canvas');
        canvas.width = 400;
        canvas.height = 400;
        const g = canvas.getContext('2d')!;
        g.fillStyle = '#fff';
        g.fillRect(0, 0, 400, 400);
        g.drawImage(img, 20, 20, 360, 360);
        return Array.from(g.getImageData(0, 0, 400, 400).data);
      });
      const decoded = jsQR(Uint8ClampedArray.from(pixels), 400, 400);
      expect(decoded?.data).toMatch(/^otpauth:\/\/totp\//);
      const secret = new URL(decoded!.data).searchParams.get('secret')!;
      expect(new URL(decoded!.data).searchParams.get('issuer')).toBe('Acme ID');
      await page.fill('#code', generateSync({ secret, epoch: Math.floor(Date.now() / 1000) }));
      await Promise.all([page.waitForEvent('load'), page.click('main form button[type="submit"]')]);
      // Ten backup codes, shown once; each signs in once instead of the app.
      await expect(page.locator('h1').textContent()).resolves.toBe(tag === 'en' ? 'Save your backup codes' : '保存备用码');
      const backupCodes = await page.locator('#backup-codes code').allTextContents();
      expect(backupCodes).toHaveLength(10);
      expect(new Set(backupCodes).size).toBe(10);
      await checkPage(page, `mfa-backup-codes.${tag}`);
      const user = await t.app.services.users.findByIdentifier('username', username);
      expect((await t.app.services.mfa.backupCodeStatus(user!.id)).remaining).toBe(10);
      await Promise.all([page.waitForURL(`${rpOrigin}/callback**`), page.click('a.button')]);
      expect(new URL(page.url()).searchParams.get('code')).toBeTruthy();
    } finally {
      await context.close();
    }
  }, 60_000);
});
