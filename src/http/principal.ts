import type { FastifyRequest } from 'fastify';
import { type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';
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

/** A machine-to-machine caller of the Management API. */
export interface ManagementCaller {
  /** The application (OAuth client) the token was issued to (`sub` / `client_id`). */
  applicationId: string;
  scopes: string[];
}

/** Resolves the caller of a Management API request. */
export type ManagementAuthorizer = (request: FastifyRequest) => Promise<ManagementCaller>;

/**
 * Verifies Management API access tokens (logto.md §5.1): a JWT signed by our OIDC provider's keys
 * (`getKey`, e.g. jose's `createLocalJWKSet` over the current JWKS, so rotation is followed), issuer
 * `issuer`, audience `audience` (the resource indicator `<publicUrl>/api`), with a `sub`, and scope
 * `all`. Opaque tokens, first-party session tokens and tokens for other resources are refused.
 * @throws AppError `auth.unauthorized` (401: missing, malformed, expired, wrong issuer/audience/signature,
 *   no `sub`), `auth.forbidden` (403: valid token without scope `all`)
 */
export function managementAuthorizer(options: { issuer: string; audience: string; getKey: JWTVerifyGetKey }): ManagementAuthorizer {
  return async (request) => {
    const token = bearerToken(request);
    if (!token) throw new AppError('auth.unauthorized');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, options.getKey, {
        issuer: options.issuer,
        audience: options.audience,
        typ: 'at+jwt',
      }));
    } catch {
      throw new AppError('auth.unauthorized');
    }
    if (typeof payload.sub !== 'string' || payload.sub === '') throw new AppError('auth.unauthorized');
    const scopes = typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [];
    if (!scopes.includes('all')) throw new AppError('auth.forbidden');
    const clientId = typeof payload.client_id === 'string' ? payload.client_id : payload.sub;
    return { applicationId: clientId, scopes };
  };
}
