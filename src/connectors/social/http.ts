import {
  ClientSecretBasic,
  ClientSecretPost,
  refreshTokenGrant,
  ResponseBodyError,
  WWWAuthenticateChallengeError,
  type ClientAuth,
  type Configuration,
  type CustomFetch,
} from 'openid-client';
import { AppError } from '../../errors/index.js';
import { tokenSetOf, type ProviderTokenSet } from './types.js';

/** Largest provider answer read (token, userinfo, discovery, JWKS), bytes: 1 MiB. */
export const MAX_PROVIDER_BODY_BYTES = 1024 * 1024;

/** How a refused answer is reported: `authorization` → `connector.authorization_failed` (400), `response` → `connector.invalid_response` (502). */
export type Refusal = 'authorization' | 'response';

/**
 * The body of `response` as text, refusing answers over {@link MAX_PROVIDER_BODY_BYTES} (a provider,
 * or whatever a discovery document points at, cannot make Tessera buffer without bound).
 * @throws AppError `connector.invalid_response` (502) when the body is too large
 */
export async function readLimitedText(response: Response): Promise<string> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > MAX_PROVIDER_BODY_BYTES) {
    await response.body?.cancel();
    throw new AppError('connector.invalid_response', { data: { reason: 'answer too large' } });
  }
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_PROVIDER_BODY_BYTES) {
      await reader.cancel();
      throw new AppError('connector.invalid_response', { data: { reason: 'answer too large' } });
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The fetch every call to an identity provider goes through (openid-client's `customFetch` hook, and
 * {@link callProvider}): Node's fetch with the caller's deadline (`signal`), redirects refused (never
 * followed), the body capped at {@link MAX_PROVIDER_BODY_BYTES}, and provider quirks made standard —
 * a form-encoded answer (GitHub without `accept: application/json`) becomes JSON, and a 200 answer
 * carrying an OAuth `error` (GitHub's refused code, RFC 6749 §5.2 otherwise) becomes a 400. With
 * `plainOAuth2`, a token answer loses its `id_token` (nothing can verify it without OIDC discovery)
 * and gets `token_type: bearer` when it has none.
 * @throws AppError `connector.idp_unreachable` (network error, timeout, redirect), `connector.invalid_response` (too large)
 */
export function providerFetch(quirks: { plainOAuth2?: boolean } = {}): CustomFetch {
  return async (url, options) => {
    let response: Response;
    let text: string;
    try {
      response = await fetch(url, { ...options, redirect: 'error' } as RequestInit);
      text = await readLimitedText(response);
    } catch (error) {
      throw error instanceof AppError ? error : new AppError('connector.idp_unreachable', { cause: error });
    }
    const headers = new Headers(response.headers);
    if (headers.get('content-type')?.startsWith('application/x-www-form-urlencoded')) {
      text = JSON.stringify(Object.fromEntries(new URLSearchParams(text)));
      headers.set('content-type', 'application/json');
    }
    let status = response.status;
    const body = jsonObject(text);
    if (body && status === 200 && typeof body['error'] === 'string') status = 400;
    if (body && quirks.plainOAuth2 && typeof body['access_token'] === 'string') {
      delete body['id_token'];
      body['token_type'] ??= 'bearer';
      text = JSON.stringify(body);
    }
    return new Response(text === '' ? null : text, { status, statusText: response.statusText, headers });
  };
}

/** The JSON object `text` holds, or undefined (not JSON, or not an object). */
function jsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Options of {@link callProvider}. */
export interface ProviderCall {
  headers?: Record<string, string>;
  /** Deadline of the whole call, seconds. */
  timeoutSeconds: number;
  /** How a non-2xx answer (or a JSON body with `error`/`errcode`) is reported. */
  refusal: Refusal;
}

/**
 * GETs an identity provider endpoint through {@link providerFetch} and returns its JSON body, an object
 * (or, with `shape` `array`, an array), for what openid-client has no call for: WeChat's endpoints and a
 * plain OAuth 2.0 provider's profile and email list. The URL may carry secrets, so it never appears in
 * error messages.
 * @throws AppError `connector.idp_unreachable` (502: network error or timeout), `connector.invalid_response`
 *   (502: not JSON of that shape), `connector.authorization_failed` / `connector.invalid_response` per `refusal`
 */
export async function callProvider(url: string, options: ProviderCall): Promise<Record<string, unknown>>;
export async function callProvider(url: string, options: ProviderCall, shape: 'array'): Promise<unknown[]>;
export async function callProvider(url: string, options: ProviderCall, shape: 'object' | 'array' = 'object'): Promise<unknown> {
  const response = await providerFetch()(url, {
    method: 'GET',
    headers: { accept: 'application/json', ...options.headers },
    body: undefined,
    redirect: 'manual',
    signal: AbortSignal.timeout(options.timeoutSeconds * 1000),
  });
  let body: unknown;
  try {
    body = JSON.parse((await response.text()) || '{}');
  } catch (error) {
    throw new AppError(response.ok ? 'connector.invalid_response' : refusalCode(options.refusal), { cause: error });
  }
  const object = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  // OAuth errors (RFC 6749 §5.2; a 200 + {error} arrives as 400), WeChat's 200 + {errcode != 0}.
  if (!response.ok || (object['errcode'] !== undefined && object['errcode'] !== 0)) {
    const reason = [object['error'], object['errcode'], object['error_description'] ?? object['errmsg']].filter((v) => v !== undefined).join(' ');
    throw new AppError(refusalCode(options.refusal), { data: { status: response.status, reason: reason.slice(0, 200) } });
  }
  if (!body || typeof body !== 'object' || Array.isArray(body) !== (shape === 'array')) throw new AppError('connector.invalid_response');
  return body;
}

function refusalCode(refusal: Refusal): 'connector.authorization_failed' | 'connector.invalid_response' {
  return refusal === 'authorization' ? 'connector.authorization_failed' : 'connector.invalid_response';
}

/** openid-client's client authentication for a token endpoint auth method (RFC 6749 §2.3.1). */
export function clientAuthentication(method: 'client_secret_basic' | 'client_secret_post', clientSecret: string): ClientAuth {
  return method === 'client_secret_post' ? ClientSecretPost(clientSecret) : ClientSecretBasic(clientSecret);
}

/**
 * Runs an openid-client call and turns its failure into our error codes: an AppError raised by
 * {@link providerFetch} as it is; an OAuth error answer (RFC 6749 §5.2) or other refusal of the
 * endpoint per `refusal`; at the token endpoint (`authorization`), a failed ID token check (signature,
 * `iss`, `aud`, `azp`, `exp`/`iat`, algorithm, key) → `connector.id_token_invalid`; a timeout →
 * `connector.idp_unreachable`; anything else → `connector.invalid_response`. The library's errors can
 * hold response bodies (tokens), so only their messages are kept as the cause.
 * @throws AppError as above
 */
export async function attempt<T>(call: () => T | Promise<T>, refusal: Refusal): Promise<T> {
  try {
    return await call();
  } catch (error) {
    for (let e: unknown = error; e instanceof Error; e = e.cause) if (e instanceof AppError) throw e;
    if (error instanceof ResponseBodyError) {
      throw new AppError(refusalCode(refusal), { data: { status: error.status, reason: `${error.error} ${error.error_description ?? ''}`.trim().slice(0, 200) } });
    }
    const code = (error as { code?: unknown }).code;
    const detail = [error, (error as { cause?: unknown }).cause].map((e) => (e instanceof Error ? e.message : '')).join(': ');
    if (code === 'OAUTH_TIMEOUT' || code === 'OAUTH_ABORT') throw new AppError('connector.idp_unreachable', { cause: new Error(detail) });
    if (refusal === 'authorization' && /JWT|JWS|ID Token/.test(detail)) throw new AppError('connector.id_token_invalid', { cause: new Error(detail) });
    if (code === 'OAUTH_RESPONSE_IS_NOT_CONFORM' || error instanceof WWWAuthenticateChallengeError) throw new AppError(refusalCode(refusal), { cause: new Error(detail) });
    throw new AppError('connector.invalid_response', { cause: new Error(detail) });
  }
}

/**
 * Exchanges a refresh token at the configured token endpoint (RFC 6749 §6, openid-client's
 * `refreshTokenGrant`). The old refresh token is kept when the answer has none; a refreshed ID token is
 * not kept (OIDC Core §12.2: the identity is not re-proven here).
 * @throws AppError as {@link SocialConnector.refresh}
 */
export async function refreshTokens(config: Configuration, refreshToken: string): Promise<ProviderTokenSet> {
  const set = tokenSetOf(await attempt(() => refreshTokenGrant(config, refreshToken), 'authorization'));
  if (!set) throw new AppError('connector.invalid_response', { message: 'No access token in the refresh answer.' });
  const { idToken: _id, ...rest } = set;
  return { ...rest, refreshToken: set.refreshToken ?? refreshToken };
}

/** A string claim, or undefined. Numbers become their decimal text (GitHub's numeric ids). */
export function stringField(value: unknown): string | undefined {
  if (typeof value === 'string' && value.length > 0) return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/** A boolean claim: `true`/`false` or the strings `"true"`/`"false"` (some providers send strings). */
export function booleanField(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (value === 'true') return true;
  if (value === 'false') return false;
  return undefined;
}

/** Reads a dotted path (`data.user.id`) from an object. */
export function pathValue(object: Record<string, unknown>, path: string): unknown {
  let current: unknown = object;
  for (const part of path.split('.')) {
    if (!current || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}
