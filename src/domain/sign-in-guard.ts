import type { Config } from '../config/index.js';
import { AppError } from '../errors/index.js';
import type { Store } from '../storage/store.js';
import type { Clock } from '../util/clock.js';
import { sha256Hex } from '../util/crypto.js';

/**
 * Per-identifier lockout (LeanCloud's rule, shared/specs/leancloud.md §4.4): after
 * `lockout.maxFailures` failed sign-ins within `lockout.windowSeconds`, the identifier is locked for
 * `lockout.durationSeconds` from the last failure. Keys are SHA-256 hashes of `kind:identifier`, so
 * unknown identifiers lock exactly like known ones (no enumeration) and the table holds no identifiers.
 * Counters live in the database: they survive restarts and are shared by every node.
 */
export class SignInGuard {
  constructor(
    private readonly store: Store,
    private readonly config: Config['lockout'],
    private readonly clock: Clock,
  ) {}

  /** The storage key for an identifier (already normalised by the caller where possible). */
  key(kind: string, identifier: string): string {
    return sha256Hex(`${kind}:${identifier.toLowerCase()}`);
  }

  /**
   * @returns whether `key` has failures on record (so a success needs to {@link clear} them)
   * @throws AppError `auth.too_many_failures` (with Retry-After seconds) while `key` is locked
   */
  async assertNotLocked(key: string): Promise<boolean> {
    const state = await this.store.signInGuards.get(key);
    const now = this.clock.now();
    if (state?.lockedUntil && state.lockedUntil > now) {
      throw new AppError('auth.too_many_failures', { retryAfterSeconds: Math.ceil((state.lockedUntil - now) / 1000) });
    }
    return state !== undefined;
  }

  /** Counts one failure. @returns true when this failure locked the key. */
  async recordFailure(key: string): Promise<boolean> {
    const c = this.config;
    const state = await this.store.signInGuards.recordFailure(
      key,
      this.clock.now(),
      c.windowSeconds * 1000,
      c.maxFailures,
      c.durationSeconds * 1000,
    );
    return state.lockedUntil !== null && state.failures >= c.maxFailures;
  }

  /** Forgets the failures of `key` (after a successful sign-in). */
  clear(key: string): Promise<void> {
    return this.store.signInGuards.clear(key);
  }
}
