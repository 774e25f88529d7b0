import { type Kysely, sql } from 'kysely';
import type { Database } from './schema.js';

/** An RSA key pair of the Authing surface. Times in ms. */
export interface AuthingKeyRecord {
  id: string;
  /** PKCS#8 PEM. */
  privatePem: string;
  /** SPKI PEM (what `GET /api/v2/.well-known` serves). */
  publicPem: string;
  createdAt: number;
  /** When a newer key replaced it; null for the current key. */
  retiredAt: number | null;
}

/** Storage of the Authing surface's RSA keys. */
export interface AuthingKeyStore {
  /** Every key, newest first. */
  list(): Promise<AuthingKeyRecord[]>;
  /**
   * Makes `key` the current key and retires the current one at `key.createdAt`, in one transaction. When
   * `expectedCurrentId` is given and the current key is another one (a concurrent rotation won), nothing
   * is written. @returns true when `key` became current
   */
  rotate(key: AuthingKeyRecord, expectedCurrentId: string | null): Promise<boolean>;
  /** Deletes keys retired before `before` (ms). @returns how many */
  deleteRetiredBefore(before: number): Promise<number>;
}

/** Kysely implementation of {@link AuthingKeyStore} (SQLite and PostgreSQL). */
export class KyselyAuthingKeyStore implements AuthingKeyStore {
  constructor(private readonly db: Kysely<Database>) {}

  async list(): Promise<AuthingKeyRecord[]> {
    const rows = await this.db.selectFrom('authing_keys').selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').execute();
    return rows.map((r) => ({
      id: r.id,
      privatePem: r.private_pem,
      publicPem: r.public_pem,
      createdAt: Number(r.created_at),
      retiredAt: r.retired_at === null ? null : Number(r.retired_at),
    }));
  }

  async rotate(key: AuthingKeyRecord, expectedCurrentId: string | null): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      // A write that changes nothing takes the lock (PostgreSQL: the current row; SQLite: the database),
      // so concurrent rotations run one after another.
      await trx.updateTable('authing_keys').set({ retired_at: sql`retired_at` }).where('retired_at', 'is', null).execute();
      const current = await trx.selectFrom('authing_keys').select('id').where('retired_at', 'is', null).execute();
      const currentIds = current.map((r) => r.id);
      if (expectedCurrentId === null ? currentIds.length > 0 : !currentIds.includes(expectedCurrentId)) return false;
      if (currentIds.length > 0) await trx.updateTable('authing_keys').set({ retired_at: key.createdAt }).where('retired_at', 'is', null).execute();
      await trx
        .insertInto('authing_keys')
        .values({ id: key.id, private_pem: key.privatePem, public_pem: key.publicPem, created_at: key.createdAt, retired_at: null })
        .execute();
      return true;
    });
  }

  async deleteRetiredBefore(before: number): Promise<number> {
    const r = await this.db.deleteFrom('authing_keys').where('retired_at', 'is not', null).where('retired_at', '<', before).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
