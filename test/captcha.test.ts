/**
 * Sign-in captcha after repeated failures per client IP (issue 6, seed 003 "code 2000"): over real HTTP
 * on 127.0.0.1, with an injected answer source (like ManualClock) so the test knows each answer, and
 * `X-Forwarded-For` (trustProxy) to act from several client addresses.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CAPTCHA_ALPHABET, renderCaptchaSvg } from '../src/domain/sign-in/captcha.js';
import { ManualClock } from '../src/util/clock.js';
import { sha256Hex } from '../src/util/crypto.js';
import { type DatabaseFactory, dialects, type RunningApp, startApp, testConfig } from './helpers.js';

const PW = 'violet-harbor-7-lantern';
let seq = 0;
const uniq = (p = 'u') => `${p}${Date.now().toString(36)}${seq++}`;

/** Answers that walk the whole alphabet, so every glyph gets drawn. */
function answerSource() {
  const issued: string[] = [];
  let i = 0;
  const next = () => {
    const answer = Array.from({ length: 5 }, () => CAPTCHA_ALPHABET[i++ % CAPTCHA_ALPHABET.length]).join('');
    issued.push(answer);
    return answer;
  };
  return { issued, next };
}

describe.each(dialects)('sign-in captcha on %s', (_name, database) => {
  const clock = new ManualClock(Date.now());
  const answers = answerSource();
  let t: RunningApp;
  let db: Awaited<ReturnType<DatabaseFactory>>;
  let ipSeq = 1;
  const newIp = () => `198.51.100.${ipSeq++}`;

  beforeAll(async () => {
    db = await database();
    t = await startApp(testConfig({ databaseUrl: db.url, trustProxy: true, signIn: { captchaAfterFailures: 3 } }), { clock, captchaAnswers: answers.next });
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  async function call(method: string, path: string, ip: string, body?: unknown) {
    const res = await t.call(method, path, { headers: { 'x-forwarded-for': ip }, ...(body !== undefined ? { body } : {}) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined, text };
  }
  async function account() {
    const username = uniq();
    expect((await call('POST', '/api/auth/sign-up', newIp(), { username, password: PW })).status).toBe(201);
    return username;
  }
  async function captcha(ip: string) {
    const res = await call('POST', '/api/auth/captcha', ip);
    expect(res.status).toBe(200);
    return { ...res.body, answer: answers.issued[answers.issued.length - 1]! } as { id: string; image: string; expiresAt: number; answer: string };
  }
  async function fail(ip: string, username: string, times: number) {
    for (let i = 0; i < times; i++) {
      expect((await call('POST', '/api/auth/sign-in', ip, { username, password: 'wrong-password-1' })).body.code).toBe('auth.invalid_credentials');
    }
  }

  it('requires a captcha after 3 failures from one IP, even with the right password; other IPs are not affected', async () => {
    const username = await account();
    const ip = newIp();
    await fail(ip, username, 3);
    const refused = await call('POST', '/api/auth/sign-in', ip, { username, password: PW });
    expect(refused).toMatchObject({ status: 401, body: { code: 'auth.captcha_required' } });
    expect((await call('POST', '/api/auth/sign-in', newIp(), { username, password: PW })).status).toBe(200);

    const c = await captcha(ip);
    const ok = await call('POST', '/api/auth/sign-in', ip, { username, password: PW, captcha: { id: c.id, answer: c.answer.toLowerCase().split('').join(' ') } });
    expect(ok.status).toBe(200);
    // a success does not reset the count: the next attempt still needs a captcha
    expect((await call('POST', '/api/auth/sign-in', ip, { username, password: PW })).body.code).toBe('auth.captcha_required');
    // until the 15-minute window is over
    clock.advance(15 * 60 * 1000);
    expect((await call('POST', '/api/auth/sign-in', ip, { username, password: PW })).status).toBe(200);
  });

  it('uses a captcha once, whether the answer was right or wrong, and refuses it after 5 minutes', async () => {
    const username = await account();
    const ip = newIp();
    await fail(ip, username, 3);
    const c = await captcha(ip);
    const wrongAnswer = c.answer === 'AAAAA' ? 'CCCCC' : 'AAAAA';
    expect((await call('POST', '/api/auth/sign-in', ip, { username, password: PW, captcha: { id: c.id, answer: wrongAnswer } })).body.code).toBe('auth.captcha_invalid');
    expect((await call('POST', '/api/auth/sign-in', ip, { username, password: PW, captcha: { id: c.id, answer: c.answer } })).body.code).toBe('auth.captcha_invalid');
    const solved = await captcha(ip);
    expect((await call('POST', '/api/auth/sign-in', ip, { username, password: PW, captcha: { id: solved.id, answer: solved.answer } })).status).toBe(200);
    expect((await call('POST', '/api/auth/sign-in', ip, { username, password: PW, captcha: { id: solved.id, answer: solved.answer } })).body.code).toBe('auth.captcha_invalid');

    const late = await captcha(ip);
    clock.advance(5 * 60 * 1000);
    expect((await call('POST', '/api/auth/sign-in', ip, { username, password: PW, captcha: { id: late.id, answer: late.answer } })).body.code).toBe('auth.captcha_invalid');
    expect((await call('POST', '/api/auth/sign-in', ip, { username, password: PW, captcha: { id: 'cap_unknown', answer: 'AAAAA' } })).body.code).toBe('auth.captcha_invalid');
  });

  it('counts a wrong password sent with a solved captcha as another failure', async () => {
    const username = await account();
    const ip = newIp();
    await fail(ip, username, 3);
    const c = await captcha(ip);
    const res = await call('POST', '/api/auth/sign-in', ip, { username, password: 'wrong-password-1', captcha: { id: c.id, answer: c.answer } });
    expect(res.body.code).toBe('auth.invalid_credentials');
    expect((await call('POST', '/api/auth/sign-in', ip, { username, password: PW })).body.code).toBe('auth.captcha_required');
  });

  it('draws every character as stroked paths: no text, no answer in the SVG or the response', async () => {
    const ip = newIp();
    for (let i = 0; i < Math.ceil(CAPTCHA_ALPHABET.length / 5); i++) {
      const res = await call('POST', '/api/auth/captcha', ip);
      const answer = answers.issued[answers.issued.length - 1]!;
      expect(Object.keys(res.body).sort()).toEqual(['expiresAt', 'id', 'image']);
      expect(res.body.expiresAt).toBe(clock.now() + 5 * 60 * 1000);
      expect(res.body.image).toMatch(/^data:image\/svg\+xml;base64,/);
      const svg = Buffer.from(res.body.image.slice('data:image/svg+xml;base64,'.length), 'base64').toString('utf8');
      expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
      expect(svg).not.toMatch(/<text|<image|font/i);
      expect((svg.match(/<path /g) ?? []).length).toBeGreaterThanOrEqual(5 + 5);
      expect(svg).not.toContain(answer);
      expect(res.text).not.toContain(answer);
    }
  });

  it('stores answers hashed (and the id only as its SHA-256, issue 15)', async () => {
    const c = await captcha(newIp());
    expect(await (t.app.database.db as any).selectFrom('captchas').selectAll().where('id', '=', c.id).execute()).toHaveLength(0);
    const rows = await (t.app.database.db as any).selectFrom('captchas').selectAll().where('id', '=', sha256Hex(c.id)).execute();
    expect(rows).toHaveLength(1);
    expect(rows[0].answer_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(rows[0])).not.toContain(c.answer);
  });

  it('leaves code sign-in and unknown-user answers unchanged (no enumeration)', async () => {
    const ip = newIp();
    const ghost = await call('POST', '/api/auth/sign-in', ip, { username: uniq('ghost'), password: 'wrong-password-1' });
    const username = await account();
    const real = await call('POST', '/api/auth/sign-in', ip, { username, password: 'wrong-password-1' });
    expect(ghost.body).toEqual(real.body);
    await fail(ip, username, 1);
    const a = await call('POST', '/api/auth/sign-in', ip, { username: uniq('ghost'), password: PW });
    const b = await call('POST', '/api/auth/sign-in', ip, { username, password: PW });
    expect(a.body).toEqual(b.body);
    expect(a.body.code).toBe('auth.captcha_required');
  });
});

describe('the captcha picture (svg-captcha)', () => {
  it('draws each character of the given answer as one filled path, and the SVG has no text at all', async () => {
    // Whole answers only (five characters): a shorter one, such as a lone '9', can occur by chance in the
    // random colours and noise-line coordinates of the markup.
    for (let i = 0; i + 5 <= CAPTCHA_ALPHABET.length; i += 5) {
      const answer = CAPTCHA_ALPHABET.slice(i, i + 5);
      const svg = await renderCaptchaSvg(answer);
      expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="200" height="60"/);
      expect((svg.match(/<path fill=/g) ?? []).length).toBe(answer.length);
      expect(svg).not.toMatch(/<text|<image|<use|<style|font|href|<script/i);
      // Outside the path geometry (`d="…"`, where M/L/Q/C are drawing commands) there is no character data.
      const markup = svg.replace(/ d="[^"]*"/g, '');
      expect(markup).not.toMatch(/>[^<]+</);
      expect(markup).not.toContain(answer);
    }
  });
});
