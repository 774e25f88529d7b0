import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maskConfig } from '../src/cli/admin-commands.js';
import { startAppWithPublicUrl } from './helpers.js';
import { Receiver } from './webhook-receiver.js';

/**
 * Issue 21 item 4: the operator's commands, run as a user runs them (`node bin/tessera.js …` on a
 * SQLite file), then checked through a listening server on the same database.
 */

const cli = join(import.meta.dirname, '..', 'bin', 'tessera.js');
const PW = 'violet-harbor-7-lantern';

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `tessera …args` with `env`, writing `stdin` to it. */
function tessera(env: NodeJS.ProcessEnv, args: string[], stdin = ''): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(stdin);
  });
}
const json = (r: Ran) => {
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
};

describe('tessera users / apps / config / import (the operator CLI)', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-cli-'));
    env = { ...process.env, TESSERA_DATABASE_URL: `sqlite:${join(dir, 'tessera.db')}`, TESSERA_LOG_LEVEL: 'warn' };
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('creates, lists, suspends and resets the password of users through the domain rules; the server agrees', async () => {
    const ann = json(await tessera(env, ['users', 'create', '--username', 'ann', '--email', 'Ann@Example.com', '--password-stdin'], `${PW}\n`));
    expect(ann).toMatchObject({ username: 'ann', primaryEmail: 'Ann@Example.com', hasPassword: true, isSuspended: false });
    expect(JSON.stringify(ann)).not.toContain('argon2');
    const refused = await tessera(env, ['users', 'create', '--username', 'ann']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('user.username_taken');
    expect((await tessera(env, ['users', 'create', '--name', 'Nobody'])).stderr).toMatch(/tessera: user\.identifier_required/);
    const generated = json(await tessera(env, ['users', 'create', '--email', 'bob@example.com', '--generate-password']));
    expect(generated.password).toMatch(/^[A-Za-z0-9_-]{20}$/);

    const listed = json(await tessera(env, ['users', 'list', '--search', 'ANN']));
    expect(listed).toMatchObject({ total: 1, users: [{ id: ann.id, username: 'ann' }] });
    expect(json(await tessera(env, ['users', 'list'])).total).toBe(2);

    const t = await startAppWithPublicUrl({ databaseUrl: env.TESSERA_DATABASE_URL });
    try {
      const signIn = (username: string, password: string) => t.call('POST', '/api/auth/sign-in', { body: { username, password } });
      const first = await signIn('ann', PW);
      expect(first.status).toBe(200);
      const session = (await first.json()).session.token as string;

      // Suspending ends the sessions and refuses sign-in; lifting lets her back in.
      expect(json(await tessera(env, ['users', 'suspend', ann.id])).isSuspended).toBe(true);
      expect((await t.call('GET', '/api/auth/me', { token: session })).status).toBe(401);
      expect((await signIn('ann', PW)).status).toBe(403);
      expect(json(await tessera(env, ['users', 'suspend', ann.id, '--lift'])).isSuspended).toBe(false);
      const again = await signIn('ann', PW);
      expect(again.status).toBe(200);
      const session2 = (await again.json()).session.token as string;

      // A new password from the operator: sessions end, the old password stops working, the next
      // sign-in must choose a new one.
      const reset = json(await tessera(env, ['users', 'reset-password', ann.id, '--generate-password', '--require-change']));
      expect(reset).toMatchObject({ id: ann.id, passwordResetRequired: true });
      expect((await t.call('GET', '/api/auth/me', { token: session2 })).status).toBe(401);
      expect((await signIn('ann', PW)).status).toBe(401);
      const forced = await signIn('ann', reset.password);
      expect(forced.status).toBe(403);
      expect((await forced.json()).code).toBe('auth.password_reset_required');
      const none = await tessera(env, ['users', 'reset-password', ann.id]);
      expect(none.code).toBe(1);
      expect((await tessera(env, ['users', 'suspend', 'no-such-user'])).stderr).toContain('user.not_found');
    } finally {
      await t.close();
    }
  });

  it('lists and deletes applications (no secrets printed)', async () => {
    const created = json(await tessera(env, ['apps', 'create', '--type', 'm2m', '--name', 'Nightly job']));
    const list = json(await tessera(env, ['apps', 'list']));
    expect(list).toEqual(expect.arrayContaining([expect.objectContaining({ id: created.id, name: 'Nightly job', type: 'm2m', isManagement: false })]));
    expect(JSON.stringify(list)).not.toContain(created.secret);
    expect(JSON.stringify(list)).not.toMatch(/secret/i);
    expect(json(await tessera(env, ['apps', 'delete', created.id]))).toEqual({ deleted: created.id });
    expect(json(await tessera(env, ['apps', 'list'])).map((a: { id: string }) => a.id)).not.toContain(created.id);
    const gone = await tessera(env, ['apps', 'delete', created.id]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain(created.id);
  });

  it('config check prints the effective configuration with secrets masked, and exits 2 naming a bad key', async () => {
    const secrets = {
      TESSERA_AUTHING_APP_ID: 'app-1', TESSERA_AUTHING_SECRET: 'authing-pool-secret-0123456789',
      TESSERA_LC_APP_ID: 'lc', TESSERA_LC_APP_KEY: 'lc-app-key-123456', TESSERA_LC_MASTER_KEY: 'lc-master-key-123456',
      TESSERA_REDIS_URL: 'redis://:redis-password-42@127.0.0.1:6379', TESSERA_MFA_SECRET_KEY: 'm'.repeat(40),
    };
    const out = await tessera({ ...env, ...secrets }, ['config', 'check']);
    const shown = json(out);
    for (const value of ['authing-pool-secret-0123456789', 'lc-app-key-123456', 'lc-master-key-123456', 'redis-password-42', 'm'.repeat(40)]) expect(out.stdout).not.toContain(value);
    expect(shown.authing).toMatchObject({ appId: 'app-1', secret: '***' });
    expect(shown.databaseUrl).toBe(env.TESSERA_DATABASE_URL);
    const bad = await tessera({ ...env, TESSERA_PORT: 'not-a-port' }, ['config', 'check']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('TESSERA_PORT');
    expect(maskConfig({ databaseUrl: 'postgres://app:pw-123@db/tessera', nested: { clientSecret: 'x', keys: ['a', 'b'], port: 5 } })).toEqual({
      databaseUrl: 'postgres://app:***@db/tessera', nested: { clientSecret: '***', keys: ['***', '***'], port: 5 },
    });
  });

  it('an import names each rejected row as FILE:LINE and exits 1 unless --allow-rejects', async () => {
    const file = join(dir, 'logto-users.jsonl');
    writeFileSync(file, [JSON.stringify({ id: 'logto-user-1', username: 'carol', primaryEmail: 'carol@example.com' }), JSON.stringify({ id: 'logto-user-2', primaryEmail: 'not an email' })].join('\n'));
    const strict = await tessera(env, ['import', 'logto', file]);
    expect(strict.code).toBe(1);
    expect(strict.stderr).toContain(`${file}:2: rejected (logto-user-2)`);
    expect(strict.stderr).toMatch(/imported 1, skipped 0 \(already present\), rejected 1 of 2 rows/);
    const lenient = await tessera(env, ['import', 'logto', file, '--allow-rejects']);
    expect(lenient.code).toBe(0);
    expect(lenient.stderr).toMatch(/imported 0, skipped 1 \(already present\), rejected 1 of 2 rows/);
  });

  it('hooks list and test, logs tail: what the operator sees of webhooks and the audit log', async () => {
    const receiver = await Receiver.start();
    try {
      // A user created by the CLI is in the audit log; a hook is created through the server on the same file.
      const carl = json(await tessera(env, ['users', 'create', '--username', 'carl-logs', '--generate-password']));
      const t = await startAppWithPublicUrl({ databaseUrl: env.TESSERA_DATABASE_URL!, webhooks: { worker: false } });
      let hookId: string;
      try {
        const hook = await t.app.services.hooks.create({ name: 'ops', events: ['User.Created', 'PostSignIn'], url: receiver.url });
        hookId = hook.id;
      } finally {
        await t.close();
      }
      const listed = json(await tessera(env, ['hooks', 'list']));
      expect(listed).toEqual([expect.objectContaining({ id: hookId, name: 'ops', events: ['User.Created', 'PostSignIn'], url: receiver.url, enabled: true })]);
      expect(listed[0].signingKey).toMatch(/^\*\*\*[0-9a-zA-Z]{4}$/);
      expect(json(await tessera(env, ['hooks', 'test', hookId!]))).toEqual({ id: hookId!, sent: ['User.Created', 'PostSignIn'] });
      expect(receiver.received.map((r) => r.body.event).sort()).toEqual(['PostSignIn', 'User.Created']);
      receiver.answer = () => 500;
      const refused = await tessera(env, ['hooks', 'test', hookId!, '--event', 'PostSignIn']);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('hook.endpoint_error');
      const tail = await tessera(env, ['logs', 'tail', '--user', carl.id]);
      expect(tail.code, tail.stderr).toBe(0);
      const entries = tail.stdout.trim().split('\n').map((line) => JSON.parse(line));
      expect(entries.map((e: { key: string }) => e.key)).toContain('User.Created');
      expect(tail.stdout).not.toContain(carl.password);
    } finally {
      await receiver.close();
    }
  });
});
