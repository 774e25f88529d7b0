import type { Generated } from 'kysely';

/**
 * Row types of every table, as stored. Timestamps are integers in **milliseconds since the epoch**
 * (`bigint` columns); booleans are `integer` 0/1 on both dialects; JSON is stored as text.
 */
export interface UsersTable {
  id: string;
  username: string | null;
  primary_email: string | null;
  /** Lower-cased `primary_email`, unique: emails are compared case-insensitively. */
  primary_email_key: string | null;
  /** E.164, unique. */
  primary_phone: string | null;
  name: string | null;
  avatar: string | null;
  /** JSON object of OIDC standard claims. */
  profile: string;
  /** JSON object. */
  custom_data: string;
  /** PHC string (argon2id) or a tagged legacy hash; null when the user has no password. */
  password_hash: string | null;
  password_updated_at: number | null;
  email_verified: number;
  phone_verified: number;
  is_suspended: number;
  created_at: number;
  updated_at: number;
  last_sign_in_at: number | null;
  /** 1 when the next password sign-in must set a new password first (migration 0011). */
  password_reset_required?: number;
}

export interface SessionsTable {
  id: string;
  user_id: string;
  /** SHA-256 hex of the bearer token; the token itself is never stored. */
  token_hash: string;
  /** JSON array of authentication methods (RFC 8176 `amr` values such as "pwd", "otp"). */
  amr: string;
  ip: string | null;
  user_agent: string | null;
  created_at: number;
  last_used_at: number;
  expires_at: number;
}

/** Failed sign-in counters per identifier (lockout), shared by every node through the database. */
export interface SignInGuardsTable {
  key: string;
  failures: number;
  window_started_at: number;
  locked_until: number | null;
}

/** Verification records (codes, email links, identity proofs); see domain/verification/index.ts. */
export interface VerificationsTable {
  id: string;
  type: string;
  purpose: string;
  identifier_type: string | null;
  /** Lower-cased email or E.164 phone. */
  identifier: string | null;
  user_id: string | null;
  /** HMAC-SHA256 of the code keyed by the record id; the code itself is never stored. */
  code_hash: string | null;
  /** SHA-256 of the email-link token, unique. */
  link_hash: string | null;
  attempts: number;
  ip: string | null;
  created_at: number;
  expires_at: number;
  verified_at: number | null;
  consumed_at: number | null;
}

/** Third-party identities (LeanCloud authData, social sign-in): unique per (provider, subject) and per (user, provider). */
export interface UserIdentitiesTable {
  user_id: string;
  provider: string;
  /** The provider's stable id of the account (LeanCloud: `uid`, else `openid`, else `id`). */
  subject: string;
  /** JSON object as received from the client or provider. */
  data: string;
  /** 0/1: 1 = written by a social connector or the LeanCloud import, 0 = client-supplied authData (migration 0013). */
  verified: Generated<number>;
  created_at: number;
  updated_at: number;
}

/** The LeanCloud ACL of a `_User` object (JSON); no row = public read, owner write. */
export interface LcUserAclTable {
  user_id: string;
  acl: string;
}

export interface Database {
  users: UsersTable;
  sessions: SessionsTable;
  sign_in_guards: SignInGuardsTable;
  verifications: VerificationsTable;
  user_identities: UserIdentitiesTable;
  lc_user_acl: LcUserAclTable;
  applications: ApplicationsTable;
  oidc_payloads: OidcPayloadsTable;
  oidc_keys: OidcKeysTable;
  personal_access_tokens: PersonalAccessTokensTable;
  subject_tokens: SubjectTokensTable;
  token_exchange_audit: TokenExchangeAuditTable;
  account_center: AccountCenterTable;
  sign_in_preferences: SignInPreferencesTable;
  authing_keys: AuthingKeysTable;
  account_audit: AccountAuditTable;
  hooks: HooksTable;
  hook_jobs: HookJobsTable;
  logs: LogsTable;
  resources: ResourcesTable;
  resource_scopes: ResourceScopesTable;
  roles: RolesTable;
  role_scopes: RoleScopesTable;
  user_roles: UserRolesTable;
  application_roles: ApplicationRolesTable;
  organizations: OrganizationsTable;
  organization_scopes: OrganizationScopesTable;
  organization_roles: OrganizationRolesTable;
  organization_role_scopes: OrganizationRoleScopesTable;
  organization_role_resource_scopes: OrganizationRoleScopesTable;
  organization_users: OrganizationUsersTable;
  organization_user_roles: OrganizationUserRolesTable;
  organization_applications: OrganizationApplicationsTable;
  organization_application_roles: OrganizationApplicationRolesTable;
  organization_invitations: OrganizationInvitationsTable;
  organization_invitation_roles: OrganizationInvitationRolesTable;
  organization_jit_email_domains: OrganizationJitEmailDomainsTable;
  organization_jit_roles: OrganizationJitRolesTable;
  connectors: ConnectorsTable;
  social_sessions: SocialSessionsTable;
  social_token_sets: SocialTokenSetsTable;
  row_counts: RowCountsTable;
  password_reset_tokens: PasswordResetTokensTable;
  password_levels: PasswordLevelsTable;
  custom_fields: CustomFieldsTable;
  captchas: CaptchasTable;
  mfa_factors: MfaFactorsTable;
  mfa_backup_codes: MfaBackupCodesTable;
  mfa_pending_sign_ins: MfaPendingSignInsTable;
  mfa_challenges: MfaChallengesTable;
  mfa_failure_counts: MfaFailureCountsTable;
  passkey_challenges: PasskeyChallengesTable;
}

/** Helper for tables whose column is filled by the database. */
export type Auto<T> = Generated<T>;

/** Row of `applications`. JSON arrays are stored as text. */
export interface ApplicationsTable {
  id: string;
  name: string;
  type: string;
  secret_hash: string | null;
  redirect_uris: string;
  post_logout_redirect_uris: string;
  cors_origins: string;
  allow_token_exchange: number;
  is_third_party: number;
  /** Free text shown to administrators (Logto's `description`), since 0015. */
  description: string | null;
  created_at: number;
  updated_at: number;
}

/** Row of `oidc_payloads`: one node-oidc-provider artefact, payload as JSON text. */
export interface OidcPayloadsTable {
  model: string;
  id: string;
  payload: string;
  grant_id: string | null;
  user_code: string | null;
  uid: string | null;
  account_id: string | null;
  client_id: string | null;
  expires_at: number | null;
  consumed_at: number | null;
}

/** Row of `oidc_keys`. */
export interface OidcKeysTable {
  kid: string;
  kind: string;
  alg: string | null;
  jwk: string;
  created_at: number;
  retired_at: number | null;
}

/** Row of `personal_access_tokens`. */
export interface PersonalAccessTokensTable {
  id: string;
  user_id: string;
  name: string;
  token_hash: string;
  created_at: number;
  expires_at: number | null;
}

/** Row of `subject_tokens`. */
export interface SubjectTokensTable {
  id: string;
  user_id: string;
  token_hash: string;
  /** JSON object. */
  context: string;
  creator_application_id: string;
  created_at: number;
  expires_at: number;
  consumed_at: number | null;
}

/** Row of `token_exchange_audit`. */
export interface TokenExchangeAuditTable {
  id: string;
  at: number;
  application_id: string;
  user_id: string | null;
  token_kind: string;
  token_id: string | null;
  outcome: string;
  resource: string | null;
  scope: string | null;
}

/** Row of `authing_keys` (since 0018): the Authing surface's RSA key pairs, PEM. */
export interface AuthingKeysTable {
  id: string;
  private_pem: string;
  public_pem: string;
  created_at: number;
  retired_at: number | null;
}

/** Row of `sign_in_preferences` (since 0017): a user's own sign-in preferences, JSON text. */
export interface SignInPreferencesTable {
  user_id: string;
  preferences: string;
  updated_at: number;
}

/** The `account_center` table: a single row with id `default`. */
export interface AccountCenterTable {
  id: string;
  /** 0/1: the master switch of the Account API. */
  enabled: number;
  /** JSON object: field name → `Off` | `ReadOnly` | `Edit`. */
  fields: string;
  /** Where users go to delete their account (http(s) URL), since 0016. */
  delete_account_url: string | null;
  /** JSON array of origins allowed to use this server's passkeys (WebAuthn related origins), since 0016. */
  webauthn_related_origins: string;
  updated_at: number;
}

/** Row of `account_audit`. */
export interface AccountAuditTable {
  id: string;
  at: number;
  user_id: string;
  action: string;
  fields: string;
  ip: string | null;
  client_id: string | null;
}

/** The `connectors` table. */
export interface ConnectorsTable {
  id: string;
  /** `oidc` | `oauth2`. */
  type: string;
  /** `github` | `google` | `wechat` | NULL. */
  preset: string | null;
  /** Identity provider name the identities are stored under (`google`, `github`, `weixin`…). */
  target: string;
  name: string;
  /** JSON object (client id and secret, endpoints, scopes, field mapping). */
  config: string;
  /** 0/1. */
  enabled: number;
  /** 0/1 (migration 0021): keep the provider's tokens of each sign-in and link. */
  enable_token_storage: number;
  created_at: number;
  updated_at: number;
}

/** The `social_sessions` table. */
export interface SocialSessionsTable {
  id: string;
  /** `sign_in` | `interaction` | `verification`. */
  kind: string;
  connector_id: string;
  /** SHA-256 hex of the `state` sent to the identity provider. */
  state_hash: string;
  redirect_uri: string;
  /** PKCE verifier (RFC 7636), sent once to the token endpoint. */
  code_verifier: string;
  /** OIDC nonce expected in the ID token. */
  nonce: string;
  /** The OIDC interaction this attempt belongs to (`interaction` kind). */
  interaction_uid: string | null;
  /** The user that started it, when signed in (Account API). */
  user_id: string | null;
  /** JSON of the external identity once verified (`verification` kind). */
  result: string | null;
  created_at: number;
  expires_at: number;
  verified_at: number | null;
  consumed_at: number | null;
}

/** The `row_counts` table (migration 0007): row counts kept by triggers. */
export interface RowCountsTable {
  table_name: string;
  n: number;
}

/** Row of `mfa_factors` (migration 0009). */
export interface MfaFactorsTable {
  id: string;
  user_id: string;
  type: string;
  name: string | null;
  secret: string | null;
  last_totp_step: number | null;
  credential_id: string | null;
  public_key: string | null;
  counter: number;
  transports: string | null;
  agent: string | null;
  created_at: number;
  last_used_at: number | null;
}

/** Row of `mfa_backup_codes`. */
export interface MfaBackupCodesTable {
  factor_id: string;
  code_hash: string;
  used_at: number | null;
}

/** Row of `mfa_pending_sign_ins`. */
export interface MfaPendingSignInsTable {
  id_hash: string;
  user_id: string;
  kind: string;
  amr: string;
  attempts: number;
  created_at: number;
  expires_at: number;
  consumed_at: number | null;
}

/** Row of `mfa_failure_counts` (migration 0014): consecutive wrong second factors of a user. */
export interface MfaFailureCountsTable {
  user_id: string;
  failures: number;
  updated_at: number;
}

/** Row of `mfa_challenges`. */
export interface MfaChallengesTable {
  id: string;
  user_id: string;
  kind: string;
  challenge: string;
  pending_id_hash: string | null;
  result: string | null;
  created_at: number;
  expires_at: number;
  verified_at: number | null;
  consumed_at: number | null;
}

/** Row of `passkey_challenges` (migration 0025): the challenge of a usernameless passkey sign-in. */
export interface PasskeyChallengesTable {
  /** SHA-256 hex of the challenge id (a bearer secret, never stored). */
  id_hash: string;
  challenge: string;
  created_at: number;
  expires_at: number;
  consumed_at: number | null;
}

/** Row of `password_reset_tokens`. */
export interface PasswordResetTokensTable {
  token_hash: string;
  user_id: string;
  reason: string;
  created_at: number;
  expires_at: number;
  consumed_at: number | null;
}

/** Row of `password_levels`. */
export interface PasswordLevelsTable {
  user_id: string;
  level: number;
  password_updated_at: number;
}

/** Row of `custom_fields`. */
export interface CustomFieldsTable {
  key: string;
  type: string;
  label: string | null;
  description: string | null;
  created_at: number;
  updated_at: number;
}

/** Row of `captchas`. */
export interface CaptchasTable {
  id: string;
  answer_hash: string;
  ip: string | null;
  created_at: number;
  expires_at: number;
  consumed_at: number | null;
}

/** Row of `social_token_sets` (migration 0021): a user's sealed provider token set for one target. */
export interface SocialTokenSetsTable {
  user_id: string;
  target: string;
  connector_id: string;
  /** The provider account the tokens were issued for (the identity's subject at the time). */
  subject: string;
  /** Envelope-encrypted access, refresh and ID tokens (domain/social/token-vault.ts). */
  sealed: string;
  scope: string | null;
  token_type: string | null;
  /** ms since the epoch, or NULL when the provider gave no `expires_in`. */
  expires_at: number | null;
  /** 0/1. */
  has_refresh_token: number;
  created_at: number;
  updated_at: number;
}

/** Row of `hooks` (migration 0022): a webhook. `events` and `headers` are JSON; times in ms. */
export interface HooksTable {
  id: string;
  name: string;
  events: string;
  url: string;
  headers: string;
  retries: number;
  signing_key: string;
  enabled: number;
  created_at: number;
  updated_at: number;
}

/** Row of `hook_jobs` (migration 0022): one queued delivery of an event to a hook (the outbox). */
export interface HookJobsTable {
  seq: Generated<number>;
  hook_id: string;
  order_key: string;
  event: string;
  payload: string;
  state: string;
  attempts: number;
  next_attempt_at: number;
  lease_until: number | null;
  last_error: string | null;
  created_at: number;
}

/** Row of `logs` (migration 0022): one audit log entry; `payload` is JSON. */
export interface LogsTable {
  id: string;
  key: string;
  result: string;
  user_id: string | null;
  application_id: string | null;
  hook_id: string | null;
  payload: string;
  created_at: number;
}

/** Row of `resources` (0023): an API resource (RFC 8707 indicator); `access_token_ttl` in seconds. */
export interface ResourcesTable {
  id: string;
  name: string;
  indicator: string;
  access_token_ttl: number;
  is_default: number;
  created_at: number;
}

/** Row of `resource_scopes` (0023): one permission of a resource. */
export interface ResourceScopesTable {
  id: string;
  resource_id: string;
  name: string;
  description: string | null;
  created_at: number;
}

/** Row of `roles` (0023): `type` is `User` or `MachineToMachine`. */
export interface RolesTable {
  id: string;
  name: string;
  description: string;
  type: string;
  is_default: number;
  created_at: number;
}

/** Row of `role_scopes` (0023). */
export interface RoleScopesTable {
  role_id: string;
  scope_id: string;
  created_at: number;
}

/** Row of `user_roles` (0023). */
export interface UserRolesTable {
  user_id: string;
  role_id: string;
  created_at: number;
}

/** Row of `application_roles` (0023). */
export interface ApplicationRolesTable {
  application_id: string;
  role_id: string;
  created_at: number;
}

/** Row of `organizations` (0024): `custom_data` is JSON. */
export interface OrganizationsTable {
  id: string;
  name: string;
  description: string | null;
  custom_data: string;
  is_mfa_required: number;
  /** JSON object (Logto's `branding`), `{}` when none (0026). */
  branding: string;
  created_at: number;
}

/** Row of `organization_scopes` (0024). */
export interface OrganizationScopesTable {
  id: string;
  name: string;
  description: string | null;
  created_at: number;
}

/** Row of `organization_roles` (0024): `type` is `User` or `MachineToMachine`. */
export interface OrganizationRolesTable {
  id: string;
  name: string;
  description: string | null;
  type: string;
  created_at: number;
}

/** Row of `organization_role_scopes` and `organization_role_resource_scopes` (0024). */
export interface OrganizationRoleScopesTable {
  role_id: string;
  scope_id: string;
  created_at: number;
}

/** Row of `organization_users` (0024): one membership. */
export interface OrganizationUsersTable {
  organization_id: string;
  user_id: string;
  created_at: number;
}

/** Row of `organization_user_roles` (0024): a member's organization role. */
export interface OrganizationUserRolesTable {
  organization_id: string;
  user_id: string;
  role_id: string;
  created_at: number;
}

/** Row of `organization_applications` (0024): a machine-to-machine application's membership. */
export interface OrganizationApplicationsTable {
  organization_id: string;
  application_id: string;
  created_at: number;
}

/** Row of `organization_application_roles` (0024). */
export interface OrganizationApplicationRolesTable {
  organization_id: string;
  application_id: string;
  role_id: string;
  created_at: number;
}

/** Row of `organization_invitations` (0024): `invitee` lower-cased; `token_hash` the SHA-256 (hex) of the secret token. */
export interface OrganizationInvitationsTable {
  id: string;
  organization_id: string;
  inviter_id: string | null;
  invitee: string;
  status: string;
  accepted_user_id: string | null;
  token_hash: string;
  created_at: number;
  updated_at: number;
  expires_at: number;
}

/** Row of `organization_invitation_roles` (0024). */
export interface OrganizationInvitationRolesTable {
  invitation_id: string;
  role_id: string;
}

/** Row of `organization_jit_roles` (0026): a role given to the organization's just-in-time members. */
export interface OrganizationJitRolesTable {
  organization_id: string;
  role_id: string;
  created_at: number;
}

/** Row of `organization_jit_email_domains` (0024): `email_domain` lower-cased. */
export interface OrganizationJitEmailDomainsTable {
  organization_id: string;
  email_domain: string;
  created_at: number;
}
