import { jwtVerify, SignJWT } from 'jose';
import type { ResolvedSession, SessionService } from '../../domain/sessions/index.js';
import type { SessionRecord, UserRecord } from '../../storage/store.js';
import type { Clock } from '../../util/clock.js';

/**
 * The Authing surface's user tokens (shared/specs/authing.md §5.2): HS256 JWTs signed with the pool
 * secret, carrying `sub` (the user id), Authing's `data` claim (the SDK decodes the token to find the user)
 * and `sid`, the first-party session they stand for. A token is only as alive as its session: logout,
 * a password change or reset, suspension and idle expiry end it at once (the session is looked up on every
 * use), and it never outlives the session's absolute expiry.
 */
export interface AuthingTokenClaims {
  sub: string;
  sid: string;
  iat: number;
  exp: number;
}

/** A minted token and its times (seconds since the epoch, as JWT `iat` / `exp`). */
export interface MintedToken {
  token: string;
  iat: number;
  exp: number;
}

/** Why a token is not accepted (Authing's checkLoginStatus codes: 2206 expired, 2207 wrong). */
export type TokenRejection = 'expired' | 'invalid';

/** Lifetime of a management token, seconds (the SDK renews it an hour before it expires). */
const MANAGEMENT_TTL_SECONDS = 86_400;

export class AuthingTokens {
  private readonly key: Uint8Array;

  constructor(
    private readonly sessions: Pick<SessionService, 'authenticateById'>,
    private readonly clock: Clock,
    private readonly options: { secret: string; appId: string; userPoolId: string; ttlSeconds: number; issuer: string },
  ) {
    this.key = new TextEncoder().encode(options.secret);
  }

  /** A token for `user` standing for `session`; expires at the earlier of the TTL and the session's absolute expiry. */
  async mint(user: UserRecord, session: SessionRecord): Promise<MintedToken> {
    const iat = Math.floor(this.clock.now() / 1000);
    const exp = Math.min(iat + this.options.ttlSeconds, Math.floor(session.expiresAt / 1000));
    const { appId, userPoolId } = this.options;
    const token = await new SignJWT({
      sid: session.id,
      data: {
        type: 'user', userPoolId, appId, id: user.id, userId: user.id, _id: user.id,
        phone: user.primaryPhone, email: user.primaryEmail, username: user.username, unionid: null, openid: null, clientId: userPoolId,
      },
      userpool_id: userPoolId,
      email: user.primaryEmail,
      email_verified: user.emailVerified,
      phone_number: user.primaryPhone,
      phone_number_verified: user.phoneVerified,
      name: user.name,
    })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(user.id)
      .setAudience(appId)
      .setIssuer(this.options.issuer)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(this.key);
    return { token, iat, exp };
  }

  /**
   * A management token for the pool-secret holder (Authing's `accessToken(userPoolId, secret)`, §9): an
   * HS256 JWT of `type: 'management'` for the user-pool audience, valid one day. It names no user and no
   * session; changing the pool secret ends every such token.
   */
  async mintManagement(): Promise<MintedToken> {
    const iat = Math.floor(this.clock.now() / 1000);
    const exp = iat + MANAGEMENT_TTL_SECONDS;
    const token = await new SignJWT({ type: 'management', userPoolId: this.options.userPoolId })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(this.options.userPoolId)
      .setAudience(`${this.options.userPoolId}:management`)
      .setIssuer(this.options.issuer)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(this.key);
    return { token, iat, exp };
  }

  /** Whether `token` is a live management token of this pool (user tokens are not). */
  async isManagement(token: string): Promise<boolean> {
    try {
      const { payload } = await jwtVerify(token, this.key, {
        algorithms: ['HS256'],
        issuer: this.options.issuer,
        audience: `${this.options.userPoolId}:management`,
        currentDate: new Date(this.clock.now()),
      });
      return payload['type'] === 'management';
    } catch {
      return false;
    }
  }

  /**
   * Checks a token: signature (HS256 with the pool secret only), issuer, audience, expiry, then its
   * session and user are alive.
   * @returns the live session and user with the claims, or why not
   */
  async resolve(token: string): Promise<{ ok: true; resolved: ResolvedSession; claims: AuthingTokenClaims } | { ok: false; reason: TokenRejection }> {
    let claims: AuthingTokenClaims;
    try {
      const { payload } = await jwtVerify(token, this.key, {
        algorithms: ['HS256'],
        issuer: this.options.issuer,
        audience: this.options.appId,
        currentDate: new Date(this.clock.now()),
      });
      if (typeof payload.sub !== 'string' || typeof payload['sid'] !== 'string' || typeof payload.iat !== 'number' || typeof payload.exp !== 'number') return { ok: false, reason: 'invalid' };
      claims = { sub: payload.sub, sid: payload['sid'] as string, iat: payload.iat, exp: payload.exp };
    } catch (error) {
      return { ok: false, reason: (error as { code?: string }).code === 'ERR_JWT_EXPIRED' ? 'expired' : 'invalid' };
    }
    try {
      const resolved = await this.sessions.authenticateById(claims.sid);
      if (resolved.user.id !== claims.sub) return { ok: false, reason: 'invalid' };
      return { ok: true, resolved, claims };
    } catch {
      // Ended (logout, password change, suspension, idle expiry): "login info expired, sign in again".
      return { ok: false, reason: 'expired' };
    }
  }
}
