import { AppError } from '../../errors/index.js';
import type { LcAcl } from '../../storage/leancloud-store.js';

export type { LcAcl } from '../../storage/leancloud-store.js';

/**
 * The value model of LeanCloud-style custom fields (shared/specs/leancloud.md §4.2–4.3), as pure
 * functions: field names, typed values (`{"__type":"Date"}`, Pointer, GeoPoint, File, Bytes) as they are
 * stored in `customData`, the `__op` update operators applied to stored values, dotted update paths and
 * ACLs. No I/O and no request or answer shapes (those are in `http/leancloud/wire.ts`).
 */

/** Top-level field names: a letter first, then letters, digits and `_` (LeanCloud code 105 otherwise). */
const FIELD = /^[A-Za-z][A-Za-z0-9_]{0,127}$/;
/** Nested keys inside object values must not start with `$` nor contain `.` (LeanCloud code 121). */
const NESTED_BAD = /^\$|\./;
const MAX_DEPTH = 32;
/**
 * Names that would reach an object's prototype when used as a property step (`x.__proto__.y`,
 * `x.constructor.prototype.y`): refused as field names, path segments and nested keys everywhere.
 */
const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** True when `key` must never be used as a property name or path step (see {@link FORBIDDEN_KEYS}). */
export function isForbiddenKey(key: string): boolean {
  return FORBIDDEN_KEYS.has(key);
}

/**
 * Checks every step of a dotted path (`a.b.c` split on dots).
 * @throws AppError `object.invalid_key` for an empty step, one starting with `$`, or `__proto__` /
 *   `constructor` / `prototype`
 */
export function assertPathSegments(path: readonly string[]): void {
  for (const part of path) {
    if (part.length === 0 || part.startsWith('$') || isForbiddenKey(part)) {
      throw new AppError('object.invalid_key', { message: `Invalid key name: ${path.join('.').slice(0, 64)}` });
    }
  }
}

/** True when `value` is a plain JSON object (not an array, not null). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks a top-level field name (`constructor` and `prototype` are refused too).
 * @throws AppError `object.invalid_key`
 */
export function assertFieldName(key: string): void {
  if (!FIELD.test(key) || isForbiddenKey(key)) throw new AppError('object.invalid_key', { message: `Invalid key name: ${key.slice(0, 64)}` });
}

/**
 * Validates a value a client wants to store and returns it normalised: Dates get a canonical
 * `iso` (UTC with milliseconds), nested keys are checked (no `$` start, no `.`, never `__proto__`,
 * `constructor` or `prototype`), unknown `__type`s and nested `__op`s refused.
 * @throws AppError `object.invalid_type` (bad typed value), `object.invalid_key` (bad nested key)
 */
export function decodeValue(value: unknown, depth = 0): unknown {
  if (depth > MAX_DEPTH) throw new AppError('object.invalid_type', { message: 'The value is nested too deeply.' });
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new AppError('object.invalid_type');
    return value;
  }
  if (Array.isArray(value)) return value.map((v) => decodeValue(v, depth + 1));
  if (!isPlainObject(value)) throw new AppError('object.invalid_type');
  if ('__op' in value) throw new AppError('object.invalid_type', { message: 'An operation cannot be nested inside a value.' });
  if ('__type' in value) return decodeTyped(value);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (NESTED_BAD.test(k) || isForbiddenKey(k)) throw new AppError('object.invalid_key', { message: `Invalid nested key name: ${k.slice(0, 64)}` });
    out[k] = decodeValue(v, depth + 1);
  }
  return out;
}

/** A `{"__type":"Date","iso":…}` value for `ms`. */
export function encodeDate(ms: number): { __type: 'Date'; iso: string } {
  return { __type: 'Date', iso: new Date(ms).toISOString() };
}

/** The milliseconds of a `{"__type":"Date"}` value (or of an ISO string when `lenient`), else undefined. */
export function dateMs(value: unknown, lenient = false): number | undefined {
  const iso = isPlainObject(value) && value.__type === 'Date' ? value.iso : lenient ? value : undefined;
  if (typeof iso !== 'string') return undefined;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : ms;
}

function decodeTyped(value: Record<string, unknown>): unknown {
  const str = (v: unknown) => typeof v === 'string' && v.length > 0 && v.length <= 2048;
  switch (value.__type) {
    case 'Date': {
      const ms = dateMs(value);
      if (ms === undefined) throw new AppError('object.invalid_type', { message: 'Invalid Date: iso must be an ISO 8601 date.' });
      return encodeDate(ms);
    }
    case 'Pointer':
      if (!str(value.className) || !str(value.objectId)) throw new AppError('object.invalid_type', { message: 'Invalid Pointer.' });
      return { __type: 'Pointer', className: value.className, objectId: value.objectId };
    case 'GeoPoint': {
      const { latitude: lat, longitude: lng } = value;
      if (typeof lat !== 'number' || typeof lng !== 'number' || Math.abs(lat) > 90 || Math.abs(lng) > 180) {
        throw new AppError('object.invalid_type', { message: 'Invalid GeoPoint.' });
      }
      return { __type: 'GeoPoint', latitude: lat, longitude: lng };
    }
    case 'File': {
      const out: Record<string, unknown> = { __type: 'File' };
      for (const k of ['id', 'objectId', 'name', 'url'] as const) if (str(value[k])) out[k] = value[k];
      if (!out.id && !out.objectId && !out.url) throw new AppError('object.invalid_type', { message: 'Invalid File.' });
      return out;
    }
    case 'Bytes':
      if (typeof value.base64 !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value.base64)) {
        throw new AppError('object.invalid_type', { message: 'Invalid Bytes.' });
      }
      return { __type: 'Bytes', base64: value.base64 };
    default:
      throw new AppError('object.invalid_type', { message: `Unsupported __type ${String(value.__type).slice(0, 32)}.` });
  }
}

/** A stable text form of a JSON value (object keys sorted), for equality of stored values. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (isPlainObject(value)) {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/** Deep equality of two JSON values. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/** True when `value` is an update operation (`{"__op": …}`). */
export function isOp(value: unknown): value is { __op: string } & Record<string, unknown> {
  return isPlainObject(value) && typeof value.__op === 'string';
}

/** What an update does to one field. */
export type FieldChange = { kind: 'set'; value: unknown } | { kind: 'delete' };

/**
 * Applies an `__op` to the field's current value (undefined when absent). Supported: Delete,
 * Increment, Decrement, Add, AddUnique, Remove, BitAnd, BitOr, BitXor. Relations do not exist on users.
 * @throws AppError `object.invalid_type` (unknown operation, bad payload, or wrong current type)
 */
export function applyOp(current: unknown, op: { __op: string } & Record<string, unknown>): FieldChange {
  const bad = (message: string) => new AppError('object.invalid_type', { message });
  switch (op.__op) {
    case 'Delete':
      return { kind: 'delete' };
    case 'Increment':
    case 'Decrement': {
      const amount = op.amount ?? 1;
      if (typeof amount !== 'number' || !Number.isFinite(amount)) throw bad(`${op.__op} needs a numeric amount.`);
      if (current !== undefined && current !== null && typeof current !== 'number') throw bad(`Cannot ${op.__op} a non-number field.`);
      return { kind: 'set', value: ((current as number | null | undefined) ?? 0) + (op.__op === 'Increment' ? amount : -amount) };
    }
    case 'Add':
    case 'AddUnique':
    case 'Remove': {
      if (!Array.isArray(op.objects)) throw bad(`${op.__op} needs an objects array.`);
      const objects = op.objects.map((v) => decodeValue(v));
      if (current !== undefined && current !== null && !Array.isArray(current)) throw bad(`Cannot ${op.__op} on a non-array field.`);
      const list = (current as unknown[] | null | undefined) ?? [];
      if (op.__op === 'Add') return { kind: 'set', value: [...list, ...objects] };
      if (op.__op === 'AddUnique') {
        const out = [...list];
        for (const o of objects) if (!out.some((x) => jsonEqual(x, o))) out.push(o);
        return { kind: 'set', value: out };
      }
      return { kind: 'set', value: list.filter((x) => !objects.some((o) => jsonEqual(x, o))) };
    }
    case 'BitAnd':
    case 'BitOr':
    case 'BitXor': {
      const v = op.value;
      if (typeof v !== 'number' || !Number.isInteger(v)) throw bad(`${op.__op} needs an integer value.`);
      if (current !== undefined && current !== null && !Number.isInteger(current)) throw bad(`Cannot ${op.__op} a non-integer field.`);
      const c = (current as number | null | undefined) ?? 0;
      return { kind: 'set', value: op.__op === 'BitAnd' ? c & v : op.__op === 'BitOr' ? c | v : c ^ v };
    }
    default:
      throw bad(`Unsupported operation ${op.__op.slice(0, 32)} on _User.`);
  }
}

/**
 * The value at a path inside an object (undefined when any step is missing). Only own properties are
 * followed, so no path reaches a prototype (`__proto__`, `constructor`, `toString` are simply missing).
 */
export function getPath(obj: unknown, path: readonly string[]): unknown {
  let node: unknown = obj;
  for (const part of path) {
    if (!isPlainObject(node) || !Object.hasOwn(node, part)) return undefined;
    node = node[part];
  }
  return node;
}

/**
 * Applies an update (a plain value or an `__op`) at a path of `target`, in place. Intermediate
 * objects are created as needed. Only own properties are stepped into or changed.
 * @throws AppError `object.invalid_key` (a step is empty, starts with `$`, or is `__proto__` /
 *   `constructor` / `prototype`), `object.invalid_type` (an intermediate value is not an object, or
 *   the op fails)
 */
export function applyUpdateAt(target: Record<string, unknown>, path: readonly string[], update: unknown): void {
  if (path.length === 0) throw new AppError('object.invalid_key');
  assertPathSegments(path);
  let node = target;
  for (const part of path.slice(0, -1)) {
    const next = Object.hasOwn(node, part) ? node[part] : undefined;
    if (next === undefined || next === null) {
      if (isOp(update) && update.__op === 'Delete') return;
      node[part] = {};
    } else if (!isPlainObject(next) || '__type' in next) {
      throw new AppError('object.invalid_type', { message: `Cannot update inside ${part}: it is not an object.` });
    }
    node = node[part] as Record<string, unknown>;
  }
  const last = path[path.length - 1]!;
  const current = Object.hasOwn(node, last) ? node[last] : undefined;
  const change: FieldChange = isOp(update) ? applyOp(current, update) : { kind: 'set', value: decodeValue(update) };
  if (change.kind === 'delete') delete node[last];
  else node[last] = change.value;
}

/**
 * Validates an ACL value: keys `*`, a user id or `role:<name>`; values objects with boolean `read` /
 * `write` (false entries are dropped, as the SDK does).
 * @throws AppError `object.invalid_acl`
 */
export function parseAcl(value: unknown): LcAcl {
  if (!isPlainObject(value)) throw new AppError('object.invalid_acl');
  const out: LcAcl = {};
  for (const [key, perms] of Object.entries(value)) {
    if (key.length === 0 || key.length > 256 || isForbiddenKey(key) || !isPlainObject(perms)) throw new AppError('object.invalid_acl');
    const entry: { read?: boolean; write?: boolean } = {};
    for (const [p, v] of Object.entries(perms)) {
      if ((p !== 'read' && p !== 'write') || typeof v !== 'boolean') throw new AppError('object.invalid_acl');
      if (v) entry[p] = true;
    }
    if (entry.read || entry.write) out[key] = entry;
  }
  return out;
}

/**
 * Whether the ACL lets `userId` (undefined = no session) read. No ACL means public read. Roles are
 * not modelled, so `role:` entries grant nothing here.
 */
export function aclAllowsRead(acl: LcAcl | undefined, userId: string | undefined): boolean {
  if (!acl) return true;
  const entry = (key: string) => (Object.hasOwn(acl, key) ? acl[key] : undefined);
  return Boolean(entry('*')?.read || (userId && entry(userId)?.read));
}

/** 25 random characters from `[a-z0-9]`: LeanCloud's generated usernames (authData and anonymous users). */
export function randomUsername(random: (n: number) => number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let out = '';
  for (let i = 0; i < 25; i++) out += alphabet[random(alphabet.length)];
  return out;
}
