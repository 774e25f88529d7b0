import { AppError } from '../../errors/index.js';

/** Largest provider answer read (token, userinfo, discovery, JWKS), bytes: 1 MiB. */
export const MAX_PROVIDER_BODY_BYTES = 1024 * 1024;

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

/** Options of {@link callProvider}. */
export interface ProviderCall {
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  /** Form body (application/x-www-form-urlencoded). */
  form?: Record<string, string>;
  /** Deadline of the whole call, seconds. */
  timeoutSeconds: number;
  /**
   * How a non-2xx answer (or a JSON body with `error`/`errcode`) is reported: `authorization` →
   * `connector.authorization_failed` (400, e.g. a refused code), `response` → `connector.invalid_response` (502).
   */
  refusal: 'authorization' | 'response';
}

/**
 * Calls an identity provider endpoint with Node's fetch and returns its JSON object body.
 * The URL and body may carry secrets, so neither appears in error messages.
 * @throws AppError `connector.idp_unreachable` (502: network error or timeout), `connector.invalid_response`
 *   (502: not a JSON object), `connector.authorization_failed` / `connector.invalid_response` per `refusal`
 */
export async function callProvider(url: string, options: ProviderCall): Promise<Record<string, unknown>> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: options.method ?? (options.form ? 'POST' : 'GET'),
      headers: { accept: 'application/json', ...(options.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}), ...options.headers },
      ...(options.form ? { body: new URLSearchParams(options.form).toString() } : {}),
      signal: AbortSignal.timeout(options.timeoutSeconds * 1000),
      redirect: 'error',
    });
  } catch (error) {
    throw new AppError('connector.idp_unreachable', { cause: error });
  }
  let body: unknown;
  const text = await readLimitedText(response);
  try {
    body = text ? JSON.parse(text) : {};
  } catch (error) {
    throw new AppError(response.ok ? 'connector.invalid_response' : refusalCode(options), { cause: error });
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new AppError('connector.invalid_response');
  const object = body as Record<string, unknown>;
  // OAuth errors (RFC 6749 §5.2), GitHub's 200 + {error}, WeChat's 200 + {errcode != 0}.
  const refused = !response.ok || typeof object['error'] === 'string' || (object['errcode'] !== undefined && object['errcode'] !== 0);
  if (refused) {
    const reason = [object['error'], object['errcode'], object['error_description'] ?? object['errmsg']].filter((v) => v !== undefined).join(' ');
    throw new AppError(refusalCode(options), { data: { status: response.status, reason: reason.slice(0, 200) } });
  }
  return object;
}

/** Calls an endpoint whose answer is a JSON array (GitHub's /user/emails). Errors as {@link callProvider}. */
export async function callProviderArray(url: string, options: ProviderCall): Promise<unknown[]> {
  let response: Response;
  try {
    response = await fetch(url, {
      headers: { accept: 'application/json', ...options.headers },
      signal: AbortSignal.timeout(options.timeoutSeconds * 1000),
      redirect: 'error',
    });
  } catch (error) {
    throw new AppError('connector.idp_unreachable', { cause: error });
  }
  if (!response.ok) throw new AppError(refusalCode(options), { data: { status: response.status } });
  const text = await readLimitedText(response);
  try {
    const body: unknown = JSON.parse(text);
    if (Array.isArray(body)) return body;
  } catch (error) {
    throw new AppError('connector.invalid_response', { cause: error });
  }
  throw new AppError('connector.invalid_response');
}

function refusalCode(options: ProviderCall): 'connector.authorization_failed' | 'connector.invalid_response' {
  return options.refusal === 'authorization' ? 'connector.authorization_failed' : 'connector.invalid_response';
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
