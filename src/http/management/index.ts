import type { FastifyPluginAsync } from 'fastify';
import type { AccountCenterService } from '../../domain/account/center.js';
import type { AccountService } from '../../domain/account/index.js';
import type { ApplicationService } from '../../domain/applications/index.js';
import type { IdentityService } from '../../domain/social/identities.js';
import type { SubjectTokenService } from '../../domain/applications/impersonation.js';
import type { PersonalAccessTokenService } from '../../domain/applications/personal-access-tokens.js';
import type { SessionService } from '../../domain/sessions/index.js';
import type { UserService } from '../../domain/users/index.js';
import type { Limiter } from '../../util/rate-limit.js';
import type { ManagementAuthorizer, ManagementCaller } from '../principal.js';
import { managementAccountCenterRoutes } from './account-center.js';
import { managementApplicationRoutes } from './applications.js';
import { managementIdentityRoutes } from './identities.js';
import { managementTokenRoutes } from './tokens.js';
import { managementUserRoutes } from './users.js';
import type { CredentialService } from '../../domain/credentials/index.js';
import { managementConnectorRoutes } from './connectors.js';
import type { SocialService } from '../../domain/social/index.js';
import { managementCustomFieldRoutes } from './custom-fields.js';
import type { CustomFieldService } from '../../domain/account/custom-fields.js';
import { managementMfaRoutes } from './mfa.js';
import { installErrorDialect } from '../errors.js';
import { LOGTO_MANAGEMENT_ERRORS } from './errors.js';
import type { MfaService } from '../../domain/mfa/index.js';
import type { SignInPreferenceService } from '../../domain/account/preferences.js';
import { type ManagementHookOptions, managementHookRoutes } from './hooks.js';
import type { AuditLog } from '../../domain/audit/index.js';
import { noteApplication } from '../../domain/events/context.js';
import type { AuthorizationService } from '../../domain/authorization/index.js';
import { managementAuthorizationRoutes } from './authorization.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set on Management API requests once their token is verified. */
    managementCaller?: ManagementCaller;
  }
}

/** What the Management API surface needs. */
export interface ManagementOptions {
  authorize: ManagementAuthorizer;
  /** Requests per client per window (issue 4: 200 per 10 s). */
  limiter: Pick<Limiter, 'consume'>;
  users: UserService;
  /** Password changes (`PATCH /users/:userId/password`). */
  credentials: CredentialService;
  sessions: SessionService;
  applications: ApplicationService;
  /** Third-party identities of users (list, unlink). */
  identities: IdentityService;
  /** Account-center settings. */
  accountCenter: AccountCenterService;
  /** A user's connected applications (OAuth grants: `/api/users/:userId/grants`). */
  grants: Pick<AccountService, 'listGrants' | 'revokeGrant'>;
  /** Personal access tokens of users. */
  personalAccessTokens: PersonalAccessTokenService;
  /** Impersonation subject tokens. */
  subjectTokens: SubjectTokenService;
  /** Social connectors (`/api/connectors`); absent = no connector routes. */
  social?: SocialService;
  /** Typed custom-field definitions (`/api/custom-fields`, issue 6); absent = no such routes. */
  customFields?: CustomFieldService;
  /** MFA factors of users (`/api/users/:userId/mfa-verifications`); absent = no such routes. */
  mfa?: MfaService;
  /** Users' sign-in preferences (`/api/users/:userId/logto-configs`); absent = no such routes. */
  preferences?: SignInPreferenceService;
  /** Webhooks and the audit log (`/api/hooks`, `/api/logs`); absent = no such routes. */
  hooks?: Omit<ManagementHookOptions, 'publicUrl'>;
  /** API resources, permissions and roles (`/api/resources…`, `/api/roles…`, `/api/users/:userId/roles…`, `/api/applications/:applicationId/roles…`); absent = no such routes. */
  authorization?: AuthorizationService;
  /** Where every change an administrator made is recorded (`ManagementApi.Change`); absent = log lines only. */
  audit?: AuditLog;
  publicUrl: string;
}

/**
 * The Management API (Logto's shape and error codes, seed 001): every route requires a Management API access token
 * (JWT for resource `<publicUrl>/api` with scope `all`, obtained by an M2M app with
 * `client_credentials`), and each client is rate-limited.
 *
 * Audit trail (ASVS 16.2.1, 16.3.2): once a token is verified, every log line of the request carries
 * the calling application (`clientId`), and every change that succeeded (a method other than GET/HEAD
 * answered below 400) writes one `info` line `management change` with `{clientId, method, route,
 * params, status}` — the route pattern and its path parameters (ids), never a body, so no value or
 * secret reaches the log; the same facts are written to the audit log (`ManagementApi.Change`, read through
 * `GET /api/logs`) before the answer is sent.
 */
export const managementRoutes: FastifyPluginAsync<ManagementOptions> = async (app, options) => {
  // Errors leave in Logto's codes and statuses (errors.ts); the domain keeps ours.
  installErrorDialect(app, LOGTO_MANAGEMENT_ERRORS);
  app.addHook('onRequest', async (request, reply) => {
    request.managementCaller = await options.authorize(request);
    noteApplication(request.managementCaller.applicationId);
    const log = request.log.child({ clientId: request.managementCaller.applicationId });
    request.log = log;
    reply.log = log;
    await options.limiter.consume(request.managementCaller.applicationId);
  });
  // Before the answer leaves (onSend: its status is final), so that a client reading `GET /api/logs` right
  // after its change finds it. A failure to record is logged; it does not turn a committed change into an error.
  app.addHook('onSend', async (request, reply, payload) => {
    if (!request.managementCaller || request.method === 'GET' || request.method === 'HEAD' || reply.statusCode >= 400) return payload;
    request.log.info(
      { audit: { clientId: request.managementCaller.applicationId, method: request.method, route: request.routeOptions.url, params: request.params, status: reply.statusCode } },
      'management change',
    );
    try {
      await options.audit?.record({
        key: 'ManagementApi.Change',
        applicationId: request.managementCaller.applicationId,
        details: { method: request.method, matchedRoute: request.routeOptions.url, params: request.params, status: reply.statusCode },
      });
    } catch (error) {
      request.log.error({ err: error }, 'could not record a management change in the audit log');
    }
    return payload;
  });
  await app.register(managementUserRoutes, {
    users: options.users,
    credentials: options.credentials,
    sessions: options.sessions,
    identities: options.identities,
    grants: options.grants,
    publicUrl: options.publicUrl,
  });
  await app.register(managementApplicationRoutes, { applications: options.applications, publicUrl: options.publicUrl });
  await app.register(managementIdentityRoutes, { users: options.users, identities: options.identities, ...(options.social ? { social: options.social } : {}) });
  await app.register(managementAccountCenterRoutes, { accountCenter: options.accountCenter });
  await app.register(managementTokenRoutes, { personalAccessTokens: options.personalAccessTokens, subjectTokens: options.subjectTokens });
  if (options.social) await app.register(managementConnectorRoutes, { social: options.social });
  if (options.customFields) await app.register(managementCustomFieldRoutes, { customFields: options.customFields });
  if (options.hooks) await app.register(managementHookRoutes, { ...options.hooks, publicUrl: options.publicUrl });
  if (options.organizations) await app.register((await import('./organizations.js')).managementOrganizationRoutes, { organizations: options.organizations, users: options.users, identities: options.identities, applications: options.applications, publicUrl: options.publicUrl });
  if (options.authorization) await app.register(managementAuthorizationRoutes, { authorization: options.authorization, users: options.users, identities: options.identities, applications: options.applications, publicUrl: options.publicUrl });
  if (options.mfa) await app.register(managementMfaRoutes, { users: options.users, mfa: options.mfa, ...(options.preferences ? { preferences: options.preferences } : {}) });
};
