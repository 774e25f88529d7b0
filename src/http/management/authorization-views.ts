import { LOGTO_TENANT_ID } from '../logto-views.js';
import { z } from 'zod';
import type { ApplicationService } from '../../domain/applications/index.js';
import type { AuthorizationService, ResourceRecord, RoleRecord, ScopeRecord } from '../../domain/authorization/index.js';
import type { IdentityService } from '../../domain/social/identities.js';
import type { UserService } from '../../domain/users/index.js';
import { AppError } from '../../errors/index.js';
import { pageWindow, paginationQuery } from '../pagination.js';
import { errorSchema } from '../schemas.js';

/**
 * Logto's shapes of the authorization entities (API resources, permissions, roles; @logto/schemas
 * `Resources`, `Scopes`, `Roles`) and its list parameters, shared by the Management API's resource routes
 * (authorization.ts) and role routes (roles.ts).
 */

/** What the Management API's authorization routes need (`/api/resources…`, `/api/roles…`, `/api/users/:userId/roles…`, `/api/applications/:applicationId/roles…`). */
export interface ManagementAuthorizationOptions {
  authorization: AuthorizationService;
  /** The users of a role (Logto's user view). */
  users: Pick<UserService, 'findById'>;
  /** The identities map of the user view. */
  identities: Pick<IdentityService, 'listMany'>;
  /** The applications of a role (Logto's application view). */
  applications: Pick<ApplicationService, 'require'>;
  publicUrl: string;
}

/** The client-error answer every route documents. */
export const errors = { '4xx': errorSchema };
/** Every route needs a Management API token. */
export const security = [{ managementToken: [] }];
/** An entity id in a path. */
export const pathId = z.string().min(1).max(64);
/** Logto's single tenant of an OSS install. */
export const TENANT = LOGTO_TENANT_ID;

/** An API resource in Logto's shape (`Resources` of @logto/schemas); `accessTokenTtl` in seconds. */
export const resourceSchema = z
  .object({
    tenantId: z.string(),
    id: z.string(),
    name: z.string(),
    indicator: z.string().describe('The resource indicator (RFC 8707): an absolute URI, the `resource` of token requests and the `aud` of its tokens'),
    isDefault: z.boolean().describe('Logto\'s default resource (at most one)'),
    accessTokenTtl: z.number().describe('Lifetime of its access tokens, seconds'),
  })
  .meta({ id: 'Resource' });

/** A permission of a resource in Logto's shape (`Scopes`); `createdAt` in ms since the epoch. */
export const scopeSchema = z
  .object({
    tenantId: z.string(),
    id: z.string(),
    resourceId: z.string(),
    name: z.string().describe('An OAuth scope token (no spaces), unique within its resource'),
    description: z.string().nullable(),
    createdAt: z.number().describe('ms since the epoch'),
  })
  .meta({ id: 'Scope' });

/** A resource with its permissions (Logto's `ResourceResponse`). */
export const resourceWithScopesSchema = resourceSchema.extend({ scopes: z.array(scopeSchema) }).meta({ id: 'ResourceWithScopes' });

/** A role in Logto's shape (`Roles`). */
export const roleSchema = z
  .object({
    tenantId: z.string(),
    id: z.string(),
    name: z.string(),
    description: z.string(),
    type: z.enum(['User', 'MachineToMachine']).describe('User roles go to users, MachineToMachine roles to machine-to-machine applications'),
    isDefault: z.boolean().describe('Given to every new user (User roles only)'),
  })
  .meta({ id: 'Role' });

/** A resource record in Logto's shape. */
export function resourceWire(r: ResourceRecord): z.infer<typeof resourceSchema> {
  return { tenantId: TENANT, id: r.id, name: r.name, indicator: r.indicator, isDefault: r.isDefault, accessTokenTtl: r.accessTokenTtl };
}

/** A permission record in Logto's shape. */
export function scopeWire(s: ScopeRecord): z.infer<typeof scopeSchema> {
  return { tenantId: TENANT, id: s.id, resourceId: s.resourceId, name: s.name, description: s.description, createdAt: s.createdAt };
}

/** A role record in Logto's shape. */
export function roleWire(r: RoleRecord): z.infer<typeof roleSchema> {
  return { tenantId: TENANT, id: r.id, name: r.name, description: r.description, type: r.type, isDefault: r.isDefault };
}

/** `page` and `page_size` both optional: Logto's "optional pagination" (neither given → the whole list, no `Total-Number`). */
export const optionalPaginationQuery = {
  page: z.coerce.number().int().min(1).optional().describe('Page number, from 1 (with neither page nor page_size: the whole list, no Total-Number)'),
  page_size: z.coerce.number().int().min(1).max(100).optional().describe('Items per page (1–100, default 20 when page is given)'),
};

/** The most rows an unpaginated list answers (Logto's optional pagination off). */
export const WHOLE_LIST = 10_000;

/** A 400 `request.invalid` naming one search query parameter (sent as Logto's `request.invalid_input`, errors.ts). */
function badSearch(name: string, message: string): AppError {
  return new AppError('request.invalid', { data: { issues: [{ path: `query.${name}`, code: 'custom', message }] } });
}

/**
 * Reads Logto's "advanced search" parameters (logto-io/logto `utils/search.ts`) as the one substring the
 * domain's lists take: `search` or `search.<field>` for a field of `fields`, in mode `like` (the default),
 * case-insensitive. The `%` wildcards Logto's clients write around the value (`search=%admin%`) are
 * stripped; the rest is matched as a plain substring (so `search=admin` matches `superadmin` too, where
 * Logto's `like` without `%` wants the whole value). Modes `exact`, `similar_to`, `posix`, a
 * case-sensitive search and other fields are refused.
 * @returns the substring, or undefined for no search
 * @throws AppError `request.invalid` naming the parameter (Logto's 400 `request.invalid_input`)
 */
export function parseSearch(query: Record<string, unknown>, fields: readonly string[]): string | undefined {
  let found: string | undefined;
  for (const [key, raw] of Object.entries(query)) {
    const values = Array.isArray(raw) ? raw.map(String) : [String(raw)];
    if (key === 'search' || key.startsWith('search.')) {
      const field = key.slice('search.'.length);
      if (key !== 'search' && !fields.includes(field)) throw badSearch(key, `Search field \`${field}\` is not valid, expect one of ${fields.join(', ')}.`);
      if (values.length !== 1) throw badSearch(key, 'Give one search value.');
      if (values[0] === '') throw badSearch(key, 'Search value cannot be empty.');
      if (found !== undefined) throw badSearch(key, 'Give one search parameter.');
      found = values[0]!.replace(/^%+|%+$/g, '');
    } else if (key === 'mode' || key.startsWith('mode.')) {
      if (values.some((v) => v !== 'like')) throw badSearch(key, 'Only the like mode is supported.');
    } else if (key === 'isCaseSensitive') {
      if (values.some((v) => v !== 'false')) throw badSearch(key, 'Only case-insensitive search is supported.');
    } else if (key === 'joint' || key === 'jointMode') {
      if (values.some((v) => v !== 'or' && v !== 'and')) throw badSearch(key, 'Joint must be or or and.');
    }
  }
  return found === '' ? undefined : found;
}

/** One page of `items` (a slice, for lists the domain answers whole). */
export function slicePage<T>(items: readonly T[], page: number, pageSize: number): T[] {
  const { offset, limit } = pageWindow(page, pageSize);
  return items.slice(offset, offset + limit);
}

/** A page request with a search: Logto's mandatory pagination (page default 1, page_size default 20) and `search`. */
export const searchablePageQuery = {
  ...paginationQuery,
  search: z.string().optional().describe("Substring of the name (Logto's advanced search: `search` or `search.name`, mode like; surrounding `%` are ignored)"),
};

