import { AppError } from '../errors/index.js';
import type { UserProfile, UserRecord } from '../storage/store.js';
import type { Clock } from '../util/clock.js';
import type { Limiter } from '../util/rate-limit.js';
import type { IdentifierKind } from './identifiers.js';
import type { PasswordHasher } from './passwords.js';
import type { IssuedSession, SessionMeta, SessionService } from './sessions.js';
import type { SignInGuard } from './sign-in-guard.js';
import type { UserService } from './users.js';

/** Where a request came from; keys the per-IP rate limits and is recorded on the session. */
export interface RequestMeta {
  ip?: string | null;
  userAgent?: string | null;
}

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

/** A signed-in user and the session just issued for them. */
export interface SignedIn {
  user: UserRecord;
  issued: IssuedSession;
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
    private readonly clock: Clock,
  ) {}

  /**
   * Creates a user with a password and signs them in (session `amr` = `["pwd"]`).
   * @throws AppError `request.rate_limited` (per IP), `user.password_required`, `user.identifier_required`,
   *   `user.invalid_username|email|phone`, `password.rejected` (data.issues lists policy codes),
   *   `user.username_taken|email_taken|phone_taken`
   */
  async signUp(input: SignUpInput, meta: RequestMeta): Promise<SignedIn> {
    await this.limiters.signUp.consume(meta.ip ?? 'unknown');
    if (!input.password) throw new AppError('user.password_required');
    const user = await this.users.create({ ...input });
    const signedIn = await this.users.update(user.id, { lastSignInAt: this.clock.now() });
    const issued = await this.sessions.create(user.id, this.sessionMeta(meta, ['pwd']));
    return { user: signedIn, issued };
  }

  /**
   * Verifies an identifier + password and issues a session. A legacy or weaker stored hash is
   * replaced by a current argon2id hash on success.
   * @throws AppError `request.rate_limited` (per IP), `auth.too_many_failures` (identifier locked; carries
   *   Retry-After), `auth.invalid_credentials` (unknown identifier, no password, or wrong password),
   *   `auth.user_suspended` (right password, suspended account)
   */
  async signInWithPassword(kind: IdentifierKind, identifier: string, password: string, meta: RequestMeta): Promise<SignedIn> {
    await this.limiters.signIn.consume(meta.ip ?? 'unknown');
    const key = this.guard.key(kind, this.canonical(kind, identifier));
    const hasFailures = await this.guard.assertNotLocked(key);
    const user = await this.users.findByIdentifier(kind, identifier);
    const result = await this.hasher.verify(user?.passwordHash ?? null, password);
    if (!user || !result.ok) {
      await this.guard.recordFailure(key);
      throw new AppError('auth.invalid_credentials');
    }
    if (user.isSuspended) throw new AppError('auth.user_suspended');
    if (hasFailures) await this.guard.clear(key);
    const now = this.clock.now();
    const updated = await this.users.update(user.id, {
      lastSignInAt: now,
      ...(result.upgradedHash ? { passwordHash: result.upgradedHash } : {}),
    });
    const issued = await this.sessions.create(user.id, this.sessionMeta(meta, ['pwd']));
    return { user: updated, issued };
  }

  /**
   * The form of an identifier the lockout counts under: normalised when it parses (so `A@x.io` and
   * `a@x.io`, or two spellings of one phone number, share a counter), else the raw text.
   */
  private canonical(kind: IdentifierKind, raw: string): string {
    try {
      return this.users.normalize(kind, raw, true);
    } catch {
      return raw.trim();
    }
  }

  private sessionMeta(meta: RequestMeta, amr: string[]): SessionMeta {
    return { ip: meta.ip ?? null, userAgent: meta.userAgent ?? null, amr };
  }
}
