import type { Config } from '../../config/index.js';
import { AppError } from '../../errors/index.js';
import type { SessionRecord, Store, UserRecord } from '../../storage/store.js';
import type { IdentityRecord } from '../../storage/identity-store.js';
import type { Clock } from '../../util/clock.js';
import { newId, newSecret, sha256Hex } from '../../util/crypto.js';


/** Who acts, for ending "the other sessions" of a user. */
export interface ActingSession {
  /** First-party session to keep. */
  sessionId?: string | null;
  /** OIDC grant to keep. */
  grantId?: string | null;
  /**
   * The provider session (its `uid`) to keep: the browser sign-in the acting OIDC access token was
   * issued in. Every other provider session of the user ends.
   */
  oidcSessionUid?: string | null;
}

/** Prefix of first-party session tokens (makes leaked tokens easy to recognise in secret scanners). */
export const SESSION_TOKEN_PREFIX = 'tss_';

/** Request facts recorded on a session. */
export interface SessionMeta {
  ip?: string | null;
  userAgent?: string | null;
  /** Authentication methods (RFC 8176: `pwd`, `otp`, `sms`, `mfa`, …). */
  amr: string[];
}

/** A newly issued session: the bearer token is shown here once and never again. */
export interface IssuedSession {
  token: string;
  session: SessionRecord;
}

/** A token that resolved to a live session. */
export interface ResolvedSession {
  session: SessionRecord;
  user: UserRecord;
  /** The user's linked identities, when {@link SessionService.authenticate} was asked for them. */
  identities?: IdentityRecord[];
}


/** Sessions are touched at most this often (ms), so reads do not become writes on every request. */
const TOUCH_INTERVAL_MS = 60_000;

/**
 * First-party sessions, one per signed-in device (DESIGN.md "Identity, sessions, tokens"). The token
 * is 256 random bits, returned once, and stored only as its SHA-256 hash. A session ends at its
 * absolute expiry (`session.absoluteTtlSeconds`) or after `session.idleTtlSeconds` without use.
 */
export class SessionService {
  constructor(
    private readonly store: Store,
    private readonly config: Config,
    private readonly clock: Clock,
  ) {}

  private get idleMs() {
    return this.config.session.idleTtlSeconds * 1000;
  }

  /** Issues a new session for `userId`. */
  async create(userId: string, meta: SessionMeta): Promise<IssuedSession> {
    const now = this.clock.now();
    const token = newSecret(SESSION_TOKEN_PREFIX);
    const session: SessionRecord = {
      id: newId(now),
      userId,
      tokenHash: sha256Hex(token),
      amr: meta.amr,
      ip: meta.ip ?? null,
      userAgent: meta.userAgent ? meta.userAgent.slice(0, 512) : null,
      createdAt: now,
      lastUsedAt: now,
      expiresAt: now + this.config.session.absoluteTtlSeconds * 1000,
    };
    await this.store.sessions.insert(session);
    return { token, session };
  }


  /** When this session ends if it stays unused: the earlier of absolute and idle expiry (ms). */
  effectiveExpiry(session: SessionRecord): number {
    return Math.min(session.expiresAt, session.lastUsedAt + this.idleMs);
  }

  /**
   * Resolves a bearer token to its live session and user, recording use.
   * @param options.withIdentities also load the user's linked identities (in the same query), for a
   *   caller that shows them (LeanCloud's `/1.1/users/me`)
   * @throws AppError `auth.unauthorized` when the token is unknown, expired (absolute or idle),
   *   revoked, or its user is suspended or gone
   */
  async authenticate(token: string, options: { withIdentities?: boolean } = {}): Promise<ResolvedSession> {
    if (!token.startsWith(SESSION_TOKEN_PREFIX)) throw new AppError('auth.unauthorized');
    // The session and its user in one query: every first-party request comes through here.
    const found = await this.store.sessions.findWithUserByTokenHash(sha256Hex(token), options);
    const resolved = await this.live(found?.session, found?.user);
    return found?.identities ? { ...resolved, identities: found.identities } : resolved;
  }

  /**
   * The one liveness rule of a found session (see {@link authenticate}). `loaded` is the session's
   * user when the lookup already read it (otherwise it is read here).
   */
  private async live(session: SessionRecord | undefined, loaded?: UserRecord): Promise<ResolvedSession> {
    const now = this.clock.now();
    if (!session || this.effectiveExpiry(session) <= now) throw new AppError('auth.unauthorized');
    const user = loaded?.id === session.userId ? loaded : await this.store.users.findById(session.userId);
    if (!user || user.isSuspended) throw new AppError('auth.unauthorized');
    if (now - session.lastUsedAt >= TOUCH_INTERVAL_MS) {
      await this.store.sessions.touch(session.id, now);
      session.lastUsedAt = now;
    }
    return { session, user };
  }

  /**
   * Resolves a live session by its id, recording use, for credentials that name a session instead of
   * carrying its token (the Authing surface's signed user tokens): the same checks as
   * {@link authenticate} — absolute and idle expiry, revocation, a suspended or deleted user.
   * @throws AppError `auth.unauthorized`
   */
  async authenticateById(sessionId: string): Promise<ResolvedSession> {
    return this.live(await this.store.sessions.findById(sessionId));
  }

  /**
   * Rotates a session's token: the old token stops working at once. Of concurrent refreshes with one
   * token exactly one succeeds. The session keeps its absolute expiry.
   * @returns the new token, the session and its user
   * @throws AppError `auth.unauthorized` when the token is not a live session's current token
   */
  async refresh(token: string): Promise<IssuedSession & { user: UserRecord }> {
    const { session, user } = await this.authenticate(token);
    const next = newSecret(SESSION_TOKEN_PREFIX);
    const now = this.clock.now();
    const rotated = await this.store.sessions.rotate(session.id, session.tokenHash, sha256Hex(next), now);
    if (!rotated) throw new AppError('auth.unauthorized');
    return { token: next, session: { ...session, tokenHash: sha256Hex(next), lastUsedAt: now }, user };
  }

  /** Ends the session with this token. @returns true when one ended. */
  async revokeToken(token: string): Promise<boolean> {
    const session = await this.store.sessions.findByTokenHash(sha256Hex(token));
    return session ? this.store.sessions.delete(session.id) : false;
  }

  /**
   * Ends one session of a user (checked against its owner: another user's id is "not found").
   * @throws AppError `session.not_found`
   */
  async revokeForUser(userId: string, sessionId: string): Promise<void> {
    const session = await this.store.sessions.findById(sessionId);
    if (!session || session.userId !== userId) throw new AppError('session.not_found');
    await this.store.sessions.delete(sessionId);
  }

  /** Ends every session of `userId` except `exceptSessionId`. @returns how many ended. */
  revokeAll(userId: string, exceptSessionId?: string): Promise<number> {
    return this.store.sessions.deleteByUser(userId, exceptSessionId);
  }

  /** Live sessions of a user, most recently used first. */
  async list(userId: string): Promise<SessionRecord[]> {
    const now = this.clock.now();
    return (await this.store.sessions.listByUser(userId)).filter((s) => this.effectiveExpiry(s) > now);
  }

  /** Deletes expired sessions. @returns how many. */
  purgeExpired(): Promise<number> {
    return this.store.sessions.deleteExpired(this.clock.now(), this.idleMs);
  }
}
