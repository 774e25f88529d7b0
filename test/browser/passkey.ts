import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import { expect } from 'vitest';
import { PASSKEY_LIBRARY } from '../../src/oidc/passkey-script.js';
import { freePort, type RunningApp, startApp, testConfig } from '../helpers.js';

/**
 * Passkeys in real Chromium (issue 21): a CDP virtual authenticator instead of a person with a security
 * key, and the enrolment of a passkey through the Account API with the browser doing the ceremony.
 */

/** A running app whose public URL (so the WebAuthn RP ID and origin) is `http://localhost:<port>`. */
export interface LocalhostApp extends RunningApp {
  /** `http://localhost:<port>`: the origin pages must be on for WebAuthn to accept the RP ID. */
  origin: string;
}

/**
 * Starts an app with `publicUrl` `http://localhost:<port>`: WebAuthn refuses an IP address as RP ID
 * (WebAuthn L3 §5.1.3 step 8: the RP ID must be a registrable domain suffix of the origin's effective domain),
 * and `localhost` is a secure context over plain HTTP. It listens on 127.0.0.1, where Chromium and Node
 * reach `localhost` too.
 */
export async function startAppOnLocalhost(overrides: Parameters<typeof testConfig>[0] = {}): Promise<LocalhostApp> {
  const port = await freePort();
  const origin = `http://localhost:${port}`;
  const t = await startApp(testConfig({ ...overrides, port, publicUrl: origin }));
  return { ...t, origin };
}

/**
 * Adds a CDP virtual authenticator to `page`'s tab (CTAP2, built-in, discoverable credentials, user
 * verification that always succeeds, presence simulated): `navigator.credentials.create/get` then
 * answer without any prompt. It lives as long as the tab.
 * @returns the CDP session and the authenticator's id (for `WebAuthn.getCredentials` and the like)
 */
export async function addVirtualAuthenticator(page: Page): Promise<{ cdp: CDPSession; authenticatorId: string }> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  return { cdp, authenticatorId };
}

/**
 * Opens a blank page of `origin` (`/__test/<name>`, answered by Playwright for this page only, so it is
 * same-origin with the server without the server serving it) that loads the given same-origin scripts:
 * paths the server serves, or `{path: source}` pairs answered by Playwright too.
 */
export async function openSameOriginPage(page: Page, origin: string, name: string, scripts: Array<string | { path: string; source: string }>): Promise<void> {
  const url = `${origin}/__test/${name}`;
  await page.route(url, (route) =>
    route.fulfill({
      contentType: 'text/html; charset=utf-8',
      body: `<!doctype html><title>${name}</title>${scripts.map((s) => `<script src="${typeof s === 'string' ? s : s.path}"></script>`).join('')}`,
    }),
  );
  for (const script of scripts) {
    if (typeof script === 'string') continue;
    await page.route(`${origin}${script.path}`, (route) => route.fulfill({ contentType: 'application/javascript; charset=utf-8', body: script.source }));
  }
  await page.goto(url);
}

/**
 * Enrols a passkey of the virtual authenticator for a signed-in user through the Account API (the
 * account center must allow `mfa` Edit): `POST /api/verifications/web-authn/registration` → the
 * browser's `startRegistration` of @simplewebauthn/browser (as the server serves it to the sign-in page)
 * on a page of the server's origin → `…/registration/verify` → `POST /api/my-account/mfa-verifications`
 * with a password proof.
 * @param token the user's session token; `password` proves the identity for the binding
 */
export async function enrolPasskey(page: Page, t: LocalhostApp, token: string, password: string): Promise<void> {
  const started = await t.call('POST', '/api/verifications/web-authn/registration', { token });
  expect(started.status).toBe(200);
  const { verificationRecordId, registrationOptions } = await started.json();
  expect(registrationOptions.rp.id).toBe('localhost');

  await openSameOriginPage(page, t.origin, 'enrol', [PASSKEY_LIBRARY.path]);
  const payload = await page.evaluate(
    (optionsJSON) => (window as any).SimpleWebAuthnBrowser.startRegistration({ optionsJSON }),
    registrationOptions,
  );
  const verified = await t.call('POST', '/api/verifications/web-authn/registration/verify', { token, body: { verificationRecordId, payload: { ...payload, type: 'WebAuthn' } } });
  expect(verified.status, await verified.clone().text()).toBe(200);

  const proof = await t.call('POST', '/api/verifications/password', { token, body: { password } });
  expect(proof.status).toBe(201);
  const bound = await t.call('POST', '/api/my-account/mfa-verifications', {
    token,
    headers: { 'logto-verification-id': (await proof.json()).verificationRecordId },
    body: { type: 'WebAuthn', newIdentifierVerificationRecordId: verificationRecordId, name: 'Chromium virtual authenticator' },
  });
  expect(bound.status, await bound.clone().text()).toBe(204);
}

/** Collects the console messages of `page` that report a CSP violation or a refused load, and its uncaught errors. */
export function watchPage(page: Page): { violations: string[]; errors: string[] } {
  const seen = { violations: [] as string[], errors: [] as string[] };
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to (load|execute|connect)/i.test(m.text())) seen.violations.push(m.text());
  });
  page.on('pageerror', (e) => seen.errors.push(e.message));
  return seen;
}

/** A user with one passkey in the virtual authenticator of a fresh browser tab. */
export interface PasskeyUser {
  id: string;
  username: string;
  context: BrowserContext;
  /** The tab whose authenticator holds the passkey (on the server's origin after the enrolment). */
  page: Page;
  /** CSP violations and uncaught errors of `page` (see {@link watchPage}). */
  seen: { violations: string[]; errors: string[] };
  /** The passkey's signature counter as the authenticator keeps it (it grows with each use). */
  signCount(): Promise<number>;
}

/**
 * Signs up `username` with `password` (`POST /api/auth/sign-up`), opens a tab with a virtual authenticator
 * in a new context of `browser` and enrols one passkey there ({@link enrolPasskey}). Close `context` when done.
 */
export async function passkeyUser(browser: Browser, t: LocalhostApp, username: string, password: string): Promise<PasskeyUser> {
  const signUp = await t.call('POST', '/api/auth/sign-up', { body: { username, password } });
  expect(signUp.status).toBe(201);
  const { user, session } = await signUp.json();
  const context = await browser.newContext();
  const page = await context.newPage();
  const seen = watchPage(page);
  const { cdp, authenticatorId } = await addVirtualAuthenticator(page);
  await enrolPasskey(page, t, session.token, password);
  const credentials = async () => (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;
  expect(await credentials()).toHaveLength(1);
  return { id: user.id, username, context, page, seen, signCount: async () => (await credentials())[0]!.signCount };
}
