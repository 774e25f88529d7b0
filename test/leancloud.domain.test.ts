/**
 * The LeanCloud rules that need no server: request signatures, typed values, `__op` operators, ACLs,
 * authData identity keys, and the query language (where, regex, order, keys, paging).
 */
import { describe, expect, it } from 'vitest';
import { authDataEntry } from '../src/domain/leancloud/auth-data.js';
import { toLcUser } from '../src/http/leancloud/wire.js';
import { aclAllowsRead, applyOp, applyUpdateAt, decodeValue, parseAcl, randomUsername } from '../src/domain/leancloud/objects.js';
import { compareValues, compileOrder, compileWhere, parsePaging, projectKeys, translateRegex } from '../src/http/leancloud/query.js';
import { isAppError } from '../src/errors/index.js';
import { checkAppAuth, lcSignature } from '../src/http/leancloud/app-auth.js';
import { toLcError } from '../src/http/leancloud/errors.js';
import { AppError } from '../src/errors/index.js';
import type { UserRecord } from '../src/storage/store.js';

/** The AppError code `fn` throws. */
function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (isAppError(error)) return error.code;
    throw error;
  }
  throw new Error('expected an AppError');
}

describe('X-LC-Sign', () => {
  // The test vector of LeanCloud's REST documentation (shared/specs/leancloud.md §1.2).
  const keys = { appId: 'app', appKey: 'UtOCzqb67d3sN12Kts4URwy8', masterKey: 'DyJegPlemooo4X1tg94gQkw1', signatureSkewSeconds: 900 };
  const ts = 1453014943466;

  it('matches the documented vectors', () => {
    expect(lcSignature(String(ts), keys.appKey)).toBe('d5bcbb897e19b2f6633c716dfdfaf9be');
    expect(lcSignature(String(ts), keys.masterKey)).toBe('e074720658078c898aa0d4b1b82bdf4b');
  });

  it('accepts app and master signatures within the skew, and refuses the rest', () => {
    const h = (sign: string) => ({ 'x-lc-id': 'app', 'x-lc-sign': sign });
    expect(checkAppAuth(h(`d5bcbb897e19b2f6633c716dfdfaf9be,${ts}`), keys, ts + 1000)).toEqual({ master: false });
    expect(checkAppAuth(h(`D5BCBB897E19B2F6633C716DFDFAF9BE,${ts}`), keys, ts)).toEqual({ master: false });
    expect(checkAppAuth(h(`e074720658078c898aa0d4b1b82bdf4b,${ts},master`), keys, ts)).toEqual({ master: true });
    expect(checkAppAuth(h(`e074720658078c898aa0d4b1b82bdf4b,${ts}`), keys, ts)).toBeUndefined();
    expect(checkAppAuth(h(`d5bcbb897e19b2f6633c716dfdfaf9be,${ts}`), keys, ts + 901_000)).toBeUndefined();
    expect(checkAppAuth(h(`d5bcbb897e19b2f6633c716dfdfaf9be,${ts},admin`), keys, ts)).toBeUndefined();
    expect(checkAppAuth(h(`e074720658078c898aa0d4b1b82bdf4b,${ts},master`), { ...keys, masterKey: undefined }, ts)).toBeUndefined();
    expect(checkAppAuth({ 'x-lc-id': 'app', 'x-lc-key': keys.appKey }, keys, ts)).toEqual({ master: false });
    expect(checkAppAuth({ 'x-lc-id': 'app', 'x-lc-key': `${keys.masterKey},master` }, keys, ts)).toEqual({ master: true });
    expect(checkAppAuth({ 'x-lc-id': 'other', 'x-lc-key': keys.appKey }, keys, ts)).toBeUndefined();
  });
});

describe('typed values and operators', () => {
  it('normalises Dates and checks typed values and nested keys', () => {
    expect(decodeValue({ __type: 'Date', iso: '2020-01-01T08:00:00+08:00' })).toEqual({ __type: 'Date', iso: '2020-01-01T00:00:00.000Z' });
    expect(decodeValue({ __type: 'Pointer', className: 'Post', objectId: 'p1', extra: 1 })).toEqual({ __type: 'Pointer', className: 'Post', objectId: 'p1' });
    expect(decodeValue({ a: [1, { b: null }] })).toEqual({ a: [1, { b: null }] });
    expect(codeOf(() => decodeValue({ __type: 'Date', iso: 'soon' }))).toBe('object.invalid_type');
    expect(codeOf(() => decodeValue({ __type: 'GeoPoint', latitude: 91, longitude: 0 }))).toBe('object.invalid_type');
    expect(codeOf(() => decodeValue({ __type: 'Relation', className: 'X' }))).toBe('object.invalid_type');
    expect(codeOf(() => decodeValue({ 'a.b': 1 }))).toBe('object.invalid_key');
    expect(codeOf(() => decodeValue({ $gt: 1 }))).toBe('object.invalid_key');
    expect(codeOf(() => decodeValue({ x: { __op: 'Delete' } }))).toBe('object.invalid_type');
    expect(codeOf(() => decodeValue(Number.NaN))).toBe('object.invalid_type');
  });

  it('applies every supported __op and refuses the rest', () => {
    expect(applyOp(undefined, { __op: 'Increment', amount: 3 })).toEqual({ kind: 'set', value: 3 });
    expect(applyOp(5, { __op: 'Decrement' })).toEqual({ kind: 'set', value: 4 });
    expect(applyOp(['a'], { __op: 'Add', objects: ['a', 'b'] })).toEqual({ kind: 'set', value: ['a', 'a', 'b'] });
    expect(applyOp([{ x: 1 }], { __op: 'AddUnique', objects: [{ x: 1 }, { x: 2 }] })).toEqual({ kind: 'set', value: [{ x: 1 }, { x: 2 }] });
    expect(applyOp(['a', 'b', 'a'], { __op: 'Remove', objects: ['a'] })).toEqual({ kind: 'set', value: ['b'] });
    expect(applyOp(6, { __op: 'BitAnd', value: 3 })).toEqual({ kind: 'set', value: 2 });
    expect(applyOp(6, { __op: 'BitOr', value: 1 })).toEqual({ kind: 'set', value: 7 });
    expect(applyOp(6, { __op: 'BitXor', value: 2 })).toEqual({ kind: 'set', value: 4 });
    expect(applyOp('x', { __op: 'Delete' })).toEqual({ kind: 'delete' });
    expect(codeOf(() => applyOp('x', { __op: 'Increment' }))).toBe('object.invalid_type');
    expect(codeOf(() => applyOp(1, { __op: 'Add', objects: ['a'] }))).toBe('object.invalid_type');
    expect(codeOf(() => applyOp(1, { __op: 'AddRelation', objects: [] }))).toBe('object.invalid_type');
    expect(codeOf(() => applyOp(1.5, { __op: 'BitOr', value: 1 }))).toBe('object.invalid_type');
  });

  it('updates dotted paths, creating objects and refusing to descend into non-objects', () => {
    const data: Record<string, unknown> = { profile: { city: 'Beijing' }, n: 1 };
    applyUpdateAt(data, ['profile', 'zip'], '100000');
    applyUpdateAt(data, ['deep', 'a', 'b'], { __op: 'Increment' });
    applyUpdateAt(data, ['profile', 'city'], { __op: 'Delete' });
    applyUpdateAt(data, ['missing', 'x'], { __op: 'Delete' });
    expect(data).toEqual({ profile: { zip: '100000' }, n: 1, deep: { a: { b: 1 } } });
    expect(codeOf(() => applyUpdateAt(data, ['n', 'x'], 1))).toBe('object.invalid_type');
  });

  it('validates ACLs and answers read checks', () => {
    expect(parseAcl({ '*': { read: true, write: false }, u1: { write: true }, u2: { read: false } })).toEqual({ '*': { read: true }, u1: { write: true } });
    expect(codeOf(() => parseAcl({ '*': { delete: true } }))).toBe('object.invalid_acl');
    expect(codeOf(() => parseAcl([]))).toBe('object.invalid_acl');
    expect(aclAllowsRead(undefined, undefined)).toBe(true);
    expect(aclAllowsRead({ u1: { read: true } }, undefined)).toBe(false);
    expect(aclAllowsRead({ u1: { read: true } }, 'u1')).toBe(true);
    expect(aclAllowsRead({ 'role:admin': { read: true } }, 'u1')).toBe(false);
  });

  it('makes 25-character [a-z0-9] usernames', () => {
    expect(randomUsername((n) => n - 1)).toBe('9'.repeat(25));
    expect(randomUsername((n) => Math.floor(Math.random() * n))).toMatch(/^[a-z0-9]{25}$/);
  });
});

describe('authData entries', () => {
  it('uses uid, else openid, else id; anonymous uses id; numbers become text; UnionID fields are read', () => {
    expect(authDataEntry('weibo', { uid: '123', openid: 'x' }).subject).toBe('123');
    expect(authDataEntry('weixin', { openid: 'o1' }).subject).toBe('o1');
    expect(authDataEntry('facebook', { id: 42 }).subject).toBe('42');
    expect(authDataEntry('anonymous', { id: 'uuid', uid: 'no' }).subject).toBe('uuid');
    expect(authDataEntry('wx', { openid: 'o', unionid: 'u', platform: 'weixin', main_account: 'true' }).union).toEqual({ platform: 'weixin', id: 'u', main: true });
    expect(authDataEntry('wx', { openid: 'o', unionid: 'u', platform: 'weixin' }).union?.main).toBe(false);
    expect(codeOf(() => authDataEntry('weibo', { access_token: 't' }))).toBe('identity.invalid');
    expect(codeOf(() => authDataEntry('weibo', 'x'))).toBe('identity.invalid');
    expect(codeOf(() => authDataEntry('_weixin_unionid', { uid: 'u' }))).toBe('object.invalid_key');
  });
});

describe('queries', () => {
  const rows = [
    { objectId: 'a', username: 'tom', age: 30, tags: ['x', 'y'], city: 'Shanghai', createdAt: '2020-01-01T00:00:00.000Z', born: { __type: 'Date', iso: '1990-01-01T00:00:00.000Z' }, authData: { weixin: { openid: 'o1' } } },
    { objectId: 'b', username: 'Tim', age: 25, tags: ['y'], city: 'Hangzhou', createdAt: '2021-01-01T00:00:00.000Z' },
    { objectId: 'c', username: 't.m', age: null, city: 'Beijing', createdAt: '2022-01-01T00:00:00.000Z' },
  ];
  const ids = (where: unknown, order?: string) => rows.filter(compileWhere(where)).sort(compileOrder(order)).map((r) => r.objectId);

  it('evaluates equality, ranges, sets, arrays, existence, dates, dotted paths, $or and $and', () => {
    expect(ids({ city: 'Shanghai' })).toEqual(['a']);
    expect(ids({ tags: 'y' })).toEqual(['a', 'b']);
    expect(ids({ age: { $gt: 25 } })).toEqual(['a']);
    expect(ids({ age: { $gte: 25, $lt: 30 } })).toEqual(['b']);
    expect(ids({ age: { $ne: 30 } })).toEqual(['b', 'c']);
    expect(ids({ city: { $in: ['Beijing', 'Hangzhou'] } })).toEqual(['b', 'c']);
    expect(ids({ city: { $nin: ['Beijing'] } })).toEqual(['a', 'b']);
    expect(ids({ tags: { $all: ['x', 'y'] } })).toEqual(['a']);
    expect(ids({ tags: { $size: 1 } })).toEqual(['b']);
    expect(ids({ tags: { $exists: false } })).toEqual(['c']);
    expect(ids({ age: null })).toEqual(['c']);
    expect(ids({ createdAt: { $gte: { __type: 'Date', iso: '2021-01-01T00:00:00.000Z' } } })).toEqual(['b', 'c']);
    expect(ids({ born: { __type: 'Date', iso: '1990-01-01T00:00:00.000Z' } })).toEqual(['a']);
    expect(ids({ 'authData.weixin.openid': 'o1' })).toEqual(['a']);
    expect(ids({ $or: [{ age: 25 }, { city: 'Beijing' }] })).toEqual(['b', 'c']);
    expect(ids({ $and: [{ tags: 'y' }, { age: { $lt: 30 } }] })).toEqual(['b']);
    expect(ids({})).toEqual(['a', 'b', 'c']);
  });

  it("translates $regex with the SDK's \\Q…\\E quoting and options", () => {
    expect(ids({ username: { $regex: '^\\Qt.\\E' } })).toEqual(['c']);
    expect(ids({ username: { $regex: '^t.' } })).toEqual(['a', 'c']);
    expect(ids({ username: { $regex: '^t', $options: 'i' } })).toEqual(['a', 'b', 'c']);
    expect(translateRegex('a\\Q(*)\\Eb').test('a(*)b')).toBe(true);
    expect(translateRegex('\\Qopen-ended').test('xopen-ended')).toBe(true);
    expect(translateRegex(' a  b # comment', 'x').test('ab')).toBe(true);
    expect(codeOf(() => translateRegex('('))).toBe('object.invalid_query');
    expect(codeOf(() => translateRegex('a', 'g'))).toBe('object.invalid_query');
  });

  it('refuses unsupported operators and malformed documents', () => {
    for (const where of [{ a: { $inQuery: {} } }, { $nor: [] }, { $or: [] }, { a: { $in: 'x' } }, [1], { a: { $regex: 1 } }, { a: { $options: 'i' } }]) {
      expect(codeOf(() => compileWhere(where))).toBe('object.invalid_query');
    }
  });

  it('orders by several keys, missing values first, ties by objectId', () => {
    expect(ids({}, '-age')).toEqual(['a', 'b', 'c']);
    expect(ids({}, 'age')).toEqual(['c', 'b', 'a']);
    expect(ids({}, '-createdAt')).toEqual(['c', 'b', 'a']);
    expect(ids({}, 'nothing,-objectId')).toEqual(['c', 'b', 'a']);
    expect(compareValues(1, 'a')).toBeLessThan(0);
    expect(codeOf(() => compileOrder('a;drop'))).toBe('object.invalid_query');
  });

  it('projects keys and parses paging', () => {
    const o = { objectId: 'a', createdAt: 'c', updatedAt: 'u', a: 1, b: { x: 1, y: 2 }, c: 3 };
    expect(projectKeys(o, 'a,b.x')).toEqual({ objectId: 'a', createdAt: 'c', updatedAt: 'u', a: 1, b: { x: 1 } });
    expect(projectKeys(o, '-c,-b.y,-objectId')).toEqual({ objectId: 'a', createdAt: 'c', updatedAt: 'u', a: 1, b: { x: 1 } });
    expect(projectKeys(o, undefined)).toBe(o);
    expect(parsePaging(undefined, undefined, false)).toEqual({ limit: 100, skip: 0 });
    expect(parsePaging('1000', '5', false)).toEqual({ limit: 1000, skip: 5 });
    expect(parsePaging('1001', undefined, false).limit).toBe(100);
    expect(parsePaging('0', undefined, false).limit).toBe(100);
    expect(parsePaging('0', undefined, true).limit).toBe(0);
    expect(codeOf(() => parsePaging('10', '-1', false))).toBe('object.invalid_query');
  });
});

describe('the _User object and error mapping', () => {
  const user: UserRecord = {
    id: 'u1',
    username: 'tom',
    primaryEmail: null,
    primaryPhone: '+8613800000000',
    name: null,
    avatar: null,
    profile: {},
    customData: { gender: 'f', sessionToken: 'leak', objectId: 'spoof' },
    passwordHash: '$argon2id$secret',
    passwordUpdatedAt: null,
    emailVerified: false,
    phoneVerified: true,
    isSuspended: false,
    createdAt: Date.UTC(2019, 8, 19, 6, 6, 3, 116),
    updatedAt: Date.UTC(2019, 8, 19, 6, 6, 3, 116),
    lastSignInAt: null,
  };

  it('shows system fields, custom fields at the top, no secrets', () => {
    const o = toLcUser({ user, identities: [{ userId: 'u1', provider: 'qq', subject: 'o', data: { openid: 'o' }, createdAt: 0, updatedAt: 0 }] });
    expect(o).toEqual({
      objectId: 'u1',
      username: 'tom',
      mobilePhoneNumber: '+8613800000000',
      emailVerified: false,
      mobilePhoneVerified: true,
      authData: { qq: { openid: 'o' } },
      gender: 'f',
      createdAt: '2019-09-19T06:06:03.116Z',
      updatedAt: '2019-09-19T06:06:03.116Z',
    });
    expect(toLcUser({ user, identities: [], issuedToken: 't' }, { returnAcl: true })).toMatchObject({ sessionToken: 't', ACL: { '*': { read: true }, u1: { read: true, write: true } } });
  });

  it('maps domain errors to LeanCloud numbers and statuses', () => {
    const map = (e: AppError) => [e.code, toLcError(e).status, toLcError(e).body.code];
    expect(map(new AppError('user.not_found'))).toEqual(['user.not_found', 400, 211]);
    expect(toLcError(new AppError('user.not_found', { data: { identifier: 'phone' } })).body.code).toBe(213);
    expect(toLcError(new AppError('user.not_found', { data: { identifier: 'email' } })).body.code).toBe(205);
    expect(map(new AppError('auth.invalid_credentials'))).toEqual(['auth.invalid_credentials', 400, 210]);
    expect(toLcError(new AppError('auth.too_many_failures', { retryAfterSeconds: 60 }))).toMatchObject({ status: 400, body: { code: 219 }, retryAfterSeconds: 60 });
    expect(map(new AppError('user.session_required'))).toEqual(['user.session_required', 403, 206]);
    expect(map(new AppError('internal.error'))).toEqual(['internal.error', 500, 1]);
    expect(toLcError(new AppError('password.rejected', { data: { issues: [{ code: 'password_rejected.too_short' }] } })).body).toEqual({
      code: 218,
      error: 'Invalid password: too_short.',
    });
    expect(toLcError(new AppError('object.invalid_key', { message: 'Invalid key name: 1a' })).body).toEqual({ code: 105, error: 'Invalid key name: 1a' });
  });
});
