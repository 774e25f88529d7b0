/**
 * Phone numbers on the Logto surfaces (the Management API, the Account and Verification APIs): Logto
 * writes them as digits only (`8613800138000`; its regex is `^\d+$`, logto.md §0), Tessera stores E.164
 * (`+8613800138000`). Input is accepted in Logto's form; answers still write E.164 (a remaining difference
 * of issue 19 item 2: Logto clients that compare phones literally must add the `+`).
 */

/** A phone as a Logto client sends it: digits only means an international number without its `+`. */
export function logtoPhoneIn(value: string): string {
  return /^\d+$/.test(value) ? `+${value}` : value;
}
