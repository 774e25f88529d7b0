import { AppError } from '../../errors/index.js';
import type { CustomFieldRecord, CustomFieldType, SdkStore } from '../../storage/sdk-store.js';
import type { UserRecord } from '../../storage/store.js';
import type { Clock } from '../../util/clock.js';
import type { UserService } from '../users/index.js';

export type { CustomFieldRecord, CustomFieldType } from '../../storage/sdk-store.js';

/** The value types of a custom field (Authing `UdfDataType`). */
export const CUSTOM_FIELD_TYPES = ['STRING', 'NUMBER', 'BOOLEAN', 'DATETIME', 'OBJECT'] as const satisfies readonly CustomFieldType[];

/** Custom-field keys: a letter, then letters, digits or `_`; 1–64 characters. */
export const CUSTOM_FIELD_KEY = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

/** Longest STRING value, in UTF-16 code units. */
const MAX_STRING = 4096;
/** ISO 8601 date-time with an offset or Z (RFC 3339 §5.6), or a bare date. */
const ISO_DATETIME = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:[Zz]|[+-]\d{2}:\d{2}))?$/;
const NUMERIC = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** One custom field of a user as `GET /api/auth/me/custom-fields` lists it. */
export interface CustomFieldValue {
  key: string;
  type: CustomFieldType;
  label: string | null;
  /** The stored value, or null when unset. */
  value: unknown;
}

/**
 * Typed custom fields (Authing "UDF", seed 003 getUdfValue / setUdfValue / removeUdfValue / setUdv /
 * removeUdv): administrators define keys with a type (Management API `/api/custom-fields`); the values
 * live in the user's `customData` under those keys, so every surface that shows custom data shows them.
 * Writing a defined key checks and normalises its value:
 * - STRING: a string of at most 4096 characters;
 * - NUMBER: a finite number, or a string holding one (Authing's SDK sends strings) → number;
 * - BOOLEAN: true/false, or the strings "true"/"false" → boolean;
 * - DATETIME: an ISO 8601 / RFC 3339 date-time with offset (or a date) → `toISOString()` form;
 * - OBJECT: a JSON object, or a string holding one → object.
 */
export class CustomFieldService {
  constructor(
    private readonly store: SdkStore,
    private readonly users: UserService,
    private readonly clock: Clock,
  ) {}

  /** Every definition, ordered by key. */
  list(): Promise<CustomFieldRecord[]> {
    return this.store.listCustomFields();
  }

  /**
   * Defines a field.
   * @throws AppError `request.invalid` (bad key or type), `custom_field.key_taken` (409)
   */
  async define(input: { key: string; type: CustomFieldType; label?: string | null; description?: string | null }): Promise<CustomFieldRecord> {
    if (!CUSTOM_FIELD_KEY.test(input.key)) throw new AppError('request.invalid', { data: { issues: [{ path: 'body.key', code: 'custom', message: 'Invalid key' }] } });
    if (!CUSTOM_FIELD_TYPES.includes(input.type)) throw new AppError('request.invalid', { data: { issues: [{ path: 'body.type', code: 'custom', message: 'Invalid type' }] } });
    const now = this.clock.now();
    const record: CustomFieldRecord = { key: input.key, type: input.type, label: input.label ?? null, description: input.description ?? null, createdAt: now, updatedAt: now };
    if (!(await this.store.insertCustomField(record))) throw new AppError('custom_field.key_taken');
    return record;
  }

  /**
   * Changes the label or description (the type of a field never changes: values already stored keep it).
   * @throws AppError `custom_field.not_found`
   */
  async update(key: string, patch: { label?: string | null; description?: string | null }): Promise<CustomFieldRecord> {
    const updated = await this.store.updateCustomField(key, { ...patch, updatedAt: this.clock.now() });
    if (!updated) throw new AppError('custom_field.not_found');
    return updated;
  }

  /**
   * Deletes a definition. Values already stored stay in users' custom data (untyped from then on).
   * @throws AppError `custom_field.not_found`
   */
  async remove(key: string): Promise<void> {
    if (!(await this.store.deleteCustomField(key))) throw new AppError('custom_field.not_found');
  }

  /**
   * Checks and normalises one value for a field (see the class comment).
   * @throws AppError `custom_field.invalid_value` (400; `data: {key, type}`)
   */
  coerce(field: Pick<CustomFieldRecord, 'key' | 'type'>, value: unknown): unknown {
    const bad = () => new AppError('custom_field.invalid_value', { data: { key: field.key, type: field.type } });
    switch (field.type) {
      case 'STRING':
        if (typeof value !== 'string' || value.length > MAX_STRING) throw bad();
        return value;
      case 'NUMBER': {
        const n = typeof value === 'number' ? value : typeof value === 'string' && NUMERIC.test(value.trim()) ? Number(value.trim()) : Number.NaN;
        if (!Number.isFinite(n)) throw bad();
        return n;
      }
      case 'BOOLEAN':
        if (typeof value === 'boolean') return value;
        if (value === 'true' || value === 'false') return value === 'true';
        throw bad();
      case 'DATETIME': {
        const m = typeof value === 'string' ? ISO_DATETIME.exec(value) : null;
        if (!m) throw bad();
        const [year, month, day, hour = 0, minute = 0, second = 0] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((v) => (v === undefined ? undefined : Number(v)));
        const daysInMonth = new Date(Date.UTC(year!, month!, 0)).getUTCDate();
        if (month! < 1 || month! > 12 || day! < 1 || day! > daysInMonth || hour > 23 || minute > 59 || second > 59) throw bad();
        const t = Date.parse(value as string);
        if (!Number.isFinite(t)) throw bad();
        return new Date(t).toISOString();
      }
      case 'OBJECT': {
        let v = value;
        if (typeof v === 'string') {
          try {
            v = JSON.parse(v) as unknown;
          } catch {
            throw bad();
          }
        }
        if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad();
        return v;
      }
    }
  }

  /** The user's value of every defined field (null when unset), ordered by key. */
  async valuesOf(user: UserRecord): Promise<CustomFieldValue[]> {
    const fields = await this.list();
    // Own keys only: a field named `constructor` must not read Object.prototype.
    return fields.map((f) => ({ key: f.key, type: f.type, label: f.label, value: Object.hasOwn(user.customData, f.key) ? (user.customData[f.key] ?? null) : null }));
  }

  /**
   * Checks custom data written by the user (sign-up, `PATCH /api/auth/me`): keys that name a defined
   * field must hold a value of its type (normalised); other keys pass unchanged.
   * @throws AppError `custom_field.invalid_value`
   */
  async checkCustomData(customData: Record<string, unknown>): Promise<Record<string, unknown>> {
    const fields = new Map((await this.list()).map((f) => [f.key, f]));
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(customData)) {
      const field = fields.get(key);
      out[key] = field && value !== null ? this.coerce(field, value) : value;
    }
    return out;
  }

  /**
   * Sets several defined fields of a user in one write: every value is checked before anything is
   * written. @returns the user's values afterwards
   * @throws AppError `custom_field.not_found` (a key that is not defined; `data: {key}`),
   *   `custom_field.invalid_value`, `user.not_found`
   */
  async setValues(userId: string, values: Record<string, unknown>): Promise<CustomFieldValue[]> {
    const fields = new Map((await this.list()).map((f) => [f.key, f]));
    const patch: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(values)) {
      const field = fields.get(key);
      if (!field) throw new AppError('custom_field.not_found', { data: { key } });
      patch[key] = this.coerce(field, value);
    }
    await this.users.mergeCustomData(userId, patch);
    return this.valuesOf(await this.users.require(userId));
  }

  /**
   * Removes the user's value of a defined field.
   * @throws AppError `custom_field.not_found`, `user.not_found`
   */
  async removeValue(userId: string, key: string): Promise<void> {
    if (!(await this.store.findCustomField(key))) throw new AppError('custom_field.not_found', { data: { key } });
    const user = await this.users.require(userId);
    if (!Object.hasOwn(user.customData, key)) return;
    const { [key]: _removed, ...rest } = user.customData;
    await this.users.update(userId, { customData: rest });
  }
}
