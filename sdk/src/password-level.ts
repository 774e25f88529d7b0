import { invalidArgument } from './errors.js';
import type { PasswordSecurityLevel } from './types.js';

/**
 * Authing's client-side password security level (authing-js-sdk v4 `computedPasswordSecurityLevel`,
 * spec authing.md §8): HIGH (3) when ≥ 12 characters with a lower-case letter, an upper-case letter and
 * a digit; else MIDDLE (2) when ≥ 8 characters with a letter and a digit; else LOW (1).
 * @throws TesseraError `request.invalid` when `password` is not a string (Authing throws a string)
 * @example
 * ```ts
 * computedPasswordSecurityLevel('abc12345'); // 2
 * ```
 */
export function computedPasswordSecurityLevel(password: string): PasswordSecurityLevel {
  if (typeof password !== 'string') throw invalidArgument('password', 'password must be a `string`');
  if (/^(?=.*[a-z])(?=.*[A-Z])(?=.*\d)[^]{12,}$/.test(password)) return 3;
  if (/^(?=.*[a-zA-Z])(?=.*\d)[^]{8,}$/.test(password)) return 2;
  return 1;
}
