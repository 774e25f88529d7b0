/**
 * Issue 18 item 4: the conformance suite of the organization store (OrganizationStore, migration 0024) on
 * every storage target (SQLite in memory, SQLite file, PostgreSQL when TESSERA_TEST_PG_URL is set): every
 * method, the cascades (one delete removes memberships, member roles, invitations, JIT domains), concurrent
 * adds (one row), the pending-invitation uniqueness and the compare-and-set settle.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateToLatest } from '../src/storage/database.js';
import { KyselyStore } from '../src/storage/kysely-store.js';
import type { ApplicationRecord } from '../src/storage/oidc-store.js';
import type { OrganizationInvitationRecord, OrganizationRecord, OrganizationRoleRecord, OrganizationScopeRecord } from '../src/storage/organization-store.js';
import { T, userRecord } from './fixtures.js';
import { forEachStorage, type OpenedStore } from './storage-targets.js';

let n = 0;
const id = (p: string) => `${p}${(n++).toString().padStart(6, '0')}`;
const org = (o: Partial<OrganizationRecord> = {}): OrganizationRecord => ({ id: id('org'), name: 'Acme', description: null, customData: { tier: 'gold' }, isMfaRequired: false, createdAt: T + n, ...o });
const role = (o: Partial<OrganizationRoleRecord> = {}): OrganizationRoleRecord => ({ id: id('orole'), name: id('role-'), description: 'r', type: 'User', createdAt: T + n, ...o });
const oscope = (o: Partial<OrganizationScopeRecord> = {}): OrganizationScopeRecord => ({ id: id('oscope'), name: id('scope '), description: null, createdAt: T + n, ...o });
const app = (type: ApplicationRecord['type'] = 'm2m'): ApplicationRecord => ({
  id: id('app'),
  name: 'App',
  type,
  secretHash: null,
  redirectUris: [],
  postLogoutRedirectUris: [],
  corsOrigins: [],
  isManagement: false,
  allowTokenExchange: false,
  isThirdParty: false,
  description: 'An app',
  createdAt: T,
  updatedAt: T,
});
const invitation = (organizationId: string, o: Partial<OrganizationInvitationRecord> = {}): OrganizationInvitationRecord => ({
  id: id('inv'),
  organizationId,
  inviterId: null,
  invitee: 'ann@example.com',
  status: 'Pending',
  acceptedUserId: null,
  tokenHash: 'a'.repeat(64),
  createdAt: T + n,
  updatedAt: T + n,
  expiresAt: T + 3_600_000,
  ...o,
});

forEachStorage((name: string, open: () => Promise<OpenedStore>) => {
  describe(`Store conformance, organizations: ${name}`, () => {
    let opened: OpenedStore;
    let store: KyselyStore;

    beforeAll(async () => {
      opened = await open();
      await migrateToLatest(opened.handle.db);
      store = new KyselyStore(opened.handle);
    });
    afterAll(async () => opened?.cleanup());

    const newUser = async (o: Parameters<typeof userRecord>[0] = {}) => {
      const u = userRecord(o);
      await store.users.insert(u);
      return u;
    };
    const newOrg = async (o: Partial<OrganizationRecord> = {}) => {
      const created = org({ branding: {}, ...o }); // read back with its (empty) branding, migration 0026
      await store.organizations.insert(created);
      return created;
    };
    const newRole = async (o: Partial<OrganizationRoleRecord> = {}) => {
      const r = role(o);
      expect(await store.organizations.insertRole(r)).toBe(true);
      return r;
    };

    it('organizations: insert, find, list with search and count, update (customData replaced), delete', async () => {
      const a = await newOrg({ name: 'Zeta Widgets' });
      const b = await newOrg({ name: 'Other' });
      expect(await store.organizations.findById(a.id)).toEqual(a);
      expect((await store.organizations.findByIds([a.id, b.id, 'nope'])).map((o) => o.id).sort()).toEqual([a.id, b.id].sort());
      expect((await store.organizations.list({ offset: 0, limit: 100, search: 'zeta' })).map((o) => o.id)).toEqual([a.id]);
      expect(await store.organizations.count('zeta')).toBe(1);
      expect(await store.organizations.count()).toBeGreaterThanOrEqual(2);
      const updated = await store.organizations.update(a.id, { name: 'Zeta', description: 'd', customData: { plan: 1 }, isMfaRequired: true });
      expect(updated).toMatchObject({ name: 'Zeta', description: 'd', customData: { plan: 1 }, isMfaRequired: true });
      expect(await store.organizations.update('missing', { name: 'x' })).toBeUndefined();
      expect(await store.organizations.delete(b.id)).toBe(true);
      expect(await store.organizations.delete(b.id)).toBe(false);
    });

    it('scopes: unique names, find, list by name with search, update taken, delete', async () => {
      const s1 = oscope({ name: `read members ${n}` });
      expect(await store.organizations.insertScope(s1)).toBe(true);
      expect(await store.organizations.insertScope({ ...oscope(), name: s1.name })).toBe(false);
      const s2 = oscope();
      await store.organizations.insertScope(s2);
      expect(await store.organizations.findScope(s1.id)).toEqual(s1);
      expect((await store.organizations.findScopes([s1.id, s2.id, 'x'])).length).toBe(2);
      expect((await store.organizations.listScopes({ offset: 0, limit: 10, search: 'read members' })).map((s) => s.id)).toEqual([s1.id]);
      expect(await store.organizations.countScopes('read members')).toBe(1);
      expect(await store.organizations.updateScope(s2.id, { name: s1.name })).toBe('taken');
      expect(await store.organizations.updateScope(s2.id, { description: 'x' })).toMatchObject({ description: 'x' });
      expect(await store.organizations.updateScope('missing', { description: 'x' })).toBeUndefined();
      expect(await store.organizations.deleteScope(s2.id)).toBe(true);
      expect(await store.organizations.deleteScope(s2.id)).toBe(false);
    });

    it('roles: unique names, by ids and names, list with search, update (type too), scope and resource-scope grants, delete cascades', async () => {
      const r = await newRole({ name: `admin-${n}` });
      expect(await store.organizations.insertRole({ ...role(), name: r.name })).toBe(false);
      expect(await store.organizations.findRole(r.id)).toEqual(r);
      expect((await store.organizations.findRoles([r.id, 'x'])).map((x) => x.id)).toEqual([r.id]);
      expect((await store.organizations.findRolesByNames([r.name, 'nope'])).map((x) => x.id)).toEqual([r.id]);
      expect((await store.organizations.listRoles({ offset: 0, limit: 10, search: r.name })).map((x) => x.id)).toEqual([r.id]);
      expect(await store.organizations.countRoles(r.name)).toBe(1);
      const other = await newRole();
      expect(await store.organizations.updateRole(other.id, { name: r.name })).toBe('taken');
      expect(await store.organizations.updateRole(other.id, { type: 'MachineToMachine', description: null })).toMatchObject({ type: 'MachineToMachine', description: null });

      const s1 = oscope({ name: `a ${n}` });
      const s2 = oscope({ name: `b ${n}` });
      await store.organizations.insertScope(s1);
      await store.organizations.insertScope(s2);
      await store.organizations.addRoleScopes(r.id, [s1.id, s1.id], T);
      await store.organizations.addRoleScopes(r.id, [s1.id, s2.id], T);
      expect((await store.organizations.roleScopes([r.id])).map((x) => x.scope.id)).toEqual([s1.id, s2.id]);
      await store.organizations.replaceRoleScopes(r.id, [s2.id], T);
      expect((await store.organizations.roleScopes([r.id])).map((x) => x.scope.id)).toEqual([s2.id]);
      expect(await store.organizations.removeRoleScope(r.id, s2.id)).toBe(true);
      expect(await store.organizations.removeRoleScope(r.id, s2.id)).toBe(false);

      const resource = { id: id('res'), name: 'API', indicator: `https://${id('api')}.example.com`, accessTokenTtl: 3600, isDefault: false, createdAt: T };
      await store.resources.insert(resource);
      const rs = { id: id('rs'), resourceId: resource.id, name: 'read', description: null, createdAt: T };
      const ws = { id: id('rs'), resourceId: resource.id, name: 'write', description: null, createdAt: T };
      await store.resources.insertScope(rs);
      await store.resources.insertScope(ws);
      await store.organizations.addRoleResourceScopes(r.id, [rs.id, ws.id, rs.id], T);
      expect((await store.organizations.roleResourceScopes([r.id])).map((x) => [x.scope.name, x.resource])).toEqual([
        ['read', { id: resource.id, name: 'API' }],
        ['write', { id: resource.id, name: 'API' }],
      ]);
      await store.organizations.replaceRoleResourceScopes(r.id, [ws.id], T);
      expect((await store.organizations.roleResourceScopes([r.id])).map((x) => x.scope.id)).toEqual([ws.id]);
      expect(await store.organizations.removeRoleResourceScope(r.id, ws.id)).toBe(true);
      expect(await store.organizations.removeRoleResourceScope(r.id, ws.id)).toBe(false);
      await store.organizations.addRoleResourceScopes(r.id, [rs.id], T);
      // Deleting the API resource removes its permissions and the role's grant of them (migration 0023 → 0024 cascade).
      await store.resources.delete(resource.id);
      expect(await store.organizations.roleResourceScopes([r.id])).toEqual([]);

      await store.organizations.addRoleScopes(r.id, [s1.id], T);
      expect(await store.organizations.deleteRole(r.id)).toBe(true);
      expect(await store.organizations.roleScopes([r.id])).toEqual([]);
      expect(await store.organizations.deleteRole(r.id)).toBe(false);
    });

    it('members: add (one row when concurrent), replace with delta, roles (membership FK), scopes, leaving drops roles', async () => {
      const o = await newOrg();
      const [u1, u2, u3] = [await newUser({ username: id('ann'), name: 'Ann Lee' }), await newUser(), await newUser()];
      const results = await Promise.all(Array.from({ length: 20 }, () => store.organizations.addUsers(o.id, [u1.id], T)));
      expect(results.flat()).toEqual([u1.id]);
      expect(await store.organizations.countUsers(o.id)).toBe(1);
      expect(await store.organizations.isMember(o.id, u1.id)).toBe(true);
      expect(await store.organizations.addUsers(o.id, [u2.id, u1.id], T + 1)).toEqual([u2.id]);
      expect(await store.organizations.listUserIds(o.id, { offset: 0, limit: 10 })).toEqual([u1.id, u2.id]);
      expect(await store.organizations.listUserIds(o.id, { offset: 0, limit: 10, search: 'ann lee' })).toEqual([u1.id]);

      const viewer = await newRole();
      const editor = await newRole();
      const s = oscope();
      await store.organizations.insertScope(s);
      await store.organizations.addRoleScopes(editor.id, [s.id], T);
      await store.organizations.addUserRoles(o.id, [u1.id, u2.id], [viewer.id, editor.id], T);
      await store.organizations.addUserRoles(o.id, [u1.id], [viewer.id], T);
      await expect(store.organizations.addUserRoles(o.id, [u3.id], [viewer.id], T)).rejects.toThrow();
      expect((await store.organizations.userRoles(o.id, [u1.id])).map((x) => x.role.id).sort()).toEqual([viewer.id, editor.id].sort());
      expect(await store.organizations.listUserIds(o.id, { offset: 0, limit: 10, roleId: editor.id })).toEqual([u1.id, u2.id]);
      expect(await store.organizations.countUsers(o.id, { roleId: viewer.id })).toBe(2);
      expect((await store.organizations.userScopes(o.id, u1.id)).map((x) => x.id)).toEqual([s.id]);
      await store.organizations.replaceUserRoles(o.id, u1.id, [viewer.id], T);
      expect((await store.organizations.userRoles(o.id, [u1.id])).map((x) => x.role.id)).toEqual([viewer.id]);
      expect(await store.organizations.userScopes(o.id, u1.id)).toEqual([]);
      expect(await store.organizations.removeUserRole(o.id, u1.id, viewer.id)).toBe(true);
      expect(await store.organizations.removeUserRole(o.id, u1.id, viewer.id)).toBe(false);

      expect((await store.organizations.organizationsOfUser(u2.id)).map((x) => x.id)).toEqual([o.id]);
      expect((await store.organizations.rolesOfUser(u2.id)).map((x) => [x.organizationId, x.role.id]).sort()).toEqual([[o.id, editor.id], [o.id, viewer.id]].sort());

      const delta = await store.organizations.replaceUsers(o.id, [u2.id, u3.id], T);
      expect(delta).toEqual({ added: [u3.id], removed: [u1.id] });
      expect((await store.organizations.userRoles(o.id, [u2.id])).length).toBe(2);
      expect(await store.organizations.removeUser(o.id, u2.id)).toBe(true);
      expect(await store.organizations.removeUser(o.id, u2.id)).toBe(false);
      // Leaving dropped the member's roles (foreign key to the membership, cascade).
      expect(await store.organizations.userRoles(o.id, [u2.id])).toEqual([]);
      expect(await store.organizations.rolesOfUser(u2.id)).toEqual([]);
    });

    it('resource permissions through organization roles: per organization or across them', async () => {
      const [o1, o2] = [await newOrg(), await newOrg()];
      const u = await newUser();
      const a = app();
      await store.applications.insert(a);
      const resource = { id: id('res'), name: 'API', indicator: `https://${id('api')}.example.com`, accessTokenTtl: 3600, isDefault: false, createdAt: T };
      await store.resources.insert(resource);
      const read = { id: id('rs'), resourceId: resource.id, name: 'read', description: null, createdAt: T };
      const write = { id: id('rs'), resourceId: resource.id, name: 'write', description: null, createdAt: T };
      await store.resources.insertScope(read);
      await store.resources.insertScope(write);
      const reader = await newRole();
      const writer = await newRole();
      const machine = await newRole({ type: 'MachineToMachine' });
      await store.organizations.addRoleResourceScopes(reader.id, [read.id], T);
      await store.organizations.addRoleResourceScopes(writer.id, [write.id], T);
      await store.organizations.addRoleResourceScopes(machine.id, [write.id], T);
      const s = oscope();
      await store.organizations.insertScope(s);
      await store.organizations.addRoleScopes(machine.id, [s.id], T);
      await store.organizations.addUsers(o1.id, [u.id], T);
      await store.organizations.addUsers(o2.id, [u.id], T);
      await store.organizations.addUserRoles(o1.id, [u.id], [reader.id], T);
      await store.organizations.addUserRoles(o2.id, [u.id], [writer.id], T);
      expect(await store.organizations.userResourceScopeNames(o1.id, u.id, resource.id)).toEqual(['read']);
      expect((await store.organizations.userResourceScopeNames(undefined, u.id, resource.id)).sort()).toEqual(['read', 'write']);

      expect(await store.organizations.addApplications(o1.id, [a.id, a.id], T)).toEqual([a.id]);
      expect(await store.organizations.isApplicationMember(o1.id, a.id)).toBe(true);
      expect(await store.organizations.listApplicationIds(o1.id, { offset: 0, limit: 10, search: 'an app' })).toEqual([a.id]);
      expect(await store.organizations.countApplications(o1.id)).toBe(1);
      await store.organizations.addApplicationRoles(o1.id, [a.id], [machine.id], T);
      expect((await store.organizations.applicationRoles(o1.id, [a.id])).map((x) => x.role.id)).toEqual([machine.id]);
      expect(await store.organizations.applicationResourceScopeNames(o1.id, a.id, resource.id)).toEqual(['write']);
      expect((await store.organizations.applicationScopes(o1.id, a.id)).map((x) => x.id)).toEqual([s.id]);
      await store.organizations.replaceApplicationRoles(o1.id, a.id, [], T);
      expect(await store.organizations.applicationRoles(o1.id, [a.id])).toEqual([]);
      await store.organizations.addApplicationRoles(o1.id, [a.id], [machine.id], T);
      expect(await store.organizations.removeApplicationRole(o1.id, a.id, machine.id)).toBe(true);
      expect(await store.organizations.removeApplicationRole(o1.id, a.id, machine.id)).toBe(false);
      await store.organizations.addApplicationRoles(o1.id, [a.id], [machine.id], T);
      const delta = await store.organizations.replaceApplications(o1.id, [], T);
      expect(delta).toEqual({ added: [], removed: [a.id] });
      expect(await store.organizations.applicationRoles(o1.id, [a.id])).toEqual([]);
      await store.organizations.addApplications(o1.id, [a.id], T);
      expect(await store.organizations.removeApplication(o1.id, a.id)).toBe(true);
      expect(await store.organizations.removeApplication(o1.id, a.id)).toBe(false);
    });

    it('invitations: one pending per invitee, stale ones expire, roles, list filters, settle once, delete', async () => {
      const o = await newOrg();
      const inviter = await newUser();
      const r1 = await newRole({ name: `b-${n}` });
      const r2 = await newRole({ name: `a-${n}` });
      const first = invitation(o.id, { inviterId: inviter.id, expiresAt: T + 10 });
      expect(await store.organizations.insertInvitation(first, [r1.id, r2.id])).toBe(true);
      expect(await store.organizations.insertInvitation(invitation(o.id), [])).toBe(false);
      await store.organizations.expireStaleInvitations(o.id, 'ann@example.com', T + 10);
      expect((await store.organizations.findInvitation(first.id))?.status).toBe('Expired');
      const second = invitation(o.id);
      expect(await store.organizations.insertInvitation(second, [r1.id])).toBe(true);
      expect((await store.organizations.invitationRoles([first.id])).map((x) => x.role.id)).toEqual([r2.id, r1.id]);
      expect((await store.organizations.listInvitations({ organizationId: o.id })).map((i) => i.id)).toEqual([second.id, first.id]);
      expect((await store.organizations.listInvitations({ inviterId: inviter.id })).map((i) => i.id)).toEqual([first.id]);
      expect((await store.organizations.listInvitations({ invitee: 'ANN@example.com', organizationId: o.id })).length).toBe(2);
      const u = await newUser();
      const settled = await Promise.all(Array.from({ length: 5 }, () => store.organizations.settleInvitation(second.id, 'Accepted', u.id, T + 1)));
      expect(settled.filter(Boolean)).toHaveLength(1);
      expect(await store.organizations.findInvitation(second.id)).toMatchObject({ status: 'Accepted', acceptedUserId: u.id, updatedAt: T + 1 });
      expect(await store.organizations.settleInvitation(second.id, 'Revoked', null, T + 2)).toBe(false);
      expect(await store.organizations.deleteInvitation(second.id)).toBe(true);
      expect(await store.organizations.deleteInvitation(second.id)).toBe(false);
      expect(await store.organizations.invitationRoles([second.id])).toEqual([]);
    });

    it('JIT domains: add (lower-cased, once), replace, remove, list, count; verified users join by domain', async () => {
      const o = await newOrg();
      expect(await store.organizations.addJitDomain(o.id, 'Example.COM', T)).toBe(true);
      expect(await store.organizations.addJitDomain(o.id, 'example.com', T)).toBe(false);
      await store.organizations.replaceJitDomains(o.id, ['example.com', 'b_c.example.org'], T + 1);
      expect(await store.organizations.listJitDomains(o.id, { offset: 0, limit: 10 })).toEqual(['example.com', 'b_c.example.org']);
      expect(await store.organizations.countJitDomains(o.id)).toBe(2);
      const verified = await newUser({ primaryEmail: `Jo.${n}@EXAMPLE.com`, emailVerified: true });
      const unverified = await newUser({ primaryEmail: `al.${n}@example.com`, emailVerified: false });
      const lookalike = await newUser({ primaryEmail: `x.${n}@notexample.com`, emailVerified: true });
      const wildcard = await newUser({ primaryEmail: `y.${n}@bxc.example.org`, emailVerified: true });
      for (const u of [verified, unverified, lookalike, wildcard]) await store.organizations.addJitMemberships(u.id, T);
      await store.organizations.addJitMemberships(verified.id, T);
      expect(await store.organizations.listUserIds(o.id, { offset: 0, limit: 10 })).toEqual([verified.id]);
      expect(await store.organizations.removeJitDomain(o.id, 'EXAMPLE.com')).toBe(true);
      expect(await store.organizations.removeJitDomain(o.id, 'example.com')).toBe(false);
    });

    it('deleting an organization removes its memberships, member roles, applications, invitations and JIT domains in one statement', async () => {
      const o = await newOrg();
      const u = await newUser();
      const a = app();
      await store.applications.insert(a);
      const r = await newRole();
      await store.organizations.addUsers(o.id, [u.id], T);
      await store.organizations.addUserRoles(o.id, [u.id], [r.id], T);
      await store.organizations.addApplications(o.id, [a.id], T);
      const inv = invitation(o.id, { invitee: 'zed@example.com' });
      await store.organizations.insertInvitation(inv, [r.id]);
      await store.organizations.addJitDomain(o.id, 'zed.example', T);
      expect(await store.organizations.delete(o.id)).toBe(true);
      const db = opened.handle.db;
      for (const table of ['organization_users', 'organization_user_roles', 'organization_applications', 'organization_invitations', 'organization_jit_email_domains'] as const) {
        const left = await db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).where('organization_id', '=', o.id).executeTakeFirstOrThrow();
        expect(Number(left.n), table).toBe(0);
      }
      expect(await store.organizations.invitationRoles([inv.id])).toEqual([]);
      expect(await store.organizations.organizationsOfUser(u.id)).toEqual([]);
      // The user, the application and the role are untouched.
      expect(await store.users.findById(u.id)).toBeDefined();
      expect(await store.organizations.findRole(r.id)).toBeDefined();
    });
  });
});
