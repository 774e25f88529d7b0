import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../src/errors/index.js';
import { RateLimiters } from '../src/util/rate-limit.js';
import { forEachStorage, type OpenedStore } from './storage-targets.js';

// The rate limiters keep their counters in the application database (no Redis configured), shared by
// every node. On PostgreSQL they go through their own pool whose sessions commit asynchronously
// (database.ts `pgCounterPool`); the counts must still be shared and enforced.

forEachStorage((name, open) => {
  describe(`rate limiters in the database — ${name}`, () => {
    let opened: OpenedStore;
    let limiters: RateLimiters;
    beforeAll(async () => {
      opened = await open();
      limiters = new RateLimiters(opened.handle);
    });
    afterAll(async () => {
      await limiters.close();
      await opened.cleanup();
    });

    it('spends the budget, refuses past it with request.rate_limited and Retry-After seconds, and shares counts between limiters of one table', async () => {
      const spec = { name: 'conformance', points: 3, durationSeconds: 60 };
      const first = await limiters.create(spec);
      const second = await limiters.create(spec); // as another node would
      await first.consume('k');
      await second.consume('k');
      await first.consume('k');
      const refused = await second.consume('k').catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(AppError);
      expect((refused as AppError).code).toBe('request.rate_limited');
      const retry = (refused as AppError).retryAfterSeconds;
      expect(retry).toBeGreaterThanOrEqual(1);
      expect(retry).toBeLessThanOrEqual(60);
      await second.consume('other'); // another key has its own budget
      await first.reset('k');
      await first.consume('k');
    });

    it('PostgreSQL: counters commit asynchronously on their own pool, account data synchronously', async () => {
      const { pgPool, pgCounterPool } = opened.handle;
      if (opened.handle.dialect !== 'postgres') {
        expect(pgCounterPool).toBeUndefined();
        return;
      }
      const setting = async (pool: typeof pgPool) => (await pool!.query<{ synchronous_commit: string }>('show synchronous_commit')).rows[0]!.synchronous_commit;
      expect(await setting(pgCounterPool)).toBe('off');
      expect(await setting(pgPool)).toBe('on');
      // What the limiter pool committed is visible to the application's pool.
      const limiter = await limiters.create({ name: 'visible', points: 5, durationSeconds: 60 });
      await limiter.consume('seen', 2);
      const row = await pgPool!.query<{ points: number }>("select points from rl_visible where key = 'rl_visible:seen'");
      expect(Number(row.rows[0]?.points)).toBe(2);
    });
  });
});
