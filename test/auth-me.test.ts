/**
 * The SDK surface's self-service routes (issue 6, seed 003): PATCH /api/auth/me, /me/password,
 * /me/codes, bind/unbind/update email and phone, /security-level and /user-exists — over real HTTP on
 * 127.0.0.1, with codes read from a real SMTP sink and SMS webhook.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/util/clock.js';
import { type DatabaseFactory, dialects, LogCapture, type RunningApp, startApp, testConfig } from './helpers.js';
import { extractCode, startSmsWebhook, startSmtpSink } from './peers.js';

const PW = 'violet-harbor-7-lantern';
const PW2 = 'copper-meadow-42-quill';
let seq = 0;
const uniq = (p = 'u') => `${p}${Date.now().toString(36)}${seq++}`;
/** A valid, unused US number (555-01xx is reserved for fiction). */
const phoneOf = (n: number) => `+1415555${String(100 + (n % 100)).padStart(4, '0')}`;

/** Just past the recent-sign-in window of sensitive changes (10 minutes), ms. */
const STALE_MS = 10 * 60 * 1000 + 1000;

describe.each(dialects)('SDK self-service on %s', (_name, database) => {
  const clock = new ManualClock(Date.now());
  const logs = new LogCapture();
  let smtp: Awaited<ReturnType<typeof startSmtpSink>>;
  let sms: Awaited<ReturnType<typeof startSmsWebhook>>;
  let db: Awaited<ReturnType<DatabaseFactory>>;
  let t: RunningApp;
  const codesSeen: string[] = [];
  const bodiesSeen: string[] = [];

  beforeAll(async () => {
    smtp = await startSmtpSink();
    sms = await startSmsWebhook();
    db = await database();
    t = await startApp(
      testConfig({
        databaseUrl: db.url,
        logLevel: 'info',
        email: { smtpUrl: smtp.url },
        sms: { webhookUrl: sms.url },
        codes: { resendIntervalSeconds: 0 },
        signIn: { sendVerifyEmail: false },
      }),
      { logStream: logs, clock },
    );
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
    await sms?.close();
    await db?.drop();
    // No response body and no log line ever carried a code.
    expect(codesSeen.length).toBeGreaterThan(5);
    // A code is a digit run of its own: not part of a longer number (a timestamp, a responseTime like 61.482962999…).
    for (const c of codesSeen) {
      const alone = new RegExp(`(?<![0-9.])${c}(?![0-9])`);
      expect(logs.text).not.toMatch(alone);
      for (const b of bodiesSeen) expect(b).not.toMatch(alone);
    }
  });

  async function call(method: string, path: string, options: Parameters<RunningApp['call']>[2] = {}) {
    const res = await t.call(method, path, options);
    const text = await res.text();
    bodiesSeen.push(text);
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }

  async function signUp(body: Record<string, unknown>) {
    const res = await call('POST', '/api/auth/sign-up', { body: { password: PW, ...body } });
    expect(res.status).toBe(201);
    return { token: res.body.session.token as string, user: res.body.user };
  }

  /** Sends a bind/update code by email through /me/codes and reads it from the SMTP sink. */
  async function mailCode(token: string, email: string) {
    const before = smtp.messages.length;
    const res = await call('POST', '/api/auth/me/codes', { token, body: { email } });
    expect(res.status).toBe(200);
    const mail = await smtp.waitFor((m, i) => i >= before && m.to.toLowerCase() === email.toLowerCase());
    const code = extractCode(mail.text);
    codesSeen.push(code);
    return { code, purpose: res.body.purpose as string };
  }

  /** Sends a bind/update code by SMS through /me/codes and reads it from the webhook. */
  async function textCode(token: string, phone: string) {
    const before = sms.requests.length;
    const res = await call('POST', '/api/auth/me/codes', { token, body: { phone } });
    expect(res.status).toBe(200);
    const req = await sms.waitFor((r, i) => i >= before && r.json.to === phone);
    codesSeen.push(req.json.code);
    return { code: req.json.code as string, purpose: res.body.purpose as string };
  }

  const wrongCode = (code: string) => (code === '000000' ? '111111' : '000000');

  describe('PATCH /api/auth/me', () => {
    it('changes name, avatar and username; merges profile and custom data', async () => {
      const { token } = await signUp({ username: uniq(), profile: { givenName: 'Ada', locale: 'en' }, customData: { a: 1 } });
      const username = uniq('new');
      const res = await call('PATCH', '/api/auth/me', {
        token,
        body: { username, name: 'Ada L', avatar: 'https://img.example.com/a.png', profile: { familyName: 'Lovelace' }, customData: { b: 2 } },
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        username,
        name: 'Ada L',
        avatar: 'https://img.example.com/a.png',
        profile: { givenName: 'Ada', familyName: 'Lovelace', locale: 'en' },
        customData: { a: 1, b: 2 },
      });
      expect((await call('GET', '/api/auth/me', { token })).body).toMatchObject({ username, name: 'Ada L' });
    });

    it('refuses email, phone and password (400 request.invalid) and changes nothing', async () => {
      const { token, user } = await signUp({ username: uniq() });
      for (const body of [{ email: 'x@example.com' }, { phone: phoneOf(1) }, { password: PW2 }, { primaryEmail: 'x@example.com', name: 'Z' }]) {
        const res = await call('PATCH', '/api/auth/me', { token, body });
        expect(res.status).toBe(400);
        expect(res.body.code).toBe('request.invalid');
      }
      const after = (await call('GET', '/api/auth/me', { token })).body;
      expect(after).toMatchObject({ primaryEmail: null, primaryPhone: null, name: null, updatedAt: user.updatedAt });
      expect((await call('POST', '/api/auth/sign-in', { body: { username: user.username, password: PW } })).status).toBe(200);
    });

    it('refuses a taken username with 409 and clearing the last sign-in method with 400', async () => {
      const taken = uniq('taken');
      await signUp({ username: taken });
      const { token } = await signUp({ username: uniq() });
      const res = await call('PATCH', '/api/auth/me', { token, body: { username: taken, name: 'should not stick' } });
      expect(res).toMatchObject({ status: 409, body: { code: 'user.username_taken' } });
      expect((await call('GET', '/api/auth/me', { token })).body.name).toBeNull();
      const last = await call('PATCH', '/api/auth/me', { token, body: { username: null } });
      expect(last).toMatchObject({ status: 400, body: { code: 'user.last_sign_in_method_required' } });
    });

    it('needs a live session token', async () => {
      expect((await call('PATCH', '/api/auth/me', { body: { name: 'x' } })).body.code).toBe('auth.unauthorized');
      expect((await call('PATCH', '/api/auth/me', { token: 'tss_forged', body: { name: 'x' } })).status).toBe(401);
    });
  });

  describe('POST /api/auth/me/password', () => {
    it('needs the current password, then ends every session and returns a new one', async () => {
      const username = uniq();
      const { token } = await signUp({ username });
      const other = (await call('POST', '/api/auth/sign-in', { body: { username, password: PW } })).body.session.token;
      expect((await call('POST', '/api/auth/me/password', { token, body: { newPassword: PW2 } })).body.code).toBe('request.invalid');
      const wrong = await call('POST', '/api/auth/me/password', { token, body: { oldPassword: 'not-the-password-1', newPassword: PW2 } });
      expect(wrong).toMatchObject({ status: 401, body: { code: 'auth.invalid_credentials' } });
      expect((await call('GET', '/api/auth/me', { token })).status).toBe(200);

      const ok = await call('POST', '/api/auth/me/password', { token, body: { oldPassword: PW, newPassword: PW2 } });
      expect(ok.status).toBe(200);
      expect(ok.body.session.token).toMatch(/^tss_/);
      expect((await call('GET', '/api/auth/me', { token })).status).toBe(401);
      expect((await call('GET', '/api/auth/me', { token: other })).status).toBe(401);
      expect((await call('GET', '/api/auth/me', { token: ok.body.session.token })).body.username).toBe(username);
      expect((await call('POST', '/api/auth/sign-in', { body: { username, password: PW } })).status).toBe(401);
      expect((await call('POST', '/api/auth/sign-in', { body: { username, password: PW2 } })).status).toBe(200);
    });

    it('lets a user without a password set one without the old one; the policy applies', async () => {
      const phone = phoneOf(10);
      const before = sms.requests.length;
      expect((await call('POST', '/api/auth/codes', { body: { phone, purpose: 'Register' } })).status).toBe(200);
      const req = await sms.waitFor((r, i) => i >= before && r.json.to === phone);
      codesSeen.push(req.json.code);
      const up = await call('POST', '/api/auth/sign-up', { body: { phone, code: req.json.code } });
      expect(up.body.user.hasPassword).toBe(false);
      const token = up.body.session.token;
      const weak = await call('POST', '/api/auth/me/password', { token, body: { newPassword: 'password' } });
      expect(weak).toMatchObject({ status: 422, body: { code: 'password.rejected' } });
      const ok = await call('POST', '/api/auth/me/password', { token, body: { newPassword: PW2 } });
      expect(ok.status).toBe(200);
      expect(ok.body.user.hasPassword).toBe(true);
      expect((await call('POST', '/api/auth/sign-in', { body: { phone, password: PW2 } })).status).toBe(200);
    });
  });

  describe('email', () => {
    it('binds a new email with a code sent to it; the code is single-use; the address is verified', async () => {
      const { token } = await signUp({ username: uniq() });
      const email = `${uniq('bind')}@Example.com`;
      const sent = await mailCode(token, email);
      expect(sent.purpose).toBe('BindNewIdentifier');
      const bad = await call('POST', '/api/auth/me/email', { token, body: { email, code: wrongCode(sent.code) } });
      expect(bad).toMatchObject({ status: 400, body: { code: 'verification.code_mismatch' } });
      const ok = await call('POST', '/api/auth/me/email', { token, body: { email, code: sent.code } });
      expect(ok.status).toBe(200);
      expect(ok.body).toMatchObject({ primaryEmail: email, emailVerified: true });
      // now bound, a second use needs the current-address proof (default), and the code is spent
      expect((await call('POST', '/api/auth/me/email', { token, body: { email, code: sent.code } })).body.code).toBe('request.invalid');
      const proof = await mailCode(token, email);
      const again = await call('POST', '/api/auth/me/email', { token, body: { email, code: sent.code, oldEmailCode: proof.code } });
      expect(again.body.code).toMatch(/^verification\./);
    });

    it('refuses a taken email with 409 and keeps the code usable', async () => {
      const takenEmail = `${uniq('taken')}@example.com`;
      await signUp({ email: takenEmail });
      const { token } = await signUp({ username: uniq() });
      const sent = await mailCode(token, takenEmail);
      const res = await call('POST', '/api/auth/me/email', { token, body: { email: takenEmail, code: sent.code } });
      expect(res).toMatchObject({ status: 409, body: { code: 'user.email_taken' } });
      expect((await call('GET', '/api/auth/me', { token })).body.primaryEmail).toBeNull();
    });

    it('does not accept a code sent to another address', async () => {
      const { token } = await signUp({ username: uniq() });
      const a = `${uniq('a')}@example.com`;
      const sent = await mailCode(token, a);
      const res = await call('POST', '/api/auth/me/email', { token, body: { email: `${uniq('b')}@example.com`, code: sent.code } });
      expect(res).toMatchObject({ status: 404, body: { code: 'verification.not_found' } });
    });

    it('updates the email; with verifyOld a code from the current address is required and checked', async () => {
      const old = `${uniq('old')}@example.com`;
      const { token } = await signUp({ email: old });
      const next = `${uniq('next')}@example.com`;
      const fresh = await mailCode(token, next);
      const missing = await call('POST', '/api/auth/me/email', { token, body: { email: next, code: fresh.code, verifyOld: true } });
      expect(missing).toMatchObject({ status: 400, body: { code: 'request.invalid' } });
      const proof = await mailCode(token, old);
      expect(proof.purpose).toBe('Generic');
      const wrong = await call('POST', '/api/auth/me/email', { token, body: { email: next, code: fresh.code, verifyOld: true, oldEmailCode: wrongCode(proof.code) } });
      expect(wrong.body.code).toBe('verification.code_mismatch');
      expect((await call('GET', '/api/auth/me', { token })).body.primaryEmail).toBe(old);
      const ok = await call('POST', '/api/auth/me/email', { token, body: { email: next, code: fresh.code, verifyOld: true, oldEmailCode: proof.code } });
      expect(ok.status).toBe(200);
      expect(ok.body.primaryEmail).toBe(next);
      expect((await call('POST', '/api/auth/sign-in', { body: { email: next, password: PW } })).status).toBe(200);
      expect((await call('POST', '/api/auth/sign-in', { body: { email: old, password: PW } })).status).toBe(401);
    });

    it('by default (signIn.requireOldIdentifierProof), replacing a bound email always needs the old-address code', async () => {
      expect((await call('POST', '/api/auth/me/email', { token: (await signUp({ email: `${uniq('d')}@example.com` })).token, body: { email: `${uniq('e')}@example.com`, code: '123456' } })).body)
        .toMatchObject({ code: 'request.invalid', data: { issues: [{ path: 'body.oldEmailCode' }] } });
      const strict = await startApp(
        testConfig({ databaseUrl: db.url, email: { smtpUrl: smtp.url }, codes: { resendIntervalSeconds: 0 }, signIn: { sendVerifyEmail: false } }),
      );
      try {
        const post = async (path: string, body: unknown, token?: string) => {
          const res = await strict.call('POST', path, { body, ...(token ? { token } : {}) });
          const text = await res.text();
          bodiesSeen.push(text);
          return { status: res.status, body: JSON.parse(text) };
        };
        const code = async (token: string, email: string) => {
          const before = smtp.messages.length;
          expect((await post('/api/auth/me/codes', { email }, token)).status).toBe(200);
          const c = extractCode((await smtp.waitFor((m, i) => i >= before && m.to === email)).text);
          codesSeen.push(c);
          return c;
        };
        const token = (await post('/api/auth/sign-up', { username: uniq('strict'), password: PW })).body.session.token;
        const first = `${uniq('first')}@example.com`;
        // a first bind has no old address to prove
        expect((await post('/api/auth/me/email', { email: first, code: await code(token, first) }, token)).status).toBe(200);
        const second = `${uniq('second')}@example.com`;
        const fresh = await code(token, second);
        const refused = await post('/api/auth/me/email', { email: second, code: fresh, verifyOld: false }, token);
        expect(refused).toMatchObject({ status: 400, body: { code: 'request.invalid' } });
        const ok = await post('/api/auth/me/email', { email: second, code: fresh, oldEmailCode: await code(token, first) }, token);
        expect(ok.body.primaryEmail).toBe(second);
      } finally {
        await strict.close();
      }
    });

    it("refuses another user's current-address code as the old-address proof", async () => {
      const aEmail = `${uniq('a')}@example.com`;
      const a = await signUp({ email: aEmail });
      const b = await signUp({ email: `${uniq('b')}@example.com` });
      const aProof = await mailCode(a.token, aEmail);
      const next = `${uniq('n')}@example.com`;
      const fresh = await mailCode(b.token, next);
      const res = await call('POST', '/api/auth/me/email', { token: b.token, body: { email: next, code: fresh.code, oldEmailCode: aProof.code } });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.body.code).toMatch(/^verification\./);
      expect((await call('GET', '/api/auth/me', { token: b.token })).body.primaryEmail).not.toBe(next);
    });

    it('unbinds the email unless it is the last way to sign in', async () => {
      const email = `${uniq('only')}@example.com`;
      const { token } = await signUp({ email });
      const last = await call('DELETE', '/api/auth/me/email', { token });
      expect(last).toMatchObject({ status: 400, body: { code: 'user.last_sign_in_method_required' } });
      await call('PATCH', '/api/auth/me', { token, body: { username: uniq('keep') } });
      const ok = await call('DELETE', '/api/auth/me/email', { token });
      expect(ok.status).toBe(200);
      expect(ok.body).toMatchObject({ primaryEmail: null, emailVerified: false });
      expect((await call('DELETE', '/api/auth/me/email', { token })).body.code).toBe('request.invalid');
    });
  });

  describe('phone', () => {
    it('binds, updates with verifyOld, and unbinds the phone over the SMS webhook', async () => {
      const { token } = await signUp({ username: uniq() });
      const first = phoneOf(20);
      const sent = await textCode(token, first);
      expect(sent.purpose).toBe('BindNewIdentifier');
      const bound = await call('POST', '/api/auth/me/phone', { token, body: { phone: first, code: sent.code } });
      expect(bound.body).toMatchObject({ primaryPhone: first, phoneVerified: true });

      const second = phoneOf(21);
      const fresh = await textCode(token, second);
      const proof = await textCode(token, first);
      expect(proof.purpose).toBe('Generic');
      const updated = await call('POST', '/api/auth/me/phone', { token, body: { phone: second, code: fresh.code, verifyOld: true, oldPhoneCode: proof.code } });
      expect(updated.status).toBe(200);
      expect(updated.body.primaryPhone).toBe(second);

      const removed = await call('DELETE', '/api/auth/me/phone', { token });
      expect(removed.body.primaryPhone).toBeNull();
    });

    it('refuses to unbind the phone of a phone-only account, and a phone bound to someone else (409)', async () => {
      const phone = phoneOf(30);
      const before = sms.requests.length;
      await call('POST', '/api/auth/codes', { body: { phone, purpose: 'Register' } });
      const req = await sms.waitFor((r, i) => i >= before && r.json.to === phone);
      codesSeen.push(req.json.code);
      const owner = (await call('POST', '/api/auth/sign-up', { body: { phone, code: req.json.code } })).body.session.token;
      expect((await call('DELETE', '/api/auth/me/phone', { token: owner })).body.code).toBe('user.last_sign_in_method_required');

      const { token } = await signUp({ username: uniq() });
      const sent = await textCode(token, phone);
      const res = await call('POST', '/api/auth/me/phone', { token, body: { phone, code: sent.code } });
      expect(res).toMatchObject({ status: 409, body: { code: 'user.phone_taken' } });
    });

    it('does not count a username without a password as a way to sign in', async () => {
      const phone = phoneOf(40);
      const before = sms.requests.length;
      await call('POST', '/api/auth/codes', { body: { phone, purpose: 'Register' } });
      const req = await sms.waitFor((r, i) => i >= before && r.json.to === phone);
      codesSeen.push(req.json.code);
      const token = (await call('POST', '/api/auth/sign-up', { body: { phone, code: req.json.code, username: uniq('nopw') } })).body.session.token;
      const res = await call('DELETE', '/api/auth/me/phone', { token });
      expect(res).toMatchObject({ status: 400, body: { code: 'user.last_sign_in_method_required' } });
    });
  });

  describe('recent sign-in for recovery changes (auth.reauthentication_required)', () => {
    /** A password sign-in by username: a new session, issued now. */
    async function signInAgain(username: string, password = PW) {
      const res = await call('POST', '/api/auth/sign-in', { body: { username, password } });
      expect(res.status).toBe(200);
      return res.body.session.token as string;
    }

    it('binding a first email or phone needs a session issued within 10 minutes; the code survives the refusal', async () => {
      const username = uniq('rb');
      const { token } = await signUp({ username });
      clock.advance(STALE_MS);
      const email = `${uniq('late')}@example.com`;
      const sent = await mailCode(token, email);
      const refused = await call('POST', '/api/auth/me/email', { token, body: { email, code: sent.code } });
      expect(refused).toMatchObject({ status: 401, body: { code: 'auth.reauthentication_required' } });
      expect((await call('GET', '/api/auth/me', { token })).body.primaryEmail).toBeNull();
      const phone = phoneOf(60);
      const text = await textCode(token, phone);
      expect((await call('POST', '/api/auth/me/phone', { token, body: { phone, code: text.code } })).body.code).toBe('auth.reauthentication_required');

      const fresh = await signInAgain(username);
      const bound = await call('POST', '/api/auth/me/email', { token: fresh, body: { email, code: sent.code } });
      expect(bound).toMatchObject({ status: 200, body: { primaryEmail: email, emailVerified: true } });
      expect((await call('POST', '/api/auth/me/phone', { token: fresh, body: { phone, code: text.code } })).body.primaryPhone).toBe(phone);
    });

    it('removing an email or phone needs a recent sign-in', async () => {
      const username = uniq('rr');
      const email = `${uniq('rm')}@example.com`;
      const { token } = await signUp({ username, email });
      clock.advance(STALE_MS);
      expect(await call('DELETE', '/api/auth/me/email', { token })).toMatchObject({ status: 401, body: { code: 'auth.reauthentication_required' } });
      expect((await call('GET', '/api/auth/me', { token })).body.primaryEmail).toBe(email);
      const fresh = await signInAgain(username);
      expect((await call('DELETE', '/api/auth/me/email', { token: fresh })).body.primaryEmail).toBeNull();
    });

    it('a first password needs a recent sign-in; a change with the current password does not', async () => {
      const phone = phoneOf(70);
      const sendTo = async (purpose: string) => {
        const before = sms.requests.length;
        expect((await call('POST', '/api/auth/codes', { body: { phone, purpose } })).status).toBe(200);
        const req = await sms.waitFor((r, i) => i >= before && r.json.to === phone);
        codesSeen.push(req.json.code);
        return req.json.code as string;
      };
      const token = (await call('POST', '/api/auth/sign-up', { body: { phone, code: await sendTo('Register') } })).body.session.token as string;
      clock.advance(STALE_MS);
      const refused = await call('POST', '/api/auth/me/password', { token, body: { newPassword: PW2 } });
      expect(refused).toMatchObject({ status: 401, body: { code: 'auth.reauthentication_required' } });
      expect((await call('GET', '/api/auth/me', { token })).body.hasPassword).toBe(false);

      const fresh = (await call('POST', '/api/auth/sign-in', { body: { phone, code: await sendTo('SignIn') } })).body.session.token as string;
      const set = await call('POST', '/api/auth/me/password', { token: fresh, body: { newPassword: PW2 } });
      expect(set.status).toBe(200);
      clock.advance(STALE_MS);
      const changed = await call('POST', '/api/auth/me/password', { token: set.body.session.token, body: { oldPassword: PW2, newPassword: PW } });
      expect(changed.status).toBe(200);
      expect((await call('POST', '/api/auth/sign-in', { body: { phone, password: PW } })).status).toBe(200);
    });

    it('a replacement proven by the old-address code works through an older session; with the proof turned off it needs a recent sign-in', async () => {
      const old = `${uniq('o')}@example.com`;
      const { token } = await signUp({ email: old });
      clock.advance(STALE_MS);
      const next = `${uniq('n')}@example.com`;
      const fresh = await mailCode(token, next);
      const proof = await mailCode(token, old);
      const ok = await call('POST', '/api/auth/me/email', { token, body: { email: next, code: fresh.code, oldEmailCode: proof.code } });
      expect(ok).toMatchObject({ status: 200, body: { primaryEmail: next } });

      const relaxed = await startApp(
        testConfig({ databaseUrl: db.url, email: { smtpUrl: smtp.url }, codes: { resendIntervalSeconds: 0 }, signIn: { sendVerifyEmail: false, requireOldIdentifierProof: false } }),
        { clock },
      );
      try {
        const post = async (path: string, body: unknown, tok?: string) => {
          const res = await relaxed.call('POST', path, { body, ...(tok ? { token: tok } : {}) });
          const text = await res.text();
          bodiesSeen.push(text);
          return { status: res.status, body: JSON.parse(text) };
        };
        const username = uniq('relaxed');
        const first = `${uniq('r1')}@example.com`;
        const tok = (await post('/api/auth/sign-up', { username, email: first, password: PW })).body.session.token as string;
        clock.advance(STALE_MS);
        const second = `${uniq('r2')}@example.com`;
        const before = smtp.messages.length;
        expect((await post('/api/auth/me/codes', { email: second }, tok)).status).toBe(200);
        const c = extractCode((await smtp.waitFor((m, i) => i >= before && m.to === second)).text);
        codesSeen.push(c);
        expect(await post('/api/auth/me/email', { email: second, code: c }, tok)).toMatchObject({ status: 401, body: { code: 'auth.reauthentication_required' } });
        const again = (await post('/api/auth/sign-in', { username, password: PW })).body.session.token as string;
        expect((await post('/api/auth/me/email', { email: second, code: c }, again)).body.primaryEmail).toBe(second);
      } finally {
        await relaxed.close();
      }
    });
  });

  describe('GET /api/auth/security-level', () => {
    it('scores bound identifiers and the password level (Authing weights and rule)', async () => {
      const email = `${uniq('sec')}@example.com`;
      const { token } = await signUp({ email });
      // violet-harbor-7-lantern: ≥ 8 characters with letters and a digit, no upper case → MIDDLE (2).
      const before = await call('GET', '/api/auth/security-level', { token });
      expect(before.body).toEqual({ score: 25 + 30 + 15, email: true, phone: false, password: true, passwordSecurityLevel: 2, mfa: false });
      expect((await call('GET', '/api/auth/security-level')).status).toBe(401);
      // A new password of level 3 (≥ 12, lower, upper, digit) is scored when it is set.
      const changed = await call('POST', '/api/auth/me/password', { token, body: { oldPassword: PW, newPassword: 'Copper-Meadow-42-Quill' } });
      expect(changed.status).toBe(200);
      const after = await call('GET', '/api/auth/security-level', { token: changed.body.session.token });
      expect(after.body).toMatchObject({ passwordSecurityLevel: 3, score: 25 + 30 + 20 });
      // An MFA factor (enrolled through the MFA service, as its own routes do) adds 10.
      await t.app.services.mfa.addTotp(changed.body.user.id, 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP');
      const withMfa = await call('GET', '/api/auth/security-level', { token: changed.body.session.token });
      expect(withMfa.body).toMatchObject({ mfa: true, score: after.body.score + 10 });
    });

    it('scores a password an administrator set at its first use (Authing sample: 65)', async () => {
      const email = `${uniq('imp')}@example.com`;
      const { user } = await signUp({ email });
      // The Management API path: no policy but the length, and every session ends.
      await t.app.services.credentials.setPassword({
        user: await t.app.services.users.require(user.id),
        newPassword: 'plainpassword',
        authority: 'admin',
        audit: { action: 'admin_set_password' },
      });
      const signedIn = await call('POST', '/api/auth/sign-in', { body: { email, password: 'plainpassword' } });
      expect(signedIn.status).toBe(200);
      const seen = await call('GET', '/api/auth/security-level', { token: signedIn.body.session.token });
      expect(seen.body).toEqual({ score: 65, email: true, phone: false, password: true, passwordSecurityLevel: 1, mfa: false });
    });
  });

  describe('POST /api/auth/user-exists', () => {
    it('is off by default (403) and never reveals anything then', async () => {
      const email = `${uniq('ex')}@example.com`;
      await signUp({ email });
      const a = await call('POST', '/api/auth/user-exists', { body: { email } });
      const b = await call('POST', '/api/auth/user-exists', { body: { email: `${uniq('no')}@example.com` } });
      expect(a).toEqual(b);
      expect(a).toMatchObject({ status: 403, body: { code: 'auth.user_exists_check_disabled' } });
    });

    it('answers when enabled, per IP rate-limited', async () => {
      const other = await startApp(
        testConfig({ databaseUrl: db.url, signIn: { allowUserExistsCheck: true, sendVerifyEmail: false }, rateLimit: { userExistsPerMinute: 4 } }),
      );
      try {
        const post = async (path: string, body: unknown) => {
          const res = await other.call('POST', path, { body });
          return { status: res.status, body: await res.json() };
        };
        const username = uniq('exists');
        expect((await post('/api/auth/sign-up', { username, password: PW })).status).toBe(201);
        expect(await post('/api/auth/user-exists', { username })).toEqual({ status: 200, body: { exists: true } });
        expect(await post('/api/auth/user-exists', { username: uniq('none') })).toEqual({ status: 200, body: { exists: false } });
        expect((await post('/api/auth/user-exists', { username, email: 'a@example.com' })).body.code).toBe('auth.identifier_required');
        expect(await post('/api/auth/user-exists', { email: 'not an email' })).toEqual({ status: 200, body: { exists: false } });
        expect((await post('/api/auth/user-exists', { phone: phoneOf(50) })).body).toEqual({ exists: false });
        const limited = await post('/api/auth/user-exists', { username });
        expect(limited).toMatchObject({ status: 429, body: { code: 'request.rate_limited' } });
      } finally {
        await other.close();
      }
    });
  });
});
