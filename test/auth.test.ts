import { hash as bcryptHash } from '@node-rs/bcrypt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/util/clock.js';
import { type DatabaseFactory, dialects, LogCapture, type RunningApp, startApp, testConfig } from './helpers.js';

const PW = 'violet-harbor-7-lantern';
let seq = 0;
const uniq = (p = 'user') => `${p}${Date.now().toString(36)}${seq++}`;


describe.each(dialects)('first-party auth API over HTTP on %s', (_name, database) => {
  let t: RunningApp;
  let db: Awaited<ReturnType<DatabaseFactory>>;
  beforeAll(async () => {
    db = await database();
    t = await startApp(testConfig({ databaseUrl: db.url }));
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  async function signUp(body: Record<string, unknown>) {
    const res = await t.call('POST', '/api/auth/sign-up', { body: { password: PW, ...body } });
    return { status: res.status, body: await res.json() };
  }

  describe('POST /api/auth/sign-up', () => {
    it('creates the user and a session; never returns the hash', async () => {
      const username = uniq();
      const { status, body } = await signUp({
        username,
        email: `${username}@Example.COM`,
        phone: '+1 (415) 555-0100',
        name: 'Ada',
        profile: { givenName: 'Ada', address: { country: 'UK' } },
        customData: { plan: 'pro' },
      });
      expect(status).toBe(201);
      expect(body.user).toMatchObject({
        username,
        primaryEmail: `${username}@Example.COM`,
        primaryPhone: '+14155550100',
        name: 'Ada',
        profile: { givenName: 'Ada', address: { country: 'UK' } },
        customData: { plan: 'pro' },
        emailVerified: false,
        isSuspended: false,
        hasPassword: true,
      });
      expect(body.user.id).toMatch(/^[0-9a-f]{24}$/);
      expect(JSON.stringify(body)).not.toMatch(/argon2|passwordHash/);
      expect(body.session.token).toMatch(/^tss_[A-Za-z0-9_-]{43}$/);
      const ttl = Date.parse(body.session.expiresAt) - Date.now();
      expect(ttl).toBeGreaterThan(29 * 86_400_000);
      expect(ttl).toBeLessThanOrEqual(30 * 86_400_000);
    });

    it('requires an identifier and a password', async () => {
      expect((await signUp({})).body.code).toBe('user.identifier_required');
      const res = await t.call('POST', '/api/auth/sign-up', { body: { username: uniq() } });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ code: 'request.invalid', data: { issues: [{ path: 'body.password' }] } });
    });

    it('rejects weak passwords with the policy issues (422)', async () => {
      const username = uniq('weak');
      const short = await signUp({ username, password: 'abc12' });
      expect(short.status).toBe(422);
      expect(short.body.code).toBe('password.rejected');
      expect(short.body.data.issues).toContainEqual({ code: 'password_rejected.too_short', interpolation: { min: 8 } });
      const common = await signUp({ username, password: 'password123' });
      expect(common.body.data.issues.map((i: { code: string }) => i.code)).toContain('password_rejected.common');
      const personal = await signUp({ username, password: `${username}-xyz-42` });
      expect(personal.body.data.issues.map((i: { code: string }) => i.code)).toContain('password_rejected.user_info');
      // nothing was written
      expect(await t.app.services.users.findByIdentifier('username', username)).toBeUndefined();
    });

    it('validates identifiers', async () => {
      expect((await signUp({ email: 'not-an-email' })).body.code).toBe('user.invalid_email');
      expect((await signUp({ phone: '12' })).body.code).toBe('user.invalid_phone');
      expect((await signUp({ username: 'has space' })).body.code).toBe('user.invalid_username');
    });

    it('refuses taken identifiers: username exact, email case-insensitive, phone in any format', async () => {
      const username = uniq();
      const email = `${username}@example.com`;
      expect((await signUp({ username, email, phone: '+44 20 7946 0958' })).status).toBe(201);
      const u = await signUp({ username });
      expect(u).toMatchObject({ status: 409, body: { code: 'user.username_taken' } });
      expect((await signUp({ email: email.toUpperCase() })).body.code).toBe('user.email_taken');
      expect((await signUp({ phone: '+442079460958' })).body.code).toBe('user.phone_taken');
    });

    it('lets exactly one of 20 concurrent sign-ups with one username win', async () => {
      const username = uniq('race');
      const results = await Promise.all(Array.from({ length: 20 }, () => signUp({ username })));
      expect(results.filter((r) => r.status === 201)).toHaveLength(1);
      const losers = results.filter((r) => r.status !== 201);
      expect(losers).toHaveLength(19);
      for (const l of losers) expect(l).toMatchObject({ status: 409, body: { code: 'user.username_taken' } });
    });

    it('refuses fields a client must not set (no mass assignment)', async () => {
      for (const extra of [{ isSuspended: true }, { id: 'a'.repeat(24) }, { emailVerified: true }, { passwordHash: 'x' }]) {
        const r = await signUp({ username: uniq(), ...extra });
        expect(r.status).toBe(400);
        expect(r.body.code).toBe('request.invalid');
        expect(r.body.data.issues[0].code).toBe('unrecognized_keys');
      }
      const r = await signUp({ username: uniq(), profile: { role: 'admin' } });
      expect(r.body.data.issues[0].path).toBe('body.profile');
    });
  });

  describe('POST /api/auth/sign-in', () => {
    let username: string;
    let email: string;
    beforeAll(async () => {
      username = uniq('si');
      email = `${username}@example.com`;
      await signUp({ username, email, phone: '+1 415 555 0142' });
    });

    it('signs in by username, email (any case) or phone (any format)', async () => {
      for (const id of [{ username }, { email: email.toUpperCase() }, { phone: '+1-415-555-0142' }]) {
        const res = await t.call('POST', '/api/auth/sign-in', { body: { ...id, password: PW } });
        expect(res.status).toBe(200);
        const body = await res.json();
        expect(body.user.username).toBe(username);
        expect(body.user.lastSignInAt).toBeGreaterThan(0);
        expect(body.session.token).toMatch(/^tss_/);
      }
    });

    it('answers unknown users and wrong passwords alike', async () => {
      const wrong = await t.call('POST', '/api/auth/sign-in', { body: { username, password: 'not-the-password' } });
      const unknown = await t.call('POST', '/api/auth/sign-in', { body: { username: uniq('ghost'), password: PW } });
      const malformed = await t.call('POST', '/api/auth/sign-in', { body: { email: 'no-at-sign', password: PW } });
      expect(wrong.status).toBe(401);
      expect(unknown.status).toBe(401);
      expect(malformed.status).toBe(401);
      const bodies = [await wrong.json(), await unknown.json(), await malformed.json()];
      expect(bodies[1]).toEqual(bodies[0]);
      expect(bodies[2]).toEqual(bodies[0]);
      expect(bodies[0].code).toBe('auth.invalid_credentials');
    });

    it('needs exactly one identifier', async () => {
      const two = await t.call('POST', '/api/auth/sign-in', { body: { username, email, password: PW } });
      expect(two.status).toBe(400);
      expect((await two.json()).code).toBe('auth.identifier_required');
      const none = await t.call('POST', '/api/auth/sign-in', { body: { password: PW } });
      expect((await none.json()).code).toBe('auth.identifier_required');
    });

    it('upgrades an imported bcrypt hash to argon2id on success', async () => {
      const { users, store } = t.app.services;
      const legacy = await users.create({ username: uniq('legacy'), passwordHash: await bcryptHash(PW, 10) });
      const res = await t.call('POST', '/api/auth/sign-in', { body: { username: legacy.username, password: PW } });
      expect(res.status).toBe(200);
      expect((await store.users.findById(legacy.id))?.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    });
  });

  describe('session endpoints', () => {
    async function fresh() {
      const { body } = await signUp({ username: uniq('s') });
      return body as { user: { id: string }; session: { token: string } };
    }

    it('GET /api/auth/me returns the user for a live token, 401 otherwise', async () => {
      const { user, session } = await fresh();
      const me = await t.call('GET', '/api/auth/me', { token: session.token });
      expect(me.status).toBe(200);
      expect((await me.json()).id).toBe(user.id);
      for (const headers of [{} as Record<string, string>, { authorization: 'Basic abc' }, { authorization: 'Bearer tss_bogus' }, { authorization: 'Bearer' }]) {
        const res = await t.call('GET', '/api/auth/me', { headers });
        expect(res.status).toBe(401);
        expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
        expect((await res.json()).code).toBe('auth.unauthorized');
      }
    });

    it('GET /api/auth/session reports the session; a dead token is inactive', async () => {
      const { user, session } = await fresh();
      const res = await t.call('GET', '/api/auth/session', { token: session.token });
      const body = await res.json();
      expect(body).toMatchObject({ active: true, userId: user.id });
      expect(Date.parse(body.expiresAt) - Date.parse(body.issuedAt)).toBe(14 * 86_400_000);
      expect(await (await t.call('GET', '/api/auth/session', { token: 'tss_nope' })).json()).toEqual({ active: false });
      expect((await t.call('GET', '/api/auth/session')).status).toBe(401);
    });

    it('POST /api/auth/refresh rotates: the new token works, the old one is dead', async () => {
      const { user, session } = await fresh();
      const res = await t.call('POST', '/api/auth/refresh', { token: session.token });
      expect(res.status).toBe(200);
      const body = await res.json();
      expect(body.user.id).toBe(user.id);
      expect(body.session.token).not.toBe(session.token);
      expect((await t.call('GET', '/api/auth/me', { token: body.session.token })).status).toBe(200);
      expect((await t.call('GET', '/api/auth/me', { token: session.token })).status).toBe(401);
      expect((await t.call('POST', '/api/auth/refresh', { token: session.token })).status).toBe(401);
      expect((await t.call('POST', '/api/auth/refresh')).status).toBe(401);
    });

    it('of concurrent refreshes with one token exactly one succeeds', async () => {
      const { session } = await fresh();
      const all = await Promise.all(Array.from({ length: 8 }, () => t.call('POST', '/api/auth/refresh', { token: session.token })));
      expect(all.filter((r) => r.status === 200)).toHaveLength(1);
      expect(all.filter((r) => r.status === 401)).toHaveLength(7);
    });

    it('POST /api/auth/sign-out ends only the calling session', async () => {
      const { user, session } = await fresh();
      const other = await t.call('POST', '/api/auth/sign-in', { body: { username: (await t.app.services.users.require(user.id)).username, password: PW } });
      const otherToken = (await other.json()).session.token;
      const out = await t.call('POST', '/api/auth/sign-out', { token: session.token });
      expect(out.status).toBe(204);
      expect((await t.call('GET', '/api/auth/me', { token: session.token })).status).toBe(401);
      expect((await t.call('POST', '/api/auth/sign-out', { token: session.token })).status).toBe(401);
      expect((await t.call('GET', '/api/auth/me', { token: otherToken })).status).toBe(200);
      expect((await t.call('POST', '/api/auth/sign-out')).status).toBe(401);
    });
  });

  describe('other endpoints', () => {
    it('GET /api/status answers 204', async () => {
      expect((await t.call('GET', '/api/status')).status).toBe(204);
    });

    it("sends helmet's security headers on answers and errors alike", async () => {
      for (const res of [await t.call('GET', '/api/status'), await t.call('GET', '/api/nope'), await t.call('GET', '/api/auth/me')]) {
        expect(res.headers.get('x-content-type-options')).toBe('nosniff');
        expect(res.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
        expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'self'");
        expect(res.headers.get('content-security-policy')).toContain("form-action 'self'");
        expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
      }
    });

    it('POST /api/auth/password-strength reports valid, score, level, message', async () => {
      const weak = await (await t.call('POST', '/api/auth/password-strength', { body: { password: 'password1' } })).json();
      expect(weak).toMatchObject({ valid: false, score: 0, level: 1 });
      expect(weak.issues).toContainEqual({ code: 'password_rejected.common' });
      const strong = await (await t.call('POST', '/api/auth/password-strength', { body: { password: 'Tr0ub4dour&3-horse-staple!' } })).json();
      expect(strong).toMatchObject({ valid: true, issues: [] });
      expect(strong.score).toBeGreaterThanOrEqual(3);
      expect(typeof strong.message).toBe('string');
      const bad = await t.call('POST', '/api/auth/password-strength', { body: { password: 42 } });
      expect((await bad.json()).code).toBe('request.invalid');
    });

    it('serves the OpenAPI document and its UI', async () => {
      const doc = await (await t.call('GET', '/api/openapi.json')).json();
      expect(doc.openapi).toBe('3.1.0');
      for (const p of ['/api/auth/sign-up', '/api/auth/sign-in', '/api/auth/sign-out', '/api/auth/refresh', '/api/auth/session', '/api/auth/me', '/api/status']) {
        expect(doc.paths).toHaveProperty([p]);
      }
      const ui = await t.call('GET', '/api/docs/');
      expect(ui.status).toBe(200);
      expect(ui.headers.get('content-type')).toMatch(/text\/html/);
    });
  });

  describe('bad input never yields a 500', () => {
    it('malformed JSON, empty JSON, wrong types, unsupported media type, unknown routes', async () => {
      const cases: Array<[RequestInit & { path?: string }, number, string]> = [
        [{ body: '{"username": "a", ', headers: { 'content-type': 'application/json' } }, 400, 'request.malformed_json'],
        // An empty body is no body (issue 16); sign-in needs one.
        [{ body: '', headers: { 'content-type': 'application/json' } }, 400, 'request.invalid'],
        [{ body: '[1,2]', headers: { 'content-type': 'application/json' } }, 400, 'request.invalid'],
        [{ body: '{"username": 7, "password": ["x"]}', headers: { 'content-type': 'application/json' } }, 400, 'request.invalid'],
        [{ body: 'username=a', headers: { 'content-type': 'text/plain' } }, 415, 'request.unsupported_media_type'],
        [{ path: '/api/nope' }, 404, 'request.not_found'],
      ];
      for (const [init, status, code] of cases) {
        const res = await fetch(t.base + (init.path ?? '/api/auth/sign-in'), { method: 'POST', ...init });
        expect([res.status, (await res.json()).code]).toEqual([status, code]);
      }
    });

    it('bodies over 1 MiB get 413', async () => {
      const body = JSON.stringify({ username: 'x', password: 'y'.repeat(1_100_000) });
      const res = await fetch(`${t.base}/api/auth/sign-up`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
      expect(res.status).toBe(413);
      expect((await res.json()).code).toBe('request.body_too_large');
    });

    it('over-long passwords are refused before hashing', async () => {
      const r = await signUp({ username: uniq(), password: 'z'.repeat(5000) });
      expect(r.status).toBe(400);
      expect(r.body.data.issues[0].path).toBe('body.password');
    });
  });
});

describe.each(dialects)('lockout, suspension and expiry (injected clock) on %s', (_name, database) => {
  const clock = new ManualClock(Date.UTC(2026, 10, 1));
  let t: RunningApp;
  let db: Awaited<ReturnType<DatabaseFactory>>;
  beforeAll(async () => {
    db = await database();
    t = await startApp(testConfig({ databaseUrl: db.url }), { clock });
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  const signIn = async (body: Record<string, unknown>) => {
    const res = await t.call('POST', '/api/auth/sign-in', { body });
    return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.json() };
  };

  it('locks an identifier after 6 failures within 15 min, for 15 min from the last failure', async () => {
    const username = uniq('lock');
    await t.call('POST', '/api/auth/sign-up', { body: { username, password: PW } });
    for (let i = 0; i < 6; i++) {
      expect((await signIn({ username, password: `wrong-${i}` })).body.code).toBe('auth.invalid_credentials');
      clock.advance(60_000);
    }
    clock.advance(-60_000); // back to the 6th failure's time
    const locked = await signIn({ username, password: PW });
    expect(locked.status).toBe(429);
    expect(locked.body.code).toBe('auth.too_many_failures');
    expect(locked.retryAfter).toBe('900');
    clock.advance(14 * 60_000);
    expect((await signIn({ username, password: PW })).retryAfter).toBe('60');
    clock.advance(60_000);
    expect((await signIn({ username, password: PW })).status).toBe(200);
  });

  it('forgets failures older than the window, and a success resets the count', async () => {
    const username = uniq('win');
    await t.call('POST', '/api/auth/sign-up', { body: { username, password: PW } });
    for (let i = 0; i < 5; i++) await signIn({ username, password: 'nope-nope' });
    clock.advance(16 * 60_000);
    for (let i = 0; i < 5; i++) await signIn({ username, password: 'nope-nope' });
    expect((await signIn({ username, password: PW })).status).toBe(200);
    for (let i = 0; i < 5; i++) await signIn({ username, password: 'nope-nope' });
    expect((await signIn({ username, password: PW })).status).toBe(200);
  });

  it('locks unknown identifiers exactly like known ones (no enumeration)', async () => {
    const ghost = uniq('ghost');
    for (let i = 0; i < 6; i++) expect((await signIn({ username: ghost, password: 'x' })).status).toBe(401);
    expect((await signIn({ username: ghost, password: 'x' })).body.code).toBe('auth.too_many_failures');
  });

  it('counts an email in any letter case as one identifier', async () => {
    const email = `${uniq('case')}@example.com`;
    await t.call('POST', '/api/auth/sign-up', { body: { email, password: PW } });
    for (let i = 0; i < 6; i++) await signIn({ email: i % 2 ? email.toUpperCase() : email, password: 'bad-bad' });
    expect((await signIn({ email, password: PW })).body.code).toBe('auth.too_many_failures');
  });

  it('suspended users cannot sign in, and their sessions stop working', async () => {
    const username = uniq('susp');
    const up = await (await t.call('POST', '/api/auth/sign-up', { body: { username, password: PW } })).json();
    await t.app.services.users.update(up.user.id, { isSuspended: true });
    const r = await signIn({ username, password: PW });
    expect(r.status).toBe(403);
    expect(r.body.code).toBe('auth.user_suspended');
    // the wrong password still gets the generic answer: suspension is only told to the owner
    expect((await signIn({ username, password: 'wrong-pass' })).body.code).toBe('auth.invalid_credentials');
    expect((await t.call('GET', '/api/auth/me', { token: up.session.token })).status).toBe(401);
  });

  it('ends sessions after 14 idle days, and after 30 days however often they are used', async () => {
    const idle = await (await t.call('POST', '/api/auth/sign-up', { body: { username: uniq('idle'), password: PW } })).json();
    clock.advance(14 * 86_400_000 - 1000);
    expect((await t.call('GET', '/api/auth/me', { token: idle.session.token })).status).toBe(200);
    clock.advance(14 * 86_400_000 - 1000);
    expect((await t.call('GET', '/api/auth/me', { token: idle.session.token })).status).toBe(200);
    clock.advance(14 * 86_400_000 + 1000);
    expect((await t.call('GET', '/api/auth/me', { token: idle.session.token })).status).toBe(401);

    const busy = await (await t.call('POST', '/api/auth/sign-up', { body: { username: uniq('busy'), password: PW } })).json();
    for (let day = 1; day < 30; day++) {
      clock.advance(86_400_000);
      expect((await t.call('GET', '/api/auth/me', { token: busy.session.token })).status).toBe(200);
    }
    clock.advance(86_400_000);
    expect((await t.call('GET', '/api/auth/me', { token: busy.session.token })).status).toBe(401);
  });
});

describe('per-IP rate limits', () => {
  it('answer 429 with Retry-After once the budget is spent', async () => {
    const t = await startApp(testConfig({ rateLimit: { signInPerMinute: 3, signUpPerHour: 2 } }));
    try {
      const codes: number[] = [];
      for (let i = 0; i < 4; i++) codes.push((await t.call('POST', '/api/auth/sign-in', { body: { username: 'x', password: 'y' } })).status);
      expect(codes).toEqual([401, 401, 401, 429]);
      const limited = await t.call('POST', '/api/auth/sign-in', { body: { username: 'x', password: 'y' } });
      expect((await limited.json()).code).toBe('request.rate_limited');
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      const ups: number[] = [];
      for (let i = 0; i < 3; i++) ups.push((await t.call('POST', '/api/auth/sign-up', { body: { username: uniq('rl'), password: PW } })).status);
      expect(ups).toEqual([201, 201, 429]);
    } finally {
      await t.close();
    }
  });
});

describe('logs', () => {
  it('never contain passwords or tokens', async () => {
    const logs = new LogCapture();
    const t = await startApp(testConfig({ logLevel: 'info' }), { logStream: logs });
    try {
      const username = uniq('log');
      const up = await (await t.call('POST', '/api/auth/sign-up', { body: { username, password: PW } })).json();
      await t.call('GET', `/api/auth/me?token=${up.session.token}&code=123456`, { token: up.session.token });
      await t.call('POST', '/api/auth/sign-in', { body: { username, password: 'a-wrong-secret-pass' } });
      await t.call('POST', '/api/auth/sign-in', { body: '{"broken', headers: { 'content-type': 'application/json' } });
      expect(logs.lines.length).toBeGreaterThan(4);
      expect(logs.text).toContain('/api/auth/me?token=[redacted]&code=[redacted]');
      for (const secret of [PW, up.session.token, up.session.token.slice(4), '123456', 'a-wrong-secret-pass']) {
        expect(logs.mentions(secret)).toBe(false);
      }
    } finally {
      await t.close();
    }
  });
});
