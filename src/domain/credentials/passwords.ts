import { createRequire } from 'node:module';
import { type Algorithm, hash as argonHash, verify as argonVerify } from '@node-rs/argon2';
import { compare as bcryptCompare } from '@node-rs/bcrypt';
import type { ZxcvbnFactory } from '@zxcvbn-ts/core';
import type * as LanguageCommon from '@zxcvbn-ts/language-common';
import { createHash, randomBytes } from 'node:crypto';
import type { Config } from '../../config/index.js';
import { AppError, type ErrorDataMap } from '../../errors/index.js';
import { constantTimeEqual } from '../../util/crypto.js';
import pLimit, { type LimitFunction } from 'p-limit';

/**
 * argon2id parameters: OWASP Password Storage Cheat Sheet minimum (m = 19 456 KiB, t = 2, p = 1),
 * which is also the fastest compliant setting on our machines (shared/specs/security-and-performance.md §B).
 */
export const ARGON2ID = {
  // Algorithm.Argon2id (a const enum, which verbatimModuleSyntax cannot import by name)
  algorithm: 2 as Algorithm,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
} as const;

/** Result of verifying a password against a stored hash. */
export interface VerifyResult {
  ok: boolean;
  /** Set when the stored hash is legacy or weaker than {@link ARGON2ID}: store this instead. */
  upgradedHash?: string;
}

/**
 * Hashes and verifies passwords off the event loop (@node-rs/argon2 runs on the libuv thread pool),
 * never more than `password.hashConcurrency` at a time. Understands, for verification only:
 * argon2 PHC strings, bcrypt (`$2a$/$2b$/$2y$`, imported hashes) and LeanCloud's salted SHA-512×512
 * (`$lc-sha512$<salt>$<base64>`, see shared/specs/leancloud.md §2). Non-argon2id hashes are
 * upgraded on the next successful verification.
 */
export class PasswordHasher {
  /** At most `hashConcurrency` hashes at once, first come first served (p-limit). */
  private readonly gate: LimitFunction;
  private dummyHash: Promise<string>;
  private verified = 0;

  /** Hash or verify operations waiting for one of the `hashConcurrency` slots (a metric). */
  get queueDepth(): number {
    return this.gate.pendingCount;
  }

  /**
   * How many times {@link verify} has checked a password since start (dummy-hash checks of unknown users
   * included): what the lockout tests count (at most `lockout.maxFailures` per burst), and a metric.
   */
  get verifications(): number {
    return this.verified;
  }

  constructor(concurrency: number) {
    this.gate = pLimit(concurrency);
    // A real hash of a random secret: verifying an unknown user's password against it costs the
    // same work as a real verification (no timing oracle, ASVS 6.3.8).
    this.dummyHash = this.hash(randomBytes(16).toString('hex'));
  }

  /** argon2id PHC string of `password`. */
  hash(password: string): Promise<string> {
    return this.gate(() => argonHash(password, ARGON2ID));
  }

  /**
   * Verifies `password` against `stored`. A null `stored` (unknown user, or no password set) is
   * verified against a dummy hash and always fails, after the same work.
   */
  async verify(stored: string | null, password: string): Promise<VerifyResult> {
    this.verified++;
    if (!stored) {
      await this.gate(async () => argonVerify(await this.dummyHash, password)).catch(() => false);
      return { ok: false };
    }
    if (stored.startsWith('$argon2')) {
      const ok = await this.gate(() => argonVerify(stored, password)).catch(() => false);
      const current = stored.startsWith(`$argon2id$v=19$m=${ARGON2ID.memoryCost},t=${ARGON2ID.timeCost},p=${ARGON2ID.parallelism}$`);
      return ok && !current ? { ok, upgradedHash: await this.hash(password) } : { ok };
    }
    if (/^\$2[aby]\$/.test(stored)) {
      const ok = await this.gate(() => bcryptCompare(password, stored)).catch(() => false);
      return ok ? { ok, upgradedHash: await this.hash(password) } : { ok };
    }
    if (stored.startsWith('$lc-sha512$')) {
      const [, , salt, expected] = stored.split('$');
      const ok = expected !== undefined && constantTimeEqual(leancloudHash(salt ?? '', password), expected);
      return ok ? { ok, upgradedHash: await this.hash(password) } : { ok };
    }
    const plain = /^\$logto-(sha1|sha256|md5)\$([0-9a-f]+)$/.exec(stored);
    if (plain) {
      const ok = constantTimeEqual(createHash(plain[1]!).update(password, 'utf8').digest('hex'), plain[2]!);
      return ok ? { ok, upgradedHash: await this.hash(password) } : { ok };
    }
    if (stored.startsWith(LEGACY_PREFIX)) {
      const legacy = parseLegacyDigest(stored.slice(LEGACY_PREFIX.length));
      const ok = legacy !== undefined && constantTimeEqual(legacyDigest(legacy, password), legacy.expected);
      return ok ? { ok, upgradedHash: await this.hash(password) } : { ok };
    }
    return { ok: false };
  }
}

/** Logto's `passwordAlgorithm` values that Tessera imports (every one Logto has). */
export const IMPORTED_DIGEST_ALGORITHMS = ['Argon2i', 'Argon2id', 'Argon2d', 'Bcrypt', 'SHA1', 'SHA256', 'MD5', 'Legacy'] as const;

/** The stored form of a Logto `Legacy` digest: this prefix, then the digest's JSON as given. */
const LEGACY_PREFIX = '$logto-legacy$';
/** The hash functions a `Legacy` digest may name (node:crypto's; the SHA-2 and SHA-3 families, SHA-1, MD5). */
const LEGACY_HASHES: ReadonlySet<string> = new Set(['md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512', 'sha512-256', 'sha3-256', 'sha3-384', 'sha3-512']);

/** A parsed Logto `Legacy` digest: `[algorithm, args, expected]` (see {@link storedHashOfDigest}). */
interface LegacyDigest {
  algorithm: string;
  /** The hash input's parts; `@` stands for the password. */
  args: string[];
  /** Lower-case hex. */
  expected: string;
}

/** Reads a `Legacy` digest's JSON, or undefined when it is not one Tessera can check. */
function parseLegacyDigest(json: string): LegacyDigest | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed) || parsed.length !== 3) return undefined;
  const [algorithm, args, expected] = parsed as unknown[];
  if (typeof algorithm !== 'string' || !LEGACY_HASHES.has(algorithm.toLowerCase())) return undefined;
  if (!Array.isArray(args) || args.length === 0 || args.length > 16 || !args.every((a) => typeof a === 'string' && a.length <= 256) || !args.includes('@')) return undefined;
  if (typeof expected !== 'string' || !/^[0-9a-fA-F]{32,128}$/.test(expected)) return undefined;
  return { algorithm: algorithm.toLowerCase(), args: args as string[], expected: expected.toLowerCase() };
}

/** The hex digest a `Legacy` entry expects for `password`: the hash of its args joined, `@` replaced by the password. */
function legacyDigest(legacy: LegacyDigest, password: string): string {
  const hash = createHash(legacy.algorithm);
  for (const arg of legacy.args) hash.update(arg === '@' ? password : arg, 'utf8');
  return hash.digest('hex');
}

/** One of {@link IMPORTED_DIGEST_ALGORITHMS}. */
export type ImportedDigestAlgorithm = (typeof IMPORTED_DIGEST_ALGORITHMS)[number];

const PLAIN_DIGEST_HEX: Record<'SHA1' | 'SHA256' | 'MD5', number> = { SHA1: 40, SHA256: 64, MD5: 32 };

/**
 * The stored form of a password digest from another system (Logto's `passwordDigest` +
 * `passwordAlgorithm`, logto.md §4): argon2 PHC strings (`$argon2i$` / `$argon2id$` / `$argon2d$`) and
 * bcrypt (`$2a$`/`$2b$`/`$2y$`) are kept as they are; Logto's unsalted hex digests become
 * `$logto-sha1$<hex>`, `$logto-sha256$<hex>`, `$logto-md5$<hex>`; a `Legacy` digest — Logto's JSON
 * `["sha256", ["salt123", "@"], "<hex>"]`: a node:crypto hash of the arguments joined, `@` standing for
 * the password — becomes `$logto-legacy$<json>` (algorithms: MD5, SHA-1, SHA-2, SHA-3; at most 16
 * arguments). {@link PasswordHasher.verify} checks them all (node:crypto, @node-rs/argon2,
 * @node-rs/bcrypt) and replaces them by argon2id at the first successful sign-in.
 * @throws AppError `request.invalid` (`data.issues` at `body.passwordDigest`) when the digest is not of
 *   that algorithm's form
 */
export function storedHashOfDigest(algorithm: ImportedDigestAlgorithm, digest: string): string {
  const refuse = (message: string): never => {
    throw new AppError('request.invalid', { data: { issues: [{ path: 'body.passwordDigest', code: 'custom', message }] } });
  };
  const d = digest.trim();
  switch (algorithm) {
    case 'Argon2i':
    case 'Argon2id':
    case 'Argon2d': {
      const prefix = `$${algorithm.toLowerCase()}$`;
      if (!d.startsWith(prefix) || !/^\$argon2(?:i|d|id)\$v=\d+\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/.test(d)) {
        refuse(`An ${algorithm} digest is a PHC string starting with ${prefix}`);
      }
      return d;
    }
    case 'Bcrypt':
      if (!/^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/.test(d)) refuse('A Bcrypt digest is a $2a$/$2b$/$2y$ string of 60 characters');
      return d;
    case 'Legacy': {
      const legacy = parseLegacyDigest(d);
      if (!legacy) {
        refuse('A Legacy digest is JSON ["<md5|sha1|sha256|…>", ["<part>", "@", …], "<hex digest>"] with "@" for the password');
      }
      return `${LEGACY_PREFIX}${JSON.stringify([legacy!.algorithm, legacy!.args, legacy!.expected])}`;
    }
    default: {
      const hex = d.toLowerCase();
      if (!new RegExp(`^[0-9a-f]{${PLAIN_DIGEST_HEX[algorithm]}}$`).test(hex)) refuse(`A ${algorithm} digest is ${PLAIN_DIGEST_HEX[algorithm]} hexadecimal characters`);
      return `$logto-${algorithm.toLowerCase()}$${hex}`;
    }
  }
}

/**
 * LeanCloud's stored password hash: `hv = SHA512(salt + password)`, then 512 rounds of
 * `hv = SHA512(hv)`, base64 (shared/specs/leancloud.md §2, test vector there).
 */
export function leancloudHash(salt: string, password: string): string {
  let hv = createHash('sha512').update(salt + password, 'utf8').digest();
  for (let i = 0; i < 512; i++) hv = createHash('sha512').update(hv).digest();
  return hv.toString('base64');
}

/**
 * One reason a password was rejected. `code` is stable; `interpolation` carries limits. Defined once, as
 * the `data` of `password.rejected` in the error table (src/errors/codes.ts, `ErrorDataMap`).
 */
export type PasswordIssue = ErrorDataMap['password.rejected']['issues'][number];

/** What {@link PasswordPolicy.strength} reports (Authing's checkPasswordStrength shape, extended). */
export interface PasswordStrength {
  valid: boolean;
  /** zxcvbn score 0 (weakest) – 4. */
  score: number;
  /** Authing security level of the password: 1 low, 2 medium, 3 high. */
  level: 1 | 2 | 3;
  message: string;
  issues: PasswordIssue[];
}

/** Counts Unicode code points, as NIST 800-63B-4 §3.1.1.2 asks. */
const codePoints = (s: string): number => [...s].length;

/**
 * The password policy (NIST SP 800-63B-4 §3.1.1.2 defaults): length in code points between
 * `minLength` and `maxLength`, no common passwords (zxcvbn-ts common dictionary, ~49 k entries), nothing
 * containing the username or email local part, and optionally Authing's character levels.
 */
export class PasswordPolicy {
  #common?: Set<string>;
  #zxcvbn?: ZxcvbnFactory;

  constructor(private readonly config: Config['password']) {}

  /**
   * zxcvbn-ts's common dictionaries, decompressed when first needed (about 50 ms and several MiB that a
   * server which never checks a password need not spend at start-up; issue 22). CommonJS-loadable, so
   * required synchronously.
   */
  private static languageCommon(): typeof LanguageCommon {
    return createRequire(import.meta.url)('@zxcvbn-ts/language-common') as typeof LanguageCommon;
  }

  /** The common-password list (lower case), built at the first {@link check}. */
  private get common(): Set<string> {
    if (!this.#common) {
      const dict = PasswordPolicy.languageCommon().dictionary as Record<string, string[]>;
      this.#common = new Set((dict['passwords-common'] ?? []).map((p) => p.toLowerCase()));
    }
    return this.#common;
  }

  /**
   * The zxcvbn estimator, built at the first {@link strength} call: ranking its dictionaries takes about
   * 100 ms and several MiB, which only the strength endpoints need (issue 22: start-up and idle memory).
   * @zxcvbn-ts/core is CommonJS-loadable, so it is required synchronously then.
   */
  private get zxcvbn(): ZxcvbnFactory {
    if (!this.#zxcvbn) {
      const { ZxcvbnFactory: Factory } = createRequire(import.meta.url)('@zxcvbn-ts/core') as typeof import('@zxcvbn-ts/core');
      const common = PasswordPolicy.languageCommon();
      this.#zxcvbn = new Factory({ dictionary: { ...common.dictionary }, graphs: common.adjacencyGraphs });
    }
    return this.#zxcvbn;
  }

  /** Every issue of `password` for a user with the given identifiers (empty array = acceptable). */
  check(password: string, userInfo: { username?: string | null; email?: string | null } = {}): PasswordIssue[] {
    const issues: PasswordIssue[] = [];
    const length = codePoints(password);
    if (length < this.config.minLength)
      issues.push({ code: 'password_rejected.too_short', interpolation: { min: this.config.minLength } });
    if (length > this.config.maxLength)
      issues.push({ code: 'password_rejected.too_long', interpolation: { max: this.config.maxLength } });
    if (this.config.rejectCommon && this.common.has(password.toLowerCase()))
      issues.push({ code: 'password_rejected.common' });
    if (this.config.rejectUserInfo) {
      const lower = password.toLowerCase();
      const parts = [userInfo.username, userInfo.email?.split('@')[0]]
        .filter((p): p is string => typeof p === 'string' && p.length >= 3)
        .map((p) => p.toLowerCase());
      if (parts.some((p) => lower.includes(p))) issues.push({ code: 'password_rejected.user_info' });
    }
    const level = this.config.characterLevel;
    if (level > 0 && !meetsCharacterLevel(password, level))
      issues.push({ code: 'password_rejected.character_types', interpolation: { level } });
    return issues;
  }

  /**
   * Throws unless `password` is acceptable.
   * @throws AppError `password.rejected` with `data: { issues: PasswordIssue[] }`
   */
  assert(password: string, userInfo: { username?: string | null; email?: string | null } = {}): void {
    const issues = this.check(password, userInfo);
    if (issues.length > 0) throw new AppError('password.rejected', { data: { issues } });
  }

  /**
   * Throws unless `password` is within the length bounds (the only rule applied to passwords an
   * administrator sets or imports).
   * @throws AppError `password.rejected` with `data: { issues }`
   */
  assertLength(password: string): void {
    const issues = this.check(password).filter((i) => i.code === 'password_rejected.too_short' || i.code === 'password_rejected.too_long');
    if (issues.length > 0) throw new AppError('password.rejected', { data: { issues } });
  }

  /** Policy verdict plus a zxcvbn strength estimate of `password` (only the first 256 code points are scored). */
  strength(password: string, userInfo: { username?: string | null; email?: string | null } = {}): PasswordStrength {
    const issues = this.check(password, userInfo);
    const scored = [...password].slice(0, 256).join('');
    const result = this.zxcvbn.check(scored, [userInfo.username, userInfo.email].filter((v): v is string => !!v));
    const score = issues.length > 0 ? Math.min(result.score, 1) : result.score;
    const level: 1 | 2 | 3 = score <= 1 ? 1 : score <= 2 ? 2 : 3;
    const message =
      issues.length > 0
        ? `Password rejected: ${issues.map((i) => i.code.replace('password_rejected.', '')).join(', ')}.`
        : (result.feedback.warning ?? (score >= 3 ? 'Strong password.' : 'Password accepted; a longer one would be stronger.'));
    return { valid: issues.length === 0, score, level, message: message || 'Password accepted.', issues };
  }
}

/**
 * Authing's password security level (authing-js-sdk `computedPasswordSecurityLevel`, spec authing.md §8),
 * the level `getSecurityLevel` reports: 3 (HIGH) when ≥ 12 characters with a lower-case letter, an
 * upper-case letter and a digit; else 2 (MIDDLE) when ≥ 8 characters with a letter and a digit; else 1
 * (LOW). Microseconds of CPU, unlike a zxcvbn estimate (tens of milliseconds for long passwords), so it
 * can run on every password sign-in. The SDK's local function applies the same rule.
 */
export function authingPasswordLevel(password: string): 1 | 2 | 3 {
  if (/^(?=.*[a-z])(?=.*[A-Z])(?=.*\d)[^]{12,}$/.test(password)) return 3;
  if (/^(?=.*[a-zA-Z])(?=.*\d)[^]{8,}$/.test(password)) return 2;
  return 1;
}

/** Authing's password levels: 1 ≥ 6 chars; 2 ≥ 6 with two classes; 3 ≥ 6 with letters, digits and symbols. */
export function meetsCharacterLevel(password: string, level: number): boolean {
  if (level <= 0) return true;
  if (codePoints(password) < 6) return false;
  const classes = [/\p{L}/u, /\p{Nd}/u, /[^\p{L}\p{Nd}]/u].filter((re) => re.test(password)).length;
  if (level === 1) return true;
  if (level === 2) return classes >= 2;
  return classes >= 3;
}
