/**
 * ManagementClient's API resources, permissions and roles (issue 18 item 5) against a real Tessera server
 * on 127.0.0.1: every `resources` and `roles` method and the role methods of `users` and `applications`,
 * with their documented failures read back from Logto's codes into Tessera's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects } from '../../test/helpers.js';
import { ManagementClient } from '../src/index.js';
import { ADMIN_ID, ADMIN_SECRET, fails, type SdkServer, startSdkServer, uniq } from './server.js';

describe.each(dialects)('ManagementClient resources and roles on %s', (_name, database) => {
  let s: SdkServer;
  let mgmt: ManagementClient;

  beforeAll(async () => {
    s = await startSdkServer(database);
    mgmt = new ManagementClient({ endpoint: s.t.base, clientId: ADMIN_ID, clientSecret: ADMIN_SECRET });
  });
  afterAll(async () => {
    await s.close();
  });

  it('resources: create, list, detail, update, setDefault, delete; permissions: create, list, update, delete', async () => {
    const indicator = `https://${uniq('orders')}.example.com`;
    const api = await mgmt.resources.create({ name: 'Orders', indicator, accessTokenTtl: 600 });
    expect(api).toEqual({ tenantId: 'default', id: expect.any(String), name: 'Orders', indicator, isDefault: false, accessTokenTtl: 600, scopes: [] });
    expect(await mgmt.resources.detail(api.id)).toMatchObject({ id: api.id, indicator });
    const page = await mgmt.resources.list(1, 100, { includeScopes: true });
    expect(page.totalCount).toBe(page.list.length);
    expect(page.list.find((r) => r.id === 'management-api')?.scopes?.map((x) => x.name)).toEqual(['all']);
    expect((await mgmt.resources.update(api.id, { name: 'Orders API' })).name).toBe('Orders API');
    expect((await mgmt.resources.setDefault(api.id, true)).isDefault).toBe(true);
    expect((await mgmt.resources.setDefault(api.id, false)).isDefault).toBe(false);

    const read = await mgmt.resources.createScope(api.id, { name: 'read:orders', description: 'Read' });
    await mgmt.resources.createScope(api.id, { name: 'write:orders' });
    const scopes = await mgmt.resources.listScopes(api.id, 1, 1);
    expect([scopes.totalCount, scopes.list.map((x) => x.name)]).toEqual([2, ['read:orders']]);
    expect((await mgmt.resources.listScopes(api.id, 1, 10, 'WRITE')).list.map((x) => x.name)).toEqual(['write:orders']);
    expect((await mgmt.resources.updateScope(api.id, read.id, { description: null })).description).toBeNull();
    await mgmt.resources.deleteScope(api.id, read.id);
    await fails(mgmt.resources.deleteScope(api.id, read.id), 'scope.not_found', 404);
    await fails(mgmt.resources.updateScope(api.id, read.id, { name: 'x' }), 'scope.not_found', 404);

    await fails(mgmt.resources.create({ name: 'Again', indicator }), 'resource.indicator_taken', 422);
    await fails(mgmt.resources.create({ name: 'Bad', indicator: 'no uri' }), 'resource.invalid_indicator', 400);
    await fails(mgmt.resources.createScope(api.id, { name: 'has space' }), 'scope.invalid_name', 400);
    await fails(mgmt.resources.createScope(api.id, { name: 'write:orders' }), 'scope.name_taken', 422);
    await fails(mgmt.resources.update('management-api', { name: 'Mine' }), 'resource.management_api_read_only', 400);
    await fails(mgmt.resources.delete('management-api'), 'resource.management_api_read_only', 400);

    await mgmt.resources.delete(api.id);
    await fails(mgmt.resources.detail(api.id), 'resource.not_found', 404);
    await fails(mgmt.resources.createScope(api.id, { name: 'read' }), 'resource.not_found', 404);
  });

  it('roles: create, list, detail, update, permissions, users, applications, delete', async () => {
    const api = await mgmt.resources.create({ name: 'Reports', indicator: `https://${uniq('reports')}.example.com` });
    const scope = await mgmt.resources.createScope(api.id, { name: 'read:reports' });
    const extra = await mgmt.resources.createScope(api.id, { name: 'write:reports' });
    const name = uniq('Reader-');
    const role = await mgmt.roles.create({ name, description: 'Reads reports', scopeIds: [scope.id] });
    expect(role).toEqual({ tenantId: 'default', id: expect.any(String), name, description: 'Reads reports', type: 'User', isDefault: false });
    expect(await mgmt.roles.detail(role.id)).toEqual(role);
    expect((await mgmt.roles.update(role.id, { description: 'Reads every report' })).description).toBe('Reads every report');

    expect((await mgmt.roles.addScopes(role.id, [extra.id])).map((x) => x.id).sort()).toEqual([scope.id, extra.id].sort());
    const held = await mgmt.roles.listScopes(role.id);
    expect(held.map((x) => x.resource.id)).toEqual([api.id, api.id]);
    expect((await mgmt.roles.listScopes(role.id, 'write')).map((x) => x.id)).toEqual([extra.id]);
    await mgmt.roles.removeScope(role.id, extra.id);
    await fails(mgmt.roles.removeScope(role.id, extra.id), 'scope.not_found', 404);
    await fails(mgmt.roles.addScopes(role.id, [scope.id]), 'role.scope_already_granted', 422);
    await fails(mgmt.roles.addScopes(role.id, ['management-api-all']), 'role.management_scope_for_user_role', 400);
    await fails(mgmt.roles.addScopes(role.id, ['no-such-scope']), 'scope.not_found', 404);

    const user = await mgmt.users.create({ username: uniq('reader'), name: 'Reader' });
    await mgmt.roles.addUsers(role.id, [user.id]);
    const users = await mgmt.roles.listUsers(role.id);
    expect([users.totalCount, users.list[0]?.id, users.list[0]]).toEqual([1, user.id, expect.not.objectContaining({ identities: expect.anything() })]);
    await fails(mgmt.roles.addUsers(role.id, [user.id]), 'role.already_held', 422);
    await fails(mgmt.roles.addUsers(role.id, ['no-such-user']), 'user.not_found', 404);
    const listed = await mgmt.roles.list({ search: name, type: 'User' });
    expect(listed.list).toEqual([expect.objectContaining({ id: role.id, usersCount: 1, featuredUsers: [{ id: user.id, avatar: null, name: 'Reader' }], applicationsCount: 0 })]);
    expect((await mgmt.roles.list({ excludeUserId: user.id, limit: 100 })).list.map((r) => r.id)).not.toContain(role.id);
    await mgmt.roles.removeUser(role.id, user.id);
    await fails(mgmt.roles.removeUser(role.id, user.id), 'role.not_held', 404);

    const machine = await mgmt.roles.create({ name: uniq('Job-'), description: 'Runs jobs', type: 'MachineToMachine' });
    const app = await mgmt.applications.create({ name: uniq('job'), type: 'm2m' });
    await mgmt.roles.addApplications(machine.id, [app.id]);
    const apps = await mgmt.roles.listApplications(machine.id);
    expect(apps.list).toEqual([expect.objectContaining({ id: app.id, type: 'm2m', isManagement: false })]);
    await fails(mgmt.roles.addApplications(machine.id, [app.id]), 'role.already_held', 422);
    await fails(mgmt.roles.addApplications(role.id, [app.id]), 'role.type_mismatch', 422);
    await fails(mgmt.roles.addUsers(machine.id, [user.id]), 'role.type_mismatch', 422);
    await mgmt.roles.removeApplication(machine.id, app.id);
    await fails(mgmt.roles.removeApplication(machine.id, app.id), 'role.not_held', 404);

    await fails(mgmt.roles.create({ name, description: 'again' }), 'role.name_taken', 422);
    await fails(mgmt.roles.delete('management-api-access'), 'role.management_role_read_only', 400);
    await mgmt.roles.delete(role.id);
    await fails(mgmt.roles.detail(role.id), 'role.not_found', 404);
    await fails(mgmt.roles.listScopes(role.id), 'role.not_found', 404);
  });

  it("users' and applications' roles: add (held skipped), set, list, remove; management-api-access makes isManagement", async () => {
    const user = await mgmt.users.create({ username: uniq('holder') });
    const [a, b] = [await mgmt.roles.create({ name: uniq('A-'), description: 'a' }), await mgmt.roles.create({ name: uniq('B-'), description: 'b' })];
    expect(await mgmt.users.addRoles(user.id, [a.id, b.id])).toEqual({ roleIds: [a.id, b.id], addedRoleIds: [a.id, b.id] });
    expect(await mgmt.users.addRoles(user.id, [a.id])).toEqual({ roleIds: [a.id], addedRoleIds: [] });
    const page = await mgmt.users.listRoles(user.id, 1, 1);
    expect([page.totalCount, page.list.length]).toEqual([2, 1]);
    expect((await mgmt.users.listRoles(user.id, 1, 10, b.name)).list.map((r) => r.id)).toEqual([b.id]);
    await mgmt.users.setRoles(user.id, [b.id]);
    expect((await mgmt.users.listRoles(user.id)).list.map((r) => r.id)).toEqual([b.id]);
    await mgmt.users.removeRole(user.id, b.id);
    await fails(mgmt.users.removeRole(user.id, b.id), 'role.not_held', 404);
    await fails(mgmt.users.addRoles(user.id, ['no-such-role']), 'role.not_found', 404);
    await fails(mgmt.users.listRoles('no-such-user'), 'user.not_found', 404);
    await fails(mgmt.users.addRoles(user.id, ['management-api-access']), 'role.type_mismatch', 422);

    const app = await mgmt.applications.create({ name: uniq('ops'), type: 'm2m' });
    expect(await mgmt.applications.addRoles(app.id, ['management-api-access'])).toEqual({ roleIds: ['management-api-access'], addedRoleIds: ['management-api-access'] });
    expect((await mgmt.applications.detail(app.id)).isManagement).toBe(true);
    const ops = new ManagementClient({ endpoint: s.t.base, clientId: app.id, clientSecret: app.secret! });
    expect((await ops.users.list()).totalCount).toBeGreaterThan(0);
    expect((await mgmt.applications.listRoles(app.id)).list.map((r) => r.id)).toEqual(['management-api-access']);
    await mgmt.applications.setRoles(app.id, []);
    expect((await mgmt.applications.detail(app.id)).isManagement).toBe(false);
    await fails(ops.users.list(), 'auth.unauthorized', 401);
    await fails(mgmt.applications.removeRole(app.id, 'management-api-access'), 'role.not_held', 404);
    await fails(mgmt.applications.addRoles(app.id, [a.id]), 'role.type_mismatch', 422);
    const spa = await mgmt.applications.create({ name: uniq('spa'), type: 'spa' });
    await fails(mgmt.applications.listRoles(spa.id), 'application.roles_need_machine_to_machine', 422);
    await fails(mgmt.applications.listRoles('no-such-app'), 'application.not_found', 404);
  });
});
