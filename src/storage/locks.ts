import { type Kysely, sql } from 'kysely';
import type { Database } from './schema.js';

/**
 * Locks a user's row until the end of the transaction `trx` (a write that changes nothing), so that
 * read-then-replace steps of one user (replace the backup codes, issue a new reset token) run one
 * after another. PostgreSQL takes a row lock; SQLite's single writer serialises transactions anyway.
 */
export async function lockUserRow(trx: Kysely<Database>, userId: string): Promise<void> {
  await trx.updateTable('users').set({ updated_at: sql`updated_at` }).where('id', '=', userId).execute();
}
