import { AppError } from '../../errors/index.js';
import type { Store, UserPatch, UserRecord } from '../../storage/store.js';
import type { Clock } from '../../util/clock.js';
import { newId } from '../../util/crypto.js';
import type { PasswordHasher, PasswordPolicy } from './passwords.js';
import type { SecurityLevelService } from '../account/security-level.js';
import type { ActingSession } from '../sessions/index.js';
import type { SignInGuard } from '../sign-in/lockout.js';
import type { UserService } from '../users/index.js';

/**
 * Who authorised a new password:
 * - `user`: the user themselves, after proving who they are (current password, a code, a reset token, a
 *   recent sign-in or an identity proof): the whole policy applies and the current password is refused
 *   (`user.same_password`);
 * - `admin`: an administrator (Management API, LeanCloud master key): the policy's length bounds only
 *   (an admin-set password is expected to be changed), the current password is not compared.
 */
export type PasswordAuthority = 'user' | 'admin';

/** Input of {@link CredentialService.setPassword}. */
export interface SetPasswordInput {
  /** The user as read before the change (the policy compares against their username and email). */
  user: UserRecord;
  /** The new password in clear (never logged, never stored). */
  newPassword: string;
  authority: PasswordAuthority;
  /**
   * The acting session that survives the change (the session, grant or provider session the request
   * came through). Omitted: every session of the user ends.
   */
  keep?: ActingSession;
  /** Other columns written in the same update (e.g. `emailVerified` after a reset by an email code). */
  patch?: UserPatch;
  /**
   * Runs once the new password is accepted and hashed, just before it is written: spends the proof
   * that allowed the change (a verification record, a reset token). Throwing aborts with nothing written.
   */
  spendProof?: () => Promise<void>;
  /** The audit entry: action (`change_password`, `reset_password`, `set_password`…), IP and OAuth client. */
  audit: { action: string; ip?: string | null; clientId?: string | null };
}

/**
 * Credentials of a user (issue 16 "one rule, one place"): the only place a password is set after sign-up.
 * Every surface — `/api/auth` (change, reset by code, forced reset, first password), the Account API,
 * the Management API, LeanCloud's `/1.1` (update, updatePassword, reset by SMS or email code) — calls
 * {@link setPassword}, so each gets the same effects.
 */
export class CredentialService {
  constructor(
    private readonly store: Store,
    private readonly users: UserService,
    private readonly hasher: PasswordHasher,
    private readonly policy: PasswordPolicy,
    private readonly guard: SignInGuard,
    private readonly levels: SecurityLevelService,
    private readonly clock: Clock,
  ) {}

  /**
   * Refuses a password the policy would refuse for this user and authority, without hashing it (for
   * surfaces that validate a whole request before writing any of it).
   * @throws AppError `password.rejected` (422, the failed rules in `data.issues`)
   */
  assertAcceptable(user: Pick<UserRecord, 'username' | 'primaryEmail'>, newPassword: string, authority: PasswordAuthority): void {
    if (authority === 'admin') this.policy.assertLength(newPassword);
    else this.policy.assert(newPassword, { username: user.username, email: user.primaryEmail });
  }

  /**
   * Sets a user's password and applies every effect of a password change, in this order:
   * 1. the policy ({@link assertAcceptable}); for `authority: 'user'` the current password is refused
   *    (one argon2 verification, ~20 ms);
   * 2. argon2id hashing, then `spendProof`;
   * 3. one transaction: the update (`passwordHash`, `passwordUpdatedAt` (ms), `passwordResetRequired: false`,
   *    plus `patch`), the audit entry (`account_audit`: action, `['password']`, IP, client; never the value)
   *    and the events (`User.Data.Updated`; `PostResetPassword` for the action `reset_password`);
   * 4. every session of the user ends but `keep` (ASVS 5.0 V7.4.3): first-party sessions and refresh
   *    tokens, OIDC provider sessions, grants and their tokens, unused impersonation subject tokens;
   * 5. the lockout counters of the user's identifiers are cleared (the user proved who they are);
   * 6. the Authing password security level is recorded.
   * @returns the user after the change
   * @throws AppError `password.rejected` (422), `user.same_password` (422), `user.not_found`, whatever
   *   `spendProof` throws
   */
  async setPassword(input: SetPasswordInput): Promise<UserRecord> {
    const { user, newPassword } = input;
    this.assertAcceptable(user, newPassword, input.authority);
    if (input.authority === 'user' && user.passwordHash && (await this.hasher.verify(user.passwordHash, newPassword)).ok) {
      throw new AppError('user.same_password');
    }
    const passwordHash = await this.hasher.hash(newPassword);
    await input.spendProof?.();
    const now = this.clock.now();
    const updated = await this.store.transaction(async () => {
      const changed = await this.users.update(user.id, { ...input.patch, passwordHash, passwordUpdatedAt: now, passwordResetRequired: false });
      await this.store.accountAudit.insert({
        id: newId(now),
        at: now,
        userId: user.id,
        action: input.audit.action,
        fields: ['password'],
        ip: input.audit.ip ?? null,
        clientId: input.audit.clientId ?? null,
      });
      // A reset by a code (the forgot-password flow of any surface) ends with Logto's PostResetPassword.
      if (input.audit.action === 'reset_password') await this.users.emit('PostResetPassword', changed);
      return changed;
    });
    await this.users.endAllSessions(user.id, input.keep);
    await this.guard.clear(...this.guard.userKeys(user));
    await this.levels.record(updated, newPassword);
    return updated;
  }
}
