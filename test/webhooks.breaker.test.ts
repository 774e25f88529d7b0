import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DatabaseFactory, dialects, type RunningApp, startApp, testConfig } from './helpers.js';
import { Receiver } from './webhook-receiver.js';

const PW = 'violet-harbor-7-lantern';
let seq = 0;
const uniq = (p = 'cb') => `${p}${Date.now().toString(36)}${seq++}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Issue 20: "a hook whose endpoint keeps failing is not allowed to slow sign-ins". The worker's circuit
 * breaker (src/webhooks/worker.ts): after 5 consecutive failed tries a hook is paused for the retry base
 * (here 1 s), its jobs wait without spending their retries, and one probe at a time tells when it is back.
 * One slot per hook (concurrency 2), so the tries go out one after another and the count is exact.
 */
describe.each(dialects)('webhook circuit breaker on %s', (_name, database) => {
  let t: RunningApp;
  let db: Awaited<ReturnType<DatabaseFactory>>;
  let receiver: Receiver;

  beforeAll(async () => {
    db = await database();
    receiver = await Receiver.start();
    t = await startApp(testConfig({ databaseUrl: db.url, webhooks: { concurrency: 2, retryBaseSeconds: 1, pollIntervalSeconds: 0.05, timeoutSeconds: 2 } }));
  });
  afterAll(async () => {
    await t.close();
    await receiver.close();
    await db.drop();
  });

  it('pauses a hook after 5 failed tries in a row; its other deliveries wait unspent, then go once a probe succeeds', async () => {
    const { hooks, store, deliveries } = t.app.services;
    const hook = await hooks.create({ name: 'flaky', events: ['User.Created'], url: receiver.url, retries: 0 });
    const healthy = await hooks.create({ name: 'healthy', events: ['User.Created'], url: `${receiver.url}?healthy` });
    receiver.answer = (_n, request) => (request.body?.hookId === healthy.id ? 204 : 503);
    // Eight changes queued while the worker is stopped, so the tries below are the breaker's alone to decide.
    await deliveries.stop();
    const ids: string[] = [];
    try {
      for (let i = 0; i < 8; i++) {
        const res = await t.call('POST', '/api/auth/sign-up', { body: { username: uniq(), password: PW } });
        expect(res.status).toBe(201);
        ids.push((await res.json()).user.id);
      }
    } finally {
      deliveries.start();
    }
    const flaky = () => receiver.received.filter((r) => r.body?.hookId === hook.id);
    const toHealthy = () => receiver.received.filter((r) => r.body?.hookId === healthy.id);
    await receiver.until(() => flaky().length >= 5 && toHealthy().length >= 8);
    // Open: nothing more is tried during the pause; the other hook was not held up.
    await sleep(600);
    expect(flaky()).toHaveLength(5);
    expect(toHealthy().map((r) => r.body.data.id).sort()).toEqual([...ids].sort());
    // retries 0: the five tried are failed; the three left wait, with no try spent.
    expect(await store.hookJobs.count('failed')).toBe(5);
    expect(await store.hookJobs.count('pending')).toBe(3);
    const waiting = await t.app.database.db.selectFrom('hook_jobs').select(['attempts']).where('hook_id', '=', hook.id).where('state', '=', 'pending').execute();
    expect(waiting.map((j) => Number(j.attempts))).toEqual([0, 0, 0]);

    // Back: after the pause one probe goes, then the rest.
    receiver.answer = () => 204;
    await receiver.until(() => flaky().length >= 8);
    expect(flaky().slice(5).map((r) => r.body.data.id)).toEqual(ids.slice(5));
    for (let i = 0; i < 100 && (await store.hookJobs.count('pending')) > 0; i++) await sleep(50);
    expect(await store.hookJobs.count('pending')).toBe(0);
    expect(await store.hookJobs.count('failed')).toBe(5);
  });
});
