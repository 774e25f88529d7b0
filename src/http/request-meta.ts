import type { FastifyRequest } from 'fastify';
import type { RequestMeta } from '../domain/sign-in/auth.js';

/** The client facts recorded with sessions and used for per-IP limits. */
export function requestMeta(request: FastifyRequest): RequestMeta {
  const ua = request.headers['user-agent'];
  return { ip: request.ip, userAgent: typeof ua === 'string' ? ua : null };
}
