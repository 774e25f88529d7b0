import { AppError } from '../../errors/index.js';
import type { TimeRange, UserColumnFilter } from '../../storage/leancloud-store.js';
import { dateMs, getPath, isForbiddenKey, isPlainObject, jsonEqual } from '../../domain/leancloud/objects.js';
import type { LcObject } from './wire.js';

/**
 * LeanCloud's query language (shared/specs/leancloud.md §4.1), part of the `/1.1` wire protocol, as pure
 * functions: a `where` document compiled to a predicate over `_User` objects as the adapter renders them, the part of it the database can evaluate on indexed
 * columns, `order`, `keys` and `limit`/`skip`.
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

/** Equality as LeanCloud means it: dates by instant, and a scalar against an array means "contains". */
function matchesEquals(field: unknown, expected: unknown): boolean {
  const ed = dateMs(expected);
  if (ed !== undefined) return dateMs(field, true) === ed;
  if (Array.isArray(field) && !Array.isArray(expected)) return field.some((x) => jsonEqual(x, expected));
  if (field === undefined) return expected === null;
  return jsonEqual(field, expected);
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

function compileField(path: string[], condition: unknown, compile: CompileOptions): Predicate {
  const get = (o: LcObject) => getPath(o, path);
  if (!isOperatorDoc(condition)) return (o) => matchesEquals(get(o), condition);
  const tests: Predicate[] = [];
  for (const [op, arg] of Object.entries(condition)) {
    if (!OPERATORS.has(op)) throw invalid(`Unsupported query operator ${op.slice(0, 32)}.`);
    switch (op) {
      case '$ne':
        tests.push((o) => !matchesEquals(get(o), arg));
        break;
      case '$lt':
      case '$lte':
      case '$gt':
      case '$gte':
        tests.push((o) => {
          const c = rangeCompare(get(o), arg);
          if (c === undefined) return false;
          return op === '$lt' ? c < 0 : op === '$lte' ? c <= 0 : op === '$gt' ? c > 0 : c >= 0;
        });
        break;
      case '$in':
      case '$nin': {
        if (!Array.isArray(arg)) throw invalid(`${op} needs an array.`);
        const hit = (o: LcObject) => arg.some((v) => matchesEquals(get(o), v));
        tests.push(op === '$in' ? hit : (o) => !hit(o));
        break;
      }
      case '$all':
        if (!Array.isArray(arg)) throw invalid('$all needs an array.');
        tests.push((o) => {
          const v = get(o);
          return Array.isArray(v) && arg.every((x) => v.some((y) => jsonEqual(x, y)));
        });
        break;
      case '$size':
        if (typeof arg !== 'number') throw invalid('$size needs a number.');
        tests.push((o) => {
          const v = get(o);
          return Array.isArray(v) && v.length === arg;
        });
        break;
      case '$exists':
        tests.push((o) => (get(o) !== undefined) === Boolean(arg));
        break;
      case '$regex': {
        if (compile.allowRegex === false) throw invalid('$regex is only allowed with the master key here.');
        if (typeof arg !== 'string') throw invalid('$regex needs a string.');
        const options = condition.$options;
        if (options !== undefined && typeof options !== 'string') throw invalid('$options needs a string.');
        const re = translateRegex(arg, options ?? '');
        tests.push((o) => {
          const v = get(o);
          return typeof v === 'string' && re.test(v);
        });
        break;
      }
      case '$options':
        if (condition.$regex === undefined) throw invalid('$options needs $regex.');
        break;
    }
  }
  return (o) => tests.every((t) => t(o));
}

/**
 * Compiles a `where` document: field conditions (dotted paths allowed), operators `$ne $lt $lte $gt
 * $gte $in $nin $all $size $exists $regex/$options`, and `$or` / `$and` (arrays of documents, nested
 * at most {@link MAX_WHERE_DEPTH} levels). Sub-queries on other classes (`$inQuery`, `$select`…) and
 * geo operators are refused; so is `$regex` when `options.allowRegex` is false.
 * @throws AppError `object.invalid_query`
 */
export function compileWhere(where: unknown, options: CompileOptions = {}): Predicate {
  return compileDoc(where, options, 0);
}

function compileDoc(where: unknown, options: CompileOptions, depth: number): Predicate {
  if (where === undefined || where === null) return () => true;
  if (!isPlainObject(where)) throw invalid('where must be a JSON object.');
  if (depth > MAX_WHERE_DEPTH) throw invalid(`$or / $and are nested too deeply (at most ${MAX_WHERE_DEPTH} levels).`);
  const tests: Predicate[] = [];
  for (const [key, condition] of Object.entries(where)) {
    if (key === '$or' || key === '$and') {
      if (!Array.isArray(condition) || condition.length === 0) throw invalid(`${key} needs a non-empty array.`);
      const parts = condition.map((c) => compileDoc(c, options, depth + 1));
      tests.push(key === '$or' ? (o) => parts.some((p) => p(o)) : (o) => parts.every((p) => p(o)));
      continue;
    }
    if (key.startsWith('$')) throw invalid(`Unsupported query operator ${key.slice(0, 32)}.`);
    const path = key.split('.');
    if (path.some((p) => p.length === 0)) throw invalid(`Invalid key ${key.slice(0, 64)}.`);
    tests.push(compileField(path, condition, options));
  }
  return (o) => tests.every((t) => t(o));
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
