import type { CountryCode } from 'libphonenumber-js/max';
import { createRequire } from 'node:module';
import { AppError } from '../../errors/index.js';

type PhoneNumbers = typeof import('libphonenumber-js/max');
let phoneNumbers: PhoneNumbers | undefined;

/**
 * libphonenumber-js with its full ("max") metadata, loaded at the first phone number rather than at start
 * (issue 22 item 1: its ES module build is 93 modules; `tessera start` imported its code 40–190 ms sooner
 * without them). Synchronous: its CommonJS build through `require`. The phone rules below read it.
 */
function libphonenumber(): PhoneNumbers {
  return (phoneNumbers ??= createRequire(import.meta.url)('libphonenumber-js/max') as PhoneNumbers);
}

/** Simple, permissive email shape (RFC 5321 length limit 254); the mailbox proves the rest. */
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@.]+$/;

/**
 * Validates an email address and returns it trimmed, case preserved (comparison is case-insensitive
 * in storage).
 * @throws AppError `user.invalid_email`
 */
export function normalizeEmail(raw: string): string {
  const email = raw.trim();
  if (email.length > 254 || !EMAIL.test(email)) throw new AppError('user.invalid_email');
  return email;
}

/**
 * Parses a phone number with libphonenumber-js (metadata "max") and returns it in E.164 (`+8613…`).
 * Numbers without `+` are read in `defaultRegion` when given.
 * @throws AppError `user.invalid_phone` when it is not a valid number
 */
export function normalizePhone(raw: string, defaultRegion?: string): string {
  const phone = libphonenumber().parsePhoneNumberFromString(raw.trim(), defaultRegion as CountryCode | undefined);
  if (!phone || !phone.isValid()) throw new AppError('user.invalid_phone');
  return phone.number;
}

/**
 * The parts of a stored E.164 number (`+8613800138000` → `{countryCallingCode: '86', nationalNumber:
 * '13800138000'}`), for surfaces that show a phone split (Authing's `phone` and `phoneCountryCode`).
 * Undefined when libphonenumber-js cannot parse it (a number stored before validation was stricter).
 */
export function phoneNumberParts(e164: string): { countryCallingCode: string; nationalNumber: string } | undefined {
  const parsed = libphonenumber().parsePhoneNumberFromString(e164);
  return parsed ? { countryCallingCode: parsed.countryCallingCode, nationalNumber: parsed.nationalNumber } : undefined;
}

/** Native usernames: start with a letter or `_`, then letters, digits, `_`, `.`, `-`; 1–128 characters. */
const USERNAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/;

/**
 * Validates a username. `lenient` (used by the LeanCloud surface, whose apps use phone numbers and
 * arbitrary strings as usernames) accepts any 1–128 characters without whitespace or control codes.
 * Usernames are case-sensitive and stored as given.
 * @throws AppError `user.invalid_username`
 */
export function validateUsername(raw: string, lenient = false): string {
  const ok = lenient ? raw.length >= 1 && [...raw].length <= 128 && !/[\s\p{Cc}]/u.test(raw) : USERNAME.test(raw);
  if (!ok) throw new AppError('user.invalid_username');
  return raw;
}

/** Which kind of identifier a sign-in names. */
export type IdentifierKind = 'username' | 'email' | 'phone';

/** An identifier as given by a caller, before normalisation. */
export interface IdentifierInput {
  username?: string;
  email?: string;
  phone?: string;
}

/**
 * Picks the single identifier of a sign-in request.
 * @throws AppError `auth.identifier_required` unless exactly one is present
 */
export function pickIdentifier(input: IdentifierInput): { kind: IdentifierKind; value: string } {
  const given = (['username', 'email', 'phone'] as const).filter((k) => typeof input[k] === 'string');
  if (given.length !== 1) throw new AppError('auth.identifier_required');
  const kind = given[0]!;
  return { kind, value: input[kind]! };
}
