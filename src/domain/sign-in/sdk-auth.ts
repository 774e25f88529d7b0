import type { Config } from '../../config/index.js';
import { AppError, isAppError } from '../../errors/index.js';
import type { SdkStore } from '../../storage/sdk-store.js';
import type { UserRecord } from '../../storage/store.js';
import type { Limiter } from '../../util/rate-limit.js';
import type { AuthService, RequestMeta, SignedIn } from './auth.js';
import type { IdentifierKind } from '../users/identifiers.js';
import type { Reauthentication } from '../sessions/reauthentication.js';
import type { ResolvedSession, SessionService } from '../sessions/index.js';
import type { UserService } from '../users/index.js';
import type { CodeChannel } from '../verification/index.js';

/**
 * Sign-in extras of the SDK surface (issue 6, seed 003): `isUserExists` behind a config flag,
 * `autoRegister` on code sign-in, and `linkAccount`.
 */
export class SdkAuthService {
  constructor(
    private readonly auth: AuthService,
    private readonly users: UserService,
    private readonly sessions: SessionService,
    private readonly store: SdkStore,
    /** Per-IP budget of user-exists checks. */
    private readonly userExistsLimiter: Limiter,
    private readonly config: Config,
    /** Re-authentication (a recent sign-in of the primary account). */
    private readonly reauth: Pick<Reauthentication, 'assertRecentSignIn'>,
  ) {}

  /**
   * Whether a user has this username, email or phone (Authing isUserExists). This is deliberate
   * enumeration, so it is off unless `signIn.allowUserExistsCheck` is set, and rate-limited per IP
   * (`rateLimit.userExistsPerMinute`). A malformed identifier simply does not exist.
   * @throws AppError `auth.user_exists_check_disabled` (403), `request.rate_limited` (429)
   */
  async userExists(kind: IdentifierKind, value: string, meta: RequestMeta): Promise<boolean> {
    if (!this.config.signIn.allowUserExistsCheck) throw new AppError('auth.user_exists_check_disabled');
    await this.userExistsLimiter.consume(meta.ip ?? 'unknown');
    return (await this.users.findByIdentifier(kind, value)) !== undefined;
  }

  /**
   * Spends one unit of the per-IP sign-in budget for a new captcha (a captcha per request would
   * otherwise be free to mint).
   * @throws AppError `request.rate_limited`
   */
  throttleCaptcha(meta: RequestMeta): Promise<void> {
    return this.auth.throttle('signIn', meta);
  }

  /**
   * Code sign-in with Authing's `autoRegister`: when the code is right but no account has the
   * identifier, an account is created with it (verified) and signed in; the same SignIn code is used
   * once, with the account.
   * @throws the errors of {@link AuthService.signInWithCode} (except `user.not_found`) and of
   *   {@link AuthService.signUpWithCode}
   */
  async signInWithCodeOrRegister(
    input: { channel: CodeChannel; identifier: string; code: string; verificationId?: string },
    meta: RequestMeta,
  ): Promise<SignedIn> {
    try {
      return await this.auth.signInWithCode(input, meta);
    } catch (error) {
      if (!isAppError(error, 'user.not_found')) throw error;
    }
    return this.auth.signUpWithCode({ ...input, purpose: 'SignIn' }, meta);
  }

  /**
   * Merges a secondary account into a primary one (Authing linkAccount): the secondary user's
   * third-party identities move to the primary and the secondary user is deleted with its sessions.
   * Both callers prove the accounts with live session tokens. Only an account made of third-party
   * identities alone can be merged away (anything else would be lost). Linking adds a lasting way into
   * the primary account, so the primary session must come from a recent sign-in
   * ({@link Reauthentication.assertRecentSignIn}, 10 minutes): a stolen, older primary token is not enough.
   * @throws AppError `auth.unauthorized` (a token is not a live session), `auth.reauthentication_required`
   *   (401: the primary session was issued more than 10 minutes ago), `request.invalid` (one account
   *   twice), `account.link_conflict` (409: the secondary has a password, email or phone, or both have an
   *   identity of one provider; nothing changes), `request.rate_limited`
   * @returns the primary user afterwards
   */
  async linkAccounts(primaryToken: string, secondaryToken: string, meta: RequestMeta): Promise<UserRecord> {
    await this.auth.throttle('signIn', meta);
    const primary = await this.sessions.authenticate(primaryToken);
    const secondary = await this.sessions.authenticate(secondaryToken);
    return this.linkSessions(primary, secondary);
  }

  /**
   * {@link linkAccounts} for sessions a surface resolved itself (the Authing surface's signed tokens).
   * The caller throttles. Same rules and errors.
   */
  async linkSessions(primary: ResolvedSession, secondary: ResolvedSession): Promise<UserRecord> {
    this.reauth.assertRecentSignIn(primary.session);
    if (primary.user.id === secondary.user.id) {
      throw new AppError('request.invalid', { message: 'The two tokens belong to the same account.' });
    }
    if ((await this.store.mergeIdentitiesInto(primary.user.id, secondary.user.id)) === 'conflict') throw new AppError('account.link_conflict');
    await this.users.endAllSessions(secondary.user.id);
    return this.users.require(primary.user.id);
  }
}
