/**
 * Tessera's messages in English and Simplified Chinese (issue 14 §4), on i18next: one catalogue per
 * language (src/i18n/locales/<locale>/, assembled in its index.ts), flat keys (`signIn.title`,
 * `error.auth.invalid_credentials`), `{{name}}` interpolation, i18next plurals (`_one`/`_other` by
 * `count`). A key missing in a language falls back to English (test/i18n.test.ts fails on any).
 *
 * Interpolated values are **not** HTML-escaped here: pages render through Preact, which escapes every
 * text and attribute; API messages are JSON.
 */
import i18next, { type i18n } from 'i18next';
import type { ErrorCode } from '../errors/codes.js';
import { en } from './locales/en/index.js';
import { zhCN } from './locales/zh-CN/index.js';
import type { Locale } from './locale.js';
import type { BaseKey } from './types.js';

export { type Locale, LOCALES, localeOfTag, negotiateLocale, pickLocale } from './locale.js';

/** A key of the catalogue (plural keys without their suffix). */
export type MessageKey = BaseKey<keyof typeof en>;

/** Values interpolated into a message; `count` also picks the plural form. */
export type MessageValues = Record<string, string | number>;

/** Translates `key` into one language, interpolating `values`. */
export type Translate = (key: MessageKey, values?: MessageValues) => string;

/** The raw catalogues by locale (for tests and tools). */
export const CATALOGUES: Readonly<Record<Locale, Readonly<Record<string, string>>>> = Object.freeze({ en, 'zh-CN': zhCN });

let instance: i18n | undefined;

/** The one i18next instance, initialised synchronously on first use. */
function i18n(): i18n {
  if (instance) return instance;
  const created = i18next.createInstance();
  void created.init({
    initAsync: false,
    resources: { en: { translation: en }, 'zh-CN': { translation: zhCN } },
    supportedLngs: ['en', 'zh-CN'],
    lng: 'en',
    fallbackLng: 'en',
    keySeparator: false,
    nsSeparator: false,
    returnNull: false,
    interpolation: { escapeValue: false },
  });
  instance = created;
  return created;
}

const translators = new Map<Locale, Translate>();

/**
 * The translate function of `locale`. Keys are checked by the compiler; a key without a text in
 * `locale` gives the English text.
 * @example translator('zh-CN')('signIn.title') // '登录'
 * @example translator('en')('retry.minutes', { count: 15 }) // 'Try again in 15 minutes.'
 */
export function translator(locale: Locale): Translate {
  let t = translators.get(locale);
  if (!t) {
    const fixed = i18n().getFixedT(locale);
    t = (key, values) => fixed(key as string, values as Record<string, unknown>) as string;
    translators.set(locale, t);
  }
  return t;
}

/** The message of an API error `code` in `locale` (English: the code table's message). */
export function errorMessage(code: ErrorCode, locale: Locale): string {
  return translator(locale)(`error.${code}`);
}

/**
 * "Try again in N minutes." for a wait of `seconds` (whole seconds under a minute, else minutes rounded
 * up), in `locale`.
 */
export function retryAfterText(seconds: number, locale: Locale): string {
  const t = translator(locale);
  return seconds < 60 ? t('retry.seconds', { count: Math.max(1, Math.ceil(seconds)) }) : t('retry.minutes', { count: Math.ceil(seconds / 60) });
}
