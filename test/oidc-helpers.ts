import * as client from 'openid-client';
import { Browser } from './browser.js';

/** The value of a hidden form field of an HTML page. */
export const formField = (html: string, name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1];

/**
 * A client_credentials access token for the Management API (resource `<base>/api`, scope `all`), as
 * seed 001 requests it.
 */
export async function managementToken(base: string, clientId: string, clientSecret: string): Promise<string> {
  const res = await fetch(`${base}/oidc/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'client_credentials', resource: `${base}/api`, scope: 'all' }).toString(),
  });
  if (res.status !== 200) throw new Error(`client_credentials failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

/** An authorization request (authorization code + PKCE S256) built by openid-client. */
export interface PkceRequest {
  /** The issuer's configuration from discovery, for the code grant that follows. */
  config: client.Configuration;
  /** The authorization URL to open. */
  url: URL;
  verifier: string;
  state: string;
}

/**
 * Discovers `${base}/oidc` (http allowed: 127.0.0.1) for client `clientId` and builds an authorization
 * request (RFC 7636 S256 challenge, a random state) for `redirectUri`. A public client (no `secret`)
 * authenticates with `none` at the token endpoint, a confidential one with client_secret_basic.
 * @param extra more authorization parameters (`prompt`, …)
 */
export async function pkceRequest(
  base: string,
  app: { id: string; secret?: string },
  redirectUri: string,
  scope: string,
  extra: Record<string, string> = {},
): Promise<PkceRequest> {
  const config = app.secret
    ? await client.discovery(new URL(`${base}/oidc`), app.id, app.secret, client.ClientSecretBasic(app.secret), { execute: [client.allowInsecureRequests] })
    : await client.discovery(new URL(`${base}/oidc`), app.id, { token_endpoint_auth_method: 'none' }, client.None(), { execute: [client.allowInsecureRequests] });
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    ...extra,
  });
  return { config, url, verifier, state };
}

/** An authorization request of `app` opened in a fresh cookie-keeping client, at the hosted sign-in page. */
export interface SignInPage {
  browser: Browser;
  /** The openid-client configuration of the request. */
  config: client.Configuration;
  verifier: string;
  state: string;
  /** The page's HTML, its URL, the login form's action and CSRF token. */
  html: string;
  pageUrl: string;
  action: string;
  csrf: string;
  /** Posts the login form (with our Origin, as a browser on the page would) plus `fields`; never follows redirects. */
  post(fields: Record<string, string>, headers?: Record<string, string>): Promise<Response>;
}

/**
 * Opens the hosted sign-in page of a new authorization code + PKCE request of the confidential client
 * `app` (openid-client builds the request).
 */
export async function openSignInPage(base: string, app: { id: string; secret: string }, redirectUri: string, scope = 'openid'): Promise<SignInPage> {
  const browser = new Browser();
  const { config, url, verifier, state } = await pkceRequest(base, app, redirectUri, scope);
  const { res, url: pageUrl } = await browser.follow(url.href, base);
  const html = await res.text();
  const form = /action="([^"]+\/login)"/.exec(html);
  if (!form) throw new Error(`expected the sign-in page, got ${res.status}`);
  const action = new URL(form[1]!, pageUrl).href;
  const csrf = formField(html, 'csrf') ?? '';
  return {
    browser, config, verifier, state, html, pageUrl, action, csrf,
    post: (fields, headers = {}) =>
      browser.request(action, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base, ...headers },
        body: new URLSearchParams({ csrf, ...fields }).toString(),
      }),
  };
}

/**
 * Signs in on the hosted page with `identifier` + `password` and exchanges the code (openid-client).
 * @returns the access token
 */
export async function oidcSignIn(base: string, app: { id: string; secret: string }, redirectUri: string, identifier: string, password: string): Promise<string> {
  const page = await openSignInPage(base, app, redirectUri, 'openid profile');
  const posted = await page.post({ identifier, password });
  if (posted.status !== 303) throw new Error(`sign-in page answered ${posted.status}`);
  const { url } = await page.browser.follow(new URL(posted.headers.get('location')!, page.action).href, base);
  const tokens = await client.authorizationCodeGrant(page.config, new URL(url), { pkceCodeVerifier: page.verifier, expectedState: page.state });
  return tokens.access_token;
}
