/**
 * The `where` evaluator on sift (issue 21): the operators sift must never run from user input
 * (`$where`, `$not`, `$type`…), `$regex` smuggled inside a value, prototype paths, and the Mongo
 * semantics sift brings (a range against an array matches any element).
 */
import { describe, expect, it } from 'vitest';
import { compileWhere } from '../src/http/leancloud/query.js';

/** Expects `fn` to throw the AppError `object.invalid_query` (LeanCloud code 102). */
const refused = (fn: () => unknown) => expect(fn).toThrow(expect.objectContaining({ code: 'object.invalid_query' }));

const user = { objectId: 'a', username: 'tom', tags: ['x', 'y'], scores: [1, 9], profile: { city: 'Shanghai' } };
const matches = (where: unknown, allowRegex = true) => compileWhere(where, { allowRegex })(user);

describe('where on sift', () => {
  it("refuses sift's code-running and other non-LeanCloud operators", () => {
    for (const where of [{ $where: 'true' }, { username: { $where: 'true' } }, { username: { $not: { $eq: 'x' } } }, { username: { $eq: 'tom' } }, { tags: { $type: 'array' } }, { tags: { $elemMatch: { $eq: 'x' } } }, { scores: { $mod: [2, 1] } }, { $nor: [{ username: 'x' }] }]) {
      refused(() => compileWhere(where));
    }
  });

  it('reads operator-looking values as values, so $regex cannot hide in $all / equality; $in refuses them', () => {
    expect(matches({ tags: { $all: [{ $regex: 'x' }] } }, false)).toBe(false);
    expect(matches({ profile: { city: 'Shanghai', $regex: '.' } }, false)).toBe(false);
    refused(() => compileWhere({ tags: { $in: [{ $regex: 'x' }] } }));
    refused(() => compileWhere({ tags: { $regex: 'x' } }, { allowRegex: false }));
  });

  it('walks own properties only', () => {
    expect(matches({ constructor: { $exists: true } })).toBe(false);
    expect(matches({ '__proto__.toString': { $exists: true } })).toBe(false);
    expect(matches({ 'username.length': 3 })).toBe(false);
    expect(matches({ 'profile.city': 'Shanghai' })).toBe(true);
  });

  it('keeps LeanCloud values and gains Mongo array semantics', () => {
    expect(matches({ profile: { city: 'Shanghai' } })).toBe(true);
    expect(matches({ scores: { $gt: 5 } })).toBe(true);
    expect(matches({ scores: { $gt: 9 } })).toBe(false);
    expect(matches({ tags: { $all: [] } })).toBe(true);
    expect(matches({ username: { $all: [] } })).toBe(false);
    expect(matches({ $or: [null] })).toBe(true);
  });
});
