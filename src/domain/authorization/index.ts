import { AppError } from '../../errors/index.js';
import type { ResourceRecord, RoleRecord, RoleType, ScopeRecord } from '../../storage/authorization-store.js';
import { MANAGEMENT_RESOURCE_ID, MANAGEMENT_ROLE_ID, MANAGEMENT_SCOPE_ID } from '../../storage/migrations/0023_authorization.js';
import type { Store } from '../../storage/store.js';
import type { Clock } from '../../util/clock.js';
import { newId } from '../../util/crypto.js';
import type { AuditLog } from '../audit/index.js';
import type { EventOutbox } from '../events/index.js';

export { MANAGEMENT_RESOURCE_ID, MANAGEMENT_ROLE_ID, MANAGEMENT_SCOPE_ID };
export type { ResourceRecord, RoleRecord, RoleType, ScopeRecord };

/**
 * Authorization (issue 18): API resources and their permissions, roles, and who holds them — Logto's
 * role-based access model (logto-io/logto `packages/core/src/routes/{resource,resource.scope,role,role.scope,
 * role.user,role.application}.ts`). One rule per question, every surface calls these:
 * - a resource's indicator is an absolute URI without a fragment (RFC 8707 §2), unique;
 * - a permission (scope) name is an RFC 6749 §3.3 scope-token (no spaces), unique within its resource;
 * - `User` roles go to users, `MachineToMachine` roles to machine-to-machine applications, never the
 *   other way (`role.type_mismatch`, `application.roles_need_machine_to_machine`);
 * - the Management API's permissions go to MachineToMachine roles only;
 * - the Management API resource and its `all` permission are read-only, and the built-in role holding it
 *   (`management-api-access`, what an application's `isManagement` flag gives) is not deleted;
 * - which permissions of a resource a subject holds: the union over its roles (see {@link scopesOf}).
 * Every grant and revocation writes an audit entry (`Authorization.Grant` / `Authorization.Revoke`,
 * details: role, users / applications / permissions); role and permission records report Logto's hook
 * events (`Role.*`, `Scope.*`) through the outbox, in the change's transaction.
 * Times are ms since the epoch; `accessTokenTtl` is in seconds.
 */

/** Longest access-token lifetime a resource may have: 30 days, in seconds. */
export const MAX_ACCESS_TOKEN_TTL_SECONDS = 30 * 24 * 3600;

/** Most answers {@link AuthorizationService.heldScopes} keeps in one process (then it starts afresh). */
export const HELD_CACHE_SIZE = 10_000;

/** Default access-token lifetime of a new resource: 1 hour, in seconds (Logto's). */
export const DEFAULT_ACCESS_TOKEN_TTL_SECONDS = 3600;

/** RFC 6749 §3.3 scope-token: %x21 / %x23-5B / %x5D-7E, 1 to 256 of them. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]{1,256}$/;

/** A page of some list and the count of all its items. */
export interface Paged<T> {
  items: T[];
  total: number;
}

/** A page window (offset/limit) with an optional case-insensitive substring search. */
export interface PageQuery {
  offset: number;
  limit: number;
  search?: string;
}

const invalid = (path: string, message: string) => new AppError('request.invalid', { data: { issues: [{ path, code: 'custom', message }] } });

function checkIndicator(indicator: string): string {
  const url = URL.parse(indicator);
  if (!url || indicator.length > 2048 || url.hash || indicator.includes('#') || !/^[a-z][a-z0-9+.-]*:/i.test(indicator)) {
    throw new AppError('resource.invalid_indicator');
  }
  return indicator;
}

function checkTtl(ttl: number): number {
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_ACCESS_TOKEN_TTL_SECONDS) {
    throw invalid('body.accessTokenTtl', `accessTokenTtl: whole seconds from 1 to ${MAX_ACCESS_TOKEN_TTL_SECONDS}`);
  }
  return ttl;
}

function checkText(path: string, value: string, max: number): string {
  const text = value.trim();
  if (text.length < 1 || value.length > max) throw invalid(path, `${path.replace(/^body\./, '')}: 1 to ${max} characters`);
  return value;
}

function checkScopeName(name: string): string {
  if (!SCOPE_TOKEN.test(name)) throw new AppError('scope.invalid_name');
  return name;
}

/** What a token may carry for one resource: the resource and the permission names the subject holds there. */
export interface ResourceGrant {
  resource: ResourceRecord;
  /** Names of the resource's permissions the subject's roles hold (any order). */
  scopes: string[];
}

/** Whose permissions: a user (User roles) or an application (MachineToMachine roles). */
export type Subject = { userId: string } | { applicationId: string };

/** Resources, permissions, roles and their grants (see the module comment for the rules). */
export class AuthorizationService {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly audit: AuditLog,
    private readonly events?: EventOutbox,
    /** Indicators that also name the Management API resource (`<publicUrl>/api`). */
    private readonly managementAliases: readonly string[] = [],
  ) {}

  // ── resources ────────────────────────────────────────────────────────────────────────────────────

  /**
   * Registers an API resource.
   * @param input `indicator`: absolute URI without fragment (RFC 8707); `accessTokenTtl`: seconds (default 3600)
   * @throws AppError `resource.invalid_indicator`, `resource.indicator_taken`, `request.invalid`
   */
  async createResource(input: { name: string; indicator: string; accessTokenTtl?: number }): Promise<ResourceRecord> {
    const indicator = checkIndicator(input.indicator);
    if (this.managementAliases.includes(indicator)) throw new AppError('resource.indicator_taken');
    const resource: ResourceRecord = {
      id: newId(this.clock.now()),
      name: checkText('body.name', input.name, 256),
      indicator,
      accessTokenTtl: checkTtl(input.accessTokenTtl ?? DEFAULT_ACCESS_TOKEN_TTL_SECONDS),
      isDefault: false,
      createdAt: this.clock.now(),
    };
    if (!(await this.store.resources.insert(resource))) throw new AppError('resource.indicator_taken');
    return resource;
  }

  /** One page of resources (oldest first) and their count; `search` matches names and indicators. */
  async listResources(page: PageQuery): Promise<Paged<ResourceRecord>> {
    const [items, total] = await Promise.all([this.store.resources.list(page), this.store.resources.count(page.search)]);
    return { items, total };
  }

  /** @throws AppError `resource.not_found` */
  async requireResource(id: string): Promise<ResourceRecord> {
    const resource = await this.store.resources.findById(id);
    if (!resource) throw new AppError('resource.not_found');
    return resource;
  }

  /**
   * Renames a resource or changes its token lifetime (the indicator never changes).
   * @throws AppError `resource.not_found`, `resource.management_api_read_only`, `request.invalid`
   */
  async updateResource(id: string, patch: { name?: string; accessTokenTtl?: number }): Promise<ResourceRecord> {
    await this.requireWritableResource(id);
    const updated = await this.store.resources.update(id, {
      ...(patch.name !== undefined ? { name: checkText('body.name', patch.name, 256) } : {}),
      ...(patch.accessTokenTtl !== undefined ? { accessTokenTtl: checkTtl(patch.accessTokenTtl) } : {}),
    });
    if (!updated) throw new AppError('resource.not_found');
    return updated;
  }

  /**
   * Makes a resource the default one (at most one is) or no longer the default.
   * @throws AppError `resource.not_found`
   */
  async setDefaultResource(id: string, isDefault: boolean): Promise<ResourceRecord> {
    await this.requireResource(id);
    return this.store.transaction(async () => {
      if (isDefault) await this.store.resources.clearDefault();
      const updated = await this.store.resources.update(id, { isDefault });
      if (!updated) throw new AppError('resource.not_found');
      return updated;
    });
  }

  /**
   * Deletes a resource with its permissions and every role's grant of them (one statement, cascades).
   * @throws AppError `resource.not_found`, `resource.management_api_read_only`
   */
  async deleteResource(id: string): Promise<void> {
    const resource = await this.requireWritableResource(id);
    await this.store.transaction(async () => {
      if (!(await this.store.resources.delete(id))) throw new AppError('resource.not_found');
      await this.audit.record({ key: 'Authorization.Revoke', details: { resourceId: id, indicator: resource.indicator, deleted: 'resource' } });
    });
  }

  private async requireWritableResource(id: string): Promise<ResourceRecord> {
    const resource = await this.requireResource(id);
    if (resource.id === MANAGEMENT_RESOURCE_ID) throw new AppError('resource.management_api_read_only');
    return resource;
  }

  // ── permissions (scopes) ─────────────────────────────────────────────────────────────────────────

  /**
   * Adds a permission to a resource. Reports `Scope.Created`.
   * @throws AppError `scope.invalid_name`, `resource.not_found`, `resource.management_api_read_only`, `scope.name_taken`
   */
  async createScope(resourceId: string, input: { name: string; description?: string | null }): Promise<ScopeRecord> {
    const name = checkScopeName(input.name);
    await this.requireWritableResource(resourceId);
    const now = this.clock.now();
    const scope: ScopeRecord = { id: newId(now), resourceId, name, description: input.description ?? null, createdAt: now };
    await this.store.transaction(async () => {
      if (!(await this.store.resources.insertScope(scope))) throw new AppError('scope.name_taken');
      await this.events?.emit({ event: 'Scope.Created', userId: null, entity: { kind: 'scope', scope } });
    });
    return scope;
  }

  /** One page of a resource's permissions (oldest first) and their count; unknown resources have none. */
  async listScopes(resourceId: string, page: PageQuery): Promise<Paged<ScopeRecord>> {
    const [items, total] = await Promise.all([this.store.resources.listScopes(resourceId, page), this.store.resources.countScopes(resourceId, page.search)]);
    return { items, total };
  }

  /**
   * Renames a permission or changes its description. Reports `Scope.Data.Updated`.
   * @throws AppError `resource.not_found`, `resource.management_api_read_only`, `scope.not_found` (also when it
   *   belongs to another resource), `scope.invalid_name`, `scope.name_taken`
   */
  async updateScope(resourceId: string, scopeId: string, patch: { name?: string; description?: string | null }): Promise<ScopeRecord> {
    await this.requireWritableResource(resourceId);
    await this.requireScopeOf(resourceId, scopeId);
    const change = { ...(patch.name !== undefined ? { name: checkScopeName(patch.name) } : {}), ...(patch.description !== undefined ? { description: patch.description } : {}) };
    return this.store.transaction(async () => {
      const updated = await this.store.resources.updateScope(scopeId, change);
      if (updated === 'taken') throw new AppError('scope.name_taken');
      if (!updated) throw new AppError('scope.not_found');
      await this.events?.emit({ event: 'Scope.Data.Updated', userId: null, entity: { kind: 'scope', scope: updated } });
      return updated;
    });
  }

  /**
   * Deletes a permission and every role's grant of it. Reports `Scope.Deleted`.
   * @throws AppError `resource.not_found`, `resource.management_api_read_only`, `scope.not_found`
   */
  async deleteScope(resourceId: string, scopeId: string): Promise<void> {
    await this.requireWritableResource(resourceId);
    const scope = await this.requireScopeOf(resourceId, scopeId);
    await this.store.transaction(async () => {
      if (!(await this.store.resources.deleteScope(scopeId))) throw new AppError('scope.not_found');
      await this.events?.emit({ event: 'Scope.Deleted', userId: null, details: { scopeId, resourceId, name: scope.name } });
    });
  }

  private async requireScopeOf(resourceId: string, scopeId: string): Promise<ScopeRecord> {
    const scope = await this.store.resources.findScope(scopeId);
    if (!scope || scope.resourceId !== resourceId) throw new AppError('scope.not_found');
    return scope;
  }

  // ── roles ────────────────────────────────────────────────────────────────────────────────────────

  /**
   * Creates a role, with permissions if given, in one transaction (nothing is kept when a permission is
   * refused). Reports `Role.Created` (and `Role.Scopes.Updated` with permissions).
   * @param input `type` default `User`; `isDefault`: given to every new user (User roles only; ignored otherwise)
   * @throws AppError `request.invalid` (name or description not 1–128 characters), `role.name_taken`,
   *   `scope.not_found`, `role.management_scope_for_user_role`
   */
  async createRole(input: { name: string; description: string; type?: RoleType; isDefault?: boolean; scopeIds?: readonly string[] }): Promise<RoleRecord> {
    const now = this.clock.now();
    const type = input.type ?? 'User';
    const role: RoleRecord = {
      id: newId(now),
      name: checkText('body.name', input.name, 128),
      description: checkText('body.description', input.description, 128),
      type,
      isDefault: input.isDefault ?? false,
      createdAt: now,
    };
    const scopeIds = [...new Set(input.scopeIds ?? [])];
    const scopes = await this.checkScopesFor(role, scopeIds);
    await this.store.transaction(async () => {
      if (!(await this.store.roles.insert(role))) throw new AppError('role.name_taken');
      await this.events?.emit({ event: 'Role.Created', userId: null, entity: { kind: 'role', role } });
      if (scopes.length > 0) await this.grantScopes(role, scopes, now);
    });
    return role;
  }

  /** One page of roles (oldest first) and their count; `search` matches names and descriptions. */
  async listRoles(filter: { search?: string; type?: RoleType; excludeUserId?: string; excludeApplicationId?: string }, page: { offset: number; limit: number }): Promise<Paged<RoleRecord>> {
    let ids: string[] | undefined;
    if (filter.excludeUserId || filter.excludeApplicationId) {
      const held = new Set(
        (filter.excludeUserId ? await this.store.roles.listUserRoles(filter.excludeUserId) : []).concat(
          filter.excludeApplicationId ? await this.store.roles.listApplicationRoles(filter.excludeApplicationId) : [],
        ).map((r) => r.id),
      );
      // Roles are an administrator's list (tens, not millions): the exclusion is applied to all of them.
      const all = await this.store.roles.list({ ...(filter.search ? { search: filter.search } : {}), ...(filter.type ? { type: filter.type } : {}) }, { offset: 0, limit: 10_000 });
      ids = all.filter((r) => !held.has(r.id)).map((r) => r.id);
    }
    const query = { ...(filter.search ? { search: filter.search } : {}), ...(filter.type ? { type: filter.type } : {}), ...(ids ? { ids } : {}) };
    const [items, total] = await Promise.all([this.store.roles.list(query, page), this.store.roles.count(query)]);
    return { items, total };
  }

  /** @throws AppError `role.not_found` */
  async requireRole(id: string): Promise<RoleRecord> {
    const role = await this.store.roles.findById(id);
    if (!role) throw new AppError('role.not_found');
    return role;
  }

  /** How many users and applications hold the role, and the first few of each (Logto's role list extras). */
  async roleHolders(roleId: string, featured = 3): Promise<{ usersCount: number; userIds: string[]; applicationsCount: number; applicationIds: string[] }> {
    const [usersCount, userIds, applicationsCount, applicationIds] = await Promise.all([
      this.store.roles.countUsers(roleId),
      this.store.roles.listUserIds(roleId, { offset: 0, limit: featured }),
      this.store.roles.countApplications(roleId),
      this.store.roles.listApplicationIds(roleId, { offset: 0, limit: featured }),
    ]);
    return { usersCount, userIds, applicationsCount, applicationIds };
  }

  /**
   * Renames a role, changes its description or whether new users get it (the type never changes).
   * Reports `Role.Data.Updated`.
   * @throws AppError `role.not_found`, `role.name_taken`, `request.invalid`
   */
  async updateRole(id: string, patch: { name?: string; description?: string; isDefault?: boolean }): Promise<RoleRecord> {
    await this.requireRole(id);
    const change = {
      ...(patch.name !== undefined ? { name: checkText('body.name', patch.name, 128) } : {}),
      ...(patch.description !== undefined ? { description: checkText('body.description', patch.description, 128) } : {}),
      ...(patch.isDefault !== undefined ? { isDefault: patch.isDefault } : {}),
    };
    return this.store.transaction(async () => {
      const updated = await this.store.roles.update(id, change);
      if (updated === 'taken') throw new AppError('role.name_taken');
      if (!updated) throw new AppError('role.not_found');
      await this.events?.emit({ event: 'Role.Data.Updated', userId: null, entity: { kind: 'role', role: updated } });
      return updated;
    });
  }

  /**
   * Deletes a role and, in the same statement, every grant of it (users, applications, permissions).
   * Reports `Role.Deleted`.
   * @throws AppError `role.not_found`, `role.management_role_read_only`
   */
  async deleteRole(id: string): Promise<void> {
    const role = await this.requireRole(id);
    if (role.id === MANAGEMENT_ROLE_ID) throw new AppError('role.management_role_read_only');
    await this.store.transaction(async () => {
      if (!(await this.store.roles.delete(id))) throw new AppError('role.not_found');
      await this.events?.emit({ event: 'Role.Deleted', userId: null, details: { roleId: id, name: role.name } });
    });
  }

  // ── a role's permissions ─────────────────────────────────────────────────────────────────────────

  /**
   * Gives permissions to a role. Reports `Role.Scopes.Updated`.
   * @returns every permission the role now has
   * @throws AppError `role.not_found`, `scope.not_found`, `role.scope_already_granted` (one of them is),
   *   `role.management_scope_for_user_role`
   */
  async addRoleScopes(roleId: string, scopeIds: readonly string[]): Promise<ScopeRecord[]> {
    const role = await this.requireRole(roleId);
    const ids = [...new Set(scopeIds)];
    const held = new Set((await this.store.roles.listScopes(roleId, { offset: 0, limit: 100_000 })).map((s) => s.id));
    if (ids.some((id) => held.has(id))) throw new AppError('role.scope_already_granted');
    const scopes = await this.checkScopesFor(role, ids);
    await this.store.transaction(() => this.grantScopes(role, scopes, this.clock.now()));
    return this.store.roles.listScopes(roleId, { offset: 0, limit: 100_000 });
  }

  /**
   * Takes a permission from a role. Reports `Role.Scopes.Updated`.
   * @throws AppError `role.not_found`, `scope.not_found` (the role does not have it), `role.management_role_read_only`
   */
  async removeRoleScope(roleId: string, scopeId: string): Promise<void> {
    const role = await this.requireRole(roleId);
    if (role.id === MANAGEMENT_ROLE_ID && scopeId === MANAGEMENT_SCOPE_ID) throw new AppError('role.management_role_read_only');
    await this.store.transaction(async () => {
      if (!(await this.store.roles.removeScope(roleId, scopeId))) throw new AppError('scope.not_found');
      await this.audit.record({ key: 'Authorization.Revoke', details: { roleId, scopeIds: [scopeId] } });
      await this.events?.emit({ event: 'Role.Scopes.Updated', userId: null, details: { roleId } });
    });
  }

  /** One page of a role's permissions (oldest grant first) with their count. @throws AppError `role.not_found` */
  async listRoleScopes(roleId: string, page: PageQuery): Promise<Paged<ScopeRecord>> {
    await this.requireRole(roleId);
    const [items, total] = await Promise.all([this.store.roles.listScopes(roleId, page), this.store.roles.countScopes(roleId, page.search)]);
    return { items, total };
  }

  /** The scopes with these ids, checked to exist and to fit the role. */
  private async checkScopesFor(role: RoleRecord, scopeIds: readonly string[]): Promise<ScopeRecord[]> {
    if (scopeIds.length === 0) return [];
    const scopes = await this.store.resources.findScopes(scopeIds);
    if (scopes.length !== new Set(scopeIds).size) throw new AppError('scope.not_found');
    if (role.type === 'User' && scopes.some((s) => s.resourceId === MANAGEMENT_RESOURCE_ID)) throw new AppError('role.management_scope_for_user_role');
    return scopes;
  }

  private async grantScopes(role: RoleRecord, scopes: readonly ScopeRecord[], at: number): Promise<void> {
    await this.store.roles.addScopes(role.id, scopes.map((s) => s.id), at);
    await this.audit.record({ key: 'Authorization.Grant', details: { roleId: role.id, scopeIds: scopes.map((s) => s.id) } });
    await this.events?.emit({ event: 'Role.Scopes.Updated', userId: null, details: { roleId: role.id } });
  }

  // ── who holds a role ─────────────────────────────────────────────────────────────────────────────

  /**
   * Gives roles to a user (ones the user holds are kept as they are: one row each, also when asked
   * concurrently). Takes effect for the user's next token.
   * @param options `refuseHeld`: refuse with `role.already_held` when the user holds one of them (Logto's
   *   `POST /roles/:id/users`)
   * @returns the ids that were new to the user
   * @throws AppError `user.not_found`, `role.not_found`, `role.type_mismatch` (a MachineToMachine role), `role.already_held`
   */
  async grantUserRoles(userId: string, roleIds: readonly string[], options: { refuseHeld?: boolean } = {}): Promise<string[]> {
    if (!(await this.store.users.findById(userId))) throw new AppError('user.not_found');
    const roles = await this.requireRoles(roleIds);
    if (roles.some((r) => r.type !== 'User')) throw new AppError('role.type_mismatch');
    const held = new Set((await this.store.roles.listUserRoles(userId)).map((r) => r.id));
    if (options.refuseHeld && roles.some((r) => held.has(r.id))) throw new AppError('role.already_held');
    const added = roles.map((r) => r.id).filter((id) => !held.has(id));
    await this.store.transaction(async () => {
      for (const role of roles) await this.store.roles.addUsers(role.id, [userId], this.clock.now());
      if (added.length > 0) await this.audit.record({ key: 'Authorization.Grant', userId, details: { roleIds: added, userIds: [userId] } });
    });
    return added;
  }

  /**
   * Makes `roleIds` exactly the user's roles.
   * @throws AppError `user.not_found`, `role.not_found`, `role.type_mismatch`
   */
  async replaceUserRoles(userId: string, roleIds: readonly string[]): Promise<void> {
    if (!(await this.store.users.findById(userId))) throw new AppError('user.not_found');
    const roles = await this.requireRoles(roleIds);
    if (roles.some((r) => r.type !== 'User')) throw new AppError('role.type_mismatch');
    const before = new Set((await this.store.roles.listUserRoles(userId)).map((r) => r.id));
    const after = new Set(roles.map((r) => r.id));
    await this.store.transaction(async () => {
      await this.store.roles.replaceUserRoles(userId, [...after], this.clock.now());
      const added = [...after].filter((id) => !before.has(id));
      const removed = [...before].filter((id) => !after.has(id));
      if (added.length > 0) await this.audit.record({ key: 'Authorization.Grant', userId, details: { roleIds: added, userIds: [userId] } });
      if (removed.length > 0) await this.audit.record({ key: 'Authorization.Revoke', userId, details: { roleIds: removed, userIds: [userId] } });
    });
  }

  /**
   * Takes a role from a user; their next token no longer has its permissions.
   * @throws AppError `role.not_held`
   */
  async revokeUserRole(userId: string, roleId: string): Promise<void> {
    await this.store.transaction(async () => {
      if (!(await this.store.roles.removeUser(roleId, userId))) throw new AppError('role.not_held');
      await this.audit.record({ key: 'Authorization.Revoke', userId, details: { roleIds: [roleId], userIds: [userId] } });
    });
  }

  /** The user's roles (oldest grant first). @throws AppError `user.not_found` */
  async userRoles(userId: string): Promise<RoleRecord[]> {
    if (!(await this.store.users.findById(userId))) throw new AppError('user.not_found');
    return this.store.roles.listUserRoles(userId);
  }

  /**
   * Gives a role to users (Logto's `POST /roles/:id/users`: refused when one of them holds it).
   * @throws AppError `role.not_found`, `role.type_mismatch`, `role.already_held`, `user.not_found`
   */
  async addRoleUsers(roleId: string, userIds: readonly string[]): Promise<void> {
    const role = await this.requireRole(roleId);
    if (role.type !== 'User') throw new AppError('role.type_mismatch');
    const ids = [...new Set(userIds)];
    for (const id of ids) if (!(await this.store.users.findById(id))) throw new AppError('user.not_found');
    const holders = new Set(await this.store.roles.listUserIds(roleId, { offset: 0, limit: 1_000_000 }));
    if (ids.some((id) => holders.has(id))) throw new AppError('role.already_held');
    await this.store.transaction(async () => {
      await this.store.roles.addUsers(roleId, ids, this.clock.now());
      await this.audit.record({ key: 'Authorization.Grant', details: { roleIds: [roleId], userIds: ids } });
    });
  }

  /** Ids of the role's users, newest grant first, with their count. @throws AppError `role.not_found` */
  async listRoleUserIds(roleId: string, page: { offset: number; limit: number }): Promise<Paged<string>> {
    await this.requireRole(roleId);
    const [items, total] = await Promise.all([this.store.roles.listUserIds(roleId, page), this.store.roles.countUsers(roleId)]);
    return { items, total };
  }

  /**
   * Gives roles to a machine-to-machine application (held ones are kept as they are).
   * @param options `refuseHeld`: refuse with `role.already_held` when it holds one of them
   * @returns the ids that were new to the application
   * @throws AppError `application.not_found`, `application.roles_need_machine_to_machine`, `role.not_found`,
   *   `role.type_mismatch` (a User role), `role.already_held`
   */
  async grantApplicationRoles(applicationId: string, roleIds: readonly string[], options: { refuseHeld?: boolean } = {}): Promise<string[]> {
    await this.requireMachineApplication(applicationId);
    const roles = await this.requireRoles(roleIds);
    if (roles.some((r) => r.type !== 'MachineToMachine')) throw new AppError('role.type_mismatch');
    const held = new Set((await this.store.roles.listApplicationRoles(applicationId)).map((r) => r.id));
    if (options.refuseHeld && roles.some((r) => held.has(r.id))) throw new AppError('role.already_held');
    const added = roles.map((r) => r.id).filter((id) => !held.has(id));
    await this.store.transaction(async () => {
      for (const role of roles) await this.store.roles.addApplications(role.id, [applicationId], this.clock.now());
      if (added.length > 0) await this.audit.record({ key: 'Authorization.Grant', details: { roleIds: added, applicationIds: [applicationId] } });
    });
    return added;
  }

  /**
   * Makes `roleIds` exactly the application's roles.
   * @throws AppError as {@link grantApplicationRoles}
   */
  async replaceApplicationRoles(applicationId: string, roleIds: readonly string[]): Promise<void> {
    await this.requireMachineApplication(applicationId);
    const roles = await this.requireRoles(roleIds);
    if (roles.some((r) => r.type !== 'MachineToMachine')) throw new AppError('role.type_mismatch');
    const before = new Set((await this.store.roles.listApplicationRoles(applicationId)).map((r) => r.id));
    const after = new Set(roles.map((r) => r.id));
    await this.store.transaction(async () => {
      await this.store.roles.replaceApplicationRoles(applicationId, [...after], this.clock.now());
      const added = [...after].filter((id) => !before.has(id));
      const removed = [...before].filter((id) => !after.has(id));
      if (added.length > 0) await this.audit.record({ key: 'Authorization.Grant', details: { roleIds: added, applicationIds: [applicationId] } });
      if (removed.length > 0) await this.audit.record({ key: 'Authorization.Revoke', details: { roleIds: removed, applicationIds: [applicationId] } });
    });
  }

  /**
   * Takes a role from an application; the Management API refuses its tokens at once when that was its
   * `all` permission (it checks on every call), other resources at the next token.
   * @throws AppError `role.not_held`
   */
  async revokeApplicationRole(applicationId: string, roleId: string): Promise<void> {
    await this.store.transaction(async () => {
      if (!(await this.store.roles.removeApplication(roleId, applicationId))) throw new AppError('role.not_held');
      await this.audit.record({ key: 'Authorization.Revoke', details: { roleIds: [roleId], applicationIds: [applicationId] } });
    });
  }

  /** The application's roles (oldest grant first). @throws AppError `application.not_found`, `application.roles_need_machine_to_machine` */
  async applicationRoles(applicationId: string): Promise<RoleRecord[]> {
    await this.requireMachineApplication(applicationId);
    return this.store.roles.listApplicationRoles(applicationId);
  }

  /**
   * Gives a role to applications (Logto's `POST /roles/:id/applications`: refused when one holds it).
   * @throws AppError `role.not_found`, `role.type_mismatch`, `role.already_held`, `application.not_found`,
   *   `application.roles_need_machine_to_machine`
   */
  async addRoleApplications(roleId: string, applicationIds: readonly string[]): Promise<void> {
    const role = await this.requireRole(roleId);
    if (role.type !== 'MachineToMachine') throw new AppError('role.type_mismatch');
    const ids = [...new Set(applicationIds)];
    for (const id of ids) await this.requireMachineApplication(id);
    const holders = new Set(await this.store.roles.listApplicationIds(roleId, { offset: 0, limit: 1_000_000 }));
    if (ids.some((id) => holders.has(id))) throw new AppError('role.already_held');
    await this.store.transaction(async () => {
      await this.store.roles.addApplications(roleId, ids, this.clock.now());
      await this.audit.record({ key: 'Authorization.Grant', details: { roleIds: [roleId], applicationIds: ids } });
    });
  }

  /** Ids of the role's applications, newest grant first, with their count. @throws AppError `role.not_found` */
  async listRoleApplicationIds(roleId: string, page: { offset: number; limit: number }): Promise<Paged<string>> {
    await this.requireRole(roleId);
    const [items, total] = await Promise.all([this.store.roles.listApplicationIds(roleId, page), this.store.roles.countApplications(roleId)]);
    return { items, total };
  }

  private async requireRoles(roleIds: readonly string[]): Promise<RoleRecord[]> {
    const ids = [...new Set(roleIds)];
    const roles = await this.store.roles.findByIds(ids);
    if (roles.length !== ids.length) throw new AppError('role.not_found');
    return roles;
  }

  private async requireMachineApplication(applicationId: string): Promise<void> {
    const app = await this.store.applications.findById(applicationId);
    if (!app) throw new AppError('application.not_found');
    if (app.type !== 'm2m') throw new AppError('application.roles_need_machine_to_machine');
  }

  // ── tokens ───────────────────────────────────────────────────────────────────────────────────────

  /**
   * The resource an indicator names (RFC 8707), with the Management API's aliases (`<publicUrl>/api`),
   * or undefined for an unknown one.
   */
  async findResourceByIndicator(indicator: string): Promise<ResourceRecord | undefined> {
    if (this.managementAliases.includes(indicator)) return this.managementResource();
    return this.store.resources.findByIndicator(indicator);
  }

  /**
   * The built-in Management API resource, read once: what tokens use of it (indicator, lifetime) never
   * changes (updates and deletes are refused, {@link requireWritableResource}; only its `isDefault` may, which
   * tokens do not read), so every node may keep it. Tokens for it are the hot path of M2M.
   */
  private managementResource(): Promise<ResourceRecord | undefined> {
    this.management ??= this.store.resources.findById(MANAGEMENT_RESOURCE_ID).then((r) => {
      if (!r) this.management = undefined;
      return r;
    });
    return this.management;
  }

  private management: Promise<ResourceRecord | undefined> | undefined;

  /**
   * The permissions of `resource` that `subject` holds through its roles (User roles of a user,
   * MachineToMachine roles of an application), read at each call, so a role change applies to the next
   * token. One query.
   */
  scopesOf(subject: Subject, resource: ResourceRecord): Promise<string[]> {
    return 'userId' in subject ? this.store.roles.userScopeNames(subject.userId, resource.id) : this.store.roles.applicationScopeNames(subject.applicationId, resource.id);
  }

  /**
   * What a token for `indicator` may carry for `subject` (issue 18, the hot path of token issuance): the
   * resource (undefined when there is none with this indicator) and the permissions the subject's roles hold
   * there ({@link scopesOf}). Answers are kept in this process for as long as the authorization model's version
   * (migration 0028: triggers change it in every statement that changes resources, permissions, roles or
   * assignments) is the one read first, so each token reads one row instead of the join, and a change applies
   * to the next token on every node. At most {@link HELD_CACHE_SIZE} answers are kept.
   */
  async heldScopes(subject: Subject, indicator: string): Promise<{ resource: ResourceRecord | undefined; scopes: string[] }> {
    const version = await this.store.roles.authorizationVersion();
    if (version !== this.held.version || this.held.answers.size >= HELD_CACHE_SIZE) this.held = { version, answers: new Map() };
    const key = `${'userId' in subject ? `u:${subject.userId}` : `a:${subject.applicationId}`}\u0000${indicator}`;
    const cache = this.held;
    let answer = cache.answers.get(key);
    if (!answer) {
      answer = (async () => {
        const resource = await this.findResourceByIndicator(indicator);
        return { resource, scopes: resource ? await this.scopesOf(subject, resource) : [] };
      })();
      cache.answers.set(key, answer);
      // A failed read is not kept.
      answer.catch(() => cache.answers.delete(key));
    }
    return answer;
  }

  private held: { version: number; answers: Map<string, Promise<{ resource: ResourceRecord | undefined; scopes: string[] }>> } = { version: -1, answers: new Map() };

  /**
   * What the user may do, per resource: each resource one of whose permissions the user's roles hold, with
   * those permission names (Authing's `listAuthorizedResources`; its namespace is a resource indicator here).
   * @param indicator only this resource
   */
  async authorizedResources(userId: string, indicator?: string): Promise<Array<{ resource: ResourceRecord; scopes: string[] }>> {
    const byResource = new Map<string, { resource: ResourceRecord; scopes: Set<string> }>();
    for (const grant of await this.store.roles.userGrants(userId)) {
      if (indicator !== undefined && grant.resource.indicator !== indicator) continue;
      const entry = byResource.get(grant.resource.id) ?? { resource: grant.resource, scopes: new Set<string>() };
      entry.scopes.add(grant.scope.name);
      byResource.set(grant.resource.id, entry);
    }
    return [...byResource.values()].map(({ resource, scopes }) => ({ resource, scopes: [...scopes] }));
  }

  /**
   * The user's roles (oldest grant first); with `indicator`, only those holding a permission of that
   * resource (Authing's `listRoles(namespace)`).
   */
  async rolesOf(userId: string, indicator?: string): Promise<RoleRecord[]> {
    const roles = await this.store.roles.listUserRoles(userId);
    if (indicator === undefined) return roles;
    const holding = new Set((await this.store.roles.userGrants(userId)).filter((g) => g.resource.indicator === indicator).map((g) => g.roleId));
    return roles.filter((r) => holding.has(r.id));
  }

  /** Names of the user's roles (the `roles` claim of OIDC, Logto's `roles` scope). */
  async userRoleNames(userId: string): Promise<string[]> {
    return (await this.store.roles.listUserRoles(userId)).map((r) => r.name);
  }
}
