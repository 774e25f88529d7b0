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
    return new Limiter(limiter);
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

  /** Forgets `key`'s count. */
  async reset(key: string): Promise<void> {
    await this.inner.delete(key);
  }
}
