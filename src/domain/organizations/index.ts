import { AppError } from '../../errors/index.js';
import type { RoleType } from '../../storage/authorization-store.js';
import type {
  InvitationStatus,
  OrganizationInvitationRecord,
  OrganizationRecord,
  OrganizationRoleRecord,
  OrganizationScopeRecord,
  RoleResourceScope,
} from '../../storage/organization-store.js';
import type { Store } from '../../storage/store.js';
import type { Clock } from '../../util/clock.js';
import { constantTimeEqual, newId, newSecret, sha256Hex } from '../../util/crypto.js';
import type { AuditLog } from '../audit/index.js';
import type { PageQuery, Paged } from '../authorization/index.js';
import type { EventOutbox } from '../events/index.js';
import { SecondFactors } from '../mfa/index.js';
import { normalizeEmail } from '../users/identifiers.js';

export type { PageQuery, Paged };
export type { InvitationStatus, OrganizationInvitationRecord, OrganizationRecord, OrganizationRoleRecord, OrganizationScopeRecord, RoleResourceScope };

/**
 * Organizations (issue 18 item 4): Logto's multi-tenancy model (logto-io/logto `packages/core/src/routes/organization*`,
 * `libraries/organization-invitation.ts`, `libraries/user.ts` JIT). One rule per question, every surface calls these:
 * - organization roles are `User` roles (held by members) or `MachineToMachine` roles (held by member
 *   machine-to-machine applications), never the other way (`organization.role_type_mismatch`); only members
 *   hold roles in an organization (`organization.require_membership`), and leaving drops them (cascade);
 * - only machine-to-machine applications become members;
 * - an invitation names an email (lower-cased) and is accepted once (compare-and-set on its status), before it
 *   expires, by the user whose **verified** primary email is that address (case-insensitively; Logto checks the
 *   address without asking that it be verified), with the invitation's secret token when the user accepts it
 *   themselves. The token (256 bits) is only in the email; the store keeps its SHA-256. Accepting makes the
 *   membership and grants the invitation's roles in one transaction;
 * - JIT: a user whose verified primary email is at a domain an organization lists becomes a member at creation
 *   (storage `addJitMemberships`, called where a user is created).
 * Changes report Logto's hook events (`Organization.*`, `OrganizationRole.*`, `OrganizationScope.*`,
 * `Organization.Membership.Updated`) through the outbox in the change's transaction; role grants of members and
 * invitation changes write audit entries (`Organization.Grant`, `Organization.Revoke`, `Organization.Invitation.*`).
 * Times are ms since the epoch.
 */

/** An organization role with its organization scopes and resource permissions (Logto's `OrganizationRoleWithScopes`). */
export interface OrganizationRoleWithScopes extends OrganizationRoleRecord {
  scopes: Array<{ id: string; name: string }>;
  resourceScopes: Array<{ id: string; name: string; resource: { id: string; name: string } }>;
}

/** An invitation as read: `status` is `Expired` for a pending one past its expiry, with its roles (by name). */
export interface InvitationView extends Omit<OrganizationInvitationRecord, 'tokenHash'> {
  organizationRoles: Array<{ id: string; name: string }>;
}

/** The invitation email: what {@link OrganizationService} hands to the email connector. */
export interface InvitationMessage {
  /** The invitee's address. */
  to: string;
  /** The invitation's secret token (only ever in this message). */
  token: string;
  /** The invitation id. */
  invitationId: string;
  organizationName: string;
  /** Minutes until the invitation expires (rounded up). */
  expiresInMinutes: number;
  locale: 'en' | 'zh-CN';
  /** The page of the application where invitations are accepted (http or https), if the inviter named one. */
  linkBase?: string;
}

/** Sends an invitation email. @throws AppError `connector.delivery_failed` */
export type InvitationSender = (message: InvitationMessage) => Promise<void>;

const invalid = (path: string, message: string) => new AppError('request.invalid', { data: { issues: [{ path, code: 'custom', message }] } });

function checkText(path: string, value: string, max: number): string {
  if (value.trim().length < 1 || value.length > max) throw invalid(path, `${path.replace(/^body\./, '')}: 1 to ${max} characters`);
  return value;
}

function checkDescription(value: string | null | undefined, max = 256): string | null {
  if (value === undefined || value === null) return null;
  if (value.length > max) throw invalid('body.description', `description: at most ${max} characters`);
  return value;
}

/** A DNS host name (RFC 1123 labels), lower-cased. */
const DOMAIN = /^(?=.{1,128}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/;

function checkDomain(raw: string): string {
  const domain = raw.trim().toLowerCase();
  if (!DOMAIN.test(domain)) throw new AppError('organization.invalid_email_domain');
  return domain;
}

const unique = (ids: readonly string[]) => [...new Set(ids)];

/** Organizations, their roles and scopes, members, invitations and JIT domains (see the module comment). */
export class OrganizationService {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly audit: AuditLog,
    private readonly events?: EventOutbox,
    /** Sends invitation emails; absent = invitations are never mailed. */
    private readonly sendInvitation?: InvitationSender,
  ) {}

  // ── organizations ──────────────────────────────────────────────────────────────────────────────

  /**
   * Creates an organization. Reports `Organization.Created`.
   * @param input `name` 1–128 characters, `description` ≤ 256, `customData` a JSON object
   * @throws AppError `request.invalid`
   */
  async create(input: { name: string; description?: string | null; customData?: Record<string, unknown>; isMfaRequired?: boolean }): Promise<OrganizationRecord> {
    const now = this.clock.now();
    const organization: OrganizationRecord = {
      id: newId(now),
      name: checkText('body.name', input.name, 128),
      description: checkDescription(input.description),
      customData: input.customData ?? {},
      isMfaRequired: input.isMfaRequired ?? false,
      createdAt: now,
    };
    await this.store.transaction(async () => {
      await this.store.organizations.insert(organization);
      await this.events?.emit({ event: 'Organization.Created', userId: null, entity: { kind: 'organization', organization } });
    });
    return organization;
  }

  /** One page of organizations (oldest first) and their count; `search` matches id and name. */
  async list(page: PageQuery): Promise<Paged<OrganizationRecord>> {
    const [items, total] = await Promise.all([this.store.organizations.list(page), this.store.organizations.count(page.search)]);
    return { items, total };
  }

  /** @throws AppError `organization.not_found` */
  async require(id: string): Promise<OrganizationRecord> {
    const organization = await this.store.organizations.findById(id);
    if (!organization) throw new AppError('organization.not_found');
    return organization;
  }

  /**
   * Changes an organization (`customData` is replaced whole, as Logto). Reports `Organization.Data.Updated`.
   * @throws AppError `organization.not_found`, `request.invalid`
   */
  async update(id: string, patch: { name?: string; description?: string | null; customData?: Record<string, unknown>; isMfaRequired?: boolean }): Promise<OrganizationRecord> {
    await this.require(id);
    const change = {
      ...(patch.name !== undefined ? { name: checkText('body.name', patch.name, 128) } : {}),
      ...(patch.description !== undefined ? { description: checkDescription(patch.description) } : {}),
      ...(patch.customData !== undefined ? { customData: patch.customData } : {}),
      ...(patch.isMfaRequired !== undefined ? { isMfaRequired: patch.isMfaRequired } : {}),
    };
    return this.store.transaction(async () => {
      const organization = await this.store.organizations.update(id, change);
      if (!organization) throw new AppError('organization.not_found');
      await this.events?.emit({ event: 'Organization.Data.Updated', userId: null, entity: { kind: 'organization', organization } });
      return organization;
    });
  }

  /**
   * Deletes an organization with its memberships, members' roles, invitations and JIT domains (one statement,
   * foreign-key cascades, in one transaction with its event). Reports `Organization.Deleted`.
   * @throws AppError `organization.not_found`
   */
  async delete(id: string): Promise<void> {
    await this.store.transaction(async () => {
      if (!(await this.store.organizations.delete(id))) throw new AppError('organization.not_found');
      await this.events?.emit({ event: 'Organization.Deleted', userId: null, details: { organizationId: id } });
    });
  }

  // ── organization scopes ────────────────────────────────────────────────────────────────────────

  /**
   * Creates an organization scope (names may contain spaces, as Logto's). Reports `OrganizationScope.Created`.
   * @throws AppError `request.invalid`, `organization.scope_name_taken`
   */
  async createScope(input: { name: string; description?: string | null }): Promise<OrganizationScopeRecord> {
    const now = this.clock.now();
    const scope: OrganizationScopeRecord = { id: newId(now), name: checkText('body.name', input.name, 128), description: checkDescription(input.description), createdAt: now };
    await this.store.transaction(async () => {
      if (!(await this.store.organizations.insertScope(scope))) throw new AppError('organization.scope_name_taken');
      await this.events?.emit({ event: 'OrganizationScope.Created', userId: null, entity: { kind: 'organizationScope', scope } });
    });
    return scope;
  }

  /** One page of organization scopes (by name) and their count. */
  async listScopes(page: PageQuery): Promise<Paged<OrganizationScopeRecord>> {
    const [items, total] = await Promise.all([this.store.organizations.listScopes(page), this.store.organizations.countScopes(page.search)]);
    return { items, total };
  }

  /** @throws AppError `organization.scope_not_found` */
  async requireScope(id: string): Promise<OrganizationScopeRecord> {
    const scope = await this.store.organizations.findScope(id);
    if (!scope) throw new AppError('organization.scope_not_found');
    return scope;
  }

  /**
   * Renames an organization scope or changes its description. Reports `OrganizationScope.Data.Updated`.
   * @throws AppError `organization.scope_not_found`, `organization.scope_name_taken`, `request.invalid`
   */
  async updateScope(id: string, patch: { name?: string; description?: string | null }): Promise<OrganizationScopeRecord> {
    const change = {
      ...(patch.name !== undefined ? { name: checkText('body.name', patch.name, 128) } : {}),
      ...(patch.description !== undefined ? { description: checkDescription(patch.description) } : {}),
    };
    return this.store.transaction(async () => {
      const scope = await this.store.organizations.updateScope(id, change);
      if (scope === 'taken') throw new AppError('organization.scope_name_taken');
      if (!scope) throw new AppError('organization.scope_not_found');
      await this.events?.emit({ event: 'OrganizationScope.Data.Updated', userId: null, entity: { kind: 'organizationScope', scope } });
      return scope;
    });
  }

  /** Deletes an organization scope and every role's grant of it. Reports `OrganizationScope.Deleted`. @throws AppError `organization.scope_not_found` */
  async deleteScope(id: string): Promise<void> {
    await this.store.transaction(async () => {
      if (!(await this.store.organizations.deleteScope(id))) throw new AppError('organization.scope_not_found');
      await this.events?.emit({ event: 'OrganizationScope.Deleted', userId: null, details: { organizationScopeId: id } });
    });
  }

  // ── organization roles ─────────────────────────────────────────────────────────────────────────

  /**
   * Creates an organization role with its scopes, in one transaction (nothing is kept when a scope is
   * unknown). Reports `OrganizationRole.Created` (and `OrganizationRole.Scopes.Updated` with scopes).
   * @throws AppError `request.invalid`, `organization.role_name_taken`, `organization.scope_not_found`, `scope.not_found`
   */
  async createRole(input: {
    name: string;
    description?: string | null;
    type?: RoleType;
    organizationScopeIds?: readonly string[];
    resourceScopeIds?: readonly string[];
  }): Promise<OrganizationRoleRecord> {
    const now = this.clock.now();
    const role: OrganizationRoleRecord = {
      id: newId(now),
      name: checkText('body.name', input.name, 128),
      description: checkDescription(input.description),
      type: input.type ?? 'User',
      createdAt: now,
    };
    const scopeIds = unique(input.organizationScopeIds ?? []);
    const resourceScopeIds = unique(input.resourceScopeIds ?? []);
    await this.requireScopes(scopeIds);
    await this.requireResourceScopes(resourceScopeIds);
    await this.store.transaction(async () => {
      if (!(await this.store.organizations.insertRole(role))) throw new AppError('organization.role_name_taken');
      await this.store.organizations.addRoleScopes(role.id, scopeIds, now);
      await this.store.organizations.addRoleResourceScopes(role.id, resourceScopeIds, now);
      await this.events?.emit({ event: 'OrganizationRole.Created', userId: null, entity: { kind: 'organizationRole', role } });
      if (scopeIds.length + resourceScopeIds.length > 0) {
        await this.events?.emit({ event: 'OrganizationRole.Scopes.Updated', userId: null, entity: { kind: 'organizationRoleScopes', organizationRoleId: role.id } });
      }
    });
    return role;
  }

  /** One page of organization roles (by name) with their scopes, and their count; `search` matches id, name, description. */
  async listRoles(page: PageQuery): Promise<Paged<OrganizationRoleWithScopes>> {
    const [roles, total] = await Promise.all([this.store.organizations.listRoles(page), this.store.organizations.countRoles(page.search)]);
    return { items: await this.withScopes(roles), total };
  }

  /** @throws AppError `organization.role_not_found` */
  async requireRole(id: string): Promise<OrganizationRoleRecord> {
    const role = await this.store.organizations.findRole(id);
    if (!role) throw new AppError('organization.role_not_found');
    return role;
  }

  /**
   * Changes an organization role (its type too, as Logto). Reports `OrganizationRole.Data.Updated`.
   * @throws AppError `organization.role_not_found`, `organization.role_name_taken`, `request.invalid`
   */
  async updateRole(id: string, patch: { name?: string; description?: string | null; type?: RoleType }): Promise<OrganizationRoleRecord> {
    const change = {
      ...(patch.name !== undefined ? { name: checkText('body.name', patch.name, 128) } : {}),
      ...(patch.description !== undefined ? { description: checkDescription(patch.description) } : {}),
      ...(patch.type !== undefined ? { type: patch.type } : {}),
    };
    return this.store.transaction(async () => {
      const role = await this.store.organizations.updateRole(id, change);
      if (role === 'taken') throw new AppError('organization.role_name_taken');
      if (!role) throw new AppError('organization.role_not_found');
      await this.events?.emit({ event: 'OrganizationRole.Data.Updated', userId: null, entity: { kind: 'organizationRole', role } });
      return role;
    });
  }

  /** Deletes an organization role with every grant and holding of it. Reports `OrganizationRole.Deleted`. @throws AppError `organization.role_not_found` */
  async deleteRole(id: string): Promise<void> {
    await this.store.transaction(async () => {
      if (!(await this.store.organizations.deleteRole(id))) throw new AppError('organization.role_not_found');
      await this.events?.emit({ event: 'OrganizationRole.Deleted', userId: null, details: { organizationRoleId: id } });
    });
  }

  /** The role's organization scopes (by name). @throws AppError `organization.role_not_found` */
  async roleScopes(roleId: string): Promise<OrganizationScopeRecord[]> {
    await this.requireRole(roleId);
    return (await this.store.organizations.roleScopes([roleId])).map((r) => r.scope);
  }

  /**
   * Grants organization scopes to a role (`replace`: makes them exactly its scopes). Reports `OrganizationRole.Scopes.Updated`.
   * @throws AppError `organization.role_not_found`, `organization.scope_not_found`
   */
  async setRoleScopes(roleId: string, scopeIds: readonly string[], mode: 'add' | 'replace'): Promise<void> {
    await this.requireRole(roleId);
    const ids = unique(scopeIds);
    await this.requireScopes(ids);
    await this.store.transaction(async () => {
      const now = this.clock.now();
      if (mode === 'add') await this.store.organizations.addRoleScopes(roleId, ids, now);
      else await this.store.organizations.replaceRoleScopes(roleId, ids, now);
      await this.events?.emit({ event: 'OrganizationRole.Scopes.Updated', userId: null, entity: { kind: 'organizationRoleScopes', organizationRoleId: roleId }, details: { scopeIds: ids, mode } });
    });
  }

  /** Takes an organization scope from a role. Reports `OrganizationRole.Scopes.Updated`. @throws AppError `organization.role_not_found`, `organization.scope_not_granted` */
  async removeRoleScope(roleId: string, scopeId: string): Promise<void> {
    await this.requireRole(roleId);
    await this.store.transaction(async () => {
      if (!(await this.store.organizations.removeRoleScope(roleId, scopeId))) throw new AppError('organization.scope_not_granted');
      await this.events?.emit({ event: 'OrganizationRole.Scopes.Updated', userId: null, entity: { kind: 'organizationRoleScopes', organizationRoleId: roleId }, details: { removedScopeIds: [scopeId] } });
    });
  }

  /** The role's resource permissions with their resources. @throws AppError `organization.role_not_found` */
  async roleResourceScopes(roleId: string): Promise<RoleResourceScope[]> {
    await this.requireRole(roleId);
    return this.store.organizations.roleResourceScopes([roleId]);
  }

  /**
   * Grants resource permissions to a role (`replace`: exactly these). No event (as Logto); an audit entry.
   * @throws AppError `organization.role_not_found`, `scope.not_found`
   */
  async setRoleResourceScopes(roleId: string, scopeIds: readonly string[], mode: 'add' | 'replace'): Promise<void> {
    await this.requireRole(roleId);
    const ids = unique(scopeIds);
    await this.requireResourceScopes(ids);
    await this.store.transaction(async () => {
      const now = this.clock.now();
      if (mode === 'add') await this.store.organizations.addRoleResourceScopes(roleId, ids, now);
      else await this.store.organizations.replaceRoleResourceScopes(roleId, ids, now);
      await this.audit.record({ key: 'Organization.Grant', details: { organizationRoleId: roleId, resourceScopeIds: ids, mode } });
    });
  }

  /** Takes a resource permission from a role. @throws AppError `organization.role_not_found`, `organization.scope_not_granted` */
  async removeRoleResourceScope(roleId: string, scopeId: string): Promise<void> {
    await this.requireRole(roleId);
    await this.store.transaction(async () => {
      if (!(await this.store.organizations.removeRoleResourceScope(roleId, scopeId))) throw new AppError('organization.scope_not_granted');
      await this.audit.record({ key: 'Organization.Revoke', details: { organizationRoleId: roleId, resourceScopeIds: [scopeId] } });
    });
  }

  private async withScopes(roles: OrganizationRoleRecord[]): Promise<OrganizationRoleWithScopes[]> {
    const ids = roles.map((r) => r.id);
    const [scopes, resourceScopes] = await Promise.all([this.store.organizations.roleScopes(ids), this.store.organizations.roleResourceScopes(ids)]);
    return roles.map((role) => ({
      ...role,
      scopes: scopes.filter((s) => s.roleId === role.id).map((s) => ({ id: s.scope.id, name: s.scope.name })),
      resourceScopes: resourceScopes.filter((s) => s.roleId === role.id).map((s) => ({ id: s.scope.id, name: s.scope.name, resource: s.resource })),
    }));
  }

  private async requireScopes(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    if ((await this.store.organizations.findScopes(ids)).length !== ids.length) throw new AppError('organization.scope_not_found');
  }

  private async requireResourceScopes(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    if ((await this.store.resources.findScopes(ids)).length !== ids.length) throw new AppError('scope.not_found');
  }

  /** Roles with these ids, all of `type`. @throws AppError `organization.role_not_found`, `organization.role_type_mismatch` */
  private async requireRolesOfType(roleIds: readonly string[], type: RoleType): Promise<OrganizationRoleRecord[]> {
    const ids = unique(roleIds);
    const roles = await this.store.organizations.findRoles(ids);
    if (roles.length !== ids.length) throw new AppError('organization.role_not_found');
    if (roles.some((r) => r.type !== type)) throw new AppError('organization.role_type_mismatch');
    return roles;
  }

  // ── members ────────────────────────────────────────────────────────────────────────────────────

  /**
   * Adds members (members stay one row each, also when added concurrently). Reports
   * `Organization.Membership.Updated` with the users that were new, when any.
   * @returns the ids that were new members
   * @throws AppError `organization.not_found`, `user.not_found`
   */
  async addMembers(organizationId: string, userIds: readonly string[]): Promise<string[]> {
    await this.require(organizationId);
    const ids = unique(userIds);
    await this.requireUsers(ids);
    return this.store.transaction(async () => {
      const added = await this.store.organizations.addUsers(organizationId, ids, this.clock.now());
      if (added.length > 0) await this.membershipChanged(organizationId, { addedUserIds: added });
      return added;
    });
  }

  /**
   * Makes `userIds` exactly the members (members who stay keep their roles). Reports `Organization.Membership.Updated`.
   * @throws AppError `organization.not_found`, `user.not_found`
   */
  async replaceMembers(organizationId: string, userIds: readonly string[]): Promise<{ added: string[]; removed: string[] }> {
    await this.require(organizationId);
    const ids = unique(userIds);
    await this.requireUsers(ids);
    return this.store.transaction(async () => {
      const delta = await this.store.organizations.replaceUsers(organizationId, ids, this.clock.now());
      if (delta.added.length + delta.removed.length > 0) await this.membershipChanged(organizationId, { addedUserIds: delta.added, removedUserIds: delta.removed });
      return delta;
    });
  }

  /**
   * Ends a membership; the member's roles in the organization go with it. Reports `Organization.Membership.Updated`.
   * @throws AppError `organization.not_member`
   */
  async removeMember(organizationId: string, userId: string): Promise<void> {
    await this.store.transaction(async () => {
      if (!(await this.store.organizations.removeUser(organizationId, userId))) throw new AppError('organization.not_member');
      await this.membershipChanged(organizationId, { removedUserIds: [userId] });
    });
  }

  /**
   * One page of members (oldest membership first) with their roles in the organization (by name), and their count.
   * @param filter `search`: substring of id, username, email, phone or name; `roleId`: only holders of that role
   */
  async listMembers(organizationId: string, page: PageQuery & { roleId?: string }): Promise<Paged<{ userId: string; roles: OrganizationRoleRecord[] }>> {
    const [ids, total] = await Promise.all([
      this.store.organizations.listUserIds(organizationId, page),
      this.store.organizations.countUsers(organizationId, { ...(page.search ? { search: page.search } : {}), ...(page.roleId ? { roleId: page.roleId } : {}) }),
    ]);
    const roles = await this.store.organizations.userRoles(organizationId, ids);
    return { items: ids.map((userId) => ({ userId, roles: roles.filter((r) => r.userId === userId).map((r) => r.role) })), total };
  }

  /**
   * Gives each of these members each of these roles (held ones stay as they are).
   * @throws AppError `organization.role_not_found`, `organization.role_type_mismatch` (a MachineToMachine role),
   *   `organization.require_membership` (one of them is not a member)
   */
  async addMemberRoles(organizationId: string, userIds: readonly string[], roleIds: readonly string[]): Promise<void> {
    const roles = await this.requireRolesOfType(roleIds, 'User');
    const ids = unique(userIds);
    for (const userId of ids) await this.requireMembership(organizationId, userId);
    await this.store.transaction(async () => {
      await this.store.organizations.addUserRoles(organizationId, ids, roles.map((r) => r.id), this.clock.now());
      await this.audit.record({ key: 'Organization.Grant', details: { organizationId, userIds: ids, organizationRoleIds: roles.map((r) => r.id) } });
    });
  }

  /**
   * Resolves role ids and names (Logto's `organizationRoleIds` / `organizationRoleNames`) to role ids.
   * @throws AppError `organization.role_names_not_found`
   */
  async resolveRoleIds(roleIds: readonly string[] = [], roleNames: readonly string[] = []): Promise<string[]> {
    const names = unique(roleNames);
    const byName = await this.store.organizations.findRolesByNames(names);
    if (byName.length !== names.length) throw new AppError('organization.role_names_not_found');
    return unique([...roleIds, ...byName.map((r) => r.id)]);
  }

  /**
   * Makes `roleIds` exactly the member's roles in the organization.
   * @throws AppError `organization.require_membership`, `organization.role_not_found`, `organization.role_type_mismatch`
   */
  async replaceMemberRoles(organizationId: string, userId: string, roleIds: readonly string[]): Promise<void> {
    await this.requireMembership(organizationId, userId);
    const roles = await this.requireRolesOfType(roleIds, 'User');
    await this.store.transaction(async () => {
      await this.store.organizations.replaceUserRoles(organizationId, userId, roles.map((r) => r.id), this.clock.now());
      await this.audit.record({ key: 'Organization.Grant', userId, details: { organizationId, userIds: [userId], organizationRoleIds: roles.map((r) => r.id), mode: 'replace' } });
    });
  }

  /** Takes a role from a member. @throws AppError `organization.require_membership`, `organization.role_not_held` */
  async removeMemberRole(organizationId: string, userId: string, roleId: string): Promise<void> {
    await this.requireMembership(organizationId, userId);
    await this.store.transaction(async () => {
      if (!(await this.store.organizations.removeUserRole(organizationId, userId, roleId))) throw new AppError('organization.role_not_held');
      await this.audit.record({ key: 'Organization.Revoke', userId, details: { organizationId, userIds: [userId], organizationRoleIds: [roleId] } });
    });
  }

  /** The member's roles in the organization (by name). @throws AppError `organization.require_membership` */
  async memberRoles(organizationId: string, userId: string): Promise<OrganizationRoleRecord[]> {
    await this.requireMembership(organizationId, userId);
    return (await this.store.organizations.userRoles(organizationId, [userId])).map((r) => r.role);
  }

  /** The organization scopes of the user's roles in the organization (none for a non-member; Logto does not check). */
  memberScopes(organizationId: string, userId: string): Promise<OrganizationScopeRecord[]> {
    return this.store.organizations.userScopes(organizationId, userId);
  }

  /** @throws AppError `organization.require_membership` */
  private async requireMembership(organizationId: string, userId: string): Promise<void> {
    if (!(await this.store.organizations.isMember(organizationId, userId))) throw new AppError('organization.require_membership');
  }

  private async requireUsers(ids: readonly string[]): Promise<void> {
    for (const id of ids) if (!(await this.store.users.findById(id))) throw new AppError('user.not_found');
  }

  private async membershipChanged(
    organizationId: string,
    delta: { addedUserIds?: string[]; removedUserIds?: string[]; addedApplicationIds?: string[]; removedApplicationIds?: string[] },
  ): Promise<void> {
    const entity = { kind: 'organizationMembership' as const, organizationId };
    for (const [key, ids] of Object.entries(delta)) if (ids.length > 0) Object.assign(entity, { [key]: ids.slice(0, 5000) });
    await this.events?.emit({ event: 'Organization.Membership.Updated', userId: null, entity, details: { organizationId, ...delta } });
  }

  // ── member applications ────────────────────────────────────────────────────────────────────────

  /**
   * Adds machine-to-machine applications as members. Reports `Organization.Membership.Updated` when any is new.
   * @returns the ids that were new members
   * @throws AppError `organization.not_found`, `application.not_found`, `organization.application_not_machine_to_machine`
   */
  async addApplications(organizationId: string, applicationIds: readonly string[]): Promise<string[]> {
    await this.require(organizationId);
    const ids = unique(applicationIds);
    for (const id of ids) await this.requireMachineApplication(id);
    return this.store.transaction(async () => {
      const added = await this.store.organizations.addApplications(organizationId, ids, this.clock.now());
      if (added.length > 0) await this.membershipChanged(organizationId, { addedApplicationIds: added });
      return added;
    });
  }

  /** Makes `applicationIds` exactly the member applications. @throws AppError as {@link addApplications} */
  async replaceApplications(organizationId: string, applicationIds: readonly string[]): Promise<{ added: string[]; removed: string[] }> {
    await this.require(organizationId);
    const ids = unique(applicationIds);
    for (const id of ids) await this.requireMachineApplication(id);
    return this.store.transaction(async () => {
      const delta = await this.store.organizations.replaceApplications(organizationId, ids, this.clock.now());
      if (delta.added.length + delta.removed.length > 0) {
        await this.membershipChanged(organizationId, { addedApplicationIds: delta.added, removedApplicationIds: delta.removed });
      }
      return delta;
    });
  }

  /** Removes a member application and its roles in the organization. @throws AppError `organization.not_member` */
  async removeApplication(organizationId: string, applicationId: string): Promise<void> {
    await this.store.transaction(async () => {
      if (!(await this.store.organizations.removeApplication(organizationId, applicationId))) throw new AppError('organization.not_member');
      await this.membershipChanged(organizationId, { removedApplicationIds: [applicationId] });
    });
  }

  /** One page of member application ids (oldest first) with their roles, and their count; `search` matches id, name, description. */
  async listApplications(organizationId: string, page: PageQuery): Promise<Paged<{ applicationId: string; roles: OrganizationRoleRecord[] }>> {
    const [ids, total] = await Promise.all([this.store.organizations.listApplicationIds(organizationId, page), this.store.organizations.countApplications(organizationId, page.search)]);
    const roles = await this.store.organizations.applicationRoles(organizationId, ids);
    return { items: ids.map((applicationId) => ({ applicationId, roles: roles.filter((r) => r.applicationId === applicationId).map((r) => r.role) })), total };
  }

  /**
   * Gives member applications MachineToMachine organization roles.
   * @throws AppError `organization.role_not_found`, `organization.role_type_mismatch`, `organization.require_membership`
   */
  async addApplicationRoles(organizationId: string, applicationIds: readonly string[], roleIds: readonly string[]): Promise<void> {
    const roles = await this.requireRolesOfType(roleIds, 'MachineToMachine');
    const ids = unique(applicationIds);
    for (const id of ids) await this.requireApplicationMembership(organizationId, id);
    await this.store.transaction(async () => {
      await this.store.organizations.addApplicationRoles(organizationId, ids, roles.map((r) => r.id), this.clock.now());
      await this.audit.record({ key: 'Organization.Grant', details: { organizationId, applicationIds: ids, organizationRoleIds: roles.map((r) => r.id) } });
    });
  }

  /** Makes `roleIds` exactly the member application's roles. @throws AppError as {@link addApplicationRoles} */
  async replaceApplicationRoles(organizationId: string, applicationId: string, roleIds: readonly string[]): Promise<void> {
    await this.requireApplicationMembership(organizationId, applicationId);
    const roles = await this.requireRolesOfType(roleIds, 'MachineToMachine');
    await this.store.transaction(async () => {
      await this.store.organizations.replaceApplicationRoles(organizationId, applicationId, roles.map((r) => r.id), this.clock.now());
      await this.audit.record({ key: 'Organization.Grant', details: { organizationId, applicationIds: [applicationId], organizationRoleIds: roles.map((r) => r.id), mode: 'replace' } });
    });
  }

  /** Takes a role from a member application. @throws AppError `organization.require_membership`, `organization.role_not_held` */
  async removeApplicationRole(organizationId: string, applicationId: string, roleId: string): Promise<void> {
    await this.requireApplicationMembership(organizationId, applicationId);
    await this.store.transaction(async () => {
      if (!(await this.store.organizations.removeApplicationRole(organizationId, applicationId, roleId))) throw new AppError('organization.role_not_held');
      await this.audit.record({ key: 'Organization.Revoke', details: { organizationId, applicationIds: [applicationId], organizationRoleIds: [roleId] } });
    });
  }

  /** The member application's roles (by name). @throws AppError `organization.require_membership` */
  async applicationRoles(organizationId: string, applicationId: string): Promise<OrganizationRoleRecord[]> {
    await this.requireApplicationMembership(organizationId, applicationId);
    return (await this.store.organizations.applicationRoles(organizationId, [applicationId])).map((r) => r.role);
  }

  private async requireApplicationMembership(organizationId: string, applicationId: string): Promise<void> {
    if (!(await this.store.organizations.isApplicationMember(organizationId, applicationId))) throw new AppError('organization.require_membership');
  }

  private async requireMachineApplication(applicationId: string): Promise<void> {
    const app = await this.store.applications.findById(applicationId);
    if (!app) throw new AppError('application.not_found');
    if (app.type !== 'm2m') throw new AppError('organization.application_not_machine_to_machine');
  }

  // ── for tokens (OIDC organization tokens) ──────────────────────────────────────────────────────

  /** Whether the user is a member of the organization (one query). */
  isMember(organizationId: string, userId: string): Promise<boolean> {
    return this.store.organizations.isMember(organizationId, userId);
  }

  /** Whether the application is a member of the organization (one query). */
  isApplicationMember(organizationId: string, applicationId: string): Promise<boolean> {
    return this.store.organizations.isApplicationMember(organizationId, applicationId);
  }

  /** Names of the organization scopes the user's roles in the organization hold (Logto's `getUserScopes`; one query). */
  async userOrganizationScopes(organizationId: string, userId: string): Promise<string[]> {
    return (await this.store.organizations.userScopes(organizationId, userId)).map((s) => s.name);
  }

  /** Names of the organization scopes the member application's roles hold (Logto's `getApplicationScopes`; one query). */
  async applicationOrganizationScopes(organizationId: string, applicationId: string): Promise<string[]> {
    return (await this.store.organizations.applicationScopes(organizationId, applicationId)).map((s) => s.name);
  }

  /**
   * Names of `resourceId`'s permissions the user holds through organization roles: in `organizationId`, or in
   * any of their organizations when undefined (Logto's `findUserScopesForResourceIndicator` organization part; one query).
   */
  userOrganizationResourceScopes(organizationId: string | undefined, userId: string, resourceId: string): Promise<string[]> {
    return this.store.organizations.userResourceScopeNames(organizationId, userId, resourceId);
  }

  /** Names of `resourceId`'s permissions the member application holds through its roles in the organization (one query). */
  applicationOrganizationResourceScopes(organizationId: string, applicationId: string, resourceId: string): Promise<string[]> {
    return this.store.organizations.applicationResourceScopeNames(organizationId, applicationId, resourceId);
  }

  /**
   * The user's organizations (oldest membership first) with the user's roles in each, by name (two queries):
   * the `organizations`, `organization_roles` (`<orgId>:<roleName>`) and `organization_data` claims.
   */
  async userOrganizations(userId: string): Promise<Array<{ organization: OrganizationRecord; roles: OrganizationRoleRecord[] }>> {
    const [organizations, roles] = await Promise.all([this.store.organizations.organizationsOfUser(userId), this.store.organizations.rolesOfUser(userId)]);
    return organizations.map((organization) => ({ organization, roles: roles.filter((r) => r.organizationId === organization.id).map((r) => r.role) }));
  }

  /**
   * Whether `subject` may get an organization token of `organizationId` (aud `urn:logto:organization:<id>`) and the
   * organization permissions it would carry (Logto's organization token access check, RFC 0001 for users and
   * RFC 0006 for machine-to-machine applications):
   * - a user must be a member; when the organization requires MFA (`isMfaRequired`) the user must also have
   *   enrolled a second factor (TOTP, passkey or backup codes, {@link SecondFactors}) → else `mfa_required`;
   * - an application must be a member;
   * - an unknown organization is `not_member` (nobody is a member of it).
   * `scopes` are the names of the organization scopes the subject's organization roles hold, read now (two to
   * three queries). The caller issues the requested ones among them.
   */
  async tokenAccess(
    organizationId: string,
    subject: { userId: string } | { applicationId: string },
  ): Promise<{ allowed: true; scopes: string[] } | { allowed: false; reason: 'not_member' | 'mfa_required' }> {
    if ('applicationId' in subject) {
      if (!(await this.isApplicationMember(organizationId, subject.applicationId))) return { allowed: false, reason: 'not_member' };
      return { allowed: true, scopes: await this.applicationOrganizationScopes(organizationId, subject.applicationId) };
    }
    const [member, organization] = await Promise.all([this.isMember(organizationId, subject.userId), this.store.organizations.findById(organizationId)]);
    if (!member || !organization) return { allowed: false, reason: 'not_member' };
    if (organization.isMfaRequired && !(await new SecondFactors(this.store).hasSecondFactor(subject.userId))) return { allowed: false, reason: 'mfa_required' };
    return { allowed: true, scopes: await this.userOrganizationScopes(organizationId, subject.userId) };
  }

  // ── invitations ────────────────────────────────────────────────────────────────────────────────

  /**
   * Invites an email address to an organization with roles; with `send`, mails the invitee the invitation's
   * id and secret token (the token is nowhere else: the store keeps its SHA-256). A stale pending invitation
   * of the same invitee is marked `Expired` first. When the email cannot be sent, the invitation is removed.
   * @param input `expiresAt` ms since the epoch, in the future; `organizationRoleIds` User roles; `send.link`
   *   the application's acceptance page (http or https; the email links to it with `invitationId` and `token`)
   * @throws AppError `organization.invitation_invalid_expiry`, `request.invalid` (link), `user.invalid_email`, `organization.not_found`,
   *   `user.not_found` (inviter), `organization.role_not_found`, `organization.role_type_mismatch`,
   *   `organization.invitee_already_member`, `organization.invitation_pending_exists`, `connector.delivery_failed`
   */
  async invite(input: {
    organizationId: string;
    invitee: string;
    inviterId?: string | null;
    expiresAt: number;
    organizationRoleIds?: readonly string[];
    send?: { locale?: 'en' | 'zh-CN'; link?: string } | false;
  }): Promise<InvitationView> {
    const now = this.clock.now();
    if (!Number.isFinite(input.expiresAt) || input.expiresAt <= now) throw new AppError('organization.invitation_invalid_expiry');
    const linkBase = input.send ? input.send.link : undefined;
    if (linkBase !== undefined && !/^https?:$/.test(URL.parse(linkBase)?.protocol ?? '')) throw invalid('body.messagePayload.link', 'link: an absolute http(s) URL');
    const invitee = normalizeEmail(input.invitee).toLowerCase();
    const organization = await this.require(input.organizationId);
    if (input.inviterId && !(await this.store.users.findById(input.inviterId))) throw new AppError('user.not_found');
    const roles = await this.requireRolesOfType(input.organizationRoleIds ?? [], 'User');
    const existing = await this.store.users.findByEmail(invitee);
    if (existing && (await this.store.organizations.isMember(organization.id, existing.id))) throw new AppError('organization.invitee_already_member');
    const token = newSecret('', 32);
    const invitation: OrganizationInvitationRecord = {
      id: newId(now),
      organizationId: organization.id,
      inviterId: input.inviterId ?? null,
      invitee,
      status: 'Pending',
      acceptedUserId: null,
      tokenHash: sha256Hex(token),
      createdAt: now,
      updatedAt: now,
      expiresAt: input.expiresAt,
    };
    await this.store.transaction(async () => {
      await this.store.organizations.expireStaleInvitations(organization.id, invitee, now);
      if (!(await this.store.organizations.insertInvitation(invitation, roles.map((r) => r.id)))) throw new AppError('organization.invitation_pending_exists');
      await this.audit.record({ key: 'Organization.Invitation.Created', details: { organizationId: organization.id, invitationId: invitation.id, organizationRoleIds: roles.map((r) => r.id) } });
    });
    if (input.send && this.sendInvitation) {
      try {
        await this.sendInvitation({
          to: invitee,
          token,
          invitationId: invitation.id,
          organizationName: organization.name,
          expiresInMinutes: Math.max(1, Math.ceil((input.expiresAt - now) / 60_000)),
          locale: input.send.locale ?? 'en',
          ...(linkBase !== undefined ? { linkBase } : {}),
        });
      } catch (error) {
        await this.store.organizations.deleteInvitation(invitation.id);
        throw error;
      }
    }
    return this.view(invitation, roles);
  }

  /** Invitations, newest first (`invitee` compared case-insensitively). */
  async listInvitations(filter: { organizationId?: string; inviterId?: string; invitee?: string }): Promise<InvitationView[]> {
    const invitations = await this.store.organizations.listInvitations(filter);
    const roles = await this.store.organizations.invitationRoles(invitations.map((i) => i.id));
    return invitations.map((i) => this.view(i, roles.filter((r) => r.invitationId === i.id).map((r) => r.role)));
  }

  /** @throws AppError `organization.invitation_not_found` */
  async getInvitation(id: string): Promise<InvitationView> {
    const invitation = await this.requireInvitation(id);
    return this.view(invitation, (await this.store.organizations.invitationRoles([id])).map((r) => r.role));
  }

  /** Deletes an invitation. @throws AppError `organization.invitation_not_found` */
  async deleteInvitation(id: string): Promise<void> {
    if (!(await this.store.organizations.deleteInvitation(id))) throw new AppError('organization.invitation_not_found');
  }

  /**
   * Revokes a pending invitation (its token no longer works).
   * @throws AppError `organization.invitation_not_found`, `organization.invitation_not_pending`
   */
  async revokeInvitation(id: string): Promise<InvitationView> {
    const invitation = await this.requireInvitation(id);
    if (this.statusOf(invitation) !== 'Pending') throw new AppError('organization.invitation_not_pending');
    await this.store.transaction(async () => {
      if (!(await this.store.organizations.settleInvitation(id, 'Revoked', null, this.clock.now()))) throw new AppError('organization.invitation_not_pending');
      await this.audit.record({ key: 'Organization.Invitation.Revoked', details: { organizationId: invitation.organizationId, invitationId: id } });
    });
    return this.getInvitation(id);
  }

  /**
   * Accepts a pending, unexpired invitation for `userId`, whose verified primary email must be the invitee
   * (case-insensitively): in one transaction the invitation becomes `Accepted` (once: of concurrent accepts one
   * wins), the user a member and the holder of the invitation's roles. Reports `Organization.Membership.Updated`.
   * @param token the invitation's secret token from the email (required when the user accepts it themselves;
   *   an administrator's `PUT /organization-invitations/:id/status` goes without)
   * @throws AppError `organization.invitation_not_found`, `organization.invitation_invalid_token`,
   *   `organization.invitation_not_pending` (accepted, revoked or expired), `user.not_found`, `organization.invitee_mismatch`
   */
  async acceptInvitation(id: string, userId: string, options: { token?: string; requireToken?: boolean } = {}): Promise<InvitationView> {
    const invitation = await this.requireInvitation(id);
    if (options.requireToken || options.token !== undefined) {
      if (options.token === undefined || !constantTimeEqual(sha256Hex(options.token), invitation.tokenHash)) throw new AppError('organization.invitation_invalid_token');
    }
    if (this.statusOf(invitation) !== 'Pending') throw new AppError('organization.invitation_not_pending');
    const user = await this.store.users.findById(userId);
    if (!user) throw new AppError('user.not_found');
    if (!user.emailVerified || user.primaryEmail === null || user.primaryEmail.toLowerCase() !== invitation.invitee) throw new AppError('organization.invitee_mismatch');
    const roleIds = (await this.store.organizations.invitationRoles([id])).map((r) => r.role.id);
    await this.store.transaction(async () => {
      if (!(await this.store.organizations.settleInvitation(id, 'Accepted', userId, this.clock.now()))) throw new AppError('organization.invitation_not_pending');
      const added = await this.store.organizations.addUsers(invitation.organizationId, [userId], this.clock.now());
      await this.store.organizations.addUserRoles(invitation.organizationId, [userId], roleIds, this.clock.now());
      await this.audit.record({ key: 'Organization.Invitation.Accepted', userId, details: { organizationId: invitation.organizationId, invitationId: id, organizationRoleIds: roleIds } });
      if (added.length > 0) await this.membershipChanged(invitation.organizationId, { addedUserIds: added });
    });
    return this.getInvitation(id);
  }

  private async requireInvitation(id: string): Promise<OrganizationInvitationRecord> {
    const invitation = await this.store.organizations.findInvitation(id);
    if (!invitation) throw new AppError('organization.invitation_not_found');
    return invitation;
  }

  private statusOf(invitation: OrganizationInvitationRecord): InvitationStatus {
    return invitation.status === 'Pending' && invitation.expiresAt <= this.clock.now() ? 'Expired' : invitation.status;
  }

  private view(invitation: OrganizationInvitationRecord, roles: readonly OrganizationRoleRecord[]): InvitationView {
    const { tokenHash: _secret, ...rest } = invitation;
    return { ...rest, status: this.statusOf(invitation), organizationRoles: [...roles].sort((a, b) => a.name.localeCompare(b.name)).map((r) => ({ id: r.id, name: r.name })) };
  }

  // ── JIT email domains ──────────────────────────────────────────────────────────────────────────

  /** One page of the organization's JIT email domains (oldest first) and their count. @throws AppError `organization.not_found` */
  async listJitDomains(organizationId: string, page: { offset: number; limit: number }): Promise<Paged<string>> {
    await this.require(organizationId);
    const [items, total] = await Promise.all([this.store.organizations.listJitDomains(organizationId, page), this.store.organizations.countJitDomains(organizationId)]);
    return { items, total };
  }

  /**
   * Lists an email domain for JIT membership (lower-cased host name).
   * @throws AppError `organization.not_found`, `organization.invalid_email_domain`, `organization.jit_domain_taken`
   */
  async addJitDomain(organizationId: string, emailDomain: string): Promise<string> {
    await this.require(organizationId);
    const domain = checkDomain(emailDomain);
    await this.store.transaction(async () => {
      if (!(await this.store.organizations.addJitDomain(organizationId, domain, this.clock.now()))) throw new AppError('organization.jit_domain_taken');
      await this.audit.record({ key: 'Organization.Jit.Updated', details: { organizationId, addedEmailDomains: [domain] } });
    });
    return domain;
  }

  /** Makes `emailDomains` exactly the organization's JIT domains. @throws AppError `organization.not_found`, `organization.invalid_email_domain` */
  async replaceJitDomains(organizationId: string, emailDomains: readonly string[]): Promise<void> {
    await this.require(organizationId);
    const domains = unique(emailDomains.map(checkDomain));
    await this.store.transaction(async () => {
      await this.store.organizations.replaceJitDomains(organizationId, domains, this.clock.now());
      await this.audit.record({ key: 'Organization.Jit.Updated', details: { organizationId, emailDomains: domains } });
    });
  }

  /** @throws AppError `organization.jit_domain_not_found` */
  async removeJitDomain(organizationId: string, emailDomain: string): Promise<void> {
    await this.store.transaction(async () => {
      if (!(await this.store.organizations.removeJitDomain(organizationId, emailDomain.trim().toLowerCase()))) throw new AppError('organization.jit_domain_not_found');
      await this.audit.record({ key: 'Organization.Jit.Updated', details: { organizationId, removedEmailDomains: [emailDomain.toLowerCase()] } });
    });
  }

  // ── issue 18 leftovers (added at the end): JIT roles, an application's organizations, resending an
  //    invitation, branding ─────────────────────────────────────────────────────────────────────────

  /** One page of the organization's JIT roles (by name) and their count. @throws AppError `organization.not_found` */
  async listJitRoles(organizationId: string, page: { offset: number; limit: number }): Promise<Paged<OrganizationRoleRecord>> {
    await this.require(organizationId);
    const [items, total] = await Promise.all([this.store.organizations.listJitRoles(organizationId, page), this.store.organizations.countJitRoles(organizationId)]);
    return { items, total };
  }

  /**
   * Adds (`mode` add) or sets exactly (`replace`) the `User` roles the organization gives its just-in-time
   * members when they join (Logto's `/organizations/:id/jit/roles`; held ones stay one row).
   * @throws AppError `organization.not_found`, `organization.role_not_found`, `organization.role_type_mismatch`
   */
  async setJitRoles(organizationId: string, roleIds: readonly string[], mode: 'add' | 'replace'): Promise<void> {
    await this.require(organizationId);
    const roles = await this.requireRolesOfType(roleIds, 'User');
    const ids = roles.map((r) => r.id);
    await this.store.transaction(async () => {
      if (mode === 'add') await this.store.organizations.addJitRoles(organizationId, ids, this.clock.now());
      else await this.store.organizations.replaceJitRoles(organizationId, ids, this.clock.now());
      await this.audit.record({ key: 'Organization.Jit.Updated', details: { organizationId, ...(mode === 'add' ? { addedOrganizationRoleIds: ids } : { organizationRoleIds: ids }) } });
    });
  }

  /** Stops giving a role to just-in-time members. @throws AppError `organization.jit_role_not_found` */
  async removeJitRole(organizationId: string, roleId: string): Promise<void> {
    await this.store.transaction(async () => {
      if (!(await this.store.organizations.removeJitRole(organizationId, roleId))) throw new AppError('organization.jit_role_not_found');
      await this.audit.record({ key: 'Organization.Jit.Updated', details: { organizationId, removedOrganizationRoleIds: [roleId] } });
    });
  }

  /**
   * The organizations an application is a member of (oldest membership first) with its roles in each, one
   * page, and their count (Logto's `GET /applications/:id/organizations`; three queries).
   * @throws AppError `application.not_found`
   */
  async applicationOrganizations(applicationId: string, page: { offset: number; limit: number }): Promise<Paged<{ organization: OrganizationRecord; roles: OrganizationRoleRecord[] }>> {
    if (!(await this.store.applications.findById(applicationId))) throw new AppError('application.not_found');
    const [organizations, total] = await Promise.all([
      this.store.organizations.organizationsOfApplication(applicationId, page),
      this.store.organizations.countOrganizationsOfApplication(applicationId),
    ]);
    const roles = await this.store.organizations.rolesOfApplication(applicationId, organizations.map((o) => o.id));
    return { items: organizations.map((organization) => ({ organization, roles: roles.filter((r) => r.organizationId === organization.id).map((r) => r.role) })), total };
  }

  /**
   * Mails a pending invitation again (Logto's `POST /organization-invitations/:id/message`) with a **new**
   * secret token: the store keeps only the token's SHA-256, so the first one cannot be sent again; the
   * earlier email's token stops working. When the email cannot be sent, the earlier token is put back.
   * @param send `locale` of the email; `link` the application's acceptance page (http or https)
   * @throws AppError `organization.invitation_not_found`, `organization.invitation_not_pending` (accepted,
   *   revoked or expired), `request.invalid` (link), `connector.delivery_failed` (also when no sender is set)
   */
  async resendInvitation(id: string, send: { locale?: 'en' | 'zh-CN'; link?: string } = {}): Promise<void> {
    const now = this.clock.now();
    if (send.link !== undefined && !/^https?:$/.test(URL.parse(send.link)?.protocol ?? '')) throw invalid('body.link', 'link: an absolute http(s) URL');
    const invitation = await this.requireInvitation(id);
    if (this.statusOf(invitation) !== 'Pending') throw new AppError('organization.invitation_not_pending');
    if (!this.sendInvitation) throw new AppError('connector.delivery_failed');
    const organization = await this.require(invitation.organizationId);
    const token = newSecret('', 32);
    await this.store.transaction(async () => {
      if (!(await this.store.organizations.replaceInvitationToken(id, sha256Hex(token), now))) throw new AppError('organization.invitation_not_pending');
      await this.audit.record({ key: 'Organization.Invitation.Resent', details: { organizationId: invitation.organizationId, invitationId: id } });
    });
    try {
      await this.sendInvitation({
        to: invitation.invitee,
        token,
        invitationId: id,
        organizationName: organization.name,
        expiresInMinutes: Math.max(1, Math.ceil((invitation.expiresAt - now) / 60_000)),
        locale: send.locale ?? 'en',
        ...(send.link !== undefined ? { linkBase: send.link } : {}),
      });
    } catch (error) {
      await this.store.organizations.replaceInvitationToken(id, invitation.tokenHash, now);
      throw error;
    }
  }

  /**
   * {@link create} with Logto's `branding` (absolute http(s) URLs), in one transaction.
   * @throws AppError `request.invalid` (also a branding URL)
   */
  async createWithBranding(input: Parameters<OrganizationService['create']>[0] & { branding?: OrganizationBranding }): Promise<OrganizationRecord> {
    const { branding, ...rest } = input;
    if (branding === undefined) return this.create(rest);
    const checked = checkBranding(branding);
    return this.store.transaction(async () => {
      const created = await this.create(rest);
      return (await this.store.organizations.update(created.id, { branding: checked })) ?? created;
    });
  }

  /**
   * {@link update} with Logto's `branding` (replaced whole, as Logto's PATCH), in one transaction; a
   * branding-only change reports `Organization.Data.Updated` too.
   * @throws AppError `organization.not_found`, `request.invalid` (also a branding URL)
   */
  async updateWithBranding(id: string, patch: Parameters<OrganizationService['update']>[1] & { branding?: OrganizationBranding }): Promise<OrganizationRecord> {
    const { branding, ...rest } = patch;
    if (branding === undefined) return this.update(id, rest);
    const checked = checkBranding(branding);
    return this.store.transaction(async () => {
      await this.store.organizations.update(id, { branding: checked });
      return this.update(id, rest);
    });
  }
}

const BRANDING_KEYS = ['logoUrl', 'darkLogoUrl', 'favicon', 'darkFavicon'] as const;

/** Logto's organization branding: only its four keys, each an absolute http(s) URL of at most 2048 characters. */
function checkBranding(branding: OrganizationBranding): OrganizationBranding {
  const out: OrganizationBranding = {};
  for (const key of BRANDING_KEYS) {
    const value = branding[key];
    if (value === undefined) continue;
    if (typeof value !== 'string' || value.length > 2048 || !/^https?:$/.test(URL.parse(value)?.protocol ?? '')) throw invalid(`body.branding.${key}`, `branding.${key}: an absolute http(s) URL`);
    out[key] = value;
  }
  return out;
}

/** Logto's organization branding (the store's type). */
type OrganizationBranding = NonNullable<OrganizationRecord['branding']>;
