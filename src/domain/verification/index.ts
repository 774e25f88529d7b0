import { createHmac, randomInt } from 'node:crypto';
import type { Config } from '../../config/index.js';
import { AppError, isAppError } from '../../errors/index.js';
import type { Store, VerificationPurpose, VerificationRecord, VerificationType } from '../../storage/store.js';
import type { Clock } from '../../util/clock.js';
import { constantTimeEqual, newSecret, sha256Hex } from '../../util/crypto.js';
import type { Limiter } from '../../util/rate-limit.js';
import { normalizeEmail, normalizePhone } from '../users/identifiers.js';

/** Where a one-time code goes. */
export type CodeChannel = 'email' | 'phone';

/** Languages the message templates exist in. */
export type MessageLocale = 'en' | 'zh-CN';

/** Purposes a code can be sent for (the message template follows the purpose). */
export type CodePurpose = Exclude<VerificationPurpose, 'Identity'>;

/** A code message handed to a connector (structurally the connectors' `CodeMessage`). */
export interface OutgoingCode {
  /** Email address as the user wrote it, or E.164 phone. */
  to: string;
  purpose: CodePurpose;
  /** The 6-digit code (only ever passed to the connector, never stored or logged). */
  code: string;
  locale: MessageLocale;
  expiresInMinutes: number;
  /** VerifyEmail only: the one-click link. */
  link?: string;
}

/** Sends code messages; implemented over the email and SMS connectors in app.ts. */
export interface CodeDelivery {
  /** @throws AppError `connector.delivery_failed` */
  send(channel: CodeChannel, message: OutgoingCode): Promise<void>;
}

/** The rate limiters of code sending (rate-limiter-flexible, shared by nodes through the database). */
export interface CodeLimiters {
  /** 1 point per `codes.resendIntervalSeconds` per purpose + identifier. */
  resend: Limiter;
  /** `codes.perIdentifierPerHour` per identifier. */
  perIdentifier: Limiter;
  /** `codes.perIpPerHour` per client IP. */
  perIp: Limiter;
}

/** Input of {@link VerificationService.sendCode}. */
export interface SendCodeInput {
  channel: CodeChannel;
  /** Raw email or phone; normalised here. */
  identifier: string;
  purpose: CodePurpose;
  locale: MessageLocale;
  ip?: string | null;
  /** The user the code is for, when known (VerifyEmail, BindNewIdentifier). */
  userId?: string | null;
  /** Builds the VerifyEmail link from a fresh link token; when given, the record also accepts that token. */
  linkFor?: (token: string) => string;
  /**
   * How the code reaches its holder (issue 15, no enumeration by timing):
   * - `wait` (default): the answer comes after delivery; a failed delivery deletes the record and throws
   *   `connector.delivery_failed` (502);
   * - `background`: the answer comes once the record is stored, delivery runs after it (a failure deletes
   *   the record, releases the resend throttle and is reported to the service's `onDeliveryError`), so the
   *   answer takes as long whether a message goes out or not;
   * - `none`: the record is stored and nothing is delivered — the stand-in for an account that does not
   *   exist, taking the same path (throttles, insert, replacement) as a real send.
   */
  delivery?: 'wait' | 'background' | 'none';
}

/** Input of {@link VerificationService.verifyCode}. */
export interface CheckCodeInput {
  channel: CodeChannel;
  identifier: string;
  purpose: CodePurpose;
  code: string;
  /**
   * The record to check, as its holder knows it (the `vrf_…` handle the API returned); without it (and
   * without `recordId`), the newest live record of the identifier and purpose.
   */
  verificationId?: string;
  /** The record to check by its stored key (internal callers that found the record themselves). */
  recordId?: string;
}

/** A code record just sent, with the handle its holder uses to name it (never stored). */
export type SentCode = VerificationRecord & { handle: string };

/**
 * The stored key of a verification record: SHA-256 of the `vrf_…` handle given to its holder (issue 15:
 * a record is a 10-minute identity proof, so, like session tokens, only a hash is stored — a leaked row
 * names no usable handle).
 */
export function verificationKey(handle: string): string {
  return sha256Hex(handle);
}

/** A verification record in API shape: what callers see after requesting a code. */
export interface IssuedVerification {
  verificationId: string;
  /** ms since the epoch. */
  expiresAt: number;
}

/** The 6-digit code's keyed hash; the record id salts it so equal codes never share a hash. */
function codeHash(recordId: string, code: string): string {
  return createHmac('sha256', recordId).update(code).digest('hex');
}

/** A 6-digit code from the CSPRNG (≈ 20 bits: NIST 800-63B-4 §3.1.3.2, ASVS 6.5.3). */
export function newCode(): string {
  return randomInt(0, 1_000_000).toString().padStart(6, '0');
}

/**
 * Verification records (issue 3 §3): one concept for every surface. A record proves "this caller
 * showed X" — a password, or a code sent to an email or phone — for one purpose, for
 * `codes.ttlSeconds` (10 min). Codes are 6 digits from the CSPRNG, stored only as a keyed hash, die
 * after `codes.maxAttempts` wrong guesses, and are single use: consuming is one conditional UPDATE,
 * so of concurrent uses exactly one succeeds. A new code for an identifier and purpose replaces the
 * older ones. Sending is throttled per identifier+purpose (`verification.resend_too_soon`), per
 * identifier per hour and per client IP per hour (`request.rate_limited`).
 */
export class VerificationService {
  constructor(
    private readonly store: Store,
    private readonly delivery: CodeDelivery,
    private readonly limiters: CodeLimiters,
    private readonly config: Config,
    private readonly clock: Clock,
    /** Where failures of background deliveries go (the app's logger); the answer was already sent. */
    private readonly onDeliveryError: (error: unknown, message: string) => void = () => {},
  ) {}

  /** The canonical identifier a record stores: lower-cased email, or E.164 phone. */
  canonical(channel: CodeChannel, raw: string): { display: string; key: string } {
    if (channel === 'email') {
      const display = normalizeEmail(raw);
      return { display, key: display.toLowerCase() };
    }
    const phone = normalizePhone(raw, this.config.defaultPhoneRegion);
    return { display: phone, key: phone };
  }

  /**
   * Creates a code record and delivers the code. When delivery fails the record is deleted (no code
   * is left usable) and the resend throttle is released.
   * @returns the record (its id is the `verificationId` callers pass back)
   * @throws AppError `user.invalid_email|phone`, `request.rate_limited` (429, per IP or per identifier
   *   per hour), `verification.resend_too_soon` (429 + Retry-After), `connector.delivery_failed` (502)
   */
  async sendCode(input: SendCodeInput): Promise<SentCode> {
    const { display, key } = this.canonical(input.channel, input.identifier);
    const throttleKey = `${input.purpose}:${input.channel}:${key}`;
    await this.limiters.perIp.consume(input.ip ?? 'unknown');
    try {
      await this.limiters.resend.consume(throttleKey);
    } catch (error) {
      if (isAppError(error, 'request.rate_limited')) {
        throw new AppError('verification.resend_too_soon', { retryAfterSeconds: error.retryAfterSeconds });
      }
      throw error;
    }
    await this.limiters.perIdentifier.consume(`${input.channel}:${key}`);

    const { handle, base } = this.newRecord(input.ip);
    const { id } = base;
    const code = newCode();
    const linkToken = input.linkFor ? newSecret('', 32) : undefined;
    const record: VerificationRecord = {
      ...base,
      type: input.channel === 'email' ? 'email_code' : 'phone_code',
      purpose: input.purpose,
      identifierType: input.channel,
      identifier: key,
      userId: input.userId ?? null,
      codeHash: codeHash(id, code),
      linkHash: linkToken ? sha256Hex(linkToken) : null,
      verifiedAt: null,
    };
    await this.store.verifications.insert(record);
    const deliver = async () => {
      try {
        await this.delivery.send(input.channel, {
          to: display,
          purpose: input.purpose,
          code,
          locale: input.locale,
          expiresInMinutes: Math.round(this.config.codes.ttlSeconds / 60),
          ...(linkToken && input.linkFor ? { link: input.linkFor(linkToken) } : {}),
        });
      } catch (error) {
        await this.store.verifications.delete(id);
        await this.limiters.resend.reset(throttleKey);
        throw isAppError(error) ? error : new AppError('connector.delivery_failed', { cause: error });
      }
    };
    const mode = input.delivery ?? 'wait';
    if (mode === 'wait') await deliver();
    await this.store.verifications.deleteUnconsumedFor(input.channel, key, input.purpose, id);
    if (mode === 'background') {
      // Started on a later turn of the event loop, after the answer is written: even the synchronous start
      // of a delivery (rendering the message, opening the connection) must not lengthen the answer, or its
      // time would tell an existing account (which gets a message) from an unknown one (which does not).
      setImmediate(() => {
        deliver().catch((error: unknown) => this.onDeliveryError(error, `${input.channel} code not delivered (background)`));
      });
    }
    return { ...record, handle };
  }

  /**
   * Checks a code against its record, counting the attempt first (one statement), and marks the
   * record verified. The record is not consumed: call {@link consume} when the action it allows succeeds.
   * @throws AppError `verification.not_found` (no live record for this identifier and purpose, or the
   *   id names another identifier's record), `verification.code_expired`, `verification.already_used`,
   *   `verification.too_many_attempts`, `verification.code_mismatch` (data.remainingAttempts)
   */
  async verifyCode(input: CheckCodeInput): Promise<VerificationRecord> {
    let key: string;
    try {
      key = this.canonical(input.channel, input.identifier).key;
    } catch {
      throw new AppError('verification.not_found');
    }
    const now = this.clock.now();
    const record = input.recordId
      ? await this.store.verifications.findById(input.recordId)
      : input.verificationId
        ? await this.store.verifications.findById(verificationKey(input.verificationId))
        : await this.store.verifications.findLatestLive(input.channel, key, input.purpose, now);
    const type: VerificationType = input.channel === 'email' ? 'email_code' : 'phone_code';
    if (!record || record.type !== type || record.identifier !== key || record.purpose !== input.purpose || !record.codeHash) {
      throw new AppError('verification.not_found');
    }
    if (record.consumedAt !== null) throw new AppError('verification.already_used');
    if (record.expiresAt <= now) throw new AppError('verification.code_expired');
    const max = this.config.codes.maxAttempts;
    const counted = await this.store.verifications.countAttempt(record.id, max);
    if (!counted) {
      const latest = await this.store.verifications.findById(record.id);
      throw new AppError(latest?.consumedAt ? 'verification.already_used' : 'verification.too_many_attempts');
    }
    if (!/^\d{6}$/.test(input.code) || !constantTimeEqual(codeHash(record.id, input.code), record.codeHash)) {
      const remainingAttempts = max - counted.attempts;
      throw remainingAttempts > 0
        ? new AppError('verification.code_mismatch', { data: { remainingAttempts } })
        : new AppError('verification.too_many_attempts');
    }
    await this.store.verifications.markVerified(record.id, now);
    return { ...counted, verifiedAt: now };
  }

  /**
   * Finds the live code record of `purpose` on `channel` whose code is `code`, without counting an
   * attempt or marking anything: for clients that send a code without its identifier (LeanCloud's
   * verifyMobilePhone and resetPasswordBySmsCode). Callers must rate-limit it per IP and then check the
   * code normally with {@link verifyCode} (passing the returned record's id and identifier). At most the
   * 1000 newest live records are searched.
   * @throws AppError `verification.code_mismatch` when no live record has this code
   */
  async findLiveByCode(channel: CodeChannel, purpose: CodePurpose, code: string): Promise<VerificationRecord> {
    if (!/^\d{6}$/.test(code)) throw new AppError('verification.code_mismatch');
    const type: VerificationType = channel === 'email' ? 'email_code' : 'phone_code';
    const live = await this.store.verifications.listLive(type, purpose, this.clock.now(), 1000);
    let found: VerificationRecord | undefined;
    for (const record of live) {
      // Check every record (no early exit), so timing does not depend on where the match is.
      if (record.codeHash && record.identifier && constantTimeEqual(codeHash(record.id, code), record.codeHash)) found ??= record;
    }
    if (!found) throw new AppError('verification.code_mismatch');
    return found;
  }

  /**
   * Of `purposes`, the one whose newest live code record for this identifier is the most recent, or
   * undefined when none has a live record (a client that accepts codes sent for several purposes checks
   * the code against that one).
   */
  async latestLivePurpose(channel: CodeChannel, identifier: string, purposes: readonly CodePurpose[]): Promise<CodePurpose | undefined> {
    let key: string;
    try {
      key = this.canonical(channel, identifier).key;
    } catch {
      return undefined;
    }
    let best: { purpose: CodePurpose; at: number } | undefined;
    for (const purpose of purposes) {
      const record = await this.store.verifications.findLatestLive(channel, key, purpose, this.clock.now());
      if (record && (!best || record.createdAt > best.at)) best = { purpose, at: record.createdAt };
    }
    return best?.purpose;
  }

  /**
   * Uses a record once. Of concurrent calls exactly one succeeds.
   * @throws AppError `verification.already_used`
   */
  async consume(recordId: string): Promise<void> {
    if (!(await this.store.verifications.consume(recordId, this.clock.now()))) throw new AppError('verification.already_used');
  }

  /**
   * Verifies and consumes a code in one step (sign-in by code).
   * @throws the errors of {@link verifyCode} and {@link consume}
   */
  async useCode(input: CheckCodeInput): Promise<VerificationRecord> {
    const record = await this.verifyCode(input);
    await this.consume(record.id);
    return record;
  }

  /**
   * Resolves and consumes the token of a VerifyEmail link.
   * @throws AppError `verification.not_found` (unknown token or another purpose),
   *   `verification.code_expired`, `verification.already_used`
   */
  async useLink(token: string): Promise<VerificationRecord> {
    const record = token ? await this.store.verifications.findByLinkHash(sha256Hex(token)) : undefined;
    if (!record || record.purpose !== 'VerifyEmail') throw new AppError('verification.not_found');
    if (record.consumedAt !== null) throw new AppError('verification.already_used');
    if (record.expiresAt <= this.clock.now()) throw new AppError('verification.code_expired');
    await this.store.verifications.markVerified(record.id, this.clock.now());
    await this.consume(record.id);
    return record;
  }

  /**
   * Records an identity proof that the caller has already checked (e.g. the user's password), verified
   * at once, for `purpose`, valid `codes.ttlSeconds`.
   */
  async recordProof(input: { type: VerificationType; purpose: VerificationPurpose; userId: string; ip?: string | null }): Promise<IssuedVerification> {
    const { handle, base } = this.newRecord(input.ip);
    const record: VerificationRecord = {
      ...base,
      type: input.type,
      purpose: input.purpose,
      identifierType: null,
      identifier: null,
      userId: input.userId,
      codeHash: null,
      linkHash: null,
      verifiedAt: base.createdAt,
    };
    await this.store.verifications.insert(record);
    return { verificationId: handle, expiresAt: record.expiresAt };
  }

  /**
   * A new record's handle (`vrf_…`, 128 random bits, given to its holder) and the fields every record
   * starts with: its stored key (SHA-256 of the handle), no attempts, not consumed, created now and
   * valid `codes.ttlSeconds`.
   */
  private newRecord(ip: string | null | undefined) {
    const now = this.clock.now();
    const handle = newSecret('vrf_', 16);
    const base = {
      id: verificationKey(handle),
      attempts: 0,
      ip: ip ?? null,
      createdAt: now,
      expiresAt: now + this.config.codes.ttlSeconds * 1000,
      consumedAt: null,
    };
    return { handle, base };
  }

  /** Deletes expired records. @returns how many. */
  purgeExpired(): Promise<number> {
    return this.store.verifications.deleteExpired(this.clock.now());
  }
}
