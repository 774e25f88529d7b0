import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import { ConsoleEmailConnector, SmtpEmailConnector } from './email.js';
import { ConsoleSmsConnector, WebhookSmsConnector } from './sms.js';
import { loadTemplates, type Templates } from './templates.js';
import type { EmailConnector, SmsConnector } from './types.js';

export * from './types.js';
export {
  createTemplates,
  DEFAULT_TEMPLATES,
  escapeHtml,
  loadTemplates,
  pickLocale,
  renderTemplate,
  templateFileSchema,
  templateProblems,
  type MessageTemplate,
  type RenderedEmail,
  type TemplateOverrides,
  type Templates,
  type TemplateValues,
} from './templates.js';
export { CONSOLE_EMAIL_MESSAGE, ConsoleEmailConnector, SMTP_TIMEOUTS_MS, SmtpEmailConnector, type SmtpEmailOptions } from './email.js';
export {
  CONSOLE_SMS_MESSAGE,
  ConsoleSmsConnector,
  SIGNATURE_HEADER,
  signWebhookBody,
  verifyWebhookSignature,
  WebhookSmsConnector,
  type SmsWebhookPayload,
  type WebhookSmsOptions,
} from './sms.js';
export { assertEmailRecipient, assertPhoneRecipient } from './recipients.js';

/** The message connectors of one app. */
export interface Connectors {
  email: EmailConnector;
  sms: SmsConnector;
  templates: Templates;
}

/**
 * Builds the connectors from configuration (issue 3):
 * - templates: built-in English and Simplified Chinese, overridden by `config.templatesDir` files;
 * - email: {@link SmtpEmailConnector} when `email.smtpUrl` is set (From `email.from`), else
 *   {@link ConsoleEmailConnector};
 * - SMS: {@link WebhookSmsConnector} when `sms.webhookUrl` is set (signed with `sms.webhookSecret` when
 *   set, deadline `sms.timeoutSeconds` **seconds**), else {@link ConsoleSmsConnector}.
 * Each console fallback logs one `warn` line at startup, since codes then only reach the log.
 * Nothing is contacted here: a wrong SMTP server or webhook shows up as `connector.delivery_failed`
 * on the first send. Close both connectors when the app stops.
 * @throws ConfigError naming each bad template file or an unreadable `templatesDir`
 */
export async function createConnectors(config: Config, logger: Logger): Promise<Connectors> {
  const templates = await loadTemplates(config.templatesDir);
  let email: EmailConnector;
  if (config.email.smtpUrl) {
    email = new SmtpEmailConnector({ smtpUrl: config.email.smtpUrl, from: config.email.from, templates, logger });
  } else {
    logger.warn(
      { connector: 'email' },
      'DEVELOPMENT ONLY: email.smtpUrl (TESSERA_SMTP_URL) is not set; emails are written to this log, not sent',
    );
    email = new ConsoleEmailConnector(templates, logger);
  }
  let sms: SmsConnector;
  if (config.sms.webhookUrl) {
    sms = new WebhookSmsConnector({
      url: config.sms.webhookUrl,
      secret: config.sms.webhookSecret,
      timeoutSeconds: config.sms.timeoutSeconds,
      templates,
      logger,
    });
  } else {
    logger.warn(
      { connector: 'sms' },
      'DEVELOPMENT ONLY: sms.webhookUrl (TESSERA_SMS_WEBHOOK_URL) is not set; SMS are written to this log, not sent',
    );
    sms = new ConsoleSmsConnector(templates, logger);
  }
  return { email, sms, templates };
}
