import type { FastifyRequest } from 'fastify';
import { type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';
import type { RequestMeta } from '../domain/sign-in/auth.js';
import { type ResolvedSession, SESSION_TOKEN_PREFIX, type SessionService } from '../domain/sessions/index.js';
import type { UserRecord } from '../storage/store.js';
import { AppError } from '../errors/index.js';
import type { OpaqueAccessToken } from '../oidc/access-tokens.js';
import { requestMeta } from './request-meta.js';
import { VerifiedJwtMemo } from '../util/jwt-memo.js';

export { requestMeta };

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
 * JWTs are not stored, so a signature alone would keep a token working for its whole lifetime (up to
 * 3600 s) after its application is deleted or loses the management role; `holdsManagementRole` is asked
 * on every request (one primary-key lookup), so such a token stops working at once (ASVS 7.4.1: revocation
 * takes effect immediately).
 * With `keySetVersion`, the signature check is remembered per token and key-set version
 * ({@link VerifiedJwtMemo}): a client that reuses its token skips the ECDSA check, not the role lookup.
 * Expiry is still checked on every request, and a key rotation makes every token verify afresh.
 * @param options.holdsManagementRole whether the client id is (still) a machine-to-machine application
 *   with the management role
 * @param options.keySetVersion the current version of the keys `getKey` resolves (e.g. the OIDC signing
 *   keys' fingerprint); it must change whenever they change. Without it, every request verifies the signature.
 * @param options.now the current time in milliseconds since the epoch (default `Date.now`), for expiry
 * @throws AppError `auth.unauthorized` (401: missing, malformed, expired, wrong issuer/audience/signature,
 *   no `sub`, or its application deleted or no longer holding the management role), `auth.forbidden`
 *   (403: valid token without scope `all`)
 */
export function managementAuthorizer(options: {
  issuer: string;
  /** The Management API's resource indicators (its own and Logto's alias): a token for any of them. */
  audience: string | string[];
  getKey: JWTVerifyGetKey;
  holdsManagementRole: (clientId: string) => Promise<boolean>;
  keySetVersion?: () => Promise<string>;
  now?: () => number;
}): ManagementAuthorizer {
  const now = options.now ?? Date.now;
  const memo = options.keySetVersion ? new VerifiedJwtMemo() : undefined;
  const verify = async (token: string) =>
    (await jwtVerify(token, options.getKey, { issuer: options.issuer, audience: options.audience, typ: 'at+jwt', currentDate: new Date(now()) })).payload;
  return async (request) => {
    const token = bearerToken(request);
    if (!token) throw new AppError('auth.unauthorized');
    let payload: JWTPayload;
    try {
      payload = memo && options.keySetVersion
        ? await memo.verify(token, await options.keySetVersion(), Math.floor(now() / 1000), () => verify(token))
        : await verify(token);
    } catch {
      throw new AppError('auth.unauthorized');
    }
    if (typeof payload.sub !== 'string' || payload.sub === '') throw new AppError('auth.unauthorized');
    const scopes = typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [];
    if (!scopes.includes('all')) throw new AppError('auth.forbidden');
    const clientId = typeof payload.client_id === 'string' ? payload.client_id : payload.sub;
    if (!(await options.holdsManagementRole(clientId))) throw new AppError('auth.unauthorized');
    return { applicationId: clientId, scopes };
  };
}

/** An end user calling the Account or Verification API (logto.md §1.1). */
export interface AccountCaller {
  user: UserRecord;
  /** `oidc`: an opaque access token from /oidc; `session`: a first-party `tss_…` session token. */
  kind: 'oidc' | 'session';
  /** The token's scopes (a first-party session holds every scope). */
  scopes: ReadonlySet<string>;
  /** OAuth client of an `oidc` token. */
  clientId: string | null;
  /** OIDC grant of an `oidc` token (kept when the user's other sessions end). */
  grantId: string | null;
  /** First-party session id of a `session` token. */
  sessionId: string | null;
  /** The provider session (its `uid`) an `oidc` token was issued in, if any. */
  oidcSessionUid: string | null;
}

/** Resolves the caller of an Account or Verification API request. */
export type AccountAuthorizer = (request: FastifyRequest) => Promise<AccountCaller>;

/**
 * Resolves Account API callers (logto.md §1.1, §5.2): `Authorization: Bearer <token>` where the token is
 * either a first-party session token (`tss_…`) or an opaque access token of our OIDC provider, looked up
 * in its store (`findAccessToken`: oidc/access-tokens.ts, one query that also loads the user; expired,
 * revoked, sender-constrained and session-ended tokens are not found). The token must name an account and carry scope `openid`; JWTs (Management API tokens or
 * any resource token) are refused. Suspended or deleted users are refused.
 * @throws AppError `auth.authorization_header_missing` (401), `auth.authorization_token_type_not_supported`
 *   (401), `auth.unauthorized` (401), `auth.forbidden` (403: no `openid` scope)
 */
export function accountAuthorizer(options: {
  sessions: SessionService;
  findUser: (id: string) => Promise<UserRecord | undefined>;
  findAccessToken: (token: string) => Promise<OpaqueAccessToken | undefined>;
}): AccountAuthorizer {
  return async (request) => {
    const header = request.headers.authorization;
    if (!header) throw new AppError('auth.authorization_header_missing');
    if (!/^Bearer /i.test(header)) throw new AppError('auth.authorization_token_type_not_supported');
    const token = bearerToken(request);
    if (!token) throw new AppError('auth.unauthorized');
    if (token.startsWith(SESSION_TOKEN_PREFIX)) {
      const { session, user } = await options.sessions.authenticate(token);
      return { user, kind: 'session', scopes: ALL_SCOPES, clientId: null, grantId: null, sessionId: session.id, oidcSessionUid: null };
    }
    // A JWT (three dot-separated parts) is a resource server's token, never an Account API token.
    if (token.split('.').length === 3) throw new AppError('auth.unauthorized');
    let found: OpaqueAccessToken | undefined;
    try {
      found = await options.findAccessToken(token);
    } catch {
      found = undefined;
    }
    if (!found || typeof found.accountId !== 'string' || found.aud !== undefined) throw new AppError('auth.unauthorized');
    const scopes = new Set((found.scope ?? '').split(' ').filter(Boolean));
    if (!scopes.has('openid')) throw new AppError('auth.forbidden');
    const user = found.user?.id === found.accountId ? found.user : await options.findUser(found.accountId);
    if (!user || user.isSuspended) throw new AppError('auth.unauthorized');
    return {
      user,
      kind: 'oidc',
      scopes,
      clientId: found.clientId ?? null,
      grantId: found.grantId ?? null,
      sessionId: null,
      oidcSessionUid: typeof found.sessionUid === 'string' ? found.sessionUid : null,
    };
  };
}

/** Every scope, for first-party session callers. */
const ALL_SCOPES: ReadonlySet<string> = new Set([
  'openid', 'profile', 'email', 'phone', 'address', 'custom_data', 'identities', 'urn:logto:scope:sessions',
]);

/**
 * An OIDC token of a third-party (or unknown) client may read but not change the user's account
 * (logto.md §1.3); first-party session tokens and first-party clients' tokens may.
 * @param isThirdPartyClient whether an OAuth client is third-party; unknown clients must answer true
 * @throws AppError `auth.third_party_application_forbidden` (403)
 */
export async function assertFirstPartyCaller(
  caller: { kind: 'oidc' | 'session'; clientId: string | null },
  isThirdPartyClient: (clientId: string) => Promise<boolean>,
): Promise<void> {
  if (caller.kind === 'oidc' && (caller.clientId === null || (await isThirdPartyClient(caller.clientId)))) {
    throw new AppError('auth.third_party_application_forbidden');
  }
}
