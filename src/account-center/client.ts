/**
 * The account center's two outbound sides, both through the server's own public HTTP surface
 * (`FastifyInstance.inject`, no socket): the relying party of Tessera's OIDC provider (openid-client 6,
 * authorization code + PKCE S256, state, nonce; refresh; revocation; RP-initiated logout) and the
 * Account API (`/api/my-account…`, `/api/verifications…`) called with the user's bearer token.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import * as oidcClient from 'openid-client';

/** The account center's built-in OIDC client id. */
export const ACCOUNT_CENTER_CLIENT_ID = 'tessera-account-center';

/** The scopes the account center asks for: everything the Account API gates on. */
export const ACCOUNT_CENTER_SCOPES = 'openid profile email phone offline_access identities custom_data urn:logto:scope:sessions';

/** The browser facts passed through to the Account API: language, address and user agent. */
export interface Caller {
  acceptLanguage?: string | undefined;
  ip: string;
  userAgent?: string | undefined;
}

/** The caller facts of an incoming request. */
export function callerOf(request: FastifyRequest): Caller {
  const lang = request.headers['accept-language'];
  const ua = request.headers['user-agent'];
  return { ip: request.ip, acceptLanguage: typeof lang === 'string' ? lang : undefined, userAgent: typeof ua === 'string' ? ua : undefined };
}

/** A Fetch `Response` for an injected request: how openid-client reaches `/oidc` without a socket. */
export function injectFetch(app: FastifyInstance, publicUrl: string, caller: () => Caller | undefined): oidcClient.CustomFetch {
  const origin = new URL(publicUrl);
  return async (url, options) => {
    const target = new URL(url);
    if (target.origin !== origin.origin) throw new Error('the account center only talks to its own server');
    let payload: string | undefined;
    const body = options.body as unknown;
    if (typeof body === 'string') payload = body;
    else if (body instanceof URLSearchParams) payload = body.toString();
    else if (body !== undefined && body !== null) throw new Error('unsupported request body');
    const who = caller();
    const res = await app.inject({
      method: options.method as 'GET' | 'POST',
      url: target.pathname + target.search,
      headers: { ...options.headers, host: origin.host, ...(who?.userAgent ? { 'user-agent': who.userAgent } : {}) },
      ...(payload !== undefined ? { payload } : {}),
      ...(who ? { remoteAddress: who.ip } : {}),
    });
    const headers = new Headers();
    for (const [name, value] of Object.entries(res.headers)) {
      if (value === undefined) continue;
      for (const v of Array.isArray(value) ? value : [value]) headers.append(name, String(v));
    }
    const empty = res.statusCode === 204 || res.statusCode === 304;
    return new Response(empty ? null : new Uint8Array(res.rawPayload), { status: res.statusCode, headers });
  };
}

/** How long (ms) the answer of a refresh is handed to other requests presenting the same refresh token. */
export const REFRESH_SHARE_MS = 60_000;

/**
 * The relying party: one openid-client {@link oidcClient.Configuration} of the built-in public client
 * (`token_endpoint_auth_method: none`), discovered at first use through `inject`. Plain http is allowed
 * only when the public URL itself is http (development and tests on 127.0.0.1/localhost).
 */
export class RelyingParty {
  private config: Promise<oidcClient.Configuration> | undefined;
  /** The browser a token request is made for (its address and agent go on the injected request). */
  private readonly current = new AsyncLocalStorage<Caller>();
  /** Refreshes in flight or just answered, by the refresh token they used. */
  private readonly refreshing = new Map<string, { at: number; answer: Promise<oidcClient.TokenEndpointResponse> }>();

  constructor(
    private readonly app: FastifyInstance,
    private readonly publicUrl: string,
  ) {}

  /** The client configuration (discovery once; a failed discovery is retried next time). */
  configuration(): Promise<oidcClient.Configuration> {
    this.config ??= oidcClient
      .discovery(new URL(`${this.publicUrl}/oidc`), ACCOUNT_CENTER_CLIENT_ID, { token_endpoint_auth_method: 'none' }, oidcClient.None(), {
        [oidcClient.customFetch]: injectFetch(this.app, this.publicUrl, () => this.current.getStore()),
        ...(this.publicUrl.startsWith('http:') ? { execute: [oidcClient.allowInsecureRequests] } : {}),
      })
      .catch((error: unknown) => {
        this.config = undefined;
        throw error;
      });
    return this.config;
  }

  /**
   * The authorization URL of a new sign-in (PKCE S256, state, nonce, `prompt=consent` so that the
   * first-party grant takes `offline_access` and a refresh token is issued).
   */
  async authorizationUrl(checks: { verifier: string; state: string; nonce: string }, uiLocales: string): Promise<URL> {
    const config = await this.configuration();
    return oidcClient.buildAuthorizationUrl(config, {
      redirect_uri: `${this.publicUrl}/account/callback`,
      scope: ACCOUNT_CENTER_SCOPES,
      prompt: 'consent',
      code_challenge: await oidcClient.calculatePKCECodeChallenge(checks.verifier),
      code_challenge_method: 'S256',
      state: checks.state,
      nonce: checks.nonce,
      ui_locales: uiLocales,
    });
  }

  /** Redeems the callback's code (checks state, PKCE and the ID token's nonce). @throws openid-client errors */
  async redeem(callbackUrl: URL, checks: { verifier: string; state: string; nonce: string }, caller: Caller): Promise<oidcClient.TokenEndpointResponse> {
    const config = await this.configuration();
    return this.as(caller, () =>
      oidcClient.authorizationCodeGrant(config, callbackUrl, { pkceCodeVerifier: checks.verifier, expectedState: checks.state, expectedNonce: checks.nonce }),
    );
  }

  /**
   * A new access token (and rotated refresh token). Refresh tokens rotate and a reused one revokes the
   * whole grant (reuse detection), so concurrent pages of one browser (two tabs, a double submit) that
   * refresh the same token share one token request: its answer is reused for {@link REFRESH_SHARE_MS}.
   * (Within one node; nodes of a cluster do not share it.)
   * @throws openid-client errors (`invalid_grant` when revoked)
   */
  async refresh(refreshToken: string, caller: Caller): Promise<oidcClient.TokenEndpointResponse> {
    const now = Date.now();
    for (const [token, entry] of this.refreshing) if (now - entry.at > REFRESH_SHARE_MS) this.refreshing.delete(token);
    const shared = this.refreshing.get(refreshToken);
    if (shared) return shared.answer;
    const answer = this.configuration().then((config) => this.as(caller, () => oidcClient.refreshTokenGrant(config, refreshToken)));
    this.refreshing.set(refreshToken, { at: now, answer });
    answer.catch(() => this.refreshing.delete(refreshToken));
    return answer;
  }

  /** Revokes a token (RFC 7009); failures are ignored (the cookie is gone anyway). */
  async revoke(token: string, caller: Caller): Promise<void> {
    const config = await this.configuration();
    await this.as(caller, () => oidcClient.tokenRevocation(config, token)).catch(() => undefined);
  }

  /** RP-initiated logout URL back to `/account`. */
  async endSessionUrl(): Promise<URL> {
    const config = await this.configuration();
    return oidcClient.buildEndSessionUrl(config, { client_id: ACCOUNT_CENTER_CLIENT_ID, post_logout_redirect_uri: `${this.publicUrl}/account` });
  }

  /** Runs `fn` with `caller` as the address and agent of its injected requests (openid-client takes its fetch from the shared configuration). */
  private as<T>(caller: Caller, fn: () => Promise<T>): Promise<T> {
    return this.current.run(caller, fn);
  }
}

/** An Account API answer: status and parsed JSON body (undefined when empty). */
export interface ApiAnswer<T = unknown> {
  status: number;
  body: T;
}

/** An Account API error body: Logto's `{code, message}`. */
export interface ApiError {
  code: string;
  message: string;
}

/** Whether an answer is an error with a code and message. */
export function apiError(answer: ApiAnswer): ApiError | undefined {
  if (answer.status < 400) return undefined;
  const body = answer.body as Partial<ApiError> | undefined;
  return {
    code: typeof body?.code === 'string' ? body.code : 'request.failed',
    message: typeof body?.message === 'string' ? body.message : `HTTP ${answer.status}`,
  };
}

/**
 * Calls one Account or Verification API route with the user's access token, the browser's
 * Accept-Language (the API localizes its messages by it), address and agent, and optionally the
 * identity proof (`logto-verification-id`).
 */
export async function callApi<T = unknown>(
  app: FastifyInstance,
  token: string,
  caller: Caller,
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE',
  url: string,
  options: { body?: unknown; proof?: string | undefined } = {},
): Promise<ApiAnswer<T>> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (caller.acceptLanguage) headers['accept-language'] = caller.acceptLanguage;
  if (caller.userAgent) headers['user-agent'] = caller.userAgent;
  if (options.proof) headers['logto-verification-id'] = options.proof;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const res = await app.inject({
    method,
    url,
    headers,
    remoteAddress: caller.ip,
    ...(options.body !== undefined ? { payload: JSON.stringify(options.body) } : {}),
  });
  let body: unknown;
  if (res.body) {
    try {
      body = JSON.parse(res.body) as unknown;
    } catch {
      body = undefined;
    }
  }
  return { status: res.statusCode, body: body as T };
}
