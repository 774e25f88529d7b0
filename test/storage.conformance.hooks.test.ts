/**
 * Issue 20: the conformance suite of the webhook and audit-log stores (HookStore, HookJobStore, LogStore)
 * and of `Store.transaction` (the ambient transaction the outbox relies on), on every storage target
 * (SQLite in memory, SQLite file, PostgreSQL when TESSERA_TEST_PG_URL is set).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { migrateToLatest } from '../src/storage/database.js';
import type { HookRecord, LogRecord } from '../src/storage/hook-store.js';
import { KyselyStore } from '../src/storage/kysely-store.js';
import { T, userRecord } from './fixtures.js';
import { forEachStorage, type OpenedStore } from './storage-targets.js';

let n = 0;
const hook = (o: Partial<HookRecord> = {}): HookRecord => ({
  id: `hook${n++}`,
  name: 'h',
  events: ['PostSignIn'],
  url: 'https://example.com/hook',
  headers: { 'x-a': '1' },
  retries: 3,
  signingKey: 'k'.repeat(32),
  enabled: true,
  createdAt: T + n,
  updatedAt: T + n,
  ...o,
});

forEachStorage((name: string, open: () => Promise<OpenedStore>) => {
  describe(`Store conformance, hooks and logs: ${name}`, () => {
    let opened: OpenedStore;
    let store: KyselyStore;

    beforeAll(async () => {
      opened = await open();
      await migrateToLatest(opened.handle.db);
      store = new KyselyStore(opened.handle);
    });
    afterAll(async () => opened?.cleanup());
    beforeEach(async () => {
      for (const table of ['hook_jobs', 'hooks', 'logs', 'users'] as const) await opened.handle.db.deleteFrom(table).execute();
    });

    it('HookStore: insert, find, list oldest first, enabled-for-event, partial update, delete (jobs go with it)', async () => {
      const a = hook({ events: ['PostSignIn', 'User.Created'] });
      const b = hook({ events: ['User.Created'], enabled: false });
      await store.hooks.insert(a);
      await store.hooks.insert(b);
      expect(await store.hooks.findById(a.id)).toStrictEqual(a);
      expect(await store.hooks.findById('missing')).toBeUndefined();
      expect((await store.hooks.list()).map((h) => h.id)).toEqual([a.id, b.id]);
      expect((await store.hooks.listEnabledFor('User.Created')).map((h) => h.id)).toEqual([a.id]);
      expect(await store.hooks.listEnabledFor('User.Deleted')).toEqual([]);
      const changed = await store.hooks.update(b.id, { enabled: true, headers: {}, updatedAt: T + 999 });
      expect(changed).toStrictEqual({ ...b, enabled: true, headers: {}, updatedAt: T + 999 });
      expect(await store.hooks.update('missing', { name: 'x' })).toBeUndefined();
      await store.hookJobs.enqueue([{ hookId: a.id, orderKey: 'u', event: 'PostSignIn', payload: '{}', createdAt: T }]);
      expect(await store.hooks.delete(a.id)).toBe(true);
      expect(await store.hooks.delete(a.id)).toBe(false);
      expect(await store.hookJobs.count('pending')).toBe(0);
    });

    it('HookJobStore: claims due jobs once per lease, the oldest of each hook and order key only, within per-hook quotas; settles outcomes', async () => {
      const a = hook();
      const b = hook();
      await store.hooks.insert(a);
      await store.hooks.insert(b);
      const job = (hookId: string, orderKey: string, createdAt: number) => ({ hookId, orderKey, event: 'PostSignIn', payload: `{"at":${createdAt}}`, createdAt });
      await store.hookJobs.enqueue([job(a.id, 'u1', T), job(a.id, 'u1', T + 1), job(a.id, 'u2', T + 2), job(b.id, 'u1', T + 3)]);
      const both = new Map([[a.id, 10], [b.id, 10]]);
      // A hook missing from the quotas, or with a quota of 0, is not claimed; the total limit holds.
      expect(await store.hookJobs.claim(T + 10, 1000, 10, new Map([[b.id, 0]]))).toEqual([]);
      expect(await store.hookJobs.claim(T + 10, 1000, 0, both)).toEqual([]);
      const first = await store.hookJobs.claim(T + 10, 1000, 10, both);
      // u1's second job waits for its first; every other order key has one due job.
      expect(first.map((j) => [j.hookId, j.orderKey, j.payload])).toEqual([
        [a.id, 'u1', `{"at":${T}}`],
        [a.id, 'u2', `{"at":${T + 2}}`],
        [b.id, 'u1', `{"at":${T + 3}}`],
      ]);
      expect(first.every((j) => j.attempts === 1 && j.leaseUntil === T + 1010)).toBe(true);
      // Leased: nothing more is due until the lease ends.
      expect(await store.hookJobs.claim(T + 20, 1000, 10, both)).toEqual([]);
      const [a1, a2, b1] = first;
      // An outcome applies only to the caller's claim (its attempts).
      await store.hookJobs.settle([{ seq: a1!.seq, attempts: 99, kind: 'done' }]);
      expect(await store.hookJobs.claim(T + 30, 1000, 10, both)).toEqual([]);
      await store.hookJobs.settle([{ seq: a1!.seq, attempts: 1, kind: 'done' }, { seq: b1!.seq, attempts: 1, kind: 'done' }]);
      const next = await store.hookJobs.claim(T + 30, 1000, 10, both);
      expect(next.map((j) => j.payload)).toEqual([`{"at":${T + 1}}`]);
      // A lease that ran out is claimed again, counting another attempt; a quota of 1 takes the oldest.
      const one = await store.hookJobs.claim(T + 2000, 1000, 10, new Map([[a.id, 1]]));
      expect(one.map((j) => [j.orderKey, j.attempts])).toEqual([['u1', 2]]);
      expect(one[0]!.seq).toBe(next[0]!.seq);
      const again = await store.hookJobs.claim(T + 2000, 1000, 10, new Map([[a.id, 5]]));
      expect(again.map((j) => [j.orderKey, j.attempts])).toEqual([['u2', 2]]);
      expect(again[0]!.seq).toBe(a2!.seq);
      await store.hookJobs.settle([
        { seq: one[0]!.seq, attempts: 2, kind: 'retry', nextAttemptAt: T + 5000, error: 'HTTP 503' },
        { seq: again[0]!.seq, attempts: 2, kind: 'failed', error: 'HTTP 400' },
      ]);
      expect(await store.hookJobs.count('failed')).toBe(1);
      expect(await store.hookJobs.claim(T + 4000, 1000, 10, both)).toEqual([]);
      const retried = await store.hookJobs.claim(T + 5000, 1000, 10, both);
      expect(retried.map((j) => [j.orderKey, j.attempts, j.lastError])).toEqual([['u1', 3, 'HTTP 503']]);
    });

    it("HookJobStore: one hook's backlog does not hold back another hook's jobs, and the total limit takes the oldest", async () => {
      const slow = hook();
      const fast = hook();
      await store.hooks.insert(slow);
      await store.hooks.insert(fast);
      const many = Array.from({ length: 50 }, (_, i) => ({ hookId: slow.id, orderKey: `u${i}`, event: 'PostSignIn', payload: '{}', createdAt: T + i }));
      await store.hookJobs.enqueue(many);
      await store.hookJobs.enqueue([{ hookId: fast.id, orderKey: 'u0', event: 'PostSignIn', payload: '{"fast":true}', createdAt: T + 100 }]);
      const claimed = await store.hookJobs.claim(T + 200, 1000, 10, new Map([[slow.id, 2], [fast.id, 4]]));
      expect(claimed.map((j) => [j.hookId, j.createdAt])).toEqual([
        [slow.id, T],
        [slow.id, T + 1],
        [fast.id, T + 100],
      ]);
      const capped = await store.hookJobs.claim(T + 200, 1000, 3, new Map([[slow.id, 10]]));
      expect(capped.map((j) => j.createdAt)).toEqual([T + 2, T + 3, T + 4]);
    });

    it('LogStore: newest first with filters, key prefixes, time window, counts and retention', async () => {
      const log = (o: Partial<LogRecord>): LogRecord => ({
        id: `log${n++}`,
        key: 'Interaction.SignIn.Submit',
        result: 'Success',
        userId: 'u1',
        applicationId: null,
        hookId: null,
        payload: { key: 'Interaction.SignIn.Submit', result: 'Success' },
        createdAt: T,
        ...o,
      });
      const rows = [
        log({ createdAt: T + 1 }),
        log({ createdAt: T + 2, result: 'Error', userId: 'u2' }),
        log({ createdAt: T + 3, key: 'TriggerHook.PostSignIn', hookId: 'h1', userId: null }),
        log({ createdAt: T + 4, key: 'ExchangeTokenBy.ClientCredentials', userId: null, applicationId: 'app' }),
      ];
      for (const r of rows) await store.logs.insertMany([r]);
      expect(await store.logs.findById(rows[1]!.id)).toStrictEqual(rows[1]);
      const all = await store.logs.list({ offset: 0, limit: 10 });
      expect(all.total).toBe(4);
      expect(all.logs.map((l) => l.createdAt)).toEqual([T + 4, T + 3, T + 2, T + 1]);
      expect((await store.logs.list({ userId: 'u1', offset: 0, limit: 10 })).logs.map((l) => l.createdAt)).toEqual([T + 1]);
      expect((await store.logs.list({ applicationId: 'app', offset: 0, limit: 10 })).total).toBe(1);
      expect((await store.logs.list({ hookId: 'h1', offset: 0, limit: 10 })).total).toBe(1);
      expect((await store.logs.list({ excludeDeliveries: true, offset: 0, limit: 10 })).total).toBe(3);
      expect((await store.logs.list({ countCap: 2, offset: 0, limit: 1 })).total).toBe(3);
      expect((await store.logs.list({ countCap: 10, offset: 0, limit: 1 })).total).toBe(4);
      expect((await store.logs.list({ key: 'Interaction.SignIn.Submit', result: 'Error', offset: 0, limit: 10 })).total).toBe(1);
      expect((await store.logs.list({ since: T + 2, until: T + 3, offset: 0, limit: 10 })).total).toBe(2);
      const page = await store.logs.list({ offset: 1, limit: 2 });
      expect([page.total, page.logs.map((l) => l.createdAt)]).toEqual([4, [T + 3, T + 2]]);
      expect(await store.logs.deleteOlderThan(T + 3)).toBe(2);
      expect((await store.logs.list({ offset: 0, limit: 10 })).total).toBe(2);
    });

    it('LogStore: the unfiltered total is the trigger-kept count — exact after concurrent inserts, a rollback and a bulk delete', async () => {
      const exact = async () => Number((await opened.handle.db.selectFrom('logs').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
      const entry = (i: number) => ({ id: `count-${i}`, key: 'Interaction.SignIn.Submit', result: 'Success' as const, userId: `u${i % 7}`, applicationId: null, hookId: null, payload: {}, createdAt: T + i });
      // 60 inserts, 12 at a time (on PostgreSQL through several pooled connections, so several counter shards).
      for (let i = 0; i < 60; i += 12) await Promise.all(Array.from({ length: 12 }, (_, j) => store.logs.insertMany([entry(i + j)])));
      expect((await store.logs.list({ offset: 0, limit: 1 })).total).toBe(60);
      expect(await exact()).toBe(60);
      // A rolled-back insert leaves the count as it was.
      await expect(store.transaction(async () => {
        await store.logs.insertMany([entry(1000)]);
        throw new Error('abort');
      })).rejects.toThrow('abort');
      expect((await store.logs.list({ offset: 0, limit: 1 })).total).toBe(60);
      // One statement deleting many rows (retention) subtracts them all.
      expect(await store.logs.deleteOlderThan(T + 25)).toBe(25);
      expect((await store.logs.list({ offset: 0, limit: 1 })).total).toBe(35);
      expect(await exact()).toBe(35);
      // With Logto's enableCap the kept count is capped like a counted one; a filter still counts its matches.
      expect((await store.logs.list({ countCap: 10, offset: 0, limit: 1 })).total).toBe(11);
      expect((await store.logs.list({ userId: 'u3', offset: 0, limit: 1 })).total).toBe(Array.from({ length: 35 }, (_, k) => k + 25).filter((i) => i % 7 === 3).length);
    });

    it('Store.transaction: every store joins it; all commit together or none does; nested calls join the outer one', async () => {
      const u = userRecord({ id: 'tx-user', username: 'tx-user' });
      await expect(
        store.transaction(async () => {
          await store.users.insert(u);
          await store.logs.insertMany([{ id: 'tx-log', key: 'User.Created', result: 'Success', userId: u.id, applicationId: null, hookId: null, payload: {}, createdAt: T }]);
          // A store's own transaction inside joins the ambient one.
          await store.transaction(async () => store.hooks.insert(hook({ id: 'tx-hook' })));
          expect(await store.users.findById(u.id)).toBeDefined();
          throw new Error('abort');
        }),
      ).rejects.toThrow('abort');
      expect(await store.users.findById(u.id)).toBeUndefined();
      expect(await store.logs.findById('tx-log')).toBeUndefined();
      expect(await store.hooks.findById('tx-hook')).toBeUndefined();
      await store.transaction(async () => {
        await store.users.insert(u);
        expect(await store.deleteAccount(u.id)).toBe(true);
        await store.users.insert(u);
      });
      expect(await store.users.findById(u.id)).toBeDefined();
    });
  });
});
