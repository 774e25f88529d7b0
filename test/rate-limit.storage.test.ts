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

    it('leased (Management API): one node gets exactly its points, in a store write per lease; then 429 without asking the store', async () => {
      const spec = { name: 'leased_one', points: 25, durationSeconds: 60 };
      const leased = await limiters.createLeased(spec, 10);
      const store = await limiters.create(spec); // the same table, read through the plain limiter
      const consumed = () => store.spent('c1');
      for (let i = 0; i < 10; i++) await leased.consume('c1');
      expect(await consumed()).toBe(10); // one lease of 10
      for (let i = 0; i < 15; i++) await leased.consume('c1');
      expect(await consumed()).toBe(25); // leases of 10 and then the 5 the store had left: never more than the budget
      const refused = await leased.consume('c1').catch((e: unknown) => e);
      expect((refused as AppError).code).toBe('request.rate_limited');
      expect((refused as AppError).retryAfterSeconds).toBeGreaterThanOrEqual(1);
      const storeAfterRefusal = await consumed();
      expect(storeAfterRefusal).toBe(26); // the one refused reservation of 1 point
      for (let i = 0; i < 5; i++) expect(((await leased.consume('c1').catch((e: unknown) => e)) as AppError).code).toBe('request.rate_limited');
      expect(await consumed()).toBe(storeAfterRefusal); // refused locally until the window ends
    });

    it('leased: concurrent requests on one node share reservations and never pass the budget; two nodes together never pass it either', async () => {
      const spec = { name: 'leased_many', points: 25, durationSeconds: 60 };
      const nodeA = await limiters.createLeased(spec, 10);
      const outcomes = await Promise.all(Array.from({ length: 40 }, () => nodeA.consume('burst').then(() => 'ok', (e: AppError) => e.code)));
      expect(outcomes.filter((o) => o === 'ok')).toHaveLength(25);
      expect(outcomes.filter((o) => o === 'request.rate_limited')).toHaveLength(15);

      const nodeB = await limiters.createLeased(spec, 10);
      const nodeC = await limiters.createLeased(spec, 10);
      let served = 0;
      for (let i = 0; i < 30; i++) {
        for (const node of [nodeB, nodeC]) {
          if (await node.consume('shared').then(() => true, () => false)) served += 1;
        }
      }
      expect(served).toBeLessThanOrEqual(25);
      expect(served).toBeGreaterThanOrEqual(25 - 2 * 9);
    });

    it('leased: a new window gives a new budget', async () => {
      const leased = await limiters.createLeased({ name: 'leased_window', points: 3, durationSeconds: 1 }, 10);
      for (let i = 0; i < 3; i++) await leased.consume('w');
      expect(((await leased.consume('w').catch((e: unknown) => e)) as AppError).code).toBe('request.rate_limited');
      await new Promise((resolve) => setTimeout(resolve, 1100));
      await leased.consume('w');
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
