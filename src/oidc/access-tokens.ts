import type { Store, UserRecord } from '../storage/store.js';
import type { Clock } from '../util/clock.js';

/** The stored facts of an opaque access token issued by our OIDC provider (node-oidc-provider `AccessToken`). */
export interface OpaqueAccessToken {
  accountId?: string;
  clientId?: string;
  grantId?: string;
  scope?: string;
  /** Set when the token was issued for a resource server (then it is not an Account API token). */
  aud?: unknown;
  /** The uid of the provider session (browser sign-in) the token was issued in, if any. */
  sessionUid?: string;
  /** The user the token names, when the lookup already loaded it (saves a query). */
  user?: UserRecord;
}

/** Longest opaque access token node-oidc-provider issues (43 base64url characters of 256 bits); a guard only. */
const MAX_TOKEN_LENGTH = 128;

/**
 * Resolves an opaque access token of Tessera's OIDC provider for the Account API in **one** database
 * query (the token's stored payload joined with its user), instead of `provider.AccessToken.find`
 * followed by a user lookup — the Account API resolves its caller on every request. It applies what
 * the provider's own resource endpoints (userinfo) apply to a presented bearer token:
 * - the token must be stored and not expired (expiry from the store, ms);
 * - a sender-constrained token (DPoP `jkt`, mTLS `x5t#S256`) is not a bearer token: refused;
 * - a token that expires with its browser session (`expiresWithSession`, the provider's default
 *   for tokens without `offline_access`) is refused once that session ended.
 * @returns the token's facts with its user, or undefined (unknown, expired, unusable)
 */
export function accountAccessTokens(store: Store, clock: Clock): (token: string) => Promise<(OpaqueAccessToken & { user: UserRecord }) | undefined> {
  return async (token) => {
    if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) return undefined;
    const now = clock.now();
    const found = await store.users.findByAccessToken(token, now);
    if (!found) return undefined;
    const p = found.token;
    if (p['jkt'] !== undefined || p['x5t#S256'] !== undefined) return undefined;
    const sessionUid = typeof p['sessionUid'] === 'string' ? p['sessionUid'] : undefined;
    if (p['expiresWithSession'] === true && (!sessionUid || !(await store.oidcPayloads.findByUid(sessionUid, now)))) return undefined;
    const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
    const accountId = str(p['accountId']);
    const clientId = str(p['clientId']);
    const grantId = str(p['grantId']);
    const scope = str(p['scope']);
    return {
      ...(accountId !== undefined ? { accountId } : {}),
      ...(clientId !== undefined ? { clientId } : {}),
      ...(grantId !== undefined ? { grantId } : {}),
      ...(scope !== undefined ? { scope } : {}),
      ...(p['aud'] !== undefined ? { aud: p['aud'] } : {}),
      ...(sessionUid !== undefined ? { sessionUid } : {}),
      user: found.user,
    };
  };
}
