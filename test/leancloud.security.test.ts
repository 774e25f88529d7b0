/**
 * Security regressions of the `/1.1` surface (review of the LeanCloud-compatible API), over real HTTP
 * on SQLite and PostgreSQL: prototype pollution through dotted update paths and nested value keys,
 * `keys=` projections reaching Object.prototype, `$regex` in update/delete conditions (ReDoS),
 * authData visibility, the batch path sandbox and deeply nested `where` documents.
 * The app runs in this process, so every pollution attempt is also checked on this process' objects.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type DatabaseFactory, type RunningApp, startApp } from './helpers.js';
import { type SmsWebhookPeer, startSmsWebhook } from './peers.js';
import { cnPhone, dialects, lcConfig, lcFetch, type LcFetchOptions, PW, uniq } from './leancloud-helpers.js';

const POLLUTION_KEYS = ['polluted', 'session', 'pwned', 'isAdmin'];

/** Object.prototype is untouched: no polluted key, its methods still there. */
function expectCleanPrototype(): void {
  const probe = {} as Record<string, unknown>;
  for (const k of POLLUTION_KEYS) {
    expect(probe[k]).toBeUndefined();
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, k)).toBe(false);
  }
  expect(typeof Object.prototype.toString).toBe('function');
  expect(typeof Object.prototype.hasOwnProperty).toBe('function');
  expect(typeof Object.prototype.propertyIsEnumerable).toBe('function');
  expect(typeof Object.prototype.valueOf).toBe('function');
  expect(String({})).toBe('[object Object]');
}

/** Undoes a pollution so one failing test (on a vulnerable build) does not poison the others. */
const saved = { toString: Object.prototype.toString, propertyIsEnumerable: Object.prototype.propertyIsEnumerable, valueOf: Object.prototype.valueOf };
function restorePrototype(): void {
  for (const k of POLLUTION_KEYS) delete (Object.prototype as Record<string, unknown>)[k];
  for (const [k, v] of Object.entries(saved)) {
    if ((Object.prototype as Record<string, unknown>)[k] !== v) {
      Object.defineProperty(Object.prototype, k, { value: v, writable: true, configurable: true, enumerable: false });
    }
  }
}

describe.each(dialects)('LeanCloud /1.1 security on %s', (_name, database) => {
  let t: RunningApp;
  let db: Awaited<ReturnType<typeof database>>;

  beforeAll(async () => {
    db = await database();
    t = await startApp(lcConfig({ databaseUrl: db.url }));
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });
  afterEach(() => restorePrototype());

  const call = (method: string, path: string, options: LcFetchOptions = {}) => lcFetch(t.base, method, path, options);

  async function signUp(extra: Record<string, unknown> = {}) {
    const res = await call('POST', '/1.1/users', { body: { username: uniq('s'), password: PW, ...extra } });
    expect(res.status).toBe(201);
    return res.body as { objectId: string; sessionToken: string; username: string; [k: string]: unknown };
  }

  describe('prototype pollution through update paths and values', () => {
    it('refuses __proto__ in a sign-up path (code 105) and the session-forging takeover fails', async () => {
      const victim = await signUp();
      const forged = { user: { id: victim.objectId }, session: { amr: ['pwd'] } };
      const res = await call('POST', '/1.1/users', { body: { username: uniq('m'), password: PW, 'x.__proto__.session': forged } });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe(105);
      expectCleanPrototype();
      // The reviewer's takeover: refreshSessionToken with the app key only must stay refused.
      const refresh = await call('PUT', `/1.1/users/${victim.objectId}/refreshSessionToken`);
      expect(refresh.status).toBe(403);
      expect(refresh.body.code).toBe(206);
      expect(refresh.body.sessionToken).toBeUndefined();
      expectCleanPrototype();
    });

    it('refuses __proto__, constructor and prototype in any segment of a dotted path, on sign-up and update', async () => {
      const user = await signUp({ prefs: { theme: 'dark' } });
      const keys = [
        'prefs.__proto__.polluted',
        'prefs.constructor.prototype.polluted',
        'prefs.prototype.polluted',
        'prefs.a.__proto__',
        'prefs.constructor',
        'constructor.prototype.polluted',
        'constructor',
        'prototype',
      ];
      for (const key of keys) {
        const up = await call('POST', '/1.1/users', { body: { username: uniq('m'), password: PW, [key]: 'yes' } });
        expect(up.status, `sign-up ${key}`).toBe(400);
        expect(up.body.code, `sign-up ${key}`).toBe(105);
        expectCleanPrototype();
        const put = await call('PUT', `/1.1/users/${user.objectId}`, { session: user.sessionToken, body: { [key]: 'yes' } });
        expect(put.status, `update ${key}`).toBe(400);
        expect(put.body.code, `update ${key}`).toBe(105);
        expectCleanPrototype();
        const op = await call('PUT', `/1.1/users/${user.objectId}`, { session: user.sessionToken, body: { [key]: { __op: 'Increment', amount: 1 } } });
        expect(op.body.code, `op ${key}`).toBe(105);
        expectCleanPrototype();
      }
      const master = await call('PUT', `/1.1/users/${user.objectId}`, { master: true, body: { 'prefs.__proto__.isAdmin': true } });
      expect(master.body.code).toBe(105);
      expectCleanPrototype();
      // Nothing was written; ordinary dotted paths still work.
      const ok = await call('PUT', `/1.1/users/${user.objectId}?new=true`, { session: user.sessionToken, body: { 'prefs.font': 'serif' } });
      expect(ok.status).toBe(200);
      expect(ok.body.prefs).toEqual({ theme: 'dark', font: 'serif' });
    });

    it('refuses __proto__, constructor and prototype as nested keys of values and authData entries', async () => {
      const user = await signUp();
      const values = [
        JSON.parse('{"__proto__":{"polluted":"yes"}}'),
        { a: { constructor: { prototype: { polluted: 'yes' } } } },
        { list: [{ prototype: 1 }] },
      ];
      for (const value of values) {
        const up = await call('POST', '/1.1/users', { body: `{"username":"${uniq('m')}","password":"${PW}","prefs":${JSON.stringify(value)}}` });
        expect(up.body.code).toBe(105);
        const put = await call('PUT', `/1.1/users/${user.objectId}`, { session: user.sessionToken, body: `{"prefs":${JSON.stringify(value)}}` });
        expect(put.body.code).toBe(105);
        const add = await call('PUT', `/1.1/users/${user.objectId}`, { session: user.sessionToken, body: `{"tags":{"__op":"Add","objects":[${JSON.stringify(value)}]}}` });
        expect(add.body.code).toBe(105);
        expectCleanPrototype();
      }
      // Sent as JSON text, so the server's JSON.parse sees "__proto__" as an own key.
      const raw = await call('PUT', `/1.1/users/${user.objectId}`, { session: user.sessionToken, body: '{"prefs":{"__proto__":{"polluted":"yes"}}}' });
      expect(raw.body.code).toBe(105);
      const auth = await call('POST', '/1.1/users', { body: '{"authData":{"weixin":{"openid":"o-proto","__proto__":{"polluted":"yes"}}}}' });
      expect(auth.body.code).toBe(105);
      const platform = await call('PUT', `/1.1/users/${user.objectId}`, { session: user.sessionToken, body: { authData: { constructor: { id: 'x' } } } });
      expect(platform.body.code).toBe(105);
      expectCleanPrototype();
      const fetched = await call('GET', `/1.1/users/${user.objectId}`, { session: user.sessionToken });
      expect(fetched.body.prefs).toBeUndefined();
      expect(fetched.body.tags).toBeUndefined();
    });
  });

  describe('keys= projections', () => {
    it('never reaches Object.prototype and never answers 500', async () => {
      const user = await signUp({ prefs: { theme: 'dark' } });
      for (const keys of ['-__proto__.toString', '-__proto__.propertyIsEnumerable', '-constructor.prototype.valueOf', '-prefs.__proto__.toString']) {
        const res = await call('GET', `/1.1/users/${user.objectId}?keys=${encodeURIComponent(keys)}`);
        expect(res.status, keys).toBe(200);
        expect(res.body.username).toBe(user.username);
        expectCleanPrototype();
      }
      for (const keys of ['constructor', 'toString', '__proto__', 'prototype', 'username.length', 'prefs.constructor', '__proto__.toString', 'hasOwnProperty']) {
        const res = await call('GET', `/1.1/users/${user.objectId}?keys=${encodeURIComponent(keys)}`);
        expect(res.status, keys).toBe(200);
        expect(Object.keys(res.body).sort(), keys).toEqual(['createdAt', 'objectId', 'updatedAt']);
        expectCleanPrototype();
      }
      const both = await call('GET', `/1.1/users/${user.objectId}?keys=username,prefs.theme,-constructor`);
      expect(both.body).toMatchObject({ username: user.username, prefs: { theme: 'dark' } });
      const query = await call('GET', `/1.1/classes/_User?where=${encodeURIComponent(JSON.stringify({ objectId: user.objectId }))}&keys=-__proto__.toString`, { master: true });
      expect(query.status).toBe(200);
      expectCleanPrototype();
    });
  });

  describe('$regex in update and delete conditions', () => {
    it('is refused (102) without the master key, on PUT, DELETE and inside $or/$and and batch', async () => {
      const user = await signUp({ bio: `${'a'.repeat(20)}!` });
      const evil = { bio: { $regex: '^(a+)+$' } };
      const wheres = [evil, { bio: { $regex: '^a' } }, { $or: [{ username: user.username }, evil] }, { $and: [{ $or: [evil] }] }];
      for (const where of wheres) {
        const q = encodeURIComponent(JSON.stringify(where));
        const put = await call('PUT', `/1.1/users/${user.objectId}?where=${q}`, { session: user.sessionToken, body: { x: 1 } });
        expect(put.status).toBe(400);
        expect(put.body.code).toBe(102);
        const del = await call('DELETE', `/1.1/classes/_User/${user.objectId}?where=${q}`, { session: user.sessionToken });
        expect(del.body.code).toBe(102);
      }
      const batch = await call('POST', '/1.1/batch', {
        session: user.sessionToken,
        body: { requests: [{ method: 'PUT', path: `/1.1/users/${user.objectId}?where=${encodeURIComponent(JSON.stringify(evil))}`, body: { x: 1 } }] },
      });
      expect(batch.body[0].error.code).toBe(102);
      // Still there, unchanged; conditions without $regex still work for the user.
      const fetched = await call('GET', `/1.1/users/${user.objectId}`, { session: user.sessionToken });
      expect(fetched.body.x).toBeUndefined();
      const plain = await call('PUT', `/1.1/users/${user.objectId}?where=${encodeURIComponent(JSON.stringify({ username: user.username }))}`, { session: user.sessionToken, body: { x: 2 } });
      expect(plain.status).toBe(200);
    });

    it('is allowed with the master key', async () => {
      const user = await signUp({ bio: 'hello world' });
      const ok = await call('PUT', `/1.1/users/${user.objectId}?where=${encodeURIComponent(JSON.stringify({ bio: { $regex: '^hello' } }))}`, { master: true, body: { x: 1 } });
      expect(ok.status).toBe(200);
      const miss = await call('PUT', `/1.1/users/${user.objectId}?where=${encodeURIComponent(JSON.stringify({ bio: { $regex: '^bye' } }))}`, { master: true, body: { x: 2 } });
      expect(miss.body.code).toBe(305);
    });
  });

  describe('authData visibility', () => {
    it('shows authData only to the user themselves and to the master key', async () => {
      const victim = await signUp({ email: `${uniq('v')}@example.com`, city: 'Hangzhou' });
      const secret = `SECRET-${uniq('wx')}`;
      const weixin = { openid: uniq('o'), access_token: secret, expires_in: 7200 };
      const linked = await call('PUT', `/1.1/users/${victim.objectId}`, { session: victim.sessionToken, body: { authData: { weixin } } });
      expect(linked.status).toBe(200);
      const other = await signUp();
      for (const path of [`/1.1/users/${victim.objectId}`, `/1.1/classes/_User/${victim.objectId}`]) {
        for (const options of [{}, { session: other.sessionToken }, { session: 'not-a-valid-token' }]) {
          const res = await call('GET', path, options);
          expect(res.status).toBe(200);
          expect(res.body.authData).toBeUndefined();
          expect(res.text).not.toContain(secret);
          // LeanCloud's other public fields stay visible.
          expect(res.body).toMatchObject({ objectId: victim.objectId, username: victim.username, email: victim.email, city: 'Hangzhou' });
        }
        for (const keys of ['authData', 'authData.weixin', 'authData.weixin.access_token', '-email']) {
          const res = await call('GET', `${path}?keys=${encodeURIComponent(keys)}`, { session: other.sessionToken });
          expect(res.body.authData, keys).toBeUndefined();
          expect(res.text).not.toContain(secret);
        }
        const own = await call('GET', path, { session: victim.sessionToken });
        expect(own.body.authData).toEqual({ weixin });
        const master = await call('GET', path, { master: true });
        expect(master.body.authData).toEqual({ weixin });
      }
      const batch = await call('POST', '/1.1/batch', { session: other.sessionToken, body: { requests: [{ method: 'GET', path: `/1.1/users/${victim.objectId}` }] } });
      expect(batch.body[0].success.username).toBe(victim.username);
      expect(batch.body[0].success.authData).toBeUndefined();
      const query = await call('GET', `/1.1/classes/_User?where=${encodeURIComponent(JSON.stringify({ objectId: victim.objectId }))}`, { master: true });
      expect(query.body.results[0].authData).toEqual({ weixin });
    });
  });

  describe('batch path sandbox', () => {
    it('refuses encoded dot segments, backslashes and NUL (107) and never reaches routes outside /1.1', async () => {
      const name = uniq('viaBatch');
      const paths = [
        '/1.1/%2e%2e/api/auth/sign-up',
        '/1.1/%2E%2E/api/auth/sign-up',
        '/1.1/.%2e/api/auth/sign-up',
        '/1.1/users/%2e%2e/%2e%2e/api/auth/sign-up',
        '%2e%2e/api/auth/sign-up',
        '/1.1/%252e%252e/api/auth/sign-up',
        '/1.1/..%2fapi/auth/sign-up',
        '/1.1/%2e%2e%5capi/auth/sign-up',
        '/1.1\\..\\api/auth/sign-up',
        '/1.1/users%00/../../api/auth/sign-up',
        '/1.1/./users',
        '/1.1/%zz/users',
      ];
      const res = await call('POST', '/1.1/batch', {
        body: { requests: paths.map((path) => ({ method: 'POST', path, body: { username: name, password: PW } })) },
      });
      expect(res.status).toBe(200);
      expect(res.body).toHaveLength(paths.length);
      for (const [i, item] of (res.body as Array<{ error?: { code: number } }>).entries()) expect(item.error?.code, paths[i]).toBe(107);
      const login = await call('POST', '/1.1/login', { body: { username: name, password: PW } });
      expect(login.body.code).toBe(211);
      const status = await call('POST', '/1.1/batch', { body: { requests: [{ method: 'GET', path: '/1.1/%2e%2e/api/status' }] } });
      expect(status.body[0].error.code).toBe(107);
    });

    it('still runs ordinary paths, with or without the /1.1 prefix and with query strings', async () => {
      const user = await signUp({ nick: 'n1' });
      const res = await call('POST', '/1.1/batch', {
        session: user.sessionToken,
        body: {
          requests: [
            { method: 'GET', path: `/1.1/users/${user.objectId}` },
            { method: 'GET', path: `users/${user.objectId}?keys=nick` },
            { method: 'PUT', path: `/1.1/classes/_User/${user.objectId}?where=${encodeURIComponent(JSON.stringify({ nick: 'n1' }))}`, body: { nick: 'n2' } },
            { method: 'GET', path: '/1.1/batch' },
          ],
        },
      });
      expect(res.body[0].success.username).toBe(user.username);
      expect(Object.keys(res.body[1].success).sort()).toEqual(['createdAt', 'nick', 'objectId', 'updatedAt']);
      expect(res.body[2].success.objectId).toBe(user.objectId);
      expect(res.body[3].error.code).toBe(107);
    });
  });

  describe('deeply nested where', () => {
    it('refuses $or/$and nested deeper than 32 levels with 102, never 500', async () => {
      const user = await signUp();
      const deep = (n: number) => `${'{"$or":['.repeat(n)}{"username":"${user.username}"}${']}'.repeat(n)}`;
      const batch = await call('POST', '/1.1/batch', {
        session: user.sessionToken,
        body: { requests: [{ method: 'PUT', path: `/1.1/users/${user.objectId}?where=${encodeURIComponent(deep(20_000))}`, body: { x: 1 } }] },
      });
      expect(batch.status).toBe(200);
      expect(batch.body[0].error.code).toBe(102);
      const url = await call('PUT', `/1.1/users/${user.objectId}?where=${encodeURIComponent(deep(40))}`, { session: user.sessionToken, body: { x: 1 } });
      expect(url.status).toBe(400);
      expect(url.body.code).toBe(102);
      const query = await call('GET', `/1.1/classes/_User?where=${encodeURIComponent(deep(40))}`, { master: true });
      expect(query.body.code).toBe(102);
      const shallow = await call('PUT', `/1.1/users/${user.objectId}?where=${encodeURIComponent(deep(10))}`, { session: user.sessionToken, body: { x: 1 } });
      expect(shallow.status).toBe(200);
    });
  });
});

describe.each(dialects)('LeanCloud /1.1 codes matched by the code alone: per-IP budget of wrong guesses on %s', (_name, database) => {
  let t: RunningApp;
  let db: Awaited<ReturnType<DatabaseFactory>>;
  let sms: SmsWebhookPeer;

  beforeAll(async () => {
    db = await database();
    sms = await startSmsWebhook();
    // A generous sign-in budget, so that only the code-guess budget (3 per hour here) can stop the guesses.
    t = await startApp(lcConfig({ databaseUrl: db.url, sms: { webhookUrl: sms.url }, rateLimit: { signInPerMinute: 1000, codeGuessesPerHour: 3 } }));
  });
  afterAll(async () => {
    await t.close();
    await sms.close();
    await db.drop();
  });

  const call = (method: string, path: string, options: LcFetchOptions = {}) => lcFetch(t.base, method, path, options);

  it('wrong code-alone guesses spend the budget; once spent even the right code is refused (429), while the code with its number still works', async () => {
    const phone = cnPhone();
    const created = await call('POST', '/1.1/users', { body: { username: uniq('sms'), password: PW, mobilePhoneNumber: phone } });
    expect(created.status).toBe(201);
    const before = sms.requests.length;
    expect((await call('POST', '/1.1/requestPasswordResetBySmsCode', { body: { mobilePhoneNumber: phone } })).status).toBe(200);
    const code = (await sms.waitFor((r, i) => i >= before && r.json?.to === phone)).json.code as string;
    const wrong = (n: number) => String((Number(code) + 1 + n) % 1_000_000).padStart(6, '0');

    for (let i = 0; i < 3; i++) {
      const guess = await call('PUT', `/1.1/resetPasswordBySmsCode/${wrong(i)}`, { body: { password: 'amber-canyon-4-whistle' } });
      expect([guess.status, guess.body.code]).toEqual([400, 603]);
    }
    // verifyMobilePhone shares the budget: spent.
    const spent = await call('POST', `/1.1/verifyMobilePhone/${wrong(5)}`);
    expect([spent.status, spent.body.code]).toEqual([429, 429]);
    const right = await call('PUT', `/1.1/resetPasswordBySmsCode/${code}`, { body: { password: 'amber-canyon-4-whistle' } });
    expect([right.status, right.body.code]).toEqual([429, 429]);
    // With its number the code is checked against that one code (its own attempt count), not the budget.
    const withNumber = await call('PUT', `/1.1/resetPasswordBySmsCode/${code}`, { body: { password: 'amber-canyon-4-whistle', mobilePhoneNumber: phone } });
    expect(withNumber.status).toBe(200);
    expect((await call('POST', '/1.1/login', { body: { mobilePhoneNumber: phone, password: 'amber-canyon-4-whistle' } })).status).toBe(200);
  });
});
