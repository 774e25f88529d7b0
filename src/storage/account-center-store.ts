import { type Kysely, sql } from 'kysely';
import type { Database } from './schema.js';

/**
 * Storage of the account-center settings (Logto's `account_centers`, spec logto.md §3): one row,
 * id `default`. The field map is kept as given (JSON text); the domain (domain/account/center.ts)
 * validates it and reads a missing field as `Off`.
 */

/** The stored settings row. `fields` is the parsed JSON object, unvalidated. Timestamps in ms. */
export interface AccountCenterRow {
  enabled: boolean;
  fields: Record<string, unknown>;
  updatedAt: number;
}

/** A change to the settings: only the given columns are written. */
export interface AccountCenterPatch {
  enabled?: boolean;
  /** Replaces the whole map. */
  fields?: Record<string, string>;
  updatedAt: number;
}

/** Storage of the single account-center settings row. */
export interface AccountCenterStore {
  /** The row, or undefined when it has never been written (the domain then uses its defaults). */
  get(): Promise<AccountCenterRow | undefined>;
  /**
   * Writes the given columns in one statement (creating the row with defaults for the others when it
   * is missing), so two concurrent patches of different columns never undo each other.
   * @returns the row after the write
   */
  update(patch: AccountCenterPatch): Promise<AccountCenterRow>;
}

/** The id of the one row. */
const ROW_ID = 'default';

function parseFields(text: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

const toRow = (row: { enabled: number; fields: string; updated_at: number }): AccountCenterRow => ({
  enabled: Number(row.enabled) === 1,
  fields: parseFields(row.fields),
  updatedAt: Number(row.updated_at),
});

/** Kysely implementation of {@link AccountCenterStore} (SQLite and PostgreSQL). */
export class KyselyAccountCenterStore implements AccountCenterStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** {@inheritDoc AccountCenterStore.get} */
  async get(): Promise<AccountCenterRow | undefined> {
    const row = await this.db.selectFrom('account_center').select(['enabled', 'fields', 'updated_at']).where('id', '=', ROW_ID).executeTakeFirst();
    return row ? toRow(row) : undefined;
  }

  /** {@inheritDoc AccountCenterStore.update} */
  async update(patch: AccountCenterPatch): Promise<AccountCenterRow> {
    const enabled = patch.enabled === undefined ? undefined : patch.enabled ? 1 : 0;
    const fields = patch.fields === undefined ? undefined : JSON.stringify(patch.fields);
    const row = await this.db
      .insertInto('account_center')
      .values({ id: ROW_ID, enabled: enabled ?? 0, fields: fields ?? '{}', updated_at: patch.updatedAt })
      .onConflict((oc) =>
        oc.column('id').doUpdateSet({
          ...(enabled === undefined ? {} : { enabled: sql<number>`excluded.enabled` }),
          ...(fields === undefined ? {} : { fields: sql<string>`excluded.fields` }),
          updated_at: sql<number>`excluded.updated_at`,
        }),
      )
      .returning(['enabled', 'fields', 'updated_at'])
      .executeTakeFirstOrThrow();
    return toRow(row);
  }
}
