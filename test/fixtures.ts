import type { UserRecord } from '../src/storage/store.js';

/** A millisecond timestamp beyond 2^31 (and beyond 32-bit seconds too, as ms). */
export const T = 1_795_426_758_990;

let seq = 0;

/**
 * A stored user record for store-level tests: a unique 24-hex id, no identifiers, no password,
 * created and updated at {@link T}; `overrides` win.
 */
export function userRecord(overrides: Partial<UserRecord> = {}): UserRecord {
  const n = ++seq;
  return {
    id: `${n.toString(16).padStart(8, '0')}${Math.random().toString(16).slice(2, 10).padEnd(8, '0')}00000000`,
    username: null,
    primaryEmail: null,
    primaryPhone: null,
    name: null,
    avatar: null,
    profile: {},
    customData: {},
    passwordHash: null,
    passwordUpdatedAt: null,
    emailVerified: false,
    phoneVerified: false,
    isSuspended: false,
    createdAt: T,
    updatedAt: T,
    lastSignInAt: null,
    passwordResetRequired: false,
    ...overrides,
  };
}
