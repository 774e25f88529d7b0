import { AppError } from '../errors/index.js';

/**
 * The deepest nesting of arrays and objects a request body may have (issue 15: a body nested ~4 500
 * deep overflowed the stack of recursive checks further on, a 500). 64 is far beyond any real payload.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * Refuses a parsed JSON value nested deeper than `max` arrays/objects ({@link jsonDepth}, which stops
 * as soon as it passes `max`, so the check costs little on hostile input and cannot overflow the stack).
 * @throws AppError `request.invalid` (400) naming the limit
 */
export function assertJsonDepth(value: unknown, max: number = MAX_JSON_DEPTH): void {
  if (jsonDepth(value, max + 1) > max) throw new AppError('request.invalid', { message: `The JSON body is nested deeper than ${max} levels.` });
}

/**
 * The nesting depth of a parsed JSON value (a scalar is 0, `[]` and `{}` are 1), walked iteratively.
 * @param stopAt a depth at which to stop looking (the answer is then `stopAt`); default: no limit
 */
export function jsonDepth(value: unknown, stopAt = Number.POSITIVE_INFINITY): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (current === null || typeof current !== 'object') continue;
    deepest = Math.max(deepest, depth + 1);
    if (deepest >= stopAt) return stopAt;
    for (const child of Array.isArray(current) ? current : Object.values(current as Record<string, unknown>)) stack.push([child, depth + 1]);
  }
  return deepest;
}
