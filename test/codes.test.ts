import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/util/clock.js';
import { type DatabaseFactory, dialects, LogCapture, type RunningApp, startApp, testConfig } from './helpers.js';
import { extractCode, startSmsWebhook, startSmtpSink } from './peers.js';


const PW = 'violet-harbor-7-lantern';
let seq = 0;
const uniq = (p = 'u') => `${p}${Date.now().toString(36)}${seq++}`;
/** A valid, unused US number (555-01xx range is reserved for fiction). */
const phoneOf = (n: number) => `+1415555${String(100 + (n % 100)).padStart(4, '0')}`;

describe.each(dialects)('one-time codes over real SMTP and SMS webhook on %s', (_name, database) => {
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
        email: { smtpUrl: smtp.url, from: 'Tessera Test <auth@tessera.test>' },
        sms: { webhookUrl: sms.url, webhookSecret: 'a-very-long-webhook-secret', timeoutSeconds: 1 },
      }),
      { clock, logStream: logs },
    );
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
    await sms.close();
    await db.drop();
    // No response body and no log line ever carried a code.
    expect(codesSeen.length).toBeGreaterThan(5);
    for (const c of codesSeen) {
      expect(logs.mentions(c)).toBe(false);
      for (const b of bodiesSeen) expect(b).not.toContain(c);
    }
  });

  async function call(method: string, path: string, options: Parameters<RunningApp['call']>[2] = {}) {
    const res = await t.call(method, path, options);
    const text = await res.text();
    bodiesSeen.push(text);
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
  }

  /** Requests a code by email and reads it from the SMTP sink. */
  async function emailCode(email: string, purpose: string, headers: Record<string, string> = {}) {
    const before = smtp.messages.length;
    const res = await call('POST', '/api/auth/codes', { body: { email, purpose }, headers });
    expect(res.status).toBe(200);
    const mail = await smtp.waitFor((m, i) => i >= before && m.to.toLowerCase() === email.toLowerCase(), 5000);
    const code = extractCode(mail.text);
    codesSeen.push(code);
    return { ...res.body, code, mail } as { verificationId: string; expiresAt: string; code: string; mail: typeof mail };
  }

  /** Requests a code by SMS and reads it from the webhook. */
  async function smsCode(phone: string, purpose: string) {
    const before = sms.requests.length;
    const res = await call('POST', '/api/auth/codes', { body: { phone, purpose } });
    expect(res.status).toBe(200);
    const req = await sms.waitFor((r, i) => i >= before && r.json.to === phone, 5000);
    codesSeen.push(req.json.code);
    return { ...res.body, code: req.json.code as string, request: req } as { verificationId: string; code: string; request: typeof req };
  }

  async function signUpWithPassword(extra: Record<string, unknown>) {
    const res = await call('POST', '/api/auth/sign-up', { body: { password: PW, ...extra } });
    expect(res.status).toBe(201);
    return res.body as { user: { id: string; emailVerified: boolean }; session: { token: string } };
  }

  it('signs in by email code; the code works once', async () => {
    const email = `${uniq('code')}@example.com`;
    await signUpWithPassword({ email });
    const sent = await emailCode(email, 'SignIn');
    expect(Date.parse(sent.expiresAt) - clock.now()).toBe(600_000);
    expect(sent.code).toMatch(/^\d{6}$/);
    expect(sent.mail.from).toContain('auth@tessera.test');
    const ok = await call('POST', '/api/auth/sign-in', { body: { email: email.toUpperCase(), code: sent.code } });
    expect(ok.status).toBe(200);
    expect(ok.body.user.emailVerified).toBe(true);
    const again = await call('POST', '/api/auth/sign-in', { body: { email, code: sent.code, verificationId: sent.verificationId } });
    expect(again.body.code).toBe('verification.already_used');
    const withoutId = await call('POST', '/api/auth/sign-in', { body: { email, code: sent.code } });
    expect(withoutId.body.code).toBe('verification.not_found');
  });

  it('answers code requests alike whether or not the account exists', async () => {
    const ghost = `${uniq('ghost')}@example.com`;
    const sent = await emailCode(ghost, 'SignIn');
    expect(Object.keys(sent).sort()).toEqual(['code', 'expiresAt', 'mail', 'verificationId']);
    const res = await call('POST', '/api/auth/sign-in', { body: { email: ghost, code: sent.code } });
    expect(res).toMatchObject({ status: 404, body: { code: 'user.not_found' } });
    const reset = await call('POST', '/api/auth/codes', { body: { email: `${uniq('ghost')}@example.com`, purpose: 'ForgotPassword' } });
    expect(reset.status).toBe(200);
  });

  it('signs up by SMS code through the signed webhook; the phone is verified, no password needed', async () => {
    const phone = phoneOf(seq++);
    const sent = await smsCode(phone, 'Register');
    expect(sent.request.json).toMatchObject({ to: phone, purpose: 'Register', locale: 'en' });
    expect(sent.request.json.text).toContain(sent.code);
    expect(sent.request.headers['x-tessera-signature']).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    const res = await call('POST', '/api/auth/sign-up', { body: { phone, code: sent.code, name: 'Phone Person' } });
    expect(res.status).toBe(201);
    expect(res.body.user).toMatchObject({ primaryPhone: phone, phoneVerified: true, hasPassword: false, name: 'Phone Person' });
    // the number is now taken: Register codes are refused for it
    expect((await call('POST', '/api/auth/codes', { body: { phone, purpose: 'Register' } })).body.code).toBe('user.phone_taken');
  });

  it('refuses an expired code (10 minutes, injected clock)', async () => {
    const email = `${uniq('exp')}@example.com`;
    await signUpWithPassword({ email });
    const sent = await emailCode(email, 'SignIn');
    clock.advance(600_000);
    const res = await call('POST', '/api/auth/sign-in', { body: { email, code: sent.code, verificationId: sent.verificationId } });
    expect(res.body.code).toBe('verification.code_expired');
  });

  it('kills a code after 5 wrong attempts', async () => {
    const email = `${uniq('att')}@example.com`;
    await signUpWithPassword({ email });
    const sent = await emailCode(email, 'SignIn');
    const wrong = sent.code === '000000' ? '111111' : '000000';
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push((await call('POST', '/api/auth/sign-in', { body: { email, code: wrong } })).body);
    expect(answers.slice(0, 4).map((a) => [a.code, a.data.remainingAttempts])).toEqual([
      ['verification.code_mismatch', 4],
      ['verification.code_mismatch', 3],
      ['verification.code_mismatch', 2],
      ['verification.code_mismatch', 1],
    ]);
    expect(answers[4].code).toBe('verification.too_many_attempts');
    const right = await call('POST', '/api/auth/sign-in', { body: { email, code: sent.code } });
    expect(right.body.code).toBe('verification.too_many_attempts');
  });

  it('throttles resends to one a minute per identifier and purpose (429 + Retry-After)', async () => {
    const email = `${uniq('thr')}@example.com`;
    await emailCode(email, 'SignIn');
    const res = await call('POST', '/api/auth/codes', { body: { email, purpose: 'SignIn' } });
    expect(res.status).toBe(429);
    expect(res.body.code).toBe('verification.resend_too_soon');
    const retry = Number(res.headers.get('retry-after'));
    expect(retry).toBeGreaterThan(50);
    expect(retry).toBeLessThanOrEqual(60);
    // another purpose is not throttled
    expect((await call('POST', '/api/auth/codes', { body: { email, purpose: 'ForgotPassword' } })).status).toBe(200);
  });

  it('lets exactly one of 10 concurrent uses of a code win', async () => {
    const email = `${uniq('race')}@example.com`;
    await signUpWithPassword({ email });
    const sent = await emailCode(email, 'SignIn');
    const all = await Promise.all(
      Array.from({ length: 10 }, () => call('POST', '/api/auth/sign-in', { body: { email, code: sent.code, verificationId: sent.verificationId } })),
    );
    expect(all.filter((r) => r.status === 200)).toHaveLength(1);
    for (const r of all.filter((x) => x.status !== 200)) {
      // Attempts past the lockout's limit in flight at once are refused before the code is checked.
      expect(['verification.already_used', 'verification.too_many_attempts', 'auth.too_many_failures']).toContain(r.body.code);
    }
  });

  it('fails with connector.delivery_failed when the SMS webhook fails, leaving no usable code', async () => {
    const phone = phoneOf(seq++);
    const email = `${uniq('ph')}@example.com`;
    await signUpWithPassword({ email, phone });
    sms.respondWith({ status: 500 });
    const before = sms.requests.length;
    const res = await call('POST', '/api/auth/codes', { body: { phone, purpose: 'SignIn' } });
    expect(res).toMatchObject({ status: 502, body: { code: 'connector.delivery_failed' } });
    const leaked = await sms.waitFor((r, i) => i >= before && r.json.to === phone, 5000);
    codesSeen.push(leaked.json.code);
    const use = await call('POST', '/api/auth/sign-in', { body: { phone, code: leaked.json.code } });
    expect(use.body.code).toBe('verification.not_found');
    // a timeout is a failure too
    sms.respondWith({ status: 200, delayMs: 1500 });
    expect((await call('POST', '/api/auth/codes', { body: { phone, purpose: 'SignIn' } })).body.code).toBe('connector.delivery_failed');
    // the failed sends did not start the resend throttle
    sms.respondWith({ status: 200 });
    const ok = await smsCode(phone, 'SignIn');
    expect((await call('POST', '/api/auth/sign-in', { body: { phone, code: ok.code } })).status).toBe(200);
  });

  it('resets a password by code: policy first, then every session ends', async () => {
    const email = `${uniq('reset')}@example.com`;
    const up = await signUpWithPassword({ email });
    const sent = await emailCode(email, 'ForgotPassword');
    const weak = await call('POST', '/api/auth/password/reset', { body: { email, code: sent.code, newPassword: 'password' } });
    expect(weak).toMatchObject({ status: 422, body: { code: 'password.rejected' } });
    const NEW = 'brand-new-lighthouse-42';
    const ok = await call('POST', '/api/auth/password/reset', { body: { email, code: sent.code, newPassword: NEW } });
    expect(ok.status).toBe(204);
    expect((await call('GET', '/api/auth/me', { token: up.session.token })).status).toBe(401);
    expect((await call('POST', '/api/auth/sign-in', { body: { email, password: PW } })).body.code).toBe('auth.invalid_credentials');
    expect((await call('POST', '/api/auth/sign-in', { body: { email, password: NEW } })).status).toBe(200);
    const reuse = await call('POST', '/api/auth/password/reset', { body: { email, code: sent.code, verificationId: sent.verificationId, newPassword: 'another-fine-password-9' } });
    expect(reuse.body.code).toBe('verification.already_used');
  });

  it('sends a VerifyEmail message at sign-up whose link verifies the address once', async () => {
    const email = `${uniq('ve')}@example.com`;
    const up = await signUpWithPassword({ email });
    expect(up.user.emailVerified).toBe(false);
    const mail = await smtp.waitFor((m) => m.to.toLowerCase() === email && /verify/i.test(m.subject), 5000);
    codesSeen.push(extractCode(mail.text));
    const link = /https?:\/\/\S+\/api\/auth\/verify-email\?token=[A-Za-z0-9_%-]+/.exec(mail.text)?.[0];
    expect(link).toBeDefined();
    const path = new URL(link!).pathname + new URL(link!).search;
    const page = await t.call('GET', path);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toContain('Email verified');
    expect((await call('GET', '/api/auth/me', { token: up.session.token })).body.emailVerified).toBe(true);
    const again = await t.call('GET', path);
    expect(again.status).toBe(400);
    expect((await t.call('GET', '/api/auth/verify-email?token=nonsense')).status).toBe(400);
  });

  it('verifies an email with the VerifyEmail code too', async () => {
    const email = `${uniq('vc')}@example.com`;
    const up = await signUpWithPassword({ email });
    await smtp.waitFor((m) => m.to.toLowerCase() === email, 5000);
    const mail = smtp.messages.filter((m) => m.to.toLowerCase() === email).at(-1)!;
    const code = extractCode(mail.text);
    codesSeen.push(code);
    expect((await call('POST', '/api/auth/verify-email', { body: { email, code } })).status).toBe(204);
    expect((await call('GET', '/api/auth/me', { token: up.session.token })).body.emailVerified).toBe(true);
  });

  it('writes Chinese messages when the client prefers Chinese', async () => {
    const email = `${uniq('zh')}@example.com`;
    const sent = await emailCode(email, 'SignIn', { 'accept-language': 'zh-CN,zh;q=0.9,en;q=0.5' });
    expect(sent.mail.subject).toMatch(/[\u4e00-\u9fff]/);
    const phone = phoneOf(seq++);
    const res = await call('POST', '/api/auth/codes', { body: { phone, purpose: 'SignIn', locale: 'zh-CN' } });
    expect(res.status).toBe(200);
    const req = await sms.waitFor((r) => r.json.to === phone, 5000);
    codesSeen.push(req.json.code);
    expect(req.json.locale).toBe('zh-CN');
    expect(req.json.text).toMatch(/[\u4e00-\u9fff]/);
  });

  it('validates code requests', async () => {
    const both = await call('POST', '/api/auth/codes', { body: { email: 'a@b.co', phone: '+14155550100', purpose: 'SignIn' } });
    expect(both.body.code).toBe('auth.identifier_required');
    expect((await call('POST', '/api/auth/codes', { body: { email: 'a@b.co', purpose: 'Hack' } })).body.code).toBe('request.invalid');
    expect((await call('POST', '/api/auth/codes', { body: { email: 'nope', purpose: 'SignIn' } })).body.code).toBe('user.invalid_email');
    expect((await call('POST', '/api/auth/codes', { body: { phone: '+14155550100', purpose: 'VerifyEmail' } })).body.code).toBe('request.invalid');
    const mixed = await call('POST', '/api/auth/sign-in', { body: { username: 'x', code: '123456' } });
    expect(mixed.body.code).toBe('auth.identifier_required');
    const noSecret = await call('POST', '/api/auth/sign-in', { body: { email: 'a@b.co' } });
    expect(noSecret.body.data.issues[0].path).toBe('body.password');
  });
});

describe('requireVerifiedEmail', () => {
  it('refuses password sign-in until the email is verified', async () => {
    const smtp = await startSmtpSink();
    const t = await startApp(testConfig({ email: { smtpUrl: smtp.url }, signIn: { requireVerifiedEmail: true } }));
    try {
      const email = `${uniq('rv')}@example.com`;
      expect((await t.call('POST', '/api/auth/sign-up', { body: { email, password: PW } })).status).toBe(201);
      const blocked = await t.call('POST', '/api/auth/sign-in', { body: { email, password: PW } });
      expect(blocked.status).toBe(403);
      expect((await blocked.json()).code).toBe('auth.email_not_verified');
      // a wrong password still gets the generic answer
      expect((await (await t.call('POST', '/api/auth/sign-in', { body: { email, password: 'wrong-password-1' } })).json()).code).toBe('auth.invalid_credentials');
      const mail = await smtp.waitFor((m) => m.to.toLowerCase() === email, 5000);
      expect((await t.call('POST', '/api/auth/verify-email', { body: { email, code: extractCode(mail.text) } })).status).toBe(204);
      expect((await t.call('POST', '/api/auth/sign-in', { body: { email, password: PW } })).status).toBe(200);
    } finally {
      await t.close();
      await smtp.close();
    }
  });
});
