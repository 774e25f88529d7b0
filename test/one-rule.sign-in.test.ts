import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IssuedApplication } from '../src/domain/applications/index.js';
import { CAPTCHA_ALPHABET } from '../src/domain/sign-in/captcha.js';
import { type DatabaseFactory, dialects, type RunningApp, startAppWithPublicUrl } from './helpers.js';
import { LC_KEYS, lcFetch, lcHeaders } from './leancloud-helpers.js';
import { formField as field, openSignInPage } from './oidc-helpers.js';

/**
 * Issue 16: one password sign-in for every surface (`AuthService.signInWithPassword`), so the per-IP
 * captcha threshold and the per-account lockout count failures from `/oidc`, `/api/auth` and `/1.1`
 * alike, and each surface meets them in its own dialect: `/api/auth` asks for a captcha (401
 * `auth.captcha_required`), the hosted page shows one, `/1.1` answers LeanCloud's 219.
 */

const PW = 'violet-harbor-7-lantern';
const WRONG = 'wrong-password-123';
const REDIRECT = 'https://rp.example.com/callback';
let seq = 0;
const uniq = (p: string) => `${p}${Date.now().toString(36)}${(seq++).toString(36)}`;

describe.each(dialects)('one sign-in guard for every surface on %s', (_name, database) => {
  const issued: string[] = [];
  let n = 0;
  const answers = () => {
    const answer = Array.from({ length: 5 }, () => CAPTCHA_ALPHABET[n++ % CAPTCHA_ALPHABET.length]).join('');
    issued.push(answer);
    return answer;
  };
  let t: RunningApp;
  let db: Awaited<ReturnType<DatabaseFactory>>;
  let web: IssuedApplication;
  let ipSeq = 1;
  const newIp = () => `203.0.113.${ipSeq++}`;

  beforeAll(async () => {
    db = await database();
    t = await startAppWithPublicUrl(
      { databaseUrl: db.url, trustProxy: true, leancloud: LC_KEYS, signIn: { captchaAfterFailures: 5 }, lockout: { maxFailures: 6 } },
      { captchaAnswers: answers },
    );
    web = await t.app.services.applications.create({ name: 'Web', type: 'traditional', redirectUris: [REDIRECT] });
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  async function signUp(): Promise<string> {
    const username = uniq('g');
    const res = await t.call('POST', '/api/auth/sign-up', { headers: { 'x-forwarded-for': newIp() }, body: { username, password: PW } });
    expect(res.status).toBe(201);
    return username;
  }

  /** A browser on the hosted sign-in page of a new authorization request, posting from `ip`. */
  async function signInPage(ip: string) {
    const page = await openSignInPage(t.base, { id: web.application.id, secret: web.secret! }, REDIRECT);
    return {
      async post(fields: Record<string, string>) {
        const r = await page.post(fields, { 'x-forwarded-for': ip });
        return { status: r.status, html: await r.text() };
      },
    };
  }

  const apiSignIn = async (ip: string, username: string, password: string, captcha?: { id: string; answer: string }) => {
    const res = await t.call('POST', '/api/auth/sign-in', { headers: { 'x-forwarded-for': ip }, body: { username, password, ...(captcha ? { captcha } : {}) } });
    return { status: res.status, body: await res.json() };
  };
  const lcLogIn = (ip: string, username: string, password: string) =>
    lcFetch(t.base, 'POST', '/1.1/login', { body: { username, password }, headers: { ...lcHeaders(), 'x-forwarded-for': ip } });

  it('5 failures on the hosted page → /api/auth/sign-in asks for a captcha, /1.1/login answers 219, the page shows one and accepts it solved', async () => {
    const ip = newIp();
    const page = await signInPage(ip);
    // Five different accounts, so no account lock is involved: only the address's failures count.
    for (let i = 0; i < 5; i++) {
      const res = await page.post({ identifier: await signUp(), password: WRONG });
      expect(res.status).toBe(401);
      expect(res.html).not.toContain('name="captchaId"');
    }
    const username = await signUp();
    const api = await apiSignIn(ip, username, PW);
    expect([api.status, api.body.code]).toEqual([401, 'auth.captcha_required']);
    const lc = await lcLogIn(ip, username, PW);
    expect([lc.status, lc.body.code]).toEqual([400, 219]);
    // Another address is not affected.
    expect((await apiSignIn(newIp(), username, PW)).status).toBe(200);

    // The page: the right password alone is met with a captcha picture (an SVG data: URL, allowed by its CSP)…
    const asked = await page.post({ identifier: username, password: PW });
    expect(asked.status).toBe(401);
    const captchaId = field(asked.html, 'captchaId');
    expect(captchaId).toMatch(/^cap_/);
    expect(asked.html).toContain('src="data:image/svg+xml;base64,');
    // …a wrong answer gets a new picture, and the right one signs in.
    const wrong = await page.post({ identifier: username, password: PW, captchaId: captchaId!, captcha: 'XXXXX' });
    expect(wrong.status).toBe(401);
    const second = field(wrong.html, 'captchaId')!;
    expect(second).not.toBe(captchaId);
    const solved = await page.post({ identifier: username, password: PW, captchaId: second, captcha: issued.at(-1)! });
    expect(solved.status).toBe(303);

    // /api/auth/sign-in with a solved captcha signs in too.
    const c = await t.call('POST', '/api/auth/captcha', { headers: { 'x-forwarded-for': ip } });
    const { id } = await c.json();
    expect((await apiSignIn(ip, username, PW, { id, answer: issued.at(-1)! })).status).toBe(200);
  });

  it('the account lock engages at the configured count whichever surfaces the failures came from', async () => {
    const username = await signUp();
    // Six failures, two per surface, each from its own address (so the per-IP captcha never starts).
    const page = await signInPage(newIp());
    for (let i = 0; i < 2; i++) expect((await page.post({ identifier: username, password: WRONG })).status).toBe(401);
    for (let i = 0; i < 2; i++) expect((await lcLogIn(newIp(), username, WRONG)).body.code).toBe(210);
    expect((await apiSignIn(newIp(), username, WRONG)).body.code).toBe('auth.invalid_credentials');
    // The sixth failure locks the account.
    const sixth = await apiSignIn(newIp(), username, WRONG);
    expect(sixth.body.code).toMatch(/^auth\.(invalid_credentials|too_many_failures)$/);
    // Now even the right password is refused on every surface.
    expect((await apiSignIn(newIp(), username, PW)).body.code).toBe('auth.too_many_failures');
    expect((await lcLogIn(newIp(), username, PW)).body.code).toBe(219);
    const locked = await (await signInPage(newIp())).post({ identifier: username, password: PW });
    expect(locked.status).toBe(429);
    expect(locked.html).toContain('Try again in');
  });
});
