/**
 * Shapes shared by the message connectors (issue 3, "one-time codes over real email and SMS").
 * A connector delivers one rendered {@link CodeMessage}; it never stores or logs the code except the
 * development-only console connectors, whose whole point is to show it.
 */

/** Why a code is sent; each purpose has its own message template (Logto's template types). */
export type MessagePurpose = 'SignIn' | 'Register' | 'ForgotPassword' | 'BindNewIdentifier' | 'VerifyEmail' | 'Generic' | 'OrganizationInvitation';

/** Purposes whose messages may carry a link (`{{link}}`): the email verification link, the invitation link. */
export const LINK_PURPOSES: readonly MessagePurpose[] = Object.freeze(['VerifyEmail', 'OrganizationInvitation'] as const);

/** Every {@link MessagePurpose}, in a stable order (for iteration and file-name validation). */
export const MESSAGE_PURPOSES: readonly MessagePurpose[] = Object.freeze([
  'SignIn',
  'Register',
  'ForgotPassword',
  'BindNewIdentifier',
  'VerifyEmail',
  'Generic',
  'OrganizationInvitation',
] as const);

/** Languages the built-in templates exist in (BCP 47 tags): the languages of src/i18n. */
export { type Locale, LOCALES } from '../i18n/locale.js';
import type { Locale } from '../i18n/locale.js';

/** One one-time-code message, before rendering. */
export interface CodeMessage {
  /** Recipient: an email address (email connectors) or an E.164 phone number such as `+8613800138000` (SMS). */
  to: string;
  /** Selects the template. */
  purpose: MessagePurpose;
  /** The one-time code (6 digits in Tessera). */
  code: string;
  /** Selects the template language. */
  locale: Locale;
  /** Lifetime of the code in **minutes**, shown to the user as `{{minutes}}`. */
  expiresInMinutes: number;
  /** VerifyEmail and OrganizationInvitation only: the one-click verification or acceptance link (`http:` or `https:`), shown as `{{link}}`. */
  link?: string;
}

/** Sends code messages by email. */
export interface EmailConnector {
  /** `smtp` delivers through an SMTP server; `console` (development only) writes to the log. */
  readonly kind: 'smtp' | 'console';
  /**
   * Renders and sends one message.
   * @throws AppError `user.invalid_email` when `to` is not a single plain address;
   *   `connector.delivery_failed` (502) when the transport fails (the cause is kept, never shown).
   */
  send(message: CodeMessage): Promise<void>;
  /** Releases the transport (idempotent). */
  close(): Promise<void>;
}

/** Sends code messages by SMS. */
export interface SmsConnector {
  /** `webhook` POSTs to an HTTP endpoint that talks to the SMS provider; `console` (development only) writes to the log. */
  readonly kind: 'webhook' | 'console';
  /**
   * Renders and sends one message.
   * @throws AppError `user.invalid_phone` when `to` is not E.164;
   *   `connector.delivery_failed` (502) on a non-2xx answer, a network error or a timeout.
   */
  send(message: CodeMessage): Promise<void>;
  /** Aborts requests in flight and releases resources (idempotent). */
  close(): Promise<void>;
}
