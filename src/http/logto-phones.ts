/**
 * Phone numbers as Logto clients send them (the Management API, the Account and Verification APIs):
 * digits only (`8613800138000`; Logto's regex is `^\d+$`, logto.md §0), an international number without
 * its `+`. Tessera stores E.164 (`+8613800138000`); the Logto surfaces answer digits only again
 * (`logtoPhoneOut`, logto-views.ts).
 */

/**
 * A phone from a Logto client in the form the domain reads: digits only become `+digits` when that is a
 * valid number (`normalize` — the domain's phone normaliser — says so); otherwise, or for any other
 * form, the value as given (so a local number under `defaultPhoneRegion` still reads as before).
 */
export function logtoPhoneIn(value: string, normalize: (raw: string) => string): string {
  if (!/^\d+$/.test(value)) return value;
  try {
    return normalize(`+${value}`);
  } catch {
    return value;
  }
}
