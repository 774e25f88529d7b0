import type { UserPatch, UserRecord } from '../../storage/store.js';
import type { Clock } from '../../util/clock.js';
import type { RequestMeta, SignedIn } from '../sign-in/types.js';
import type { SessionService } from './index.js';
import type { UserService } from '../users/index.js';
import { activityContext } from '../events/context.js';

/** A check due once every factor of a sign-in is proven (the forced password reset, domain/sign-in/forced-reset.ts). */
export interface SignInCompletionCheck {
  /**
   * Returns normally, or throws to refuse the session (AppError `auth.password_reset_required`, 403).
   * Must not query for ordinary users (every sign-in passes here).
   * @param amr RFC 8176 methods of the completed sign-in
   */
  afterAllFactors(user: UserRecord, amr: string[]): Promise<void>;
}

/**
 * The last step of every sign-in, once every factor is proven: the completion check, `lastSignInAt`,
 * and a first-party session. Its own service so that both the first factor (AuthService.finishSignIn)
 * and the second (MfaService) end here without depending on each other.
 */
export class SessionIssuer {
  constructor(
    private readonly users: UserService,
    private readonly sessions: SessionService,
    private readonly completion: SignInCompletionCheck,
    private readonly clock: Clock,
  ) {}

  /**
   * Runs the checks due once every factor of a sign-in is verified, for sign-ins that complete without
   * a first-party session (the OIDC sign-in page's MFA step); {@link issueSignedIn} runs it itself.
   * @param amr RFC 8176 methods of the sign-in
   * @throws AppError `auth.password_reset_required` (403; `data: {resetToken, reason}`)
   */
  assertSignInComplete(user: UserRecord, amr: string[]): Promise<void> {
    return this.completion.afterAllFactors(user, amr);
  }

  /**
   * For sign-ins that complete without a first-party session (the OIDC sign-in page's MFA step): runs
   * {@link assertSignInComplete}, sets `lastSignInAt` and reports the sign-in (`PostSignIn`).
   * @throws AppError `auth.password_reset_required` (403)
   */
  async completeWithoutSession(user: UserRecord, amr: string[]): Promise<UserRecord> {
    await this.assertSignInComplete(user, amr);
    return this.users.inTransaction(async () => {
      const updated = await this.users.update(user.id, { lastSignInAt: this.clock.now() });
      await this.report(updated, null);
      return updated;
    });
  }

  /**
   * Sets `lastSignInAt` (ms, plus `extraUpdate`) and issues a session with `amr`, after
   * {@link assertSignInComplete}, and reports the sign-in (`PostSignIn`, or `PostRegister` when the request
   * registered the user) in the same transaction. Only for callers that verified every factor — use
   * `AuthService.finishSignIn` everywhere else (it asks for the second factor).
   * @param alsoInTransaction the caller's other writes of this sign-in (the lockout counter's reset), run
   *   in the same transaction so that a sign-in commits once after its attempt was reserved (issue 22)
   * @throws AppError `auth.password_reset_required` (403; a flagged user's password sign-in, after MFA)
   */
  async issueSignedIn(user: UserRecord, meta: RequestMeta, amr: string[], extraUpdate: UserPatch = {}, alsoInTransaction?: () => Promise<void>): Promise<SignedIn> {
    await this.assertSignInComplete(user, amr);
    return this.users.inTransaction(async () => {
      const updated = await this.users.update(user.id, { ...extraUpdate, lastSignInAt: this.clock.now() });
      const issued = await this.sessions.create(user.id, { ip: meta.ip ?? null, userAgent: meta.userAgent ?? null, amr });
      await alsoInTransaction?.();
      await this.report(updated, issued.session.id);
      return { user: updated, issued };
    });
  }

  /** Queues the interaction event of a completed sign-in (the registration's own event was queued with the user). */
  private async report(user: UserRecord, sessionId: string | null): Promise<void> {
    if (activityContext().interaction === 'Register') return;
    await this.users.emit('PostSignIn', user, { sessionId });
  }
}
