/**
 * The shape every non-English catalogue section must have: each key of the English section, with
 * i18next's `_one` plural forms left out (Chinese has one plural form, `_other`).
 */
export type Translation<En extends Record<string, string>> = {
  [K in keyof En as K extends `${string}_one` ? never : K]: string;
};

/** A catalogue key as callers write it: plural keys without their `_one`/`_other` suffix. */
export type BaseKey<K> = K extends `${infer B}_one` | `${infer B}_other` ? B : K;
