import type { FastifyPluginAsync } from 'fastify';
import { isPlainObject } from '../../domain/leancloud-objects.js';
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
 * `POST /1.1/batch {requests:[{method, path, body|params}]}` (shared/specs/leancloud.md §3.2 (23)):
 * each sub-request runs through the same routes (and checks) as if sent alone, with the batch's
 * credentials; the answer is 200 with `[{success}|{error:{code,error}}]` in order. Sub-requests must
 * target `/1.1/…` (not `/1.1/batch`).
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
      const path = rawPath.startsWith('/1.1/') ? rawPath : `/1.1${rawPath.startsWith('/') ? '' : '/'}${rawPath}`;
      if (!['GET', 'POST', 'PUT', 'DELETE'].includes(method) || !rawPath || /^\/1\.1\/batch(\/|\?|$)/.test(path) || path.includes('..')) {
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
