import { AppError, isAppError } from '../errors/index.js';
import { IMPORTED_DIGEST_ALGORITHMS, type ImportedDigestAlgorithm, storedHashOfDigest } from '../domain/credentials/passwords.js';
import type { IdentityService } from '../domain/social/identities.js';
import type { UserService } from '../domain/users/index.js';
import { logtoPhoneIn } from '../http/logto-phones.js';
import type { UserProfile } from '../storage/store.js';
import type { ImportOutcome } from './import-run.js';

/** Logto user ids (12 lower-case letters and digits in Logto; anything id-like is kept). */
const USER_ID = /^[A-Za-z0-9_-]{1,64}$/;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Human reason for a refused row. */
function reasonOf(error: unknown): string {
  if (!isAppError(error)) throw error;
  const reasons: Record<string, string> = {
    'user.username_taken': 'duplicate username',
    'user.email_taken': 'duplicate primaryEmail',
    'user.phone_taken': 'duplicate primaryPhone',
    'user.invalid_email': 'invalid primaryEmail',
    'user.invalid_phone': 'invalid primaryPhone',
    'user.invalid_username': 'invalid username',
    'identity.already_linked': 'an identity is already linked to another user',
    'identity.invalid': 'an identity without a userId',
  };
  if (reasons[error.code]) return reasons[error.code]!;
  const issues = (error.data as { issues?: Array<{ path: string; message: string }> } | undefined)?.issues;
  return issues?.length ? issues.map((i) => `${i.path.replace(/^body\./, '')}: ${i.message}`).join('; ') : error.message;
}

/**
 * Imports a Logto user export (issue 19): JSON lines (or a JSON array) of the user objects Logto's
 * `GET /api/users?includePasswordHash=true` answers — `id`, `username`, `primaryEmail`, `primaryPhone`
 * (digits only), `name`, `avatar`, `profile`, `customData`, `identities`, `isSuspended`, `createdAt`,
 * `passwordDigest` + `passwordAlgorithm`. Keeps the id, so tokens and app data that name the user stay
 * valid; the digest is kept and replaced by argon2id at the user's first sign-in on any surface
 * ({@link storedHashOfDigest}); identities become verified identities (the operator's own data);
 * the primary email and phone count as verified (Logto binds them only after proving them, or by an
 * administrator). Idempotent: a row whose id exists is skipped. A bad row (duplicate identifier, bad
 * email or phone, a digest not of its algorithm's form, an identity another user has) is reported and
 * the import goes on; nothing of it is written.
 */
export class LogtoImporter {
  constructor(
    private readonly users: UserService,
    private readonly identities: IdentityService,
  ) {}

  /** Imports one exported row. Never throws for bad data (only for infrastructure failures). */
  async importRow(row: unknown): Promise<ImportOutcome> {
    if (row instanceof Error) return { status: 'rejected', reason: `not JSON: ${row.message}` };
    if (!isObject(row)) return { status: 'rejected', reason: 'not a JSON object' };
    const id = row.id;
    if (typeof id !== 'string' || !USER_ID.test(id)) return { status: 'rejected', reason: 'missing or invalid id' };
    try {
      if (await this.users.findById(id)) return { status: 'skipped', objectId: id };
      const str = (k: string) => (typeof row[k] === 'string' && row[k] !== '' ? (row[k] as string) : null);
      const identities = this.identitiesOf(row.identities);
      for (const i of identities) {
        const owner = await this.identities.findOwner(i.target, i.subject);
        if (owner && owner !== id) throw new AppError('identity.already_linked');
      }
      const phone = str('primaryPhone');
      const email = str('primaryEmail');
      const user = await this.users.createByAdministrator(
        {
          id,
          username: str('username'),
          email,
          phone: phone === null ? null : logtoPhoneIn(phone, (raw) => this.users.normalize('phone', raw)),
          passwordHash: this.passwordHashOf(row),
          name: str('name'),
          avatar: str('avatar'),
          ...(isObject(row.profile) ? { profile: row.profile as UserProfile } : {}),
          customData: isObject(row.customData) ? row.customData : {},
          emailVerified: email !== null,
          phoneVerified: phone !== null,
          ...(typeof row.createdAt === 'number' && Number.isSafeInteger(row.createdAt) && row.createdAt > 0 ? { createdAt: row.createdAt } : {}),
        },
      );
      try {
        for (const i of identities) await this.identities.link(user.id, i.target, i.subject, i.details, { verified: true, imported: true });
        if (row.isSuspended === true) await this.users.setSuspended(user.id, true);
      } catch (error) {
        await this.users.delete(user.id);
        throw error;
      }
      return { status: 'imported', objectId: id };
    } catch (error) {
      if (isAppError(error, 'user.username_taken') || isAppError(error, 'user.email_taken') || isAppError(error, 'user.phone_taken')) {
        // A concurrent run may have imported this very row: then it is a skip, not a duplicate.
        if (await this.users.findById(id)) return { status: 'skipped', objectId: id };
      }
      return { status: 'rejected', objectId: id, reason: reasonOf(error) };
    }
  }

  /**
   * The stored hash of a row's `passwordDigest` + `passwordAlgorithm`, or null without a digest.
   * @throws AppError `request.invalid` (an unknown algorithm, or a digest not of its algorithm's form)
   */
  private passwordHashOf(row: Record<string, unknown>): string | null {
    const { passwordDigest: digest, passwordAlgorithm: algorithm } = row;
    if (digest === undefined || digest === null || digest === '') return null;
    const refuse = (message: string) => new AppError('request.invalid', { data: { issues: [{ path: 'body.passwordAlgorithm', code: 'custom', message }] } });
    if (typeof digest !== 'string') throw refuse('passwordDigest must be a string');
    if (typeof algorithm !== 'string' || !(IMPORTED_DIGEST_ALGORITHMS as readonly string[]).includes(algorithm)) {
      throw refuse(`passwordAlgorithm must be one of ${IMPORTED_DIGEST_ALGORITHMS.join(', ')}`);
    }
    return storedHashOfDigest(algorithm as ImportedDigestAlgorithm, digest);
  }

  /** The identities of a row's `identities` map (`{target: {userId, details?}}`). */
  private identitiesOf(map: unknown): Array<{ target: string; subject: string; details: Record<string, unknown> }> {
    if (!isObject(map)) return [];
    return Object.entries(map).map(([target, value]) => {
      if (!isObject(value) || typeof value.userId !== 'string' || value.userId === '') throw new AppError('identity.invalid');
      return { target, subject: value.userId, details: isObject(value.details) ? value.details : {} };
    });
  }
}
