import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, freshPgDatabase, LogCapture, PG_URL, type RunningApp, startApp, startAppWithPublicUrl, testConfig } from './helpers.js';
import { openSignInPage } from './oidc-helpers.js';
import { startSmsWebhook } from './peers.js';

/**
 * Issue 15, item 5, over real processes and HTTP: liveness and readiness, X-Request-Id, the error code
 * on the log line of a refused request, and a SIGTERM to `npm start` that lets a request in flight
 * finish and stops the server within its deadline.
 */

const root = new URL('..', import.meta.url).pathname;

describe('health, request ids and log lines', () => {
  let t: RunningApp;
  const logs = new LogCapture();

  beforeAll(async () => {
    t = await startApp(testConfig({ logLevel: 'info' }), { logStream: logs });
  });
  afterAll(async () => {
    await t.close();
  });

  it('GET /api/health/live and /api/health/ready answer 200 with what was checked', async () => {
    const live = await t.call('GET', '/api/health/live');
    expect([live.status, await live.json()]).toEqual([200, { status: 'live' }]);
    const ready = await t.call('GET', '/api/health/ready');
    expect([ready.status, await ready.json()]).toEqual([200, { status: 'ready', checks: { database: 'ok', redis: 'not configured', migrations: 'ok' } }]);
  });

  it('keeps a plain incoming X-Request-Id and echoes it; replaces a hostile one; logs it and the error code of a refusal', async () => {
    const kept = await t.call('POST', '/api/auth/sign-in', { body: { username: 'nobody', password: 'wrong-password-1' }, headers: { 'x-request-id': 'edge-7f3a.42' } });
    expect(kept.headers.get('x-request-id')).toBe('edge-7f3a.42');
    const replaced = await t.call('GET', '/api/health/live', { headers: { 'x-request-id': 'x\r\ninjected' .replace(/\r\n/, ' ') } });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const none = await t.call('GET', '/api/health/live');
    expect(none.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    await new Promise((r) => setTimeout(r, 50));
    const lines = logs.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const completed = lines.find((l) => l.reqId === 'edge-7f3a.42' && l.msg === 'request completed');
    expect(completed).toMatchObject({ level: 'info', errorCode: 'auth.invalid_credentials', res: { statusCode: 401 } });
  });
});

describe('metrics', () => {
  const TOKEN = 'metrics-token-0123456789abcdef';
  let t: RunningApp;
  beforeAll(async () => {
    t = await startAppWithPublicUrl({ metricsToken: TOKEN, lockout: { maxFailures: 2 } });
  });
  afterAll(async () => {
    await t.close();
  });

  it('GET /metrics needs the token; counts requests by route pattern, sign-ins by outcome, lockouts, the hash queue', async () => {
    expect((await t.call('GET', '/metrics')).status).toBe(401);
    expect((await t.call('GET', '/metrics', { headers: { authorization: 'Bearer wrong-token-0123456789abcdef' } })).status).toBe(401);
    const username = `met${Date.now().toString(36)}`;
    expect((await t.call('POST', '/api/auth/sign-up', { body: { username, password: 'violet-harbor-7-lantern' } })).status).toBe(201);
    expect((await t.call('POST', '/api/auth/sign-in', { body: { username, password: 'violet-harbor-7-lantern' } })).status).toBe(200);
    for (let i = 0; i < 3; i++) await t.call('POST', '/api/auth/sign-in', { body: { username, password: 'wrong-password-1' } });
    await t.call('GET', '/api/users/abc');
    // The hosted sign-in page counts too (it answers its refusals as HTML).
    const web = await t.app.services.applications.create({ name: 'Web', type: 'traditional', redirectUris: ['https://rp.example.com/cb'] });
    const page = await openSignInPage(t.base, { id: web.application.id, secret: web.secret! }, 'https://rp.example.com/cb');
    expect((await page.post({ identifier: `nobody${Date.now()}`, password: 'wrong-password-1' })).status).toBe(401);
    const res = await t.call('GET', '/metrics', { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(/tessera_http_requests_total\{method="POST",route="\/api\/auth\/sign-in",status="200"\} 1/);
    expect(text).toMatch(/tessera_sign_ins_total\{surface="api",outcome="success"\} 1/);
    expect(text).toMatch(/tessera_sign_ins_total\{surface="api",outcome="auth.invalid_credentials"\} [12]/);
    expect(text).toMatch(/tessera_lockouts_total [1-9]/);
    expect(text).toMatch(/tessera_sign_ins_total\{surface="oidc",outcome="auth.invalid_credentials"\} 1/);
    expect(text).toMatch(/tessera_password_hash_queue 0/);
    expect(text).toMatch(/tessera_nodejs_eventloop_lag_seconds /);
    // Route patterns, never raw URLs (no ids or secrets in label values).
    expect(text).not.toContain('/api/users/abc');
  });

  it('without TESSERA_METRICS_TOKEN there is no /metrics route', async () => {
    const plain = await startApp(testConfig());
    try {
      expect((await plain.call('GET', '/metrics')).status).toBe(404);
    } finally {
      await plain.close();
    }
  });
});

describe.skipIf(!PG_URL)('readiness when the database goes away (PostgreSQL)', () => {
  it('/api/health/ready goes 503 (database failing) while /api/health/live stays 200', async () => {
    const db = await freshPgDatabase(PG_URL!);
    const t = await startApp(testConfig({ databaseUrl: db.url }));
    try {
      expect((await t.call('GET', '/api/health/ready')).status).toBe(200);
      // The database stops: its connections are terminated and new ones refused.
      const admin = new pg.Client({ connectionString: PG_URL });
      await admin.connect();
      const name = new URL(db.url).pathname.slice(1);
      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
      await admin.end();
      const down = await t.call('GET', '/api/health/ready');
      expect(down.status).toBe(503);
      expect(await down.json()).toMatchObject({ status: 'not ready', checks: { database: 'failing' } });
      expect((await t.call('GET', '/api/health/live')).status).toBe(200);
    } finally {
      await t.close().catch(() => {});
      await db.drop();
    }
  });
});

describe('SIGTERM to npm start', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-ops-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('finishes the request in flight, then the server exits within the deadline', async () => {
    const sms = await startSmsWebhook({ delayMs: 1500 });
    const port = await freePort();
    const child = spawn('npm', ['start'], {
      cwd: root,
      env: {
        ...process.env,
        TESSERA_PORT: String(port),
        TESSERA_DATABASE_URL: `sqlite:${join(dir, 'ops.db')}`,
        TESSERA_SMS_WEBHOOK_URL: sms.url,
        TESSERA_SMS_WEBHOOK_SECRET: 'a-very-long-webhook-secret',
        TESSERA_SMS_WEBHOOK_TIMEOUT_SECONDS: '5',
        TESSERA_SHUTDOWN_TIMEOUT_SECONDS: '5',
        TESSERA_LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    const base = `http://127.0.0.1:${port}`;
    try {
      for (let i = 0; ; i++) {
        const up = await fetch(`${base}/api/health/live`).then((r) => r.status === 200, () => false);
        if (up) break;
        if (i > 300) throw new Error(`the server did not start:\n${output}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      // A request that waits 1.5 s on the SMS webhook is in flight when SIGTERM arrives.
      const inFlight = fetch(`${base}/api/auth/codes`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ phone: '+14155550123', purpose: 'SignIn' }),
      });
      await sms.waitFor(() => true, 5000);
      const signalledAt = Date.now();
      child.kill('SIGTERM');
      const answer = await inFlight;
      expect(answer.status).toBe(200);
      // npm itself ends at once (npm 11 does not wait for its child); the server must not outlive it.
      await exited;
      // The server itself is gone within the deadline: nothing listens (no orphan behind npm).
      for (let i = 0; i < 50 && (await fetch(`${base}/api/health/live`).then(() => 'up', () => 'down')) === 'up'; i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(await fetch(`${base}/api/health/live`).then(() => 'up', () => 'down')).toBe('down');
      expect(Date.now() - signalledAt).toBeLessThan(5000);
      expect(output).toMatch(/shutting down/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await sms.close();
    }
  }, 60_000);
});
