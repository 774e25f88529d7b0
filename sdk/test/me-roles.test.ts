/**
 * AuthenticationClient's roles and permissions (issue 18 item 6; Authing's hasRole, listRoles,
 * listAuthorizedResources, its namespace being an API resource's indicator), against a real server on
 * 127.0.0.1 (SQLite, and PostgreSQL when configured).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects } from '../../test/helpers.js';
import { AuthenticationClient } from '../src/index.js';
import { fails, PW, type SdkServer, startSdkServer, uniq } from './server.js';

describe.each(dialects)('AuthenticationClient roles on %s', (_name, database) => {
  let s: SdkServer;
  beforeAll(async () => {
    s = await startSdkServer(database);
  });
  afterAll(async () => {
    await s.close();
  });

  it('lists the signed-in user’s roles and permissions, by namespace, and answers hasRole', async () => {
    const authz = s.t.app.services.authorization;
    const api = `https://api.${uniq()}.example.com`;
    const other = `https://other.${uniq()}.example.com`;
    const resource = await authz.createResource({ name: 'Docs API', indicator: api });
    const read = await authz.createScope(resource.id, { name: 'read:docs' });
    const write = await authz.createScope(resource.id, { name: 'write:docs' });
    const otherResource = await authz.createResource({ name: 'Other', indicator: other });
    const ping = await authz.createScope(otherResource.id, { name: 'ping' });
    const editor = await authz.createRole({ name: `editor-${uniq()}`, description: 'edits docs', scopeIds: [read.id, write.id] });
    const pinger = await authz.createRole({ name: `pinger-${uniq()}`, description: 'pings', scopeIds: [ping.id] });
    const plain = await authz.createRole({ name: `plain-${uniq()}`, description: 'no permission' });

    const auth = new AuthenticationClient({ appHost: s.t.base });
    const user = await auth.registerByEmail(`${uniq()}@example.com`, PW);
    expect(await auth.listRoles()).toEqual({ totalCount: 0, list: [] });
    expect(await auth.hasRole(editor.name)).toBe(false);

    await authz.grantUserRoles(user.id, [editor.id, pinger.id, plain.id]);
    const all = await auth.listRoles();
    expect(all.totalCount).toBe(3);
    expect(all.list.map((r) => r.id).sort()).toEqual([editor.id, pinger.id, plain.id].sort());
    expect(all.list.find((r) => r.id === editor.id)).toEqual({ id: editor.id, name: editor.name, description: 'edits docs', type: 'User' });
    expect(await auth.hasRole(editor.name)).toBe(true);
    expect(await auth.hasRole(editor.name, api)).toBe(true);
    expect(await auth.hasRole(editor.name, other)).toBe(false);
    expect((await auth.listRoles(other)).list.map((r) => r.id)).toEqual([pinger.id]);

    const resources = await auth.listAuthorizedResources();
    expect(resources.totalCount).toBe(2);
    expect(resources.list.find((r) => r.indicator === api)).toEqual({ indicator: api, name: 'Docs API', scopes: expect.arrayContaining(['read:docs', 'write:docs']) });
    expect(await auth.listAuthorizedResources(other)).toEqual({ totalCount: 1, list: [{ indicator: other, name: 'Other', scopes: ['ping'] }] });

    await authz.revokeUserRole(user.id, editor.id);
    expect(await auth.hasRole(editor.name)).toBe(false);
    expect((await auth.listAuthorizedResources(api)).list).toEqual([]);

    // Signed out: refused.
    await auth.logout();
    await fails(auth.listRoles(), 'auth.unauthorized', 401);
  });
});
