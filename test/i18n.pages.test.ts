import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DatabaseFactory, dialects, type RunningApp, startApp } from './helpers.js';
import { HAVE_CHROMIUM, launchChromium } from './browser/chromium.js';
import { checkPage } from './browser/ui-check.js';
import { lcConfig, lcFetch, PW, uniq } from './leancloud-helpers.js';
import { extractCode, startSmtpSink } from './peers.js';

/**
 * The pages opened from links in messages (issue 14 §4), in both languages: the `/1.1` password reset
 * and email verification pages (LeanCloud) and `/api/auth/verify-email`. The app's default language is
 * zh-CN here, so a request without `Accept-Language` (or naming only unsupported languages) gets
 * Chinese, and `Accept-Language: en` English. Real app on SQLite, real SMTP sink, real Chromium (axe).
 */

/** A fetched page: status, headers and HTML. */
async function page(res: Response): Promise<{ status: number; headers: Headers; html: string }> {
  return { status: res.status, headers: res.headers, html: await res.text() };
}

/** The `<input>` element of `id` in `html` (its attributes as rendered). */
function inputOf(html: string, id: string): string {
  const input = [...html.matchAll(/<input(?:\s+[\w-]+(?:="[^"]*")?)*\s*\/?>/g)].map((m) => m[0]).find((tag) => tag.includes(` id="${id}"`));
  expect(input, `input #${id}`).toBeDefined();
  return input!;
}

/** What every hosted page has: the language, the strict CSP, no inline style or script, no caching. */
function expectHostedPage(p: { headers: Headers; html: string }, lang: 'en' | 'zh-CN'): void {
  expect(p.headers.get('content-type')).toMatch(/^text\/html; charset=utf-8/);
  expect(p.html).toMatch(new RegExp(`^<!DOCTYPE html>\\n<html lang="${lang}">`));
  expect(p.headers.get('content-security-policy')).toContain("default-src 'none'");
  expect(p.headers.get('cache-control')).toBe('no-store');
  expect(p.html).not.toMatch(/<style|<script|\sstyle=/);
  expect(p.html).toMatch(/<link rel="stylesheet" href="\/ui\/style-[^"]+\.css"/);
}

describe.each(dialects)('link pages in both languages on %s', (_name, database) => {
  let t: RunningApp;
  let db: Awaited<ReturnType<DatabaseFactory>>;
  let smtp: Awaited<ReturnType<typeof startSmtpSink>>;
  let browser: Browser | undefined;

  beforeAll(async () => {
    smtp = await startSmtpSink();
    db = await database();
    t = await startApp(lcConfig({ databaseUrl: db.url, email: { smtpUrl: smtp.url, from: 'Tessera <auth@tessera.test>' }, ui: { defaultLocale: 'zh-CN' } }));
    if (HAVE_CHROMIUM) browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await smtp?.close();
    await db?.drop();
  });

  const get = (path: string, lang?: string) => fetch(t.base + path, { headers: lang ? { 'accept-language': lang } : {} }).then(page);
  const postReset = (fields: Record<string, string>, lang?: string) =>
    fetch(`${t.base}/1.1/resetPassword`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...(lang ? { 'accept-language': lang } : {}) },
      body: new URLSearchParams(fields).toString(),
    }).then(page);

  /** A LeanCloud user with an email address, and the code of a password reset mail sent to it. */
  async function resetCode(): Promise<{ email: string; code: string }> {
    const email = `${uniq('reset')}@example.com`;
    expect((await lcFetch(t.base, 'POST', '/1.1/users', { body: { username: uniq('lc'), password: PW, email } })).status).toBe(201);
    const before = smtp.messages.length;
    expect((await lcFetch(t.base, 'POST', '/1.1/requestPasswordReset', { body: { email } })).status).toBe(200);
    const mail = await smtp.waitFor((m, i) => i >= before && m.to === email && /password|密码/i.test(m.subject), 5000);
    return { email, code: extractCode(mail.text) };
  }

  it('GET /1.1/resetPassword: the form in the default language (zh-CN), in English for Accept-Language en', async () => {
    const zh = await get('/1.1/resetPassword?email=a%26b%22%3Cx%3E%40example.com');
    expect(zh.status).toBe(200);
    expectHostedPage(zh, 'zh-CN');
    expect(zh.html).toContain('<h1>重置密码</h1>');
    expect(zh.html).toContain('<label for="password">新密码</label>');
    // The email is escaped by the renderer, never markup.
    expect(inputOf(zh.html, 'email')).toContain('value="a&amp;b&quot;&lt;x>@example.com"');
    expect(inputOf(zh.html, 'code')).toContain('aria-describedby="code-hint"');
    expect(inputOf(zh.html, 'code')).not.toContain('aria-invalid');

    const fr = await get('/1.1/resetPassword', 'fr-FR, de;q=0.8');
    expect(fr.html).toContain('<h1>重置密码</h1>');
    const en = await get('/1.1/resetPassword', 'en-US,en;q=0.9');
    expectHostedPage(en, 'en');
    expect(en.html).toContain('<h1>Reset your password</h1>');
    expect(en.html).toContain('<label for="password">New password</label>');
  });

  it('POST /1.1/resetPassword: a wrong code is shown at the code field, a refused password at the password field, then it works', async () => {
    const { email, code } = await resetCode();
    const wrong = code === '000000' ? '111111' : '000000';
    const zh = await postReset({ email, code: wrong, password: 'amber-canyon-4-whistle' }, 'zh-CN');
    expect(zh.status).toBe(400);
    expectHostedPage(zh, 'zh-CN');
    expect(inputOf(zh.html, 'code')).toMatch(/aria-invalid="true"/);
    expect(inputOf(zh.html, 'code')).toContain('aria-describedby="code-hint code-error"');
    expect(zh.html).toContain('<p class="field-error" id="code-error">验证码错误或已过期。请查看最新的一封邮件，或重新获取验证码。</p>');
    expect(inputOf(zh.html, 'email')).toContain(`value="${email}"`);
    expect(inputOf(zh.html, 'password')).not.toContain('value=');

    const en = await postReset({ email, code: wrong, password: 'amber-canyon-4-whistle' }, 'en');
    expect(en.status).toBe(400);
    expect(en.html).toContain('id="code-error">The code is wrong or has expired.');

    const weak = await postReset({ email, code, password: 'short' }, 'en');
    expect(weak.status).toBe(400);
    expect(inputOf(weak.html, 'password')).toMatch(/aria-invalid="true"[^>]*aria-describedby="password-error"|aria-describedby="password-error"[^>]*aria-invalid="true"/);
    expect(weak.html).toContain('id="password-error">This password is not allowed');
    expect(inputOf(weak.html, 'code')).not.toContain('aria-invalid');

    const done = await postReset({ email, code, password: 'amber-canyon-4-whistle' }, 'zh-CN');
    expect(done.status).toBe(200);
    expectHostedPage(done, 'zh-CN');
    expect(done.html).toContain('<h1>密码已修改</h1>');
    expect((await lcFetch(t.base, 'POST', '/1.1/login', { body: { email, password: 'amber-canyon-4-whistle' } })).status).toBe(200);
  });

  it('GET /1.1/verifyEmail: verified in Chinese, a bad link in English', async () => {
    const email = `${uniq('verify')}@example.com`;
    expect((await lcFetch(t.base, 'POST', '/1.1/users', { body: { username: uniq('lc'), password: PW, email } })).status).toBe(201);
    const before = smtp.messages.length;
    expect((await lcFetch(t.base, 'POST', '/1.1/requestEmailVerify', { body: { email } })).status).toBe(200);
    const mail = await smtp.waitFor((m, i) => i >= before && m.to === email && m.text.includes('/1.1/verifyEmail?token='), 5000);
    const link = new URL(/https?:\/\/\S+\/1\.1\/verifyEmail\?token=\S+/.exec(mail.text)![0]);
    const ok = await get(link.pathname + link.search, 'zh-CN');
    expect(ok.status).toBe(200);
    expectHostedPage(ok, 'zh-CN');
    expect(ok.html).toContain('<h1>邮箱已验证</h1>');
    const again = await get(link.pathname + link.search, 'en');
    expect(again.status).toBe(400);
    expectHostedPage(again, 'en');
    expect(again.html).toContain('<h1>This link does not work</h1>');
    expect((await get('/1.1/verifyEmail?token=nonsense')).html).toContain('<h1>链接无效</h1>');
  });

  it('GET /api/auth/verify-email: the sign-up link verifies, in Chinese; a used or bad link says so in both languages', async () => {
    const email = `${uniq('ve')}@example.com`;
    const before = smtp.messages.length;
    expect((await t.call('POST', '/api/auth/sign-up', { body: { email, password: PW } })).status).toBe(201);
    const mail = await smtp.waitFor((m, i) => i >= before && m.to.toLowerCase() === email && m.text.includes('/api/auth/verify-email?token='), 5000);
    const link = new URL(/https?:\/\/\S+\/api\/auth\/verify-email\?token=[A-Za-z0-9_%-]+/.exec(mail.text)![0]);
    const ok = await get(link.pathname + link.search);
    expect(ok.status).toBe(200);
    expectHostedPage(ok, 'zh-CN');
    expect(ok.html).toContain('<h1>邮箱已验证</h1>');
    expect(ok.html).toContain('<p>你的邮箱地址已通过验证，可以关闭此页面了。</p>');
    const used = await get(link.pathname + link.search, 'en');
    expect(used.status).toBe(400);
    expectHostedPage(used, 'en');
    expect(used.html).toContain('<h1>This link does not work</h1>');
    expect(used.html).toContain('The link is invalid or has already been used.');
    const bad = await get('/api/auth/verify-email?token=%3Cscript%3E', 'zh-Hans');
    expect(bad.status).toBe(400);
    expect(bad.html).toContain('<h1>链接无效</h1>');
    expect(bad.html).not.toContain('<script');
  });

  it.skipIf(!HAVE_CHROMIUM)('the pages pass axe at 1280 px and 390 px in both languages (with field errors shown)', async () => {
    const { email } = await resetCode();
    for (const locale of ['en', 'zh-CN'] as const) {
      const context = await browser!.newContext({ locale });
      try {
        const tab = await context.newPage();
        await tab.goto(`${t.base}/1.1/resetPassword?email=${encodeURIComponent(email)}`);
        expect(await tab.getAttribute('html', 'lang')).toBe(locale);
        await checkPage(tab, `lc-reset.${locale}`);
        await tab.fill('#code', '000000');
        await tab.fill('#password', 'amber-canyon-4-whistle');
        await Promise.all([tab.waitForNavigation(), tab.click('button[type=submit]')]);
        expect(await tab.getAttribute('#code', 'aria-invalid')).toBe('true');
        await checkPage(tab, `lc-reset-error.${locale}`);
        await tab.goto(`${t.base}/1.1/verifyEmail?token=nonsense`);
        await checkPage(tab, `lc-verify-failed.${locale}`);
        await tab.goto(`${t.base}/api/auth/verify-email?token=nonsense`);
        await checkPage(tab, `verify-email-failed.${locale}`);
      } finally {
        await context.close();
      }
    }
  });
});
