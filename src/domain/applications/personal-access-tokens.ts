import { AppError } from '../../errors/index.js';
import type { Store } from '../../storage/store.js';
import type { PersonalAccessTokenRecord } from '../../storage/token-store.js';
import type { Clock } from '../../util/clock.js';
import { newId, newSecret, sha256Hex } from '../../util/crypto.js';

export type { PersonalAccessTokenRecord } from '../../storage/token-store.js';

/** Prefix of every personal access token value (as in Logto). */
export const PAT_PREFIX = 'pat_';

/** Random bytes in a token value: 192 bits (ASVS asks for at least 128). */
const PAT_BYTES = 24;

/** Longest token name, in characters (Logto: 256). */
export const PAT_NAME_MAX = 256;

/** A personal access token as shown to administrators: never its value or hash. */
export interface PersonalAccessTokenInfo {
  name: string;
  /** ms since the epoch. */
  createdAt: number;
  /** ms since the epoch; null = never expires. */
  expiresAt: number | null;
}

/** A newly created token: the only time its value is available. */
export interface IssuedPersonalAccessToken extends PersonalAccessTokenInfo {
  /** `pat_…`; shown once, stored only as a SHA-256 hash. */
  value: string;
}

/** What a presented token value resolves to, see {@link PersonalAccessTokenService.resolve}. */
export type PersonalAccessTokenResolution =
  | { status: 'valid'; token: PersonalAccessTokenRecord }
  | { status: 'expired'; token: PersonalAccessTokenRecord }
  | { status: 'not_found' };

/** The public view of a stored token. */
export function toTokenInfo(token: PersonalAccessTokenRecord): PersonalAccessTokenInfo {
  return { name: token.name, createdAt: token.createdAt, expiresAt: token.expiresAt };
}

/**
 * Personal access tokens (Logto's, spec logto.md §4.5 and §5.4): long-lived credentials an administrator
 * creates for a user, which a client exchanges at `/oidc/token` (RFC 8693) for an access token acting as
 * that user, as often as it likes until the token expires or is deleted. Unlike Logto, which stores and
 * lists the value, Tessera shows the value once at creation and keeps only its SHA-256.
 */
export class PersonalAccessTokenService {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  /**
   * A user's tokens, oldest first (names and dates only).
   * @throws AppError `user.not_found`
   */
  async list(userId: string): Promise<PersonalAccessTokenInfo[]> {
    await this.requireUser(userId);
    return (await this.store.personalAccessTokens.listByUser(userId)).map(toTokenInfo);
  }

  /**
   * Creates a token for a user.
   * @param input `name` 1–256 characters, unique per user; `expiresAt` (ms) in the future, or absent/null for none
   * @returns the token with its value, shown this once
   * @throws AppError `user.not_found`, `personal_access_token.invalid_name`,
   *   `personal_access_token.invalid_expiry`, `personal_access_token.name_taken`
   */
  async create(userId: string, input: { name: string; expiresAt?: number | null }): Promise<IssuedPersonalAccessToken> {
    const length = [...input.name].length;
    if (length < 1 || length > PAT_NAME_MAX) throw new AppError('personal_access_token.invalid_name');
    const now = this.clock.now();
    const expiresAt = input.expiresAt ?? null;
    if (expiresAt !== null && (!Number.isSafeInteger(expiresAt) || expiresAt <= now)) throw new AppError('personal_access_token.invalid_expiry');
    await this.requireUser(userId);
    const value = newSecret(PAT_PREFIX, PAT_BYTES);
    const record: PersonalAccessTokenRecord = { id: newId(now), userId, name: input.name, tokenHash: sha256Hex(value), createdAt: now, expiresAt };
    const outcome = await this.store.personalAccessTokens.insert(record);
    if (outcome === 'name_taken') throw new AppError('personal_access_token.name_taken');
    if (outcome === 'no_user') throw new AppError('user.not_found');
    return { ...toTokenInfo(record), value };
  }

  /**
   * Deletes a user's token by name; exchanges with it fail from then on (access tokens already issued
   * with it live until they expire).
   * @throws AppError `user.not_found`, `personal_access_token.not_found`
   */
  async delete(userId: string, name: string): Promise<void> {
    await this.requireUser(userId);
    if (!(await this.store.personalAccessTokens.delete(userId, name))) throw new AppError('personal_access_token.not_found');
  }

  /**
   * Renames a user's token (Logto's `PATCH /api/users/:id/personal-access-tokens`). The value and the
   * expiry stay; only the name changes.
   * @param newName 1–256 characters, unique per user
   * @returns the renamed token (without its value)
   * @throws AppError `user.not_found`, `personal_access_token.invalid_name`,
   *   `personal_access_token.not_found`, `personal_access_token.name_taken`
   */
  async rename(userId: string, name: string, newName: string): Promise<PersonalAccessTokenInfo> {
    const length = [...newName].length;
    if (length < 1 || length > PAT_NAME_MAX) throw new AppError('personal_access_token.invalid_name');
    await this.requireUser(userId);
    const outcome = await this.store.personalAccessTokens.rename(userId, name, newName);
    if (outcome === 'not_found') throw new AppError('personal_access_token.not_found');
    if (outcome === 'name_taken') throw new AppError('personal_access_token.name_taken');
    return toTokenInfo(outcome);
  }

  /**
   * Looks up a presented token value (by its hash). A token is valid until its `expiresAt`.
   * Does not check the user; the exchange does.
   */
  async resolve(value: string): Promise<PersonalAccessTokenResolution> {
    if (!value.startsWith(PAT_PREFIX)) return { status: 'not_found' };
    const token = await this.store.personalAccessTokens.findByHash(sha256Hex(value));
    if (!token) return { status: 'not_found' };
    if (token.expiresAt !== null && token.expiresAt <= this.clock.now()) return { status: 'expired', token };
    return { status: 'valid', token };
  }

  private async requireUser(userId: string): Promise<void> {
    if (!(await this.store.users.findById(userId))) throw new AppError('user.not_found');
  }
}
