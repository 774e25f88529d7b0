import { createRequire } from 'node:module';
import type { Redis } from 'ioredis';
import {
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterPostgres,
  RateLimiterRedis,
  RateLimiterRes,
  RateLimiterSQLite,
} from 'rate-limiter-flexible';
import { AppError } from '../errors/index.js';
import type { DatabaseHandle } from '../storage/database.js';

/** One rate limit: `points` actions per `durationSeconds` per key. */
export interface LimitSpec {
  /** Distinguishes this limiter's keys and (for SQL stores) names its table. */
  name: string;
  points: number;
  durationSeconds: number;
}

/**
 * Builds rate limiters (rate-limiter-flexible) on the store that lets several nodes share counts:
 * Redis when `redisUrl` is set, else the application database (SQLite or PostgreSQL table
 * `rl_<name>`). Counters therefore survive restarts.
 */
export class RateLimiters {
  private redis?: Redis;

  constructor(
    private readonly handle: DatabaseHandle,
    redisUrl?: string,
  ) {
    // ioredis (CommonJS) is loaded only when Redis is configured.
    if (redisUrl) this.redis = new (createRequire(import.meta.url)('ioredis') as typeof import('ioredis')).Redis(redisUrl, { enableOfflineQueue: false, lazyConnect: false });
  }

  /** Creates (and, for SQL stores, prepares the table of) one limiter. */
  async create(spec: LimitSpec): Promise<Limiter> {
    return new Limiter(await this.store(spec));
  }

  /**
   * Creates a limiter of request rates whose points this node takes from the shared store `leaseSize` at
   * a time ({@link LeasedLimiter}): one store write per `leaseSize` requests instead of one per request.
   * For limits that protect capacity (the Management API's requests per client), not for security
   * budgets: lockouts and code guesses count every attempt in the store (`create`).
   */
  async createLeased(spec: LimitSpec, leaseSize: number): Promise<LeasedLimiter> {
    return new LeasedLimiter(await this.store(spec), leaseSize);
  }

  private async store(spec: LimitSpec): Promise<RateLimiterAbstract> {
    const base = { keyPrefix: `rl_${spec.name}`, points: spec.points, duration: spec.durationSeconds };
    let limiter: RateLimiterAbstract;
    if (this.redis) {
      limiter = new RateLimiterRedis({ ...base, storeClient: this.redis });
    } else if (this.handle.dialect === 'postgres') {
      limiter = await new Promise<RateLimiterAbstract>((resolve, reject) => {
        const l: RateLimiterAbstract = new RateLimiterPostgres(
          { ...base, storeClient: this.handle.pgCounterPool ?? this.handle.pgPool, tableName: `rl_${spec.name}` },
          (err?: Error) => (err ? reject(err) : resolve(l)),
        );
      });
    } else if (this.handle.sqlite) {
      limiter = await new Promise<RateLimiterAbstract>((resolve, reject) => {
        const l: RateLimiterAbstract = new RateLimiterSQLite(
          { ...base, storeClient: this.handle.sqlite, storeType: 'better-sqlite3', tableName: `rl_${spec.name}` },
          (err?: Error) => (err ? reject(err) : resolve(l)),
        );
      });
    } else {
      limiter = new RateLimiterMemory(base);
    }
    return limiter;
  }

  async close(): Promise<void> {
    this.redis?.disconnect();
  }

  /**
   * Whether the limits' store answers: Redis `PING` when `redisUrl` is set (undefined when it is not —
   * the limits then live in the application database, which readiness checks on its own).
   */
  async ping(): Promise<boolean | undefined> {
    if (!this.redis) return undefined;
    try {
      return (await this.redis.ping()) === 'PONG';
    } catch {
      return false;
    }
  }
}

/** A ready rate limiter. */
export class Limiter {
  constructor(private readonly inner: RateLimiterAbstract) {}

  /**
   * Spends `points` for `key`.
   * @throws AppError `request.rate_limited` (429) with `retryAfterSeconds` when the budget is used up
   */
  async consume(key: string, points = 1): Promise<void> {
    try {
      await this.inner.consume(key, points);
    } catch (error) {
      if (error instanceof RateLimiterRes) {
        throw new AppError('request.rate_limited', { retryAfterSeconds: Math.max(1, Math.ceil(error.msBeforeNext / 1000)) });
      }
      throw error;
    }
  }

  /**
   * Checks, without spending anything, that `key` still has budget (for limits that only failures
   * spend: check first, spend on failure).
   * @throws AppError `request.rate_limited` (429) with `retryAfterSeconds` when the budget is used up
   */
  async assertAvailable(key: string): Promise<void> {
    const res = await this.inner.get(key);
    if (res && res.consumedPoints >= this.inner.points) {
      throw new AppError('request.rate_limited', { retryAfterSeconds: Math.max(1, Math.ceil(res.msBeforeNext / 1000)) });
    }
  }

  /** The points the store counts for `key` in its current window (0 when none). */
  async spent(key: string): Promise<number> {
    return (await this.inner.get(key))?.consumedPoints ?? 0;
  }

  /** Forgets `key`'s count. */
  async reset(key: string): Promise<void> {
    await this.inner.delete(key);
  }
}

/** This node's share of one key's budget in the current window of the shared store. */
interface Lease {
  /** Points taken from the store and not yet spent here. */
  left: number;
  /** When the store's window ends (ms since the epoch, this node's clock): the lease ends with it. */
  until: number;
  /** The store's remaining points after this node's last reservation (a bound for the next one). */
  storeRemaining: number;
  /** The store refused: every request for the key is refused here until `until`. */
  refused: boolean;
}

/**
 * A rate limit whose points a node reserves from the shared store (rate-limiter-flexible, as
 * {@link Limiter}) in leases of up to `leaseSize`, and spends locally. A client that makes many requests
 * then costs the store one write per `leaseSize` requests instead of one per request. On PostgreSQL
 * that write is a round trip and an `INSERT … ON CONFLICT` on every Management API request.
 *
 * What a client may do, per window of the store:
 * - **Never more than `points` across all nodes.** Every request is covered by a point the store
 *   counted.
 * - **On one node, exactly `points`.** A lease is never larger than what the store said was left after
 *   this node's previous lease.
 * - **With N nodes, at least `points − N·(leaseSize − 1)`.** Points leased to a node that the client
 *   stops calling stay unspent until the window ends.
 *
 * Once the store refuses a lease, the node answers 429 for that key until the window ends, without asking
 * the store again. Leases live in memory: a restart forgets unspent points, which the store still counts.
 * Concurrent requests for a key share one reservation.
 */
export class LeasedLimiter {
  private readonly leases = new Map<string, Lease>();
  private readonly pending = new Map<string, Promise<void>>();

  /**
   * @param inner the shared store's limiter (its `points` per `duration` are the limit)
   * @param leaseSize the most points reserved at once (≥ 1; 1 makes every request a store write)
   * @param now the current time in milliseconds since the epoch
   */
  constructor(
    private readonly inner: RateLimiterAbstract,
    private readonly leaseSize: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!Number.isInteger(leaseSize) || leaseSize < 1) throw new RangeError('leaseSize must be a positive integer');
  }

  /**
   * Spends one point for `key`, from this node's lease or from a new one.
   * @throws AppError `request.rate_limited` (429) with `retryAfterSeconds` when the store refuses
   *   (the key spent its points in this window)
   */
  async consume(key: string): Promise<void> {
    for (;;) {
      const now = this.now();
      const lease = this.leases.get(key);
      if (lease && now < lease.until) {
        if (lease.refused) throw new AppError('request.rate_limited', { retryAfterSeconds: Math.max(1, Math.ceil((lease.until - now) / 1000)) });
        if (lease.left > 0) {
          lease.left -= 1;
          return;
        }
      }
      const inFlight = this.pending.get(key);
      if (inFlight) {
        await inFlight;
        continue;
      }
      const reservation = this.reserve(key, lease && now < lease.until ? lease : undefined, now);
      this.pending.set(key, reservation);
      try {
        await reservation;
      } finally {
        this.pending.delete(key);
      }
    }
  }

  /** Takes a lease from the store: `leaseSize` points, or what the store had left after our last lease. */
  private async reserve(key: string, current: Lease | undefined, now: number): Promise<void> {
    const size = Math.max(1, Math.min(this.leaseSize, this.inner.points, current ? current.storeRemaining : Infinity));
    if (this.leases.size >= 1000) for (const [k, l] of this.leases) if (l.until <= now) this.leases.delete(k);
    try {
      const res = await this.inner.consume(key, size);
      this.leases.set(key, { left: size, until: now + res.msBeforeNext, storeRemaining: res.remainingPoints, refused: false });
    } catch (error) {
      if (!(error instanceof RateLimiterRes)) throw error;
      this.leases.set(key, { left: 0, until: now + error.msBeforeNext, storeRemaining: 0, refused: true });
    }
  }
}
