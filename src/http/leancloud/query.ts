import sift from 'sift';
import { AppError } from '../../errors/index.js';
import type { TimeRange, UserColumnFilter } from '../../storage/leancloud-store.js';
import { dateMs, getPath, isForbiddenKey, isPlainObject, jsonEqual } from '../../domain/leancloud/objects.js';
import type { LcObject } from './wire.js';

/**
 * LeanCloud's query language (shared/specs/leancloud.md §4.1), part of the `/1.1` wire protocol, as pure
 * functions: a `where` document checked here and evaluated by sift (Mongo query semantics) over `_User`
 * objects as the adapter renders them, the part of it the database can evaluate on indexed columns,
 * `order`, `keys` and `limit`/`skip`.
 */

/** A compiled `where`. */
export type Predicate = (object: LcObject) => boolean;

const invalid = (message: string) => new AppError('object.invalid_query', { message });

/** Type ranks for ordering and range comparison: null < boolean < number < string < date. */
type Comparable = { rank: number; value: number | string | boolean | null };

/** The comparable form of a value, or undefined for values without an order (objects, arrays). */
function comparable(value: unknown, asDate = false): Comparable | undefined {
  if (value === undefined || value === null) return { rank: 0, value: null };
  if (typeof value === 'boolean') return { rank: 1, value };
  if (typeof value === 'number') return { rank: 2, value };
  const ms = dateMs(value, asDate);
  if (ms !== undefined) return { rank: 4, value: ms };
  if (typeof value === 'string') return { rank: 3, value };
  return undefined;
}

/** Orders two values (missing first, then by type rank, then by value). */
export function compareValues(a: unknown, b: unknown): number {
  const ca = comparable(a) ?? { rank: 5, value: JSON.stringify(a) };
  const cb = comparable(b) ?? { rank: 5, value: JSON.stringify(b) };
  if (ca.rank !== cb.rank) return ca.rank - cb.rank;
  const x = ca.value as number | string;
  const y = cb.value as number | string;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Values compared in a range operator: numbers with numbers, strings with strings, dates with dates. */
function rangeCompare(field: unknown, bound: unknown): number | undefined {
  const b = comparable(bound);
  if (!b || b.rank === 0) return undefined;
  const f = comparable(field, b.rank === 4);
  if (!f || f.rank !== b.rank) return undefined;
  const x = f.value as number | string;
  const y = b.value as number | string;
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * Equality as LeanCloud means it, handed to sift as its `compare`: dates by instant (a stored ISO
 * string equals a `{"__type":"Date"}` of the same instant), everything else by deep JSON equality
 * (object keys in any order; a missing value equals `null`). sift itself supplies Mongo's "a scalar
 * against an array means contains" by visiting each element.
 */
function lcEquals(expected: unknown, actual: unknown): boolean {
  const ms = dateMs(expected);
  if (ms !== undefined) return dateMs(actual, true) === ms;
  return jsonEqual(expected, actual);
}

/**
 * Translates a LeanCloud/Parse `$regex` to a JS RegExp: `\Q…\E` quotes a literal (the SDK's
 * startsWith/endsWith/contains send it), options `i`, `m`, `s` map to flags, `x` strips whitespace
 * and `#` comments.
 * @throws AppError `object.invalid_query` for an invalid pattern or option
 */
export function translateRegex(pattern: string, options = ''): RegExp {
  if (pattern.length > 1024) throw invalid('$regex pattern too long.');
  if (!/^[imsx]*$/.test(options)) throw invalid(`Unsupported $options: ${options.slice(0, 16)}`);
  let source = '';
  let i = 0;
  while (i < pattern.length) {
    const start = pattern.indexOf('\\Q', i);
    if (start < 0) {
      source += pattern.slice(i);
      break;
    }
    source += pattern.slice(i, start);
    const end = pattern.indexOf('\\E', start + 2);
    const literal = pattern.slice(start + 2, end < 0 ? undefined : end);
    source += literal.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
    i = end < 0 ? pattern.length : end + 2;
  }
  if (options.includes('x')) source = source.replace(/\\#/g, '\u0000').replace(/#[^\n]*/g, '').replace(/\s+/g, '').replace(/\u0000/g, '\\#');
  try {
    return new RegExp(source, options.replace(/x/g, ''));
  } catch {
    throw invalid('Invalid $regex pattern.');
  }
}

const OPERATORS = new Set(['$ne', '$lt', '$lte', '$gt', '$gte', '$in', '$nin', '$all', '$exists', '$regex', '$options', '$size']);

/** True when `value` is an operator document (`{"$gt": …}`), not a value to compare with. */
function isOperatorDoc(value: unknown): value is Record<string, unknown> {
  if (!isPlainObject(value)) return false;
  const keys = Object.keys(value);
  return keys.length > 0 && keys.every((k) => k.startsWith('$'));
}

/** True when sift would read `value` as a query rather than a value (an object with a `$` key). */
const hasOperatorKey = (value: unknown) => isPlainObject(value) && Object.keys(value).some((k) => k.startsWith('$'));

/** Options of {@link compileWhere}. */
export interface CompileOptions {
  /**
   * Whether `$regex` is accepted (default true). Client-controlled patterns run on the backtracking
   * engine and could block the event loop (ReDoS), so only the master key may use them.
   */
  allowRegex?: boolean;
}

/** Deepest `$or` / `$and` nesting a `where` may have (the compiler recurses once per level). */
export const MAX_WHERE_DEPTH = 32;

type SiftOptions = NonNullable<Parameters<typeof sift.createQueryTester>[1]>;
type SiftOperation = NonNullable<SiftOptions['operations']>[string];

/** A range operator over LeanCloud's value order (numbers with numbers, strings with strings, dates with dates). */
const rangeOperation =
  (accept: (c: number) => boolean): SiftOperation =>
  (bound, ownerQuery, options) =>
    sift.createEqualsOperation((value: unknown) => {
      const c = rangeCompare(value, bound);
      return c !== undefined && accept(c);
    }, ownerQuery, options);

/**
 * The only operations sift may run: the ones LeanCloud's `where` has, with LeanCloud's typed values.
 * sift's `$where` (which would run user text as code), `$mod`, `$not`, `$nor`, `$elemMatch` are not
 * here, so sift refuses them even if one got past {@link siftQuery}; `$eq` and `$type` are only emitted
 * by {@link siftQuery} itself.
 */
const SIFT_OPTIONS: SiftOptions = {
  compare: lcEquals,
  operations: {
    $eq: sift.$eq,
    $ne: sift.$ne,
    $in: sift.$in,
    $nin: sift.$nin,
    $all: sift.$all,
    $size: sift.$size,
    $exists: sift.$exists,
    $regex: sift.$regex,
    $type: sift.$type,
    $or: sift.$or,
    $and: sift.$and,
    $lt: rangeOperation((c) => c < 0),
    $lte: rangeOperation((c) => c <= 0),
    $gt: rangeOperation((c) => c > 0),
    $gte: rangeOperation((c) => c >= 0),
  },
};

/** One field's condition as a sift query: plain values become `$eq` so sift never reads them as queries. */
function siftCondition(condition: unknown, compile: CompileOptions): Record<string, unknown> {
  if (!isOperatorDoc(condition)) return { $eq: condition };
  const out: Record<string, unknown> = {};
  for (const [op, arg] of Object.entries(condition)) {
    if (!OPERATORS.has(op)) throw invalid(`Unsupported query operator ${op.slice(0, 32)}.`);
    switch (op) {
      case '$in':
      case '$nin':
        if (!Array.isArray(arg)) throw invalid(`${op} needs an array.`);
        if (arg.some(hasOperatorKey)) throw invalid(`${op} values cannot have $ keys.`);
        out[op] = arg;
        break;
      case '$all':
        if (!Array.isArray(arg)) throw invalid('$all needs an array.');
        out.$all = arg.map((v) => ({ $eq: v }));
        if (arg.length === 0) out.$type = 'array'; // sift's empty $all matches anything; LeanCloud's, any array
        break;
      case '$size':
        if (typeof arg !== 'number') throw invalid('$size needs a number.');
        out.$size = arg;
        break;
      case '$regex': {
        if (compile.allowRegex === false) throw invalid('$regex is only allowed with the master key here.');
        if (typeof arg !== 'string') throw invalid('$regex needs a string.');
        const options = condition.$options;
        if (options !== undefined && typeof options !== 'string') throw invalid('$options needs a string.');
        out.$regex = translateRegex(arg, options ?? '');
        break;
      }
      case '$options':
        if (condition.$regex === undefined) throw invalid('$options needs $regex.');
        break;
      default: // $ne $lt $lte $gt $gte $exists: compared as values
        out[op] = arg;
    }
  }
  return out;
}

/**
 * Checks a `where` document and rewrites it as a sift query over a flat record: each field path
 * (`authData.weixin.openid`) gets a slot (`f0`, `f1`…) in `slots` (key → slot), filled by {@link getPath} (own
 * properties of plain objects only), so sift never walks an object's prototype.
 */
function siftQuery(where: unknown, compile: CompileOptions, depth: number, slots: Map<string, string>): Record<string, unknown> {
  if (where === undefined || where === null) return {};
  if (!isPlainObject(where)) throw invalid('where must be a JSON object.');
  if (depth > MAX_WHERE_DEPTH) throw invalid(`$or / $and are nested too deeply (at most ${MAX_WHERE_DEPTH} levels).`);
  const out: Record<string, unknown> = {};
  for (const [key, condition] of Object.entries(where)) {
    if (key === '$or' || key === '$and') {
      if (!Array.isArray(condition) || condition.length === 0) throw invalid(`${key} needs a non-empty array.`);
      out[key] = condition.map((c) => siftQuery(c, compile, depth + 1, slots));
      continue;
    }
    if (key.startsWith('$')) throw invalid(`Unsupported query operator ${key.slice(0, 32)}.`);
    const path = key.split('.');
    if (path.some((p) => p.length === 0)) throw invalid(`Invalid key ${key.slice(0, 64)}.`);
    const slot = slots.get(key) ?? `f${slots.size}`;
    slots.set(key, slot);
    out[slot] = siftCondition(condition, compile);
  }
  return out;
}

/**
 * Compiles a `where` document to a predicate evaluated by sift (Mongo query semantics): field
 * conditions (dotted paths allowed), operators `$ne $lt $lte $gt $gte $in $nin $all $size $exists
 * $regex/$options`, and `$or` / `$and` (arrays of documents, nested at most {@link MAX_WHERE_DEPTH}
 * levels). Values compare as LeanCloud does ({@link lcEquals}; ranges only within one type, dates
 * by instant). Sub-queries on other classes (`$inQuery`, `$select`…), geo operators and `$where`
 * are refused; so is `$regex` when `options.allowRegex` is false.
 * @throws AppError `object.invalid_query`
 */
export function compileWhere(where: unknown, options: CompileOptions = {}): Predicate {
  const slots = new Map<string, string>();
  const query = siftQuery(where, options, 0, slots);
  let test: (record: Record<string, unknown>) => boolean;
  try {
    test = sift.createQueryTester<Record<string, unknown>>(query, SIFT_OPTIONS);
  } catch (err) {
    throw invalid(`Invalid where: ${String((err as Error).message).slice(0, 64)}`);
  }
  const fields = [...slots].map(([key, slot]) => [slot, key.split('.')] as const);
  return (object) => {
    const record: Record<string, unknown> = Object.create(null);
    for (const [slot, path] of fields) {
      const value = getPath(object, path);
      if (value !== undefined) record[slot] = value;
    }
    return test(record);
  };
}

/** The column of a top-level `where` key the database can filter on, if any. */
const COLUMN_KEYS: Record<string, keyof UserColumnFilter> = {
  objectId: 'ids',
  username: 'usernames',
  email: 'emailKeys',
  mobilePhoneNumber: 'phones',
};

/**
 * The part of a `where` that narrows the rows to read: equality / `$in` on objectId, username, email,
 * mobilePhoneNumber, and ranges on createdAt / updatedAt. The full predicate is still applied to what
 * the database returns, so this only has to be a superset.
 */
export function columnFilter(where: unknown): UserColumnFilter {
  const filter: UserColumnFilter = {};
  if (!isPlainObject(where)) return filter;
  const docs: Record<string, unknown>[] = [where];
  if (Array.isArray(where.$and)) docs.push(...where.$and.filter(isPlainObject));
  for (const doc of docs) {
    for (const [key, condition] of Object.entries(doc)) {
      const column = COLUMN_KEYS[key];
      if (column) {
        const values = isOperatorDoc(condition) ? (Array.isArray(condition.$in) ? condition.$in : undefined) : [condition];
        if (!values || !values.every((v) => typeof v === 'string')) continue;
        const list = (values as string[]).map((v) => (key === 'email' ? v.toLowerCase() : v));
        const prev = filter[column] as string[] | undefined;
        (filter as Record<string, readonly string[]>)[column] = prev ? prev.filter((v) => list.includes(v)) : list;
      } else if ((key === 'createdAt' || key === 'updatedAt') && isOperatorDoc(condition)) {
        const range: TimeRange = { ...(key === 'createdAt' ? filter.createdAt : filter.updatedAt) };
        for (const op of ['gt', 'gte', 'lt', 'lte'] as const) {
          const ms = dateMs(condition[`$${op}`], true);
          if (ms !== undefined) range[op] = ms;
        }
        if (Object.keys(range).length) filter[key] = range;
      }
    }
  }
  return filter;
}

/**
 * Parses `order` (`createdAt,-age`) to a comparator; ties fall back to objectId so pages are stable.
 * @throws AppError `object.invalid_query` for an empty or malformed key
 */
export function compileOrder(order: string | undefined): (a: LcObject, b: LcObject) => number {
  const keys = (order ?? '')
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean)
    .map((k) => {
      const desc = k.startsWith('-');
      const name = desc ? k.slice(1) : k;
      if (!/^[A-Za-z_][A-Za-z0-9_.]*$/.test(name)) throw invalid(`Invalid order key ${k.slice(0, 64)}.`);
      return { path: name.split('.'), desc };
    });
  if (keys.length === 0) keys.push({ path: ['createdAt'], desc: false });
  return (a, b) => {
    for (const k of keys) {
      const c = compareValues(getPath(a, k.path), getPath(b, k.path));
      if (c !== 0) return k.desc ? -c : c;
    }
    return compareValues(a.objectId, b.objectId);
  };
}

/** Fields every projection keeps. */
const ALWAYS = ['objectId', 'createdAt', 'updatedAt'];

/**
 * Applies `keys` (`username,authData.weixin` keeps those; `-email` drops them) to an object.
 * objectId, createdAt and updatedAt are always kept. Only own properties are read or removed; a key
 * with an empty step or a `__proto__` / `constructor` / `prototype` step names nothing and is ignored.
 */
export function projectKeys(object: LcObject, keys: string | undefined): LcObject {
  const list = (keys ?? '')
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  if (list.length === 0) return object;
  // A key naming nothing still counts as a projection (`keys=toString` keeps only the fixed fields).
  const names = (k: string) => !k.split('.').some((p) => p.length === 0 || isForbiddenKey(p));
  const excluded = list.filter((k) => k.startsWith('-')).map((k) => k.slice(1)).filter(names);
  const included = list.filter((k) => !k.startsWith('-'));
  let out: LcObject;
  if (included.length === 0) {
    out = structuredClone(object);
  } else {
    out = {};
    for (const k of ALWAYS) if (object[k] !== undefined) out[k] = object[k];
    for (const key of included.filter(names)) {
      const path = key.split('.');
      const value = getPath(object, path);
      if (value === undefined) continue;
      let node = out;
      for (const part of path.slice(0, -1)) {
        if (!Object.hasOwn(node, part) || !isPlainObject(node[part])) node[part] = {};
        node = node[part] as LcObject;
      }
      node[path[path.length - 1]!] = structuredClone(value);
    }
  }
  for (const key of excluded) {
    if (ALWAYS.includes(key)) continue;
    const path = key.split('.');
    const parent = path.length === 1 ? out : getPath(out, path.slice(0, -1));
    const last = path[path.length - 1]!;
    if (isPlainObject(parent) && Object.hasOwn(parent, last)) delete parent[last];
  }
  return out;
}

/** Parsed paging: LeanCloud's limit is 1..1000 (default 100; anything else falls back to 100). */
export interface Paging {
  limit: number;
  skip: number;
}

/**
 * Parses `limit` and `skip`. `limit=0` is honoured only together with `count=1` (count without rows).
 * @throws AppError `object.invalid_query` for a negative or non-numeric skip
 */
export function parsePaging(limit: unknown, skip: unknown, count: boolean): Paging {
  const l = limit === undefined || limit === '' ? NaN : Number(limit);
  const lim = count && l === 0 ? 0 : Number.isInteger(l) && l >= 1 && l <= 1000 ? l : 100;
  const s = skip === undefined || skip === '' ? 0 : Number(skip);
  if (!Number.isInteger(s) || s < 0) throw invalid('skip must be a non-negative integer.');
  return { limit: lim, skip: s };
}
