import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../src/errors/codes.js';
import { errors as zhErrors } from '../src/i18n/locales/zh-CN/errors.js';
import { type DatabaseFactory, dialects, type RunningApp, startApp, startAppWithPublicUrl, testConfig } from './helpers.js';
import { LC_KEYS } from './leancloud-helpers.js';

/**
 * API error messages in the request's language (issue 14 §4): Tessera's own and the Logto-shaped
 * surfaces send `message` in the language `Accept-Language` picks (en or zh-CN), else the configured
 * `ui.defaultLocale`; the LeanCloud wire keeps its vendor messages. Real apps on SQLite, real HTTP.
 */

const ADMIN_ID = 'i18n-admin';
const ADMIN_SECRET = 'i18n-admin-secret-0123456789';

/** An answer's status and JSON body. */
async function answer(res: Response): Promise<{ status: number; body: any; vary: string | null }> {
  return { status: res.status, body: await res.json(), vary: res.headers.get('vary') };
}

describe.each(dialects)('localized API error messages on %s (default locale en)', (_name, database) => {
  let t: RunningApp;
  let db: Awaited<ReturnType<DatabaseFactory>>;
  let token: string;
  const PW = 'saffron-lantern-33-orbit';
  let username: string;

  beforeAll(async () => {
    db = await database();
    t = await startAppWithPublicUrl({ databaseUrl: db.url, adminClientId: ADMIN_ID, adminClientSecret: ADMIN_SECRET, leancloud: LC_KEYS });
    const res = await fetch(`${t.base}/oidc/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${ADMIN_ID}:${ADMIN_SECRET}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource: `${t.base}/api`, scope: 'all' }).toString(),
    });
    expect(res.status).toBe(200);
    token = (await res.json()).access_token;
    username = `i18n${Date.now().toString(36)}`;
    expect((await t.call('POST', '/api/auth/sign-up', { body: { username, password: PW } })).status).toBe(201);
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  const me = (headers: Record<string, string> = {}) => t.call('GET', '/api/auth/me', { headers }).then(answer);

  it('a native route error: English by default, Chinese for Accept-Language zh-CN', async () => {
    expect(await me()).toMatchObject({ status: 401, body: { code: 'auth.unauthorized', message: ERROR_CODES['auth.unauthorized'].message } });
    const zh = await me({ 'accept-language': 'zh-CN' });
    expect(zh).toMatchObject({ status: 401, body: { code: 'auth.unauthorized', message: '需要有效的 Bearer 令牌。' } });
    expect(zh.vary?.toLowerCase()).toContain('accept-language');
    // Ranges by q (RFC 9110 §12.5.4): zh-Hans preferred over en; an unsupported language alone → the default.
    expect((await me({ 'accept-language': 'fr;q=1, zh-Hans-CN;q=0.8, en;q=0.5' })).body.message).toBe(zhErrors['auth.unauthorized']);
    expect((await me({ 'accept-language': 'en-GB, zh-CN;q=0.9' })).body.message).toBe(ERROR_CODES['auth.unauthorized'].message);
    expect((await me({ 'accept-language': 'fr-FR, de' })).body.message).toBe(ERROR_CODES['auth.unauthorized'].message);
  });

  it('a domain error of a native route, in both languages', async () => {
    const signIn = (lang?: string) =>
      t.call('POST', '/api/auth/sign-in', { body: { username, password: 'not-the-password-1' }, headers: lang ? { 'accept-language': lang } : {} }).then(answer);
    expect(await signIn()).toMatchObject({ status: 401, body: { code: 'auth.invalid_credentials', message: 'The identifier or password is incorrect.' } });
    expect(await signIn('zh-CN')).toMatchObject({ status: 401, body: { code: 'auth.invalid_credentials', message: '账号或密码错误。' } });
  });

  it('a schema failure keeps its data (issue messages are not translated) and translates the message', async () => {
    const res = await t.call('POST', '/api/auth/sign-in', { body: { username: 42, password: PW }, headers: { 'accept-language': 'zh' } }).then(answer);
    expect(res).toMatchObject({ status: 400, body: { code: 'request.invalid', message: '请求无效。' } });
    expect(res.body.data.issues[0]).toMatchObject({ path: 'body.username' });
  });

  it('an error thrown with its own message keeps it, in English', async () => {
    const both = await t.call('POST', '/api/auth/codes', { body: { email: 'a@example.com', phone: '+8613800000000', purpose: 'SignIn' }, headers: { 'accept-language': 'zh-CN' } }).then(answer);
    expect(both).toMatchObject({ status: 400, body: { code: 'auth.identifier_required', message: 'Exactly one of email or phone is required.' } });
    const route = await t.call('GET', '/api/no-such-route', { headers: { 'accept-language': 'zh-CN' } }).then(answer);
    expect(route).toMatchObject({ status: 404, body: { code: 'request.not_found', message: 'No route GET /api/no-such-route' } });
  });

  it("the Logto dialect: the vendor's code and status, the message in the request's language", async () => {
    const get = (lang?: string) => t.call('GET', '/api/users/no-such-user', { token, headers: lang ? { 'accept-language': lang } : {} }).then(answer);
    expect(await get()).toMatchObject({ status: 404, body: { code: 'entity.not_found', message: 'The resource does not exist.' } });
    expect(await get('zh-CN,zh;q=0.9')).toMatchObject({ status: 404, body: { code: 'entity.not_found', message: '用户不存在。' } });
    // Logto's collision code (422) for a taken username, translated.
    const taken = await t.call('POST', '/api/users', { token, body: { username, password: PW }, headers: { 'accept-language': 'zh-CN' } }).then(answer);
    expect(taken).toMatchObject({ status: 422, body: { code: 'user.username_already_in_use', message: '该用户名已被使用。' } });
    // The Account API (Logto's Account/Verification dialect).
    const account = await t.call('GET', '/api/my-account', { headers: { 'accept-language': 'zh-CN' } }).then(answer);
    expect(account).toMatchObject({ status: 401, body: { code: 'auth.authorization_header_missing', message: '缺少 Authorization 请求头。' } });
    expect((await t.call('GET', '/api/my-account').then(answer)).body.message).toBe('Authorization header is missing.');
  });

  it('the LeanCloud wire keeps its vendor messages whatever the language', async () => {
    for (const lang of ['en', 'zh-CN']) {
      const res = await fetch(`${t.base}/1.1/classes/_User?limit=1`, { headers: { 'accept-language': lang } });
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ code: 401, error: 'Unauthorized.' });
    }
    const login = await fetch(`${t.base}/1.1/login`, {
      method: 'POST',
      headers: { 'x-lc-id': LC_KEYS.appId, 'x-lc-key': LC_KEYS.appKey, 'content-type': 'application/json', 'accept-language': 'zh-CN' },
      body: JSON.stringify({ username, password: 'not-the-password-1' }),
    });
    const body = await login.json();
    expect(body.error).not.toMatch(/[\u4e00-\u9fff]/);
  });
});

describe.each(dialects)('localized API error messages on %s (default locale zh-CN)', (_name, database) => {
  let t: RunningApp;
  let db: Awaited<ReturnType<DatabaseFactory>>;

  beforeAll(async () => {
    db = await database();
    t = await startApp(testConfig({ databaseUrl: db.url, ui: { defaultLocale: 'zh-CN' } }));
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it('uses the configured default when Accept-Language names nothing supported, and the header when it does', async () => {
    const message = (headers: Record<string, string>) => t.call('GET', '/api/auth/me', { headers }).then(async (r) => (await r.json()).message);
    expect(await message({})).toBe('需要有效的 Bearer 令牌。');
    expect(await message({ 'accept-language': 'fr-FR, de;q=0.5' })).toBe('需要有效的 Bearer 令牌。');
    expect(await message({ 'accept-language': 'zh-TW' })).toBe('需要有效的 Bearer 令牌。');
    expect(await message({ 'accept-language': 'en-US' })).toBe('A valid bearer token is required.');
    expect(await message({ 'accept-language': 'en;q=0' })).toBe('需要有效的 Bearer 令牌。');
  });
});
