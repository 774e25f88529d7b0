import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.js';
import { freePort, freshPgDatabase, PG_URL, startApp, testConfig } from './helpers.js';
import { Receiver } from './webhook-receiver.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const PW = 'violet-harbor-7-lantern';

describe('webhook delivery survives a killed server (SQLite file)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-hooks-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a change committed before SIGKILL, whose delivery was in flight, is delivered after the restart', async () => {
    const receiver = await Receiver.start();
    const databaseUrl = `sqlite:${join(dir, 'hooks.db')}`;
    // The hook is created (and the database migrated) by an app that is then closed.
    const setup = await createApp(testConfig({ databaseUrl, webhooks: { worker: false } }));
    const hook = await setup.services.hooks.create({ events: ['User.Created'], url: receiver.url });
    await setup.close();

    receiver.answer = () => 'hang';
    const port = await freePort();
    const child = spawn(process.execPath, [join(root, 'bin/tessera.js'), 'start'], {
      cwd: root,
      env: { ...process.env, TESSERA_PORT: String(port), TESSERA_DATABASE_URL: databaseUrl, TESSERA_WEBHOOK_TIMEOUT_SECONDS: '1', TESSERA_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    let userId: string;
    try {
      const base = `http://127.0.0.1:${port}`;
      for (let i = 0; !(await fetch(`${base}/api/health/live`).then((r) => r.ok, () => false)); i++) {
        if (i > 300) throw new Error(`the server did not start:\n${output}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const up = await fetch(`${base}/api/auth/sign-up`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'killed1', password: PW }) });
      expect(up.status).toBe(201);
      userId = (await up.json()).user.id;
      // The worker has sent the delivery and waits for the receiver: the process dies now.
      await receiver.until(() => receiver.received.length >= 1);
    } finally {
      child.kill('SIGKILL');
    }
    expect(await exited).toBe('SIGKILL');
    expect(receiver.received[0]!.body).toMatchObject({ event: 'User.Created', hookId: hook.id, data: { id: userId! } });

    receiver.answer = () => 200;
    const restarted = await startApp(testConfig({ databaseUrl, webhooks: { timeoutSeconds: 1, pollIntervalSeconds: 0.1 } }));
    try {
      // Once the dead worker's lease runs out, the delivery is made again (at least once, never lost).
      await receiver.until(() => receiver.received.length >= 2, 20_000);
      expect(receiver.received[1]!.raw).toBe(receiver.received[0]!.raw);
      await receiver.until(() => true);
      for (let i = 0; i < 50 && (await restarted.app.services.store.hookJobs.count('pending')) > 0; i++) await new Promise((r) => setTimeout(r, 100));
      expect(await restarted.app.services.store.hookJobs.count('pending')).toBe(0);
    } finally {
      await restarted.close();
      await receiver.close();
    }
  }, 60_000);
});

describe.runIf(PG_URL)('two nodes on one PostgreSQL', () => {
  it('deliver each event once, in order per user', async () => {
    const fresh = await freshPgDatabase(PG_URL!);
    const receiver = await Receiver.start();
    const fast = { webhooks: { pollIntervalSeconds: 0.05, retryBaseSeconds: 0.05 } };
    const a = await startApp(testConfig({ databaseUrl: fresh.url, ...fast }));
    const b = await startApp(testConfig({ databaseUrl: fresh.url, ...fast }));
    try {
      await a.app.services.hooks.create({ events: ['User.Created', 'User.Data.Updated'], url: receiver.url });
      const users: string[] = [];
      await Promise.all(
        Array.from({ length: 30 }, async (_, i) => {
          const node = i % 2 === 0 ? a : b;
          const up = await node.call('POST', '/api/auth/sign-up', { body: { username: `node${i}`, password: PW } });
          expect(up.status).toBe(201);
          const id = (await up.json()).user.id as string;
          users.push(id);
          // A second change of the same user, through the other node.
          await (node === a ? b : a).app.services.users.update(id, { name: `n${i}` });
        }),
      );
      await receiver.until(() => receiver.received.length >= 60, 20_000);
      await new Promise((r) => setTimeout(r, 300));
      expect(receiver.received).toHaveLength(60);
      for (const id of users) {
        const mine = receiver.received.filter((r) => r.body.data?.id === id).map((r) => r.body.event);
        expect(mine).toEqual(['User.Created', 'User.Data.Updated']);
      }
      // One delivery log entry per delivery.
      const byNode = await a.app.services.store.logs.list({ key: 'TriggerHook.User.Created', offset: 0, limit: 100 });
      const updates = await a.app.services.store.logs.list({ key: 'TriggerHook.User.Data.Updated', offset: 0, limit: 100 });
      expect(byNode.total + updates.total).toBe(60);
    } finally {
      await a.close();
      await b.close();
      await receiver.close();
      await fresh.drop();
    }
  }, 60_000);
});
