import type { UserRecord } from '../../storage/store.js';
import type { IssuedSession } from '../sessions/index.js';
import type { MessageLocale } from '../verification/index.js';

/** Types every sign-in path shares (AuthService, MfaService, SessionIssuer), kept apart so none imports another. */

/** Where a request came from; keys the per-IP rate limits and is recorded on the session. */
export interface RequestMeta {
  ip?: string | null;
  userAgent?: string | null;
  /** Language for messages sent on behalf of this request. */
  locale?: MessageLocale;
}

/** A signed-in user and the session just issued for them. */
export interface SignedIn {
  user: UserRecord;
  issued: IssuedSession;
}

/**
 * Decides whether a sign-in whose first factor succeeded needs a second one (the MFA service,
 * domain/mfa/index.ts, given to the {@link AuthService} constructor).
 */
export interface SecondFactorGate {
  /**
   * Returns normally when no second factor is needed. Otherwise records a pending sign-in and throws
   * AppError `auth.mfa_required` (the user has a factor; `data: {pendingSignInId, factors}`) or
   * `auth.mfa_enrollment_required` (policy `required`, no factor yet; `data: {pendingSignInId, factors: ['totp']}`).
   * @param amr the RFC 8176 methods of the first factor
   */
  check(user: UserRecord, meta: RequestMeta, amr: string[]): Promise<void>;
}
