import { AppError } from '../../errors/index.js';
import type { Store } from '../../storage/store.js';
import type { AccountCenterRow } from '../../storage/account-center-store.js';
import type { Clock } from '../../util/clock.js';

/**
 * Account-center settings (seed 000, spec logto.md §1.4 and §3): a master switch for the end-user
 * Account API and, per field, whether the user may not see it (`Off`), see it (`ReadOnly`) or change it
 * (`Edit`). Disabled with every field Off until an administrator changes it through the Management API.
 */

/** The fields an account center governs (Logto's keys minus `passkey` and `trustedDevice`). */
export const ACCOUNT_CENTER_FIELDS = [
  'name',
  'avatar',
  'profile',
  'username',
  'email',
  'phone',
  'password',
  'social',
  'customData',
  'mfa',
  'session',
] as const;

/** One governed field. */
export type AccountCenterField = (typeof ACCOUNT_CENTER_FIELDS)[number];

/** What the end user may do with a field. */
export const FIELD_MODES = ['Off', 'ReadOnly', 'Edit'] as const;

/** `Off` (hidden, not writable), `ReadOnly` (shown, not writable) or `Edit`. */
export type FieldMode = (typeof FIELD_MODES)[number];

/**
 * The field map: every governed field, plus `passkey` only when set — the control of passkeys
 * (WebAuthn factors), which follows `mfa` while unset, as in Logto (see {@link passkeyMode}).
 */
export type AccountCenterFields = Record<AccountCenterField, FieldMode> & { passkey?: FieldMode };

/** The settings, every field present. */
export interface AccountCenterSettings {
  /** When false every Account API and Verification API route refuses (issue 8). */
  enabled: boolean;
  fields: AccountCenterFields;
  /** Where an account center sends a user who wants to delete their account (http(s) URL); null: none. */
  deleteAccountUrl: string | null;
  /** Other origins allowed to use this server's passkeys (WebAuthn related origins, `/.well-known/webauthn`). */
  webauthnRelatedOrigins: string[];
}

/**
 * A change: `enabled` when given; `fields`, when given, replaces the whole map (missing = Off; `passkey`
 * missing = follows `mfa`), as in Logto; `deleteAccountUrl` (`""` or null clears) and
 * `webauthnRelatedOrigins` (replaces the list) when given.
 */
export interface AccountCenterUpdate {
  enabled?: boolean;
  fields?: Partial<Record<AccountCenterField | 'passkey', FieldMode>>;
  deleteAccountUrl?: string | null;
  webauthnRelatedOrigins?: string[];
}

/** How long a node may serve the cached settings before reading them again (see {@link AccountCenterService}). */
export const ACCOUNT_CENTER_MAX_AGE_MS = 3000;

const isField = (name: string): name is AccountCenterField => (ACCOUNT_CENTER_FIELDS as readonly string[]).includes(name);
const isMode = (value: unknown): value is FieldMode => (FIELD_MODES as readonly unknown[]).includes(value);

/**
 * The full field map from a stored or given one: every known field, `Off` when missing or not a
 * valid mode; unknown names are dropped.
 */
export function normalizeFields(fields: Readonly<Record<string, unknown>>): AccountCenterFields {
  const out = {} as AccountCenterFields;
  for (const field of ACCOUNT_CENTER_FIELDS) {
    const value = Object.hasOwn(fields, field) ? fields[field] : undefined;
    out[field] = isMode(value) ? value : 'Off';
  }
  const passkey = Object.hasOwn(fields, 'passkey') ? fields.passkey : undefined;
  if (isMode(passkey)) out.passkey = passkey;
  return out;
}

/** The mode that governs passkeys (WebAuthn factors): `passkey` when set, else `mfa` (Logto's `passkey ?? mfa`). */
export function passkeyMode(settings: AccountCenterSettings): FieldMode {
  return settings.fields.passkey ?? settings.fields.mfa;
}

/** The settings of a fresh installation: disabled, every field Off (Logto's seed for user tenants). */
export function defaultAccountCenter(): AccountCenterSettings {
  return { enabled: false, fields: normalizeFields({}), deleteAccountUrl: null, webauthnRelatedOrigins: [] };
}

/** The issue of a refused setting, in the shape of `request.invalid`'s `data.issues`. */
const invalidSetting = (path: string, message: string) => new AppError('request.invalid', { data: { issues: [{ path: `body.${path}`, code: 'custom', message }] } });

/**
 * `deleteAccountUrl` as stored: `""` → null; else an http(s) URL of at most 2 048 characters.
 * @throws AppError `request.invalid`
 */
export function normalizeDeleteAccountUrl(value: string | null): string | null {
  if (value === null || value === '') return null;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalidSetting('deleteAccountUrl', 'Must be an http(s) URL');
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || value.length > 2048) throw invalidSetting('deleteAccountUrl', 'Must be an http(s) URL of at most 2048 characters');
  return value;
}

/**
 * Related origins as stored: each an http(s) origin (scheme, host, port; no path), deduplicated, at most 32.
 * @throws AppError `request.invalid`
 */
export function normalizeRelatedOrigins(values: readonly string[]): string[] {
  const out: string[] = [];
  for (const [i, value] of values.entries()) {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw invalidSetting(`webauthnRelatedOrigins.${i}`, 'Must be an origin such as https://shop.example');
    }
    if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.origin !== value.replace(/\/$/, '')) {
      throw invalidSetting(`webauthnRelatedOrigins.${i}`, 'Must be an origin (scheme, host and port only) such as https://shop.example');
    }
    if (!out.includes(url.origin)) out.push(url.origin);
  }
  if (out.length > 32) throw invalidSetting('webauthnRelatedOrigins', 'At most 32 origins');
  return out;
}

/** True when a field in this mode may be shown to its user (`ReadOnly` or `Edit`). */
export function canRead(mode: FieldMode): boolean {
  return mode !== 'Off';
}

/** True when a field in this mode may be changed by its user (`Edit`). */
export function canEdit(mode: FieldMode): boolean {
  return mode === 'Edit';
}

/**
 * The end-user write rule on a settings snapshot: refuses when the account center is enabled and any of
 * `fields` is not `Edit`. Used by {@link AccountCenterService.assertSelfEditable} and by the Account API
 * (which reads the settings once per request).
 * @throws AppError `account_center.field_not_editable` (400)
 */
export function assertEditable(settings: AccountCenterSettings, ...fields: AccountCenterField[]): void {
  if (!settings.enabled) return;
  if (fields.some((field) => !canEdit(settings.fields[field]))) throw new AppError('account_center.field_not_editable');
}

/**
 * The end-user write rule for passkeys (WebAuthn factors): refuses when the account center is enabled
 * and {@link passkeyMode} is not `Edit`.
 * @throws AppError `account_center.field_not_editable` (400)
 */
export function assertPasskeysEditable(settings: AccountCenterSettings): void {
  if (settings.enabled && !canEdit(passkeyMode(settings))) throw new AppError('account_center.field_not_editable');
}

/**
 * Reads and changes the account-center settings.
 *
 * Caching: the Account API consults the settings on every request, so {@link get} serves them from
 * memory. An update made through this service replaces the cached value at once; a node that did not
 * make the change reads the row again once its copy is older than `maxAgeMs` (default
 * {@link ACCOUNT_CENTER_MAX_AGE_MS}, 3 s), so with several nodes a change applies everywhere within that
 * time. Concurrent reads of a stale cache share one database query.
 */
export class AccountCenterService {
  private cached: { settings: AccountCenterSettings; loadedAt: number } | undefined;
  private loading: Promise<AccountCenterSettings> | undefined;
  /** Bumped by every update, so a read that started before it cannot cache what it read. */
  private generation = 0;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly maxAgeMs: number = ACCOUNT_CENTER_MAX_AGE_MS,
  ) {}

  /**
   * The current settings (a fresh copy; changing it changes nothing), from memory when read within
   * the last `maxAgeMs`.
   */
  async get(): Promise<AccountCenterSettings> {
    const cached = this.cached;
    if (cached && this.clock.now() - cached.loadedAt < this.maxAgeMs) return copy(cached.settings);
    this.loading ??= this.load().finally(() => {
      this.loading = undefined;
    });
    return copy(await this.loading);
  }

  /** What the end user may do with `field`: `Off` when the field was never set. */
  async fieldMode(field: AccountCenterField): Promise<FieldMode> {
    return (await this.get()).fields[field];
  }

  /**
   * The one end-user write policy (issue 16): while the account center is enabled, its field modes bind
   * every surface on which users change their own account — `/api/auth/me…`, the Account API, LeanCloud
   * `/1.1` with the user's own session, the Authing surface — so a field that is `Off` or `ReadOnly`
   * cannot be changed through any of them (each surface answers in its own dialect). While it is
   * disabled this adds nothing: the Account API is closed by its own rule (as in Logto) and the other
   * surfaces keep their vendors' defaults. Changes made by an administrator (Management API, the
   * LeanCloud master key) are not end-user writes and are not checked here.
   * @param fields the governed fields the change touches
   * @throws AppError `account_center.field_not_editable` (400)
   */
  async assertSelfEditable(...fields: AccountCenterField[]): Promise<void> {
    if (fields.length === 0) return;
    assertEditable(await this.get(), ...fields);
  }

  /**
   * Changes the settings; `fields`, when given, replaces the whole map. Takes effect at once on this
   * node (and within `maxAgeMs` on others).
   * @returns the settings after the change
   */
  async update(change: AccountCenterUpdate): Promise<AccountCenterSettings> {
    const fields =
      change.fields === undefined ? undefined : Object.fromEntries(Object.entries(change.fields).filter(([k, v]) => (isField(k) || k === 'passkey') && isMode(v)));
    const deleteAccountUrl = change.deleteAccountUrl === undefined ? undefined : normalizeDeleteAccountUrl(change.deleteAccountUrl);
    const webauthnRelatedOrigins = change.webauthnRelatedOrigins === undefined ? undefined : normalizeRelatedOrigins(change.webauthnRelatedOrigins);
    this.generation++;
    const row = await this.store.accountCenter.update({
      enabled: change.enabled,
      fields,
      ...(deleteAccountUrl !== undefined ? { deleteAccountUrl } : {}),
      ...(webauthnRelatedOrigins !== undefined ? { webauthnRelatedOrigins } : {}),
      updatedAt: this.clock.now(),
    });
    const settings = fromRow(row);
    this.generation++;
    this.cached = { settings, loadedAt: this.clock.now() };
    return copy(settings);
  }

  /** Forgets the cached settings, so the next {@link get} reads the database. */
  invalidate(): void {
    this.generation++;
    this.cached = undefined;
  }

  private async load(): Promise<AccountCenterSettings> {
    const generation = this.generation;
    const loadedAt = this.clock.now();
    const row = await this.store.accountCenter.get();
    const settings = row ? fromRow(row) : defaultAccountCenter();
    if (generation === this.generation) this.cached = { settings, loadedAt };
    return settings;
  }
}

function fromRow(row: AccountCenterRow): AccountCenterSettings {
  return { enabled: row.enabled, fields: normalizeFields(row.fields), deleteAccountUrl: row.deleteAccountUrl, webauthnRelatedOrigins: [...row.webauthnRelatedOrigins] };
}

function copy(settings: AccountCenterSettings): AccountCenterSettings {
  return { enabled: settings.enabled, fields: { ...settings.fields }, deleteAccountUrl: settings.deleteAccountUrl, webauthnRelatedOrigins: [...settings.webauthnRelatedOrigins] };
}
