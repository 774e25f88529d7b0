import type { RoleRecord, ScopeRecord } from '../../storage/authorization-store.js';
import type { OrganizationRecord, OrganizationRoleRecord, OrganizationScopeRecord } from '../../storage/organization-store.js';
import type { Store } from '../../storage/store.js';
import type { Clock } from '../../util/clock.js';
import type { IdentityRecord } from '../social/identities.js';
import type { PublicUser } from '../users/public-user.js';
import { type ActivityContext, activityContext } from './context.js';
import { type AuditLog, INTERACTION_LOG_KEY } from '../audit/index.js';

/**
 * Events others may react to (issue 20), named as Logto names its hook events
 * (logto-io/logto `packages/schemas/src/foundations/jsonb-types/hooks.ts`):
 * - interaction events, after a person finished a flow: `PostRegister`, `PostSignIn`, `PostResetPassword`;
 * - data events, after a record changed: `User.Created`, `User.Deleted`, `User.Data.Updated`,
 *   `User.SuspensionStatus.Updated`.
 * Events of records Tessera does not have yet (roles, scopes, organizations) are accepted on a hook so a
 * Logto configuration loads unchanged; they fire once the authorization issue adds those records.
 */
export const INTERACTION_EVENTS = ['PostRegister', 'PostSignIn', 'PostSignInAdaptiveMfaTriggered', 'PostResetPassword'] as const;

/** Every event a hook may subscribe to, in Logto's order (its `hookEvents`). */
export const HOOK_EVENTS = [
  ...INTERACTION_EVENTS,
  'User.Created',
  'User.Deleted',
  'User.Data.Updated',
  'User.SuspensionStatus.Updated',
  'Role.Created',
  'Role.Deleted',
  'Role.Data.Updated',
  'Role.Scopes.Updated',
  'Scope.Created',
  'Scope.Deleted',
  'Scope.Data.Updated',
  'Organization.Created',
  'Organization.Deleted',
  'Organization.Data.Updated',
  'Organization.Membership.Updated',
  'OrganizationRole.Created',
  'OrganizationRole.Deleted',
  'OrganizationRole.Data.Updated',
  'OrganizationRole.Scopes.Updated',
  'OrganizationScope.Created',
  'OrganizationScope.Deleted',
  'OrganizationScope.Data.Updated',
  'Identifier.Lockout',
  'Message.RateLimited',
  'Grant.LimitExceeded',
] as const;

/** A hook event name. */
export type HookEvent = (typeof HOOK_EVENTS)[number];

/** The flow an interaction event ends (Logto's `interactionEvent`). */
export type InteractionKind = 'SignIn' | 'Register' | 'ForgotPassword';

/** The interaction event each flow ends with. */
export const INTERACTION_EVENT_OF: Record<InteractionKind, HookEvent> = {
  SignIn: 'PostSignIn',
  Register: 'PostRegister',
  ForgotPassword: 'PostResetPassword',
};

/** A user as an event carries it: the public fields and the identity records, as they were at the change. */
export interface UserSnapshot {
  user: PublicUser;
  identities: IdentityRecord[];
}

/**
 * One event as the outbox stores it (JSON): neutral, with times in ms. The webhook adapter
 * (src/webhooks/payload.ts) renders it in Logto's payload shape at delivery.
 */
export interface StoredEvent {
  event: HookEvent;
  /** When the change happened, ms since the epoch. */
  at: number;
  /** The user the event is about (deliveries of one user are made in order). */
  userId: string | null;
  /** For interaction events: the flow that ended. */
  interaction?: InteractionKind;
  /** The first-party or OIDC session of a sign-in, when there is one. */
  sessionId?: string | null;
  /** The user as it was after the change (before it, for `User.Deleted`). */
  user?: UserSnapshot;
  /** For `Role.*` and `Scope.*` events: the record as it was after the change (before it, for `*.Deleted`). */
  entity?: EntitySnapshot;
  /** Where the change came from. */
  context: ActivityContext;
}

/**
 * A role, a permission or an organization record as an event carries it (neutral records; times in ms), or
 * what an organization event reports besides: the membership delta of `Organization.Membership.Updated`
 * (Logto's `organizationId`, `addedUserIds`, `removedUserIds`, `addedApplicationIds`, `removedApplicationIds`;
 * empty lists left out) and the role of `OrganizationRole.Scopes.Updated` (`organizationRoleId`).
 */
export type EntitySnapshot =
  | { kind: 'role'; role: RoleRecord }
  | { kind: 'scope'; scope: ScopeRecord }
  | { kind: 'organization'; organization: OrganizationRecord }
  | { kind: 'organizationRole'; role: OrganizationRoleRecord }
  | { kind: 'organizationScope'; scope: OrganizationScopeRecord }
  | { kind: 'organizationRoleScopes'; organizationRoleId: string }
  | {
      kind: 'organizationMembership';
      organizationId: string;
      addedUserIds?: string[];
      removedUserIds?: string[];
      addedApplicationIds?: string[];
      removedApplicationIds?: string[];
    };

/** What a caller tells {@link EventOutbox.emit}. */
export interface EventInput {
  event: HookEvent;
  userId: string | null;
  interaction?: InteractionKind;
  sessionId?: string | null;
  /** Reads the user snapshot; called only when some enabled hook subscribes to the event. */
  snapshot?: () => Promise<UserSnapshot | undefined>;
  /** The role or permission a `Role.*` / `Scope.*` event is about. */
  entity?: EntitySnapshot;
  /** Extra audit details (ids of what was granted or revoked; never a secret). */
  details?: Record<string, unknown>;
}

/**
 * The outbox (DESIGN.md "Events"): {@link emit} writes the event's audit entry and queues one delivery per
 * enabled hook subscribed to the event, in the **ambient transaction** of the change it reports (call it
 * inside `store.transaction` together with the change), so a committed change always has its entry and
 * deliveries and a rolled-back one never does. Nothing is sent here; the delivery worker
 * (src/webhooks/worker.ts) sends them after commit, so no request waits for a receiver.
 */
export class EventOutbox {
  constructor(
    private readonly store: Store,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
  ) {}

  /**
   * Writes the audit entry of `input` (interaction events under Logto's `Interaction.<flow>.Submit`, data
   * events under their own name) and queues it for every enabled hook subscribed to its event (none:
   * nothing is queued and the snapshot is not read).
   * @returns the number of deliveries queued
   */
  async emit(input: EventInput): Promise<number> {
    const context = activityContext();
    await this.audit.record({
      key: INTERACTION_LOG_KEY[input.event] ?? input.event,
      userId: input.userId,
      details: {
        ...input.details,
        ...(input.sessionId ? { sessionId: input.sessionId } : {}),
        ...(context.method && context.matchedRoute ? { method: context.method, matchedRoute: context.matchedRoute } : {}),
      },
    });
    const hooks = await this.store.hooks.listEnabledFor(input.event);
    if (hooks.length === 0) return 0;
    const at = this.clock.now();
    const user = input.snapshot ? await input.snapshot() : undefined;
    const stored: StoredEvent = {
      event: input.event,
      at,
      userId: input.userId,
      ...(input.interaction ? { interaction: input.interaction } : {}),
      ...(input.sessionId !== undefined ? { sessionId: input.sessionId } : {}),
      ...(user ? { user } : {}),
      ...(input.entity ? { entity: input.entity } : {}),
      context: {
        ip: context.ip,
        userAgent: context.userAgent,
        applicationId: context.applicationId,
        method: context.method,
        path: context.path,
        matchedRoute: context.matchedRoute,
        params: { ...context.params },
      },
    };
    context.queued = true;
    const payload = JSON.stringify(stored);
    await this.store.hookJobs.enqueue(hooks.map((h) => ({ hookId: h.id, orderKey: input.userId ?? '', event: input.event, payload, createdAt: at })));
    return hooks.length;
  }
}
