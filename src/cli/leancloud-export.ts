import { AppError, isAppError } from '../errors/index.js';
import type { ImportOutcome } from './import-run.js';
import type { Store } from '../storage/store.js';
import type { IdentityService } from '../domain/social/identities.js';
import { authDataEntry } from '../domain/leancloud/auth-data.js';
import { dateMs, isPlainObject, parseAcl } from '../domain/leancloud/objects.js';
import type { UserService } from '../domain/users/index.js';

/** Keys of an exported `_User` row that are not custom fields. */
const SYSTEM = new Set([
  'objectId', 'createdAt', 'updatedAt', 'username', 'password', 'salt', 'email', 'mobilePhoneNumber', 'emailVerified',
  'mobilePhoneVerified', 'authData', 'ACL', 'sessionToken', 'className', '__type',
]);
/** LeanCloud/Mongo object ids and anything similar: letters, digits, `_`, `-`, up to 64 characters. */
const OBJECT_ID = /^[A-Za-z0-9_-]{1,64}$/;
/** The server-kept UnionID entries of authData (`_weixin_unionid`). */
const UNION_ENTRY = /^_([A-Za-z0-9][A-Za-z0-9_.-]{0,63})_unionid$/;

export type { ExportRow, ImportOutcome, ImportReport, RejectedRow } from './import-run.js';

/** Human reason for a refused row. */
function reasonOf(error: unknown): string {
  if (!isAppError(error)) throw error;
  const reasons: Record<string, string> = {
    'user.username_taken': 'duplicate username',
    'user.email_taken': 'duplicate email',
    'user.phone_taken': 'duplicate mobilePhoneNumber',
    'user.invalid_email': 'invalid email',
    'user.invalid_phone': 'invalid mobilePhoneNumber',
    'user.invalid_username': 'invalid username',
    'identity.already_linked': 'authData already linked to another user',
    'identity.invalid': 'authData entry without an id',
    'object.invalid_acl': 'invalid ACL',
    'object.invalid_key': 'invalid authData platform',
  };
  return reasons[error.code] ?? error.message;
}

/**
 * Imports LeanCloud `_User` exports (issue 5 §4): keeps objectId, createdAt, username, email,
 * mobilePhoneNumber, the verification flags, custom fields, authData (as verified identities: the operator's
 * export is trusted, migration 0013), ACL, and the
 * password — LeanCloud's salted SHA-512×512 hash becomes `$lc-sha512$<salt>$<hash>`, verified at the next
 * login and then replaced by argon2id. Idempotent: a row whose objectId exists is skipped. A bad row
 * (duplicate identifier, bad phone or email, authData owned by another row) is reported and the import
 * goes on; nothing of it is written.
 */
export class LeanCloudImporter {
  constructor(
    private readonly users: UserService,
    private readonly identities: IdentityService,
    private readonly store: Store,
  ) {}

  /** Imports one exported row. Never throws for bad data (only for infrastructure failures). */
  async importRow(row: unknown): Promise<ImportOutcome> {
    if (row instanceof Error) return { status: 'rejected', reason: `not JSON: ${row.message}` };
    if (!isPlainObject(row)) return { status: 'rejected', reason: 'not a JSON object' };
    const objectId = row.objectId;
    if (typeof objectId !== 'string' || !OBJECT_ID.test(objectId)) return { status: 'rejected', reason: 'missing or invalid objectId' };
    try {
      if (await this.users.findById(objectId)) return { status: 'skipped', objectId };
      const str = (k: string) => (typeof row[k] === 'string' && row[k] !== '' ? (row[k] as string) : null);
      const entries = this.authDataOf(row.authData);
      for (const e of entries) {
        const owner = await this.identities.findOwner(e.provider, e.subject);
        if (owner && owner !== objectId) throw new AppError('identity.already_linked');
      }
      const acl = row.ACL === undefined || row.ACL === null ? undefined : parseAcl(row.ACL);
      const customData: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(row)) if (!SYSTEM.has(k) && !k.startsWith('_')) customData[k] = v;
      const user = await this.users.createByAdministrator(
        {
          id: objectId,
          username: str('username'),
          email: str('email'),
          phone: str('mobilePhoneNumber'),
          passwordHash: this.passwordHashOf(row),
          customData,
          emailVerified: row.emailVerified === true,
          phoneVerified: row.mobilePhoneVerified === true,
          ...(dateMs(row.createdAt, true) !== undefined ? { createdAt: dateMs(row.createdAt, true)! } : {}),
        },
      );
      try {
        // The operator's own export: its authData is trusted (imported: connectors may sign in with it,
        // and client authData keeps working for these accounts, as it did on LeanCloud).
        for (const e of entries) await this.identities.link(user.id, e.provider, e.subject, e.data, { verified: true, imported: true });
        if (acl) await this.store.leancloud.setAcl(user.id, acl);
      } catch (error) {
        await this.users.delete(user.id);
        throw error;
      }
      return { status: 'imported', objectId };
    } catch (error) {
      if (isAppError(error, 'user.username_taken') || isAppError(error, 'user.email_taken') || isAppError(error, 'user.phone_taken')) {
        // A concurrent run may have imported this very row: then it is a skip, not a duplicate.
        if (await this.users.findById(objectId)) return { status: 'skipped', objectId };
      }
      return { status: 'rejected', objectId, reason: reasonOf(error) };
    }
  }

  /** The stored password hash of an exported row (LeanCloud's salted SHA-512, or bcrypt/argon2 as is). */
  private passwordHashOf(row: Record<string, unknown>): string | null {
    const { password, salt } = row;
    if (typeof password !== 'string' || password === '') return null;
    if (typeof salt === 'string' && /^[A-Za-z0-9]{1,128}$/.test(salt) && /^[A-Za-z0-9+/]+={0,2}$/.test(password)) return `$lc-sha512$${salt}$${password}`;
    if (/^\$(2[aby]|argon2(id|i|d))\$/.test(password)) return password;
    return null;
  }

  /** The identities of an exported authData object (UnionID entries included). */
  private authDataOf(authData: unknown): Array<{ provider: string; subject: string; data: Record<string, unknown> }> {
    if (!isPlainObject(authData)) return [];
    const out = [];
    for (const [platform, value] of Object.entries(authData)) {
      if (value === null) continue;
      const union = UNION_ENTRY.exec(platform);
      if (union && isPlainObject(value) && typeof value.uid === 'string' && value.uid) {
        out.push({ provider: platform, subject: value.uid, data: value });
        continue;
      }
      const entry = authDataEntry(platform, value);
      out.push({ provider: entry.platform, subject: entry.subject, data: entry.data });
    }
    return out;
  }
}
