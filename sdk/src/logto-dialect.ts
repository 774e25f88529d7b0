import { TesseraError, type TesseraErrorCode } from './errors.js';
import type { Application } from './management.js';

/**
 * The Management API answers in Logto's error codes (so Logto back ends work unchanged; server table
 * `src/http/management/errors.ts`). {@link ManagementClient} turns them back into Tessera's stable codes
 * with this table, so callers `switch` on one code list whatever the surface. `status` stays the answer's
 * own (e.g. 422 for a taken username, where the native surfaces say 409).
 */
const FROM_LOGTO: Readonly<Record<string, TesseraErrorCode>> = {
  'guard.invalid_input': 'request.invalid',
  'guard.invalid_pagination': 'request.invalid',
  'request.invalid_input': 'request.invalid',
  'entity.invalid_input': 'request.empty_update',
  'user.username_already_in_use': 'user.username_taken',
  'user.email_already_in_use': 'user.email_taken',
  'user.phone_already_in_use': 'user.phone_taken',
  'user.identity_already_in_use': 'identity.already_linked',
  'user.personal_access_token_name_exists': 'personal_access_token.name_taken',
  'session.invalid_credentials': 'user.password_mismatch',
  'verification_code.code_mismatch': 'verification.code_mismatch',
  'verification_code.expired': 'verification.code_expired',
  'verification_code.exceed_max_try': 'verification.too_many_attempts',
  'request.message_rate_limited': 'verification.resend_too_soon',
  'hook.missing_events': 'hook.events_required',
  'hook.endpoint_responded_with_error': 'hook.endpoint_error',
  'hook.send_test_payload_failed': 'hook.test_failed',
  // API resources, permissions and roles (issue 18).
  'resource.resource_identifier_in_use': 'resource.indicator_taken',
  'resource.cannot_modify_management_api': 'resource.management_api_read_only',
  'resource.cannot_delete_management_api': 'resource.management_api_read_only',
  'scope.name_with_space': 'scope.invalid_name',
  'scope.name_exists': 'scope.name_taken',
  'role.name_in_use': 'role.name_taken',
  'role.scope_exists': 'role.scope_already_granted',
  'role.user_exists': 'role.already_held',
  'role.application_exists': 'role.already_held',
  'user.invalid_role_type': 'role.type_mismatch',
  'application.invalid_role_type': 'role.type_mismatch',
  'entity.db_constraint_violated': 'role.type_mismatch',
  'role.management_api_scopes_not_assignable_to_user_role': 'role.management_scope_for_user_role',
  'application.invalid_type': 'application.roles_need_machine_to_machine',
};

/**
 * The Account and Verification APIs' Logto codes that mean something else there than on the Management
 * API (src/http/account/errors.ts): the password proof, a used code, kept provider tokens.
 */
const FROM_LOGTO_ACCOUNT: Readonly<Record<string, TesseraErrorCode>> = {
  ...FROM_LOGTO,
  'session.invalid_credentials': 'auth.invalid_credentials',
  'user.suspended': 'auth.user_suspended',
  'verification_code.not_found': 'verification.already_used',
  'entity.not_found': 'user.not_found',
  'secrets.third_party_token_set.token_not_found': 'identity.token_not_found',
  'secrets.third_party_token_set.access_token_expired': 'identity.token_expired',
  'verification_record.social_verification.invalid_target': 'identity.target_mismatch',
  'user.identity_not_exists_in_current_user': 'identity.not_linked_to_user',
  'verification_record.social_verification.token_response_not_found': 'identity.no_token_response',
};

/**
 * An error of the Account or Verification API with Tessera's code in place of Logto's (see
 * {@link fromLogtoDialect} for the Management API). Anything else is returned as it is.
 */
export function fromAccountDialect(error: unknown, _path: string): unknown {
  if (!(error instanceof TesseraError)) return error;
  const code = FROM_LOGTO_ACCOUNT[error.code];
  if (!code || code === error.code) return error;
  return new TesseraError(code, error.status, error.message, error.data);
}

/** Logto's plural table names in `entity.not_exists_with_id` messages ("The roles with ID `x` does not exist.") → our not-found codes. */
const NOT_FOUND_BY_TABLE: Readonly<Record<string, TesseraErrorCode>> = {
  users: 'user.not_found',
  applications: 'application.not_found',
  resources: 'resource.not_found',
  scopes: 'scope.not_found',
  roles: 'role.not_found',
  hooks: 'hook.not_found',
  logs: 'log.not_found',
};

/**
 * Which entity a Management API not-found answer means: for `entity.not_exists_with_id` the table its
 * message names; else by the path — a role grant (`/users/:id/roles/:roleId`, `/roles/:id/users/:userId` …)
 * that is not there is `role.not_held`, a permission of a role or resource `scope.not_found`.
 */
function notFoundCode(path: string, logtoCode: string, message: string): TesseraErrorCode {
  if (logtoCode === 'entity.not_exists_with_id') {
    const table = /^The (\w+) with ID /.exec(message)?.[1];
    const byTable = table ? NOT_FOUND_BY_TABLE[table] : undefined;
    if (byTable) return byTable;
  }
  const p = path.split('?')[0]!.replace(/^https?:\/\/[^/]+/i, '');
  if (/\/api\/(?:users|applications)\/[^/]+\/roles\/[^/]+$/.test(p) || /\/api\/roles\/[^/]+\/(?:users|applications)\/[^/]+$/.test(p)) return 'role.not_held';
  if (/\/api\/(?:roles|resources)\/[^/]+\/scopes\/[^/]+$/.test(p)) return 'scope.not_found';
  if (/\/api\/users\/[^/]+\/personal-access-tokens\//.test(p)) return 'personal_access_token.not_found';
  if (/\/api\/users(?:\/|$)/.test(p)) return 'user.not_found';
  if (/\/api\/applications(?:\/|$)/.test(p)) return 'application.not_found';
  if (/\/api\/hooks(?:\/|$)/.test(p)) return 'hook.not_found';
  if (/\/api\/logs(?:\/|$)/.test(p)) return 'log.not_found';
  if (/\/api\/resources(?:\/|$)/.test(p)) return 'resource.not_found';
  if (/\/api\/roles(?:\/|$)/.test(p)) return 'role.not_found';
  return 'entity.not_found';
}

/** Logto's not-found codes: `entity.not_found` (a delete or relation miss), `entity.not_exists_with_id` (a find by id), `entity.not_exists` (an update miss). */
const NOT_FOUND_CODES: ReadonlySet<string> = new Set(['entity.not_found', 'entity.not_exists_with_id', 'entity.not_exists']);

/**
 * The Tessera form of a Management API error: Logto's code replaced by ours (see {@link FROM_LOGTO}),
 * Logto's not-found codes by the not-found code of the entity the message or `path` names ({@link notFoundCode});
 * any other error as it is.
 * @param path the request's path (or absolute URL)
 */
export function fromLogtoDialect(error: unknown, path: string): unknown {
  if (!(error instanceof TesseraError)) return error;
  const code = NOT_FOUND_CODES.has(error.code) ? notFoundCode(path, error.code, error.message) : FROM_LOGTO[error.code];
  if (!code || code === error.code) return error;
  return new TesseraError(code, error.status, error.message, code === 'request.invalid' ? asInputIssues(error) : error.data);
}

/**
 * `data` of a Logto input refusal read back as `request.invalid`: the server's `{issues}` when it sent
 * them, else the one refusal as an issue whose `code` is Logto's (`guard.invalid_pagination`, …) and whose
 * `path` is empty (Logto names no field), so `data.issues` is there whatever Tessera code was behind it.
 */
function asInputIssues(error: TesseraError): { issues: Array<{ path: string; code: string; message: string }> } {
  const data = error.data as { issues?: unknown } | undefined;
  if (data && Array.isArray(data.issues)) return data as { issues: Array<{ path: string; code: string; message: string }> };
  return { issues: [{ path: '', code: error.code, message: error.message }] };
}

/**
 * A user as the Management API answers (Logto's shape: phones digits only, an `identities` map) in the
 * SDK's {@link TesseraUser} shape: the phone in E.164 again (`8613800138000` → `+8613800138000`), no
 * `identities`.
 */
export function fromLogtoUser<T extends { primaryPhone: string | null }>(user: T & { identities?: unknown }): T {
  const { identities: _identities, ...rest } = user;
  const phone = rest.primaryPhone;
  return { ...rest, primaryPhone: phone !== null && /^\d+$/.test(phone) ? `+${phone}` : phone } as unknown as T;
}

/** An application as the Management API answers it (Logto's shape plus Tessera's flags). */
export interface LogtoApplicationWire {
  id: string;
  name: string;
  description: string | null;
  type: 'Traditional' | 'SPA' | 'Native' | 'MachineToMachine';
  oidcClientMetadata: { redirectUris: string[]; postLogoutRedirectUris: string[] };
  customClientMetadata: { corsAllowedOrigins?: string[] };
  isThirdParty: boolean;
  isManagement: boolean;
  allowTokenExchange: boolean;
  hasSecret: boolean;
  createdAt: number;
  updatedAt: number;
  secret?: string | null;
}

const APP_TYPE = { Traditional: 'traditional', SPA: 'spa', Native: 'native', MachineToMachine: 'm2m' } as const;

/**
 * An application answer in the SDK's {@link Application} shape: Tessera's type names (`m2m` …) and
 * top-level URI lists; `secret` kept when the answer has one (create, rotate).
 */
export function fromLogtoApplication(app: LogtoApplicationWire): Application & { secret?: string | null } {
  const out: Application & { secret?: string | null } = {
    id: app.id,
    name: app.name,
    description: app.description,
    type: APP_TYPE[app.type],
    redirectUris: app.oidcClientMetadata.redirectUris,
    postLogoutRedirectUris: app.oidcClientMetadata.postLogoutRedirectUris,
    corsOrigins: app.customClientMetadata.corsAllowedOrigins ?? [],
    isManagement: app.isManagement,
    allowTokenExchange: app.allowTokenExchange,
    isThirdParty: app.isThirdParty,
    hasSecret: app.hasSecret,
    createdAt: app.createdAt,
    updatedAt: app.updatedAt,
  };
  if (app.secret !== undefined) out.secret = app.secret;
  return out;
}

export { FROM_LOGTO as LOGTO_TO_TESSERA_CODES };
