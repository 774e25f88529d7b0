import type { UserProfile, UserRecord } from '../../storage/store.js';

/** The user as every API surface may show it: never the password hash. Timestamps in ms since the epoch. */
export interface PublicUser {
  id: string;
  username: string | null;
  primaryEmail: string | null;
  primaryPhone: string | null;
  name: string | null;
  avatar: string | null;
  profile: UserProfile;
  customData: Record<string, unknown>;
  emailVerified: boolean;
  phoneVerified: boolean;
  isSuspended: boolean;
  hasPassword: boolean;
  /** The next password sign-in must set a new password first (issue 6). */
  passwordResetRequired: boolean;
  createdAt: number;
  updatedAt: number;
  lastSignInAt: number | null;
}

/** Projects a stored user to {@link PublicUser}. */
export function toPublicUser(u: UserRecord): PublicUser {
  return {
    id: u.id,
    username: u.username,
    primaryEmail: u.primaryEmail,
    primaryPhone: u.primaryPhone,
    name: u.name,
    avatar: u.avatar,
    profile: u.profile,
    customData: u.customData,
    emailVerified: u.emailVerified,
    phoneVerified: u.phoneVerified,
    isSuspended: u.isSuspended,
    hasPassword: u.passwordHash !== null,
    passwordResetRequired: u.passwordResetRequired ?? false,
    createdAt: u.createdAt,
    updatedAt: u.updatedAt,
    lastSignInAt: u.lastSignInAt,
  };
}
