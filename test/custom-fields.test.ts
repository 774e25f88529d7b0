/**
 * Typed custom fields (issue 6, seed 003 getUdfValue / setUdfValue / removeUdfValue / setUdv / removeUdv):
 * definitions through the Management API (`/api/custom-fields`, real M2M token), values through
 * `/api/auth/me/custom-fields` with a session token — over real HTTP on 127.0.0.1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DatabaseFactory, dialects, type RunningApp, startAppWithPublicUrl } from './helpers.js';

const ADMIN_ID = 'tessera-admin-app';
const ADMIN_SECRET = 'admin-secret-0123456789abcdef';
const PW = 'violet-harbor-7-lantern';
let seq = 0;
const uniq = (p = 'u') => `${p}${Date.now().toString(36)}${seq++}`;

describe.each(dialects)('custom fields on %s', (_name, database) => {
  let t: RunningApp;
  let db: Awaited<ReturnType<DatabaseFactory>>;
  let admin: string;

  beforeAll(async () => {
    db = await database();
    t = await startAppWithPublicUrl({ databaseUrl: db.url, adminClientId: ADMIN_ID, adminClientSecret: ADMIN_SECRET });
    const res = await fetch(`${t.base}/oidc/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${ADMIN_ID}:${ADMIN_SECRET}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource: `${t.base}/api`, scope: 'all' }).toString(),
    });
    admin = (await res.json()).access_token;
    for (const [key, type] of [['school', 'STRING'], ['age', 'NUMBER'], ['vip', 'BOOLEAN'], ['birthday', 'DATETIME'], ['prefs', 'OBJECT']] as const) {
      const created = await api('POST', '/api/custom-fields', { key, type, label: key.toUpperCase() });
      expect(created.status).toBe(201);
    }
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  async function call(method: string, path: string, options: Parameters<RunningApp['call']>[2] = {}) {
    const res = await t.call(method, path, options);
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }
  const api = (method: string, path: string, body?: unknown) => call(method, path, { token: admin, ...(body !== undefined ? { body } : {}) });
  async function user(extra: Record<string, unknown> = {}) {
    const res = await call('POST', '/api/auth/sign-up', { body: { username: uniq(), password: PW, ...extra } });
    return { status: res.status, body: res.body, token: res.body?.session?.token as string };
  }
  const values = (list: Array<{ key: string; value: unknown }>) => Object.fromEntries(list.map((f) => [f.key, f.value]));

  describe('Management API /api/custom-fields', () => {
    it('lists, updates labels and refuses duplicates, bad keys and bad types', async () => {
      const list = await api('GET', '/api/custom-fields');
      expect(list.body.map((f: { key: string }) => f.key)).toEqual(['age', 'birthday', 'prefs', 'school', 'vip']);
      expect(list.body.find((f: { key: string }) => f.key === 'age')).toMatchObject({ type: 'NUMBER', label: 'AGE', description: null });
      expect(await api('POST', '/api/custom-fields', { key: 'age', type: 'STRING' })).toMatchObject({ status: 409, body: { code: 'custom_field.key_taken' } });
      for (const body of [{ key: '1bad', type: 'STRING' }, { key: 'ok_key', type: 'INTEGER' }, { key: 'x', type: 'STRING', extra: 1 }, { key: 'a'.repeat(65), type: 'STRING' }]) {
        expect((await api('POST', '/api/custom-fields', body)).body.code).toBe('guard.invalid_input');
      }
      const patched = await api('PATCH', '/api/custom-fields/school', { label: 'School', description: 'Where you studied' });
      expect(patched.body).toMatchObject({ key: 'school', type: 'STRING', label: 'School', description: 'Where you studied' });
      expect((await api('PATCH', '/api/custom-fields/nothere', { label: 'x' })).body.code).toBe('custom_field.not_found');
      expect((await api('DELETE', '/api/custom-fields/nothere')).body.code).toBe('custom_field.not_found');
    });

    it('needs a management token', async () => {
      const { token } = await user();
      expect((await call('GET', '/api/custom-fields')).status).toBe(401);
      expect((await call('POST', '/api/custom-fields', { token, body: { key: 'hack', type: 'STRING' } })).status).toBe(401);
    });

    it('deletes a definition; stored values stay as untyped custom data', async () => {
      expect((await api('POST', '/api/custom-fields', { key: 'temp', type: 'STRING' })).status).toBe(201);
      const { token } = await user();
      await call('PUT', '/api/auth/me/custom-fields', { token, body: { values: { temp: 'kept' } } });
      expect((await api('DELETE', '/api/custom-fields/temp')).status).toBe(204);
      expect((await api('GET', '/api/custom-fields')).body.map((f: { key: string }) => f.key)).not.toContain('temp');
      expect((await call('GET', '/api/auth/me', { token })).body.customData).toEqual({ temp: 'kept' });
      expect((await call('PUT', '/api/auth/me/custom-fields', { token, body: { values: { temp: 'x' } } })).body.code).toBe('custom_field.not_found');
    });
  });

  describe('/api/auth/me/custom-fields', () => {
    it('lists every defined field with null for unset values (also for keys that name Object.prototype members)', async () => {
      expect((await api('POST', '/api/custom-fields', { key: 'constructor', type: 'STRING' })).status).toBe(201);
      const { token } = await user();
      const proto = await call('GET', '/api/auth/me/custom-fields', { token });
      expect(proto.body).toContainEqual({ key: 'constructor', type: 'STRING', label: null, value: null });
      expect((await call('DELETE', '/api/auth/me/custom-fields/constructor', { token })).status).toBe(204);
      expect((await call('PUT', '/api/auth/me/custom-fields', { token, body: { values: { constructor: 'x' } } })).body).toContainEqual({ key: 'constructor', type: 'STRING', label: null, value: 'x' });
      expect((await api('DELETE', '/api/custom-fields/constructor')).status).toBe(204);
      const res = await call('GET', '/api/auth/me/custom-fields', { token });
      expect(res.status).toBe(200);
      expect(res.body).toContainEqual({ key: 'age', type: 'NUMBER', label: 'AGE', value: null });
      expect(values(res.body)).toEqual({ age: null, birthday: null, prefs: null, school: null, vip: null });
    });

    it('sets values of every type, normalising strings the Authing SDK sends', async () => {
      const { token } = await user();
      const res = await call('PUT', '/api/auth/me/custom-fields', {
        token,
        body: { values: { school: 'HUST', age: '20', vip: 'true', birthday: '2001-02-03T04:05:06+08:00', prefs: '{"theme":"dark"}' } },
      });
      expect(res.status).toBe(200);
      expect(values(res.body)).toEqual({ school: 'HUST', age: 20, vip: true, birthday: '2001-02-02T20:05:06.000Z', prefs: { theme: 'dark' } });
      const again = await call('PUT', '/api/auth/me/custom-fields', { token, body: { values: { age: 21.5, vip: false, prefs: { a: [1] } } } });
      expect(values(again.body)).toMatchObject({ school: 'HUST', age: 21.5, vip: false, prefs: { a: [1] } });
      expect((await call('GET', '/api/auth/me', { token })).body.customData).toMatchObject({ school: 'HUST', age: 21.5 });
    });

    it('refuses a wrong type or an unknown key and writes nothing (all or nothing)', async () => {
      const { token } = await user();
      const cases: Array<[Record<string, unknown>, string, string]> = [
        [{ school: 'ok', age: 'twenty' }, 'custom_field.invalid_value', 'age'],
        [{ vip: 'yes' }, 'custom_field.invalid_value', 'vip'],
        [{ vip: 1 }, 'custom_field.invalid_value', 'vip'],
        [{ birthday: '03/02/2001' }, 'custom_field.invalid_value', 'birthday'],
        [{ birthday: '2001-02-30T00:00:00Z' }, 'custom_field.invalid_value', 'birthday'],
        [{ prefs: [1, 2] }, 'custom_field.invalid_value', 'prefs'],
        [{ prefs: 'not json' }, 'custom_field.invalid_value', 'prefs'],
        [{ school: 42 }, 'custom_field.invalid_value', 'school'],
        [{ age: Number.MAX_VALUE, school: 'x'.repeat(4097) }, 'custom_field.invalid_value', 'school'],
        [{ school: 'ok', nope: 1 }, 'custom_field.not_found', 'nope'],
      ];
      for (const [vals, code, key] of cases) {
        const res = await call('PUT', '/api/auth/me/custom-fields', { token, body: { values: vals } });
        expect(res.status).toBe(400);
        expect(res.body).toMatchObject({ code, data: { key } });
      }
      expect((await call('GET', '/api/auth/me', { token })).body.customData).toEqual({});
    });

    it("removes one value (204); another user's values are never touched", async () => {
      const a = await user();
      const b = await user();
      await call('PUT', '/api/auth/me/custom-fields', { token: a.token, body: { values: { school: 'A', age: 1 } } });
      await call('PUT', '/api/auth/me/custom-fields', { token: b.token, body: { values: { school: 'B' } } });
      expect((await call('DELETE', '/api/auth/me/custom-fields/school', { token: a.token })).status).toBe(204);
      expect(values((await call('GET', '/api/auth/me/custom-fields', { token: a.token })).body)).toMatchObject({ school: null, age: 1 });
      expect(values((await call('GET', '/api/auth/me/custom-fields', { token: b.token })).body)).toMatchObject({ school: 'B', age: null });
      expect((await call('DELETE', '/api/auth/me/custom-fields/unknown', { token: a.token })).body.code).toBe('custom_field.not_found');
      expect((await call('GET', '/api/auth/me/custom-fields')).status).toBe(401);
    });

    it('type-checks defined keys in sign-up and PATCH /api/auth/me custom data; other keys pass', async () => {
      const bad = await call('POST', '/api/auth/sign-up', { body: { username: uniq(), password: PW, customData: { age: 'old' } } });
      expect(bad).toMatchObject({ status: 400, body: { code: 'custom_field.invalid_value' } });
      const ok = await user({ customData: { age: '30', source: 'google' } });
      expect(ok.body.user.customData).toEqual({ age: 30, source: 'google' });
      const patched = await call('PATCH', '/api/auth/me', { token: ok.token, body: { customData: { vip: 'nope' }, name: 'n' } });
      expect(patched.body.code).toBe('custom_field.invalid_value');
      expect((await call('GET', '/api/auth/me', { token: ok.token })).body).toMatchObject({ name: null, customData: { age: 30, source: 'google' } });
    });
  });
});
