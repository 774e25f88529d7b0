import { TesseraError, type TesseraErrorCode } from './errors.js';

/** The `fetch` the SDK uses: the global one by default, or one passed in the options (tests, polyfills). */
export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/** One request to a Tessera server. */
export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path (with query) under the base URL, e.g. `/api/auth/me`; or an absolute URL (Link headers). */
  path: string;
  /** A JSON body (objects are encoded; `undefined` members vanish). */
  json?: unknown;
  /** `Authorization: Bearer <token>` when set. */
  bearer?: string | null;
  /** Extra headers. */
  headers?: Record<string, string>;
}

/** Default time limit of one request, milliseconds (Authing's SDK uses the same 30 s). */
export const DEFAULT_TIMEOUT_MS = 30_000;

/** A successful answer: status, headers and the parsed JSON body (`undefined` for 204 and empty bodies). */
export interface HttpResponse<T> {
  status: number;
  headers: Headers;
  body: T;
}

/** Joins a base URL and a path, without doubled or missing slashes. */
export function joinUrl(base: string, path: string): string {
  if (/^https?:\/\//i.test(path)) return path;
  return base.replace(/\/+$/, '') + (path.startsWith('/') ? path : `/${path}`);
}

/**
 * Sends one request and decodes the answer. 2xx → the parsed body; any other status → a
 * {@link TesseraError} built from the server's `{code, message, data}` envelope.
 * @param timeoutMs time limit for the whole exchange (headers and body), milliseconds
 * @throws TesseraError `client.network_error` (no answer, or none within `timeoutMs`), `client.invalid_response` (non-JSON answer),
 *   or the server's code
 */
export async function send<T>(fetchFn: FetchLike, base: string, req: HttpRequest, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<HttpResponse<T>> {
  const headers: Record<string, string> = { accept: 'application/json', ...req.headers };
  let body: string | undefined;
  if (req.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(req.json);
  }
  if (req.bearer) headers.authorization = `Bearer ${req.bearer}`;
  let res: Response;
  let text: string;
  try {
    res = await fetchFn(joinUrl(base, req.path), {
      method: req.method,
      headers,
      signal: AbortSignal.timeout(timeoutMs),
      ...(body !== undefined ? { body } : {}),
    });
    text = await res.text();
  } catch (error) {
    const reason = (error as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (error as Error).message;
    throw new TesseraError('client.network_error', 0, `The request to ${req.path} did not complete: ${reason}`);
  }
  let parsed: unknown;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new TesseraError('client.invalid_response', res.status, `The server answered ${res.status} with a body that is not JSON.`);
    }
  }
  if (res.ok) return { status: res.status, headers: res.headers, body: parsed as T };
  const envelope = parsed as { code?: unknown; message?: unknown; data?: unknown } | undefined;
  if (envelope && typeof envelope.code === 'string') {
    // The server's codes are its stable API; an unknown one (a newer server) still travels as it is.
    const message = typeof envelope.message === 'string' ? envelope.message : envelope.code;
    throw new TesseraError(envelope.code as TesseraErrorCode, res.status, message, envelope.data as never);
  }
  throw new TesseraError('client.invalid_response', res.status, `The server answered ${res.status} without an error code.`, parsed);
}
