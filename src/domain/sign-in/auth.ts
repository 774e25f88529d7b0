import { AppError } from '../../errors/index.js';
import type { AuditLog } from '../audit/index.js';
import type { UserPatch, UserProfile, UserRecord } from '../../storage/store.js';
import type { Clock } from '../../util/clock.js';
import type { Limiter } from '../../util/rate-limit.js';
import type { Config } from '../../config/index.js';
import type { IdentifierKind } from '../users/identifiers.js';
import type { CaptchaService } from './captcha.js';
import type { SessionIssuer } from '../sessions/issuer.js';
import type { RequestMeta, SecondFactorGate, SignedIn } from './types.js';
import type { CredentialService } from '../credentials/index.js';
import type { PasswordHasher } from '../credentials/passwords.js';
import type { CodeChannel, CodePurpose, VerificationService } from '../verification/index.js';
import type { SessionMeta, SessionService } from '../sessions/index.js';
import type { SignInGuard } from './lockout.js';
import type { CreateUserOptions, UserService } from '../users/index.js';

export type { RequestMeta, SecondFactorGate, SignedIn } from './types.js';

/** Input of {@link AuthService.signUp}: identifiers are raw and normalised by {@link UserService}. */
export interface SignUpInput {
  username?: string | null;
  email?: string | null;
  phone?: string | null;
  password?: string | null;
  name?: string | null;
  avatar?: string | null;
  profile?: UserProfile;
  customData?: Record<string, unknown>;
}

/** Input of {@link AuthService.signUpWithCode}. */
export interface CodeSignUpInput extends Omit<SignUpInput, 'email' | 'phone'> {
  channel: CodeChannel;
  identifier: string;
  code: string;
  verificationId?: string;
  /** The purpose the code was sent for (default Register; LeanCloud's usersByMobilePhone also takes Generic and SignIn codes). */
  purpose?: CodePurpose;
}

/** Codes of a sign-in that continues (a second factor, a forced reset): not recorded as refusals. */
const NOT_REFUSALS = new Set(['auth.mfa_required', 'auth.mfa_enrollment_required', 'auth.password_reset_required']);

/** Input of {@link AuthService.resetPassword}. */
export interface ResetPasswordInput {
  channel: CodeChannel;
  identifier: string;
  code: string;
  /** The `vrf_…` handle the code request returned. */
  verificationId?: string;
  /** The record's stored key, for internal callers that found it by the code alone (LeanCloud). */
  recordId?: string;
  newPassword: string;
}

/** The per-IP rate limiters of the sign-in surfaces. */
export interface AuthLimiters {
  signIn: Limiter;
  signUp: Limiter;
}

/**
 * First-party password sign-up and sign-in, shared by every surface (native `/api/auth`, LeanCloud
 * `/1.1`, the SDK). Abuse resistance (issue 2 §10, ASVS 6.3, NIST 800-63B-4 §3.2.2):
 * - per-IP rate limits on both (`request.rate_limited`, 429 + Retry-After);
 * - per-identifier lockout after `lockout.maxFailures` failures ({@link SignInGuard});
 * - unknown identifier and wrong password fail alike (`auth.invalid_credentials`) after the same
 *   argon2id work (a dummy hash), so neither the answer nor its timing reveals accounts.
 */
export class AuthService {
  constructor(
    private readonly users: UserService,
    private readonly sessions: SessionService,
    private readonly hasher: PasswordHasher,
    private readonly guard: SignInGuard,
    private readonly limiters: AuthLimiters,
    private readonly verification: VerificationService,
    private readonly credentials: CredentialService,
    /** The per-IP captcha rule, shared by every password sign-in. */
    private readonly captcha: Pick<CaptchaService, 'protect'>,
    /** Issues the session once every factor is proven. */
    private readonly issuer: SessionIssuer,
    /** Asks for the second factor (the MFA service); null: no sign-in ever needs one. */
    private readonly secondFactor: SecondFactorGate | null,
    /**
     * Runs after a correct password (and at password sign-up), before any session: records the
     * password's security level and refuses a user flagged for a forced reset (domain/sign-in/forced-reset.ts).
     */
    private readonly passwordCheck: { afterPasswordVerified(user: UserRecord, password: string): Promise<void> } | null,
    private readonly config: Config,
    private readonly clock: Clock,
    /** Where errors of work that must not fail the request go (the app's logger). */
    private readonly onBackgroundError: (error: unknown, message: string) => void = () => {},
    /** Where refused sign-ins are recorded (`Interaction.SignIn.Submit`, result `Error`). */
    private readonly audit?: AuditLog,
  ) {}

  /**
   * Runs a sign-in attempt and records its refusal in the audit log (`Interaction.SignIn.Submit`, result
   * `Error`, the error code; never the password or code). A second step asked for (MFA, a forced reset) is
   * not a refusal. Recording never changes the answer.
   */
  private async audited<T>(identified: () => string | undefined, attempt: () => Promise<T>): Promise<T> {
    try {
      return await attempt();
    } catch (error) {
      if (this.audit && error instanceof AppError && !NOT_REFUSALS.has(error.code)) {
        await this.audit
          .record({ key: 'Interaction.SignIn.Submit', result: 'Error', userId: identified() ?? null, error: { code: error.code, message: error.message } })
          .catch((failure: unknown) => this.onBackgroundError(failure, 'audit log entry of a refused sign-in not written'));
      }
      throw error;
    }
  }

  /**
   * Creates a user with a password and signs them in (session `amr` = `["pwd"]`).
   * @throws AppError `request.rate_limited` (per IP), `user.password_required`, `user.identifier_required`,
   *   `user.invalid_username|email|phone`, `password.rejected` (data.issues lists policy codes),
   *   `user.username_taken|email_taken|phone_taken`
   */
  async signUp(input: SignUpInput, meta: RequestMeta, options: CreateUserOptions = {}): Promise<SignedIn> {
    await this.limiters.signUp.consume(meta.ip ?? 'unknown');
    if (!input.password) throw new AppError('user.password_required');
    const user = await this.users.create({ ...input }, options);
    if (user.primaryEmail && this.config.signIn.sendVerifyEmail) await this.sendVerifyEmail(user, meta);
    await this.passwordCheck?.afterPasswordVerified(user, input.password);
    return this.finishSignIn(user, meta, ['pwd']);
  }

  /**
   * Sends the VerifyEmail message (code + one-click link) to a new user's email. Delivery problems
   * do not undo the sign-up: they are reported through `onBackgroundError`, and the user can ask
   * for another message with `POST /api/auth/codes` (purpose VerifyEmail).
   */
  private async sendVerifyEmail(user: UserRecord, meta: RequestMeta): Promise<void> {
    try {
      await this.verification.sendCode({
        channel: 'email',
        identifier: user.primaryEmail!,
        purpose: 'VerifyEmail',
        locale: meta.locale ?? 'en',
        ip: meta.ip ?? null,
        userId: user.id,
        linkFor: (token) => `${this.config.publicUrl}/api/auth/verify-email?token=${encodeURIComponent(token)}`,
      });
    } catch (error) {
      this.onBackgroundError(error, 'verify-email message not sent');
    }
  }

  /**
   * Signs in with a one-time code sent to the email or phone (purpose SignIn). Proves the identifier,
   * so it also marks it verified. Session `amr`: `["otp"]` for email, `["sms"]` for phone (RFC 8176).
   * @throws AppError `request.rate_limited`, the code errors of {@link VerificationService.verifyCode},
   *   `verification.already_used` (a concurrent use won), `user.not_found` (the code was right but no
   *   account has this identifier; the caller proved they own it, so this reveals nothing),
   *   `auth.user_suspended`, `auth.too_many_failures` (429; every attempt is reserved on the identifier's
   *   lockout before the code is checked, like a password attempt; a right code clears it)
   */
  async signInWithCode(
    input: { channel: CodeChannel; identifier: string; code: string; verificationId?: string; purpose?: CodePurpose },
    meta: RequestMeta,
  ): Promise<SignedIn> {
    let found: UserRecord | undefined;
    return this.audited(() => found?.id, async () => {
      await this.limiters.signIn.consume(meta.ip ?? 'unknown');
      // Every code attempt is reserved on the identifier's lockout before the code is checked, like a
      // password attempt (LeanCloud's rule); a right code clears it.
      const kind = input.channel === 'email' ? 'email' : 'phone';
      const key = this.guard.identifierKey(kind, input.identifier);
      await this.guard.reserve(key);
      const record = await this.verification.verifyCode({ ...input, purpose: input.purpose ?? 'SignIn' });
      await this.guard.clear(key);
      const user = await this.users.findByIdentifier(kind, input.identifier);
      if (!user) throw new AppError('user.not_found');
      found = user;
      if (user.isSuspended) throw new AppError('auth.user_suspended');
      await this.verification.consume(record.id);
      return this.finishSignIn(user, meta, [input.channel === 'email' ? 'otp' : 'sms'], input.channel === 'email' ? { emailVerified: true } : { phoneVerified: true });
    });
  }

  /**
   * Creates a user whose email or phone is proven by a code (purpose Register; Authing's
   * registerByPhoneCode / registerByEmailCode, LeanCloud's usersByMobilePhone) and signs them in. The
   * password is optional. If creation fails (a taken username, a rejected password), the code stays
   * usable for a corrected retry; it is consumed only with the account.
   * @throws AppError `request.rate_limited`, the code errors of {@link VerificationService.verifyCode},
   *   the creation errors of {@link UserService.create}, `verification.already_used`
   */
  async signUpWithCode(input: CodeSignUpInput, meta: RequestMeta, options: CreateUserOptions = {}): Promise<SignedIn> {
    await this.limiters.signUp.consume(meta.ip ?? 'unknown');
    const { channel, identifier, code, verificationId, purpose = 'Register', ...rest } = input;
    const record = await this.verification.verifyCode({ channel, identifier, code, purpose, ...(verificationId ? { verificationId } : {}) });
    const user = await this.users.create(
      {
        ...rest,
        ...(channel === 'email' ? { email: identifier, emailVerified: true } : { phone: identifier, phoneVerified: true }),
      },
      options,
    );
    await this.verification.consume(record.id).catch(async (error: unknown) => {
      // A concurrent request used the code first: this account has no proof, so it must not exist.
      await this.users.delete(user.id);
      throw error;
    });
    return this.finishSignIn(user, meta, [channel === 'email' ? 'otp' : 'sms', ...(input.password ? ['pwd'] : [])]);
  }

  /**
   * Sets a new password after proving the email or phone with a code (purpose ForgotPassword), then
   * ends every session of the user and clears their lockout counters. The code is consumed only if the
   * new password passes the policy.
   * @throws AppError `request.rate_limited`, the code errors of {@link VerificationService.verifyCode},
   *   `user.not_found` (right code, no account), `password.rejected`, `user.same_password`,
   *   `verification.already_used`; effects: {@link CredentialService.setPassword}
   */
  async resetPassword(input: ResetPasswordInput, meta: RequestMeta): Promise<void> {
    await this.limiters.signIn.consume(meta.ip ?? 'unknown');
    const kind = input.channel === 'email' ? 'email' : 'phone';
    const record = await this.verification.verifyCode({
      channel: input.channel,
      identifier: input.identifier,
      code: input.code,
      purpose: 'ForgotPassword',
      ...(input.verificationId ? { verificationId: input.verificationId } : {}),
      ...(input.recordId ? { recordId: input.recordId } : {}),
    });
    const user = await this.users.findByIdentifier(kind, input.identifier);
    if (!user) throw new AppError('user.not_found');
    await this.credentials.setPassword({
      user,
      newPassword: input.newPassword,
      authority: 'user',
      patch: kind === 'email' ? { emailVerified: true } : { phoneVerified: true },
      spendProof: () => this.verification.consume(record.id),
      audit: { action: 'reset_password', ip: meta.ip ?? null },
    });
  }

  /**
   * Marks an email verified with the code of a VerifyEmail message.
   * @throws the code errors of {@link VerificationService.verifyCode}, `user.not_found`
   */
  async verifyEmailWithCode(input: { email: string; code: string; verificationId?: string }, meta: RequestMeta): Promise<void> {
    await this.limiters.signIn.consume(meta.ip ?? 'unknown');
    const record = await this.verification.verifyCode({
      channel: 'email',
      identifier: input.email,
      code: input.code,
      purpose: 'VerifyEmail',
      ...(input.verificationId ? { verificationId: input.verificationId } : {}),
    });
    const user = await this.users.findByIdentifier('email', input.email);
    if (!user) throw new AppError('user.not_found');
    await this.verification.consume(record.id);
    if (!user.emailVerified) await this.users.update(user.id, { emailVerified: true });
  }

  /**
   * Marks an email verified through the one-click link of a VerifyEmail message. Only flips the flag
   * when the user's primary email is still the address the link was sent to.
   * @throws AppError `verification.not_found`, `verification.code_expired`, `verification.already_used`
   */
  async verifyEmailWithLink(token: string): Promise<void> {
    const record = await this.verification.useLink(token);
    const user = record.identifier ? await this.users.findByIdentifier('email', record.identifier) : undefined;
    if (user && (!record.userId || record.userId === user.id) && !user.emailVerified) {
      await this.users.update(user.id, { emailVerified: true });
    }
  }

  /**
   * Verifies an identifier + password and issues a session: the one password sign-in of every surface
   * (`/api/auth/sign-in`, the `/oidc` sign-in page, LeanCloud `/1.1/login`, the SDK). A legacy or weaker
   * stored hash is replaced by a current argon2id hash on success. Guards, in order: the per-IP budget,
   * the per-IP captcha rule ({@link CaptchaService.protect}: failures from any surface count, and past
   * the threshold every surface refuses without a solved captcha — those that cannot show one answer it
   * in their own dialect), then the identifier's lockout (reserved before the hash is checked).
   * @param options.captcha a solved captcha (`POST /api/auth/captcha`), where the surface can show one
   * @throws AppError `request.rate_limited` (per IP), `auth.captcha_required` / `auth.captcha_invalid`
   *   (401), `auth.too_many_failures` (identifier locked; carries Retry-After), `auth.invalid_credentials`
   *   (unknown identifier, no password, or wrong password), `auth.user_suspended` (right password,
   *   suspended account), `auth.email_not_verified` (right password, `signIn.requireVerifiedEmail` on,
   *   email not verified), and the second-factor and forced-reset answers of {@link finishSignIn}
   */
  async signInWithPassword(
    kind: IdentifierKind,
    identifier: string,
    password: string,
    meta: RequestMeta,
    options: { captcha?: { id: string; answer: string } } = {},
  ): Promise<SignedIn> {
    let found: UserRecord | undefined;
    return this.audited(() => found?.id, async () => {
      await this.limiters.signIn.consume(meta.ip ?? 'unknown');
      const key = this.guard.identifierKey(kind, identifier);
      const { user, upgradedHash } = await this.captcha.protect(meta.ip ?? null, options.captcha, async () => {
        // Reserved before the hash is checked: a concurrent burst gets at most lockout.maxFailures verifications.
        await this.guard.reserve(key);
        found = await this.users.findByIdentifier(kind, identifier);
        const result = await this.hasher.verify(found?.passwordHash ?? null, password);
        if (!found || !result.ok) throw new AppError('auth.invalid_credentials');
        return { user: found, upgradedHash: result.upgradedHash };
      });
      // The right password forgets the identifier's failures: in the transaction that issues the session
      // (two write transactions per sign-in: the reservation and this one, issue 22), or on its own when the
      // sign-in stops here or asks for a second factor.
      try {
        if (user.isSuspended) throw new AppError('auth.user_suspended');
        if (this.config.signIn.requireVerifiedEmail && user.primaryEmail && !user.emailVerified) {
          throw new AppError('auth.email_not_verified');
        }
        await this.passwordCheck?.afterPasswordVerified(user, password);
        return await this.finishSignIn(user, meta, ['pwd'], upgradedHash ? { passwordHash: upgradedHash } : {}, () => this.guard.clear(key));
      } catch (error) {
        await this.guard.clear(key);
        throw error;
      }
    });
  }

  /**
   * Checks the password of an already identified user (the Verification API's password proof) under
   * the protections of password sign-in: the per-IP sign-in budget, and the lockout of the user's
   * identifiers — the attempt is reserved on every identifier's counter before the hash is checked (a
   * lock from sign-in failures applies, and failures here lock sign-in too), and a right password clears
   * them, as a successful sign-in does.
   * @returns whether the password is right (false also when the user has none)
   * @throws AppError `request.rate_limited` (per IP), `auth.too_many_failures` (locked; Retry-After)
   */
  async checkUserPassword(user: UserRecord, password: string, meta: RequestMeta): Promise<boolean> {
    await this.limiters.signIn.consume(meta.ip ?? 'unknown');
    const keys = this.guard.userKeys(user);
    await this.guard.reserve(...keys);
    const result = await this.hasher.verify(user.passwordHash, password);
    if (!result.ok) return false;
    await this.guard.clear(...keys);
    return true;
  }

  /**
   * Runs the checks due once every factor of a sign-in is verified, for sign-ins that complete without
   * a first-party session (the OIDC sign-in page's MFA step). See {@link SessionIssuer.assertSignInComplete}.
   * @throws AppError `auth.password_reset_required` (403; `data: {resetToken, reason}`)
   */
  assertSignInComplete(user: UserRecord, amr: string[]): Promise<void> {
    return this.issuer.assertSignInComplete(user, amr);
  }

  /**
   * Completes a sign-in that has no first-party session (the OIDC sign-in page's MFA step): the checks of
   * {@link assertSignInComplete}, `lastSignInAt` and the `PostSignIn` event. See
   * {@link SessionIssuer.completeWithoutSession}.
   * @throws AppError `auth.password_reset_required` (403; `data: {resetToken, reason}`)
   */
  completeWithoutSession(user: UserRecord, amr: string[]): Promise<UserRecord> {
    return this.issuer.completeWithoutSession(user, amr);
  }

  /**
   * The one end of every first-party sign-in (password, code, sign-up, social, LeanCloud authData):
   * applies `extraUpdate` (e.g. an upgraded password hash, a verified flag), then — unless the
   * {@link SecondFactorGate} asks for a second factor — sets `lastSignInAt` and issues a session with
   * `amr` (RFC 8176 values).
   * @param extraUpdate user fields the first factor proved; written even when MFA is then required
   * @param alsoInTransaction more writes of the sign-in (e.g. clearing the lockout counter) for the
   *   transaction that issues the session; not run when a second factor is asked for
   * @throws AppError `auth.mfa_required` (403; `data: {pendingSignInId, factors}`) or
   *   `auth.mfa_enrollment_required` (403; `data: {pendingSignInId, factors: ['totp']}`) from the gate
   */
  async finishSignIn(user: UserRecord, meta: RequestMeta, amr: string[], extraUpdate: UserPatch = {}, alsoInTransaction?: () => Promise<void>): Promise<SignedIn> {
    if (this.secondFactor) {
      let current = user;
      if (Object.keys(extraUpdate).length > 0) current = await this.users.update(user.id, extraUpdate);
      await this.secondFactor.check(current, meta, amr);
      return this.issuer.issueSignedIn(current, meta, amr, {}, alsoInTransaction);
    }
    return this.issuer.issueSignedIn(user, meta, amr, extraUpdate, alsoInTransaction);
  }

  /**
   * Changes a signed-in user's password after checking the current one, then ends **every** session of
   * the user and issues a new one for this device (a stolen session cannot survive a password change;
   * LeanCloud's updatePassword returns the new token). A user without a password cannot use this. The
   * current password is checked like a sign-in ({@link checkUserPassword}): wrong ones count towards the
   * account lockout, so a stolen session is no unlimited password oracle.
   * @throws AppError `request.rate_limited`, `user.not_found`, `auth.too_many_failures` (429, locked),
   *   `auth.invalid_credentials` (wrong current password; nothing changes), `password.rejected`,
   *   `user.same_password`; effects: {@link CredentialService.setPassword}
   */
  async changePassword(input: { userId: string; oldPassword: string; newPassword: string }, meta: RequestMeta): Promise<SignedIn> {
    const user = await this.users.require(input.userId);
    if (!(await this.checkUserPassword(user, input.oldPassword, meta))) throw new AppError('auth.invalid_credentials');
    const updated = await this.credentials.setPassword({
      user,
      newPassword: input.newPassword,
      authority: 'user',
      audit: { action: 'change_password', ip: meta.ip ?? null },
    });
    const issued = await this.sessions.create(user.id, this.sessionMeta(meta, ['pwd']));
    return { user: updated, issued };
  }

  /**
   * Spends one unit of the per-IP sign-in or sign-up budget, for surfaces that sign users in or create
   * them by other means (LeanCloud authData and anonymous sign-in).
   * @throws AppError `request.rate_limited`
   */
  async throttle(kind: 'signIn' | 'signUp', meta: RequestMeta): Promise<void> {
    await this.limiters[kind].consume(meta.ip ?? 'unknown');
  }

  private sessionMeta(meta: RequestMeta, amr: string[]): SessionMeta {
    return { ip: meta.ip ?? null, userAgent: meta.userAgent ?? null, amr };
  }
}
