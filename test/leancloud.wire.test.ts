/**
 * Wire details of the `/1.1` surface over raw HTTP (what curl or another SDK sees), on SQLite and
 * PostgreSQL: app authentication, lenient parsing, status codes and LeanCloud error numbers, the
 * response shapes of shared/specs/leancloud.md, ACLs, mass-assignment refusal, queries and batch.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LogCapture, type RunningApp, startApp } from './helpers.js';
import { cnPhone, dialects, LC_KEYS, lcConfig, lcFetch, type LcFetchOptions, lcHeaders, PW, uniq } from './leancloud-helpers.js';
import { startSmsWebhook } from './peers.js';

const JSON_TYPE = /^application\/json; ?charset=utf-8$/i;

describe.each(dialects)('LeanCloud /1.1 wire format on %s', (_name, database) => {
  let t: RunningApp;
  let db: Awaited<ReturnType<typeof database>>;
  let sms: Awaited<ReturnType<typeof startSmsWebhook>>;
  const logs = new LogCapture();
  const secrets: string[] = [PW];

  beforeAll(async () => {
    sms = await startSmsWebhook();
    db = await database();
    t = await startApp(lcConfig({ databaseUrl: db.url, logLevel: 'info', sms: { webhookUrl: sms.url } }), { logStream: logs });
  });
  afterAll(async () => {
    await t.close();
    await sms.close();
    await db.drop();
    for (const s of secrets) expect(logs.mentions(s)).toBe(false);
  });

  const call = (method: string, path: string, options: LcFetchOptions = {}) => lcFetch(t.base, method, path, options);

  /** Signs up a fresh user over raw HTTP. */
  async function signUp(extra: Record<string, unknown> = {}) {
    const res = await call('POST', '/1.1/users', { body: { username: uniq('w'), password: PW, ...extra } });
    expect(res.status).toBe(201);
    secrets.push(res.body.sessionToken);
    return res.body as { objectId: string; sessionToken: string; username: string; [k: string]: unknown };
  }

  describe('app authentication', () => {
    it('refuses missing or wrong credentials with 401 {code:401, error:"Unauthorized."}', async () => {
      const body = { username: uniq(), password: PW };
      const cases: Record<string, string>[] = [
        {},
        { 'x-lc-id': LC_KEYS.appId },
        { 'x-lc-id': LC_KEYS.appId, 'x-lc-key': 'wrong-key-123456' },
        { 'x-lc-id': 'other-app', 'x-lc-key': LC_KEYS.appKey },
        { 'x-lc-id': LC_KEYS.appId, 'x-lc-key': `${LC_KEYS.appKey},master` },
        { 'x-lc-id': LC_KEYS.appId, 'x-lc-sign': `${'0'.repeat(32)},${Date.now()}` },
      ];
      for (const headers of cases) {
        const res = await call('POST', '/1.1/users', { headers, body });
        expect(res.status).toBe(401);
        expect(res.body).toEqual({ code: 401, error: 'Unauthorized.' });
        expect(res.headers.get('content-type')).toMatch(JSON_TYPE);
      }
    });

    it('accepts X-LC-Key and X-LC-Sign (within 15 minutes), with and without master', async () => {
      expect((await call('GET', '/1.1/users/me', { sign: true })).body.code).toBe(211);
      expect((await call('GET', '/1.1/users/me')).body.code).toBe(211);
      const old = String(Date.now() - 16 * 60_000);
      const stale = `${createHash('md5').update(old + LC_KEYS.appKey).digest('hex')},${old}`;
      expect((await call('GET', '/1.1/users/me', { headers: { 'x-lc-id': LC_KEYS.appId, 'x-lc-sign': stale } })).status).toBe(401);
      expect((await call('GET', '/1.1/classes/_User?limit=1', { master: true })).status).toBe(200);
      expect((await call('GET', '/1.1/classes/_User?limit=1', { master: true, sign: true })).status).toBe(200);
      const res = await call('GET', '/1.1/classes/_User?limit=1');
      expect(res.status).toBe(403);
      expect(res.body.code).toBe(403);
    });

    it('answers unknown routes with 404 code 101, and the pages need no credentials', async () => {
      const res = await call('GET', '/1.1/classes/Post/abc');
      expect(res).toMatchObject({ status: 404, body: { code: 101 } });
      const page = await fetch(`${t.base}/1.1/resetPassword`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    });
  });

  describe('parsing and response format', () => {
    it('signs up with 201, a Location header, the full user and a sessionToken (never the password)', async () => {
      const username = uniq('tom');
      const res = await call('POST', '/1.1/users', { body: { username, password: PW, phone: '18612340000' } });
      expect(res.status).toBe(201);
      expect(res.headers.get('content-type')).toMatch(JSON_TYPE);
      expect(res.headers.get('location')).toBe(`/1.1/classes/_User/${res.body.objectId}`);
      expect(res.body).toMatchObject({ username, phone: '18612340000', emailVerified: false, mobilePhoneVerified: false });
      expect(res.body.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(res.body.sessionToken).toEqual(expect.any(String));
      expect(res.text).not.toContain(PW);
      expect(res.text).not.toMatch(/argon2|password/);
      secrets.push(res.body.sessionToken);
    });

    it('reads JSON whatever the Content-Type, empty bodies as {}, and refuses malformed JSON with 107', async () => {
      const asText = await call('POST', '/1.1/users', {
        headers: { ...lcHeaders(), 'content-type': 'text/plain' },
        body: JSON.stringify({ username: uniq(), password: PW }),
      });
      expect(asText.status).toBe(201);
      secrets.push(asText.body.sessionToken);
      const session = asText.body.sessionToken as string;
      const empty = await call('PUT', `/1.1/users/${asText.body.objectId}/refreshSessionToken`, {
        headers: { ...lcHeaders({ session }), 'content-type': 'application/json;charset=UTF-8' },
      });
      expect(empty.status).toBe(200);
      secrets.push(empty.body.sessionToken);
      const get = await call('GET', `/1.1/users/${asText.body.objectId}`, { headers: { ...lcHeaders(), 'content-type': 'application/json;charset=UTF-8' } });
      expect(get.status).toBe(200);
      for (const bad of ['{"username":', '[1,2]', '"text"']) {
        const res = await call('POST', '/1.1/users', { body: bad });
        expect(res).toMatchObject({ status: 400, body: { code: 107 } });
      }
      const del = await call('DELETE', `/1.1/classes/_User/${asText.body.objectId}`, { session: empty.body.sessionToken, body: {} });
      expect(del).toMatchObject({ status: 200, body: {} });
    });

    it('maps sign-up and login failures to LeanCloud numbers', async () => {
      const cases: Array<[Record<string, unknown>, number]> = [
        [{ password: PW }, 200],
        [{ username: uniq() }, 201],
        [{ username: '   ', password: PW }, 217],
        [{ username: uniq(), password: PW, email: 'not-an-email' }, 125],
        [{ username: uniq(), password: PW, mobilePhoneNumber: '12' }, 127],
        [{ username: uniq(), password: 'short' }, 218],
        [{ username: uniq(), password: PW, emailVerified: true }, 119],
        [{ username: uniq(), password: PW, '1bad': 1 }, 105],
        [{ username: uniq(), password: PW, when: { __type: 'Date', iso: 'yesterday' } }, 111],
        [{ username: uniq(), password: PW, ACL: { '*': { read: 'yes' } } }, 123],
      ];
      for (const [body, code] of cases) {
        const res = await call('POST', '/1.1/users', { body });
        expect({ body, code: res.body.code, status: res.status }).toEqual({ body, code, status: code === 119 ? 403 : 400 });
      }
      const login = await call('POST', '/1.1/login', { body: { password: PW } });
      expect(login.body.code).toBe(200);
      expect((await call('POST', '/1.1/login', { body: { username: uniq() } })).body.code).toBe(201);
      expect((await call('POST', '/1.1/login', { body: { mobilePhoneNumber: cnPhone(), smsCode: '123456' } })).body.code).toBe(603);
    });

    it('accepts a stale X-LC-Session on public calls but answers 211 on /users/me', async () => {
      const user = await signUp();
      const login = await call('POST', '/1.1/login', { session: 'tss_stale', body: { username: user.username, password: PW } });
      expect(login.status).toBe(200);
      secrets.push(login.body.sessionToken);
      expect(login.body.sessionToken).not.toBe(user.sessionToken);
      const me = await call('GET', '/1.1/users/me', { session: login.body.sessionToken });
      expect(me.body).toMatchObject({ objectId: user.objectId, sessionToken: login.body.sessionToken });
      for (const session of [undefined, 'tss_stale', '0']) {
        const res = await call('GET', '/1.1/users/me', session ? { session } : {});
        expect(res).toMatchObject({ status: 400, body: { code: 211, error: 'Could not find user.' } });
      }
    });

    it('locks out after 6 failures with 219 and Retry-After', async () => {
      const user = await signUp();
      for (let i = 0; i < 6; i++) expect((await call('POST', '/1.1/login', { body: { username: user.username, password: `bad-${i}-password` } })).body.code).toBe(210);
      const locked = await call('POST', '/1.1/login', { body: { username: user.username, password: PW } });
      expect(locked.body.code).toBe(219);
      expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(800);
    });
  });

  it('counts wrong SMS codes towards the lockout too (219)', async () => {
    const phone = cnPhone();
    await signUp({ mobilePhoneNumber: phone });
    const codeFor = async () => {
      const before = sms.requests.length;
      expect((await call('POST', '/1.1/requestLoginSmsCode', { body: { mobilePhoneNumber: phone } })).status).toBe(200);
      const req = await sms.waitFor((r, i) => i >= before && r.json?.to === phone);
      secrets.push(req.json.code);
      return req.json.code as string;
    };
    const login = (smsCode: string) => call('POST', '/1.1/login', { body: { mobilePhoneNumber: phone, smsCode } });
    const first = await codeFor();
    const wrong = first === '000000' ? '111111' : '000000';
    for (let i = 0; i < 5; i++) expect((await login(wrong)).body.code).toBe(603);
    const second = await codeFor();
    expect((await login(second === '000000' ? '111111' : '000000')).body.code).toBe(603);
    expect((await login(second)).body.code).toBe(219);
  });

  describe('updates, ACL and mass assignment', () => {
    it('lets only the user (or master) write: 206 with HTTP 403 otherwise', async () => {
      const a = await signUp();
      const b = await signUp();
      for (const session of [undefined, b.sessionToken, 'tss_stale']) {
        const res = await call('PUT', `/1.1/users/${a.objectId}`, { ...(session ? { session } : {}), body: { nick: 'x' } });
        expect(res).toMatchObject({ status: 403, body: { code: 206, error: 'The user cannot be altered by a client without the session.' } });
        expect((await call('DELETE', `/1.1/users/${a.objectId}`, session ? { session } : {})).body.code).toBe(206);
        expect((await call('PUT', `/1.1/users/${a.objectId}/refreshSessionToken`, session ? { session } : {})).body.code).toBe(206);
      }
      const own = await call('PUT', `/1.1/users/${a.objectId}`, { session: a.sessionToken, body: { nick: 'mine' } });
      expect(own.status).toBe(200);
      expect(Object.keys(own.body).sort()).toEqual(['objectId', 'updatedAt']);
      const master = await call('PUT', `/1.1/classes/_User/${a.objectId}`, { master: true, body: { nick: 'by-master', emailVerified: true } });
      expect(master.status).toBe(200);
      expect((await call('GET', `/1.1/users/${a.objectId}`)).body).toMatchObject({ nick: 'by-master', emailVerified: true });
    });

    it('refuses protected fields (119), reserved keys (105), bad types (111); password only via updatePassword', async () => {
      const u = await signUp({ email: `${uniq('m')}@example.com` });
      const put = (body: Record<string, unknown>) => call('PUT', `/1.1/users/${u.objectId}`, { session: u.sessionToken, body });
      for (const key of ['emailVerified', 'mobilePhoneVerified', 'sessionToken', 'salt']) {
        expect(await put({ [key]: true })).toMatchObject({ status: 403, body: { code: 119 } });
      }
      expect((await put({ password: 'another-fine-password-9' })).body).toMatchObject({ code: 119, error: 'Use updatePassword to change an existing password.' });
      for (const key of ['objectId', 'createdAt', 'updatedAt', '_hidden', 'a-b']) expect((await put({ [key]: 'x' })).body.code).toBe(105);
      expect((await put({ nested: { $where: 1 } })).body.code).toBe(105);
      expect((await put({ score: 'text' })).status).toBe(200);
      expect((await put({ score: { __op: 'Increment', amount: 1 } })).body.code).toBe(111);
      expect((await put({ rel: { __op: 'AddRelation', objects: [] } })).body.code).toBe(111);
      // The refused writes changed nothing.
      const now = await call('GET', `/1.1/users/${u.objectId}`);
      expect(now.body).toMatchObject({ emailVerified: false, score: 'text' });
      expect(now.body.salt).toBeUndefined();
    });

    it('applies __op operators, dotted paths and ?new=true; a new email must be verified again', async () => {
      const u = await signUp({ email: `${uniq('m')}@example.com`, profile: { city: 'Beijing' } });
      await call('PUT', `/1.1/users/${u.objectId}`, { master: true, body: { emailVerified: true } });
      const res = await call('PUT', `/1.1/users/${u.objectId}?new=true`, {
        session: u.sessionToken,
        body: {
          score: { __op: 'Increment', amount: 2 },
          debt: { __op: 'Decrement', amount: 3 },
          flags: { __op: 'BitOr', value: 5 },
          tags: { __op: 'Add', objects: ['a', 'b'] },
          'profile.city': 'Hangzhou',
          'profile.zip': '310000',
          email: `${uniq('n')}@example.com`,
        },
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ score: 2, debt: -3, flags: 5, tags: ['a', 'b'], profile: { city: 'Hangzhou', zip: '310000' } });
      const after = await call('GET', `/1.1/users/${u.objectId}`);
      expect(after.body.emailVerified).toBe(false);
      const removed = await call('PUT', `/1.1/users/${u.objectId}?fetchWhenSave=true`, {
        session: u.sessionToken,
        body: { 'profile.zip': { __op: 'Delete' }, tags: { __op: 'Remove', objects: ['a'] } },
      });
      expect(removed.body).toMatchObject({ profile: { city: 'Hangzhou' }, tags: ['b'] });
    });

    it('never loses a concurrent Increment', async () => {
      const u = await signUp();
      const all = await Promise.all(
        Array.from({ length: 20 }, () => call('PUT', `/1.1/users/${u.objectId}`, { session: u.sessionToken, body: { hits: { __op: 'Increment' } } })),
      );
      expect(all.every((r) => r.status === 200)).toBe(true);
      expect((await call('GET', `/1.1/users/${u.objectId}`)).body.hits).toBe(20);
    });

    it('checks uniqueness on update (202, 203, 214) and honours ?where= (305)', async () => {
      const phone = cnPhone();
      const email = `${uniq('e')}@example.com`;
      const taken = await signUp({ email, mobilePhoneNumber: phone });
      const u = await signUp();
      const put = (body: Record<string, unknown>, query = '') => call('PUT', `/1.1/users/${u.objectId}${query}`, { session: u.sessionToken, body });
      expect((await put({ username: taken.username })).body.code).toBe(202);
      expect((await put({ email: email.toUpperCase() })).body.code).toBe(203);
      expect((await put({ mobilePhoneNumber: phone })).body.code).toBe(214);
      await put({ level: 1 });
      const where = encodeURIComponent(JSON.stringify({ level: 2 }));
      expect((await put({ level: 3 }, `?where=${where}`)).body.code).toBe(305);
      expect((await put({ level: 3 }, `?where=${encodeURIComponent(JSON.stringify({ level: 1 }))}`)).status).toBe(200);
      expect((await call('DELETE', `/1.1/users/${u.objectId}?where=${where}`, { session: u.sessionToken })).body.code).toBe(305);
    });

    it('honours the ACL for reads; master bypasses it; returnACL shows it', async () => {
      const u = await signUp();
      const other = await signUp();
      const acl = { [u.objectId]: { read: true, write: true } };
      expect((await call('PUT', `/1.1/users/${u.objectId}`, { session: u.sessionToken, body: { ACL: acl } })).status).toBe(200);
      expect((await call('GET', `/1.1/users/${u.objectId}`)).body.code).toBe(211);
      expect((await call('GET', `/1.1/users/${u.objectId}`, { session: other.sessionToken })).body.code).toBe(211);
      expect((await call('GET', `/1.1/users/${u.objectId}`, { session: u.sessionToken })).status).toBe(200);
      const master = await call('GET', `/1.1/classes/_User/${u.objectId}?returnACL=true`, { master: true });
      expect(master.body.ACL).toEqual(acl);
      const pub = await call('GET', `/1.1/users/${other.objectId}?returnACL=true&keys=username`);
      expect(Object.keys(pub.body).sort()).toEqual(['createdAt', 'objectId', 'updatedAt', 'username']);
      const keysOut = await call('GET', `/1.1/users/${other.objectId}?keys=-username`);
      expect(keysOut.body.username).toBeUndefined();
      expect(keysOut.body.objectId).toBe(other.objectId);
    });
  });

  describe('authData', () => {
    it('signs up (201) and logs in (200) with authData, links by PUT (merged), unlinks with a dotted Delete', async () => {
      const openid = uniq('qq');
      const qq = { openid, access_token: '12345678-SaMpLe', expires_in: 1382686496 };
      const first = await call('POST', '/1.1/users', { body: { authData: { qq } } });
      expect(first.status).toBe(201);
      expect(first.body).toMatchObject({ authData: { qq }, emailVerified: false, mobilePhoneVerified: false });
      expect(first.body.username).toMatch(/^[a-z0-9]{25}$/);
      secrets.push(first.body.sessionToken);
      const again = await call('POST', '/1.1/users', { body: { authData: { qq: { ...qq, access_token: 'new' } } } });
      expect(again.status).toBe(200);
      expect(again.body.objectId).toBe(first.body.objectId);
      secrets.push(again.body.sessionToken);
      const weixin = { uid: uniq('wx'), access_token: 'w' };
      const linked = await call('PUT', `/1.1/users/${first.body.objectId}?new=true`, { session: again.body.sessionToken, body: { authData: { weixin } } });
      expect(linked.body.authData).toEqual({ qq: { ...qq, access_token: 'new' }, weixin });
      const unlinked = await call('PUT', `/1.1/users/${first.body.objectId}`, { session: again.body.sessionToken, body: { 'authData.weixin': { __op: 'Delete' } } });
      expect(Object.keys(unlinked.body).sort()).toEqual(['objectId', 'updatedAt']);
      expect((await call('GET', `/1.1/users/${first.body.objectId}`, { session: again.body.sessionToken })).body.authData).toEqual({ qq: { ...qq, access_token: 'new' } });
      // authData (access tokens) is shown only to the user themselves and the master key.
      expect((await call('GET', `/1.1/users/${first.body.objectId}`)).body.authData).toBeUndefined();
      expect((await call('POST', '/1.1/users?failOnNotExist=true', { body: { authData: { weixin } } })).body).toEqual({ code: 211, error: 'Could not find user.' });
      expect((await call('POST', '/1.1/users', { body: { authData: { weibo: { access_token: 'no-id' } } } })).body.code).toBe(250);
    });

    it('stores the UnionID of a main account and signs other platforms in to it (seed 004 example)', async () => {
      const unionid = uniq('ox7NLs');
      const body = {
        authData: {
          wxleanoffice: { openid: uniq('oTY'), access_token: 'a', expires_in: 7200, scope: 'snsapi_userinfo', unionid, platform: 'weixin', main_account: 'true' },
          wxleansupport: { openid: uniq('ZTY'), access_token: 'b', expires_in: 7200, scope: 'snsapi_userinfo', unionid, platform: 'weixin', main_account: 'false' },
        },
      };
      const res = await call('POST', '/1.1/users', { body });
      expect(res.status).toBe(201);
      expect(res.body.authData._weixin_unionid).toEqual({ uid: unionid });
      secrets.push(res.body.sessionToken);
      const third = await call('POST', '/1.1/users', { body: { authData: { wxapp: { openid: uniq('x'), unionid, platform: 'weixin' } } } });
      expect(third.status).toBe(200);
      expect(third.body.objectId).toBe(res.body.objectId);
      secrets.push(third.body.sessionToken);
    });
  });

  describe('queries and batch', () => {
    it('supports where operators, order, skip, limit, keys and count', async () => {
      const team = uniq('team');
      const made = [];
      for (const [i, city] of ['Shanghai', 'Hangzhou', 'Beijing', 'Shanghai'].entries()) {
        made.push(await signUp({ team, rank: i, city, ...(i === 0 ? { vip: true } : {}), joined: { __type: 'Date', iso: `202${i}-01-01T00:00:00.000Z` } }));
      }
      const q = async (params: Record<string, unknown>) => {
        const qs = Object.entries(params)
          .map(([k, v]) => `${k}=${encodeURIComponent(typeof v === 'string' ? v : JSON.stringify(v))}`)
          .join('&');
        return call('GET', `/1.1/users?${qs}`, { master: true });
      };
      const ranks = (r: { body: { results: Array<{ rank: number }> } }) => r.body.results.map((x) => x.rank);
      expect(ranks(await q({ where: { team, city: 'Shanghai' }, order: 'rank' }))).toEqual([0, 3]);
      expect(ranks(await q({ where: { team, rank: { $gte: 1, $lt: 3 } }, order: '-rank' }))).toEqual([2, 1]);
      expect(ranks(await q({ where: { team, city: { $nin: ['Shanghai'] } }, order: 'rank' }))).toEqual([1, 2]);
      expect(ranks(await q({ where: { team, vip: { $exists: true } } }))).toEqual([0]);
      expect(ranks(await q({ where: { team, $or: [{ rank: 0 }, { city: 'Beijing' }] }, order: 'rank' }))).toEqual([0, 2]);
      expect(ranks(await q({ where: { team, city: { $regex: '^\\Qhang\\E', $options: 'i' } } }))).toEqual([1]);
      expect(ranks(await q({ where: { team, joined: { $gte: { __type: 'Date', iso: '2022-01-01T00:00:00.000Z' } } }, order: 'rank' }))).toEqual([2, 3]);
      expect(ranks(await q({ where: { team, objectId: { $in: [made[1]!.objectId, made[3]!.objectId] } }, order: '-rank' }))).toEqual([3, 1]);
      expect(ranks(await q({ where: { team, username: made[2]!.username } }))).toEqual([2]);
      expect(ranks(await q({ where: { team }, order: 'rank', skip: '1', limit: '2' }))).toEqual([1, 2]);
      const counted = await q({ where: { team }, count: '1', limit: '0' });
      expect(counted.body).toEqual({ results: [], count: 4 });
      const keyed = await q({ where: { team, rank: 0 }, keys: 'city' });
      expect(Object.keys(keyed.body.results[0]).sort()).toEqual(['city', 'createdAt', 'objectId', 'updatedAt']);
      expect(keyed.body.results[0].sessionToken).toBeUndefined();
      expect((await q({ where: '{bad' })).body.code).toBe(107);
      expect((await q({ where: { team: { $inQuery: {} } } })).body.code).toBe(102);
      expect((await q({ where: { city: { $regex: '(' } } })).body.code).toBe(102);
    });

    it('runs batches: each item as if alone, results in order, 200 overall', async () => {
      const u = await signUp();
      const res = await call('POST', '/1.1/batch', {
        session: u.sessionToken,
        body: {
          requests: [
            { method: 'PUT', path: `/1.1/classes/_User/${u.objectId}`, body: { nick: 'batched' } },
            { method: 'GET', path: `/1.1/users/${u.objectId}`, params: { keys: 'nick' } },
            { method: 'GET', path: '/1.1/classes/_User', params: { where: { objectId: u.objectId } } },
            { method: 'DELETE', path: '/1.1/users/ffffffffffffffffffffffff' },
            { method: 'POST', path: '/1.1/batch', body: { requests: [] } },
          ],
        },
      });
      expect(res.status).toBe(200);
      expect(res.body[0].success).toMatchObject({ objectId: u.objectId });
      expect(res.body[1].success).toMatchObject({ objectId: u.objectId, nick: 'batched' });
      expect(res.body[2].error).toMatchObject({ code: 403 });
      expect(res.body[3].error).toMatchObject({ code: 206 });
      expect(res.body[4].error).toMatchObject({ code: 107 });
      const master = await call('POST', '/1.1/batch', { master: true, body: { requests: [{ method: 'GET', path: '/1.1/classes/_User', params: { where: { objectId: u.objectId } } }] } });
      expect(master.body[0].success.results[0].nick).toBe('batched');
    });
  });

  describe('SMS and email endpoints', () => {
    it('answers {} for requests, 212/204 for missing identifiers, 213/205 for unknown ones, 603 for bad codes', async () => {
      const phone = cnPhone();
      const before = sms.requests.length;
      expect(await call('POST', '/1.1/requestSmsCode', { body: { mobilePhoneNumber: phone, template: 'x', sign: 'y' } })).toMatchObject({ status: 200, body: {} });
      const req = await sms.waitFor((r, i) => i >= before && r.json?.to === phone);
      secrets.push(req.json.code);
      expect((await call('POST', '/1.1/requestSmsCode', { body: {} })).body.code).toBe(212);
      expect((await call('POST', '/1.1/requestSmsCode', { body: { mobilePhoneNumber: '123' } })).body.code).toBe(127);
      for (const path of ['/1.1/requestLoginSmsCode', '/1.1/requestPasswordResetBySmsCode', '/1.1/requestMobilePhoneVerify']) {
        expect((await call('POST', path, { body: { mobilePhoneNumber: cnPhone() } })).body.code).toBe(213);
        expect((await call('POST', path, { body: {} })).body.code).toBe(212);
      }
      for (const path of ['/1.1/requestPasswordReset', '/1.1/requestEmailVerify']) {
        expect((await call('POST', path, { body: { email: `${uniq('x')}@example.com` } })).body.code).toBe(205);
        expect((await call('POST', path, { body: {} })).body.code).toBe(204);
      }
      expect((await call('PUT', '/1.1/resetPasswordBySmsCode/000000', { body: { password: 'x-new-password-1' } })).body.code).toBe(603);
      expect((await call('POST', '/1.1/verifyMobilePhone/000000')).body.code).toBe(603);
      expect((await call('POST', '/1.1/requestChangePhoneNumber', { body: { mobilePhoneNumber: cnPhone() } })).body.code).toBe(206);
      // usersByMobilePhone: 201 when it creates, 200 when it logs in
      const created = await call('POST', '/1.1/usersByMobilePhone', { body: { mobilePhoneNumber: phone, smsCode: req.json.code } });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ username: phone, mobilePhoneNumber: phone, mobilePhoneVerified: true });
      secrets.push(created.body.sessionToken);
      const b2 = sms.requests.length;
      await call('POST', '/1.1/requestLoginSmsCode', { body: { mobilePhoneNumber: phone } });
      const login = await sms.waitFor((r, i) => i >= b2 && r.json?.to === phone);
      secrets.push(login.json.code);
      const again = await call('POST', '/1.1/usersByMobilePhone', { body: { mobilePhoneNumber: phone, smsCode: login.json.code } });
      expect(again.status).toBe(200);
      expect(again.body.objectId).toBe(created.body.objectId);
      secrets.push(again.body.sessionToken);
    });
  });
});
