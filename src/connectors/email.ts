import { createRequire } from 'node:module';
import type { Transporter } from 'nodemailer';
import { parseConnectionUrl } from 'nodemailer/lib/shared/index.js';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import type { Logger } from 'pino';
import { AppError } from '../errors/index.js';
import { assertEmailRecipient } from './recipients.js';
import type { Templates } from './templates.js';
import type { CodeMessage, EmailConnector } from './types.js';

/**
 * SMTP timeouts in **milliseconds**, tighter than nodemailer's defaults (2 min to connect, 30 s for the
 * greeting, 10 min of socket inactivity) because a user waits on the request that sends the code.
 * Query parameters of `email.smtpUrl` override them, e.g. `smtp://host:587?connectionTimeout=30000`.
 */
export const SMTP_TIMEOUTS_MS = Object.freeze({ connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 });

/** The console connectors' log message: it says plainly that nothing was sent. */
export const CONSOLE_EMAIL_MESSAGE = 'DEVELOPMENT ONLY: email not sent, console connector';

/** Options of {@link SmtpEmailConnector}. */
export interface SmtpEmailOptions {
  /** `smtp://user:pass@host:port` (STARTTLS when offered) or `smtps://…` (implicit TLS), as in `config.email.smtpUrl`. */
  smtpUrl: string;
  /** RFC 5322 From, e.g. `Tessera <no-reply@example.com>` (`config.email.from`). */
  from: string;
  templates: Templates;
  /** Where delivery failures are logged (with their cause, at `error` level). Optional. */
  logger?: Logger;
}

/**
 * Sends code emails through an SMTP server with nodemailer (https://nodemailer.com/smtp/): one
 * `multipart/alternative` message with the rendered text and HTML bodies, `Auto-Submitted:
 * auto-generated` (RFC 3834, so auto-responders stay quiet). A connection is opened per message.
 */
export class SmtpEmailConnector implements EmailConnector {
  readonly kind = 'smtp' as const;
  readonly #transport: Transporter<SMTPTransport.SentMessageInfo>;
  readonly #templates: Templates;
  readonly #logger: Logger | undefined;

  constructor(options: SmtpEmailOptions) {
    // nodemailer (CommonJS) is loaded only when SMTP is configured.
    const { createTransport } = createRequire(import.meta.url)('nodemailer') as typeof import('nodemailer');
    this.#transport = createTransport({ ...SMTP_TIMEOUTS_MS, ...parseConnectionUrl(options.smtpUrl) }, { from: options.from });
    this.#templates = options.templates;
    this.#logger = options.logger;
  }

  /**
   * Renders `message` with the templates and hands it to the SMTP server.
   * @throws AppError `user.invalid_email` when `message.to` is not one plain address (nothing is sent);
   *   `connector.delivery_failed` (502) when connecting, authenticating or sending fails or the server
   *   rejects the recipient — the SMTP error is the `cause` (for the log) and never the message.
   */
  async send(message: CodeMessage): Promise<void> {
    assertEmailRecipient(message.to);
    const { subject, text, html } = this.#templates.renderEmail(message);
    try {
      const info = await this.#transport.sendMail({
        to: message.to,
        subject,
        text,
        html,
        headers: { 'Auto-Submitted': 'auto-generated' },
      });
      if (info.rejected.length > 0) throw new Error(`SMTP server rejected the recipient: ${String(info.response)}`);
    } catch (error) {
      this.#logger?.error({ err: error, connector: 'smtp', purpose: message.purpose }, 'email delivery failed');
      throw new AppError('connector.delivery_failed', { cause: error });
    }
  }

  /** Closes the transport. */
  async close(): Promise<void> {
    this.#transport.close();
  }
}

/**
 * Development only: instead of sending, writes the rendered email (recipient, subject, text body) to
 * the pino logger at `warn` level under the field `email`, with the message
 * {@link CONSOLE_EMAIL_MESSAGE}. The code is inside `email.text` — deliberately not in a field named
 * `code`, which the app's logger redacts.
 */
export class ConsoleEmailConnector implements EmailConnector {
  readonly kind = 'console' as const;

  constructor(
    private readonly templates: Templates,
    private readonly logger: Logger,
  ) {}

  /** @throws AppError `user.invalid_email` when `message.to` is not one plain address */
  async send(message: CodeMessage): Promise<void> {
    assertEmailRecipient(message.to);
    const { subject, text } = this.templates.renderEmail(message);
    this.logger.warn(
      { connector: 'console', email: { to: message.to, purpose: message.purpose, locale: message.locale, subject, text } },
      CONSOLE_EMAIL_MESSAGE,
    );
  }

  /** Nothing to release. */
  async close(): Promise<void> {}
}
