import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import module from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as client from 'openid-client';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startTesseraProcess, type TesseraProcess } from '../helpers.js';
import { pkceRequest } from '../oidc-helpers.js';
import { HAVE_CHROMIUM, launchChromium, type Site, startSite } from './chromium.js';

/**
 * Issue 22 item 1: `tessera start` runs the esbuild bundle dist/bundle/tessera.cjs (scripts/bundle.mjs),
 * compiled by bin/tessera.js with the V8 code cache of the previous start, not the modules the rest of
 * the suite imports. This starts it as a user does (`node bin/tessera.js start`, after `npm run build`,
 * which `npm test` runs first) twice: the first start writes the code cache, the second runs from it.
 * Real clients then go through the second one where a bundle or a code cache could break things:
 * libraries that read their own files (swagger-ui's assets), libraries required at their first use
 * (svg-captcha and its font, libphonenumber-js), the hosted sign-in page in Chromium with openid-client as
 * the relying party, and a client_credentials token on the Management API.
 */
const root = fileURLToPath(new URL('../..', import.meta.url));
const bundled = join(root, 'dist', 'bundle', 'tessera.cjs');
const bin = join(root, 'bin', 'tessera.js');
const PW = 'velvet-harbour-83-lantern';

describe.skipIf(!HAVE_CHROMIUM)('the bundled server (dist/bundle) with real clients', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-bundle-'));
  const databaseUrl = `sqlite:${join(dir, 'bundle.db')}`;
  const compileCache = join(dir, 'compile-cache');
  let server: TesseraProcess | undefined;
  let base = '';
  let rp: Site;
  let rpOrigin = '';
  let browser: Browser;
  let spa: { id: string };
  let m2m: { id: string; secret: string };

  /** Runs a `tessera` command (tsc's modules: only `start` runs the bundle) and parses its JSON answer. */
  const cli = (...args: string[]) =>
    JSON.parse(execFileSync(process.execPath, [bin, ...args], { cwd: root, env: { ...process.env, TESSERA_DATABASE_URL: databaseUrl, NODE_COMPILE_CACHE: compileCache }, encoding: 'utf8' })) as Record<string, string>;

  /** Starts `tessera start` and waits for its first answer. */
  async function start(port: number): Promise<void> {
    server = await startTesseraProcess(port, { NODE_ENV: 'production', NODE_COMPILE_CACHE: compileCache, TESSERA_DATABASE_URL: databaseUrl, TESSERA_PUBLIC_URL: base });
  }

  /** Stops the server gracefully. */
  const stop = async () => server?.stop();

  /** The code cache files and their modification times (ms). */
  const cacheFiles = () => (existsSync(compileCache) ? readdirSync(compileCache).map((f) => [f, statSync(join(compileCache, f)).mtimeMs] as const) : []);

  beforeAll(async () => {
    expect(existsSync(bundled), 'dist/bundle/tessera.cjs: run `npm run build` first').toBe(true);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    rp = await startSite((req, res) => {
      res.setHeader('content-type', 'text/html; charset=utf-8');
      if (req.url?.startsWith('/callback')) return res.end('<!doctype html><title>Callback</title><h1>Signed in</h1>');
      res.statusCode = 404;
      res.end('not found');
    });
    rpOrigin = `http://localhost:${rp.port}`;
    // The commands migrate the new database and register the two clients.
    spa = cli('apps', 'create', '--type', 'spa', '--name', 'Bundle SPA', '--redirect-uri', `${rpOrigin}/callback`, '--cors-origin', rpOrigin) as { id: string };
    m2m = cli('apps', 'create', '--type', 'm2m', '--name', 'Bundle M2M', '--management') as { id: string; secret: string };
    await start(port);
    // The first start of this bundle compiled it without a cache and wrote one once it served (Node 20;
    // Node 22+ keeps its own compile cache in the same folder).
    for (let i = 0; cacheFiles().length === 0 && i < 100; i++) await new Promise((r) => setTimeout(r, 50));
    const written = cacheFiles();
    expect(written.length).toBeGreaterThan(0);
    await stop();
    await start(port);
    // The second start compiled from that cache: V8 accepted it, so nothing was written again (Node 20:
    // bin/tessera.js's own cache; Node 22+ manages its compile cache folder itself).
    if (!(module as { enableCompileCache?: unknown }).enableCompileCache) expect(cacheFiles()).toEqual(written);
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await rp?.close();
    await stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

  /** A Management API access token of the M2M client, through openid-client's client_credentials grant. */
  async function managementToken(): Promise<string> {
    const config = await client.discovery(new URL(`${base}/oidc`), m2m.id, m2m.secret, client.ClientSecretBasic(m2m.secret), { execute: [client.allowInsecureRequests] });
    return (await client.clientCredentialsGrant(config, { resource: `${base}/api`, scope: 'all' })).access_token;
  }

  it('signs a new user in on the hosted page in Chromium (code flow with PKCE) and serves the Account API to the token', async () => {
    const username = `bundle${Date.now().toString(36)}`;
    const up = await post('/api/auth/sign-up', { username, password: PW });
    expect(up.status, await up.clone().text()).toBe(201);
    const userId = ((await up.json()) as { user: { id: string } }).user.id;
    // The Account API answers once an admin has turned the account center on (Logto's default is off).
    const enable = await fetch(`${base}/api/account-center`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${await managementToken()}`, 'content-type': 'application/json' },
      body: JSON.stringify({ enabled: true, fields: { username: 'ReadOnly' } }),
    });
    expect(enable.status, await enable.clone().text()).toBe(200);

    const { config, url, verifier, state } = await pkceRequest(base, { id: spa.id }, `${rpOrigin}/callback`, 'openid profile');
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      expect((await page.goto(url.href))?.status()).toBe(200);
      await page.fill('input[name="identifier"]', username);
      await page.fill('input[name="password"]', PW);
      const [login] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/login')), page.click('button[type="submit"]')]);
      expect(login.status()).toBe(303);
      await page.waitForURL(`${rpOrigin}/callback?**`);
      const tokens = await client.authorizationCodeGrant(config, new URL(page.url()), { pkceCodeVerifier: verifier, expectedState: state });
      expect(tokens.claims()?.sub).toBe(userId);
      const me = await fetch(`${base}/api/my-account`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
      const account = (await me.json()) as { username: string };
      expect(me.status, JSON.stringify(account)).toBe(200);
      expect(account.username).toBe(username);
    } finally {
      await context.close();
    }
  });

  it('draws a captcha with svg-captcha, required at the first captcha, with the font from its folder', async () => {
    const res = await post('/api/auth/captcha', {});
    const body = (await res.json()) as { id: string; image: string };
    expect(res.status, JSON.stringify(body)).toBe(200);
    const svg = Buffer.from(body.image.replace(/^data:image\/svg\+xml;base64,/, ''), 'base64').toString('utf8');
    // The characters are drawn as glyph outlines taken from the font file.
    expect(svg).toMatch(/^<svg[^>]*>/);
    expect(svg.match(/<path /g)?.length ?? 0).toBeGreaterThanOrEqual(4);
  });

  it('parses a phone number with libphonenumber-js, required at its first use', async () => {
    const res = await post('/api/auth/sign-up', { username: `phone${Date.now().toString(36)}`, phone: '+44 20 7946 0958', password: PW });
    const body = (await res.json()) as { user: { primaryPhone: string } };
    expect(res.status, JSON.stringify(body)).toBe(201);
    expect(body.user.primaryPhone).toBe('+442079460958');
    // A number of the fiction range (Ofcom's 07700 900xxx) is no number: only the library's metadata knows.
    const bad = await post('/api/auth/sign-up', { username: `phonebad${Date.now().toString(36)}`, phone: '+44 7700 900123', password: PW });
    expect(((await bad.json()) as { code: string }).code).toBe('user.invalid_phone');
  });

  it('serves the API reference page with swagger-ui assets from its package folder, in Chromium', async () => {
    const page = await browser.newPage();
    try {
      const failed: string[] = [];
      page.on('response', (r) => {
        if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`);
      });
      expect((await page.goto(`${base}/api/docs`))?.status()).toBe(200);
      await page.locator('.swagger-ui .info .title').waitFor({ timeout: 20_000 });
      expect(failed).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('issues a client_credentials token that the Management API accepts', async () => {
    const users = await fetch(`${base}/api/users?page=1&page_size=5`, { headers: { authorization: `Bearer ${await managementToken()}` } });
    expect(users.status).toBe(200);
    expect(((await users.json()) as unknown[]).length).toBeGreaterThanOrEqual(1);
    expect(server!.output()).not.toMatch(/"level":(50|60)/);
  });
});
