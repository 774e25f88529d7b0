import sift from 'sift';
import { AppError } from '../../errors/index.js';
import type { UserCondition, UserOrderKey, UserQueryColumn } from '../../storage/leancloud-store.js';
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

// ---------------------------------------------------------------------------------------------
// Pushdown: the part of a `where` (and `order`) the database evaluates

/** A `where` as a condition on user columns, and whether it is exactly the `where` (else only a superset). */
export interface Pushdown {
  condition: UserCondition;
  /** True when `condition` selects exactly the users `compileWhere(where)` accepts. */
  exact: boolean;
}

type FieldKind = 'text' | 'bool' | 'time';
/** `_User` fields that are columns: the column, its kind, and whether it may be NULL (the field missing). */
const FIELD_COLUMNS: Record<string, { column: UserQueryColumn; kind: FieldKind; nullable: boolean }> = {
  objectId: { column: 'id', kind: 'text', nullable: false },
  username: { column: 'username', kind: 'text', nullable: true },
  email: { column: 'primary_email', kind: 'text', nullable: true },
  mobilePhoneNumber: { column: 'primary_phone', kind: 'text', nullable: true },
  emailVerified: { column: 'email_verified', kind: 'bool', nullable: false },
  mobilePhoneVerified: { column: 'phone_verified', kind: 'bool', nullable: false },
  createdAt: { column: 'created_at', kind: 'time', nullable: false },
  updatedAt: { column: 'updated_at', kind: 'time', nullable: false },
};
type Field = (typeof FIELD_COLUMNS)[string];

/** Most values an `$in` / `$nin` may have to be pushed down (bound parameters stay well under the limits). */
const MAX_IN_VALUES = 5000;

const TRUE_C: UserCondition = { kind: 'const', value: true };
const FALSE_C: UserCondition = { kind: 'const', value: false };
const exactly = (condition: UserCondition): Pushdown => ({ condition, exact: true });
/** Nothing the database can do: every row, and the `where` is applied in memory. */
const NOT_PUSHED: Pushdown = { condition: TRUE_C, exact: false };

/** AND of conditions, with constants folded. */
function andOf(parts: Pushdown[]): Pushdown {
  const of: UserCondition[] = [];
  let exact = true;
  for (const p of parts) {
    exact &&= p.exact;
    const c = p.condition;
    if (c.kind === 'const') {
      if (!c.value) return { condition: FALSE_C, exact: true };
      continue;
    }
    if (c.kind === 'and') of.push(...c.of);
    else of.push(c);
  }
  return { condition: of.length === 0 ? TRUE_C : of.length === 1 ? of[0]! : { kind: 'and', of }, exact };
}

/** OR of conditions, with constants folded. */
function orOf(parts: Pushdown[]): Pushdown {
  const of: UserCondition[] = [];
  let exact = true;
  for (const p of parts) {
    exact &&= p.exact;
    const c = p.condition;
    if (c.kind === 'const') {
      if (c.value) return { condition: TRUE_C, exact };
      continue;
    }
    if (c.kind === 'or') of.push(...c.of);
    else of.push(c);
  }
  if (parts.some((p) => p.condition.kind === 'const' && p.condition.value)) return { condition: TRUE_C, exact };
  return { condition: of.length === 0 ? FALSE_C : of.length === 1 ? of[0]! : { kind: 'or', of }, exact };
}

/** The exact complement of an exact condition (two-valued: a NULL column satisfies the negation of an atom). */
function negate(c: UserCondition): UserCondition | undefined {
  switch (c.kind) {
    case 'const':
      return { kind: 'const', value: !c.value };
    case 'and':
    case 'or': {
      const of = c.of.map(negate);
      return of.every((x) => x !== undefined) ? { kind: c.kind === 'and' ? 'or' : 'and', of: of as UserCondition[] } : undefined;
    }
    case 'null':
    case 'in':
    case 'compare':
      return { ...c, negate: !c.negate };
    default:
      return undefined;
  }
}

/** Timestamps are assumed to lie in years 0000–9999, where ISO strings sort as their instants do. */
const MIN_MS = -62167219200000;
const MAX_MS = 253402300799999;

/** The smallest instant in [MIN_MS, MAX_MS + 1] whose ISO string satisfies the monotone `test`. */
function firstInstant(test: (iso: string) => boolean): number {
  let lo = MIN_MS;
  let hi = MAX_MS + 1;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (test(new Date(mid).toISOString())) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** True when `s` has no lone UTF-16 surrogate (a database stores only well-formed text). */
const wellFormed = (s: string) => !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);

/** True when JS string order against `s` is code point order (no UTF-16 surrogates or anything above them). */
const belowSurrogates = (s: string) => !/[\uD800-\uFFFF]/.test(s);

/** `{field: value}` (sift `$eq` with {@link lcEquals}) on a column. */
function equalsCondition(field: Field, value: unknown): Pushdown {
  const { column, kind, nullable } = field;
  if (value === null) return exactly(nullable ? { kind: 'null', column } : FALSE_C);
  if (isPlainObject(value) && value.__type === 'Date' && dateMs(value) !== undefined) {
    // A Date equals a value whose (lenient) instant is the same: a text field may parse as a date.
    if (kind === 'time') return exactly({ kind: 'in', column, values: [dateMs(value)!] });
    return kind === 'bool' ? exactly(FALSE_C) : NOT_PUSHED;
  }
  if (typeof value === 'boolean') return exactly(kind === 'bool' ? { kind: 'in', column, values: [value ? 1 : 0] } : FALSE_C);
  if (typeof value === 'number') return exactly(FALSE_C); // no column renders as a number
  if (typeof value !== 'string') return NOT_PUSHED; // objects and arrays: left to sift
  if (kind === 'bool') return exactly(FALSE_C);
  if (kind === 'time') {
    // Rendered as lcTime(ms): equal only to that exact ISO string.
    const ms = Date.parse(value);
    return exactly(!Number.isNaN(ms) && ms >= MIN_MS && ms <= MAX_MS && new Date(ms).toISOString() === value ? { kind: 'in', column, values: [ms] } : FALSE_C);
  }
  if (!wellFormed(value)) return NOT_PUSHED;
  if (column === 'primary_email') {
    // The lower-cased key is indexed; the email itself decides.
    return exactly({ kind: 'and', of: [{ kind: 'in', column: 'primary_email_key', values: [value.toLowerCase()] }, { kind: 'in', column, values: [value] }] });
  }
  return exactly({ kind: 'in', column, values: [value] });
}

/** `$in` as one condition: equalities merged into one IN list per column where possible. */
function inCondition(field: Field, values: unknown[]): Pushdown {
  if (values.length > MAX_IN_VALUES) return NOT_PUSHED;
  const parts = values.map((v) => equalsCondition(field, v));
  const merged = orOf(parts);
  // Merge `col IN (a)` OR `col IN (b)` … into one list (for email: the key list AND the email list).
  if (merged.condition.kind !== 'or') return merged;
  const ins = (c: UserCondition): c is Extract<UserCondition, { kind: 'in' }> => c.kind === 'in' && !c.negate;
  const of = merged.condition.of;
  if (of.every((c) => ins(c) && c.column === field.column)) {
    return { condition: { kind: 'in', column: field.column, values: of.flatMap((c) => (ins(c) ? c.values : [])) }, exact: merged.exact };
  }
  if (field.column === 'primary_email' && of.every((c) => c.kind === 'and' && c.of.length === 2 && c.of.every(ins))) {
    const list = (i: number) => of.flatMap((c) => (c.kind === 'and' && ins(c.of[i]!) ? (c.of[i] as { values: readonly (string | number)[] }).values : []));
    const email: UserCondition = { kind: 'and', of: [{ kind: 'in', column: 'primary_email_key', values: [...new Set(list(0))] }, { kind: 'in', column: 'primary_email', values: list(1) }] };
    return { condition: email, exact: merged.exact };
  }
  return merged;
}

/** `$gt` / `$gte` / `$lt` / `$lte` as {@link rangeCompare} decides them, on a column. */
function rangeCondition(field: Field, op: '<' | '<=' | '>' | '>=', bound: unknown): Pushdown {
  const { column, kind } = field;
  const b = comparable(bound);
  if (!b || b.rank === 0) return exactly(FALSE_C);
  if (b.rank === 1) return exactly(kind === 'bool' ? { kind: 'compare', column, op, value: bound ? 1 : 0 } : FALSE_C);
  if (b.rank === 2) return exactly(FALSE_C);
  if (b.rank === 4) {
    // A Date bound: the field's instant (a text field could parse as a date: not pushed).
    if (kind === 'time') return exactly({ kind: 'compare', column, op, value: b.value as number });
    return kind === 'bool' ? exactly(FALSE_C) : NOT_PUSHED;
  }
  // A string bound: compared with the field as strings.
  const text = bound as string;
  if (kind === 'bool') return exactly(FALSE_C);
  if (kind === 'text') return belowSurrogates(text) ? exactly({ kind: 'compare', column, op, value: text }) : NOT_PUSHED;
  // The ISO string of the instant against the bound: ISO strings sort as instants, so the set of
  // matching instants is a range with a computable end.
  const firstAbove = firstInstant((iso) => iso > text);
  const firstAtLeast = firstInstant((iso) => iso >= text);
  switch (op) {
    case '>':
      return exactly({ kind: 'compare', column, op: '>=', value: firstAbove });
    case '>=':
      return exactly({ kind: 'compare', column, op: '>=', value: firstAtLeast });
    case '<':
      return exactly({ kind: 'compare', column, op: '<', value: firstAtLeast });
    case '<=':
      return exactly({ kind: 'compare', column, op: '<', value: firstAbove });
  }
}

/** The literal structure of a regex source: its anchored literal start, the literal runs every match contains. */
interface RegexLiterals {
  /** The literal the match must start with (after `^`), if any. */
  prefix: string | undefined;
  /** Literal runs every match contains (the prefix included). */
  runs: string[];
  /** True when the source is nothing but `^`? and one literal run. */
  whole: boolean;
  anchored: boolean;
}

/**
 * Reads a JS regex source (without the `u` flag) for its literal parts. Conservative: undefined for any
 * alternation or escape it does not know; groups, classes, `.`, assertions end a run; a quantifier that
 * allows zero repetitions takes back the character before it.
 */
export function regexLiterals(source: string): RegexLiterals | undefined {
  if (source === '(?:)') return { prefix: undefined, runs: [], whole: true, anchored: false };
  const runs: string[] = [];
  let current: string[] = [];
  let whole = true;
  let anchored = false;
  let prefixOpen = false;
  let prefix: string | undefined;
  let i = 0;
  if (source.startsWith('^')) {
    anchored = true;
    prefixOpen = true;
    i = 1;
  }
  const endRun = () => {
    if (current.length > 0) {
      if (prefixOpen) prefix = current.join('');
      runs.push(current.join(''));
    }
    prefixOpen = false;
    current = [];
  };
  const opaque = () => {
    endRun();
    whole = false;
  };
  /** Index just past the bracket closing the class or group opened at `start`. */
  const skipClass = (start: number): number => {
    let j = start + 1;
    if (source[j] === '^') j++;
    while (j < source.length && source[j] !== ']') j += source[j] === '\\' ? 2 : 1;
    return j + 1;
  };
  const skipGroup = (start: number): number | undefined => {
    let depth = 0;
    let j = start;
    while (j < source.length) {
      const c = source[j]!;
      if (c === '\\') j += 2;
      else if (c === '[') j = skipClass(j);
      else {
        if (c === '(') depth++;
        if (c === ')' && --depth === 0) return j + 1;
        j++;
      }
    }
    return undefined;
  };
  while (i < source.length) {
    const c = source[i]!;
    if (c === '|') return undefined;
    if (c === '\\') {
      const d = source[i + 1];
      if (d === undefined) return undefined;
      if (/[dwsDWSbB]/.test(d)) {
        opaque();
        i += 2;
        continue;
      }
      if (/[A-Za-z0-9_]/.test(d)) return undefined;
      const cp = String.fromCodePoint(source.codePointAt(i + 1)!);
      current.push(cp);
      i += 1 + cp.length;
      continue;
    }
    if (c === '[') {
      opaque();
      i = skipClass(i);
      continue;
    }
    if (c === '(') {
      const end = skipGroup(i);
      if (end === undefined) return undefined;
      opaque();
      i = end;
      continue;
    }
    if (c === '.' || c === '^' || c === '$') {
      opaque();
      i++;
      continue;
    }
    const braces = c === '{' ? /^\{(\d+)(,\d*)?\}/.exec(source.slice(i)) : null;
    if (c === '*' || c === '?' || c === '+' || braces) {
      // Zero repetitions allowed: the previous atom (a literal character, if it was one) is optional.
      const optional = c === '*' || c === '?' || (braces !== null && Number(braces[1]) === 0);
      if (optional) current.pop();
      opaque();
      i += braces ? braces[0].length : 1;
      if (source[i] === '?') i++;
      continue;
    }
    const cp = String.fromCodePoint(source.codePointAt(i)!);
    current.push(cp);
    i += cp.length;
  }
  endRun();
  if (runs.length > 1) whole = false;
  return { prefix, runs, whole, anchored };
}

/** `$regex` (+ `$options`) on a column: prefix / substring conditions from its literal parts. */
function regexCondition(field: Field, pattern: unknown, options: unknown): Pushdown {
  const { column, kind } = field;
  if (kind !== 'text' || typeof pattern !== 'string' || (options !== undefined && typeof options !== 'string')) return NOT_PUSHED;
  let re: RegExp;
  try {
    re = translateRegex(pattern, options ?? '');
  } catch {
    return NOT_PUSHED;
  }
  const literals = regexLiterals(re.source);
  if (!literals || !literals.runs.every(wellFormed)) return NOT_PUSHED;
  const ci = re.flags.includes('i');
  // With `m`, `^` also matches after a line break: the prefix is only a substring then.
  const multiline = re.flags.includes('m');
  const prefix = multiline ? undefined : literals.prefix;
  const parts: Pushdown[] = [exactly({ kind: 'null', column, negate: true })];
  const flag = ci ? { caseInsensitive: true } : {};
  if (prefix !== undefined) parts.push({ condition: { kind: 'prefix', column, text: prefix, ...flag }, exact: !ci });
  for (const run of prefix !== undefined ? literals.runs.slice(1) : literals.runs) parts.push({ condition: { kind: 'contains', column, text: run, ...flag }, exact: !ci });
  const result = andOf(parts);
  // Exact only when the pattern is nothing but its literal (anchored, unless `m` makes `^` a line start).
  const exact = result.exact && literals.whole && !(multiline && literals.anchored && literals.runs.length > 0);
  return { condition: result.condition, exact };
}

/** One field's condition (a value, or an operator document) on a column. */
function fieldCondition(field: Field, condition: unknown): Pushdown {
  if (!isOperatorDoc(condition)) return equalsCondition(field, condition);
  const parts: Pushdown[] = [];
  for (const [op, arg] of Object.entries(condition)) {
    switch (op) {
      case '$ne': {
        const eq = equalsCondition(field, arg);
        const not = eq.exact ? negate(eq.condition) : undefined;
        parts.push(not ? exactly(not) : NOT_PUSHED);
        break;
      }
      case '$in':
        parts.push(Array.isArray(arg) ? inCondition(field, arg) : NOT_PUSHED);
        break;
      case '$nin': {
        const inside = Array.isArray(arg) ? inCondition(field, arg) : NOT_PUSHED;
        const not = inside.exact ? negate(inside.condition) : undefined;
        parts.push(not ? exactly(not) : NOT_PUSHED);
        break;
      }
      case '$exists':
        parts.push(exactly(field.nullable ? { kind: 'null', column: field.column, negate: Boolean(arg) } : { kind: 'const', value: Boolean(arg) }));
        break;
      case '$gt':
        parts.push(rangeCondition(field, '>', arg));
        break;
      case '$gte':
        parts.push(rangeCondition(field, '>=', arg));
        break;
      case '$lt':
        parts.push(rangeCondition(field, '<', arg));
        break;
      case '$lte':
        parts.push(rangeCondition(field, '<=', arg));
        break;
      case '$regex':
        parts.push(regexCondition(field, arg, condition.$options));
        break;
      case '$options':
        break;
      default: // $all, $size: array operators, left to sift
        parts.push(NOT_PUSHED);
    }
  }
  return andOf(parts);
}

/**
 * The part of a (valid, see {@link compileWhere}) `where` the database can evaluate, as a condition on the
 * user columns (objectId, username, email, mobilePhoneNumber, emailVerified, mobilePhoneVerified,
 * createdAt, updatedAt): equality, `$ne`, `$in`, `$nin`, `$exists`, ranges (LeanCloud's typing: a bound
 * of another type matches nothing; strings by code point only when that is JS order), `$regex` literal
 * prefixes and substrings, `$and` / `$or` of such. The condition never excludes a user the `where`
 * accepts; `exact` says it also accepts no other. Timestamps are assumed to lie in years 0000–9999.
 */
export function pushdownWhere(where: unknown, depth = 0): Pushdown {
  if (where === undefined || where === null) return exactly(TRUE_C);
  if (!isPlainObject(where) || depth > MAX_WHERE_DEPTH) return NOT_PUSHED;
  const parts: Pushdown[] = [];
  for (const [key, condition] of Object.entries(where)) {
    if (key === '$and' || key === '$or') {
      if (!Array.isArray(condition) || condition.length === 0) return NOT_PUSHED;
      const children = condition.map((c) => pushdownWhere(c, depth + 1));
      parts.push(key === '$and' ? andOf(children) : orOf(children));
      continue;
    }
    const field = Object.hasOwn(FIELD_COLUMNS, key) ? FIELD_COLUMNS[key] : undefined;
    parts.push(field ? fieldCondition(field, condition) : NOT_PUSHED);
  }
  return andOf(parts);
}

/** `order` keys the database can sort exactly as {@link compileOrder} does (non-text, or ASCII-only text). */
const ORDER_COLUMNS: Record<string, UserQueryColumn> = {
  objectId: 'id',
  createdAt: 'created_at',
  updatedAt: 'updated_at',
  emailVerified: 'email_verified',
  mobilePhoneVerified: 'phone_verified',
  mobilePhoneNumber: 'primary_phone',
};

/**
 * `order` as SQL order keys (then id), or undefined when a key is not a column SQL sorts as
 * {@link compileOrder} does. Object ids and phone numbers are ASCII (generated ids, E.164), where code
 * point order is JS string order; username and email are not pushed (JS compares UTF-16 code units).
 */
export function pushdownOrder(order: string | undefined): UserOrderKey[] | undefined {
  const keys = (order ?? '')
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  if (keys.length === 0) return [{ column: 'created_at', desc: false }];
  const out: UserOrderKey[] = [];
  for (const k of keys) {
    const desc = k.startsWith('-');
    const name = desc ? k.slice(1) : k;
    const column = Object.hasOwn(ORDER_COLUMNS, name) ? ORDER_COLUMNS[name] : undefined;
    if (!column) return undefined;
    out.push({ column, desc });
  }
  return out;
}
