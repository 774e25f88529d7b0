import { AppError } from '../../errors/index.js';
import type { Store, UserRecord } from '../../storage/store.js';
import type { ExchangeTokenKind, SubjectTokenRecord, TokenExchangeAuditRecord } from '../../storage/token-store.js';
import type { Clock } from '../../util/clock.js';
import { newId, newSecret, sha256Hex } from '../../util/crypto.js';
import type { PersonalAccessTokenService } from './personal-access-tokens.js';

export type { ExchangeTokenKind, TokenExchangeAuditRecord } from '../../storage/token-store.js';

/** Prefix of every subject token value (as in Logto). */
export const SUBJECT_TOKEN_PREFIX = 'sub_';

/** Lifetime of a subject token, seconds (Logto: 600). */
export const SUBJECT_TOKEN_TTL_SECONDS = 600;

/** Random bytes in a subject token value: 192 bits. */
const SUBJECT_TOKEN_BYTES = 24;

/** Largest accepted `context`, bytes of JSON. */
export const SUBJECT_TOKEN_CONTEXT_MAX_BYTES = 4096;

/** A subject token as handed to its creator: the only time its value is available. */
export interface IssuedSubjectToken {
  /** `sub_…`; single use, stored only as a SHA-256 hash. */
  subjectToken: string;
  /** Seconds until it expires ({@link SUBJECT_TOKEN_TTL_SECONDS}). */
  expiresIn: number;
}

/**
 * Impersonation subject tokens (Logto's `POST /api/subject-tokens`, spec logto.md §5.3): a back end
 * holding a Management API token asks for a short-lived, single-use token for a user, and a client
 * allowed to use token exchange swaps it at `/oidc/token` for an access token acting as that user.
 */
export class SubjectTokenService {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  /**
   * Creates a subject token for a user on behalf of the calling application.
   * @param context optional JSON object kept with the token (why, ticket number…), at most 4096 bytes
   * @throws AppError `user.not_found`, `subject_token.invalid_context`
   */
  async issue(userId: string, creatorApplicationId: string, context: Record<string, unknown> = {}): Promise<IssuedSubjectToken> {
    if (!context || typeof context !== 'object' || Array.isArray(context)) throw new AppError('subject_token.invalid_context');
    if (Buffer.byteLength(JSON.stringify(context), 'utf8') > SUBJECT_TOKEN_CONTEXT_MAX_BYTES) throw new AppError('subject_token.invalid_context');
    if (!(await this.store.users.findById(userId))) throw new AppError('user.not_found');
    const now = this.clock.now();
    const subjectToken = newSecret(SUBJECT_TOKEN_PREFIX, SUBJECT_TOKEN_BYTES);
    const record: SubjectTokenRecord = {
      id: newId(now),
      userId,
      tokenHash: sha256Hex(subjectToken),
      context,
      creatorApplicationId,
      createdAt: now,
      expiresAt: now + SUBJECT_TOKEN_TTL_SECONDS * 1000,
      consumedAt: null,
    };
    try {
      await this.store.subjectTokens.insert(record);
    } catch (error) {
      // The user was deleted in between (foreign key).
      if (!(await this.store.users.findById(userId))) throw new AppError('user.not_found');
      throw error;
    }
    return { subjectToken, expiresIn: SUBJECT_TOKEN_TTL_SECONDS };
  }

  /** Deletes a user's unused subject tokens (when every session of the user ends). @returns how many */
  revokeForUser(userId: string): Promise<number> {
    return this.store.subjectTokens.deleteUnconsumedByUser(userId);
  }

  /** Deletes expired subject tokens. @returns how many */
  purgeExpired(): Promise<number> {
    return this.store.subjectTokens.deleteExpired(this.clock.now());
  }
}

/** Why an exchange was refused (recorded in the audit log as the outcome). */
export type ExchangeRefusal = 'not_found' | 'expired' | 'consumed' | 'user_unavailable';

/** Thrown by {@link TokenExchangeService.exchange} when the subject token cannot be exchanged (OAuth `invalid_grant`). */
export class ExchangeRefused extends Error {
  constructor(
    readonly reason: ExchangeRefusal,
    message: string,
  ) {
    super(message);
    this.name = 'ExchangeRefused';
  }
}

/** Who an accepted exchange acts for, handed to the token issuer. */
export interface ExchangeSubject {
  user: UserRecord;
  kind: ExchangeTokenKind;
  /** Id of the subject token or personal access token (never its value). */
  tokenId: string;
  /** The issued token must not outlive this (ms): a personal access token's expiry; null = no limit. */
  notAfter: number | null;
}

/** What the token issuer reports back for the audit log. */
export interface IssuedExchange {
  /** Resource indicator of the issued token; null for an opaque (userinfo) token. */
  resource: string | null;
  scope: string;
}

const REFUSALS: Record<ExchangeRefusal, string> = {
  not_found: 'subject token not found',
  expired: 'subject token is expired',
  consumed: 'subject token is already consumed',
  user_unavailable: 'the user of the subject token is suspended or deleted',
};

/**
 * The rules of RFC 8693 token exchange with Tessera's two subject-token kinds (spec logto.md §5.3–5.4):
 * an impersonation subject token must exist, be unexpired and unused, and is consumed atomically (of
 * concurrent exchanges exactly one succeeds); a personal access token must exist and be unexpired, and
 * may be used any number of times. The user must exist and not be suspended. Every attempt, granted or
 * refused, is written to the audit log (application, user, time, token kind and id — never a value).
 * The OIDC side (`oidc/token-exchange.ts`) checks the client, scope and resource first, so a malformed
 * request never uses up a subject token.
 */
export class TokenExchangeService {
  constructor(
    private readonly store: Store,
    private readonly personalAccessTokens: PersonalAccessTokenService,
    private readonly clock: Clock,
  ) {}

  /**
   * Checks (and for impersonation, consumes) the presented subject token, then calls `issue` to mint the
   * access token, and records the attempt.
   * @param request the calling application, the kind of subject token and its value
   * @param issue mints the token for the subject; its result is returned as is
   * @throws ExchangeRefused when the token is unknown, expired, already used, or its user is suspended or gone
   */
  async exchange<T extends IssuedExchange>(
    request: { applicationId: string; kind: ExchangeTokenKind; value: string },
    issue: (subject: ExchangeSubject) => Promise<T>,
  ): Promise<T> {
    const audit = (outcome: string, userId: string | null, tokenId: string | null, issued?: IssuedExchange) =>
      this.store.tokenExchangeAudit.insert({
        id: newId(this.clock.now()),
        at: this.clock.now(),
        applicationId: request.applicationId,
        userId,
        tokenKind: request.kind,
        tokenId,
        outcome,
        resource: issued?.resource ?? null,
        scope: issued?.scope ?? null,
      });
    const refuse = async (reason: ExchangeRefusal, userId: string | null, tokenId: string | null): Promise<never> => {
      await audit(reason, userId, tokenId);
      throw new ExchangeRefused(reason, REFUSALS[reason]);
    };

    const subject =
      request.kind === 'impersonation' ? await this.claimSubjectToken(request.value, refuse) : await this.checkPersonalAccessToken(request.value, refuse);
    let issued: T;
    try {
      issued = await issue(subject);
    } catch (error) {
      await audit('error', subject.user.id, subject.tokenId);
      throw error;
    }
    await audit('granted', subject.user.id, subject.tokenId, issued);
    return issued;
  }

  /** The newest `limit` (default 100) exchange attempts about a user, newest first. */
  auditForUser(userId: string, limit = 100): Promise<TokenExchangeAuditRecord[]> {
    return this.store.tokenExchangeAudit.listByUser(userId, limit);
  }

  private async claimSubjectToken(
    value: string,
    refuse: (reason: ExchangeRefusal, userId: string | null, tokenId: string | null) => Promise<never>,
  ): Promise<ExchangeSubject> {
    const token = value.startsWith(SUBJECT_TOKEN_PREFIX) ? await this.store.subjectTokens.findByHash(sha256Hex(value)) : undefined;
    if (!token) return refuse('not_found', null, null);
    if (token.consumedAt !== null) return refuse('consumed', token.userId, token.id);
    const now = this.clock.now();
    if (token.expiresAt <= now) return refuse('expired', token.userId, token.id);
    const user = await this.usableUser(token.userId);
    if (!user) return refuse('user_unavailable', token.userId, token.id);
    // One conditional UPDATE decides between concurrent exchanges of the same token.
    if (!(await this.store.subjectTokens.consume(token.id, now))) {
      const again = await this.store.subjectTokens.findByHash(token.tokenHash);
      return refuse(again && again.consumedAt === null ? 'expired' : 'consumed', token.userId, token.id);
    }
    return { user, kind: 'impersonation', tokenId: token.id, notAfter: null };
  }

  private async checkPersonalAccessToken(
    value: string,
    refuse: (reason: ExchangeRefusal, userId: string | null, tokenId: string | null) => Promise<never>,
  ): Promise<ExchangeSubject> {
    const found = await this.personalAccessTokens.resolve(value);
    if (found.status === 'not_found') return refuse('not_found', null, null);
    if (found.status === 'expired') return refuse('expired', found.token.userId, found.token.id);
    const user = await this.usableUser(found.token.userId);
    if (!user) return refuse('user_unavailable', found.token.userId, found.token.id);
    return { user, kind: 'personal_access_token', tokenId: found.token.id, notAfter: found.token.expiresAt };
  }

  private async usableUser(userId: string): Promise<UserRecord | undefined> {
    const user = await this.store.users.findById(userId);
    return user && !user.isSuspended ? user : undefined;
  }
}
