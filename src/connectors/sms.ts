import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import { AppError } from '../errors/index.js';
import { assertPhoneRecipient } from './recipients.js';
import type { Templates } from './templates.js';
import type { CodeMessage, SmsConnector } from './types.js';

/** Name of the request header that carries the webhook signature. */
export const SIGNATURE_HEADER = 'X-Tessera-Signature';

/** The console connectors' log message: it says plainly that nothing was sent. */
export const CONSOLE_SMS_MESSAGE = 'DEVELOPMENT ONLY: SMS not sent, console connector';

/** JSON body POSTed to the SMS webhook. */
export interface SmsWebhookPayload {
  /** E.164 phone number. */
  to: string;
  /** The rendered SMS text (contains the code). */
  text: string;
  /** The code alone, for providers whose templates take it as a parameter. */
  code: string;
  purpose: CodeMessage['purpose'];
  locale: CodeMessage['locale'];
}

function hmacHex(secret: string, timestampSeconds: number, rawBody: string | Uint8Array): string {
  return createHmac('sha256', secret).update(`${timestampSeconds}.`, 'utf8').update(rawBody).digest('hex');
}

/**
 * The `X-Tessera-Signature` value for one request body, Stripe's scheme
 * (https://docs.stripe.com/webhooks#verify-manually): `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.
 * @param timestampSeconds Unix time in **seconds** (integer)
 * @example signWebhookBody('s3cret…', '{"to":"+8613800138000"}', 1767225600) // 't=1767225600,v1=5f0c…'
 */
export function signWebhookBody(secret: string, rawBody: string | Uint8Array, timestampSeconds: number): string {
  const t = Math.floor(timestampSeconds);
  return `t=${t},v1=${hmacHex(secret, t, rawBody)}`;
}

/**
 * For webhook receivers: checks an `X-Tessera-Signature` header against the raw request body (the
 * exact bytes received, before any JSON parsing), Stripe-style. Several `v1=` entries are allowed (any
 * may match, for secret rotation); comparison is constant-time (`crypto.timingSafeEqual`).
 * @param header the header value `t=<unix seconds>,v1=<hex>[,v1=<hex>…]`
 * @param nowSeconds current Unix time in **seconds** (default: the system clock)
 * @param toleranceSeconds largest accepted |now − t| in **seconds**, against replays (default 300, Stripe's)
 * @returns true when a signature matches and the timestamp is within tolerance; false otherwise (never throws)
 * @example verifyWebhookSignature(secret, req.headers['x-tessera-signature'], rawBody, Date.now() / 1000)
 */
export function verifyWebhookSignature(
  secret: string,
  header: string | undefined | null,
  rawBody: string | Uint8Array,
  nowSeconds: number = Date.now() / 1000,
  toleranceSeconds = 300,
): boolean {
  if (typeof header !== 'string' || header.length > 4096) return false;
  let timestamp: number | undefined;
  const candidates: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't') {
      if (!/^\d{1,12}$/.test(value) || timestamp !== undefined) return false;
      timestamp = Number(value);
    } else if (key === 'v1') {
      candidates.push(value);
    }
  }
  if (timestamp === undefined || candidates.length === 0) return false;
  if (!(Math.abs(nowSeconds - timestamp) <= toleranceSeconds)) return false;
  const expected = Buffer.from(hmacHex(secret, timestamp, rawBody), 'hex');
  let matched = false;
  for (const candidate of candidates) {
    if (!/^[0-9a-f]{64}$/i.test(candidate)) continue;
    if (timingSafeEqual(Buffer.from(candidate, 'hex'), expected)) matched = true;
  }
  return matched;
}

/** Options of {@link WebhookSmsConnector}. */
export interface WebhookSmsOptions {
  /** `config.sms.webhookUrl` (http or https). */
  url: string;
  /** `config.sms.webhookSecret`; when set, every request is signed ({@link signWebhookBody}). */
  secret?: string | undefined;
  /** `config.sms.timeoutSeconds`: whole request deadline in **seconds** (fractions allowed). */
  timeoutSeconds: number;
  templates: Templates;
  /** Where delivery failures are logged (with their cause, at `error` level). Optional. */
  logger?: Logger;
  /** Clock for the signature timestamp, Unix **milliseconds** (default `Date.now`). */
  now?: () => number;
}

/**
 * Sends SMS through an HTTP webhook run by the operator (which talks to Twilio, Aliyun, Tencent Cloud…):
 * `POST <url>` with `Content-Type: application/json` and body {@link SmsWebhookPayload}, signed with
 * `X-Tessera-Signature` when a secret is configured. Any 2xx answer counts as delivered; redirects are
 * not followed (a 3xx fails), so the signed body never goes elsewhere.
 */
export class WebhookSmsConnector implements SmsConnector {
  readonly kind = 'webhook' as const;
  readonly #options: WebhookSmsOptions;
  readonly #closing = new AbortController();

  constructor(options: WebhookSmsOptions) {
    this.#options = options;
  }

  /**
   * Renders and POSTs one message; waits at most `timeoutSeconds` for the whole exchange.
   * @throws AppError `user.invalid_phone` when `message.to` is not E.164 (nothing is sent);
   *   `connector.delivery_failed` (502) on a non-2xx status, a network error, the timeout, or after
   *   {@link close} — the cause is kept for the log, never shown to callers.
   */
  async send(message: CodeMessage): Promise<void> {
    assertPhoneRecipient(message.to);
    const { url, secret, timeoutSeconds, templates, now = Date.now } = this.#options;
    const payload: SmsWebhookPayload = {
      to: message.to,
      text: templates.renderSms(message),
      code: message.code,
      purpose: message.purpose,
      locale: message.locale,
    };
    const body = JSON.stringify(payload);
    const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'Tessera-SMS-Webhook/0.1' };
    if (secret) headers[SIGNATURE_HEADER] = signWebhookBody(secret, body, Math.floor(now() / 1000));
    const signal = AbortSignal.any([this.#closing.signal, AbortSignal.timeout(Math.ceil(timeoutSeconds * 1000))]);
    try {
      const response = await fetch(url, { method: 'POST', headers, body, signal, redirect: 'manual' });
      // Drain the answer so the connection can be reused; its content is not used.
      await response.arrayBuffer();
      if (response.status < 200 || response.status > 299) throw new Error(`SMS webhook answered HTTP ${response.status}`);
    } catch (error) {
      this.#options.logger?.error({ err: error, connector: 'webhook', purpose: message.purpose }, 'SMS delivery failed');
      throw new AppError('connector.delivery_failed', { cause: error });
    }
  }

  /** Aborts requests in flight; later sends fail with `connector.delivery_failed`. */
  async close(): Promise<void> {
    this.#closing.abort(new Error('SMS connector closed'));
  }
}

/**
 * Development only: instead of sending, writes the rendered SMS to the pino logger at `warn` level
 * under the field `sms` (`{to, purpose, locale, text}`), with the message {@link CONSOLE_SMS_MESSAGE}.
 * The code is inside `sms.text`, not in a field named `code` (which the app's logger redacts).
 */
export class ConsoleSmsConnector implements SmsConnector {
  readonly kind = 'console' as const;

  constructor(
    private readonly templates: Templates,
    private readonly logger: Logger,
  ) {}

  /** @throws AppError `user.invalid_phone` when `message.to` is not E.164 */
  async send(message: CodeMessage): Promise<void> {
    assertPhoneRecipient(message.to);
    const text = this.templates.renderSms(message);
    this.logger.warn(
      { connector: 'console', sms: { to: message.to, purpose: message.purpose, locale: message.locale, text } },
      CONSOLE_SMS_MESSAGE,
    );
  }

  /** Nothing to release. */
  async close(): Promise<void> {}
}
