import type { FastifyPluginAsync } from 'fastify';
import { isPlainObject } from '../../domain/leancloud/objects.js';
import { AppError } from '../../errors/index.js';

/** Most sub-requests one batch may carry. */
export const MAX_BATCH = 100;

/** Headers a sub-request inherits from the batch request (credentials and client facts). */
const FORWARDED = ['x-lc-id', 'x-lc-key', 'x-lc-sign', 'x-lc-session', 'user-agent', 'accept-language', 'x-forwarded-for'];

/** A query-string value: objects (e.g. `where`) travel as JSON, as the SDK sends them. */
function param(value: unknown): string {
  return typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
}

/**
 * The `/1.1/…` URL a sub-request path stands for (a missing `/1.1` prefix is added), or undefined when
 * it could leave `/1.1` or is not a plain path: the path part is percent-decoded (repeatedly, so
 * double encoding is seen through) and refused when any form holds a `.` or `..` segment, a
 * backslash or a NUL, or fails to decode; its normalised form (WHATWG URL, as light-my-request
 * parses it) must start with `/1.1/`, and it must not be `/1.1/batch`. The query string is kept as sent.
 */
export function sandboxPath(rawPath: string): string | undefined {
  if (!rawPath) return undefined;
  const full = rawPath.startsWith('/1.1/') ? rawPath : `/1.1${rawPath.startsWith('/') ? '' : '/'}${rawPath}`;
  const q = full.search(/[?#]/);
  const pathPart = q < 0 ? full : full.slice(0, q);
  const search = q < 0 ? '' : full.slice(q);
  let form = pathPart;
  for (let i = 0; i < 4; i++) {
    if (/[\\\u0000]/.test(form) || form.split('/').some((seg) => seg === '.' || seg === '..')) return undefined;
    let next: string;
    try {
      next = decodeURIComponent(form);
    } catch {
      return undefined;
    }
    if (next === form) break;
    if (i === 3) return undefined;
    form = next;
  }
  let normal: string;
  try {
    normal = new URL(pathPart, 'http://batch.invalid').pathname;
  } catch {
    return undefined;
  }
  if (!normal.startsWith('/1.1/') || /^\/1\.1\/batch(\/|$)/.test(form)) return undefined;
  return pathPart + search;
}

/**
 * `POST /1.1/batch {requests:[{method, path, body|params}]}` (shared/specs/leancloud.md §3.2 (23)):
 * each sub-request runs through the same routes (and checks) as if sent alone, with the batch's
 * credentials; the answer is 200 with `[{success}|{error:{code,error}}]` in order. Sub-requests must
 * target `/1.1/…` (not `/1.1/batch`); see {@link sandboxPath}.
 */
export const batchRoutes: FastifyPluginAsync = async (app) => {
  app.post('/batch', { schema: { tags: ['leancloud'], summary: 'Run several /1.1 requests in one' } }, async (request) => {
    const body = request.body;
    const list = isPlainObject(body) ? body.requests : undefined;
    if (!Array.isArray(list) || list.length > MAX_BATCH) {
      throw new AppError('request.malformed_json', { message: `requests must be an array of at most ${MAX_BATCH} items.` });
    }
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    for (const name of FORWARDED) {
      const v = request.headers[name];
      if (typeof v === 'string') headers[name] = v;
    }
    const results: unknown[] = [];
    for (const item of list) {
      const method = isPlainObject(item) && typeof item.method === 'string' ? item.method.toUpperCase() : '';
      const rawPath = isPlainObject(item) && typeof item.path === 'string' ? item.path : '';
      const path = sandboxPath(rawPath);
      if (!['GET', 'POST', 'PUT', 'DELETE'].includes(method) || path === undefined) {
        results.push({ error: { code: 107, error: 'Each request needs a method (GET, POST, PUT, DELETE) and a /1.1 path.' } });
        continue;
      }
      const params = isPlainObject(item) && isPlainObject(item.params) ? item.params : undefined;
      const query = params ? Object.entries(params).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(param(v))}`).join('&') : '';
      const url = query ? `${path}${path.includes('?') ? '&' : '?'}${query}` : path;
      const payload = method === 'GET' ? undefined : JSON.stringify(isPlainObject(item) && item.body !== undefined ? item.body : {});
      const res = await app.inject({ method: method as 'GET', url, headers, remoteAddress: request.ip, ...(payload !== undefined ? { payload } : {}) });
      let json: unknown;
      try {
        json = JSON.parse(res.body);
      } catch {
        json = { code: 1, error: 'Internal server error. No information available.' };
      }
      results.push(res.statusCode >= 200 && res.statusCode < 300 ? { success: json } : { error: json });
    }
    return results;
  });
};
