import type { Kysely, Selectable } from 'kysely';
import type { AccountAuditTable, Database } from './schema.js';

/** One change a user made to their own account (never the values). Times in ms. */
export interface AccountAuditRecord {
  id: string;
  at: number;
  userId: string;
  /** E.g. `update`, `bind_email`, `remove_phone`, `change_password`, `delete_account`. */
  action: string;
  /** The account fields the change touched. */
  fields: string[];
  ip: string | null;
  /** The OAuth client of the access token, when the caller used one. */
  clientId: string | null;
}

/** The Account API audit log. */
export interface AccountAuditStore {
  /** Appends one entry. */
  insert(record: AccountAuditRecord): Promise<void>;
  /** The newest `limit` entries of a user, newest first. */
  listByUser(userId: string, limit: number): Promise<AccountAuditRecord[]>;
}

function toRecord(row: Selectable<AccountAuditTable>): AccountAuditRecord {
  return {
    id: row.id,
    at: Number(row.at),
    userId: row.user_id,
    action: row.action,
    fields: JSON.parse(row.fields) as string[],
    ip: row.ip,
    clientId: row.client_id,
  };
}

/** Kysely implementation of {@link AccountAuditStore} (SQLite and PostgreSQL). */
export class KyselyAccountAuditStore implements AccountAuditStore {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(r: AccountAuditRecord): Promise<void> {
    await this.db
      .insertInto('account_audit')
      .values({ id: r.id, at: r.at, user_id: r.userId, action: r.action, fields: JSON.stringify(r.fields), ip: r.ip, client_id: r.clientId })
      .execute();
  }

  async listByUser(userId: string, limit: number): Promise<AccountAuditRecord[]> {
    const rows = await this.db
      .selectFrom('account_audit')
      .selectAll()
      .where('user_id', '=', userId)
      .orderBy('at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
    return rows.map(toRecord);
  }
}
