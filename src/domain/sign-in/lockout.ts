import type { Config } from '../../config/index.js';
import { AppError } from '../../errors/index.js';
import type { SignInGuardStore, Store, UserRecord } from '../../storage/store.js';
import type { Clock } from '../../util/clock.js';
import { sha256Hex } from '../../util/crypto.js';

/**
 * Per-identifier lockout (LeanCloud's rule, shared/specs/leancloud.md §4.4; NIST SP 800-63B-4 §3.2.2
 * rate limiting): at most `lockout.maxFailures` attempts that are not followed by a success within
 * `lockout.windowSeconds`; the attempt that reaches the limit locks the identifier for
 * `lockout.durationSeconds`. Attempts are reserved before the secret is checked ({@link reserve}), so the
 * limit holds for concurrent requests and across nodes sharing the database. One mechanism for every
 * secret a sign-in checks: passwords (every surface), sign-in codes, the Verification API's password
 * proof and the MFA step. Keys are SHA-256 hashes of `kind:identifier`, so
 * unknown identifiers lock exactly like known ones (no enumeration) and the table holds no identifiers.
 * Counters live in the database: they survive restarts and are shared by every node.
 */
export class SignInGuard {
  constructor(
    private readonly store: Store,
    private readonly config: Config['lockout'],
    private readonly clock: Clock,
    /**
     * The normal form an identifier of `kind` is counted under (so `A@x.io` and `a@x.io`, or two
     * spellings of one phone number, share a counter); may throw for text that does not parse, which is
     * then counted as typed (trimmed). The composition root passes `UserService.normalize`.
     */
    private readonly normalize: (kind: 'username' | 'email' | 'phone', raw: string) => string = (_kind, raw) => raw,
  ) {}

  /** The storage key an identifier as typed at sign-in is counted under (see the constructor's `normalize`). */
  identifierKey(kind: 'username' | 'email' | 'phone', raw: string): string {
    let canonical: string;
    try {
      canonical = this.normalize(kind, raw);
    } catch {
      canonical = raw.trim();
    }
    return this.key(kind, canonical);
  }

  /**
   * The keys of a user: one per identifier they have, as sign-in counts them (else one of their id), so
   * a password check through a session, or a reset, counts and clears the same counters as sign-in.
   */
  userKeys(user: Pick<UserRecord, 'id' | 'username' | 'primaryEmail' | 'primaryPhone'>): string[] {
    const keys: string[] = [];
    for (const [kind, value] of [['username', user.username], ['email', user.primaryEmail], ['phone', user.primaryPhone]] as const) {
      if (value) keys.push(this.identifierKey(kind, value));
    }
    return keys.length > 0 ? keys : [this.key('user', user.id)];
  }

  /** The storage key for an identifier (already normalised by the caller where possible). */
  key(kind: string, identifier: string): string {
    return sha256Hex(`${kind}:${identifier.toLowerCase()}`);
  }

  /**
   * Reserves one attempt on each of `keys` before the secret is checked (issue 15: checking the count
   * first and recording the failure after let every request of a concurrent burst through). Each key's
   * count is raised and read in one atomic statement ({@link SignInGuardStore.reserveAttempt}); the
   * attempt may go on only while every count stays within `lockout.maxFailures`. The reservation already
   * counts as a failure: a wrong secret needs nothing more, a right one calls {@link clear}.
   * With several keys (a user's identifiers), a refusal by one leaves the others counted.
   * @param keys storage keys from {@link key}
   * @throws AppError `auth.too_many_failures` (429, `retryAfterSeconds`: seconds until the lock ends)
   */
  async reserve(...keys: string[]): Promise<void> {
    const c = this.config;
    for (const key of keys) {
      const now = this.clock.now();
      const state = await this.store.signInGuards.reserveAttempt(key, now, c.windowSeconds * 1000, c.maxFailures, c.durationSeconds * 1000);
      if (state.failures > c.maxFailures) {
        throw new AppError('auth.too_many_failures', { retryAfterSeconds: Math.max(1, Math.ceil(((state.lockedUntil ?? now) - now) / 1000)) });
      }
    }
  }

  /** Forgets the failures (and any lock) of each of `keys`, after a right secret. */
  async clear(...keys: string[]): Promise<void> {
    for (const key of keys) await this.store.signInGuards.clear(key);
  }
}
