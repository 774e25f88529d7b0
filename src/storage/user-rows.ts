import type { Selectable } from 'kysely';
import type { UsersTable } from './schema.js';
import { type UniqueField, UniqueViolation, type UserPatch, type UserRecord } from './store.js';

/**
 * The users table's rows ↔ {@link UserRecord}s, shared by the stores that read or write users
 * (kysely-store.ts, leancloud-store.ts).
 */

/** Maps a driver error to {@link UniqueViolation} when it is a unique-constraint failure on users. */
export function toUniqueViolation(error: unknown): UniqueViolation | undefined {
  const e = error as { code?: string; message?: string; constraint?: string };
  const text =
    e?.code === '23505' ? (e.constraint ?? '') : e?.code?.startsWith('SQLITE_CONSTRAINT') ? (e.message ?? '') : '';
  if (!text) return undefined;
  const field: UniqueField | undefined = /primary_email/.test(text)
    ? 'email'
    : /primary_phone/.test(text)
      ? 'phone'
      : /username/.test(text)
        ? 'username'
        : undefined;
  return field ? new UniqueViolation(field) : undefined;
}

/** Runs `op`, turning a unique-constraint failure into {@link UniqueViolation}. */
export async function mapUnique<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (error) {
    throw toUniqueViolation(error) ?? error;
  }
}

/** A boolean as stored (0/1). */
export const b = (v: boolean): number => (v ? 1 : 0);

/** Parses a JSON column, `fallback` when empty or unreadable. */
export function parseJson<T>(text: string | null, fallback: T): T {
  if (!text) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

/** Maps a `users` row to a {@link UserRecord}. */
export function toUser(row: Selectable<UsersTable>): UserRecord {
  return {
    id: row.id,
    username: row.username,
    primaryEmail: row.primary_email,
    primaryPhone: row.primary_phone,
    name: row.name,
    avatar: row.avatar,
    profile: parseJson(row.profile, {}),
    customData: parseJson(row.custom_data, {}),
    passwordHash: row.password_hash,
    passwordUpdatedAt: row.password_updated_at === null ? null : Number(row.password_updated_at),
    emailVerified: Boolean(row.email_verified),
    phoneVerified: Boolean(row.phone_verified),
    isSuspended: Boolean(row.is_suspended),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    lastSignInAt: row.last_sign_in_at === null ? null : Number(row.last_sign_in_at),
    passwordResetRequired: Boolean(row.password_reset_required),
  };
}

/** Converts a camelCase user patch to column values. */
export function userColumns(patch: UserPatch): Partial<UsersTable> {
  const out: Partial<UsersTable> = {};
  if (patch.username !== undefined) out.username = patch.username;
  if (patch.primaryEmail !== undefined) {
    out.primary_email = patch.primaryEmail;
    out.primary_email_key = patch.primaryEmail === null ? null : patch.primaryEmail.toLowerCase();
  }
  if (patch.primaryPhone !== undefined) out.primary_phone = patch.primaryPhone;
  if (patch.name !== undefined) out.name = patch.name;
  if (patch.avatar !== undefined) out.avatar = patch.avatar;
  if (patch.profile !== undefined) out.profile = JSON.stringify(patch.profile);
  if (patch.customData !== undefined) out.custom_data = JSON.stringify(patch.customData);
  if (patch.passwordHash !== undefined) out.password_hash = patch.passwordHash;
  if (patch.passwordUpdatedAt !== undefined) out.password_updated_at = patch.passwordUpdatedAt;
  if (patch.emailVerified !== undefined) out.email_verified = b(patch.emailVerified);
  if (patch.phoneVerified !== undefined) out.phone_verified = b(patch.phoneVerified);
  if (patch.isSuspended !== undefined) out.is_suspended = b(patch.isSuspended);
  if (patch.updatedAt !== undefined) out.updated_at = patch.updatedAt;
  if (patch.lastSignInAt !== undefined) out.last_sign_in_at = patch.lastSignInAt;
  if (patch.passwordResetRequired !== undefined) out.password_reset_required = b(patch.passwordResetRequired);
  return out;
}

/** The `users` row of a complete user record (for inserts, including bulk seeding in tests and benchmarks). */
export function toUserRow(user: UserRecord): UsersTable {
  return { id: user.id, created_at: user.createdAt, ...(userColumns(user) as Omit<UsersTable, 'id' | 'created_at'>) };
}


