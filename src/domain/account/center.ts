import { AppError } from '../../errors/index.js';
import type { Store } from '../../storage/store.js';
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

/** The settings, every field present. */
export interface AccountCenterSettings {
  /** When false every Account API and Verification API route refuses (issue 8). */
  enabled: boolean;
  fields: Record<AccountCenterField, FieldMode>;
}

/** A change: `enabled` when given; `fields`, when given, replaces the whole map (missing = Off), as in Logto. */
export interface AccountCenterUpdate {
  enabled?: boolean;
  fields?: Partial<Record<AccountCenterField, FieldMode>>;
}

/** How long a node may serve the cached settings before reading them again (see {@link AccountCenterService}). */
export const ACCOUNT_CENTER_MAX_AGE_MS = 3000;

const isField = (name: string): name is AccountCenterField => (ACCOUNT_CENTER_FIELDS as readonly string[]).includes(name);
const isMode = (value: unknown): value is FieldMode => (FIELD_MODES as readonly unknown[]).includes(value);

/**
 * The full field map from a stored or given one: every known field, `Off` when missing or not a
 * valid mode; unknown names are dropped.
 */
export function normalizeFields(fields: Readonly<Record<string, unknown>>): Record<AccountCenterField, FieldMode> {
  const out = {} as Record<AccountCenterField, FieldMode>;
  for (const field of ACCOUNT_CENTER_FIELDS) {
    const value = Object.hasOwn(fields, field) ? fields[field] : undefined;
    out[field] = isMode(value) ? value : 'Off';
  }
  return out;
}

/** The settings of a fresh installation: disabled, every field Off (Logto's seed for user tenants). */
export function defaultAccountCenter(): AccountCenterSettings {
  return { enabled: false, fields: normalizeFields({}) };
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
    const fields = change.fields === undefined ? undefined : Object.fromEntries(Object.entries(change.fields).filter(([k, v]) => isField(k) && isMode(v)));
    this.generation++;
    const row = await this.store.accountCenter.update({ enabled: change.enabled, fields, updatedAt: this.clock.now() });
    const settings: AccountCenterSettings = { enabled: row.enabled, fields: normalizeFields(row.fields) };
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
    const settings = row ? { enabled: row.enabled, fields: normalizeFields(row.fields) } : defaultAccountCenter();
    if (generation === this.generation) this.cached = { settings, loadedAt };
    return settings;
  }
}

function copy(settings: AccountCenterSettings): AccountCenterSettings {
  return { enabled: settings.enabled, fields: { ...settings.fields } };
}
