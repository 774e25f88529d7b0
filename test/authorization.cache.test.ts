import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects, type RunningApp, startAppWithPublicUrl } from './helpers.js';

/**
 * Issue 18: the permissions a token carries are kept per process (AuthorizationService.heldScopes) only while
 * the authorization model's version (migration 0028, kept by triggers) is unchanged. Two nodes on one database:
 * node B issues tokens (and so keeps answers); every change made on node A — a role taken, a permission added
 * to a role, a permission deleted, a resource's role given back, the resource deleted — shows in node B's very
 * next token.
 */
const X = 'https://api.cache.example.com';

describe.each(dialects)('authorization answers kept per node follow every change on %s', (name, database) => {
  let a: RunningApp;
  let b: RunningApp;
  let dir: string | undefined;
  let drop: () => Promise<void> = async () => {};

  beforeAll(async () => {
    let url: string;
    if (name === 'SQLite') {
      dir = mkdtempSync(join(tmpdir(), 'tessera-authz-cache-'));
      url = `sqlite:${join(dir, 'shared.db')}`;
    } else {
      const db = await database();
      url = db.url;
      drop = db.drop;
    }
    a = await startAppWithPublicUrl({ databaseUrl: url });
    b = await startAppWithPublicUrl({ databaseUrl: url });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    await drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function token(id: string, secret: string, scope: string): Promise<{ status: number; scope?: string }> {
    const res = await fetch(`${b.base}/oidc/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource: X, scope }).toString(),
    });
    const body = (await res.json()) as { scope?: string };
    return { status: res.status, ...(body.scope !== undefined ? { scope: body.scope } : {}) };
  }

  it('node B’s next token shows each change node A made', async () => {
    const authz = a.app.services.authorization;
    const resource = await authz.createResource({ name: 'Cache API', indicator: X });
    const read = await authz.createScope(resource.id, { name: 'read:x' });
    const write = await authz.createScope(resource.id, { name: 'write:x' });
    const role = await authz.createRole({ name: 'cache reader', description: 'reads', type: 'MachineToMachine', scopeIds: [read.id] });
    const app = await a.app.services.applications.create({ name: 'Cache job', type: 'm2m' });
    const [id, secret] = [app.application.id, app.secret!];
    await authz.grantApplicationRoles(id, [role.id]);

    // Twice: the second answer comes from node B's kept answers.
    expect(await token(id, secret, 'read:x write:x')).toEqual({ status: 200, scope: 'read:x' });
    expect(await token(id, secret, 'read:x write:x')).toEqual({ status: 200, scope: 'read:x' });

    // A permission added to the role (role_scopes).
    await authz.addRoleScopes(role.id, [write.id]);
    expect(await token(id, secret, 'read:x write:x')).toEqual({ status: 200, scope: 'read:x write:x' });

    // The role taken from the application (application_roles).
    await authz.revokeApplicationRole(id, role.id);
    expect(await token(id, secret, 'read:x write:x')).toEqual({ status: 200 }); // no scope at all

    // Given back, then a permission deleted (resource_scopes, cascading to role_scopes).
    await authz.grantApplicationRoles(id, [role.id]);
    expect(await token(id, secret, 'read:x write:x')).toEqual({ status: 200, scope: 'read:x write:x' });
    await authz.deleteScope(resource.id, write.id);
    expect(await token(id, secret, 'read:x write:x')).toEqual({ status: 200, scope: 'read:x' });

    // The resource deleted: its indicator is unknown to node B at once.
    await authz.deleteResource(resource.id);
    expect((await token(id, secret, 'read:x')).status).toBe(400);
  });
});
