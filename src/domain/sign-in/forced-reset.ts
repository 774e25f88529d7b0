import { AppError } from '../../errors/index.js';
import type { PasswordResetReason, SdkStore } from '../../storage/sdk-store.js';
import type { UserRecord } from '../../storage/store.js';
import type { Clock } from '../../util/clock.js';
import { newSecret, sha256Hex } from '../../util/crypto.js';
import type { AuthService, RequestMeta, SignedIn } from './auth.js';
import type { CredentialService } from '../credentials/index.js';
import type { SecondFactors } from '../mfa/index.js';
import type { SignInCompletionCheck } from '../sessions/issuer.js';
import type { PasswordHasher } from '../credentials/passwords.js';
import type { SecurityLevelService } from '../account/security-level.js';
import type { UserService } from '../users/index.js';

/** Lifetime of a force-reset token: 10 minutes, in milliseconds. */
export const RESET_TOKEN_TTL_MS = 10 * 60 * 1000;

/** Prefix of force-reset tokens (256 random bits follow). */
export const RESET_TOKEN_PREFIX = 'tpr_';

/**
 * "Force password reset" (issue 6, seed 003 resetPasswordByFirstLoginToken /
 * resetPasswordByForceResetToken): an administrator flags a user (`passwordResetRequired`, Management
 * API), and the user's next correct password sign-in yields, instead of a session, 403
 * `auth.password_reset_required` with `data: {resetToken, reason}` — `first_login` when the user never
 * signed in, else `forced`. The token (256 bits, stored as SHA-256, single use, 10 minutes, a newer one
 * replaces older ones) sets a new password, clears the flag, ends every session and signs the user in.
 *
 * A user with an MFA factor gets the token only after the second factor (security review: the token
 * changes the password and ends every session, so it must not be obtainable with the password alone):
 * the password step answers `auth.mfa_required` as for any sign-in, and the MFA step
 * ({@link ForcedResetGate.afterAllFactors}, run by {@link SessionIssuer.issueSignedIn}) answers
 * `auth.password_reset_required` instead of a session. After the reset the new session again passes
 * through {@link AuthService.finishSignIn}, so the second factor is asked once more.
 */
export class ForcedResetGate implements SignInCompletionCheck {
  constructor(
    private readonly store: SdkStore,
    private readonly levels: SecurityLevelService,
    /** The one "has a second factor" rule ({@link SecondFactors.hasSecondFactor}); asked only for flagged users. */
    private readonly factors: Pick<SecondFactors, 'hasSecondFactor'>,
    private readonly clock: Clock,
  ) {}

  /**
   * The check run by {@link AuthService.signInWithPassword} once the password is known to be right:
   * records the password's security level, then refuses the sign-in of a flagged user who has no MFA
   * factor. A flagged user with a factor passes on to the MFA gate; the refusal then comes from
   * {@link afterAllFactors} once the second factor is proven.
   * @throws AppError `auth.password_reset_required` (403; `data: {resetToken, reason}`)
   */
  async afterPasswordVerified(user: UserRecord, password: string): Promise<void> {
    await this.levels.record(user, password);
    if (!user.passwordResetRequired) return;
    if (await this.factors.hasSecondFactor(user.id)) return;
    await this.refuse(user);
  }

  /**
   * The check run by {@link SessionIssuer.issueSignedIn} when every
   * factor of a sign-in is verified, just before a session would be issued: a flagged user whose
   * sign-in used the password (`amr` has `pwd`) gets a reset token instead. No query unless flagged.
   * @param amr RFC 8176 methods of the completed sign-in
   * @throws AppError `auth.password_reset_required` (403; `data: {resetToken, reason}`)
   */
  async afterAllFactors(user: UserRecord, amr: string[]): Promise<void> {
    if (!user.passwordResetRequired || !amr.includes('pwd')) return;
    await this.refuse(user);
  }

  /** Stores a new reset token for a flagged user and throws it as `auth.password_reset_required`. */
  private async refuse(user: UserRecord): Promise<never> {
    const reason: PasswordResetReason = user.lastSignInAt === null ? 'first_login' : 'forced';
    const token = newSecret(RESET_TOKEN_PREFIX, 32);
    const now = this.clock.now();
    await this.store.insertResetToken({ tokenHash: sha256Hex(token), userId: user.id, reason, createdAt: now, expiresAt: now + RESET_TOKEN_TTL_MS, consumedAt: null });
    throw new AppError('auth.password_reset_required', { data: { resetToken: token, reason } });
  }
}

/** Sets a new password with a force-reset token (the gate above hands the token out). */
export class ForcedResetService {
  constructor(
    private readonly store: SdkStore,
    private readonly users: UserService,
    private readonly auth: AuthService,
    private readonly hasher: PasswordHasher,
    private readonly credentials: CredentialService,
    private readonly clock: Clock,
  ) {}

  /**
   * Sets a new password with a force-reset token and signs the user in (through
   * {@link AuthService.finishSignIn}, so a second factor still applies). `oldPassword`, when given (Authing
   * resetPasswordByForceResetToken), must be the current password. The token is used only if the new
   * password is accepted.
   * @throws AppError `request.rate_limited`, `auth.reset_token_invalid` (400: unknown, expired or used),
   *   `auth.invalid_credentials` (wrong `oldPassword`), `password.rejected` (422), `user.same_password`
   *   (422), `auth.user_suspended`
   */
  async resetWithToken(input: { resetToken: string; newPassword: string; oldPassword?: string }, meta: RequestMeta): Promise<SignedIn> {
    await this.auth.throttle('signIn', meta);
    const tokenHash = sha256Hex(input.resetToken);
    const now = this.clock.now();
    const record = input.resetToken.startsWith(RESET_TOKEN_PREFIX) ? await this.store.findResetToken(tokenHash) : undefined;
    if (!record || record.consumedAt !== null || record.expiresAt <= now) throw new AppError('auth.reset_token_invalid');
    const user = await this.users.require(record.userId);
    if (user.isSuspended) throw new AppError('auth.user_suspended');
    if (input.oldPassword !== undefined && !(await this.hasher.verify(user.passwordHash, input.oldPassword)).ok) {
      throw new AppError('auth.invalid_credentials');
    }
    const updated = await this.credentials.setPassword({
      user,
      newPassword: input.newPassword,
      authority: 'user',
      spendProof: async () => {
        if (!(await this.store.consumeResetToken(tokenHash, now))) throw new AppError('auth.reset_token_invalid');
      },
      audit: { action: 'forced_reset_password', ip: meta.ip ?? null },
    });
    return this.auth.finishSignIn(updated, meta, ['pwd']);
  }

  /** Deletes expired reset tokens and captchas. @returns how many */
  purgeExpired(): Promise<number> {
    return this.store.deleteExpired(this.clock.now());
  }
}
