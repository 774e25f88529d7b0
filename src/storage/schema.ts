import type { Generated } from 'kysely';
import type { ApplicationsTable, OidcKeysTable, OidcPayloadsTable } from './oidc-store.js';
import type { PersonalAccessTokensTable, SubjectTokensTable, TokenExchangeAuditTable } from './token-store.js';
import type { AccountCenterTable } from './account-center-store.js';
import type { AccountAuditTable } from './account-audit-store.js';
import type { ConnectorsTable, SocialSessionsTable } from './connector-store.js';
import type { RowCountsTable } from './user-list.js';
import type { MfaBackupCodesTable, MfaChallengesTable, MfaFactorsTable, MfaFailureCountsTable, MfaPendingSignInsTable } from './mfa-store.js';
import type { CaptchasTable, CustomFieldsTable, PasswordLevelsTable, PasswordResetTokensTable } from './sdk-store.js';

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

/** Verification records (codes, email links, identity proofs); see domain/verification.ts. */
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
  account_audit: AccountAuditTable;
  connectors: ConnectorsTable;
  social_sessions: SocialSessionsTable;
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
}

/** Helper for tables whose column is filled by the database. */
export type Auto<T> = Generated<T>;
