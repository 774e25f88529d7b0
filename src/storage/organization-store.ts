import { type Kysely, type Selectable, sql } from 'kysely';
import type { RoleType, ScopeRecord } from './authorization-store.js';
import type { Database, OrganizationInvitationsTable, OrganizationRolesTable, OrganizationScopesTable, OrganizationsTable, ResourceScopesTable } from './schema.js';

/**
 * Storage of organizations (migration 0024, issue 18 item 4; Logto's `organizations`, `organization_roles`,
 * `organization_scopes`, their relations, invitations and JIT email domains). The rules (role types, who may
 * join, invitation acceptance) are domain/organizations'; these stores read and write rows, and let the
 * database decide races (primary keys and `on conflict do nothing`: adding a member twice, even at once, is
 * one row). Times are ms since the epoch.
 */

/** An organization (a tenant of an application). */
export interface OrganizationRecord {
  id: string;
  name: string;
  description: string | null;
  /** Free JSON object (replaced whole on update, as Logto). */
  customData: Record<string, unknown>;
  /** Members must have a second factor to get its tokens (Logto's `isMfaRequired`). */
  isMfaRequired: boolean;
  /**
   * Logto's `branding` (absolute http(s) URLs; absent keys unset). Always there when read; a record being
   * created may leave it out (stored `{}`, migration 0026).
   */
  branding?: OrganizationBranding;
  createdAt: number;
}

/** An organization's logos and favicons (Logto's `OrganizationBranding`); every key optional. */
export interface OrganizationBranding {
  logoUrl?: string;
  darkLogoUrl?: string;
  favicon?: string;
  darkFavicon?: string;
}

/** An organization permission (scope): the same set for every organization. */
export interface OrganizationScopeRecord {
  id: string;
  name: string;
  description: string | null;
  createdAt: number;
}

/** An organization role: `User` roles go to members, `MachineToMachine` roles to member applications. */
export interface OrganizationRoleRecord {
  id: string;
  name: string;
  description: string | null;
  type: RoleType;
  createdAt: number;
}

/** Stored status of an invitation (a `Pending` one past `expiresAt` reads as `Expired` in the domain). */
export type InvitationStatus = 'Pending' | 'Accepted' | 'Expired' | 'Revoked';

/** An invitation to join an organization by email. */
export interface OrganizationInvitationRecord {
  id: string;
  organizationId: string;
  inviterId: string | null;
  /** The invitee's email, lower-cased. */
  invitee: string;
  status: InvitationStatus;
  acceptedUserId: string | null;
  /** SHA-256 (hex) of the invitation's secret token (the token itself is only in the email). */
  tokenHash: string;
  createdAt: number;
  updatedAt: number;
  expiresAt: number;
}

/** A page window with an optional case-insensitive substring search. */
export interface SearchPage {
  offset: number;
  limit: number;
  search?: string;
}

/** A resource permission held through an organization role, with its resource's id and name. */
export interface RoleResourceScope {
  roleId: string;
  scope: ScopeRecord;
  resource: { id: string; name: string };
}

/** Organizations, their roles and scopes, members, invitations and JIT domains. */
export interface OrganizationStore {
  insert(organization: OrganizationRecord): Promise<void>;
  findById(id: string): Promise<OrganizationRecord | undefined>;
  /** Organizations with these ids (unknown ids left out). */
  findByIds(ids: readonly string[]): Promise<OrganizationRecord[]>;
  /** Oldest first; `search` matches id and name. */
  list(page: SearchPage): Promise<OrganizationRecord[]>;
  count(search?: string): Promise<number>;
  /** @returns the organization after the change, or undefined when there is none */
  update(id: string, patch: Partial<Pick<OrganizationRecord, 'name' | 'description' | 'customData' | 'isMfaRequired' | 'branding'>>): Promise<OrganizationRecord | undefined>;
  /** Deletes it with its memberships, members' roles, invitations and JIT domains (one statement, cascades). @returns true when one was deleted */
  delete(id: string): Promise<boolean>;

  /** @returns false when the name is taken */
  insertScope(scope: OrganizationScopeRecord): Promise<boolean>;
  findScope(id: string): Promise<OrganizationScopeRecord | undefined>;
  findScopes(ids: readonly string[]): Promise<OrganizationScopeRecord[]>;
  /** By name; `search` matches name and description. */
  listScopes(page: SearchPage): Promise<OrganizationScopeRecord[]>;
  countScopes(search?: string): Promise<number>;
  /** @returns the scope after the change, undefined when there is none, or 'taken' when the new name is */
  updateScope(id: string, patch: Partial<Pick<OrganizationScopeRecord, 'name' | 'description'>>): Promise<OrganizationScopeRecord | undefined | 'taken'>;
  /** Deletes it and every role's grant of it. @returns true when one was deleted */
  deleteScope(id: string): Promise<boolean>;

  /** @returns false when the name is taken */
  insertRole(role: OrganizationRoleRecord): Promise<boolean>;
  findRole(id: string): Promise<OrganizationRoleRecord | undefined>;
  findRoles(ids: readonly string[]): Promise<OrganizationRoleRecord[]>;
  /** Roles with these exact names (unknown names left out). */
  findRolesByNames(names: readonly string[]): Promise<OrganizationRoleRecord[]>;
  /** By name; `search` matches id, name and description. */
  listRoles(page: SearchPage): Promise<OrganizationRoleRecord[]>;
  countRoles(search?: string): Promise<number>;
  /** @returns the role after the change, undefined when there is none, or 'taken' when the new name is */
  updateRole(id: string, patch: Partial<Pick<OrganizationRoleRecord, 'name' | 'description' | 'type'>>): Promise<OrganizationRoleRecord | undefined | 'taken'>;
  /** Deletes it with every grant and holding of it. @returns true when one was deleted */
  deleteRole(id: string): Promise<boolean>;

  /** Grants organization scopes to a role (held ones stay one row). */
  addRoleScopes(roleId: string, scopeIds: readonly string[], at: number): Promise<void>;
  /** Makes `scopeIds` exactly the role's organization scopes. */
  replaceRoleScopes(roleId: string, scopeIds: readonly string[], at: number): Promise<void>;
  /** @returns true when the role had it */
  removeRoleScope(roleId: string, scopeId: string): Promise<boolean>;
  /** The organization scopes of these roles (by scope name). */
  roleScopes(roleIds: readonly string[]): Promise<Array<{ roleId: string; scope: OrganizationScopeRecord }>>;
  /** Grants resource permissions (migration 0023) to a role (held ones stay one row). */
  addRoleResourceScopes(roleId: string, scopeIds: readonly string[], at: number): Promise<void>;
  replaceRoleResourceScopes(roleId: string, scopeIds: readonly string[], at: number): Promise<void>;
  /** @returns true when the role had it */
  removeRoleResourceScope(roleId: string, scopeId: string): Promise<boolean>;
  /** The resource permissions of these roles with their resources (by resource, then scope name). */
  roleResourceScopes(roleIds: readonly string[]): Promise<RoleResourceScope[]>;

  /** Adds members (members stay one row, also when added concurrently). @returns the ids that were new members */
  addUsers(organizationId: string, userIds: readonly string[], at: number): Promise<string[]>;
  /** Makes `userIds` exactly the members (survivors keep their roles). @returns who joined and who left */
  replaceUsers(organizationId: string, userIds: readonly string[], at: number): Promise<{ added: string[]; removed: string[] }>;
  /** Ends a membership and the member's roles in the organization (cascade). @returns true when they were a member */
  removeUser(organizationId: string, userId: string): Promise<boolean>;
  isMember(organizationId: string, userId: string): Promise<boolean>;
  /** Member ids, oldest membership first; `search` matches the user's id, username, email, phone and name; `roleId`: only holders of that role. */
  listUserIds(organizationId: string, page: SearchPage & { roleId?: string }): Promise<string[]>;
  countUsers(organizationId: string, filter?: { search?: string; roleId?: string }): Promise<number>;
  /** Gives each of these members each role (held ones stay one row). Non-members fail the foreign key. */
  addUserRoles(organizationId: string, userIds: readonly string[], roleIds: readonly string[], at: number): Promise<void>;
  /** Makes `roleIds` exactly the member's roles in the organization. */
  replaceUserRoles(organizationId: string, userId: string, roleIds: readonly string[], at: number): Promise<void>;
  /** @returns true when the member held it */
  removeUserRole(organizationId: string, userId: string, roleId: string): Promise<boolean>;
  /** The roles of these members in the organization (by role name). */
  userRoles(organizationId: string, userIds: readonly string[]): Promise<Array<{ userId: string; role: OrganizationRoleRecord }>>;
  /** The user's organizations (oldest membership first) — one query. */
  organizationsOfUser(userId: string): Promise<OrganizationRecord[]>;
  /** The user's roles in every organization they belong to (by role name) — one query. */
  rolesOfUser(userId: string): Promise<Array<{ organizationId: string; role: OrganizationRoleRecord }>>;

  /** Adds member applications. @returns the ids that were new members */
  addApplications(organizationId: string, applicationIds: readonly string[], at: number): Promise<string[]>;
  replaceApplications(organizationId: string, applicationIds: readonly string[], at: number): Promise<{ added: string[]; removed: string[] }>;
  removeApplication(organizationId: string, applicationId: string): Promise<boolean>;
  isApplicationMember(organizationId: string, applicationId: string): Promise<boolean>;
  /** Member application ids, oldest first; `search` matches the application's id, name and description. */
  listApplicationIds(organizationId: string, page: SearchPage): Promise<string[]>;
  countApplications(organizationId: string, search?: string): Promise<number>;
  addApplicationRoles(organizationId: string, applicationIds: readonly string[], roleIds: readonly string[], at: number): Promise<void>;
  replaceApplicationRoles(organizationId: string, applicationId: string, roleIds: readonly string[], at: number): Promise<void>;
  removeApplicationRole(organizationId: string, applicationId: string, roleId: string): Promise<boolean>;
  applicationRoles(organizationId: string, applicationIds: readonly string[]): Promise<Array<{ applicationId: string; role: OrganizationRoleRecord }>>;

  /** Distinct organization scopes of the member's roles in the organization — one query. */
  userScopes(organizationId: string, userId: string): Promise<OrganizationScopeRecord[]>;
  /** Distinct organization scopes of the member application's roles — one query. */
  applicationScopes(organizationId: string, applicationId: string): Promise<OrganizationScopeRecord[]>;
  /** Names of `resourceId`'s permissions the user holds through organization roles (in one organization, or in any) — one query. */
  userResourceScopeNames(organizationId: string | undefined, userId: string, resourceId: string): Promise<string[]>;
  /** Names of `resourceId`'s permissions the application holds through its roles in the organization — one query. */
  applicationResourceScopeNames(organizationId: string, applicationId: string, resourceId: string): Promise<string[]>;

  /** Marks the organization's `Pending` invitations of `invitee` that expired by `now` as `Expired`. */
  expireStaleInvitations(organizationId: string, invitee: string, now: number): Promise<void>;
  /** Inserts an invitation with its roles. @returns false when a `Pending` one exists for the invitee and organization */
  insertInvitation(invitation: OrganizationInvitationRecord, roleIds: readonly string[]): Promise<boolean>;
  findInvitation(id: string): Promise<OrganizationInvitationRecord | undefined>;
  /** Newest first. */
  listInvitations(filter: { organizationId?: string; inviterId?: string; invitee?: string }): Promise<OrganizationInvitationRecord[]>;
  /** The roles of these invitations (by role name). */
  invitationRoles(invitationIds: readonly string[]): Promise<Array<{ invitationId: string; role: OrganizationRoleRecord }>>;
  /**
   * Moves a `Pending` invitation to `status` (compare-and-set: of concurrent calls one wins, so an invitation
   * is accepted once). @returns true when it was `Pending` and is now `status`
   */
  settleInvitation(id: string, status: Exclude<InvitationStatus, 'Pending'>, acceptedUserId: string | null, at: number): Promise<boolean>;
  /** @returns true when one was deleted */
  deleteInvitation(id: string): Promise<boolean>;

  /** @returns false when the organization has the domain already */
  addJitDomain(organizationId: string, emailDomain: string, at: number): Promise<boolean>;
  replaceJitDomains(organizationId: string, emailDomains: readonly string[], at: number): Promise<void>;
  removeJitDomain(organizationId: string, emailDomain: string): Promise<boolean>;
  /** Oldest first. */
  listJitDomains(organizationId: string, page: { offset: number; limit: number }): Promise<string[]>;
  countJitDomains(organizationId: string): Promise<number>;
  /**
   * Just-in-time membership: makes the user a member of every organization listing the domain of their
   * **verified** primary email (none when unverified), and gives each new membership the organization's JIT
   * roles (`User` roles only) — members stay one row, roles too.
   * @returns the organizations the user newly joined (oldest first)
   */
  addJitMemberships(userId: string, at: number): Promise<string[]>;

  /** The organization's JIT roles (by name); `offset`/`limit` page them. */
  listJitRoles(organizationId: string, page: { offset: number; limit: number }): Promise<OrganizationRoleRecord[]>;
  countJitRoles(organizationId: string): Promise<number>;
  /** Adds JIT roles (held ones stay one row). */
  addJitRoles(organizationId: string, roleIds: readonly string[], at: number): Promise<void>;
  /** Makes `roleIds` exactly the organization's JIT roles. */
  replaceJitRoles(organizationId: string, roleIds: readonly string[], at: number): Promise<void>;
  /** @returns true when the organization had it */
  removeJitRole(organizationId: string, roleId: string): Promise<boolean>;

  /** The organizations the application is a member of (oldest membership first), one page — one query. */
  organizationsOfApplication(applicationId: string, page: { offset: number; limit: number }): Promise<OrganizationRecord[]>;
  countOrganizationsOfApplication(applicationId: string): Promise<number>;
  /** The application's roles in these organizations (by role name) — one query. */
  rolesOfApplication(applicationId: string, organizationIds: readonly string[]): Promise<Array<{ organizationId: string; role: OrganizationRoleRecord }>>;

  /** Replaces a `Pending` invitation's token hash (a resent email's new token). @returns true when it was `Pending` */
  replaceInvitationToken(id: string, tokenHash: string, at: number): Promise<boolean>;
}

const toOrganization = (r: Selectable<OrganizationsTable>): OrganizationRecord => ({
  id: r.id,
  name: r.name,
  description: r.description ?? null,
  customData: JSON.parse(r.custom_data) as Record<string, unknown>,
  isMfaRequired: Boolean(r.is_mfa_required),
  branding: JSON.parse(r.branding ?? '{}') as OrganizationBranding,
  createdAt: Number(r.created_at),
});

const toScope = (r: Selectable<OrganizationScopesTable>): OrganizationScopeRecord => ({ id: r.id, name: r.name, description: r.description ?? null, createdAt: Number(r.created_at) });

const toRole = (r: Selectable<OrganizationRolesTable>): OrganizationRoleRecord => ({
  id: r.id,
  name: r.name,
  description: r.description ?? null,
  type: r.type as RoleType,
  createdAt: Number(r.created_at),
});

const toResourceScope = (r: Selectable<ResourceScopesTable>): ScopeRecord => ({
  id: r.id,
  resourceId: r.resource_id,
  name: r.name,
  description: r.description ?? null,
  createdAt: Number(r.created_at),
});

const toInvitation = (r: Selectable<OrganizationInvitationsTable>): OrganizationInvitationRecord => ({
  id: r.id,
  organizationId: r.organization_id,
  inviterId: r.inviter_id ?? null,
  invitee: r.invitee,
  status: r.status as InvitationStatus,
  acceptedUserId: r.accepted_user_id ?? null,
  tokenHash: r.token_hash,
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
  expiresAt: Number(r.expires_at),
});

/** A case-insensitive substring test of `column` (LIKE with `text`'s wildcards escaped; SQLite and PostgreSQL alike). */
const contains = (column: string, text: string) => sql<boolean>`lower(${sql.ref(column)}) like ${`%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`} escape '\\'`;

/** True for a unique-constraint violation (SQLite `SQLITE_CONSTRAINT_UNIQUE` / `…_PRIMARYKEY`, PostgreSQL 23505). */
function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: unknown };
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

const inserted = (r: { numInsertedOrUpdatedRows?: bigint | undefined }) => Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
const deleted = (r: { numDeletedRows: bigint }) => Number(r.numDeletedRows) > 0;
const unique = (ids: readonly string[]) => [...new Set(ids)];

/** Kysely implementation of {@link OrganizationStore} (SQLite and PostgreSQL). */
export class KyselyOrganizationStore implements OrganizationStore {
  constructor(private readonly db: Kysely<Database>) {}

  // ── organizations ──────────────────────────────────────────────────────────────────────────────

  async insert(o: OrganizationRecord) {
    await this.db
      .insertInto('organizations')
      .values({ id: o.id, name: o.name, description: o.description, custom_data: JSON.stringify(o.customData), is_mfa_required: o.isMfaRequired ? 1 : 0, branding: JSON.stringify(o.branding ?? {}), created_at: o.createdAt })
      .execute();
  }

  async findById(id: string) {
    const row = await this.db.selectFrom('organizations').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toOrganization(row) : undefined;
  }

  async findByIds(ids: readonly string[]) {
    if (ids.length === 0) return [];
    return (await this.db.selectFrom('organizations').selectAll().where('id', 'in', unique(ids)).execute()).map(toOrganization);
  }

  private organizations(search: string | undefined) {
    let q = this.db.selectFrom('organizations');
    if (search) q = q.where((eb) => eb.or([contains('id', search), contains('name', search)]));
    return q;
  }

  async list({ offset, limit, search }: SearchPage) {
    return (await this.organizations(search).selectAll().orderBy('created_at').orderBy('id').offset(offset).limit(limit).execute()).map(toOrganization);
  }

  async count(search?: string) {
    const r = await this.organizations(search).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async update(id: string, patch: Partial<Pick<OrganizationRecord, 'name' | 'description' | 'customData' | 'isMfaRequired' | 'branding'>>) {
    const values: Partial<OrganizationsTable> = {};
    if (patch.name !== undefined) values.name = patch.name;
    if (patch.description !== undefined) values.description = patch.description;
    if (patch.customData !== undefined) values.custom_data = JSON.stringify(patch.customData);
    if (patch.isMfaRequired !== undefined) values.is_mfa_required = patch.isMfaRequired ? 1 : 0;
    if (patch.branding !== undefined) values.branding = JSON.stringify(patch.branding);
    if (Object.keys(values).length > 0) await this.db.updateTable('organizations').set(values).where('id', '=', id).execute();
    return this.findById(id);
  }

  async delete(id: string) {
    return deleted(await this.db.deleteFrom('organizations').where('id', '=', id).executeTakeFirst());
  }

  // ── organization scopes ────────────────────────────────────────────────────────────────────────

  async insertScope(s: OrganizationScopeRecord) {
    const r = await this.db
      .insertInto('organization_scopes')
      .values({ id: s.id, name: s.name, description: s.description, created_at: s.createdAt })
      .onConflict((oc) => oc.column('name').doNothing())
      .executeTakeFirst();
    return inserted(r);
  }

  async findScope(id: string) {
    const row = await this.db.selectFrom('organization_scopes').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toScope(row) : undefined;
  }

  async findScopes(ids: readonly string[]) {
    if (ids.length === 0) return [];
    return (await this.db.selectFrom('organization_scopes').selectAll().where('id', 'in', unique(ids)).execute()).map(toScope);
  }

  private scopes(search: string | undefined) {
    let q = this.db.selectFrom('organization_scopes');
    if (search) q = q.where((eb) => eb.or([contains('name', search), contains('description', search)]));
    return q;
  }

  async listScopes({ offset, limit, search }: SearchPage) {
    return (await this.scopes(search).selectAll().orderBy('name').offset(offset).limit(limit).execute()).map(toScope);
  }

  async countScopes(search?: string) {
    const r = await this.scopes(search).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async updateScope(id: string, patch: Partial<Pick<OrganizationScopeRecord, 'name' | 'description'>>) {
    const values: Partial<OrganizationScopesTable> = {};
    if (patch.name !== undefined) values.name = patch.name;
    if (patch.description !== undefined) values.description = patch.description;
    if (Object.keys(values).length > 0) {
      try {
        await this.db.updateTable('organization_scopes').set(values).where('id', '=', id).execute();
      } catch (error) {
        if (isUniqueViolation(error)) return 'taken' as const;
        throw error;
      }
    }
    return this.findScope(id);
  }

  async deleteScope(id: string) {
    return deleted(await this.db.deleteFrom('organization_scopes').where('id', '=', id).executeTakeFirst());
  }

  // ── organization roles ─────────────────────────────────────────────────────────────────────────

  async insertRole(role: OrganizationRoleRecord) {
    const r = await this.db
      .insertInto('organization_roles')
      .values({ id: role.id, name: role.name, description: role.description, type: role.type, created_at: role.createdAt })
      .onConflict((oc) => oc.column('name').doNothing())
      .executeTakeFirst();
    return inserted(r);
  }

  async findRole(id: string) {
    const row = await this.db.selectFrom('organization_roles').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toRole(row) : undefined;
  }

  async findRoles(ids: readonly string[]) {
    if (ids.length === 0) return [];
    return (await this.db.selectFrom('organization_roles').selectAll().where('id', 'in', unique(ids)).execute()).map(toRole);
  }

  async findRolesByNames(names: readonly string[]) {
    if (names.length === 0) return [];
    return (await this.db.selectFrom('organization_roles').selectAll().where('name', 'in', unique(names)).execute()).map(toRole);
  }

  private roles(search: string | undefined) {
    let q = this.db.selectFrom('organization_roles');
    if (search) q = q.where((eb) => eb.or([contains('id', search), contains('name', search), contains('description', search)]));
    return q;
  }

  async listRoles({ offset, limit, search }: SearchPage) {
    return (await this.roles(search).selectAll().orderBy('name').offset(offset).limit(limit).execute()).map(toRole);
  }

  async countRoles(search?: string) {
    const r = await this.roles(search).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async updateRole(id: string, patch: Partial<Pick<OrganizationRoleRecord, 'name' | 'description' | 'type'>>) {
    const values: Partial<OrganizationRolesTable> = {};
    if (patch.name !== undefined) values.name = patch.name;
    if (patch.description !== undefined) values.description = patch.description;
    if (patch.type !== undefined) values.type = patch.type;
    if (Object.keys(values).length > 0) {
      try {
        await this.db.updateTable('organization_roles').set(values).where('id', '=', id).execute();
      } catch (error) {
        if (isUniqueViolation(error)) return 'taken' as const;
        throw error;
      }
    }
    return this.findRole(id);
  }

  async deleteRole(id: string) {
    return deleted(await this.db.deleteFrom('organization_roles').where('id', '=', id).executeTakeFirst());
  }

  async addRoleScopes(roleId: string, scopeIds: readonly string[], at: number) {
    if (scopeIds.length === 0) return;
    await this.db
      .insertInto('organization_role_scopes')
      .values(unique(scopeIds).map((scope_id) => ({ role_id: roleId, scope_id, created_at: at })))
      .onConflict((oc) => oc.columns(['role_id', 'scope_id']).doNothing())
      .execute();
  }

  async replaceRoleScopes(roleId: string, scopeIds: readonly string[], at: number) {
    let del = this.db.deleteFrom('organization_role_scopes').where('role_id', '=', roleId);
    if (scopeIds.length > 0) del = del.where('scope_id', 'not in', unique(scopeIds));
    await del.execute();
    await this.addRoleScopes(roleId, scopeIds, at);
  }

  async removeRoleScope(roleId: string, scopeId: string) {
    return deleted(await this.db.deleteFrom('organization_role_scopes').where('role_id', '=', roleId).where('scope_id', '=', scopeId).executeTakeFirst());
  }

  async roleScopes(roleIds: readonly string[]) {
    if (roleIds.length === 0) return [];
    const rows = await this.db
      .selectFrom('organization_role_scopes as rs')
      .innerJoin('organization_scopes as s', 's.id', 'rs.scope_id')
      .selectAll('s')
      .select('rs.role_id as role_id')
      .where('rs.role_id', 'in', unique(roleIds))
      .orderBy('s.name')
      .execute();
    return rows.map((r) => ({ roleId: r.role_id, scope: toScope(r) }));
  }

  async addRoleResourceScopes(roleId: string, scopeIds: readonly string[], at: number) {
    if (scopeIds.length === 0) return;
    await this.db
      .insertInto('organization_role_resource_scopes')
      .values(unique(scopeIds).map((scope_id) => ({ role_id: roleId, scope_id, created_at: at })))
      .onConflict((oc) => oc.columns(['role_id', 'scope_id']).doNothing())
      .execute();
  }

  async replaceRoleResourceScopes(roleId: string, scopeIds: readonly string[], at: number) {
    let del = this.db.deleteFrom('organization_role_resource_scopes').where('role_id', '=', roleId);
    if (scopeIds.length > 0) del = del.where('scope_id', 'not in', unique(scopeIds));
    await del.execute();
    await this.addRoleResourceScopes(roleId, scopeIds, at);
  }

  async removeRoleResourceScope(roleId: string, scopeId: string) {
    return deleted(await this.db.deleteFrom('organization_role_resource_scopes').where('role_id', '=', roleId).where('scope_id', '=', scopeId).executeTakeFirst());
  }

  async roleResourceScopes(roleIds: readonly string[]) {
    if (roleIds.length === 0) return [];
    const rows = await this.db
      .selectFrom('organization_role_resource_scopes as rs')
      .innerJoin('resource_scopes as s', 's.id', 'rs.scope_id')
      .innerJoin('resources as r', 'r.id', 's.resource_id')
      .selectAll('s')
      .select(['rs.role_id as role_id', 'r.name as resource_name'])
      .where('rs.role_id', 'in', unique(roleIds))
      .orderBy('r.name')
      .orderBy('s.name')
      .execute();
    return rows.map((r) => ({ roleId: r.role_id, scope: toResourceScope(r), resource: { id: r.resource_id, name: r.resource_name } }));
  }

  // ── members ────────────────────────────────────────────────────────────────────────────────────

  async addUsers(organizationId: string, userIds: readonly string[], at: number) {
    const added: string[] = [];
    // One row each: the primary key decides concurrent adds; the rows inserted tell who is new.
    for (const user_id of unique(userIds)) {
      const r = await this.db
        .insertInto('organization_users')
        .values({ organization_id: organizationId, user_id, created_at: at })
        .onConflict((oc) => oc.columns(['organization_id', 'user_id']).doNothing())
        .executeTakeFirst();
      if (inserted(r)) added.push(user_id);
    }
    return added;
  }

  async replaceUsers(organizationId: string, userIds: readonly string[], at: number) {
    const ids = unique(userIds);
    let q = this.db.deleteFrom('organization_users').where('organization_id', '=', organizationId);
    if (ids.length > 0) q = q.where('user_id', 'not in', ids);
    const removed = (await q.returning('user_id').execute()).map((r) => r.user_id);
    const added = await this.addUsers(organizationId, ids, at);
    return { added, removed };
  }

  async removeUser(organizationId: string, userId: string) {
    return deleted(await this.db.deleteFrom('organization_users').where('organization_id', '=', organizationId).where('user_id', '=', userId).executeTakeFirst());
  }

  async isMember(organizationId: string, userId: string) {
    const row = await this.db.selectFrom('organization_users').select('user_id').where('organization_id', '=', organizationId).where('user_id', '=', userId).executeTakeFirst();
    return row !== undefined;
  }

  private members(organizationId: string, { search, roleId }: { search?: string | undefined; roleId?: string | undefined }) {
    let q = this.db.selectFrom('organization_users as m').innerJoin('users as u', 'u.id', 'm.user_id').where('m.organization_id', '=', organizationId);
    if (search) {
      q = q.where((eb) =>
        eb.or([contains('u.id', search), contains('u.username', search), contains('u.primary_email', search), contains('u.primary_phone', search), contains('u.name', search)]),
      );
    }
    if (roleId) {
      q = q.where((eb) =>
        eb.exists(
          eb
            .selectFrom('organization_user_roles as ur')
            .select('ur.role_id')
            .whereRef('ur.organization_id', '=', 'm.organization_id')
            .whereRef('ur.user_id', '=', 'm.user_id')
            .where('ur.role_id', '=', roleId),
        ),
      );
    }
    return q;
  }

  async listUserIds(organizationId: string, page: SearchPage & { roleId?: string }) {
    const rows = await this.members(organizationId, page).select('m.user_id').orderBy('m.created_at').orderBy('m.user_id').offset(page.offset).limit(page.limit).execute();
    return rows.map((r) => r.user_id);
  }

  async countUsers(organizationId: string, filter: { search?: string; roleId?: string } = {}) {
    const r = await this.members(organizationId, filter).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async addUserRoles(organizationId: string, userIds: readonly string[], roleIds: readonly string[], at: number) {
    const values = unique(userIds).flatMap((user_id) => unique(roleIds).map((role_id) => ({ organization_id: organizationId, user_id, role_id, created_at: at })));
    if (values.length === 0) return;
    await this.db
      .insertInto('organization_user_roles')
      .values(values)
      .onConflict((oc) => oc.columns(['organization_id', 'user_id', 'role_id']).doNothing())
      .execute();
  }

  async replaceUserRoles(organizationId: string, userId: string, roleIds: readonly string[], at: number) {
    let del = this.db.deleteFrom('organization_user_roles').where('organization_id', '=', organizationId).where('user_id', '=', userId);
    if (roleIds.length > 0) del = del.where('role_id', 'not in', unique(roleIds));
    await del.execute();
    await this.addUserRoles(organizationId, [userId], roleIds, at);
  }

  async removeUserRole(organizationId: string, userId: string, roleId: string) {
    return deleted(
      await this.db
        .deleteFrom('organization_user_roles')
        .where('organization_id', '=', organizationId)
        .where('user_id', '=', userId)
        .where('role_id', '=', roleId)
        .executeTakeFirst(),
    );
  }

  async userRoles(organizationId: string, userIds: readonly string[]) {
    if (userIds.length === 0) return [];
    const rows = await this.db
      .selectFrom('organization_user_roles as ur')
      .innerJoin('organization_roles as r', 'r.id', 'ur.role_id')
      .selectAll('r')
      .select('ur.user_id as user_id')
      .where('ur.organization_id', '=', organizationId)
      .where('ur.user_id', 'in', unique(userIds))
      .orderBy('r.name')
      .execute();
    return rows.map((r) => ({ userId: r.user_id, role: toRole(r) }));
  }

  async organizationsOfUser(userId: string) {
    const rows = await this.db
      .selectFrom('organization_users as m')
      .innerJoin('organizations as o', 'o.id', 'm.organization_id')
      .selectAll('o')
      .where('m.user_id', '=', userId)
      .orderBy('m.created_at')
      .orderBy('o.id')
      .execute();
    return rows.map(toOrganization);
  }

  async rolesOfUser(userId: string) {
    const rows = await this.db
      .selectFrom('organization_user_roles as ur')
      .innerJoin('organization_roles as r', 'r.id', 'ur.role_id')
      .selectAll('r')
      .select('ur.organization_id as organization_id')
      .where('ur.user_id', '=', userId)
      .orderBy('r.name')
      .execute();
    return rows.map((r) => ({ organizationId: r.organization_id, role: toRole(r) }));
  }

  // ── member applications ────────────────────────────────────────────────────────────────────────

  async addApplications(organizationId: string, applicationIds: readonly string[], at: number) {
    const added: string[] = [];
    for (const application_id of unique(applicationIds)) {
      const r = await this.db
        .insertInto('organization_applications')
        .values({ organization_id: organizationId, application_id, created_at: at })
        .onConflict((oc) => oc.columns(['organization_id', 'application_id']).doNothing())
        .executeTakeFirst();
      if (inserted(r)) added.push(application_id);
    }
    return added;
  }

  async replaceApplications(organizationId: string, applicationIds: readonly string[], at: number) {
    const ids = unique(applicationIds);
    let q = this.db.deleteFrom('organization_applications').where('organization_id', '=', organizationId);
    if (ids.length > 0) q = q.where('application_id', 'not in', ids);
    const removed = (await q.returning('application_id').execute()).map((r) => r.application_id);
    const added = await this.addApplications(organizationId, ids, at);
    return { added, removed };
  }

  async removeApplication(organizationId: string, applicationId: string) {
    return deleted(
      await this.db.deleteFrom('organization_applications').where('organization_id', '=', organizationId).where('application_id', '=', applicationId).executeTakeFirst(),
    );
  }

  async isApplicationMember(organizationId: string, applicationId: string) {
    const row = await this.db
      .selectFrom('organization_applications')
      .select('application_id')
      .where('organization_id', '=', organizationId)
      .where('application_id', '=', applicationId)
      .executeTakeFirst();
    return row !== undefined;
  }

  private memberApplications(organizationId: string, search: string | undefined) {
    let q = this.db.selectFrom('organization_applications as m').innerJoin('applications as a', 'a.id', 'm.application_id').where('m.organization_id', '=', organizationId);
    if (search) q = q.where((eb) => eb.or([contains('a.id', search), contains('a.name', search), contains('a.description', search)]));
    return q;
  }

  async listApplicationIds(organizationId: string, { offset, limit, search }: SearchPage) {
    const rows = await this.memberApplications(organizationId, search).select('m.application_id').orderBy('m.created_at').orderBy('m.application_id').offset(offset).limit(limit).execute();
    return rows.map((r) => r.application_id);
  }

  async countApplications(organizationId: string, search?: string) {
    const r = await this.memberApplications(organizationId, search).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async addApplicationRoles(organizationId: string, applicationIds: readonly string[], roleIds: readonly string[], at: number) {
    const values = unique(applicationIds).flatMap((application_id) => unique(roleIds).map((role_id) => ({ organization_id: organizationId, application_id, role_id, created_at: at })));
    if (values.length === 0) return;
    await this.db
      .insertInto('organization_application_roles')
      .values(values)
      .onConflict((oc) => oc.columns(['organization_id', 'application_id', 'role_id']).doNothing())
      .execute();
  }

  async replaceApplicationRoles(organizationId: string, applicationId: string, roleIds: readonly string[], at: number) {
    let del = this.db.deleteFrom('organization_application_roles').where('organization_id', '=', organizationId).where('application_id', '=', applicationId);
    if (roleIds.length > 0) del = del.where('role_id', 'not in', unique(roleIds));
    await del.execute();
    await this.addApplicationRoles(organizationId, [applicationId], roleIds, at);
  }

  async removeApplicationRole(organizationId: string, applicationId: string, roleId: string) {
    return deleted(
      await this.db
        .deleteFrom('organization_application_roles')
        .where('organization_id', '=', organizationId)
        .where('application_id', '=', applicationId)
        .where('role_id', '=', roleId)
        .executeTakeFirst(),
    );
  }

  async applicationRoles(organizationId: string, applicationIds: readonly string[]) {
    if (applicationIds.length === 0) return [];
    const rows = await this.db
      .selectFrom('organization_application_roles as ar')
      .innerJoin('organization_roles as r', 'r.id', 'ar.role_id')
      .selectAll('r')
      .select('ar.application_id as application_id')
      .where('ar.organization_id', '=', organizationId)
      .where('ar.application_id', 'in', unique(applicationIds))
      .orderBy('r.name')
      .execute();
    return rows.map((r) => ({ applicationId: r.application_id, role: toRole(r) }));
  }

  // ── what a member holds ────────────────────────────────────────────────────────────────────────

  async userScopes(organizationId: string, userId: string) {
    const rows = await this.db
      .selectFrom('organization_user_roles as ur')
      .innerJoin('organization_role_scopes as rs', 'rs.role_id', 'ur.role_id')
      .innerJoin('organization_scopes as s', 's.id', 'rs.scope_id')
      .selectAll('s')
      .distinct()
      .where('ur.organization_id', '=', organizationId)
      .where('ur.user_id', '=', userId)
      .orderBy('s.name')
      .execute();
    return rows.map(toScope);
  }

  async applicationScopes(organizationId: string, applicationId: string) {
    const rows = await this.db
      .selectFrom('organization_application_roles as ar')
      .innerJoin('organization_role_scopes as rs', 'rs.role_id', 'ar.role_id')
      .innerJoin('organization_scopes as s', 's.id', 'rs.scope_id')
      .selectAll('s')
      .distinct()
      .where('ar.organization_id', '=', organizationId)
      .where('ar.application_id', '=', applicationId)
      .orderBy('s.name')
      .execute();
    return rows.map(toScope);
  }

  async userResourceScopeNames(organizationId: string | undefined, userId: string, resourceId: string) {
    let q = this.db
      .selectFrom('organization_user_roles as ur')
      .innerJoin('organization_role_resource_scopes as rs', 'rs.role_id', 'ur.role_id')
      .innerJoin('resource_scopes as s', 's.id', 'rs.scope_id')
      .select('s.name')
      .distinct()
      .where('ur.user_id', '=', userId)
      .where('s.resource_id', '=', resourceId);
    if (organizationId !== undefined) q = q.where('ur.organization_id', '=', organizationId);
    return (await q.execute()).map((r) => r.name);
  }

  async applicationResourceScopeNames(organizationId: string, applicationId: string, resourceId: string) {
    const rows = await this.db
      .selectFrom('organization_application_roles as ar')
      .innerJoin('organization_role_resource_scopes as rs', 'rs.role_id', 'ar.role_id')
      .innerJoin('resource_scopes as s', 's.id', 'rs.scope_id')
      .select('s.name')
      .distinct()
      .where('ar.organization_id', '=', organizationId)
      .where('ar.application_id', '=', applicationId)
      .where('s.resource_id', '=', resourceId)
      .execute();
    return rows.map((r) => r.name);
  }

  // ── invitations ────────────────────────────────────────────────────────────────────────────────

  async expireStaleInvitations(organizationId: string, invitee: string, now: number) {
    await this.db
      .updateTable('organization_invitations')
      .set({ status: 'Expired', updated_at: now })
      .where('organization_id', '=', organizationId)
      .where('invitee', '=', invitee)
      .where('status', '=', 'Pending')
      .where('expires_at', '<=', now)
      .execute();
  }

  async insertInvitation(i: OrganizationInvitationRecord, roleIds: readonly string[]) {
    try {
      await this.db.transaction().execute(async (trx) => {
        await trx
          .insertInto('organization_invitations')
          .values({
            id: i.id,
            organization_id: i.organizationId,
            inviter_id: i.inviterId,
            invitee: i.invitee,
            status: i.status,
            accepted_user_id: i.acceptedUserId,
            token_hash: i.tokenHash,
            created_at: i.createdAt,
            updated_at: i.updatedAt,
            expires_at: i.expiresAt,
          })
          .execute();
        if (roleIds.length > 0) {
          await trx.insertInto('organization_invitation_roles').values(unique(roleIds).map((role_id) => ({ invitation_id: i.id, role_id }))).execute();
        }
      });
      return true;
    } catch (error) {
      if (isUniqueViolation(error)) return false;
      throw error;
    }
  }

  async findInvitation(id: string) {
    const row = await this.db.selectFrom('organization_invitations').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toInvitation(row) : undefined;
  }

  async listInvitations(filter: { organizationId?: string; inviterId?: string; invitee?: string }) {
    let q = this.db.selectFrom('organization_invitations').selectAll();
    if (filter.organizationId) q = q.where('organization_id', '=', filter.organizationId);
    if (filter.inviterId) q = q.where('inviter_id', '=', filter.inviterId);
    if (filter.invitee) q = q.where('invitee', '=', filter.invitee.toLowerCase());
    return (await q.orderBy('created_at', 'desc').orderBy('id', 'desc').execute()).map(toInvitation);
  }

  async invitationRoles(invitationIds: readonly string[]) {
    if (invitationIds.length === 0) return [];
    const rows = await this.db
      .selectFrom('organization_invitation_roles as ir')
      .innerJoin('organization_roles as r', 'r.id', 'ir.role_id')
      .selectAll('r')
      .select('ir.invitation_id as invitation_id')
      .where('ir.invitation_id', 'in', unique(invitationIds))
      .orderBy('r.name')
      .execute();
    return rows.map((r) => ({ invitationId: r.invitation_id, role: toRole(r) }));
  }

  async settleInvitation(id: string, status: Exclude<InvitationStatus, 'Pending'>, acceptedUserId: string | null, at: number) {
    const r = await this.db
      .updateTable('organization_invitations')
      .set({ status, accepted_user_id: acceptedUserId, updated_at: at })
      .where('id', '=', id)
      .where('status', '=', 'Pending')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async deleteInvitation(id: string) {
    return deleted(await this.db.deleteFrom('organization_invitations').where('id', '=', id).executeTakeFirst());
  }

  // ── just-in-time provisioning ──────────────────────────────────────────────────────────────────

  async addJitDomain(organizationId: string, emailDomain: string, at: number) {
    const r = await this.db
      .insertInto('organization_jit_email_domains')
      .values({ organization_id: organizationId, email_domain: emailDomain.toLowerCase(), created_at: at })
      .onConflict((oc) => oc.columns(['organization_id', 'email_domain']).doNothing())
      .executeTakeFirst();
    return inserted(r);
  }

  async replaceJitDomains(organizationId: string, emailDomains: readonly string[], at: number) {
    const domains = unique(emailDomains.map((d) => d.toLowerCase()));
    let del = this.db.deleteFrom('organization_jit_email_domains').where('organization_id', '=', organizationId);
    if (domains.length > 0) del = del.where('email_domain', 'not in', domains);
    await del.execute();
    for (const domain of domains) await this.addJitDomain(organizationId, domain, at);
  }

  async removeJitDomain(organizationId: string, emailDomain: string) {
    return deleted(
      await this.db.deleteFrom('organization_jit_email_domains').where('organization_id', '=', organizationId).where('email_domain', '=', emailDomain.toLowerCase()).executeTakeFirst(),
    );
  }

  async listJitDomains(organizationId: string, { offset, limit }: { offset: number; limit: number }) {
    const rows = await this.db
      .selectFrom('organization_jit_email_domains')
      .select('email_domain')
      .where('organization_id', '=', organizationId)
      .orderBy('created_at')
      .orderBy('email_domain')
      .offset(offset)
      .limit(limit)
      .execute();
    return rows.map((r) => r.email_domain);
  }

  async countJitDomains(organizationId: string) {
    const r = await this.db
      .selectFrom('organization_jit_email_domains')
      .where('organization_id', '=', organizationId)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async addJitMemberships(userId: string, at: number) {
    // The domain is what follows the last `@` of the verified primary email (compared lower-case): a
    // suffix match on `@<domain>` (the domain's LIKE wildcards escaped), portable across both databases.
    // Candidates first, then one conflict-tolerant insert each: a concurrent join stays one row and is
    // reported by whichever insert made it.
    const { rows } = await sql<{ organization_id: string }>`select d.organization_id from users u
      join organization_jit_email_domains d
        on lower(u.primary_email) like '%@' || replace(replace(replace(d.email_domain, '\\', '\\\\'), '%', '\\%'), '_', '\\_') escape '\\'
      join organizations o on o.id = d.organization_id
      where u.id = ${userId} and u.email_verified = 1 and u.primary_email is not null
        and not exists (select 1 from organization_users m where m.organization_id = d.organization_id and m.user_id = u.id)
      order by o.created_at, o.id`.execute(this.db);
    const joined: string[] = [];
    for (const organizationId of unique(rows.map((r) => r.organization_id))) {
      const r = await this.db
        .insertInto('organization_users')
        .values({ organization_id: organizationId, user_id: userId, created_at: at })
        .onConflict((oc) => oc.columns(['organization_id', 'user_id']).doNothing())
        .executeTakeFirst();
      if (inserted(r)) joined.push(organizationId);
    }
    if (joined.length > 0) {
      await sql`insert into organization_user_roles (organization_id, user_id, role_id, created_at)
        select j.organization_id, ${userId}, j.role_id, ${at} from organization_jit_roles j
        join organization_roles r on r.id = j.role_id and r.type = 'User'
        where j.organization_id in (${sql.join(joined)})
        on conflict do nothing`.execute(this.db);
    }
    return joined;
  }

  // ── JIT roles ──────────────────────────────────────────────────────────────────────────────────

  async listJitRoles(organizationId: string, { offset, limit }: { offset: number; limit: number }) {
    const rows = await this.db
      .selectFrom('organization_jit_roles as j')
      .innerJoin('organization_roles as r', 'r.id', 'j.role_id')
      .selectAll('r')
      .where('j.organization_id', '=', organizationId)
      .orderBy('r.name')
      .orderBy('r.id')
      .offset(offset)
      .limit(limit)
      .execute();
    return rows.map(toRole);
  }

  async countJitRoles(organizationId: string) {
    const r = await this.db
      .selectFrom('organization_jit_roles')
      .where('organization_id', '=', organizationId)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async addJitRoles(organizationId: string, roleIds: readonly string[], at: number) {
    for (const role_id of unique(roleIds)) {
      await this.db
        .insertInto('organization_jit_roles')
        .values({ organization_id: organizationId, role_id, created_at: at })
        .onConflict((oc) => oc.columns(['organization_id', 'role_id']).doNothing())
        .execute();
    }
  }

  async replaceJitRoles(organizationId: string, roleIds: readonly string[], at: number) {
    const keep = unique(roleIds);
    let del = this.db.deleteFrom('organization_jit_roles').where('organization_id', '=', organizationId);
    if (keep.length > 0) del = del.where('role_id', 'not in', keep);
    await del.execute();
    await this.addJitRoles(organizationId, keep, at);
  }

  async removeJitRole(organizationId: string, roleId: string) {
    return deleted(await this.db.deleteFrom('organization_jit_roles').where('organization_id', '=', organizationId).where('role_id', '=', roleId).executeTakeFirst());
  }

  // ── an application's organizations ─────────────────────────────────────────────────────────────

  async organizationsOfApplication(applicationId: string, { offset, limit }: { offset: number; limit: number }) {
    const rows = await this.db
      .selectFrom('organization_applications as m')
      .innerJoin('organizations as o', 'o.id', 'm.organization_id')
      .selectAll('o')
      .where('m.application_id', '=', applicationId)
      .orderBy('m.created_at')
      .orderBy('o.id')
      .offset(offset)
      .limit(limit)
      .execute();
    return rows.map(toOrganization);
  }

  async countOrganizationsOfApplication(applicationId: string) {
    const r = await this.db
      .selectFrom('organization_applications')
      .where('application_id', '=', applicationId)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async rolesOfApplication(applicationId: string, organizationIds: readonly string[]) {
    if (organizationIds.length === 0) return [];
    const rows = await this.db
      .selectFrom('organization_application_roles as ar')
      .innerJoin('organization_roles as r', 'r.id', 'ar.role_id')
      .selectAll('r')
      .select('ar.organization_id as organization_id')
      .where('ar.application_id', '=', applicationId)
      .where('ar.organization_id', 'in', [...organizationIds])
      .orderBy('r.name')
      .execute();
    return rows.map((r) => ({ organizationId: r.organization_id, role: toRole(r) }));
  }

  // ── invitations (resend) ───────────────────────────────────────────────────────────────────────

  async replaceInvitationToken(id: string, tokenHash: string, at: number) {
    const r = await this.db
      .updateTable('organization_invitations')
      .set({ token_hash: tokenHash, updated_at: at })
      .where('id', '=', id)
      .where('status', '=', 'Pending')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }
}
