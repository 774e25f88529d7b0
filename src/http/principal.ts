import type { FastifyRequest } from 'fastify';
import type { RequestMeta } from '../domain/auth.js';
import type { ResolvedSession, SessionService } from '../domain/sessions.js';
import { AppError } from '../errors/index.js';

/**
 * "Who is calling" lives here, whatever the credential (DESIGN.md "Identity, sessions, tokens").
 * Today: first-party session tokens sent as `Authorization: Bearer <token>` (RFC 6750 §2.1).
 */

/** The bearer token of a request, or undefined when there is no well-formed `Bearer` header. */
export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer[ ]+([A-Za-z0-9\-._~+/]+=*)\s*$/i.exec(header);
  return match?.[1];
}

/**
 * Resolves the request's bearer session token to a live session and its user.
 * @throws AppError `auth.unauthorized` (401) when missing, unknown, expired, revoked or suspended
 */
export async function requireSession(request: FastifyRequest, sessions: SessionService): Promise<ResolvedSession & { token: string }> {
  const token = bearerToken(request);
  if (!token) throw new AppError('auth.unauthorized');
  return { ...(await sessions.authenticate(token)), token };
}

/** The client facts recorded with sessions and used for per-IP limits. */
export function requestMeta(request: FastifyRequest): RequestMeta {
  const ua = request.headers['user-agent'];
  return { ip: request.ip, userAgent: typeof ua === 'string' ? ua : null };
}
