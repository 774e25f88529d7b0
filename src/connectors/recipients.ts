import { AppError } from '../errors/index.js';

/**
 * One plain mailbox `local@domain`: no whitespace, no second `@`, and none of the characters with
 * which an RFC 5322 header could list several recipients or add a display name (`, ; < > " ( ) [ ] \ :`).
 */
const SINGLE_ADDRESS = /^[^\s@,;<>"()[\]\\:]+@[^\s@,;<>"()[\]\\:]+$/;

/** E.164 (ITU-T E.164 §6): `+`, a country code not starting with 0, at most 15 digits in all. */
const E164 = /^\+[1-9]\d{6,14}$/;

/**
 * Guards the email connectors against a recipient that a mail library would read as several addresses
 * (`a@x.test, b@y.test`) or as a display name: the code must reach exactly the address it was issued for.
 * @throws AppError `user.invalid_email`
 */
export function assertEmailRecipient(to: string): void {
  if (to.length > 254 || !SINGLE_ADDRESS.test(to)) throw new AppError('user.invalid_email');
}

/**
 * Guards the SMS connectors: the recipient must be E.164 (what `normalizePhone` returns).
 * @throws AppError `user.invalid_phone`
 */
export function assertPhoneRecipient(to: string): void {
  if (!E164.test(to)) throw new AppError('user.invalid_phone');
}
