/**
 * @tessera/sdk — TypeScript client for a Tessera server: {@link AuthenticationClient} (end users,
 * Authing's method names) and {@link ManagementClient} (admins, the Management API). ESM, no runtime
 * dependencies (fetch + Web Crypto), browsers and Node ≥ 20.
 */
export { AccountClient, type AccountClientOptions, type AccountProfile, type Identifier, type ProviderAccessToken, type VerificationRecord } from './account.js';
export { AuthenticationClient, type AuthenticationClientOptions } from './authentication.js';
export type { ErrorCode, ErrorData, ErrorDataMap } from './codes.js';
export {
  type AnyTesseraError,
  type ClientErrorCode,
  type ClientErrorDataMap,
  isMfaRequired,
  isTesseraError,
  type MfaRequiredData,
  TesseraError,
  type TesseraErrorCode,
  type TesseraErrorData,
} from './errors.js';
export type { FetchLike } from './http.js';
export type { PasskeyAssertionJSON, PasskeyCredentialDescriptorJSON, PasskeyRequestOptionsJSON } from './webauthn.js';
export {
  type AccountCenter,
  type AccountCenterField,
  type AccountCenterFieldMode,
  type AddedRoles,
  type ApiResource,
  type ApiScope,
  type Application,
  type ApplicationType,
  type ApplicationWithSecret,
  type CreateApplicationInput,
  type CreateRoleInput,
  type CreateUserInput,
  type CustomFieldDefinition,
  ManagementClient,
  type ManagementClientOptions,
  nextLink,
  type Page,
  type Role,
  type RoleListOptions,
  type RoleType,
  type RoleWithHolders,
  type SearchOptions,
  type UpdateApplicationInput,
  type UpdateUserInput,
} from './management.js';
export { computedPasswordSecurityLevel } from './password-level.js';
export type { TokenStorage } from './storage.js';
export {
  type Address,
  type Captcha,
  type CodePurpose,
  type CustomFieldType,
  EmailScene,
  type IssuedSession,
  type LoginOptions,
  type LoginStatus,
  PasswordSecurityLevel,
  type PasswordStrength,
  type Profile,
  type RefreshedToken,
  type RegisterOptions,
  type RegisterProfile,
  type SecurityLevel,
  type SentCode,
  type SmsScene,
  type TesseraUser,
  type UpdateProfileInput,
  type User,
  type UserDefinedData,
  type UserRole,
  type AuthorizedResource,
} from './types.js';
