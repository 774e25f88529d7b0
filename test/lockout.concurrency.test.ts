import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as client from 'openid-client';
import { dialects, freshPgDatabase, PG_URL, type RunningApp, startApp, startAppWithPublicUrl, testConfig } from './helpers.js';
import { Browser } from './browser.js';
import { LC_KEYS, lcFetch, PW, uniq } from './leancloud-helpers.js';
import { CAPTCHA_CONCURRENCY_ALLOWANCE } from '../src/domain/sign-in/captcha.js';

/**
 * The lockout under concurrency (issue 15, item 1): attempts are reserved atomically before the password
 * is checked, so a burst of N concurrent wrong passwords gets at most `lockout.maxFailures` verifications
 * (counted on the hasher, not by timing), on every surface, across two nodes on one PostgreSQL, and with
 * Redis holding the rate limits. Same for the per-IP captcha threshold.
 */
const LIMIT = 6;
const BURST = 100;
const REDIS_URL = process.env.TESSERA_TEST_REDIS_URL;

/** Statuses of `n` concurrent calls of `send(i)`, in call order. */
async function burst(n: number, send: (i: number) => Promise<{ status: number }>): Promise<number[]> {
  return (await Promise.all(Array.from({ length: n }, (_, i) => send(i)))).map((r) => r.status);
}

const count = (statuses: number[], status: number) => statuses.filter((s) => s === status).length;

describe.each(dialects)('lockout under concurrency on %s', (_name, database) => {
  let db: Awaited<ReturnType<(typeof dialects)[number][1]>>;
  let t: RunningApp;
  const verifications = () => t.app.services.hasher.verifications;

  beforeAll(async () => {
    db = await database();
    t = await startAppWithPublicUrl({ databaseUrl: db.url, lockout: { maxFailures: LIMIT }, leancloud: LC_KEYS });
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  async function signUp() {
    const username = uniq('lk');
    const res = await t.call('POST', '/api/auth/sign-up', { body: { username, password: PW } });
    expect(res.status).toBe(201);
    return username;
  }

  it(`/api/auth/sign-in: ${BURST} concurrent wrong passwords → ${LIMIT} verified, the rest 429; then the right one is refused`, async () => {
    const username = await signUp();
    const before = verifications();
    const statuses = await burst(BURST, () => t.call('POST', '/api/auth/sign-in', { body: { username, password: 'wrong-password-123' } }));
    expect(verifications() - before).toBe(LIMIT);
    expect(count(statuses, 401)).toBe(LIMIT);
    expect(count(statuses, 429)).toBe(BURST - LIMIT);
    const right = await t.call('POST', '/api/auth/sign-in', { body: { username, password: PW } });
    expect(right.status).toBe(429);
    expect((await right.json()).code).toBe('auth.too_many_failures');
    expect(Number(right.headers.get('retry-after'))).toBeGreaterThan(800);
    expect(verifications() - before).toBe(LIMIT);
  });

  it('a right password hidden in the burst is verified only if it is one of the first six', async () => {
    const username = await signUp();
    const before = verifications();
    const statuses = await burst(BURST, (i) =>
      t.call('POST', '/api/auth/sign-in', { body: { username, password: i === 50 ? PW : 'wrong-password-123' } }),
    );
    expect(verifications() - before).toBeLessThanOrEqual(LIMIT);
    expect([200, 429]).toContain(statuses[50]);
    // Evaluated attempts (401s and the success) never exceed the limit.
    expect(count(statuses, 401) + count(statuses, 200)).toBeLessThanOrEqual(LIMIT);
  });

  it(`/1.1/login: ${BURST} concurrent wrong passwords → ${LIMIT} verified (210), the rest 219`, async () => {
    const username = await signUp();
    const before = verifications();
    const codes = await Promise.all(
      Array.from({ length: BURST }, () => lcFetch(t.base, 'POST', '/1.1/login', { body: { username, password: 'wrong-password-123' } })),
    );
    expect(verifications() - before).toBe(LIMIT);
    expect(codes.filter((c) => c.body.code === 210)).toHaveLength(LIMIT);
    expect(codes.filter((c) => c.body.code === 219)).toHaveLength(BURST - LIMIT);
    expect((await lcFetch(t.base, 'POST', '/1.1/login', { body: { username, password: PW } })).body.code).toBe(219);
  });

  it(`/oidc sign-in page: ${BURST} concurrent wrong posts of one interaction → ${LIMIT} verified`, async () => {
    const username = await signUp();
    const rp = 'https://rp.example.com/callback';
    const app = await t.app.services.applications.create({ name: 'Lockout RP', type: 'traditional', redirectUris: [rp] });
    const config = await client.discovery(new URL(`${t.base}/oidc`), app.application.id, app.secret!, client.ClientSecretBasic(app.secret!), {
      execute: [client.allowInsecureRequests],
    });
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: rp,
      scope: 'openid',
      code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    const browser = new Browser();
    const { res, url: pageUrl } = await browser.follow(url.href, t.base);
    const html = await res.text();
    const action = new URL(/action="([^"]+\/login)"/.exec(html)![1]!, pageUrl).href;
    const csrf = /name="csrf" value="([^"]*)"/.exec(html)![1]!;
    const post = (password: string) =>
      browser.request(action, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: t.base },
        body: new URLSearchParams({ csrf, identifier: username, password }).toString(),
      });
    const before = verifications();
    const statuses = await burst(BURST, () => post('wrong-password-123'));
    expect(verifications() - before).toBe(LIMIT);
    expect(count(statuses, 401)).toBe(LIMIT);
    const right = await post(PW);
    expect(right.status).toBe(429);
    expect(await right.text()).toContain('Too many failed sign-in attempts; the account is locked for a while. Try again in 15 minutes.');
  });

  it('the Verification API password proof reserves on the same lockout', async () => {
    const username = await signUp();
    const signedIn = await (await t.call('POST', '/api/auth/sign-in', { body: { username, password: PW } })).json();
    await t.app.services.accountCenter.update({ enabled: true });
    const before = verifications();
    const statuses = await burst(BURST, () =>
      t.call('POST', '/api/verifications/password', { token: signedIn.session.token, body: { password: 'wrong-password-123' } }),
    );
    expect(verifications() - before).toBe(LIMIT);
    expect(count(statuses, 429)).toBe(BURST - LIMIT);
    // …and sign-in is locked by those failures.
    expect((await t.call('POST', '/api/auth/sign-in', { body: { username, password: PW } })).status).toBe(429);
  });
});

describe.each(dialects)('sign-in captcha threshold under concurrency on %s', (_name, database) => {
  let db: Awaited<ReturnType<(typeof dialects)[number][1]>>;
  let t: RunningApp;

  beforeAll(async () => {
    db = await database();
    t = await startApp(testConfig({ databaseUrl: db.url, trustProxy: true, lockout: { maxFailures: 1000 }, signIn: { captchaAfterFailures: 3 } }));
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  it(`${BURST} concurrent wrong passwords from one IP (each for another account) → at most 3 + ${CAPTCHA_CONCURRENCY_ALLOWANCE} verified, the rest and every later attempt need a captcha`, async () => {
    const before = t.app.services.hasher.verifications;
    const answers = await Promise.all(
      Array.from({ length: BURST }, async (_, i) => {
        const res = await t.call('POST', '/api/auth/sign-in', {
          headers: { 'x-forwarded-for': '203.0.113.77' },
          body: { username: `nobody${i}`, password: 'wrong-password-123' },
        });
        return (await res.json()).code as string;
      }),
    );
    const verified = t.app.services.hasher.verifications - before;
    expect(verified).toBeGreaterThanOrEqual(3);
    expect(verified).toBeLessThanOrEqual(3 + CAPTCHA_CONCURRENCY_ALLOWANCE);
    expect(answers.filter((c) => c === 'auth.invalid_credentials')).toHaveLength(verified);
    expect(answers.filter((c) => c === 'auth.captcha_required')).toHaveLength(BURST - verified);
    // The failures are counted: the next attempt, even alone, needs a captcha.
    const next = await t.call('POST', '/api/auth/sign-in', { headers: { 'x-forwarded-for': '203.0.113.77' }, body: { username: 'nobody', password: 'wrong-password-123' } });
    expect((await next.json()).code).toBe('auth.captcha_required');
  });

  it('many honest sign-ins at once from one address (a NAT) need no captcha: only failures count', async () => {
    const username = `nat${Date.now().toString(36)}`;
    expect((await t.call('POST', '/api/auth/sign-up', { body: { username, password: PW } })).status).toBe(201);
    const statuses = await Promise.all(
      Array.from({ length: 20 }, async () =>
        (await t.call('POST', '/api/auth/sign-in', { headers: { 'x-forwarded-for': '198.51.100.9' }, body: { username, password: PW } })).status,
      ),
    );
    expect(statuses).toEqual(Array.from({ length: 20 }, () => 200));
    // Two failures from that address still leave room below the threshold (3).
    for (let i = 0; i < 2; i++) {
      const res = await t.call('POST', '/api/auth/sign-in', { headers: { 'x-forwarded-for': '198.51.100.9' }, body: { username, password: 'wrong-password-123' } });
      expect((await res.json()).code).toBe('auth.invalid_credentials');
    }
    expect((await t.call('POST', '/api/auth/sign-in', { headers: { 'x-forwarded-for': '198.51.100.9' }, body: { username, password: PW } })).status).toBe(200);
  });
});

describe.skipIf(!PG_URL)('lockout across two nodes on one PostgreSQL', () => {
  for (const redis of [false, true]) {
    describe.skipIf(redis && !REDIS_URL)(redis ? 'with Redis for the rate limits' : 'without Redis', () => {
      let db: Awaited<ReturnType<typeof freshPgDatabase>>;
      let a: RunningApp;
      let b: RunningApp;

      beforeAll(async () => {
        db = await freshPgDatabase(PG_URL!);
        const config = { databaseUrl: db.url, lockout: { maxFailures: LIMIT }, ...(redis ? { redisUrl: REDIS_URL } : {}) };
        a = await startApp(testConfig(config));
        b = await startApp(testConfig(config));
      });
      afterAll(async () => {
        await a?.close();
        await b?.close();
        await db?.drop();
      });

      it(`${BURST} concurrent wrong passwords split over both nodes → ${LIMIT} verified in all; the right one is refused on either`, async () => {
        const username = uniq('two');
        expect((await a.call('POST', '/api/auth/sign-up', { body: { username, password: PW } })).status).toBe(201);
        const total = () => a.app.services.hasher.verifications + b.app.services.hasher.verifications;
        const before = total();
        const statuses = await burst(BURST, (i) =>
          (i % 2 ? a : b).call('POST', '/api/auth/sign-in', { body: { username, password: 'wrong-password-123' } }),
        );
        expect(total() - before).toBe(LIMIT);
        expect(count(statuses, 429)).toBe(BURST - LIMIT);
        expect((await a.call('POST', '/api/auth/sign-in', { body: { username, password: PW } })).status).toBe(429);
        expect((await b.call('POST', '/api/auth/sign-in', { body: { username, password: PW } })).status).toBe(429);
      });
    });
  }
});
