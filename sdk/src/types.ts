/** OIDC address claim (OpenID Connect Core §5.1.1), camelCase as Tessera stores it. */
export interface Address {
  formatted?: string;
  streetAddress?: string;
  locality?: string;
  region?: string;
  postalCode?: string;
  country?: string;
}

/** OIDC standard profile claims (Core §5.1) that are not identifiers, as Tessera stores them. */
export interface Profile {
  familyName?: string;
  givenName?: string;
  middleName?: string;
  nickname?: string;
  preferredUsername?: string;
  /** URL of the profile page. */
  profile?: string;
  website?: string;
  gender?: string;
  birthdate?: string;
  zoneinfo?: string;
  locale?: string;
  address?: Address;
}

/**
 * A user as Tessera's native API returns it (`GET /api/auth/me`, the Management API).
 * Timestamps are milliseconds since the epoch.
 */
export interface TesseraUser {
  /** 24 lowercase hex characters; the same id on every surface. */
  id: string;
  username: string | null;
  primaryEmail: string | null;
  /** E.164, e.g. `+14155550123`. */
  primaryPhone: string | null;
  name: string | null;
  avatar: string | null;
  profile: Profile;
  customData: Record<string, unknown>;
  emailVerified: boolean;
  phoneVerified: boolean;
  isSuspended: boolean;
  hasPassword: boolean;
  /** ms since the epoch */
  createdAt: number;
  /** ms since the epoch */
  updatedAt: number;
  /** ms since the epoch, null before the first sign-in */
  lastSignInAt: number | null;
  /** The next password sign-in must set a new password first (Management API flag; Authing's resetPasswordOnFirstLogin). */
  passwordResetRequired: boolean;
}

/**
 * A user in the shape of Authing's `User` (authing-js-sdk v4), as {@link AuthenticationClient} returns it.
 *
 * Mapping from {@link TesseraUser}: `email` = `primaryEmail`, `phone` = `primaryPhone`, `photo` =
 * `avatar`, `nickname`, `givenName`, `familyName`, `middleName`, `preferredUsername`, `profile`,
 * `website`, `gender`, `birthdate`, `zoneinfo`, `locale` = the same OIDC claims of `profile`;
 * `address` = `profile.address.formatted` and `streetAddress`, `locality`, `region`, `postalCode`,
 * `country` = the members of `profile.address`; `status` = `Suspended` or `Activated` from
 * `isSuspended`, `blocked` = `isSuspended`; `createdAt`, `updatedAt`, `lastLogin` are ISO 8601
 * strings (from ms); `token` / `tokenExpiredAt` = the session issued by this call (null when none).
 * Authing fields Tessera does not keep (company, browser, device, loginsCount, lastIP, unionid,
 * openid, roles, …) are absent. The native object is kept as `raw`.
 */
export interface User {
  id: string;
  username: string | null;
  email: string | null;
  emailVerified: boolean;
  phone: string | null;
  phoneVerified: boolean;
  name: string | null;
  nickname: string | null;
  photo: string | null;
  givenName: string | null;
  familyName: string | null;
  middleName: string | null;
  preferredUsername: string | null;
  /** Profile page URL (OIDC `profile` claim). */
  profile: string | null;
  website: string | null;
  gender: string | null;
  birthdate: string | null;
  zoneinfo: string | null;
  locale: string | null;
  address: string | null;
  streetAddress: string | null;
  locality: string | null;
  region: string | null;
  postalCode: string | null;
  country: string | null;
  /** Free-form custom data (a JSON object). */
  customData: Record<string, unknown>;
  status: 'Activated' | 'Suspended';
  blocked: boolean;
  /** Whether the user has a password. */
  hasPassword: boolean;
  /** ISO 8601 */
  createdAt: string;
  /** ISO 8601 */
  updatedAt: string;
  /** ISO 8601, null before the first sign-in */
  lastLogin: string | null;
  /** The session token issued by the call that returned this user (register/login), else null. */
  token: string | null;
  /** ISO 8601 absolute expiry of `token`, else null. */
  tokenExpiredAt: string | null;
  /** The user exactly as the server sent it. */
  raw: TesseraUser;
}

/**
 * Profile fields accepted at registration (a subset of Authing's `RegisterProfile` that Tessera
 * stores). `photo` becomes `avatar`; the OIDC claims go to `profile`. Other Authing keys (company,
 * browser, device, udf, …) are refused with `request.invalid` rather than silently dropped.
 */
export interface RegisterProfile {
  name?: string;
  nickname?: string;
  /** Avatar URL (http or https). */
  photo?: string;
  givenName?: string;
  familyName?: string;
  middleName?: string;
  preferredUsername?: string;
  /** Profile page URL. */
  profile?: string;
  website?: string;
  gender?: string;
  birthdate?: string;
  zoneinfo?: string;
  locale?: string;
  /** Formatted address. */
  address?: string;
  streetAddress?: string;
  locality?: string;
  region?: string;
  postalCode?: string;
  country?: string;
}

/**
 * What {@link AuthenticationClient.updateProfile} accepts: the registration profile plus `username`.
 * `email`, `phone` and `password` (and their `*Verified` flags) are typed `never`: they are refused
 * locally with `request.invalid` (use updateEmail, updatePhone, updatePassword instead).
 */
export interface UpdateProfileInput extends RegisterProfile {
  username?: string;
  /** Replaces the user's free-form custom data. */
  customData?: Record<string, unknown>;
  email?: never;
  phone?: never;
  password?: never;
  emailVerified?: never;
  phoneVerified?: never;
}

/** Options of the register* methods (Authing's names). */
export interface RegisterOptions {
  /**
   * Custom data stored with the new user (Tessera's `customData`, a JSON object); keys of
   * admin-defined custom fields must hold values of their type (`custom_field.invalid_value`).
   */
  customData?: Record<string, unknown>;
  /** Accepted for compatibility and not sent: Tessera takes the client IP from the connection. */
  clientIp?: string;
  /** Accepted for compatibility and ignored: Tessera always signs the new user in (a session is issued). */
  forceLogin?: boolean;
  /** Authing's international dialling code (`+44`), prefixed to a phone number that has no `+`. */
  phoneCountryCode?: string;
}

/** Options of the login* methods (Authing's names). */
export interface LoginOptions {
  /**
   * Custom data shallow-merged into the user's `customData` right after signing in
   * (`PATCH /api/auth/me`); keys of admin-defined custom fields must hold values of their type.
   */
  customData?: Record<string, unknown>;
  /** Accepted for compatibility and not sent: Tessera takes the client IP from the connection. */
  clientIp?: string;
  /** Code sign-in only: create the account when no user has this phone/email. */
  autoRegister?: boolean;
  /** The answer to the captcha from {@link AuthenticationClient.getCaptcha} (Authing's `captchaCode`). */
  captchaCode?: string;
  /** The id of that captcha (Tessera needs it with the answer). */
  captchaId?: string;
  /** Authing's international dialling code (`+44`), prefixed to a phone number that has no `+`. */
  phoneCountryCode?: string;
}

/** Authing's `EmailScene` values (authing-js-sdk v4). */
export const EmailScene = {
  ResetPassword: 'RESET_PASSWORD',
  RESET_PASSWORD_VERIFY_CODE: 'RESET_PASSWORD_VERIFY_CODE',
  VerifyEmail: 'VERIFY_EMAIL',
  FIRST_EMAIL_LOGIN_VERIFY: 'FIRST_EMAIL_LOGIN_VERIFY',
  CONSOLE_CONDUCTED_VERIFY: 'CONSOLE_CONDUCTED_VERIFY',
  ChangeEmail: 'CHANGE_EMAIL',
  EMAIL_BIND_VERIFY_CODE: 'EMAIL_BIND_VERIFY_CODE',
  EMAIL_UNBIND_VERIFY_CODE: 'EMAIL_UNBIND_VERIFY_CODE',
  VerifyCode: 'VERIFY_CODE',
  REGISTER_VERIFY_CODE: 'REGISTER_VERIFY_CODE',
  LOGIN_VERIFY_CODE: 'LOGIN_VERIFY_CODE',
  INFORMATION_COMPLETION_VERIFY_CODE: 'INFORMATION_COMPLETION_VERIFY_CODE',
} as const;
/** One of Authing's e-mail scenes (MFA scenes are not offered: Tessera's codes have no MFA purpose here). */
export type EmailScene = (typeof EmailScene)[keyof typeof EmailScene];

/** Authing's SMS `SceneType` values that map to a Tessera code purpose. */
export type SmsScene = 'login' | 'register' | 'reset' | 'bind' | 'unbind' | 'complete-phone';

/** Tessera's code purposes (`POST /api/auth/codes`). */
export type CodePurpose = 'SignIn' | 'Register' | 'ForgotPassword' | 'VerifyEmail' | 'BindNewIdentifier' | 'Generic';

/** Where a sent code went: the verification record and when the code stops working (ISO 8601). */
export interface SentCode {
  verificationId: string;
  expiresAt: string;
}

/** Answer of {@link AuthenticationClient.checkPasswordStrength} (`POST /api/auth/password-strength`). */
export interface PasswordStrength {
  valid: boolean;
  /** zxcvbn score 0..4 */
  score: number;
  /** 1 low, 2 medium, 3 high */
  level: 1 | 2 | 3;
  message: string;
  issues: Array<{ code: string; interpolation?: Record<string, number> }>;
}

/** Authing's `PasswordSecurityLevel`. */
export const PasswordSecurityLevel = { LOW: 1, MIDDLE: 2, HIGH: 3 } as const;
export type PasswordSecurityLevel = (typeof PasswordSecurityLevel)[keyof typeof PasswordSecurityLevel];

/** Authing's `SecurityLevel` (`GET /api/auth/security-level`). */
export interface SecurityLevel {
  /** 0..100 */
  score: number;
  email: boolean;
  phone: boolean;
  password: boolean;
  /** 1 low, 2 medium, 3 high; null when never evaluated. */
  passwordSecurityLevel: 1 | 2 | 3 | null;
  mfa: boolean;
}

/** Answer of {@link AuthenticationClient.checkLoginStatus} (Authing's `JwtTokenStatus`, trimmed). */
export interface LoginStatus {
  /** Whether the token is a live session. */
  status: boolean;
  userId: string | null;
  /** Session start, **seconds** since the epoch (Authing's `iat`). */
  iat: number | null;
  /** Session expiry (earlier of absolute and idle), **seconds** since the epoch (Authing's `exp`). */
  exp: number | null;
}

/** Answer of {@link AuthenticationClient.refreshToken} (Authing's `RefreshToken`). */
export interface RefreshedToken {
  token: string;
  /** **seconds** since the epoch */
  iat: number;
  /** **seconds** since the epoch */
  exp: number;
}

/** Types of admin-defined custom fields. */
export type CustomFieldType = 'STRING' | 'NUMBER' | 'BOOLEAN' | 'DATETIME' | 'OBJECT';

/** A custom-field value of the signed-in user (Authing's `UserDefinedData`). DATETIME values are ISO 8601 strings. */
export interface UserDefinedData {
  key: string;
  dataType: CustomFieldType;
  label: string | null;
  value: unknown;
}

/** A captcha from `POST /api/auth/captcha`: an SVG image as a data URL; `expiresAt` in ms. */
export interface Captcha {
  id: string;
  image: string;
  /** ms since the epoch */
  expiresAt: number;
}

/** A session as the server issues it. */
export interface IssuedSession {
  token: string;
  /** ISO 8601 */
  expiresAt: string;
}

/** One of the signed-in user's roles (`GET /api/auth/me/roles`); `name` is what Authing calls the role's `code`. */
export interface UserRole {
  id: string;
  name: string;
  description: string;
  type: 'User' | 'MachineToMachine';
}

/** An API resource and the permissions the user's roles hold there (`GET /api/auth/me/authorized-resources`). */
export interface AuthorizedResource {
  /** The resource indicator (RFC 8707), Authing's namespace. */
  indicator: string;
  name: string;
  /** Permission (scope) names. */
  scopes: string[];
}
