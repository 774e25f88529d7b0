import { AppError, isAppError } from '../../errors/index.js';
import type { UserPatch, UserProfile, UserRecord } from '../../storage/store.js';
import type { AccountService, IssuedRecord } from './index.js';
import type { AccountCenterService } from './center.js';
import type { AuthService, RequestMeta, SignedIn } from '../sign-in/auth.js';
import type { CustomFieldService } from './custom-fields.js';
import type { CredentialService } from '../credentials/index.js';
import type { Reauthentication } from '../sessions/reauthentication.js';
import type { ResolvedSession, SessionService } from '../sessions/index.js';
import type { UserService } from '../users/index.js';
import type { CodeChannel, MessageLocale, VerificationService } from '../verification/index.js';

/** Input of {@link SelfService.updateProfile}: never email, phone or password (seed 003 updateProfile). */
export interface ProfileUpdate {
  /** `null` removes the username unless it is the last way to sign in. */
  username?: string | null;
  name?: string | null;
  avatar?: string | null;
  /** OIDC standard claims, shallow-merged (`address` replaced as a whole). */
  profile?: UserProfile;
  /** Shallow-merged; keys of defined custom fields are type-checked. */
  customData?: Record<string, unknown>;
}

/** Input of {@link SelfService.bindIdentifier}. */
export interface BindInput {
  channel: CodeChannel;
  /** The new email or phone (raw; normalised here). */
  value: string;
  /** The code sent to the new address (purpose BindNewIdentifier, `POST /api/auth/me/codes`). */
  code: string;
  /** Require a code sent to the current address (Authing's "verify the old email/phone" option). */
  verifyOld?: boolean;
  /** The code sent to the current address (purpose Generic, `POST /api/auth/me/codes`). */
  oldCode?: string;
}

/**
 * The signed-in user's own account over first-party session tokens (issue 6, seed 003 Authing
 * AuthenticationClient: updateProfile, updatePassword, bind/unbind/update email and phone). The rules
 * are the Account API's ({@link AccountService}, {@link VerificationService}): codes are single-use
 * verification records, new identifiers are proven by a BindNewIdentifier code sent to them, the old
 * one by a Generic code owned by the user (always, unless `signIn.requireOldIdentifierProof` is turned
 * off), taken identifiers are refused (409 `user.email_taken` / `user.phone_taken` /
 * `user.username_taken`) and the last way to sign in cannot be removed
 * (`user.last_sign_in_method_required`).
 *
 * Changes to the account's recovery attributes that no other secret proves — binding an email/phone
 * without a code from a current one, removing one, setting a first password — need a recent sign-in
 * (the session issued within 10 minutes, `REAUTHENTICATION_WINDOW_MS` of domain/sessions/reauthentication.ts, else 401
 * `auth.reauthentication_required`), so a stolen session token cannot take the account over (security
 * review; OWASP ASVS 5.0 V7.5). While the account center is enabled its field modes bind these
 * methods too ({@link AccountCenterService.assertSelfEditable}: 400 `account_center.field_not_editable`).
 */
export class SelfService {
  constructor(
    private readonly users: UserService,
    private readonly account: AccountService,
    private readonly auth: AuthService,
    private readonly sessions: SessionService,
    private readonly verification: VerificationService,
    private readonly credentials: CredentialService,
    private readonly customFields: CustomFieldService,
    /** The end-user write policy (account-center field modes, while the account center is enabled). */
    private readonly accountCenter: Pick<AccountCenterService, 'assertSelfEditable'>,
    /** Re-authentication: changes no other secret proves need a recent sign-in. */
    private readonly reauth: Pick<Reauthentication, 'assertRecentSignIn'>,
    /** Config `signIn.requireOldIdentifierProof`: replacing a bound address always needs the old-address code. */
    private readonly requireOldProof = true,
  ) {}

  /**
   * Changes username, name, avatar, profile claims and custom data in one write (nothing is written
   * when any part is refused).
   * @throws AppError `user.invalid_username`, `user.username_taken` (409),
   *   `user.last_sign_in_method_required` (400, `username: null`), `custom_field.invalid_value` (400)
   */
  async updateProfile(user: UserRecord, input: ProfileUpdate): Promise<UserRecord> {
    const touched = (['username', 'name', 'avatar', 'profile', 'customData'] as const).filter((k) => input[k] !== undefined);
    await this.accountCenter.assertSelfEditable(...touched);
    const patch: UserPatch = {};
    if (input.username !== undefined) {
      if (input.username === null) {
        await this.account.assertKeepsSignInMethod(user, 'username');
        patch.username = null;
      } else {
        patch.username = this.users.normalize('username', input.username);
        await this.users.assertAvailable({ username: patch.username }, user.id);
      }
    }
    if (input.name !== undefined) patch.name = input.name;
    if (input.avatar !== undefined) patch.avatar = input.avatar;
    if (input.profile !== undefined) patch.profile = { ...user.profile, ...input.profile };
    if (input.customData !== undefined) patch.customData = { ...user.customData, ...(await this.customFields.checkCustomData(input.customData)) };
    return this.users.update(user.id, patch);
  }

  /**
   * Sets values of defined custom fields of the user's own account (Authing setUdfValue), all or nothing.
   * @throws AppError `account_center.field_not_editable` (customData not Edit while the account center is
   *   enabled), and the errors of {@link CustomFieldService.setValues}
   */
  async setCustomFieldValues(user: UserRecord, values: Record<string, unknown>): ReturnType<CustomFieldService['setValues']> {
    await this.accountCenter.assertSelfEditable('customData');
    return this.customFields.setValues(user.id, values);
  }

  /**
   * Removes the user's own value of a custom field (Authing removeUdfValue).
   * @throws AppError `account_center.field_not_editable`, and the errors of {@link CustomFieldService.removeValue}
   */
  async removeCustomFieldValue(user: UserRecord, key: string): Promise<void> {
    await this.accountCenter.assertSelfEditable('customData');
    await this.customFields.removeValue(user.id, key);
  }

  /**
   * Sets the user's password (Authing updatePassword(newPassword, oldPassword?)). A user with a
   * password must give the current one; a user without one (code or social sign-up) may set one
   * without, but only through a session issued within the last 10 minutes (a first password is a new
   * way in). Every session of the user ends and a new one is issued for this device; the force-reset
   * flag is cleared and the new password's security level recorded.
   * @param caller the request's resolved session and its user
   * @throws AppError `request.invalid` (oldPassword missing), `auth.invalid_credentials` (wrong current
   *   password; nothing changes), `auth.reauthentication_required` (401: first password through an older
   *   session), `password.rejected` (422), `request.rate_limited`
   */
  async setPassword(caller: ResolvedSession, input: { oldPassword?: string; newPassword: string }, meta: RequestMeta): Promise<SignedIn> {
    const { user } = caller;
    await this.accountCenter.assertSelfEditable('password');
    if (user.passwordHash) {
      if (input.oldPassword === undefined) {
        throw new AppError('request.invalid', { data: { issues: [{ path: 'body.oldPassword', code: 'custom', message: 'The current password is required' }] } });
      }
      return this.auth.changePassword({ userId: user.id, oldPassword: input.oldPassword, newPassword: input.newPassword }, meta);
    }
    this.reauth.assertRecentSignIn(caller.session);
    await this.auth.throttle('signIn', meta);
    const updated = await this.credentials.setPassword({
      user,
      newPassword: input.newPassword,
      authority: 'user',
      audit: { action: 'set_password', ip: meta.ip ?? null },
    });
    const issued = await this.sessions.create(user.id, { ip: meta.ip ?? null, userAgent: meta.userAgent ?? null, amr: ['pwd'] });
    return { user: updated, issued };
  }

  /**
   * Sends a code for a bind or update: to the user's current address it is an identity proof (purpose
   * Generic, owned by the user); to any other address it proves the new identifier (BindNewIdentifier).
   * @throws the errors of {@link VerificationService.sendCode}
   */
  sendCode(user: UserRecord, channel: CodeChannel, value: string, meta: RequestMeta, locale: MessageLocale = 'en'): Promise<IssuedRecord & { purpose: 'BindNewIdentifier' | 'Generic' }> {
    const current = channel === 'email' ? user.primaryEmail : user.primaryPhone;
    return this.account.sendCode(user, channel, value, meta.ip ?? null, locale).then((issued) => ({
      ...issued,
      purpose: current !== null && this.sameAddress(channel, current, value) ? 'Generic' : 'BindNewIdentifier',
    }));
  }

  /**
   * Binds or replaces the primary email or phone (Authing bindEmail / updateEmail / bindPhone /
   * updatePhone). Both codes are checked before either is used; then both are consumed and the address
   * is stored as verified. The old-address code is required with `verifyOld`, or always when the server
   * sets `signIn.requireOldIdentifierProof` (the default). A change without an old-address code — the
   * first email/phone of its kind, or a replacement when that setting is off — needs a session issued
   * within the last 10 minutes instead.
   * @param caller the request's resolved session and its user
   * @throws AppError `request.invalid` (old-address code required but missing), `auth.reauthentication_required`
   *   (401: no old-address code and an older session; checked before any code is tried), `user.invalid_email|phone`,
   *   the code errors of {@link VerificationService.verifyCode} (`verification.not_found` when no code
   *   was sent to that address for this purpose), `user.email_taken` / `user.phone_taken` (409),
   *   `verification.already_used` (a concurrent use won)
   */
  async bindIdentifier(caller: ResolvedSession, input: BindInput): Promise<UserRecord> {
    const { user } = caller;
    const { channel } = input;
    await this.accountCenter.assertSelfEditable(channel);
    const normalized = this.normalize(channel, input.value);
    const current = channel === 'email' ? user.primaryEmail : user.primaryPhone;
    const field = channel === 'email' ? 'oldEmailCode' : 'oldPhoneCode';
    if ((input.verifyOld || this.requireOldProof) && current !== null && input.oldCode === undefined) {
      throw new AppError('request.invalid', { data: { issues: [{ path: `body.${field}`, code: 'custom', message: 'A code sent to the current address is required' }] } });
    }
    if (input.oldCode === undefined) this.reauth.assertRecentSignIn(caller.session);
    const fresh = await this.verification.verifyCode({ channel, identifier: normalized, purpose: 'BindNewIdentifier', code: input.code });
    let old: { id: string } | undefined;
    if (input.oldCode !== undefined) {
      if (current === null) throw new AppError('verification.not_found');
      const record = await this.verification.verifyCode({ channel, identifier: current, purpose: 'Generic', code: input.oldCode });
      if (record.userId !== user.id) throw new AppError('verification.not_found');
      old = record;
    }
    await this.users.assertAvailable(channel === 'email' ? { email: normalized } : { phone: normalized }, user.id);
    await this.verification.consume(fresh.id);
    if (old) await this.verification.consume(old.id);
    return this.users.update(user.id, channel === 'email' ? { primaryEmail: normalized, emailVerified: true } : { primaryPhone: normalized, phoneVerified: true });
  }

  /**
   * Removes the primary email or phone (Authing unbindEmail / unbindPhone). Refused when nothing would
   * be left to sign in with ({@link AccountService.assertKeepsSignInMethod}, the rule of every surface).
   * Needs a session issued within the last 10 minutes (a removed address can no longer warn or recover).
   * @param caller the request's resolved session and its user
   * @throws AppError `user.last_sign_in_method_required` (400), `request.invalid` (nothing bound),
   *   `auth.reauthentication_required` (401: older session)
   */
  async removeIdentifier(caller: ResolvedSession, channel: CodeChannel): Promise<UserRecord> {
    const { user } = caller;
    await this.accountCenter.assertSelfEditable(channel);
    const current = channel === 'email' ? user.primaryEmail : user.primaryPhone;
    if (current === null) {
      throw new AppError('request.invalid', { message: `No ${channel} is bound to this account.` });
    }
    this.reauth.assertRecentSignIn(caller.session);
    await this.account.assertKeepsSignInMethod(user, channel);
    return this.users.update(user.id, channel === 'email' ? { primaryEmail: null, emailVerified: false } : { primaryPhone: null, phoneVerified: false });
  }

  private normalize(channel: CodeChannel, value: string): string {
    try {
      return this.users.normalize(channel, value);
    } catch (error) {
      if (isAppError(error)) throw error;
      throw new AppError(channel === 'email' ? 'user.invalid_email' : 'user.invalid_phone');
    }
  }

  private sameAddress(channel: CodeChannel, current: string, value: string): boolean {
    try {
      return this.verification.canonical(channel, value).key === this.verification.canonical(channel, current).key;
    } catch {
      return false;
    }
  }
}
