import { type Kysely, type Selectable, sql } from 'kysely';
import { prepared } from './prepared.js';
import type { Database, ResourceScopesTable, ResourcesTable, RolesTable } from './schema.js';

/**
 * Storage of API resources, their permissions (scopes) and roles with their grants (migration 0023,
 * issue 18; Logto's `resources`, `scopes`, `roles`, `roles_scopes`, `users_roles`, `applications_roles`).
 * The rules (built-in rows, role types, who may be given what) are domain/authorization's; these stores
 * read and write rows. Times are ms since the epoch; a resource's `accessTokenTtl` is in seconds.
 */

/** An API resource: what a `resource` parameter (RFC 8707) names. */
export interface ResourceRecord {
  id: string;
  name: string;
  /** The resource indicator, an absolute URI; unique. */
  indicator: string;
  /** Lifetime of the access tokens issued for it, seconds. */
  accessTokenTtl: number;
  /** Logto's default resource: used when a request names none (not used by Tessera's tokens yet). */
  isDefault: boolean;
  createdAt: number;
}

/** A permission of a resource (an OAuth scope), unique by name within its resource. */
export interface ScopeRecord {
  id: string;
  resourceId: string;
  name: string;
  description: string | null;
  createdAt: number;
}

/** Who a role is for. */
export type RoleType = 'User' | 'MachineToMachine';

/** A role: a named set of permissions given to users (`User`) or applications (`MachineToMachine`). */
export interface RoleRecord {
  id: string;
  name: string;
  description: string;
  type: RoleType;
  /** Given to every new user (User roles only; Logto's `isDefault`). */
  isDefault: boolean;
  createdAt: number;
}

/** A page request, with an optional case-insensitive substring filter on names (and indicators, for resources). */
export interface NamedPage {
  offset: number;
  limit: number;
  search?: string;
}

/** The role list's filters. */
export interface RoleFilter {
  search?: string;
  type?: RoleType;
  /** Only roles with these ids. */
  ids?: readonly string[];
}

/** API resources and their scopes. */
export interface ResourceStore {
  /** @returns false when the indicator is taken */
  insert(resource: ResourceRecord): Promise<boolean>;
  findById(id: string): Promise<ResourceRecord | undefined>;
  findByIndicator(indicator: string): Promise<ResourceRecord | undefined>;
  /** Oldest first. */
  list(page: NamedPage): Promise<ResourceRecord[]>;
  count(search?: string): Promise<number>;
  /** @returns the resource after the change, or undefined when there is none */
  update(id: string, patch: Partial<Pick<ResourceRecord, 'name' | 'accessTokenTtl' | 'isDefault'>>): Promise<ResourceRecord | undefined>;
  /** Clears `isDefault` on every resource (before one is made the default). */
  clearDefault(): Promise<void>;
  /** Deletes it with its scopes and every grant of them (cascades). @returns true when one was deleted */
  delete(id: string): Promise<boolean>;

  /** @returns false when the resource already has a scope of that name */
  insertScope(scope: ScopeRecord): Promise<boolean>;
  findScope(id: string): Promise<ScopeRecord | undefined>;
  /** Scopes with these ids (unknown ids are left out). */
  findScopes(ids: readonly string[]): Promise<ScopeRecord[]>;
  /** A resource's scopes, oldest first. */
  listScopes(resourceId: string, page: NamedPage): Promise<ScopeRecord[]>;
  countScopes(resourceId: string, search?: string): Promise<number>;
  /** @returns the scope after the change, undefined when there is none, or 'taken' when the new name is */
  updateScope(id: string, patch: Partial<Pick<ScopeRecord, 'name' | 'description'>>): Promise<ScopeRecord | undefined | 'taken'>;
  /** @returns true when one was deleted (its grants go by cascade) */
  deleteScope(id: string): Promise<boolean>;
}

/** Roles and who holds them. */
export interface RoleStore {
  /** @returns false when the name is taken */
  insert(role: RoleRecord): Promise<boolean>;
  findById(id: string): Promise<RoleRecord | undefined>;
  /** Roles with these ids (unknown ids are left out). */
  findByIds(ids: readonly string[]): Promise<RoleRecord[]>;
  /** Oldest first. */
  list(filter: RoleFilter, page: { offset: number; limit: number }): Promise<RoleRecord[]>;
  count(filter: RoleFilter): Promise<number>;
  /** @returns the role after the change, undefined when there is none, or 'taken' when the new name is */
  update(id: string, patch: Partial<Pick<RoleRecord, 'name' | 'description' | 'isDefault'>>): Promise<RoleRecord | undefined | 'taken'>;
  /** Deletes it with every grant of it (cascades). @returns true when one was deleted */
  delete(id: string): Promise<boolean>;

  /** Adds scopes to a role; ones it has are kept as they are (one row each). */
  addScopes(roleId: string, scopeIds: readonly string[], at: number): Promise<void>;
  /** @returns true when the role had the scope */
  removeScope(roleId: string, scopeId: string): Promise<boolean>;
  /** A role's scopes, oldest grant first. */
  listScopes(roleId: string, page: NamedPage): Promise<ScopeRecord[]>;
  countScopes(roleId: string, search?: string): Promise<number>;

  /** Gives the role to users; users who hold it keep their one row. */
  addUsers(roleId: string, userIds: readonly string[], at: number): Promise<void>;
  /** @returns true when the user held it */
  removeUser(roleId: string, userId: string): Promise<boolean>;
  /** Ids of the role's users, newest grant first. */
  listUserIds(roleId: string, page: { offset: number; limit: number }): Promise<string[]>;
  countUsers(roleId: string): Promise<number>;
  /** The user's roles, oldest grant first. */
  listUserRoles(userId: string): Promise<RoleRecord[]>;
  /** Makes `roleIds` the user's roles: the others are removed. */
  replaceUserRoles(userId: string, roleIds: readonly string[], at: number): Promise<void>;
  /** Gives every default `User` role to the user (a new user; Logto's `isDefault`). */
  addDefaultRoles(userId: string, at: number): Promise<void>;

  /** Gives the role to applications; ones that hold it keep their one row. */
  addApplications(roleId: string, applicationIds: readonly string[], at: number): Promise<void>;
  /** @returns true when the application held it */
  removeApplication(roleId: string, applicationId: string): Promise<boolean>;
  /** Ids of the role's applications, newest grant first. */
  listApplicationIds(roleId: string, page: { offset: number; limit: number }): Promise<string[]>;
  countApplications(roleId: string): Promise<number>;
  /** The application's roles, oldest grant first. */
  listApplicationRoles(applicationId: string): Promise<RoleRecord[]>;
  /** Makes `roleIds` the application's roles: the others are removed. */
  replaceApplicationRoles(applicationId: string, roleIds: readonly string[], at: number): Promise<void>;

  /** Names of the scopes of `resourceId` that the user's roles hold (one query; token issuance). */
  userScopeNames(userId: string, resourceId: string): Promise<string[]>;
  /** Names of the scopes of `resourceId` that the application's roles hold (one query; token issuance). */
  applicationScopeNames(applicationId: string, resourceId: string): Promise<string[]>;
  /**
   * The authorization model's version: a number that triggers change in every statement that changes a
   * resource, permission, role or role assignment (migration 0028). Equal versions = nothing changed between.
   */
  authorizationVersion(): Promise<number>;
  /** Every permission the user's roles hold, with its resource and the role that gives it (one query). */
  userGrants(userId: string): Promise<Array<{ resource: ResourceRecord; scope: ScopeRecord; roleId: string }>>;
}

const toResource = (r: Selectable<ResourcesTable>): ResourceRecord => ({
  id: r.id,
  name: r.name,
  indicator: r.indicator,
  accessTokenTtl: Number(r.access_token_ttl),
  isDefault: Boolean(r.is_default),
  createdAt: Number(r.created_at),
});

const toScope = (r: Selectable<ResourceScopesTable>): ScopeRecord => ({
  id: r.id,
  resourceId: r.resource_id,
  name: r.name,
  description: r.description ?? null,
  createdAt: Number(r.created_at),
});

const toRole = (r: Selectable<RolesTable>): RoleRecord => ({
  id: r.id,
  name: r.name,
  description: r.description,
  type: r.type as RoleType,
  isDefault: Boolean(r.is_default),
  createdAt: Number(r.created_at),
});

/** A case-insensitive substring test of `column` (LIKE with `text`'s wildcards escaped; SQLite and PostgreSQL alike). */
const contains = (column: string, text: string) =>
  sql<boolean>`lower(${sql.ref(column)}) like ${`%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`} escape '\\'`;

/** True for a unique-constraint violation (SQLite `SQLITE_CONSTRAINT_UNIQUE` / `…_PRIMARYKEY`, PostgreSQL 23505). */
function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: unknown };
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** Kysely implementation of {@link ResourceStore} (SQLite and PostgreSQL). */
export class KyselyResourceStore implements ResourceStore {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(r: ResourceRecord) {
    const result = await this.db
      .insertInto('resources')
      .values({ id: r.id, name: r.name, indicator: r.indicator, access_token_ttl: r.accessTokenTtl, is_default: r.isDefault ? 1 : 0, created_at: r.createdAt })
      .onConflict((oc) => oc.column('indicator').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async findById(id: string) {
    const row = await this.db.selectFrom('resources').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toResource(row) : undefined;
  }

  private readonly byIndicator = prepared(() => this.db, (indicator: string) => this.db.selectFrom('resources').selectAll().where('indicator', '=', indicator));

  async findByIndicator(indicator: string) {
    const [row] = await this.byIndicator(indicator);
    return row ? toResource(row) : undefined;
  }

  private filtered(search: string | undefined) {
    let q = this.db.selectFrom('resources');
    if (search) {
      q = q.where((eb) => eb.or([contains('name', search), contains('indicator', search)]));
    }
    return q;
  }

  async list({ offset, limit, search }: NamedPage) {
    const rows = await this.filtered(search).selectAll().orderBy('created_at').orderBy('id').offset(offset).limit(limit).execute();
    return rows.map(toResource);
  }

  async count(search?: string) {
    const r = await this.filtered(search).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async update(id: string, patch: Partial<Pick<ResourceRecord, 'name' | 'accessTokenTtl' | 'isDefault'>>) {
    const values: Partial<ResourcesTable> = {};
    if (patch.name !== undefined) values.name = patch.name;
    if (patch.accessTokenTtl !== undefined) values.access_token_ttl = patch.accessTokenTtl;
    if (patch.isDefault !== undefined) values.is_default = patch.isDefault ? 1 : 0;
    if (Object.keys(values).length > 0) await this.db.updateTable('resources').set(values).where('id', '=', id).execute();
    return this.findById(id);
  }

  async clearDefault() {
    await this.db.updateTable('resources').set({ is_default: 0 }).where('is_default', '=', 1).execute();
  }

  async delete(id: string) {
    const r = await this.db.deleteFrom('resources').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async insertScope(s: ScopeRecord) {
    const result = await this.db
      .insertInto('resource_scopes')
      .values({ id: s.id, resource_id: s.resourceId, name: s.name, description: s.description, created_at: s.createdAt })
      .onConflict((oc) => oc.columns(['resource_id', 'name']).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async findScope(id: string) {
    const row = await this.db.selectFrom('resource_scopes').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toScope(row) : undefined;
  }

  async findScopes(ids: readonly string[]) {
    if (ids.length === 0) return [];
    const rows = await this.db.selectFrom('resource_scopes').selectAll().where('id', 'in', [...ids]).execute();
    return rows.map(toScope);
  }

  private scopesOf(resourceId: string, search: string | undefined) {
    let q = this.db.selectFrom('resource_scopes').where('resource_id', '=', resourceId);
    if (search) q = q.where(contains('name', search));
    return q;
  }

  async listScopes(resourceId: string, { offset, limit, search }: NamedPage) {
    const rows = await this.scopesOf(resourceId, search).selectAll().orderBy('created_at').orderBy('id').offset(offset).limit(limit).execute();
    return rows.map(toScope);
  }

  async countScopes(resourceId: string, search?: string) {
    const r = await this.scopesOf(resourceId, search).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async updateScope(id: string, patch: Partial<Pick<ScopeRecord, 'name' | 'description'>>) {
    const values: Partial<ResourceScopesTable> = {};
    if (patch.name !== undefined) values.name = patch.name;
    if (patch.description !== undefined) values.description = patch.description;
    if (Object.keys(values).length > 0) {
      try {
        await this.db.updateTable('resource_scopes').set(values).where('id', '=', id).execute();
      } catch (error) {
        if (isUniqueViolation(error)) return 'taken' as const;
        throw error;
      }
    }
    return this.findScope(id);
  }

  async deleteScope(id: string) {
    const r = await this.db.deleteFrom('resource_scopes').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
}

/** Kysely implementation of {@link RoleStore} (SQLite and PostgreSQL). */
export class KyselyRoleStore implements RoleStore {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(role: RoleRecord) {
    const result = await this.db
      .insertInto('roles')
      .values({ id: role.id, name: role.name, description: role.description, type: role.type, is_default: role.isDefault ? 1 : 0, created_at: role.createdAt })
      .onConflict((oc) => oc.column('name').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async findById(id: string) {
    const row = await this.db.selectFrom('roles').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toRole(row) : undefined;
  }

  async findByIds(ids: readonly string[]) {
    if (ids.length === 0) return [];
    const rows = await this.db.selectFrom('roles').selectAll().where('id', 'in', [...ids]).execute();
    return rows.map(toRole);
  }

  private filtered({ search, type, ids }: RoleFilter) {
    let q = this.db.selectFrom('roles');
    if (search) {
      q = q.where((eb) => eb.or([contains('name', search), contains('description', search)]));
    }
    if (type) q = q.where('type', '=', type);
    if (ids) q = ids.length === 0 ? q.where(sql<boolean>`1 = 0`) : q.where('id', 'in', [...ids]);
    return q;
  }

  async list(filter: RoleFilter, { offset, limit }: { offset: number; limit: number }) {
    const rows = await this.filtered(filter).selectAll().orderBy('created_at').orderBy('id').offset(offset).limit(limit).execute();
    return rows.map(toRole);
  }

  async count(filter: RoleFilter) {
    const r = await this.filtered(filter).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async update(id: string, patch: Partial<Pick<RoleRecord, 'name' | 'description' | 'isDefault'>>) {
    const values: Partial<RolesTable> = {};
    if (patch.name !== undefined) values.name = patch.name;
    if (patch.description !== undefined) values.description = patch.description;
    if (patch.isDefault !== undefined) values.is_default = patch.isDefault ? 1 : 0;
    if (Object.keys(values).length > 0) {
      try {
        await this.db.updateTable('roles').set(values).where('id', '=', id).execute();
      } catch (error) {
        if (isUniqueViolation(error)) return 'taken' as const;
        throw error;
      }
    }
    return this.findById(id);
  }

  async delete(id: string) {
    const r = await this.db.deleteFrom('roles').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async addScopes(roleId: string, scopeIds: readonly string[], at: number) {
    if (scopeIds.length === 0) return;
    await this.db
      .insertInto('role_scopes')
      .values([...new Set(scopeIds)].map((scope_id) => ({ role_id: roleId, scope_id, created_at: at })))
      .onConflict((oc) => oc.columns(['role_id', 'scope_id']).doNothing())
      .execute();
  }

  async removeScope(roleId: string, scopeId: string) {
    const r = await this.db.deleteFrom('role_scopes').where('role_id', '=', roleId).where('scope_id', '=', scopeId).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  private scopesOfRole(roleId: string, search: string | undefined) {
    let q = this.db.selectFrom('role_scopes as rs').innerJoin('resource_scopes as s', 's.id', 'rs.scope_id').where('rs.role_id', '=', roleId);
    if (search) q = q.where(contains('s.name', search));
    return q;
  }

  async listScopes(roleId: string, { offset, limit, search }: NamedPage) {
    const rows = await this.scopesOfRole(roleId, search).selectAll('s').orderBy('rs.created_at').orderBy('s.id').offset(offset).limit(limit).execute();
    return rows.map(toScope);
  }

  async countScopes(roleId: string, search?: string) {
    const r = await this.scopesOfRole(roleId, search).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async addUsers(roleId: string, userIds: readonly string[], at: number) {
    if (userIds.length === 0) return;
    await this.db
      .insertInto('user_roles')
      .values([...new Set(userIds)].map((user_id) => ({ user_id, role_id: roleId, created_at: at })))
      .onConflict((oc) => oc.columns(['user_id', 'role_id']).doNothing())
      .execute();
  }

  async removeUser(roleId: string, userId: string) {
    const r = await this.db.deleteFrom('user_roles').where('role_id', '=', roleId).where('user_id', '=', userId).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async listUserIds(roleId: string, { offset, limit }: { offset: number; limit: number }) {
    const rows = await this.db
      .selectFrom('user_roles')
      .select('user_id')
      .where('role_id', '=', roleId)
      .orderBy('created_at', 'desc')
      .orderBy('user_id', 'desc')
      .offset(offset)
      .limit(limit)
      .execute();
    return rows.map((r) => r.user_id);
  }

  async countUsers(roleId: string) {
    const r = await this.db.selectFrom('user_roles').where('role_id', '=', roleId).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async listUserRoles(userId: string) {
    const rows = await this.db.selectFrom('user_roles as ur').innerJoin('roles as r', 'r.id', 'ur.role_id').selectAll('r').where('ur.user_id', '=', userId).orderBy('ur.created_at').orderBy('r.id').execute();
    return rows.map(toRole);
  }

  async replaceUserRoles(userId: string, roleIds: readonly string[], at: number) {
    let del = this.db.deleteFrom('user_roles').where('user_id', '=', userId);
    if (roleIds.length > 0) del = del.where('role_id', 'not in', [...roleIds]);
    await del.execute();
    for (const roleId of new Set(roleIds)) await this.addUsers(roleId, [userId], at);
  }

  async addDefaultRoles(userId: string, at: number) {
    await sql`insert into user_roles (user_id, role_id, created_at)
      select ${userId}, id, ${at} from roles where is_default = 1 and type = 'User'
      on conflict do nothing`.execute(this.db);
  }

  async addApplications(roleId: string, applicationIds: readonly string[], at: number) {
    if (applicationIds.length === 0) return;
    await this.db
      .insertInto('application_roles')
      .values([...new Set(applicationIds)].map((application_id) => ({ application_id, role_id: roleId, created_at: at })))
      .onConflict((oc) => oc.columns(['application_id', 'role_id']).doNothing())
      .execute();
  }

  async removeApplication(roleId: string, applicationId: string) {
    const r = await this.db.deleteFrom('application_roles').where('role_id', '=', roleId).where('application_id', '=', applicationId).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async listApplicationIds(roleId: string, { offset, limit }: { offset: number; limit: number }) {
    const rows = await this.db
      .selectFrom('application_roles')
      .select('application_id')
      .where('role_id', '=', roleId)
      .orderBy('created_at', 'desc')
      .orderBy('application_id', 'desc')
      .offset(offset)
      .limit(limit)
      .execute();
    return rows.map((r) => r.application_id);
  }

  async countApplications(roleId: string) {
    const r = await this.db.selectFrom('application_roles').where('role_id', '=', roleId).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async listApplicationRoles(applicationId: string) {
    const rows = await this.db
      .selectFrom('application_roles as ar')
      .innerJoin('roles as r', 'r.id', 'ar.role_id')
      .selectAll('r')
      .where('ar.application_id', '=', applicationId)
      .orderBy('ar.created_at')
      .orderBy('r.id')
      .execute();
    return rows.map(toRole);
  }

  async replaceApplicationRoles(applicationId: string, roleIds: readonly string[], at: number) {
    let del = this.db.deleteFrom('application_roles').where('application_id', '=', applicationId);
    if (roleIds.length > 0) del = del.where('role_id', 'not in', [...roleIds]);
    await del.execute();
    for (const roleId of new Set(roleIds)) await this.addApplications(roleId, [applicationId], at);
  }

  /**
   * The names of the permissions of `resourceId` held through the subject's roles, aggregated in the
   * database into one text (names separated by U+001F, which a scope token cannot contain, possibly
   * repeated when two roles hold one): token issuance reads one row however many permissions there are
   * (issue 18: 50 permission rows cost as much CPU as the rest of the query).
   */
  private heldScopes(kind: 'user' | 'application') {
    return prepared(
      () => this.db,
      (subjectId: string, resourceId: string) => {
        // Built at the first query (the store's fields are set by then); Kysely compiles `$1` for PostgreSQL.
        const postgres = sql`${0}`.compile(this.db).sql === '$1';
        const names = postgres ? sql<string | null>`string_agg(s.name, chr(31))` : sql<string | null>`group_concat(s.name, char(31))`;
        return kind === 'user'
          ? this.db
              .selectFrom('user_roles as ur')
              .innerJoin('role_scopes as rs', 'rs.role_id', 'ur.role_id')
              .innerJoin('resource_scopes as s', 's.id', 'rs.scope_id')
              .select(names.as('names'))
              .where('ur.user_id', '=', subjectId)
              .where('s.resource_id', '=', resourceId)
          : this.db
              .selectFrom('application_roles as ar')
              .innerJoin('role_scopes as rs', 'rs.role_id', 'ar.role_id')
              .innerJoin('resource_scopes as s', 's.id', 'rs.scope_id')
              .select(names.as('names'))
              .where('ar.application_id', '=', subjectId)
              .where('s.resource_id', '=', resourceId);
      },
    );
  }

  private readonly userHeld = this.heldScopes('user');
  private readonly applicationHeld = this.heldScopes('application');

  /** The distinct names of one aggregated row of {@link heldScopes}. */
  private static namesOf(rows: Array<{ names: string | null }>): string[] {
    const text = rows[0]?.names;
    return text ? [...new Set(text.split('\u001f'))] : [];
  }

  async userScopeNames(userId: string, resourceId: string) {
    return KyselyRoleStore.namesOf(await this.userHeld(userId, resourceId));
  }


  async userGrants(userId: string) {
    const rows = await this.db
      .selectFrom('user_roles as ur')
      .innerJoin('role_scopes as rs', 'rs.role_id', 'ur.role_id')
      .innerJoin('resource_scopes as s', 's.id', 'rs.scope_id')
      .innerJoin('resources as r', 'r.id', 's.resource_id')
      .select([
        'ur.role_id as role_id',
        's.id as scope_id',
        's.resource_id as scope_resource_id',
        's.name as scope_name',
        's.description as scope_description',
        's.created_at as scope_created_at',
        'r.id as resource_id',
        'r.name as resource_name',
        'r.indicator as resource_indicator',
        'r.access_token_ttl as resource_ttl',
        'r.is_default as resource_is_default',
        'r.created_at as resource_created_at',
      ])
      .where('ur.user_id', '=', userId)
      .orderBy('r.created_at')
      .orderBy('s.created_at')
      .execute();
    return rows.map((r) => ({
      roleId: r.role_id,
      scope: toScope({ id: r.scope_id, resource_id: r.scope_resource_id, name: r.scope_name, description: r.scope_description, created_at: r.scope_created_at }),
      resource: toResource({
        id: r.resource_id,
        name: r.resource_name,
        indicator: r.resource_indicator,
        access_token_ttl: r.resource_ttl,
        is_default: r.resource_is_default,
        created_at: r.resource_created_at,
      }),
    }));
  }

  private readonly version = prepared(
    () => this.db,
    () => this.db.selectFrom('row_counts').select('n').where('table_name', '=', 'authorization_version'),
  );

  async authorizationVersion() {
    return Number((await this.version())[0]?.n ?? 0);
  }

  async applicationScopeNames(applicationId: string, resourceId: string) {
    return KyselyRoleStore.namesOf(await this.applicationHeld(applicationId, resourceId));
  }
}
