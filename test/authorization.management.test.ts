import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DatabaseFactory, dialects, type RunningApp, startAppWithPublicUrl } from './helpers.js';

/**
 * Issue 18 item 5: the Management API's routes for API resources, permissions and roles, in Logto's paths,
 * shapes, statuses and error codes (/work/notes-logto-rbac.md §1, §2), over real HTTP with an M2M token,
 * on SQLite and PostgreSQL. The rules themselves are the domain's (tested in authorization.oidc.test.ts);
 * this checks the wire: CRUD and paging of each route, each error code, the read-only Management API
 * resource, cascades, concurrent grants, and the built-in role `management-api-access` as `isManagement`.
 */

const ADMIN_ID = 'authz-mgmt-admin';
const ADMIN_SECRET = 'authz-mgmt-admin-secret-0123456789';
let seq = 0;
const uniq = (p = 'az') => `${p}${Date.now().toString(36)}${seq++}`;

describe.each(dialects)('Management API authorization routes on %s', (_name, database: DatabaseFactory) => {
  let t: RunningApp;
  let db: Awaited<ReturnType<DatabaseFactory>>;
  let token: string;

  async function clientCredentials(id: string, secret: string, resource = `${t.base}/api`) {
    const res = await fetch(`${t.base}/oidc/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource, scope: 'all' }).toString(),
    });
    return { status: res.status, body: (await res.json()) as Record<string, string> };
  }

  beforeAll(async () => {
    db = await database();
    t = await startAppWithPublicUrl({ databaseUrl: db.url, adminClientId: ADMIN_ID, adminClientSecret: ADMIN_SECRET, rateLimit: { managementPer10Seconds: 100_000 } });
    const got = await clientCredentials(ADMIN_ID, ADMIN_SECRET);
    expect(got.status).toBe(200);
    token = got.body.access_token!;
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  type Answer = { status: number; headers: Headers; body: any };
  const api = async (method: string, path: string, body?: unknown, bearer = token): Promise<Answer> => {
    const res = await t.call(method, path, { ...(body !== undefined ? { body } : {}), token: bearer });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
  };
  const refused = (a: Answer) => [a.status, a.body?.code];

  const newResource = async (indicator = `https://${uniq('api')}.example.com`) => {
    const r = await api('POST', '/api/resources', { name: 'Resource', indicator });
    expect(r.status).toBe(201);
    return r.body as { id: string; indicator: string };
  };
  const newScope = async (resourceId: string, name = uniq('read:')) => {
    const r = await api('POST', `/api/resources/${resourceId}/scopes`, { name, description: 'Reads' });
    expect(r.status).toBe(201);
    return r.body as { id: string; name: string };
  };
  const newRole = async (type: 'User' | 'MachineToMachine' = 'User', extra: Record<string, unknown> = {}) => {
    const r = await api('POST', '/api/roles', { name: uniq('role-'), description: 'A role', type, ...extra });
    expect(r.status).toBe(200);
    return r.body as { id: string; name: string };
  };
  const newUser = async () => {
    const r = await api('POST', '/api/users', { username: uniq('u'), name: 'Ann', avatar: 'https://img.example.com/a.png' });
    expect(r.status).toBe(200);
    return r.body as { id: string };
  };
  const newApp = async (type = 'MachineToMachine') => {
    const r = await api('POST', '/api/applications', { name: uniq('app'), type });
    expect(r.status).toBe(200);
    return r.body as { id: string; secret: string };
  };

  describe('API resources', () => {
    it('create (201, scopes []), read, list (optional paging, includeScopes), update, is-default, delete', async () => {
      const indicator = `https://${uniq('api')}.example.com/v1`;
      const created = await api('POST', '/api/resources', { name: 'Orders', indicator, accessTokenTtl: 600, isDefault: true, tenantId: 'default' });
      expect(created.status).toBe(201);
      const id = created.body.id as string;
      expect(created.body).toEqual({ tenantId: 'default', id, name: 'Orders', indicator, isDefault: false, accessTokenTtl: 600, scopes: [] });

      const one = await api('GET', `/api/resources/${id}`);
      expect(one.status).toBe(200);
      expect(one.body).toEqual({ tenantId: 'default', id, name: 'Orders', indicator, isDefault: false, accessTokenTtl: 600 });

      // Without page / page_size: the whole list, no Total-Number (Logto's optional pagination).
      const all = await api('GET', '/api/resources');
      expect(all.status).toBe(200);
      expect(all.headers.get('total-number')).toBeNull();
      const ids = all.body.map((r: { id: string }) => r.id);
      expect(ids).toContain('management-api');
      expect(ids).toContain(id);
      expect(all.body.find((r: { id: string }) => r.id === 'management-api')).toEqual({
        tenantId: 'default', id: 'management-api', name: 'Management API', indicator: 'https://default.logto.app/api', isDefault: false, accessTokenTtl: 3600,
      });
      // With page_size: paged, Total-Number and Link.
      const paged = await api('GET', '/api/resources?page_size=1&page=2');
      expect(paged.body).toHaveLength(1);
      expect(Number(paged.headers.get('total-number'))).toBe(all.body.length);
      expect(paged.headers.get('link')).toContain('rel="prev"');
      const withScopes = await api('GET', '/api/resources?includeScopes=true');
      expect(withScopes.body.find((r: { id: string }) => r.id === 'management-api').scopes).toEqual([
        expect.objectContaining({ tenantId: 'default', id: 'management-api-all', resourceId: 'management-api', name: 'all' }),
      ]);

      // PATCH: name and TTL; the indicator is stripped as in Logto.
      const patched = await api('PATCH', `/api/resources/${id}`, { name: 'Orders API', accessTokenTtl: 1200, indicator: 'https://other.example.com' });
      expect(patched.status).toBe(200);
      expect(patched.body).toMatchObject({ name: 'Orders API', accessTokenTtl: 1200, indicator });

      // is-default: at most one.
      const other = await newResource();
      expect((await api('PATCH', `/api/resources/${id}/is-default`, { isDefault: true })).body.isDefault).toBe(true);
      expect((await api('PATCH', `/api/resources/${other.id}/is-default`, { isDefault: true })).body.isDefault).toBe(true);
      expect((await api('GET', `/api/resources/${id}`)).body.isDefault).toBe(false);
      expect((await api('PATCH', `/api/resources/${other.id}/is-default`, { isDefault: false })).body.isDefault).toBe(false);
      expect(refused(await api('PATCH', `/api/resources/${id}/is-default`, {}))).toEqual([400, 'guard.invalid_input']);

      expect((await api('DELETE', `/api/resources/${id}`)).status).toBe(204);
      const gone = await api('GET', `/api/resources/${id}`);
      expect(refused(gone)).toEqual([404, 'entity.not_exists_with_id']);
      expect(gone.body.message).toBe(`The resources with ID \`${id}\` does not exist.`);
      expect(refused(await api('DELETE', `/api/resources/${id}`))).toEqual([404, 'entity.not_exists_with_id']);
      expect(refused(await api('PATCH', `/api/resources/${id}`, { name: 'x' }))).toEqual([404, 'entity.not_exists_with_id']);
    });

    it('refuses a taken indicator (422), a bad one (400) and bad bodies (400)', async () => {
      const r = await newResource();
      expect(refused(await api('POST', '/api/resources', { name: 'Again', indicator: r.indicator }))).toEqual([422, 'resource.resource_identifier_in_use']);
      // The Management API's indicators are taken too.
      expect(refused(await api('POST', '/api/resources', { name: 'M', indicator: 'https://default.logto.app/api' }))).toEqual([422, 'resource.resource_identifier_in_use']);
      expect(refused(await api('POST', '/api/resources', { name: 'M', indicator: `${t.base}/api` }))).toEqual([422, 'resource.resource_identifier_in_use']);
      expect(refused(await api('POST', '/api/resources', { name: 'Bad', indicator: 'not a uri' }))).toEqual([400, 'resource.invalid_indicator']);
      expect(refused(await api('POST', '/api/resources', { name: 'Bad', indicator: 'https://x.example.com/#frag' }))).toEqual([400, 'resource.invalid_indicator']);
      expect(refused(await api('POST', '/api/resources', { indicator: 'https://y.example.com' }))).toEqual([400, 'guard.invalid_input']);
      expect(refused(await api('POST', '/api/resources', { name: 'T', indicator: 'https://z.example.com', accessTokenTtl: 10 ** 9 }))).toEqual([400, 'guard.invalid_input']);
      expect(refused(await api('GET', '/api/resources?page_size=1000'))).toEqual([400, 'guard.invalid_pagination']);
    });

    it('keeps the Management API resource read-only (400) but readable', async () => {
      expect((await api('GET', '/api/resources/management-api')).status).toBe(200);
      expect(refused(await api('PATCH', '/api/resources/management-api', { name: 'Mine' }))).toEqual([400, 'resource.cannot_modify_management_api']);
      expect(refused(await api('DELETE', '/api/resources/management-api'))).toEqual([400, 'resource.cannot_delete_management_api']);
      expect(refused(await api('POST', '/api/resources/management-api/scopes', { name: 'write' }))).toEqual([400, 'resource.cannot_modify_management_api']);
      expect(refused(await api('PATCH', '/api/resources/management-api/scopes/management-api-all', { name: 'everything' }))).toEqual([400, 'resource.cannot_modify_management_api']);
      expect(refused(await api('DELETE', '/api/resources/management-api/scopes/management-api-all'))).toEqual([400, 'resource.cannot_modify_management_api']);
      const scopes = await api('GET', '/api/resources/management-api/scopes');
      expect(scopes.body.map((s: { name: string }) => s.name)).toEqual(['all']);
      expect((await api('GET', '/api/resources/management-api')).body.name).toBe('Management API');
    });
  });

  describe('permissions (resource scopes)', () => {
    it('create (201), list with paging and search, update, delete', async () => {
      const r = await newResource();
      const created = await api('POST', `/api/resources/${r.id}/scopes`, { name: 'read:orders', description: 'Read orders' });
      expect(created.status).toBe(201);
      expect(created.body).toEqual({ tenantId: 'default', id: expect.any(String), resourceId: r.id, name: 'read:orders', description: 'Read orders', createdAt: expect.any(Number) });
      await newScope(r.id, 'write:orders');
      const nodesc = await api('POST', `/api/resources/${r.id}/scopes`, { name: 'admin' });
      expect(nodesc.body.description).toBeNull();

      const page = await api('GET', `/api/resources/${r.id}/scopes?page=1&page_size=2`);
      expect(page.status).toBe(200);
      expect(page.body.map((s: { name: string }) => s.name)).toEqual(['read:orders', 'write:orders']);
      expect(page.headers.get('total-number')).toBe('3');
      expect(page.headers.get('link')).toContain('rel="next"');
      // Logto's default pagination: Total-Number even without page parameters.
      expect((await api('GET', `/api/resources/${r.id}/scopes`)).headers.get('total-number')).toBe('3');
      const found = await api('GET', `/api/resources/${r.id}/scopes?search=${encodeURIComponent('%ORDERS%')}`);
      expect(found.body.map((s: { name: string }) => s.name)).toEqual(['read:orders', 'write:orders']);
      const byName = await api('GET', `/api/resources/${r.id}/scopes?search.name=${encodeURIComponent('%write%')}&mode.name=like`);
      expect(byName.body.map((s: { name: string }) => s.name)).toEqual(['write:orders']);
      expect(refused(await api('GET', `/api/resources/${r.id}/scopes?search.foo=x`))).toEqual([400, 'request.invalid_input']);
      expect(refused(await api('GET', `/api/resources/${r.id}/scopes?search=x&mode=posix`))).toEqual([400, 'request.invalid_input']);
      expect(refused(await api('GET', `/api/resources/${r.id}/scopes?search=`))).toEqual([400, 'request.invalid_input']);
      // An unknown resource has no permissions (as Logto: no 404).
      const none = await api('GET', '/api/resources/no-such-resource/scopes');
      expect([none.status, none.body, none.headers.get('total-number')]).toEqual([200, [], '0']);

      const patched = await api('PATCH', `/api/resources/${r.id}/scopes/${created.body.id}`, { name: 'read:all-orders', description: null });
      expect(patched.status).toBe(200);
      expect(patched.body).toMatchObject({ id: created.body.id, name: 'read:all-orders', description: null });
      expect((await api('DELETE', `/api/resources/${r.id}/scopes/${created.body.id}`)).status).toBe(204);
      expect(refused(await api('DELETE', `/api/resources/${r.id}/scopes/${created.body.id}`))).toEqual([404, 'entity.not_found']);
    });

    it('refuses spaces (400), a taken name (422), an unknown resource (404), and a scope of another resource (404)', async () => {
      const r = await newResource();
      const s = await newScope(r.id, 'read');
      expect(refused(await api('POST', `/api/resources/${r.id}/scopes`, { name: 'read all' }))).toEqual([400, 'scope.name_with_space']);
      expect(refused(await api('POST', `/api/resources/${r.id}/scopes`, { name: 'read' }))).toEqual([422, 'scope.name_exists']);
      const other = await newScope(r.id, 'write');
      expect(refused(await api('PATCH', `/api/resources/${r.id}/scopes/${other.id}`, { name: 'read' }))).toEqual([422, 'scope.name_exists']);
      expect(refused(await api('PATCH', `/api/resources/${r.id}/scopes/${other.id}`, { name: 'wr ite' }))).toEqual([400, 'scope.name_with_space']);
      const missing = await api('POST', '/api/resources/no-such-resource/scopes', { name: 'read' });
      expect(refused(missing)).toEqual([404, 'entity.not_exists_with_id']);
      expect(missing.body.message).toBe('The resources with ID `no-such-resource` does not exist.');
      // Stricter than Logto: the permission must be the resource's.
      const r2 = await newResource();
      expect(refused(await api('PATCH', `/api/resources/${r2.id}/scopes/${s.id}`, { name: 'x' }))).toEqual([404, 'entity.not_exists']);
      expect(refused(await api('DELETE', `/api/resources/${r2.id}/scopes/${s.id}`))).toEqual([404, 'entity.not_found']);
      expect((await api('GET', `/api/resources/${r.id}/scopes`)).body.map((x: { name: string }) => x.name)).toEqual(['read', 'write']);
    });
  });

  describe('roles', () => {
    it('create (200), get, list with holders, filters and search, update, delete', async () => {
      const r = await newResource();
      const s = await newScope(r.id);
      const name = uniq('Editors-');
      const created = await api('POST', '/api/roles', { name, description: 'Edit things', scopeIds: [s.id] });
      expect(created.status).toBe(200);
      const id = created.body.id as string;
      expect(created.body).toEqual({ tenantId: 'default', id, name, description: 'Edit things', type: 'User', isDefault: false });
      expect((await api('GET', `/api/roles/${id}`)).body).toEqual(created.body);
      expect((await api('GET', `/api/roles/${id}/scopes`)).body.map((x: { id: string }) => x.id)).toEqual([s.id]);

      const users = [await newUser(), await newUser(), await newUser(), await newUser()];
      expect((await api('POST', `/api/roles/${id}/users`, { userIds: users.map((u) => u.id) })).status).toBe(201);
      const listed = await api('GET', `/api/roles?search=${encodeURIComponent(`%${name.toLowerCase()}%`)}`);
      expect(listed.status).toBe(200);
      expect(listed.headers.get('total-number')).toBe('1');
      expect(listed.body).toHaveLength(1);
      expect(listed.body[0]).toMatchObject({ id, name, usersCount: 4, applicationsCount: 0, featuredApplications: [] });
      expect(listed.body[0].featuredUsers).toHaveLength(3);
      expect(listed.body[0].featuredUsers[0]).toEqual({ id: expect.any(String), avatar: 'https://img.example.com/a.png', name: 'Ann' });
      expect((await api('GET', `/api/roles?search.name=${encodeURIComponent(name)}`)).body.map((x: { id: string }) => x.id)).toEqual([id]);
      expect((await api('GET', `/api/roles?search.description=${encodeURIComponent('%edit thi%')}`)).body.map((x: { id: string }) => x.id)).toContain(id);

      const m2m = await newRole('MachineToMachine');
      const app = await newApp();
      expect((await api('POST', `/api/roles/${m2m.id}/applications`, { applicationIds: [app.id] })).status).toBe(201);
      const machine = await api('GET', '/api/roles?type=MachineToMachine&page_size=100');
      expect(machine.body.every((x: { type: string }) => x.type === 'MachineToMachine')).toBe(true);
      const m2mListed = machine.body.find((x: { id: string }) => x.id === m2m.id);
      expect(m2mListed).toMatchObject({ usersCount: 0, applicationsCount: 1, featuredApplications: [{ id: app.id, name: expect.any(String), type: 'MachineToMachine' }] });
      expect(machine.body.map((x: { id: string }) => x.id)).toContain('management-api-access');
      // excludeUserId / excludeApplicationId leave out the roles they hold.
      expect((await api('GET', `/api/roles?excludeUserId=${users[0]!.id}&page_size=100`)).body.map((x: { id: string }) => x.id)).not.toContain(id);
      expect((await api('GET', `/api/roles?excludeApplicationId=${app.id}&page_size=100`)).body.map((x: { id: string }) => x.id)).not.toContain(m2m.id);
      expect(refused(await api('GET', '/api/roles?type=Admin'))).toEqual([400, 'guard.invalid_input']);
      expect(refused(await api('GET', '/api/roles?search.foo=x'))).toEqual([400, 'request.invalid_input']);
      expect(refused(await api('GET', '/api/roles?search=x&isCaseSensitive=true'))).toEqual([400, 'request.invalid_input']);
      const paged = await api('GET', '/api/roles?page=1&page_size=1');
      expect(paged.body).toHaveLength(1);
      expect(Number(paged.headers.get('total-number'))).toBeGreaterThan(1);

      const patched = await api('PATCH', `/api/roles/${id}`, { name: `${name}-2`, description: 'Changed', isDefault: true, type: 'MachineToMachine' });
      expect(patched.status).toBe(200);
      expect(patched.body).toMatchObject({ name: `${name}-2`, description: 'Changed', isDefault: true, type: 'User' });
      await api('PATCH', `/api/roles/${id}`, { isDefault: false });

      expect((await api('DELETE', `/api/roles/${id}`)).status).toBe(204);
      const gone = await api('GET', `/api/roles/${id}`);
      expect(refused(gone)).toEqual([404, 'entity.not_exists_with_id']);
      expect(gone.body.message).toBe(`The roles with ID \`${id}\` does not exist.`);
      expect(refused(await api('DELETE', `/api/roles/${id}`))).toEqual([404, 'entity.not_exists_with_id']);
      // Deleting a role takes it from its users.
      expect((await api('GET', `/api/users/${users[0]!.id}/roles`)).body).toEqual([]);
    });

    it('refuses a taken name (422) and bad bodies (400); a refused permission keeps no role (stricter than Logto)', async () => {
      const role = await newRole();
      expect(refused(await api('POST', '/api/roles', { name: role.name, description: 'again' }))).toEqual([422, 'role.name_in_use']);
      const other = await newRole('MachineToMachine');
      expect(refused(await api('PATCH', `/api/roles/${other.id}`, { name: role.name }))).toEqual([422, 'role.name_in_use']);
      expect(refused(await api('POST', '/api/roles', { name: uniq('r') }))).toEqual([400, 'guard.invalid_input']);
      expect(refused(await api('POST', '/api/roles', { name: uniq('r'), description: 'x'.repeat(129) }))).toEqual([400, 'guard.invalid_input']);
      expect(refused(await api('POST', '/api/roles', { name: '   ', description: 'blank' }))).toEqual([400, 'guard.invalid_input']);

      const unknown = uniq('ghost');
      expect(refused(await api('POST', '/api/roles', { name: unknown, description: 'x', scopeIds: ['no-such-scope'] }))).toEqual([404, 'entity.not_exists_with_id']);
      const mgmtUser = uniq('mgmt');
      expect(refused(await api('POST', '/api/roles', { name: mgmtUser, description: 'x', scopeIds: ['management-api-all'] }))).toEqual([400, 'role.management_api_scopes_not_assignable_to_user_role']);
      for (const name of [unknown, mgmtUser]) expect((await api('GET', `/api/roles?search.name=${encodeURIComponent(name)}`)).headers.get('total-number')).toBe('0');
      // A MachineToMachine role may hold the Management API's permission.
      expect((await api('POST', '/api/roles', { name: uniq('ops'), description: 'x', type: 'MachineToMachine', scopeIds: ['management-api-all'] })).status).toBe(200);
    });

    it("a role's permissions: add (201, every permission), list with resources, remove; its errors", async () => {
      const r = await newResource();
      const [a, b, c] = [await newScope(r.id), await newScope(r.id), await newScope(r.id)];
      const role = await newRole('User', { scopeIds: [a!.id] });
      const added = await api('POST', `/api/roles/${role.id}/scopes`, { scopeIds: [b!.id, c!.id] });
      expect(added.status).toBe(201);
      expect(added.body.map((s: { id: string }) => s.id).sort()).toEqual([a!.id, b!.id, c!.id].sort());
      expect(added.body[0]).toEqual({ tenantId: 'default', id: expect.any(String), resourceId: r.id, name: expect.any(String), description: 'Reads', createdAt: expect.any(Number) });

      const all = await api('GET', `/api/roles/${role.id}/scopes`);
      expect(all.headers.get('total-number')).toBeNull();
      expect(all.body).toHaveLength(3);
      expect(all.body[0].resource).toEqual({ tenantId: 'default', id: r.id, name: 'Resource', indicator: r.indicator, isDefault: false, accessTokenTtl: 3600 });
      const paged = await api('GET', `/api/roles/${role.id}/scopes?page=2&page_size=2`);
      expect([paged.body.length, paged.headers.get('total-number')]).toEqual([1, '3']);
      expect((await api('GET', `/api/roles/${role.id}/scopes?search=${encodeURIComponent(`%${b!.name}%`)}`)).body.map((s: { id: string }) => s.id)).toEqual([b!.id]);

      expect(refused(await api('POST', `/api/roles/${role.id}/scopes`, { scopeIds: [a!.id] }))).toEqual([422, 'role.scope_exists']);
      expect(refused(await api('POST', `/api/roles/${role.id}/scopes`, { scopeIds: ['no-such-scope'] }))).toEqual([404, 'entity.not_exists_with_id']);
      expect(refused(await api('POST', `/api/roles/${role.id}/scopes`, { scopeIds: ['management-api-all'] }))).toEqual([400, 'role.management_api_scopes_not_assignable_to_user_role']);
      expect(refused(await api('POST', `/api/roles/${role.id}/scopes`, { scopeIds: [] }))).toEqual([400, 'guard.invalid_input']);
      expect(refused(await api('POST', '/api/roles/no-such-role/scopes', { scopeIds: [a!.id] }))).toEqual([404, 'entity.not_exists_with_id']);
      expect(refused(await api('GET', '/api/roles/no-such-role/scopes'))).toEqual([404, 'entity.not_exists_with_id']);

      expect((await api('DELETE', `/api/roles/${role.id}/scopes/${a!.id}`)).status).toBe(204);
      expect(refused(await api('DELETE', `/api/roles/${role.id}/scopes/${a!.id}`))).toEqual([404, 'entity.not_found']);

      // Deleting a resource takes its permissions from every role.
      expect((await api('DELETE', `/api/resources/${r.id}`)).status).toBe(204);
      expect((await api('GET', `/api/roles/${role.id}/scopes`)).body).toEqual([]);
    });

    it('keeps the built-in management-api-access role and its permission', async () => {
      expect((await api('GET', '/api/roles/management-api-access')).body).toMatchObject({ id: 'management-api-access', type: 'MachineToMachine' });
      expect(refused(await api('DELETE', '/api/roles/management-api-access'))).toEqual([400, 'role.management_role_read_only']);
      expect(refused(await api('DELETE', '/api/roles/management-api-access/scopes/management-api-all'))).toEqual([400, 'role.management_role_read_only']);
      expect((await api('GET', '/api/roles/management-api-access/scopes')).body.map((s: { id: string }) => s.id)).toEqual(['management-api-all']);
    });
  });

  describe('who holds a role', () => {
    it("a role's users: add (201, no body), list as Logto users, remove; its errors", async () => {
      const role = await newRole();
      const [u1, u2] = [await newUser(), await newUser()];
      const added = await api('POST', `/api/roles/${role.id}/users`, { userIds: [u1!.id, u2!.id] });
      expect([added.status, added.body]).toEqual([201, undefined]);
      const page = await api('GET', `/api/roles/${role.id}/users?page_size=1`);
      expect(page.headers.get('total-number')).toBe('2');
      expect(page.body).toHaveLength(1);
      expect(page.body[0]).toMatchObject({ name: 'Ann', identities: {} });
      expect([u1!.id, u2!.id]).toContain(page.body[0].id);
      expect(page.body[0]).not.toHaveProperty('passwordHash');
      expect(refused(await api('GET', `/api/roles/${role.id}/users?search=%25a%25`))).toEqual([400, 'request.invalid_input']);

      expect(refused(await api('POST', `/api/roles/${role.id}/users`, { userIds: [u1!.id] }))).toEqual([422, 'role.user_exists']);
      const missing = await api('POST', `/api/roles/${role.id}/users`, { userIds: ['no-such-user'] });
      expect(refused(missing)).toEqual([404, 'entity.not_exists_with_id']);
      expect(missing.body.message).toMatch(/^The users with ID/);
      expect(refused(await api('POST', `/api/roles/${role.id}/users`, { userIds: [] }))).toEqual([400, 'guard.invalid_input']);
      const m2m = await newRole('MachineToMachine');
      expect(refused(await api('POST', `/api/roles/${m2m.id}/users`, { userIds: [u1!.id] }))).toEqual([422, 'entity.db_constraint_violated']);
      expect(refused(await api('POST', '/api/roles/no-such-role/users', { userIds: [u1!.id] }))).toEqual([404, 'entity.not_exists_with_id']);
      expect(refused(await api('GET', '/api/roles/no-such-role/users'))).toEqual([404, 'entity.not_exists_with_id']);

      expect((await api('DELETE', `/api/roles/${role.id}/users/${u1!.id}`)).status).toBe(204);
      expect(refused(await api('DELETE', `/api/roles/${role.id}/users/${u1!.id}`))).toEqual([404, 'entity.not_found']);
      expect((await api('GET', `/api/roles/${role.id}/users`)).body.map((u: { id: string }) => u.id)).toEqual([u2!.id]);
    });

    it("a role's applications: add (201, no body), list as Logto applications, remove; its errors", async () => {
      const role = await newRole('MachineToMachine');
      const app = await newApp();
      expect((await api('POST', `/api/roles/${role.id}/applications`, { applicationIds: [app.id] })).status).toBe(201);
      const list = await api('GET', `/api/roles/${role.id}/applications`);
      expect(list.headers.get('total-number')).toBe('1');
      expect(list.body).toEqual([expect.objectContaining({ id: app.id, type: 'MachineToMachine', isManagement: false, hasSecret: true })]);
      expect(JSON.stringify(list.body)).not.toMatch(/secretHash|"secret"/);

      expect(refused(await api('POST', `/api/roles/${role.id}/applications`, { applicationIds: [app.id] }))).toEqual([422, 'role.application_exists']);
      const userRole = await newRole();
      expect(refused(await api('POST', `/api/roles/${userRole.id}/applications`, { applicationIds: [app.id] }))).toEqual([422, 'entity.db_constraint_violated']);
      const spa = await newApp('SPA');
      expect(refused(await api('POST', `/api/roles/${role.id}/applications`, { applicationIds: [spa.id] }))).toEqual([422, 'application.invalid_type']);
      const missing = await api('POST', `/api/roles/${role.id}/applications`, { applicationIds: ['no-such-app'] });
      expect(refused(missing)).toEqual([404, 'entity.not_exists_with_id']);
      expect(missing.body.message).toMatch(/^The applications with ID/);

      expect((await api('DELETE', `/api/roles/${role.id}/applications/${app.id}`)).status).toBe(204);
      expect(refused(await api('DELETE', `/api/roles/${role.id}/applications/${app.id}`))).toEqual([404, 'entity.not_found']);
      expect((await api('GET', `/api/roles/${role.id}/applications`)).body).toEqual([]);
    });

    it("a user's roles: add (201, held ones skipped), replace (200), list with paging and search, remove; its errors", async () => {
      const user = await newUser();
      const [r1, r2, r3] = [await newRole(), await newRole(), await newRole()];
      const added = await api('POST', `/api/users/${user.id}/roles`, { roleIds: [r1!.id, r2!.id] });
      expect([added.status, added.body]).toEqual([201, { roleIds: [r1!.id, r2!.id], addedRoleIds: [r1!.id, r2!.id] }]);
      const again = await api('POST', `/api/users/${user.id}/roles`, { roleIds: [r2!.id, r3!.id] });
      expect([again.status, again.body]).toEqual([201, { roleIds: [r2!.id, r3!.id], addedRoleIds: [r3!.id] }]);

      const page = await api('GET', `/api/users/${user.id}/roles?page=2&page_size=2`);
      expect([page.status, page.headers.get('total-number')]).toEqual([200, '3']);
      expect(page.body).toEqual([{ tenantId: 'default', id: r3!.id, name: r3!.name, description: 'A role', type: 'User', isDefault: false }]);
      expect((await api('GET', `/api/users/${user.id}/roles?search=${encodeURIComponent(`%${r2!.name.toUpperCase()}%`)}`)).body.map((r: { id: string }) => r.id)).toEqual([r2!.id]);

      const put = await api('PUT', `/api/users/${user.id}/roles`, { roleIds: [r3!.id, r1!.id, r3!.id] });
      expect([put.status, put.body]).toEqual([200, { roleIds: [r3!.id, r1!.id] }]);
      expect((await api('GET', `/api/users/${user.id}/roles`)).body.map((r: { id: string }) => r.id).sort()).toEqual([r1!.id, r3!.id].sort());

      const m2m = await newRole('MachineToMachine');
      expect(refused(await api('POST', `/api/users/${user.id}/roles`, { roleIds: [m2m.id] }))).toEqual([422, 'user.invalid_role_type']);
      expect(refused(await api('PUT', `/api/users/${user.id}/roles`, { roleIds: [m2m.id] }))).toEqual([422, 'user.invalid_role_type']);
      const unknownRole = await api('POST', `/api/users/${user.id}/roles`, { roleIds: ['no-such-role'] });
      expect(refused(unknownRole)).toEqual([404, 'entity.not_exists_with_id']);
      expect(unknownRole.body.message).toMatch(/^The roles with ID/);
      const unknownUser = await api('GET', '/api/users/no-such-user/roles');
      expect(refused(unknownUser)).toEqual([404, 'entity.not_exists_with_id']);
      expect(unknownUser.body.message).toBe('The users with ID `no-such-user` does not exist.');
      expect(refused(await api('POST', '/api/users/no-such-user/roles', { roleIds: [r1!.id] }))).toEqual([404, 'entity.not_exists_with_id']);

      expect((await api('DELETE', `/api/users/${user.id}/roles/${r1!.id}`)).status).toBe(204);
      expect(refused(await api('DELETE', `/api/users/${user.id}/roles/${r1!.id}`))).toEqual([404, 'entity.not_found']);
      expect((await api('GET', `/api/users/${user.id}/roles`)).body.map((r: { id: string }) => r.id)).toEqual([r3!.id]);
      // The user's other routes keep Logto's plain not-found.
      expect(refused(await api('GET', '/api/users/no-such-user'))).toEqual([404, 'entity.not_found']);
    });

    it('20 concurrent grants of one role to one user: each 201 (or 422), never 5xx, one assignment', async () => {
      const user = await newUser();
      const role = await newRole();
      const answers = await Promise.all(Array.from({ length: 20 }, () => api('POST', `/api/users/${user.id}/roles`, { roleIds: [role.id] })));
      for (const a of answers) expect([201, 422]).toContain(a.status);
      expect(answers.some((a) => a.status === 201)).toBe(true);
      const held = await api('GET', `/api/users/${user.id}/roles`);
      expect(held.body.map((r: { id: string }) => r.id)).toEqual([role.id]);
      expect(held.headers.get('total-number')).toBe('1');
      expect((await api('GET', `/api/roles/${role.id}/users`)).headers.get('total-number')).toBe('1');
    });

    it("an application's roles: machine-to-machine only, MachineToMachine roles only; add, replace, list, remove", async () => {
      const app = await newApp();
      const [r1, r2] = [await newRole('MachineToMachine'), await newRole('MachineToMachine')];
      const added = await api('POST', `/api/applications/${app.id}/roles`, { roleIds: [r1!.id, r1!.id] });
      expect([added.status, added.body]).toEqual([201, { roleIds: [r1!.id, r1!.id], addedRoleIds: [r1!.id] }]);
      const put = await api('PUT', `/api/applications/${app.id}/roles`, { roleIds: [r2!.id] });
      expect([put.status, put.body]).toEqual([200, undefined]);
      const list = await api('GET', `/api/applications/${app.id}/roles`);
      expect([list.body.map((r: { id: string }) => r.id), list.headers.get('total-number')]).toEqual([[r2!.id], '1']);

      const userRole = await newRole();
      expect(refused(await api('POST', `/api/applications/${app.id}/roles`, { roleIds: [userRole.id] }))).toEqual([422, 'application.invalid_role_type']);
      const spa = await newApp('SPA');
      for (const [method, body] of [['GET', undefined], ['POST', { roleIds: [r1!.id] }], ['PUT', { roleIds: [] }]] as const) {
        expect(refused(await api(method, `/api/applications/${spa.id}/roles`, body))).toEqual([422, 'application.invalid_type']);
      }
      const missing = await api('GET', '/api/applications/no-such-app/roles');
      expect(refused(missing)).toEqual([404, 'entity.not_exists_with_id']);
      expect(missing.body.message).toBe('The applications with ID `no-such-app` does not exist.');
      expect((await api('DELETE', `/api/applications/${app.id}/roles/${r2!.id}`)).status).toBe(204);
      expect(refused(await api('DELETE', `/api/applications/${app.id}/roles/${r2!.id}`))).toEqual([404, 'entity.not_found']);
      // The application's own routes keep Logto's plain not-found.
      expect(refused(await api('GET', '/api/applications/no-such-app'))).toEqual([404, 'entity.not_found']);
    });

    it('the built-in role management-api-access given by POST /applications/:id/roles opens the Management API, and its removal closes it at once', async () => {
      const app = await newApp();
      const before = await clientCredentials(app.id, app.secret);
      expect([before.status, before.body.error]).toEqual([400, 'invalid_target']);
      expect((await api('GET', `/api/applications/${app.id}`)).body.isManagement).toBe(false);

      const added = await api('POST', `/api/applications/${app.id}/roles`, { roleIds: ['management-api-access'] });
      expect(added.body.addedRoleIds).toEqual(['management-api-access']);
      expect((await api('GET', `/api/applications/${app.id}`)).body.isManagement).toBe(true);
      const got = await clientCredentials(app.id, app.secret);
      expect([got.status, got.body.scope]).toEqual([200, 'all']);
      const own = got.body.access_token!;
      const users = await api('GET', '/api/users', undefined, own);
      expect(users.status).toBe(200);
      expect(Array.isArray(users.body)).toBe(true);
      const holders = await api('GET', '/api/roles/management-api-access/applications?page_size=100');
      expect(holders.body.map((a: { id: string }) => a.id)).toEqual(expect.arrayContaining([app.id, ADMIN_ID]));

      expect((await api('DELETE', `/api/applications/${app.id}/roles/management-api-access`)).status).toBe(204);
      expect(refused(await api('GET', '/api/users', undefined, own))).toEqual([401, 'auth.unauthorized']);
      expect((await api('GET', `/api/applications/${app.id}`)).body.isManagement).toBe(false);
    });
  });
});
