import { type Kysely, type Selectable, sql } from 'kysely';
import type { Database, VerificationsTable } from './schema.js';
import type { VerificationPurpose, VerificationRecord, VerificationStore, VerificationType } from './store.js';

const num = (v: number | null) => (v === null ? null : Number(v));

function toRecord(row: Selectable<VerificationsTable>): VerificationRecord {
  return {
    id: row.id,
    type: row.type as VerificationType,
    purpose: row.purpose as VerificationPurpose,
    identifierType: row.identifier_type as VerificationRecord['identifierType'],
    identifier: row.identifier,
    userId: row.user_id,
    codeHash: row.code_hash,
    linkHash: row.link_hash,
    attempts: Number(row.attempts),
    ip: row.ip,
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    verifiedAt: num(row.verified_at),
    consumedAt: num(row.consumed_at),
  };
}

/** Kysely implementation of {@link VerificationStore} (SQLite and PostgreSQL). */
export class KyselyVerificationStore implements VerificationStore {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(r: VerificationRecord): Promise<void> {
    await this.db
      .insertInto('verifications')
      .values({
        id: r.id,
        type: r.type,
        purpose: r.purpose,
        identifier_type: r.identifierType,
        identifier: r.identifier,
        user_id: r.userId,
        code_hash: r.codeHash,
        link_hash: r.linkHash,
        attempts: r.attempts,
        ip: r.ip,
        created_at: r.createdAt,
        expires_at: r.expiresAt,
        verified_at: r.verifiedAt,
        consumed_at: r.consumedAt,
      })
      .execute();
  }

  async findById(id: string) {
    const row = await this.db.selectFrom('verifications').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toRecord(row) : undefined;
  }

  async findByLinkHash(linkHash: string) {
    const row = await this.db.selectFrom('verifications').selectAll().where('link_hash', '=', linkHash).executeTakeFirst();
    return row ? toRecord(row) : undefined;
  }

  async findLatestLive(identifierType: 'email' | 'phone', identifier: string, purpose: VerificationPurpose, now: number) {
    const row = await this.db
      .selectFrom('verifications')
      .selectAll()
      .where('identifier_type', '=', identifierType)
      .where('identifier', '=', identifier)
      .where('purpose', '=', purpose)
      .where('consumed_at', 'is', null)
      .where('expires_at', '>', now)
      .orderBy('created_at', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row ? toRecord(row) : undefined;
  }

  async listLive(type: VerificationType, purpose: VerificationPurpose, now: number, limit: number) {
    const rows = await this.db
      .selectFrom('verifications')
      .selectAll()
      .where('type', '=', type)
      .where('purpose', '=', purpose)
      .where('consumed_at', 'is', null)
      .where('expires_at', '>', now)
      .orderBy('created_at', 'desc')
      .limit(limit)
      .execute();
    return rows.map(toRecord);
  }

  async deleteUnconsumedFor(identifierType: 'email' | 'phone', identifier: string, purpose: VerificationPurpose, exceptId: string) {
    const r = await this.db
      .deleteFrom('verifications')
      .where('identifier_type', '=', identifierType)
      .where('identifier', '=', identifier)
      .where('purpose', '=', purpose)
      .where('consumed_at', 'is', null)
      .where('id', '!=', exceptId)
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  async countAttempt(id: string, maxAttempts: number) {
    const row = await this.db
      .updateTable('verifications')
      .set({ attempts: sql<number>`attempts + 1` })
      .where('id', '=', id)
      .where('attempts', '<', maxAttempts)
      .where('consumed_at', 'is', null)
      .returningAll()
      .executeTakeFirst();
    return row ? toRecord(row) : undefined;
  }

  async markVerified(id: string, at: number, userId?: string | null) {
    const r = await this.db
      .updateTable('verifications')
      .set(userId ? { verified_at: at, user_id: userId } : { verified_at: at })
      .where('id', '=', id)
      .where('consumed_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async consume(id: string, at: number) {
    const r = await this.db
      .updateTable('verifications')
      .set({ consumed_at: at })
      .where('id', '=', id)
      .where('consumed_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async delete(id: string) {
    const r = await this.db.deleteFrom('verifications').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async deleteExpired(now: number) {
    const r = await this.db.deleteFrom('verifications').where('expires_at', '<=', now).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
