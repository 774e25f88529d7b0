import { AppError } from '../../errors/index.js';
import { authDataEntry } from '../../domain/leancloud/auth-data.js';
import { assertFieldName, assertPathSegments, isForbiddenKey, isOp, isPlainObject, parseAcl } from '../../domain/leancloud/objects.js';
import type { LcLogIn, LcUserView, UserChanges } from '../../domain/leancloud/users.js';
import type { UserRecord } from '../../storage/store.js';
import { assertJsonDepth, MAX_JSON_DEPTH } from '../../util/json-depth.js';
import { findNulIn } from '../../util/nul.js';

/**
 * The `/1.1` wire shapes (shared/specs/leancloud.md §2–§4): request bodies read into the domain's typed
 * inputs, and `_User` objects rendered from the domain's views. The only place that knows LeanCloud's
 * field names (`mobilePhoneNumber`, `authData`, `ACL`, `sessionToken` …); the domain never sees a body.
 */

/** A JSON object as LeanCloud sends and answers it. */
export type LcObject = Record<string, unknown>;

/** Fields with fixed meaning on `_User`; never stored as custom fields. */
const SYSTEM_KEYS: ReadonlySet<string> = new Set([
  'objectId', 'createdAt', 'updatedAt', 'username', 'password', 'email', 'mobilePhoneNumber', 'emailVerified',
  'mobilePhoneVerified', 'authData', 'ACL', 'sessionToken', 'salt',
]);

/** LeanCloud's timestamps: ISO 8601 in UTC with milliseconds. `ms` is milliseconds since the epoch. */
export function lcTime(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * The LeanCloud `_User` object of a view (shared/specs/leancloud.md §2): system fields, custom fields at
 * the top level, `authData` from the view's identities, ISO timestamps; `sessionToken` only when the view
 * carries one, `ACL` only when `returnAcl` (the default ACL — public read, owner write — when none is
 * stored).
 */
export function toLcUser(view: LcUserView, options: { returnAcl?: boolean } = {}): LcObject {
  const { user, identities } = view;
  const out: LcObject = { objectId: user.id };
  if (user.username !== null) out.username = user.username;
  if (user.primaryEmail !== null) out.email = user.primaryEmail;
  if (user.primaryPhone !== null) out.mobilePhoneNumber = user.primaryPhone;
  out.emailVerified = user.emailVerified;
  out.mobilePhoneVerified = user.phoneVerified;
  if (identities.length > 0) out.authData = Object.fromEntries(identities.map((i) => [i.provider, i.data]));
  // Keys that would reach a prototype are never written (none can be stored any more; older rows).
  for (const [k, v] of Object.entries(user.customData)) if (!SYSTEM_KEYS.has(k) && !isForbiddenKey(k)) out[k] = v;
  if (options.returnAcl) out.ACL = view.acl ?? { '*': { read: true }, [user.id]: { read: true, write: true } };
  out.createdAt = lcTime(user.createdAt);
  out.updatedAt = lcTime(user.updatedAt);
  if (view.issuedToken) out.sessionToken = view.issuedToken;
  return out;
}

/** `{objectId, updatedAt}`: LeanCloud's answer to a write. */
export function lcUpdated(user: UserRecord): LcObject {
  return { objectId: user.id, updatedAt: lcTime(user.updatedAt) };
}

/**
 * Parses a JSON query parameter (`where`), then checks what the decoding produced: no NUL in any string
 * or key (issue 15: a `\u0000` escape survives the HTTP layer's check and was a 500 on PostgreSQL) and no
 * nesting deeper than {@link MAX_JSON_DEPTH}.
 * @throws AppError `request.malformed_json` (not JSON), `object.invalid_query` (102: NUL, or nested too deep)
 */
export function parseJsonParam(value: unknown): unknown {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') return value;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new AppError('request.malformed_json');
  }
  const nul = findNulIn(parsed, 'query.where');
  if (nul) throw new AppError('object.invalid_query', { message: 'NUL characters are not allowed in a query.' });
  try {
    assertJsonDepth(parsed);
  } catch {
    throw new AppError('object.invalid_query', { message: `The query is nested deeper than ${MAX_JSON_DEPTH} levels.` });
  }
  return parsed;
}

/** A non-empty string field of a body, else undefined. */
function str(body: LcObject, key: string): string | undefined {
  const value = body[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The `mobilePhoneNumber` of a body. @throws AppError `user.phone_required` (212) */
export function requiredPhone(body: LcObject): string {
  const phone = body.mobilePhoneNumber;
  if (typeof phone !== 'string' || phone.trim() === '') throw new AppError('user.phone_required');
  return phone;
}

/** The `email` of a body. @throws AppError `user.email_required` (204) */
export function requiredEmail(body: LcObject): string {
  const email = body.email;
  if (typeof email !== 'string' || email.trim() === '') throw new AppError('user.email_required');
  return email;
}

/** The `mobilePhoneNumber` of a body when it has one (the SDK leaves it out of some code calls). */
export function optionalPhone(body: LcObject): string | undefined {
  return str(body, 'mobilePhoneNumber');
}

/** A code sent as a string or a number (`smsCode`, `code`), as text; `''` when missing. */
export function codeField(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' ? String(value) : '';
}

/** The body of `POST /1.1/login`: identifiers, password or smsCode (empty strings count as missing). */
export function readLogIn(body: LcObject): LcLogIn {
  const input: LcLogIn = {};
  const username = str(body, 'username');
  const email = str(body, 'email');
  const phone = str(body, 'mobilePhoneNumber');
  const password = str(body, 'password');
  if (username !== undefined) input.username = username;
  if (email !== undefined) input.email = email;
  if (phone !== undefined) input.phone = phone;
  if (password !== undefined) input.password = password;
  if (body.smsCode !== undefined) input.code = String(body.smsCode);
  return input;
}

/** The top-level fields a write names (`a.b` counts as `a`): what `new=true` answers with. */
export function requestedKeys(body: LcObject): string[] {
  return [...new Set(Object.keys(body).map((key) => key.split('.')[0]!))];
}

/**
 * Reads a `_User` request body into a change set. Unknown keys become custom fields; dotted keys are
 * paths (`authData.<platform>` links or, with Delete, unlinks). `master`: the master key may set the
 * verified flags.
 * @throws AppError `object.invalid_key`, `object.invalid_type`, `object.protected_field`,
 *   `object.invalid_acl`, `user.invalid_username`, `user.username_required`, `identity.invalid`,
 *   `user.password_required`, `password.rejected` (blank)
 */
export function readUserChanges(body: LcObject, master: boolean): UserChanges {
  const changes: UserChanges = { link: [], unlink: [], unlinkAll: false, custom: [] };
  const protectedField = (key: string) => new AppError('object.protected_field', { message: `${key} cannot be set by a client.` });
  const isDelete = (v: unknown) => v === null || (isOp(v) && v.__op === 'Delete');
  for (const [key, value] of Object.entries(body)) {
    const path = key.split('.');
    const top = path[0]!;
    if (path.length > 1) {
      // No empty step, no `$`, and never `__proto__` / `constructor` / `prototype` (prototype pollution).
      assertPathSegments(path);
      if (top === 'authData' && path.length === 2) {
        if (isDelete(value)) changes.unlink.push(path[1]!);
        else changes.link.push(authDataEntry(path[1]!, value));
        continue;
      }
      if (SYSTEM_KEYS.has(top)) throw new AppError('object.invalid_key', { message: `Cannot update inside ${top}.` });
      assertFieldName(top);
      changes.custom.push({ path, update: value });
      continue;
    }
    switch (key) {
      case 'objectId':
      case 'createdAt':
      case 'updatedAt':
        throw new AppError('object.invalid_key', { message: `${key} is a reserved field.` });
      case 'sessionToken':
      case 'salt':
        throw protectedField(key);
      case 'emailVerified':
      case 'mobilePhoneVerified':
        if (!master) throw protectedField(key);
        if (typeof value !== 'boolean') throw new AppError('object.invalid_type', { message: `${key} must be a boolean.` });
        changes[key === 'emailVerified' ? 'emailVerified' : 'phoneVerified'] = value;
        break;
      case 'username':
        if (typeof value !== 'string') throw new AppError(isDelete(value) ? 'user.username_required' : 'object.invalid_type');
        if (value.trim() === '') throw new AppError('user.invalid_username');
        changes.username = value;
        break;
      case 'password':
        if (typeof value !== 'string' || value === '') throw new AppError('user.password_required');
        if (value.trim() === '') throw new AppError('password.rejected', { message: 'Invalid password, it must be a non-blank string.' });
        changes.password = value;
        break;
      case 'email':
      case 'mobilePhoneNumber': {
        const target = key === 'email' ? 'email' : 'phone';
        if (isDelete(value) || value === '') changes[target] = null;
        else if (typeof value === 'string') changes[target] = value;
        else throw new AppError('object.invalid_type', { message: `${key} must be a string.` });
        break;
      }
      case 'ACL':
        changes.acl = isDelete(value) ? null : parseAcl(value);
        break;
      case 'authData':
        if (isDelete(value)) {
          changes.unlinkAll = true;
          break;
        }
        if (!isPlainObject(value)) throw new AppError('object.invalid_type', { message: 'authData must be an object.' });
        for (const [platform, entry] of Object.entries(value)) {
          if (entry === null) changes.unlink.push(platform);
          else changes.link.push(authDataEntry(platform, entry));
        }
        break;
      default:
        assertFieldName(key);
        changes.custom.push({ path: [key], update: value });
    }
  }
  return changes;
}
