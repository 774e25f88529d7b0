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
  /** Where users go to delete their account; null: not set. */
  deleteAccountUrl: string | null;
  /** Origins allowed to use this server's passkeys (stored as given; the domain validates). */
  webauthnRelatedOrigins: string[];
  updatedAt: number;
}

/** A change to the settings: only the given columns are written. */
export interface AccountCenterPatch {
  enabled?: boolean;
  /** Replaces the whole map. */
  fields?: Record<string, string>;
  deleteAccountUrl?: string | null;
  /** Replaces the whole list. */
  webauthnRelatedOrigins?: string[];
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

function parseList(text: string): string[] {
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? parsed.filter((v): v is string => typeof v === 'string') : [];
  } catch {
    return [];
  }
}

type StoredRow = { enabled: number; fields: string; delete_account_url: string | null; webauthn_related_origins: string; updated_at: number };
const COLUMNS = ['enabled', 'fields', 'delete_account_url', 'webauthn_related_origins', 'updated_at'] as const;

const toRow = (row: StoredRow): AccountCenterRow => ({
  enabled: Number(row.enabled) === 1,
  fields: parseFields(row.fields),
  deleteAccountUrl: row.delete_account_url ?? null,
  webauthnRelatedOrigins: parseList(row.webauthn_related_origins),
  updatedAt: Number(row.updated_at),
});

/** Kysely implementation of {@link AccountCenterStore} (SQLite and PostgreSQL). */
export class KyselyAccountCenterStore implements AccountCenterStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** {@inheritDoc AccountCenterStore.get} */
  async get(): Promise<AccountCenterRow | undefined> {
    const row = await this.db.selectFrom('account_center').select(COLUMNS).where('id', '=', ROW_ID).executeTakeFirst();
    return row ? toRow(row) : undefined;
  }

  /** {@inheritDoc AccountCenterStore.update} */
  async update(patch: AccountCenterPatch): Promise<AccountCenterRow> {
    const enabled = patch.enabled === undefined ? undefined : patch.enabled ? 1 : 0;
    const fields = patch.fields === undefined ? undefined : JSON.stringify(patch.fields);
    const origins = patch.webauthnRelatedOrigins === undefined ? undefined : JSON.stringify(patch.webauthnRelatedOrigins);
    const url = patch.deleteAccountUrl;
    const row = await this.db
      .insertInto('account_center')
      .values({
        id: ROW_ID,
        enabled: enabled ?? 0,
        fields: fields ?? '{}',
        delete_account_url: url ?? null,
        webauthn_related_origins: origins ?? '[]',
        updated_at: patch.updatedAt,
      })
      .onConflict((oc) =>
        oc.column('id').doUpdateSet({
          ...(enabled === undefined ? {} : { enabled: sql<number>`excluded.enabled` }),
          ...(fields === undefined ? {} : { fields: sql<string>`excluded.fields` }),
          ...(url === undefined ? {} : { delete_account_url: sql<string | null>`excluded.delete_account_url` }),
          ...(origins === undefined ? {} : { webauthn_related_origins: sql<string>`excluded.webauthn_related_origins` }),
          updated_at: sql<number>`excluded.updated_at`,
        }),
      )
      .returning(COLUMNS)
      .executeTakeFirstOrThrow();
    return toRow(row);
  }
}
