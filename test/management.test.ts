import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DatabaseFactory, dialects, LogCapture, type RunningApp, startAppWithPublicUrl } from './helpers.js';


const ADMIN_ID = 'tessera-admin-app';
const ADMIN_SECRET = 'admin-secret-0123456789abcdef';
const PW = 'violet-harbor-7-lantern';
let seq = 0;
const uniq = (p = 'mu') => `${p}${Date.now().toString(36)}${seq++}`;

/** Seed 001's token request, verbatim apart from the endpoint, ids and resource. */
async function fetchAccessToken(logtoEndpoint: string, applicationId: string, applicationSecret: string, scope = 'all', resource = `${logtoEndpoint}/api`) {
  const tokenEndpoint = `${logtoEndpoint}/oidc/token`;
  return await fetch(tokenEndpoint, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      Authorization: `Basic ${Buffer.from(`${applicationId}:${applicationSecret}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', resource, ...(scope ? { scope } : {}) }).toString(),
  });
}

describe.each(dialects)('Management API on %s', (_name, database) => {
  let t: RunningApp;
  let db: Awaited<ReturnType<DatabaseFactory>>;
  let token: string;

  beforeAll(async () => {
    db = await database();
    t = await startAppWithPublicUrl({ databaseUrl: db.url, adminClientId: ADMIN_ID, adminClientSecret: ADMIN_SECRET });
    const res = await fetchAccessToken(t.base, ADMIN_ID, ADMIN_SECRET);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ expires_in: 3600, token_type: 'Bearer', scope: 'all' });
    token = body.access_token;
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  const api = async (method: string, path: string, body?: unknown, bearer: string | null = token) => {
    const res = await t.call(method, path, { ...(body !== undefined ? { body } : {}), ...(bearer ? { token: bearer } : {}) });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
  };

  describe('authentication of callers', () => {
    it("works with seed 001's fetchLogtoApplications", async () => {
      const fetchLogtoApplications = async () =>
        await fetch(`${t.base}/api/applications`, { method: 'GET', headers: { Authorization: `Bearer ${token}` } });
      const res = await fetchLogtoApplications();
      expect(res.status).toBe(200);
      const apps = await res.json();
      expect(apps.map((a: { id: string }) => a.id)).toContain(ADMIN_ID);
      expect(JSON.stringify(apps)).not.toMatch(/secretHash|admin-secret/);
    });

    it("accepts Logto OSS's indicator https://default.logto.app/api as an alias (a back end's token request is unchanged)", async () => {
      const res = await fetchAccessToken(t.base, ADMIN_ID, ADMIN_SECRET, 'all', 'https://default.logto.app/api');
      expect(res.status).toBe(200);
      const body = await res.json();
      expect(body).toMatchObject({ token_type: 'Bearer', scope: 'all' });
      const claims = JSON.parse(Buffer.from(body.access_token.split('.')[1], 'base64url').toString());
      expect(claims).toMatchObject({ aud: 'https://default.logto.app/api', sub: ADMIN_ID, iss: `${t.base}/oidc` });
      expect((await api('GET', '/api/users', undefined, body.access_token)).status).toBe(200);
      // Any other indicator is still refused.
      const other = await fetchAccessToken(t.base, ADMIN_ID, ADMIN_SECRET, 'all', 'https://tenant-x.logto.app/api');
      expect(other.status).toBe(400);
      expect((await other.json()).error).toBe('invalid_target');
    });

    it('refuses missing, malformed and non-management credentials with 401', async () => {
      for (const bearer of [null, 'not-a-jwt', `${token.slice(0, -4)}AAAA`]) {
        const res = await api('GET', '/api/users', undefined, bearer);
        expect(res.status).toBe(401);
        expect(res.body.code).toBe('auth.unauthorized');
        expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      }
      // a first-party session token is not a Management API token
      const up = await api('POST', '/api/auth/sign-up', { username: uniq(), password: PW }, null);
      expect((await api('GET', '/api/users', undefined, up.body.session.token)).status).toBe(401);
    });

    it("the provider's answers carry helmet's headers, with form-action left open for its redirects", async () => {
      const res = await fetch(`${t.base}/oidc/.well-known/openid-configuration`);
      expect(res.status).toBe(200);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("frame-ancestors 'self'");
      expect(csp).not.toContain('form-action');
    });

    it('refuses a valid token without scope all with 403', async () => {
      const res = await fetchAccessToken(t.base, ADMIN_ID, ADMIN_SECRET, '');
      expect(res.status).toBe(200);
      const noScope = (await res.json()).access_token as string;
      const denied = await api('GET', '/api/users', undefined, noScope);
      expect(denied.status).toBe(403);
      expect(denied.body.code).toBe('auth.forbidden');
    });
  });

  describe('users', () => {
    it("accepts Logto's digits-only phones (8613800138000) on create and update (issue 19 item 2)", async () => {
      const created = await api('POST', '/api/users', { username: uniq(), primaryPhone: '8613800138000' });
      expect(created.status).toBe(200);
      expect(created.body.primaryPhone).toBe('8613800138000');
      const patched = await api('PATCH', `/api/users/${created.body.id}`, { primaryPhone: '14155550188' });
      expect(patched.status).toBe(200);
      expect(patched.body.primaryPhone).toBe('14155550188');
      // Digits that are no international number stay refused as before.
      const bad = await api('POST', '/api/users', { username: uniq(), primaryPhone: '12' });
      expect([bad.status, bad.body.code]).toEqual([400, 'user.invalid_phone']);
    });

    it('creates (200, as Logto), reads, updates and deletes a user', async () => {
      const username = uniq();
      const created = await api('POST', '/api/users', {
        username,
        primaryEmail: `${username}@Example.com`,
        primaryPhone: '+1 415 555 0177',
        password: 'an-admin-chosen-one',
        name: 'Made by admin',
        customData: { tier: 'gold' },
        profile: { givenName: 'Ada' },
      });
      expect(created.status).toBe(200);
      expect(created.body).toMatchObject({ username, primaryPhone: '14155550177', hasPassword: true, customData: { tier: 'gold' }, identities: {} });
      const id = created.body.id as string;
      expect((await api('GET', `/api/users/${id}`)).body.name).toBe('Made by admin');
      const patched = await api('PATCH', `/api/users/${id}`, { name: null, avatar: 'https://img.example/a.png', profile: { familyName: 'Lovelace' } });
      expect(patched.body).toMatchObject({ name: null, avatar: 'https://img.example/a.png', profile: { familyName: 'Lovelace' } });
      expect(await api('PATCH', `/api/users/${id}`, {})).toMatchObject({ status: 422, body: { code: 'entity.invalid_input' } });
      expect((await api('PATCH', `/api/users/${id}`, { isSuspended: true })).body.code).toBe('guard.invalid_input');
      expect((await api('DELETE', `/api/users/${id}`)).status).toBe(204);
      expect((await api('GET', `/api/users/${id}`)).body.code).toBe('entity.not_found');
      expect((await api('DELETE', `/api/users/${id}`)).status).toBe(404);
    });

    it('refuses taken identifiers and keeps nothing half-written', async () => {
      const username = uniq();
      await api('POST', '/api/users', { username, primaryEmail: `${username}@example.com` });
      const dup = await api('POST', '/api/users', { username: uniq(), primaryEmail: `${username.toUpperCase()}@EXAMPLE.com` });
      expect(dup).toMatchObject({ status: 422, body: { code: 'user.email_already_in_use' } });
      const other = await api('POST', '/api/users', { username: uniq() });
      const clash = await api('PATCH', `/api/users/${other.body.id}`, { username });
      expect(clash.body.code).toBe('user.username_already_in_use');
      expect((await api('GET', `/api/users/${other.body.id}`)).body.username).not.toBe(username);
      const short = await api('POST', '/api/users', { username: uniq(), password: 'short' });
      expect(short).toMatchObject({ status: 422, body: { code: 'password.rejected' } });
    });

    it('merges custom data and profile shallowly', async () => {
      const { body: u } = await api('POST', '/api/users', { username: uniq(), customData: { a: 1, nested: { x: 1 } }, profile: { givenName: 'G', locale: 'en' } });
      expect((await api('PATCH', `/api/users/${u.id}/custom-data`, { customData: { b: 2, nested: { y: 2 } } })).body).toEqual({ a: 1, b: 2, nested: { y: 2 } });
      expect((await api('GET', `/api/users/${u.id}/custom-data`)).body).toEqual({ a: 1, b: 2, nested: { y: 2 } });
      expect((await api('PATCH', `/api/users/${u.id}/profile`, { profile: { locale: 'zh-CN' } })).body).toEqual({ givenName: 'G', locale: 'zh-CN' });
      expect((await api('PATCH', `/api/users/${u.id}/custom-data`, { customData: [1] })).body.code).toBe('guard.invalid_input');
    });

    it('PATCH …/password/expiration {isExpired} sets and lifts the forced reset: the right password then yields no session', async () => {
      const username = uniq('exp');
      const { body: user } = await api('POST', '/api/users', { username, password: PW });
      const expired = await api('PATCH', `/api/users/${user.id}/password/expiration`, { isExpired: true });
      expect(expired).toMatchObject({ status: 200, body: { id: user.id, passwordResetRequired: true } });
      const refused = await t.call('POST', '/api/auth/sign-in', { body: { username, password: PW } });
      expect(refused.status).toBe(403);
      expect((await refused.json()).code).toBe('auth.password_reset_required');
      expect((await api('PATCH', `/api/users/${user.id}/password/expiration`, { isExpired: false })).body.passwordResetRequired).toBe(false);
      expect((await t.call('POST', '/api/auth/sign-in', { body: { username, password: PW } })).status).toBe(200);
      expect((await api('PATCH', `/api/users/${user.id}/password/expiration`, { isExpired: 'yes' })).body.code).toBe('guard.invalid_input');
      expect((await api('PATCH', '/api/users/nobody-here/password/expiration', { isExpired: true })).status).toBe(404);
    });

    it('sets and verifies passwords; setting one ends the user\'s sessions', async () => {
      const username = uniq();
      const up = await api('POST', '/api/auth/sign-up', { username, password: PW }, null);
      const id = up.body.user.id as string;
      expect((await api('POST', `/api/users/${id}/password/verify`, { password: PW })).status).toBe(204);
      expect(await api('POST', `/api/users/${id}/password/verify`, { password: 'nope' })).toMatchObject({ status: 422, body: { code: 'session.invalid_credentials' } });
      expect((await api('PATCH', `/api/users/${id}/password`, { password: 'reset-by-the-admin' })).status).toBe(200);
      expect((await api('GET', '/api/auth/me', undefined, up.body.session.token)).status).toBe(401);
      expect((await api('POST', '/api/auth/sign-in', { username, password: 'reset-by-the-admin' }, null)).status).toBe(200);
      expect((await api('GET', `/api/users/${id}/has-password`)).body).toEqual({ hasPassword: true });
      const { body: bare } = await api('POST', '/api/users', { username: uniq() });
      expect((await api('GET', `/api/users/${bare.id}/has-password`)).body).toEqual({ hasPassword: false });
    });

    it('suspends (ending sessions, blocking sign-in) and restores', async () => {
      const username = uniq();
      const up = await api('POST', '/api/auth/sign-up', { username, password: PW }, null);
      const id = up.body.user.id as string;
      expect((await api('PATCH', `/api/users/${id}/is-suspended`, { isSuspended: true })).body.isSuspended).toBe(true);
      expect((await api('GET', '/api/auth/me', undefined, up.body.session.token)).status).toBe(401);
      expect((await api('POST', '/api/auth/sign-in', { username, password: PW }, null)).body.code).toBe('auth.user_suspended');
      expect((await api('GET', `/api/users/${id}/sessions`)).body).toEqual([]);
      expect((await api('PATCH', `/api/users/${id}/is-suspended`, { isSuspended: false })).body.isSuspended).toBe(false);
      expect((await api('POST', '/api/auth/sign-in', { username, password: PW }, null)).status).toBe(200);
    });

    it("lists and ends a user's sessions, checking each session's owner", async () => {
      const username = uniq();
      const a = await api('POST', '/api/auth/sign-up', { username, password: PW }, null);
      const b = await api('POST', '/api/auth/sign-in', { username, password: PW }, null);
      const other = await api('POST', '/api/auth/sign-up', { username: uniq(), password: PW }, null);
      const id = a.body.user.id as string;
      const list = await api('GET', `/api/users/${id}/sessions`);
      expect(list.body).toHaveLength(2);
      expect(list.body[0]).toMatchObject({ amr: ['pwd'] });
      expect(JSON.stringify(list.body)).not.toContain(a.body.session.token);
      const otherSessions = await api('GET', `/api/users/${other.body.user.id}/sessions`);
      expect((await api('DELETE', `/api/users/${id}/sessions/${otherSessions.body[0].id}`)).body.code).toBe('session.not_found');
      expect((await api('GET', '/api/auth/me', undefined, other.body.session.token)).status).toBe(200);
      expect((await api('DELETE', `/api/users/${id}/sessions/${list.body[1].id}`)).status).toBe(204);
      expect((await api('GET', `/api/users/${id}/sessions`)).body).toHaveLength(1);
      expect((await api('DELETE', `/api/users/${id}/sessions`)).status).toBe(204);
      expect((await api('GET', '/api/auth/me', undefined, b.body.session.token)).status).toBe(401);
      expect((await api('GET', '/api/auth/me', undefined, a.body.session.token)).status).toBe(401);
    });
  });

  describe('pagination and search', () => {
    const prefix = uniq('pg');
    beforeAll(async () => {
      for (let i = 0; i < 45; i++) {
        const r = await api('POST', '/api/users', { username: `${prefix}_${String(i).padStart(2, '0')}`, primaryEmail: `${prefix}.${i}@Example.COM`, name: i % 2 ? 'Odd One' : 'Even One' });
        expect(r.status).toBe(200);
      }
    });

    const links = (header: string | null) =>
      Object.fromEntries(
        (header ?? '').split(', ').map((part) => {
          const m = /^<([^>]+)>; rel="(\w+)"$/.exec(part)!;
          return [m[2], new URL(m[1]!).searchParams.get('page')];
        }),
      );

    it('serves first, middle and last pages with Total-Number and Link', async () => {
      const q = `search.username=${prefix}%25&page_size=20`;
      const first = await api('GET', `/api/users?${q}`);
      expect(first.body).toHaveLength(20);
      expect(first.body[0].username).toBe(`${prefix}_44`);
      expect(first.headers.get('total-number')).toBe('45');
      expect(links(first.headers.get('link'))).toEqual({ first: '1', next: '2', last: '3' });
      expect(first.headers.get('link')).toBe(
        [`<${t.base}/api/users?search.username=${prefix}%25&page_size=20&page=1>; rel="first"`,
          `<${t.base}/api/users?search.username=${prefix}%25&page_size=20&page=2>; rel="next"`,
          `<${t.base}/api/users?search.username=${prefix}%25&page_size=20&page=3>; rel="last"`].join(', '),
      );
      const middle = await api('GET', `/api/users?${q}&page=2`);
      expect(middle.body.map((u: { username: string }) => u.username)[0]).toBe(`${prefix}_24`);
      expect(links(middle.headers.get('link'))).toEqual({ first: '1', prev: '1', next: '3', last: '3' });
      const last = await api('GET', `/api/users?${q}&page=3`);
      expect(last.body).toHaveLength(5);
      expect(links(last.headers.get('link'))).toEqual({ first: '1', prev: '2', last: '3' });
      const beyond = await api('GET', `/api/users?${q}&page=9`);
      expect(beyond.body).toEqual([]);
      expect(beyond.headers.get('total-number')).toBe('45');
    });

    it('defaults to 20 per page, at most 100, pages from 1', async () => {
      expect((await api('GET', `/api/users?search.username=${prefix}%25`)).body).toHaveLength(20);
      for (const bad of ['page_size=101', 'page_size=0', 'page=0', 'page=abc']) {
        const res = await api('GET', `/api/users?${bad}`);
        expect([res.status, res.body.code]).toEqual([400, 'guard.invalid_pagination']);
      }
    });

    it('searches exactly or partially, case-insensitively by default', async () => {
      const exact = await api('GET', `/api/users?search.primaryEmail=${prefix}.7@example.com&mode.primaryEmail=exact`);
      expect(exact.body.map((u: { username: string }) => u.username)).toEqual([`${prefix}_07`]);
      const partial = await api('GET', `/api/users?search=%25${prefix}.1%25`);
      expect(partial.headers.get('total-number')).toBe('11'); // .1 and .10–.19
      const total = (r: { headers: Headers }) => r.headers.get('total-number');
      const scoped = `search.username=${prefix}%25&joint=and`;
      expect(total(await api('GET', `/api/users?search.primaryEmail=%25%40Example.COM&${scoped}&isCaseSensitive=true`))).toBe('45');
      expect(total(await api('GET', `/api/users?search.primaryEmail=%25%40EXAMPLE.COM&${scoped}&isCaseSensitive=true`))).toBe('0');
      expect(total(await api('GET', `/api/users?search.primaryEmail=%25%40EXAMPLE.com&${scoped}`))).toBe('45');
      expect(total(await api('GET', `/api/users?search.primaryEmail=%25example.org&${scoped}`))).toBe('0');
      const several = await api('GET', `/api/users?search.username=${prefix}_01&search.username=${prefix}_02&mode=exact`);
      expect(several.body).toHaveLength(2);
      for (const bad of ['search.password=x', 'search=a&mode=posix', 'search=a&search=b', 'search=', 'search=a&joint=xor']) {
        expect((await api('GET', `/api/users?${bad}`)).body.code).toBe('request.invalid_input');
      }
    });
  });

  describe('applications', () => {
    it("takes and answers Logto's application shape (issue 19 item 5): types, oidcClientMetadata, customClientMetadata, 200", async () => {
      const body = {
        name: 'Storefront',
        description: 'The shop SPA',
        type: 'SPA',
        oidcClientMetadata: { redirectUris: ['https://shop.example/callback'], postLogoutRedirectUris: ['https://shop.example/'], backchannelLogoutUri: 'https://shop.example/bc' },
        customClientMetadata: { corsAllowedOrigins: ['https://shop.example'], idTokenTtl: 3600 },
      };
      const created = await api('POST', '/api/applications', body);
      expect(created.status).toBe(200);
      expect(created.body).toMatchObject({
        name: 'Storefront',
        description: 'The shop SPA',
        type: 'SPA',
        oidcClientMetadata: { redirectUris: ['https://shop.example/callback'], postLogoutRedirectUris: ['https://shop.example/'] },
        customClientMetadata: { corsAllowedOrigins: ['https://shop.example'] },
        isThirdParty: false,
        secret: null,
      });
      expect(created.body).not.toHaveProperty('redirectUris');
      const id = created.body.id as string;
      const listed = (await api('GET', '/api/applications?page_size=100')).body.find((a: { id: string }) => a.id === id);
      expect(listed).toEqual({ ...created.body, secret: undefined });
      const patched = await api('PATCH', `/api/applications/${id}`, { oidcClientMetadata: { redirectUris: ['https://shop.example/cb2'] }, description: null });
      expect(patched.body).toMatchObject({ description: null, oidcClientMetadata: { redirectUris: ['https://shop.example/cb2'], postLogoutRedirectUris: ['https://shop.example/'] } });
      const m2m = await api('POST', '/api/applications', { name: 'Nightly sync', type: 'MachineToMachine' });
      expect(m2m.body).toMatchObject({ type: 'MachineToMachine', hasSecret: true, secret: expect.any(String) });
      // Logto types Tessera has no counterpart for, a list given twice, an empty change: refused, nothing written.
      expect(await api('POST', '/api/applications', { name: 'P', type: 'Protected' })).toMatchObject({ status: 400, body: { code: 'guard.invalid_input' } });
      const twice = await api('PATCH', `/api/applications/${id}`, { redirectUris: ['https://a.example/cb'], oidcClientMetadata: { redirectUris: ['https://b.example/cb'] } });
      expect(twice).toMatchObject({ status: 400, body: { code: 'guard.invalid_input' } });
      expect(await api('PATCH', `/api/applications/${id}`, {})).toMatchObject({ status: 422, body: { code: 'entity.invalid_input' } });
      expect((await api('GET', `/api/applications/${id}`)).body.oidcClientMetadata.redirectUris).toEqual(['https://shop.example/cb2']);
      expect(await api('GET', '/api/applications/nope')).toMatchObject({ status: 404, body: { code: 'entity.not_found' } });
    });

    it('creates an m2m app whose secret (shown once) gets tokens at once; rotation kills the old secret', async () => {
      const created = await api('POST', '/api/applications', { name: 'Back office', type: 'm2m', isManagement: true });
      expect(created.status).toBe(200);
      expect(created.body).toMatchObject({ type: 'MachineToMachine', isManagement: true, hasSecret: true, description: null });
      expect(created.body.secret).toEqual(expect.any(String));
      const { id, secret } = created.body as { id: string; secret: string };
      expect((await api('GET', `/api/applications/${id}`)).body).not.toHaveProperty('secret');
      expect((await fetchAccessToken(t.base, id, secret)).status).toBe(200);
      const rotated = await api('POST', `/api/applications/${id}/secret/rotate`);
      expect((await fetchAccessToken(t.base, id, secret)).status).toBe(401);
      expect((await fetchAccessToken(t.base, id, rotated.body.secret)).status).toBe(200);
      expect((await api('PATCH', `/api/applications/${id}`, { isManagement: false })).body.isManagement).toBe(false);
      expect((await fetchAccessToken(t.base, id, rotated.body.secret)).status).toBe(400);
      expect((await api('DELETE', `/api/applications/${id}`)).status).toBe(204);
      expect((await api('GET', `/api/applications/${id}`)).status).toBe(404);
    });

    it('refuses an issued token at once when its application loses the management role or is deleted (JWTs are not stored)', async () => {
      const created = await api('POST', '/api/applications', { name: 'Leaky script', type: 'm2m', isManagement: true });
      const { id, secret } = created.body as { id: string; secret: string };
      const issued = (await (await fetchAccessToken(t.base, id, secret)).json()).access_token as string;
      expect((await api('GET', '/api/users', undefined, issued)).status).toBe(200);

      // Role withdrawn: the token (valid for another hour) is refused on every route, reads and writes.
      expect((await api('PATCH', `/api/applications/${id}`, { isManagement: false })).status).toBe(200);
      for (const [method, path, body] of [['GET', '/api/users'], ['POST', '/api/users', { username: uniq() }], ['POST', '/api/applications', { name: 'Backdoor', type: 'm2m', isManagement: true }]] as const) {
        const refused = await api(method, path, body, issued);
        expect([refused.status, refused.body.code]).toEqual([401, 'auth.unauthorized']);
      }
      // Role given back: the same token works again (nothing else about it changed).
      expect((await api('PATCH', `/api/applications/${id}`, { isManagement: true })).status).toBe(200);
      expect((await api('GET', '/api/users', undefined, issued)).status).toBe(200);

      // Application deleted: refused.
      expect((await api('DELETE', `/api/applications/${id}`)).status).toBe(204);
      const gone = await api('GET', '/api/applications', undefined, issued);
      expect([gone.status, gone.body.code]).toEqual([401, 'auth.unauthorized']);
      expect((await api('GET', '/api/users')).status).toBe(200);
    });
  });
});

describe('Management API audit trail', () => {
  it('logs every successful change with the calling application, route and ids (never a body or secret); reads are not audited', async () => {
    const logs = new LogCapture();
    const t = await startAppWithPublicUrl({ logLevel: 'info', adminClientId: ADMIN_ID, adminClientSecret: ADMIN_SECRET }, { logStream: logs });
    try {
      const token = (await (await fetchAccessToken(t.base, ADMIN_ID, ADMIN_SECRET)).json()).access_token as string;
      const call = async (method: string, path: string, body?: unknown) => {
        const res = await t.call(method, path, { token, ...(body !== undefined ? { body } : {}) });
        return { status: res.status, body: await res.json().catch(() => null) };
      };
      const user = await call('POST', '/api/users', { username: uniq('audit'), password: PW });
      expect(user.status).toBe(200);
      expect((await call('PATCH', `/api/users/${user.body.id}/password`, { password: 'amber-canyon-4-whistle' })).status).toBe(200);
      const app = await call('POST', '/api/applications', { name: 'Audited', type: 'm2m' });
      expect(app.status).toBe(200);
      expect((await call('GET', '/api/users')).status).toBe(200);
      expect((await call('PATCH', `/api/users/${user.body.id}`, { primaryEmail: 'not-an-email' })).status).toBe(400);

      const audits = logs.lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'management change');
      expect(audits.map((l) => l.audit)).toEqual([
        { clientId: ADMIN_ID, method: 'POST', route: '/api/users', params: {}, status: 200 },
        { clientId: ADMIN_ID, method: 'PATCH', route: '/api/users/:userId/password', params: { userId: user.body.id }, status: 200 },
        { clientId: ADMIN_ID, method: 'POST', route: '/api/applications', params: {}, status: 200 },
      ]);
      // Every request log line of a verified caller names it.
      const completed = logs.lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'request completed' && l.clientId !== undefined);
      expect(completed.length).toBeGreaterThanOrEqual(5);
      expect(new Set(completed.map((l) => l.clientId))).toEqual(new Set([ADMIN_ID]));
      for (const secret of [PW, 'amber-canyon-4-whistle', app.body.secret as string, token]) expect(logs.mentions(secret)).toBe(false);
    } finally {
      await t.close();
    }
  });
});

describe('Management API rate limit', () => {
  it('answers 429 with Retry-After once a client spends its budget', async () => {
    const t = await startAppWithPublicUrl({ adminClientId: ADMIN_ID, adminClientSecret: ADMIN_SECRET, rateLimit: { managementPer10Seconds: 3 } });
    try {
      const { access_token: token } = await (await fetchAccessToken(t.base, ADMIN_ID, ADMIN_SECRET)).json();
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await t.call('GET', '/api/users', { token })).status);
      expect(statuses).toEqual([200, 200, 200, 429]);
      const limited = await t.call('GET', '/api/users', { token });
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await limited.json()).code).toBe('request.rate_limited');
    } finally {
      await t.close();
    }
  });
});
