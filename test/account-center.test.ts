import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCOUNT_CENTER_FIELDS, AccountCenterService, canEdit, canRead, passkeyMode } from '../src/domain/account/center.js';
import { type DatabaseHandle, migrateToLatest, openDatabase } from '../src/storage/database.js';
import { KyselyStore, toUserRow } from '../src/storage/kysely-store.js';
import { ManualClock } from '../src/util/clock.js';
import { userRecord } from './fixtures.js';
import { type DatabaseFactory, dialects, type RunningApp, startAppWithPublicUrl } from './helpers.js';

const ADMIN_ID = 'tessera-admin-app';
const ADMIN_SECRET = 'admin-secret-0123456789abcdef';
const ALL_OFF = Object.fromEntries(ACCOUNT_CENTER_FIELDS.map((f) => [f, 'Off']));
/** The settings besides `enabled` and `fields`, as a fresh installation has them. */
const EXTRA = { deleteAccountUrl: null, webauthnRelatedOrigins: [] as string[] };
let seq = 0;
const uniq = (p = 'ac') => `${p}${Date.now().toString(36)}${seq++}`;

/** A client_credentials token for the Management API (seed 001's request). */
async function managementToken(base: string, scope = 'all'): Promise<string> {
  const res = await fetch(`${base}/oidc/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${ADMIN_ID}:${ADMIN_SECRET}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', resource: `${base}/api`, ...(scope ? { scope } : {}) }).toString(),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}

describe('AccountCenterService (domain)', () => {
  let handle: DatabaseHandle;
  let store: KyselyStore;
  beforeAll(async () => {
    handle = openDatabase('sqlite::memory:');
    await migrateToLatest(handle.db);
    store = new KyselyStore(handle);
  });
  afterAll(() => handle.close());

  it('starts disabled with every field Off, and reads a missing field as Off', async () => {
    const service = new AccountCenterService(store, new ManualClock());
    expect(await service.get()).toEqual({ enabled: false, fields: ALL_OFF, ...EXTRA });
    await service.update({ fields: { name: 'Edit' } });
    expect(await service.fieldMode('name')).toBe('Edit');
    expect(await service.fieldMode('session')).toBe('Off');
    expect([canRead('Off'), canRead('ReadOnly'), canRead('Edit')]).toEqual([false, true, true]);
    expect([canEdit('Off'), canEdit('ReadOnly'), canEdit('Edit')]).toEqual([false, false, true]);
    await service.update({ fields: {} });
  });

  it('serves from memory, sees its own updates at once and other nodes\' within maxAge', async () => {
    const clock = new ManualClock();
    const nodeA = new AccountCenterService(store, clock, 3000);
    const nodeB = new AccountCenterService(store, clock, 3000);
    expect((await nodeB.get()).enabled).toBe(false);
    await nodeA.update({ enabled: true, fields: { email: 'ReadOnly' }, ...EXTRA });
    expect(await nodeA.get()).toMatchObject({ enabled: true, fields: { email: 'ReadOnly' }, ...EXTRA });
    expect((await nodeB.get()).enabled).toBe(false); // B's copy is younger than 3 s
    clock.advance(2999);
    expect(await nodeB.fieldMode('email')).toBe('Off');
    clock.advance(1);
    expect(await nodeB.get()).toMatchObject({ enabled: true, fields: { email: 'ReadOnly' }, ...EXTRA });
    // answers are copies: changing one changes nothing
    const copy = await nodeB.get();
    copy.fields.email = 'Edit';
    expect(await nodeB.fieldMode('email')).toBe('ReadOnly');
    await nodeA.update({ enabled: false, fields: {}, ...EXTRA });
  });

  it('shares one query between concurrent reads of a stale cache', async () => {
    const service = new AccountCenterService(store, new ManualClock());
    let reads = 0;
    const counting = Object.create(store) as KyselyStore;
    Object.defineProperty(counting, 'accountCenter', {
      value: { get: () => (reads++, store.accountCenter.get()), update: (p: Parameters<typeof store.accountCenter.update>[0]) => store.accountCenter.update(p) },
    });
    const shared = new AccountCenterService(counting, new ManualClock());
    await Promise.all(Array.from({ length: 10 }, () => shared.get()));
    expect(reads).toBe(1);
    expect(await service.get()).toEqual(await shared.get());
  });
});

describe.each(dialects)('Account center and identities (Management API) on %s', (_name, database) => {
  let t: RunningApp;
  let db: Awaited<ReturnType<DatabaseFactory>>;
  let token: string;

  beforeAll(async () => {
    db = await database();
    t = await startAppWithPublicUrl({ databaseUrl: db.url, adminClientId: ADMIN_ID, adminClientSecret: ADMIN_SECRET });
    token = await managementToken(t.base);
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  const api = async (method: string, path: string, body?: unknown, bearer: string | null = token) => {
    const res = await t.call(method, path, { ...(body !== undefined ? { body } : {}), ...(bearer ? { token: bearer } : {}) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };

  describe('account center', () => {
    it('is disabled with every field Off by default', async () => {
      expect(await api('GET', '/api/account-center')).toEqual({ status: 200, body: { enabled: false, fields: ALL_OFF, ...EXTRA } });
    });

    it('changes enabled and fields independently; fields replaces the whole map', async () => {
      const on = await api('PATCH', '/api/account-center', { enabled: true });
      expect(on).toEqual({ status: 200, body: { enabled: true, fields: ALL_OFF, ...EXTRA } });
      const fields = await api('PATCH', '/api/account-center', { fields: { name: 'Edit', email: 'ReadOnly', session: 'Edit' } });
      expect(fields.body).toEqual({ enabled: true, fields: { ...ALL_OFF, name: 'Edit', email: 'ReadOnly', session: 'Edit' }, ...EXTRA });
      // replace, not merge: name and session go back to Off
      const replaced = await api('PATCH', '/api/account-center', { fields: { email: 'Edit', mfa: 'ReadOnly' } });
      expect(replaced.body.fields).toEqual({ ...ALL_OFF, email: 'Edit', mfa: 'ReadOnly' });
      // enabled alone keeps the fields; an empty body changes nothing
      expect((await api('PATCH', '/api/account-center', { enabled: false })).body).toEqual({ enabled: false, fields: replaced.body.fields, ...EXTRA });
      expect((await api('PATCH', '/api/account-center', {})).body).toEqual({ enabled: false, fields: replaced.body.fields, ...EXTRA });
      expect((await api('GET', '/api/account-center')).body).toEqual({ enabled: false, fields: replaced.body.fields, ...EXTRA });
      // what the Account API will consult
      expect(await t.app.services.accountCenter.fieldMode('email')).toBe('Edit');
      expect(await t.app.services.accountCenter.fieldMode('name')).toBe('Off');
      expect((await api('PATCH', '/api/account-center', { fields: {} })).body).toEqual({ enabled: false, fields: ALL_OFF, ...EXTRA });
    });

    it('refuses unknown field names, unknown modes and bad types with 400 request.invalid, writing nothing', async () => {
      await api('PATCH', '/api/account-center', { enabled: true, fields: { name: 'ReadOnly' }, ...EXTRA });
      const bad: Array<[unknown, string]> = [
        [{ fields: { nickname: 'Edit' } }, 'body.fields'],
        [{ fields: { passkey: 'Sometimes' } }, 'body.fields.passkey'],
        [{ deleteAccountUrl: 'ftp://files.example/delete' }, 'body.deleteAccountUrl'],
        [{ webauthnRelatedOrigins: ['https://shop.example/path'] }, 'body.webauthnRelatedOrigins.0'],
        [{ fields: { name: 'Write' } }, 'body.fields.name'],
        [{ fields: { name: 'edit' } }, 'body.fields.name'],
        [{ fields: { name: null } }, 'body.fields.name'],
        [{ fields: null }, 'body.fields'],
        [{ fields: ['name'] }, 'body.fields'],
        [{ enabled: 'true' }, 'body.enabled'],
        [{ enabled: true, customCss: 'body{}' }, 'body'],
      ];
      for (const [body, path] of bad) {
        const res = await api('PATCH', '/api/account-center', body);
        expect([res.status, res.body.code], JSON.stringify(body)).toEqual([400, 'guard.invalid_input']);
        expect(res.body.data.issues.map((i: { path: string }) => i.path), JSON.stringify(body)).toContain(path);
      }
      expect((await api('PATCH', '/api/account-center', '{"enabled":')).body.code).toBe('request.malformed_json');
      expect((await api('GET', '/api/account-center')).body).toEqual({ enabled: true, fields: { ...ALL_OFF, name: 'ReadOnly' }, ...EXTRA });
      await api('PATCH', '/api/account-center', { enabled: false, fields: {}, ...EXTRA });
    });

    it('needs a Management API token: 401 without or with a bad one, 403 without scope all', async () => {
      for (const bearer of [null, 'not-a-jwt', `${token.slice(0, -4)}AAAA`]) {
        for (const [method, body] of [['GET', undefined], ['PATCH', { enabled: true }]] as const) {
          const res = await api(method, '/api/account-center', body, bearer);
          expect([res.status, res.body.code]).toEqual([401, 'auth.unauthorized']);
        }
      }
      const noScope = await managementToken(t.base, '');
      expect(await api('PATCH', '/api/account-center', { enabled: true }, noScope)).toMatchObject({ status: 403, body: { code: 'auth.forbidden' } });
      expect(await api('GET', '/api/account-center', undefined, noScope)).toMatchObject({ status: 403, body: { code: 'auth.forbidden' } });
      expect((await api('GET', '/api/account-center')).body.enabled).toBe(false);
    });

    it("keeps Logto's other settings: passkey only when set (else it follows mfa), deleteAccountUrl (\"\" clears), related origins deduplicated", async () => {
      const set = await api('PATCH', '/api/account-center', {
        fields: { mfa: 'Edit', passkey: 'ReadOnly' },
        deleteAccountUrl: 'https://app.example/account/delete',
        webauthnRelatedOrigins: ['https://shop.example', 'https://shop.example', 'http://localhost:5173'],
      });
      expect(set).toEqual({
        status: 200,
        body: {
          enabled: false,
          fields: { ...ALL_OFF, mfa: 'Edit', passkey: 'ReadOnly' },
          deleteAccountUrl: 'https://app.example/account/delete',
          webauthnRelatedOrigins: ['https://shop.example', 'http://localhost:5173'],
        },
      });
      const settings = await t.app.services.accountCenter.get();
      expect(passkeyMode(settings)).toBe('ReadOnly');
      // Fields replace the map: without passkey, passkeys follow mfa again; other settings stay.
      const followed = await api('PATCH', '/api/account-center', { fields: { mfa: 'Edit' }, deleteAccountUrl: '' });
      expect(followed.body).toEqual({ enabled: false, fields: { ...ALL_OFF, mfa: 'Edit' }, deleteAccountUrl: null, webauthnRelatedOrigins: ['https://shop.example', 'http://localhost:5173'] });
      expect(passkeyMode(await t.app.services.accountCenter.get())).toBe('Edit');
      expect((await api('PATCH', '/api/account-center', { fields: {}, ...EXTRA })).body).toEqual({ enabled: false, fields: ALL_OFF, ...EXTRA });
    });

    it('keeps both of two concurrent patches of different columns', async () => {
      await Promise.all([api('PATCH', '/api/account-center', { enabled: true }), api('PATCH', '/api/account-center', { fields: { phone: 'Edit' } })]);
      t.app.services.accountCenter.invalidate();
      expect(await t.app.services.accountCenter.get()).toEqual({ enabled: true, fields: { ...ALL_OFF, phone: 'Edit' }, ...EXTRA });
      await api('PATCH', '/api/account-center', { enabled: false, fields: {}, ...EXTRA });
    });

    it('falls back to the defaults when the row is missing, and recreates it on the next change', async () => {
      await t.app.database.db.deleteFrom('account_center').execute();
      t.app.services.accountCenter.invalidate();
      expect((await api('GET', '/api/account-center')).body).toEqual({ enabled: false, fields: ALL_OFF, ...EXTRA });
      expect((await api('PATCH', '/api/account-center', { fields: { avatar: 'Edit' } })).body).toEqual({ enabled: false, fields: { ...ALL_OFF, avatar: 'Edit' }, ...EXTRA });
      t.app.services.accountCenter.invalidate();
      expect((await api('GET', '/api/account-center')).body.fields.avatar).toBe('Edit');
      await api('PATCH', '/api/account-center', { fields: {} });
    });
  });

  describe('user list totals and pages (storage/user-list.ts)', () => {
    const total = async (query = '') => {
      const res = await t.call('GET', `/api/users?${query}`, { token });
      expect(res.status).toBe(200);
      return { count: Number(res.headers.get('total-number')), users: (await res.json()) as Array<{ id: string; username: string }> };
    };
    const countStar = async () => Number((await t.app.database.db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);

    it('keeps the unfiltered Total-Number exact through creates, failed creates and deletes', async () => {
      const before = (await total()).count;
      expect(before).toBe(await countStar());
      const a = await api('POST', '/api/users', { username: uniq() });
      const b = await api('POST', '/api/users', { username: uniq() });
      expect((await api('POST', '/api/users', { username: a.body.username })).status).toBe(422);
      expect((await total()).count).toBe(before + 2);
      await api('DELETE', `/api/users/${a.body.id}`);
      expect((await total()).count).toBe(before + 1);
      expect(await countStar()).toBe(before + 1);
      expect(await t.app.services.store.users.count()).toBe(before + 1);
      await api('DELETE', `/api/users/${b.body.id}`);
    });

    it('pages searches below and above the one-scan cap in the same order as the unfiltered list', async () => {
      const prefix = uniq('cap');
      const base = Date.UTC(2030, 0, 1);
      const rows = Array.from({ length: 1100 }, (_, i) =>
        toUserRow(
          userRecord({
            id: `${prefix}-${String(i).padStart(4, '0')}`,
            username: `${prefix}_${String(i).padStart(4, '0')}`,
            name: i < 30 ? `Few ${prefix}` : null,
            // two users per millisecond: ties are broken by id, descending
            createdAt: base + Math.floor(i / 2),
            updatedAt: base,
          }),
        ),
      );
      for (let i = 0; i < rows.length; i += 100) await t.app.database.db.insertInto('users').values(rows.slice(i, i + 100)).execute();
      const name = (i: number) => `${prefix}_${String(i).padStart(4, '0')}`;
      // above the cap (1 100 matches): counted separately, page in index order
      const wide = await total(`search.username=${prefix.toUpperCase()}%25&page_size=100&page=2`);
      expect(wide.count).toBe(1100);
      expect(wide.users.map((u) => u.username)).toEqual(Array.from({ length: 100 }, (_, k) => name(999 - k)));
      // below the cap (30 matches): one scan gives the total and the page
      const few = await total(`search=%25few%20${prefix}%25&page_size=7&page=2`);
      expect(few.count).toBe(30);
      expect(few.users.map((u) => u.username)).toEqual(Array.from({ length: 7 }, (_, k) => name(22 - k)));
      expect((await total(`search=%25few%20${prefix}%25&page_size=7&page=5`)).users.map((u) => u.username)).toEqual([name(1), name(0)]);
      expect(await total(`search=%25few%20${prefix}%25&page_size=7&page=6`)).toEqual({ count: 30, users: [] });
      // the unfiltered list shows the same newest-first order (these users are the newest)
      expect((await total('page_size=3')).users.map((u) => u.username)).toEqual([name(1099), name(1098), name(1097)]);
      const deep = await total('page_size=100&page=11');
      expect(deep.users.map((u) => u.username)).toEqual(Array.from({ length: 100 }, (_, k) => name(99 - k)));
      await t.app.database.db.deleteFrom('users').where('id', 'like', `${prefix}-%`).execute();
      expect((await total()).count).toBe(await countStar());
    });
  });

  describe("a user's identities", () => {
    it('lists identities by target and unlinks one; an absent one is 404 user.identity_not_exist', async () => {
      const { body: user } = await api('POST', '/api/users', { username: uniq() });
      const { body: other } = await api('POST', '/api/users', { username: uniq() });
      const identities = t.app.services.identities;
      await identities.link(user.id, 'weixin', `wx-${user.id}`, { uid: `wx-${user.id}`, access_token: 'at-1', expires_in: 7200 });
      await identities.link(user.id, 'qq', `qq-${user.id}`, { openid: `qq-${user.id}` });
      await identities.link(other.id, 'weixin', `wx-${other.id}`, { uid: `wx-${other.id}` });

      const list = await api('GET', `/api/users/${user.id}/identities`);
      expect(list).toEqual({
        status: 200,
        body: {
          qq: { userId: `qq-${user.id}`, details: { openid: `qq-${user.id}` } },
          weixin: { userId: `wx-${user.id}`, details: { uid: `wx-${user.id}`, access_token: 'at-1', expires_in: 7200 } },
        },
      });
      // the user object carries the same map, as Logto's does (issue 19 item 3)
      expect((await api('GET', `/api/users/${user.id}`)).body.identities).toEqual((await api('GET', `/api/users/${user.id}/identities`)).body);

      expect(await api('GET', `/api/users/${user.id}/identities/weixin?includeTokenSecret=true`)).toEqual({
        status: 200,
        body: { identity: { userId: `wx-${user.id}`, details: { uid: `wx-${user.id}`, access_token: 'at-1', expires_in: 7200 } } },
      });
      expect((await api('GET', `/api/users/${user.id}/identities/github`)).body.code).toBe('user.identity_not_exist');

      // Unlinking answers the user, as Logto does.
      const unlinked = await api('DELETE', `/api/users/${user.id}/identities/weixin`);
      expect(unlinked).toMatchObject({ status: 200, body: { id: user.id, identities: { qq: { userId: `qq-${user.id}` } } } });
      expect(unlinked.body.identities).not.toHaveProperty('weixin');
      expect((await api('GET', `/api/users/${user.id}/identities`)).body).toEqual({ qq: { userId: `qq-${user.id}`, details: { openid: `qq-${user.id}` } } });
      const again = await api('DELETE', `/api/users/${user.id}/identities/weixin`);
      expect([again.status, again.body.code]).toEqual([404, 'user.identity_not_exist']);
      expect((await api('DELETE', `/api/users/${user.id}/identities/github`)).body.code).toBe('user.identity_not_exist');
      // the other user's identity of that provider is untouched, and the external account is free again
      expect(Object.keys((await api('GET', `/api/users/${other.id}/identities`)).body)).toEqual(['weixin']);
      expect(await identities.findOwner('weixin', `wx-${user.id}`)).toBeUndefined();

      expect((await api('DELETE', `/api/users/${user.id}/identities/qq`)).status).toBe(200);
      expect((await api('GET', `/api/users/${user.id}/identities`)).body).toEqual({});
    });

    it("sets an identity with PUT …/identities/:target (201 new, 200 replaced; another user's is 422)", async () => {
      const { body: user } = await api('POST', '/api/users', { username: uniq() });
      const { body: other } = await api('POST', '/api/users', { username: uniq() });
      const put = (id: string, target: string, body: unknown) => api('PUT', `/api/users/${id}/identities/${target}`, body);
      const first = await put(user.id, 'github', { userId: `gh-${user.id}`, details: { login: 'ada' } });
      expect(first).toEqual({ status: 201, body: { github: { userId: `gh-${user.id}`, details: { login: 'ada' } } } });
      const replaced = await put(user.id, 'github', { userId: `gh2-${user.id}` });
      expect(replaced).toEqual({ status: 200, body: { github: { userId: `gh2-${user.id}`, details: {} } } });
      // The administrator vouches for it: it is a verified identity of the user.
      const row = await t.app.services.identities.find('github', `gh2-${user.id}`);
      expect(row).toMatchObject({ userId: user.id, verified: true, imported: false });
      expect(await t.app.services.identities.find('github', `gh-${user.id}`)).toBeUndefined();
      // Another user's external account: 422 (Logto), nothing written.
      const taken = await put(other.id, 'github', { userId: `gh2-${user.id}` });
      expect(taken).toMatchObject({ status: 422, body: { code: 'user.identity_already_in_use' } });
      expect((await api('GET', `/api/users/${other.id}/identities`)).body).toEqual({});
      expect((await put(user.id, 'github', { details: {} })).body.code).toBe('guard.invalid_input');
      expect((await put('nobody-here', 'github', { userId: 'x' })).status).toBe(404);
    });

    it('answers 404 entity.not_found (as Logto) for an unknown user, and needs a Management API token', async () => {
      for (const [method, path] of [['GET', '/api/users/nobody-here/identities'], ['DELETE', '/api/users/nobody-here/identities/weixin']]) {
        const res = await api(method!, path!);
        expect([res.status, res.body.code]).toEqual([404, 'entity.not_found']);
      }
      const { body: user } = await api('POST', '/api/users', { username: uniq() });
      await t.app.services.identities.link(user.id, 'weixin', `wx-${user.id}`, {});
      expect((await api('GET', `/api/users/${user.id}/identities`, undefined, null)).status).toBe(401);
      expect((await api('DELETE', `/api/users/${user.id}/identities/weixin`, undefined, null)).status).toBe(401);
      const noScope = await managementToken(t.base, '');
      expect((await api('DELETE', `/api/users/${user.id}/identities/weixin`, undefined, noScope)).status).toBe(403);
      expect(Object.keys((await api('GET', `/api/users/${user.id}/identities`)).body)).toEqual(['weixin']);
    });
  });
});
