import type { FastifyRequest } from 'fastify';
import type { Reauthentication } from '../../domain/sessions/reauthentication.js';
import { type AccountCenterField, type AccountCenterSettings, assertEditable, canRead } from '../../domain/account/center.js';
import { AppError } from '../../errors/index.js';
import { type AccountCaller, assertFirstPartyCaller } from '../principal.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The names of an Account API route's guard steps, in the order they run (see http/account/policy.ts). */
    policy?: readonly string[];
  }
}

/** The header naming an identity-proof verification record (logto.md §1.2). */
export const VERIFICATION_HEADER = 'logto-verification-id';

/** Logto's scope for the sessions and grants routes. */
export const SESSIONS_SCOPE = 'urn:logto:scope:sessions';

/** Logto's scope for identities and MFA factors. */
export const IDENTITIES_SCOPE = 'identities';

/** What the parent hook of the Account API resolved for a request: the caller and the account-center settings. */
export interface AccountContext {
  caller: AccountCaller;
  settings: AccountCenterSettings;
}

/** One named guard of an Account API route (node-oidc-provider style: a route's policy is a list of these). */
export interface GuardStep {
  readonly name: string;
  check(request: FastifyRequest, context: AccountContext): Promise<void> | void;
}

/** Route options that run `steps` in order as the route's preHandler and name them in `config.policy`. */
export interface GuardedRouteOptions {
  preHandler: (request: FastifyRequest) => Promise<void>;
  config: { policy: readonly string[] };
}

/** The guard steps of the Account and Verification APIs, bound to one app. */
export interface AccountPolicy {
  /** The request's caller and settings (set by the parent hook). @throws AppError `auth.unauthorized` when absent */
  context(request: FastifyRequest): AccountContext;
  /** The `logto-verification-id` header, if any. */
  proofId(request: FastifyRequest): string | undefined;
  /**
   * An OIDC token of a third-party (or unknown) client may read but not change (logto.md §1.3).
   * @throws AppError `auth.third_party_application_forbidden` (403)
   */
  readonly firstParty: GuardStep;
  /**
   * The token carries `scope` (session callers hold every scope). Logto answers a missing scope with
   * 401 `auth.unauthorized` on some routes and 400 on others; `missing` names which (`auth.scope_missing`
   * is sent as Logto's 400 by http/account/errors.ts).
   * @throws AppError `auth.unauthorized` (401) or `auth.scope_missing`
   */
  scope(scope: string, missing?: 'auth.unauthorized' | 'auth.scope_missing'): GuardStep;
  /** The field is `ReadOnly` or `Edit`. @throws AppError `account_center.field_not_enabled` (400) */
  readable(field: AccountCenterField): GuardStep;
  /** Each field is `Edit` (the one end-user write rule, domain/account/center.ts). @throws AppError `account_center.field_not_editable` (400) */
  editable(...fields: AccountCenterField[]): GuardStep;
  /**
   * The identity proof of `logto-verification-id` (a password or current-address code record of this
   * user, 10 minutes). @throws AppError `verification_record.permission_denied` (401)
   */
  readonly identityProof: GuardStep;
  /** Logto's conditional identity verification: the proof, unless the user has no way to give one. */
  readonly identityProofIfPossible: GuardStep;
  /** `step`, only for requests that `applies` to (named `step?condition`). */
  when(condition: string, applies: (request: FastifyRequest) => boolean, step: GuardStep): GuardStep;
  /** Route options running `steps` in order, after validation, before the handler. */
  guard(...steps: GuardStep[]): GuardedRouteOptions;
}

/**
 * Builds the guard steps of the Account API.
 * @param contexts where the parent hook keeps each request's {@link AccountContext}
 * @param isThirdPartyClient whether an OAuth client is third-party; unknown clients must answer true
 */
export function accountPolicy(
  contexts: WeakMap<FastifyRequest, AccountContext>,
  reauth: Pick<Reauthentication, 'requireIdentityProof' | 'requireIdentityProofIfPossible'>,
  isThirdPartyClient: (clientId: string) => Promise<boolean>,
): AccountPolicy {
  const context = (request: FastifyRequest) => {
    const found = contexts.get(request);
    if (!found) throw new AppError('auth.unauthorized');
    return found;
  };
  const proofId = (request: FastifyRequest) => {
    const value = request.headers[VERIFICATION_HEADER];
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  return {
    context,
    proofId,
    firstParty: {
      name: 'first-party',
      check: (_request, { caller }) => assertFirstPartyCaller(caller, isThirdPartyClient),
    },
    scope: (scope, missing = 'auth.unauthorized') => ({
      name: `scope:${scope}`,
      check(_request, { caller }) {
        if (!caller.scopes.has(scope)) throw new AppError(missing);
      },
    }),
    readable: (field) => ({
      name: `readable:${field}`,
      check(_request, { settings }) {
        if (!canRead(settings.fields[field])) throw new AppError('account_center.field_not_enabled');
      },
    }),
    editable: (...fields) => ({
      name: `editable:${fields.join(',')}`,
      check(_request, { settings }) {
        assertEditable(settings, ...fields);
      },
    }),
    identityProof: {
      name: 'identity-proof',
      check: (request, { caller }) => reauth.requireIdentityProof(proofId(request), caller.user),
    },
    identityProofIfPossible: {
      name: 'identity-proof-if-possible',
      check: (request, { caller }) => reauth.requireIdentityProofIfPossible(proofId(request), caller.user),
    },
    when: (condition, applies, step) => ({
      name: `${step.name}?${condition}`,
      check: (request, ctx) => (applies(request) ? step.check(request, ctx) : undefined),
    }),
    guard: (...steps) => ({
      async preHandler(request) {
        const ctx = context(request);
        for (const step of steps) await step.check(request, ctx);
      },
      config: { policy: steps.map((s) => s.name) },
    }),
  };
}
