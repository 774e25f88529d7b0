import type { Config } from '../../config/index.js';
import { AppError, isAppError } from '../../errors/index.js';
import type { UserRecord } from '../../storage/store.js';
import type { AccountCenterService } from '../account/center.js';
import type { AuthService, RequestMeta } from '../sign-in/auth.js';
import type { UserService } from '../users/index.js';
import type { VerificationService } from '../verification/index.js';
import type { Limiter } from '../../util/rate-limit.js';

/**
 * LeanCloud's SMS and email flows (shared/specs/leancloud.md §3.2 (12)–(22)) over the shared
 * verification records and auth rules:
 * - `requestSmsCode` / `verifySmsCode`: a Generic code to any number;
 * - `requestMobilePhoneVerify` / `verifyMobilePhone`: a Generic code to a user's number, then
 *   `mobilePhoneVerified = true` (a requestSmsCode code works too, as in LeanCloud);
 * - `requestLoginSmsCode` → `POST /login {mobilePhoneNumber, smsCode}` (see LeanCloudUsers);
 * - `requestPasswordResetBySmsCode` / `resetPasswordBySmsCode`, and `requestPasswordReset` by email
 *   followed by the reset page: a ForgotPassword code; a reset ends every session;
 * - `requestChangePhoneNumber` / `changePhoneNumber`: a BindNewIdentifier code to the new number, bound
 *   to the signed-in user;
 * - `requestEmailVerify`: a VerifyEmail message whose link marks the email verified.
 * Codes are 6 digits, 10 minutes, single use, throttled (one per minute per number and purpose).
 * The SDK's verifyMobilePhone and resetPasswordBySmsCode send the code without the number; then the
 * code alone selects the pending record (rate-limited per IP like sign-in).
 */
export class LeanCloudCodes {
  constructor(
    private readonly users: UserService,
    private readonly auth: AuthService,
    private readonly verification: VerificationService,
    private readonly config: Config,
    /** The end-user write policy (account-center field modes). */
    private readonly accountCenter: Pick<AccountCenterService, 'assertSelfEditable'>,
    /** Wrong code-alone guesses per IP (`rateLimit.codeGuessesPerHour`), see {@link findByCodeAlone}. */
    private readonly codeGuesses: Limiter,
  ) {}

  /**
   * The live phone code record of `purpose` whose code is `code`, for SDK calls that send the code
   * without its number. A wrong guess matches no record, so no per-code attempt count can stop
   * guessing; instead each wrong guess spends one unit of the caller IP's hourly budget
   * (`rateLimit.codeGuessesPerHour`, default 10), and a spent budget refuses further code-alone lookups
   * (even right ones) until it refills. ASVS 6.6.3 / NIST 800-63B-4 §3.2.2 (rate limiting).
   * @throws AppError `request.rate_limited` (budget spent), `verification.code_mismatch` (603)
   */
  private async findByCodeAlone(purpose: 'Generic' | 'ForgotPassword', code: string, meta: RequestMeta) {
    const key = meta.ip ?? 'unknown';
    await this.codeGuesses.assertAvailable(key);
    try {
      return await this.verification.findLiveByCode('phone', purpose, code);
    } catch (error) {
      if (isAppError(error, 'verification.code_mismatch')) {
        // The budget may run out with this guess: the answer is still this guess's 603.
        await this.codeGuesses.consume(key).catch((spent: unknown) => {
          if (!isAppError(spent, 'request.rate_limited')) throw spent;
        });
      }
      throw error;
    }
  }

  /** The user with this phone. @throws AppError `user.not_found` with `data.identifier = 'phone'` (213) */
  private async userByPhone(phone: string): Promise<UserRecord> {
    const user = await this.users.findByIdentifier('phone', phone);
    if (!user) throw new AppError('user.not_found', { data: { identifier: 'phone' } });
    return user;
  }


  private async send(channel: 'phone' | 'email', identifier: string, purpose: 'Generic' | 'SignIn' | 'ForgotPassword' | 'BindNewIdentifier', meta: RequestMeta, userId?: string) {
    await this.verification.sendCode({ channel, identifier, purpose, locale: meta.locale ?? 'en', ip: meta.ip ?? null, userId: userId ?? null });
  }

  /**
   * Sends a code to the account of `identifier` for the requests whose answer depends on the account
   * (issue 15: no enumeration by timing): delivery runs in the background, so the answer does not
   * wait for the mail or SMS. For an unknown account — or one `skip` excludes (an email verified
   * already) — LeanCloud answers 205 (email) / 213 (phone), and so do we by default; with
   * `leancloud.hideUnknownAccounts` the answer is the same as for a real send, after the same work (a
   * code record that is never delivered).
   * @throws AppError `user.not_found` (`data.identifier`; unless hidden), the sending errors of
   *   {@link VerificationService.sendCode} except `connector.delivery_failed`
   */
  private async sendToAccount(
    channel: 'phone' | 'email',
    identifier: string,
    purpose: 'SignIn' | 'ForgotPassword' | 'VerifyEmail',
    meta: RequestMeta,
    options: { skip?: (user: UserRecord) => boolean; linkFor?: (token: string) => string } = {},
  ): Promise<void> {
    const user = await this.users.findByIdentifier(channel, identifier);
    const hide = this.config.leancloud.hideUnknownAccounts;
    if (!user && !hide) throw new AppError('user.not_found', { data: { identifier: channel } });
    const real = user !== undefined && !(options.skip?.(user) ?? false);
    if (!real && !hide) return;
    await this.verification.sendCode({
      channel,
      identifier,
      purpose,
      locale: meta.locale ?? 'en',
      ip: meta.ip ?? null,
      userId: real ? user.id : null,
      delivery: real ? 'background' : 'none',
      ...(options.linkFor ? { linkFor: options.linkFor } : {}),
    });
  }

  /**
   * `POST /1.1/requestSmsCode`: sends a Generic code to any valid number (template options of
   * LeanCloud — `template`, `sign`, `name`, `op`, `ttl`, `smsType` — are accepted and ignored).
   * @throws AppError `user.invalid_phone`, `verification.resend_too_soon`,
   *   `request.rate_limited`, `connector.delivery_failed`
   */
  async requestSmsCode(phone: string, meta: RequestMeta): Promise<void> {
    await this.send('phone', phone, 'Generic', meta);
  }

  /**
   * `POST /1.1/verifySmsCode/:code` `{mobilePhoneNumber}`: checks and uses a requestSmsCode code.
   * @throws AppError verification errors (603), `request.rate_limited`
   */
  async verifySmsCode(code: string, phone: string, meta: RequestMeta): Promise<void> {
    await this.auth.throttle('signIn', meta);
    await this.verification.useCode({ channel: 'phone', identifier: phone, purpose: 'Generic', code });
  }

  /**
   * `POST /1.1/requestMobilePhoneVerify`: sends a code to a user's number unless it is verified already.
   * @throws AppError `user.not_found` (213), sending errors
   */
  async requestMobilePhoneVerify(phone: string, meta: RequestMeta): Promise<void> {
    const user = await this.userByPhone(phone);
    if (user.phoneVerified) return;
    await this.send('phone', phone, 'Generic', meta, user.id);
  }

  /**
   * `POST /1.1/verifyMobilePhone/:code`: marks the number verified. The number is `phone` (from the
   * body), else the signed-in user's, else the pending code's own.
   * @returns the user
   * @throws AppError verification errors (603), `user.not_found` (213), `request.rate_limited`
   */
  async verifyMobilePhone(code: string, given: string | undefined, sessionUser: UserRecord | undefined, meta: RequestMeta): Promise<UserRecord> {
    await this.auth.throttle('signIn', meta);
    let phone = given || sessionUser?.primaryPhone;
    let recordId: string | undefined;
    if (!phone) {
      const record = await this.findByCodeAlone('Generic', code, meta);
      phone = record.identifier!;
      recordId = record.id;
    }
    const record = await this.verification.verifyCode({ channel: 'phone', identifier: phone, purpose: 'Generic', code, ...(recordId ? { recordId } : {}) });
    const user = await this.userByPhone(phone);
    await this.verification.consume(record.id);
    return user.phoneVerified ? user : this.users.update(user.id, { phoneVerified: true });
  }

  /**
   * `POST /1.1/requestLoginSmsCode`: sends a SignIn code to a user's number.
   * @throws AppError `user.not_found` (213), sending errors
   */
  async requestLoginSmsCode(phone: string, meta: RequestMeta): Promise<void> {
    await this.sendToAccount('phone', phone, 'SignIn', meta);
  }

  /**
   * `POST /1.1/requestPasswordResetBySmsCode`: sends a ForgotPassword code to a user's number.
   * @throws AppError `user.not_found` (213), sending errors
   */
  async requestPasswordResetBySmsCode(phone: string, meta: RequestMeta): Promise<void> {
    await this.sendToAccount('phone', phone, 'ForgotPassword', meta);
  }

  /**
   * `PUT /1.1/resetPasswordBySmsCode/:code` `{password[, mobilePhoneNumber]}`: sets the password and ends
   * every session of the user. Without `phone`, the code alone selects the pending record.
   * @throws AppError `user.password_required` (201), verification errors (603), `user.not_found` (213),
   *   `password.rejected`, `request.rate_limited`
   */
  async resetPasswordBySmsCode(code: string, input: { password: string; phone?: string | undefined }, meta: RequestMeta): Promise<void> {
    const { password } = input;
    if (password === '') throw new AppError('user.password_required');
    let phone = input.phone || undefined;
    let recordId: string | undefined;
    if (!phone) {
      await this.auth.throttle('signIn', meta);
      const record = await this.findByCodeAlone('ForgotPassword', code, meta);
      phone = record.identifier!;
      recordId = record.id;
    }
    try {
      await this.auth.resetPassword({ channel: 'phone', identifier: phone, code, newPassword: password, ...(recordId ? { recordId } : {}) }, meta);
    } catch (error) {
      if (isAppError(error, 'user.not_found')) throw new AppError('user.not_found', { data: { identifier: 'phone' } });
      throw error;
    }
  }

  /**
   * `POST /1.1/requestChangePhoneNumber` `{mobilePhoneNumber}`: sends a code to the new number for the
   * signed-in user (`ttl` is accepted and ignored: codes live `codes.ttlSeconds`).
   * @throws AppError `user.session_required` (206), `user.phone_taken` (214),
   *   `user.invalid_phone`, sending errors
   */
  async requestChangePhoneNumber(sessionUser: UserRecord | undefined, given: string, meta: RequestMeta): Promise<void> {
    if (!sessionUser) throw new AppError('user.session_required');
    const phone = this.users.normalize('phone', given);
    await this.users.assertAvailable({ phone }, sessionUser.id);
    await this.send('phone', phone, 'BindNewIdentifier', meta, sessionUser.id);
  }

  /**
   * `POST /1.1/changePhoneNumber` `{mobilePhoneNumber, code}`: makes the number the signed-in user's
   * (verified); the code must have been requested by this user for this number.
   * @returns the updated user
   * @throws AppError `user.session_required` (206), verification errors (603),
   *   `user.phone_taken` (214)
   */
  async changePhoneNumber(sessionUser: UserRecord | undefined, input: { phone: string; code: string }, meta: RequestMeta): Promise<UserRecord> {
    if (!sessionUser) throw new AppError('user.session_required');
    await this.accountCenter.assertSelfEditable('phone');
    const phone = this.users.normalize('phone', input.phone);
    const { code } = input;
    await this.auth.throttle('signIn', meta);
    const record = await this.verification.verifyCode({ channel: 'phone', identifier: phone, purpose: 'BindNewIdentifier', code });
    if (record.userId !== sessionUser.id) throw new AppError('verification.not_found');
    await this.users.assertAvailable({ phone }, sessionUser.id);
    const updated = await this.users.update(sessionUser.id, { primaryPhone: phone, phoneVerified: true });
    await this.verification.consume(record.id);
    return updated;
  }

  /**
   * `POST /1.1/requestPasswordReset` `{email}`: mails a ForgotPassword code to the user, to be entered on
   * the reset page (`GET /1.1/resetPassword`). LeanCloud answers 205 for an unknown email, and so do we.
   * @throws AppError `user.not_found` (205), sending errors
   */
  async requestPasswordReset(email: string, meta: RequestMeta): Promise<void> {
    await this.sendToAccount('email', email, 'ForgotPassword', meta);
  }

  /**
   * The reset page's form: sets a new password with the emailed code; ends every session.
   * @throws AppError verification errors, `user.not_found`, `password.rejected`, `request.rate_limited`
   */
  async resetPasswordWithEmailCode(input: { email: string; code: string; password: string }, meta: RequestMeta): Promise<void> {
    await this.auth.resetPassword({ channel: 'email', identifier: input.email, code: input.code, newPassword: input.password }, meta);
  }

  /**
   * `POST /1.1/requestEmailVerify` `{email}`: mails a VerifyEmail message (code and one-click link to
   * `GET /1.1/verifyEmail`) unless the email is verified already.
   * @throws AppError `user.not_found` (205), sending errors
   */
  async requestEmailVerify(email: string, meta: RequestMeta): Promise<void> {
    await this.sendToAccount('email', email, 'VerifyEmail', meta, {
      skip: (user) => user.emailVerified,
      linkFor: (token) => `${this.config.publicUrl}/1.1/verifyEmail?token=${encodeURIComponent(token)}`,
    });
  }

  /**
   * The one-click link of requestEmailVerify.
   * @throws AppError `verification.not_found`, `verification.code_expired`, `verification.already_used`
   */
  verifyEmailLink(token: string): Promise<void> {
    return this.auth.verifyEmailWithLink(token);
  }
}
