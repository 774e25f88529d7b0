import { describe, expect, it } from 'vitest';
import { ERROR_CODES, type ErrorCode } from '../src/errors/codes.js';
import { CATALOGUES, errorMessage, translator } from '../src/i18n/index.js';
import { account as enAccount } from '../src/i18n/locales/en/account.js';
import { links as enLinks } from '../src/i18n/locales/en/links.js';
import { pages as enPages } from '../src/i18n/locales/en/pages.js';
import { account as zhAccount } from '../src/i18n/locales/zh-CN/account.js';
import { errors as zhErrors } from '../src/i18n/locales/zh-CN/errors.js';
import { links as zhLinks } from '../src/i18n/locales/zh-CN/links.js';
import { pages as zhPages } from '../src/i18n/locales/zh-CN/pages.js';

/**
 * The message catalogues (issue 14 §4): English and Simplified Chinese have the same keys, the same
 * `{{variables}}` in each key's texts, and no empty text. Keys are compared by base key: i18next's plural
 * suffixes are left out (English has `_one` and `_other`, Chinese only `_other`).
 */

type Catalogue = Readonly<Record<string, string>>;

/** i18next's plural suffixes (CLDR categories). */
const PLURAL = /_(zero|one|two|few|many|other)$/;

/** `{{name}}` and `{{name, format}}` interpolations of a text (i18next's default delimiters). */
function variablesOf(text: string): string[] {
  return [...text.matchAll(/\{\{\s*-?\s*([^}\s,]+)[^}]*\}\}/g)].map((m) => m[1]!);
}

/** The texts of a catalogue by base key (plural forms grouped). */
function byBaseKey(catalogue: Catalogue): Map<string, Array<[string, string]>> {
  const out = new Map<string, Array<[string, string]>>();
  for (const [key, text] of Object.entries(catalogue)) {
    const base = key.replace(PLURAL, '');
    out.set(base, [...(out.get(base) ?? []), [key, text]]);
  }
  return out;
}

/**
 * Every problem between an English catalogue and its Chinese counterpart, one line each: a base key in
 * one and not the other, a plural key without Chinese `_other`, a plural in one and a plain text in the
 * other, different interpolation variables, an empty text.
 */
export function catalogueProblems(en: Catalogue, zh: Catalogue): string[] {
  const problems: string[] = [];
  const enKeys = byBaseKey(en);
  const zhKeys = byBaseKey(zh);
  for (const [language, catalogue] of [['en', en], ['zh-CN', zh]] as const) {
    for (const [key, text] of Object.entries(catalogue)) if (typeof text !== 'string' || text.trim() === '') problems.push(`${language}: ${key} is empty`);
  }
  for (const base of enKeys.keys()) if (!zhKeys.has(base)) problems.push(`zh-CN: ${base} is missing`);
  for (const base of zhKeys.keys()) if (!enKeys.has(base)) problems.push(`en: ${base} is missing (zh-CN has it)`);
  for (const [base, enForms] of enKeys) {
    const zhForms = zhKeys.get(base);
    if (!zhForms) continue;
    const enPlural = enForms.some(([k]) => PLURAL.test(k));
    const zhPlural = zhForms.some(([k]) => PLURAL.test(k));
    if (enPlural !== zhPlural) problems.push(`${base}: plural in ${enPlural ? 'en' : 'zh-CN'} only`);
    if (enPlural && !zhForms.some(([k]) => k === `${base}_other`)) problems.push(`zh-CN: ${base}_other is missing (Chinese plurals use _other)`);
    const enVars = [...new Set(enForms.flatMap(([, t]) => variablesOf(t)))].sort();
    const zhVars = [...new Set(zhForms.flatMap(([, t]) => variablesOf(t)))].sort();
    if (enVars.join(',') !== zhVars.join(',')) problems.push(`${base}: variables differ (en {{${enVars.join('}} {{')}}}, zh-CN {{${zhVars.join('}} {{')}}})`);
  }
  return problems;
}

/** The English error section as the catalogue holds it (`error.<code>` → the code table's message). */
const enErrors = Object.fromEntries(Object.entries(ERROR_CODES).map(([code, { message }]) => [`error.${code}`, message]));
const zhErrorSection = Object.fromEntries(Object.entries(zhErrors).map(([code, message]) => [`error.${code}`, message]));

describe('message catalogues (en, zh-CN)', () => {
  it.each([
    ['pages', enPages, zhPages],
    ['account', enAccount, zhAccount],
    ['links', enLinks, zhLinks],
    ['errors', enErrors, zhErrorSection],
  ] as Array<[string, Catalogue, Catalogue]>)('section %s: same base keys, same variables, no empty text', (_name, en, zh) => {
    expect(catalogueProblems(en, zh)).toEqual([]);
  });

  it('the assembled catalogues agree as a whole (a section added to one language only fails here)', () => {
    expect(catalogueProblems(CATALOGUES.en, CATALOGUES['zh-CN'])).toEqual([]);
  });

  it('the check fails on a deleted key, an extra key, a changed variable, an empty text and a missing plural', () => {
    const en: Catalogue = { 'a.title': 'Title', 'a.greet': 'Hello {{name}}', 'a.left_one': '{{count}} left', 'a.left_other': '{{count}} left' };
    const zh: Catalogue = { 'a.title': '标题', 'a.greet': '你好，{{name}}', 'a.left_other': '剩余 {{count}} 个' };
    expect(catalogueProblems(en, zh)).toEqual([]);

    const { 'a.title': _deleted, ...withoutTitle } = zh;
    expect(catalogueProblems(en, withoutTitle)).toEqual(['zh-CN: a.title is missing']);
    expect(catalogueProblems(en, { ...zh, 'a.extra': '多余' })).toEqual(['en: a.extra is missing (zh-CN has it)']);
    expect(catalogueProblems(en, { ...zh, 'a.greet': '你好，{{user}}' })).toEqual(['a.greet: variables differ (en {{name}}, zh-CN {{user}})']);
    expect(catalogueProblems(en, { ...zh, 'a.greet': '你好' })).toEqual(['a.greet: variables differ (en {{name}}, zh-CN {{}})']);
    expect(catalogueProblems(en, { ...zh, 'a.title': ' ' })).toEqual(['zh-CN: a.title is empty']);
    expect(catalogueProblems({ ...en, 'a.title': '' }, zh)).toEqual(['en: a.title is empty']);
    const { 'a.left_other': _other, ...withoutOther } = zh;
    expect(catalogueProblems(en, { ...withoutOther, 'a.left_one': '剩余 {{count}} 个' })).toEqual(['zh-CN: a.left_other is missing (Chinese plurals use _other)']);
    expect(catalogueProblems(en, { ...withoutOther, 'a.left': '剩余 {{count}} 个' })).toEqual([
      'a.left: plural in en only',
      'zh-CN: a.left_other is missing (Chinese plurals use _other)',
    ]);
  });

  it('the check fails on the real catalogues with a key deleted from a copy', () => {
    const zh = { ...CATALOGUES['zh-CN'] };
    delete zh['links.reset.title'];
    delete zh['error.user.not_found'];
    expect(catalogueProblems(CATALOGUES.en, zh)).toEqual(expect.arrayContaining(['zh-CN: links.reset.title is missing', 'zh-CN: error.user.not_found is missing']));
  });

  it('every error code has its Chinese message; English is the code table', () => {
    for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
      expect(errorMessage(code, 'en')).toBe(ERROR_CODES[code].message);
      const zh = errorMessage(code, 'zh-CN');
      expect(zh, code).toBe(zhErrors[code]);
      expect(zh, `${code} reads as Chinese`).toMatch(/[\u4e00-\u9fff]/);
      expect(zh, `${code} is translated`).not.toBe(ERROR_CODES[code].message);
    }
  });

  it('translates a page text in both languages', () => {
    expect(translator('en')('links.verify.doneTitle')).toBe('Email verified');
    expect(translator('zh-CN')('links.verify.doneTitle')).toBe('邮箱已验证');
  });
});
