import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../config/index.js';
import { type CodeMessage, LINK_PURPOSES, type Locale, LOCALES, MESSAGE_PURPOSES, type MessagePurpose } from './types.js';

/**
 * The four texts of one purpose in one language. Placeholders: `{{code}}`, `{{minutes}}` and, for
 * VerifyEmail and OrganizationInvitation, `{{link}}`; `{{#link}}…{{/link}}` keeps its content only when the message has a link.
 * In `html` the values are HTML-escaped; the template itself is trusted markup.
 */
export interface MessageTemplate {
  /** Email subject (one line). */
  subject: string;
  /** Plain-text email body. */
  text: string;
  /** HTML email body. */
  html: string;
  /** SMS text. */
  sms: string;
}

/** A rendered email. */
export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

/** The message templates in effect: the built-in ones with the operator's overrides applied. */
export interface Templates {
  /** The effective template of `purpose` in `locale`. */
  get(purpose: MessagePurpose, locale: Locale): MessageTemplate;
  /** Renders the email of `message` (subject and text verbatim, HTML with escaped values). */
  renderEmail(message: CodeMessage): RenderedEmail;
  /** Renders the SMS text of `message`. */
  renderSms(message: CodeMessage): string;
  /** Override files applied (`<templatesDir>/<Purpose>.<locale>.json`), in load order; empty without overrides. */
  readonly overrideFiles: readonly string[];
}

/** Overrides by purpose and locale; any subset of the four texts. */
export type TemplateOverrides = Partial<Record<MessagePurpose, Partial<Record<Locale, Partial<MessageTemplate>>>>>;

// ---------------------------------------------------------------------------------------------------
// Built-in texts

interface Copy {
  subject: string;
  /** Sentence before the code. */
  lead: string;
  sms: string;
}

const EN: Record<MessagePurpose, Copy> = {
  SignIn: {
    subject: 'Your sign-in code',
    lead: 'Use this code to sign in:',
    sms: 'Your sign-in code is {{code}}. It expires in {{minutes}} minutes. Never share it with anyone.',
  },
  Register: {
    subject: 'Your sign-up code',
    lead: 'Use this code to finish creating your account:',
    sms: 'Your sign-up code is {{code}}. It expires in {{minutes}} minutes. Never share it with anyone.',
  },
  ForgotPassword: {
    subject: 'Your password reset code',
    lead: 'Use this code to reset your password:',
    sms: 'Your password reset code is {{code}}. It expires in {{minutes}} minutes. Never share it with anyone.',
  },
  BindNewIdentifier: {
    subject: 'Confirm your new email address',
    lead: 'Use this code to add this email address to your account:',
    sms: 'Your code to add this phone number to your account is {{code}}. It expires in {{minutes}} minutes. Never share it with anyone.',
  },
  VerifyEmail: {
    subject: 'Verify your email address',
    lead: 'Use this code to verify your email address:',
    sms: 'Your verification code is {{code}}. It expires in {{minutes}} minutes. Never share it with anyone.',
  },
  Generic: {
    subject: 'Your verification code',
    lead: 'Your verification code is:',
    sms: 'Your verification code is {{code}}. It expires in {{minutes}} minutes. Never share it with anyone.',
  },
  OrganizationInvitation: {
    subject: 'You are invited to join an organization',
    lead: 'You have been invited to join an organization. Sign in with this email address and accept the invitation with this code:',
    sms: 'You are invited to join an organization. Your invitation code is {{code}}. It expires in {{minutes}} minutes.',
  },
};

const ZH: Record<MessagePurpose, Copy> = {
  SignIn: {
    subject: '登录验证码',
    lead: '您的登录验证码：',
    sms: '您的登录验证码是 {{code}}，{{minutes}} 分钟内有效。请勿将验证码告诉他人。',
  },
  Register: {
    subject: '注册验证码',
    lead: '您正在注册账号，验证码：',
    sms: '您的注册验证码是 {{code}}，{{minutes}} 分钟内有效。请勿将验证码告诉他人。',
  },
  ForgotPassword: {
    subject: '重置密码验证码',
    lead: '您正在重置密码，验证码：',
    sms: '您正在重置密码，验证码是 {{code}}，{{minutes}} 分钟内有效。请勿将验证码告诉他人。',
  },
  BindNewIdentifier: {
    subject: '确认新的邮箱地址',
    lead: '您正在将此邮箱地址绑定到您的账号，验证码：',
    sms: '您正在将此手机号绑定到您的账号，验证码是 {{code}}，{{minutes}} 分钟内有效。请勿将验证码告诉他人。',
  },
  VerifyEmail: {
    subject: '验证您的邮箱地址',
    lead: '您的邮箱验证码：',
    sms: '您的验证码是 {{code}}，{{minutes}} 分钟内有效。请勿将验证码告诉他人。',
  },
  Generic: {
    subject: '验证码',
    lead: '您的验证码：',
    sms: '您的验证码是 {{code}}，{{minutes}} 分钟内有效。请勿将验证码告诉他人。',
  },
  OrganizationInvitation: {
    subject: '邀请您加入组织',
    lead: '您被邀请加入一个组织。请使用此邮箱地址登录，并使用以下邀请码接受邀请：',
    sms: '您被邀请加入一个组织，邀请码是 {{code}}，{{minutes}} 分钟内有效。',
  },
};

const FOOTER: Record<Locale, string> = {
  en: 'The code expires in {{minutes}} minutes. If you did not ask for it, you can ignore this email. Never share this code with anyone.',
  'zh-CN': '验证码 {{minutes}} 分钟内有效。如果这不是您本人的操作，请忽略本邮件。请勿将验证码告诉任何人。',
};

const LINK_TEXT: Record<Locale, { text: string; button: string }> = {
  en: { text: 'Or open this link to verify your address:', button: 'Verify email address' },
  'zh-CN': { text: '也可以打开以下链接完成验证：', button: '验证邮箱地址' },
};

const INVITATION_LINK_TEXT: Record<Locale, { text: string; button: string }> = {
  en: { text: 'Or open this link to accept the invitation:', button: 'Accept the invitation' },
  'zh-CN': { text: '也可以打开以下链接接受邀请：', button: '接受邀请' },
};

function builtIn(purpose: MessagePurpose, locale: Locale): MessageTemplate {
  const copy = (locale === 'en' ? EN : ZH)[purpose];
  const link = (purpose === 'OrganizationInvitation' ? INVITATION_LINK_TEXT : LINK_TEXT)[locale];
  const withLink = LINK_PURPOSES.includes(purpose);
  const text =
    `${copy.lead}\n\n{{code}}\n\n` + (withLink ? `{{#link}}${link.text}\n{{link}}\n\n{{/link}}` : '') + `${FOOTER[locale]}\n`;
  const html =
    `<!doctype html>\n<html lang="${locale}"><head><meta charset="utf-8"><title>${copy.subject}</title></head>\n` +
    `<body style="font-family:system-ui,-apple-system,'Segoe UI',sans-serif;color:#222;max-width:32rem;margin:0 auto;padding:1.5rem">\n` +
    `<p>${copy.lead}</p>\n` +
    `<p style="font-size:28px;font-weight:600;letter-spacing:6px;margin:1.5rem 0">{{code}}</p>\n` +
    (withLink
      ? `{{#link}}<p>${link.text}</p>\n<p><a href="{{link}}" style="display:inline-block;padding:.6rem 1.2rem;background:#2451d6;color:#fff;text-decoration:none;border-radius:4px">${link.button}</a></p>\n<p style="font-size:12px;color:#666;word-break:break-all">{{link}}</p>\n{{/link}}`
      : '') +
    `<p style="font-size:13px;color:#666">${FOOTER[locale]}</p>\n</body></html>\n`;
  return { subject: copy.subject, text, html, sms: copy.sms };
}

/** The built-in templates, every purpose in English and Simplified Chinese (frozen). */
export const DEFAULT_TEMPLATES: Readonly<Record<MessagePurpose, Readonly<Record<Locale, Readonly<MessageTemplate>>>>> = Object.freeze(
  Object.fromEntries(
    MESSAGE_PURPOSES.map((p) => [p, Object.freeze(Object.fromEntries(LOCALES.map((l) => [l, Object.freeze(builtIn(p, l))])))]),
  ) as Record<MessagePurpose, Record<Locale, MessageTemplate>>,
);

// ---------------------------------------------------------------------------------------------------
// Rendering

const HTML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * Escapes `& < > " '` for HTML text and attribute values (OWASP XSS prevention, rule 1 and 2).
 * @example escapeHtml('<a href="x">') // '&lt;a href=&quot;x&quot;&gt;'
 */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => HTML_ENTITIES[c]!);
}

/** Values substituted into a template. */
export interface TemplateValues {
  code: string;
  /** Minutes until the code expires. */
  minutes: number;
  /** VerifyEmail's link; sections `{{#link}}…{{/link}}` are dropped without it. */
  link?: string | undefined;
}

const TOKEN = /\{\{[^{}]*\}\}/g;
const SECTION = /\{\{#link\}\}([\s\S]*?)\{\{\/link\}\}/g;
const PLACEHOLDER = /\{\{(code|minutes|link)\}\}/g;

/**
 * Substitutes `{{code}}`, `{{minutes}}`, `{{link}}` and resolves `{{#link}}…{{/link}}` sections in one
 * template string. Values are inserted once (a value containing `{{…}}` is not expanded again) and,
 * when `html` is true, HTML-escaped with {@link escapeHtml}.
 */
export function renderTemplate(template: string, values: TemplateValues, html = false): string {
  const link = values.link ?? '';
  const withSections = template.replace(SECTION, (_all, inner: string) => (link ? inner : ''));
  return withSections.replace(PLACEHOLDER, (_all, name: 'code' | 'minutes' | 'link') => {
    const raw = name === 'code' ? values.code : name === 'minutes' ? String(values.minutes) : link;
    return html ? escapeHtml(raw) : raw;
  });
}

/**
 * Lists what is wrong with one template string: unknown placeholders, unbalanced or nested
 * `{{#link}}` sections, `{{link}}` outside VerifyEmail and OrganizationInvitation, and a body that would not show the code
 * (their email bodies may show `{{link}}` instead). Empty when it is fine.
 */
export function templateProblems(purpose: MessagePurpose, field: keyof MessageTemplate, template: string): string[] {
  const problems: string[] = [];
  let open = false;
  for (const [token] of template.matchAll(TOKEN)) {
    if (token === '{{#link}}') {
      if (open) problems.push('nested {{#link}} section');
      open = true;
    } else if (token === '{{/link}}') {
      if (!open) problems.push('{{/link}} without {{#link}}');
      open = false;
    } else if (!['{{code}}', '{{minutes}}', '{{link}}'].includes(token)) {
      problems.push(`unknown placeholder ${token} (allowed: {{code}}, {{minutes}}, {{link}}, {{#link}}…{{/link}})`);
    }
  }
  if (open) problems.push('{{#link}} section is not closed with {{/link}}');
  const usesLink = template.includes('{{link}}') || template.includes('{{#link}}');
  if (usesLink && !LINK_PURPOSES.includes(purpose)) problems.push('{{link}} is only available in VerifyEmail and OrganizationInvitation templates');
  if (field === 'subject' && /[\r\n]/.test(template)) problems.push('must be a single line');
  if (field !== 'subject' && !template.includes('{{code}}')) {
    const linkInstead = LINK_PURPOSES.includes(purpose) && field !== 'sms' && template.includes('{{link}}');
    if (!linkInstead) problems.push(LINK_PURPOSES.includes(purpose) && field !== 'sms' ? 'must contain {{code}} or {{link}}' : 'must contain {{code}}');
  }
  return problems;
}

/** HTTP(S) URL check for {@link CodeMessage.link}: anything else (e.g. `javascript:`) never reaches an href. */
function assertLink(link: string | undefined): void {
  if (link === undefined) return;
  let ok = false;
  try {
    const u = new URL(link);
    ok = u.protocol === 'https:' || u.protocol === 'http:';
  } catch {
    ok = false;
  }
  if (!ok) throw new TypeError('CodeMessage.link must be an absolute http(s) URL');
}

/**
 * Builds {@link Templates} from the built-in texts and `overrides` (each field replaces the built-in one).
 * Overrides are checked with {@link templateProblems}.
 * @throws TypeError naming the purpose, locale and field of the first invalid override
 */
export function createTemplates(overrides: TemplateOverrides = {}, overrideFiles: readonly string[] = []): Templates {
  const table = new Map<string, MessageTemplate>();
  for (const purpose of MESSAGE_PURPOSES) {
    for (const locale of LOCALES) {
      const over = overrides[purpose]?.[locale] ?? {};
      for (const [field, value] of Object.entries(over) as [keyof MessageTemplate, string | undefined][]) {
        if (value === undefined) continue;
        const problems = templateProblems(purpose, field, value);
        if (problems.length) throw new TypeError(`template ${purpose}.${locale}.${field}: ${problems.join('; ')}`);
      }
      table.set(`${purpose}.${locale}`, Object.freeze({ ...DEFAULT_TEMPLATES[purpose][locale], ...stripUndefined(over) }));
    }
  }
  const get = (purpose: MessagePurpose, locale: Locale): MessageTemplate => {
    const template = table.get(`${purpose}.${locale}`);
    if (!template) throw new TypeError(`no template for ${String(purpose)}.${String(locale)}`);
    return template;
  };
  const values = (m: CodeMessage): TemplateValues => {
    assertLink(m.link);
    return { code: m.code, minutes: m.expiresInMinutes, link: m.link };
  };
  return Object.freeze({
    get,
    renderEmail(m: CodeMessage): RenderedEmail {
      const t = get(m.purpose, m.locale);
      const v = values(m);
      return { subject: renderTemplate(t.subject, v), text: renderTemplate(t.text, v), html: renderTemplate(t.html, v, true) };
    },
    renderSms(m: CodeMessage): string {
      return renderTemplate(get(m.purpose, m.locale).sms, values(m));
    },
    overrideFiles: Object.freeze([...overrideFiles]),
  });
}

function stripUndefined(o: Partial<MessageTemplate>): Partial<MessageTemplate> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

// ---------------------------------------------------------------------------------------------------
// Override files

/**
 * zod schema of one override file `<Purpose>.<locale>.json`: an object with any of
 * `subject`, `text`, `html`, `sms` (non-empty strings, at most 64 KiB each), nothing else.
 */
export const templateFileSchema = z
  .object({
    subject: z.string().min(1).max(998).optional(),
    text: z.string().min(1).max(65_536).optional(),
    html: z.string().min(1).max(65_536).optional(),
    sms: z.string().min(1).max(1_000).optional(),
  })
  .strict();

const FILE_NAME = new RegExp(`^(${MESSAGE_PURPOSES.join('|')})\\.(${LOCALES.join('|')})\\.json$`);

/**
 * Loads the templates: the built-in ones, overridden by the `<Purpose>.<locale>.json` files of `dir`
 * (`config.templatesDir`; e.g. `SignIn.zh-CN.json` = `{"subject": "…", "sms": "…{{code}}…"}`).
 * Files not ending in `.json` are ignored; every `.json` file must have a valid name and content.
 * All problems of all files are reported together.
 * @param dir the folder, or undefined for the built-in templates only
 * @throws ConfigError (a startup error, exit status 2 from the CLI) whose issues name each bad file:
 *   unreadable folder, unknown purpose or locale in a file name, invalid JSON, unknown keys, wrong
 *   types, unknown placeholders, a body without `{{code}}`
 */
export async function loadTemplates(dir?: string): Promise<Templates> {
  if (dir === undefined) return createTemplates();
  let names: string[];
  try {
    names = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name).sort();
  } catch (error) {
    throw new ConfigError([`templatesDir ${dir}: cannot read the folder (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`]);
  }
  const issues: string[] = [];
  const overrides: TemplateOverrides = {};
  const files: string[] = [];
  for (const name of names.filter((n) => n.toLowerCase().endsWith('.json'))) {
    const file = join(dir, name);
    const match = FILE_NAME.exec(name);
    if (!match) {
      issues.push(`${file}: file name must be <Purpose>.<locale>.json with Purpose one of ${MESSAGE_PURPOSES.join(', ')} and locale one of ${LOCALES.join(', ')}`);
      continue;
    }
    const purpose = match[1] as MessagePurpose;
    const locale = match[2] as Locale;
    let json: unknown;
    try {
      json = JSON.parse(await readFile(file, 'utf8'));
    } catch (error) {
      issues.push(`${file}: ${error instanceof SyntaxError ? `invalid JSON (${error.message})` : (error as Error).message}`);
      continue;
    }
    const parsed = templateFileSchema.safeParse(json);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) issues.push(`${file}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
      continue;
    }
    const fileIssues: string[] = [];
    for (const [field, value] of Object.entries(parsed.data) as [keyof MessageTemplate, string | undefined][]) {
      if (value === undefined) continue;
      for (const problem of templateProblems(purpose, field, value)) fileIssues.push(`${file}: ${field}: ${problem}`);
    }
    if (fileIssues.length) {
      issues.push(...fileIssues);
      continue;
    }
    (overrides[purpose] ??= {})[locale] = parsed.data;
    files.push(file);
  }
  if (issues.length) throw new ConfigError(issues);
  return createTemplates(overrides, files);
}

// Locale negotiation lives with the message catalogues (src/i18n/locale.ts); re-exported for the connectors' callers.
export { pickLocale } from '../i18n/locale.js';
