/**
 * The languages Tessera speaks and how a request's language is chosen (issue 14 §4): pages, API error
 * messages and email/SMS templates all use {@link negotiateLocale} / {@link pickLocale}, so the choice is
 * made the same way everywhere.
 */

/** Supported languages (BCP 47 tags). */
export type Locale = 'en' | 'zh-CN';

/** Every {@link Locale}, in the order `ui_locales_supported` lists them; `en` is the built-in default. */
export const LOCALES: readonly Locale[] = Object.freeze(['en', 'zh-CN'] as const);

/**
 * Maps one language tag to a supported locale, case-insensitively: `en`, `en-*` → en; `zh`, `zh-CN`,
 * `zh-Hans*` → zh-CN. Traditional Chinese (`zh-TW`, `zh-Hant`) and every other language → `undefined`.
 */
export function localeOfTag(tag: string): Locale | undefined {
  const t = tag.trim().toLowerCase().replace(/_/g, '-');
  if (t === 'en' || t.startsWith('en-')) return 'en';
  if (t === 'zh' || t === 'zh-cn' || t === 'zh-hans' || t.startsWith('zh-hans-')) return 'zh-CN';
  return undefined;
}

const Q_VALUE = /^q=(0(\.\d{0,3})?|1(\.0{0,3})?)$/i;

/**
 * The first supported locale of an `Accept-Language` header, read per RFC 9110 §12.5.4: ranges by
 * descending `q` (default 1, `q=0` = not acceptable, ties keep header order); entries with a malformed
 * `q` are ignored; at most the first 4 KiB is read.
 */
export function localeOfAcceptLanguage(acceptLanguage: string | undefined): Locale | undefined {
  if (!acceptLanguage) return undefined;
  const ranges: { locale: Locale | undefined; q: number; index: number }[] = [];
  acceptLanguage
    .slice(0, 4096)
    .split(',')
    .forEach((entry, index) => {
      const [range = '', ...params] = entry.split(';').map((s) => s.trim());
      if (!range) return;
      let q = 1;
      for (const param of params) {
        if (!/^q=/i.test(param)) continue;
        if (!Q_VALUE.test(param)) return;
        q = Number(param.slice(2));
      }
      if (q <= 0) return;
      ranges.push({ locale: range === '*' ? undefined : localeOfTag(range), q, index });
    });
  ranges.sort((a, b) => b.q - a.q || a.index - b.index);
  return ranges.find((r) => r.locale !== undefined)?.locale;
}

/**
 * Chooses the message language of an API request. An explicit choice (`locale` in a request body) wins
 * when it is supported; then `Accept-Language` ({@link localeOfAcceptLanguage}); then `fallback`
 * (the configured default, `ui.defaultLocale`; `en` when not given).
 * @example pickLocale('fr;q=1, zh-Hans-CN;q=0.8, en;q=0.5') // 'zh-CN'
 * @example pickLocale('zh-CN', 'en') // 'en'
 */
export function pickLocale(acceptLanguage?: string, explicit?: string, fallback: Locale = 'en'): Locale {
  if (explicit !== undefined) {
    const chosen = localeOfTag(explicit);
    if (chosen) return chosen;
  }
  return localeOfAcceptLanguage(acceptLanguage) ?? fallback;
}

/**
 * Chooses the language of a page (OIDC Core §3.1.2.1 `ui_locales`): the first supported tag of the
 * space-separated `ui_locales` of the authorization request, then `Accept-Language`, then `fallback`.
 * @param input.uiLocales the request's `ui_locales` parameter (space-separated BCP 47 tags, by preference)
 * @param input.acceptLanguage the browser's `Accept-Language` header
 * @param input.fallback the configured default (`ui.defaultLocale`)
 */
export function negotiateLocale(input: { uiLocales?: unknown; acceptLanguage?: unknown; fallback: Locale }): Locale {
  if (typeof input.uiLocales === 'string') {
    for (const tag of input.uiLocales.slice(0, 1024).split(/\s+/)) {
      const chosen = tag ? localeOfTag(tag) : undefined;
      if (chosen) return chosen;
    }
  }
  return localeOfAcceptLanguage(typeof input.acceptLanguage === 'string' ? input.acceptLanguage : undefined) ?? input.fallback;
}
