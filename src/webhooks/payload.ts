import type { StoredEvent } from '../domain/events/index.js';
import { INTERACTION_EVENTS } from '../domain/events/index.js';
import { logtoPhoneOut, toLogtoIdentities } from '../http/logto-views.js';

/**
 * Logto's webhook payloads (logto-io/logto `packages/core/src/libraries/hook/index.ts` and
 * `context-manager.ts`), rendered from the neutral event the outbox stored. Times: `createdAt` is an ISO
 * 8601 string (Logto's), the user's times are ms since the epoch.
 *
 * - Interaction events: `{event, interactionEvent, createdAt, sessionId, userAgent, userId, userIp, user,
 *   application?, hookId}`.
 * - Data events: `{event, createdAt, userAgent, ip, application?, path?, method?, matchedRoute?, params?,
 *   data, hookId}` — `path`/`method`/`matchedRoute`/`params` only when a Management API call caused the
 *   change (an application is the caller), with the `/api` prefix left out, as Logto's router sees them.
 */

/** The application fields a payload names (Logto's `{id, type, name, description}`). */
export interface PayloadApplication {
  id: string;
  type: string;
  name: string;
  description: string | null;
}

/** Logto's `userInfoSelectFields` of a user snapshot: no password hash, phones digits only. */
function userInfo(event: StoredEvent): Record<string, unknown> | undefined {
  if (!event.user) return undefined;
  const { user, identities } = event.user;
  return {
    id: user.id,
    username: user.username,
    primaryEmail: user.primaryEmail,
    primaryPhone: logtoPhoneOut(user.primaryPhone),
    name: user.name,
    avatar: user.avatar,
    customData: user.customData,
    identities: toLogtoIdentities(identities),
    lastSignInAt: user.lastSignInAt,
    createdAt: user.createdAt,
    updatedAt: user.updatedAt,
    profile: user.profile,
    applicationId: null,
    isSuspended: user.isSuspended,
  };
}

/**
 * The `data` of an entity event: Logto's role (`{id, name, description, type, isDefault}`) or scope
 * (`{id, resourceId, name, description, createdAt}`) of a `Role.*` / `Scope.*` event; its organization
 * (`{id, name, description, customData, isMfaRequired, createdAt}`), organization role (`{id, name,
 * description, type}`) or organization scope (`{id, name, description}`) of an `Organization*.*` event.
 * Membership and role-scope events carry no data (their ids are top-level keys, {@link entityKeys}).
 */
function entityInfo(event: StoredEvent): Record<string, unknown> | undefined {
  const entity = event.entity;
  if (!entity) return undefined;
  switch (entity.kind) {
    case 'role': {
      const { id, name, description, type, isDefault } = entity.role;
      return { id, name, description, type, isDefault };
    }
    case 'scope': {
      const { id, resourceId, name, description, createdAt } = entity.scope;
      return { id, resourceId, name, description, createdAt };
    }
    case 'organization': {
      const { id, name, description, customData, isMfaRequired, createdAt } = entity.organization;
      return { id, name, description, customData, isMfaRequired, createdAt };
    }
    case 'organizationRole': {
      const { id, name, description, type } = entity.role;
      return { id, name, description, type };
    }
    case 'organizationScope': {
      const { id, name, description } = entity.scope;
      return { id, name, description };
    }
    default:
      return undefined;
  }
}

/**
 * Logto's event-specific top-level keys: `organizationId` and the membership delta (`addedUserIds`,
 * `removedUserIds`, `addedApplicationIds`, `removedApplicationIds`, each at most 5000 ids, Logto's
 * `MEMBERSHIP_DELTA_CAP`) of `Organization.Membership.Updated`; `organizationRoleId` of
 * `OrganizationRole.Scopes.Updated`.
 */
function entityKeys(event: StoredEvent): Record<string, unknown> {
  const entity = event.entity;
  if (entity?.kind === 'organizationRoleScopes') return { organizationRoleId: entity.organizationRoleId };
  if (entity?.kind !== 'organizationMembership') return {};
  const keys: Record<string, unknown> = { organizationId: entity.organizationId };
  for (const name of ['addedUserIds', 'removedUserIds', 'addedApplicationIds', 'removedApplicationIds'] as const) {
    const ids = entity[name];
    if (ids && ids.length > 0) keys[name] = ids.slice(0, 5000);
  }
  return keys;
}

const INTERACTION_OF: Record<string, string> = { PostRegister: 'Register', PostSignIn: 'SignIn', PostResetPassword: 'ForgotPassword' };

/**
 * The payload of one delivery of `event` to hook `hookId`.
 * @param application the caller's application, when the event's context names one that exists
 */
export function renderPayload(event: StoredEvent, hookId: string, application: PayloadApplication | undefined): Record<string, unknown> {
  const createdAt = new Date(event.at).toISOString();
  const context = event.context;
  const app = application ? { application } : {};
  if ((INTERACTION_EVENTS as readonly string[]).includes(event.event)) {
    return {
      event: event.event,
      interactionEvent: event.interaction ?? INTERACTION_OF[event.event] ?? 'SignIn',
      createdAt,
      ...(event.sessionId ? { sessionId: event.sessionId } : {}),
      ...(context.userAgent ? { userAgent: context.userAgent } : {}),
      ...(event.userId ? { userId: event.userId } : {}),
      ...(context.ip ? { userIp: context.ip } : {}),
      ...(event.user ? { user: userInfo(event) } : {}),
      ...app,
      hookId,
    };
  }
  // As Logto: the call's route only when a Management API caller (an application) made the change.
  const route =
    context.applicationId && context.method && context.path && context.matchedRoute?.startsWith('/api/')
      ? {
          path: context.path.replace(/^\/api(?=\/)/, ''),
          method: context.method,
          matchedRoute: context.matchedRoute.replace(/^\/api(?=\/)/, ''),
          params: context.params,
        }
      : {};
  return {
    event: event.event,
    createdAt,
    ...(context.userAgent ? { userAgent: context.userAgent } : {}),
    ...(context.ip ? { ip: context.ip } : {}),
    ...app,
    ...route,
    ...entityKeys(event),
    data: userInfo(event) ?? entityInfo(event) ?? null,
    hookId,
  };
}
