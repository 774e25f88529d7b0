import type { Kysely } from 'kysely';
import { lockUserRow } from './locks.js';
import type { Database } from './schema.js';

/** Storage of users' sign-in preferences (Logto's `logtoConfig`): a JSON object per user, unvalidated here. */
export interface SignInPreferenceStore {
  /** The user's stored preferences, or undefined when none were ever set. */
  get(userId: string): Promise<Record<string, unknown> | undefined>;
  /**
   * Replaces the user's preferences by `update(current)` (current: `{}` when none), one user's updates
   * one after another (the user's row is locked for the read and the write), so concurrent changes of
   * different keys both stay.
   * @returns the stored preferences, or undefined when the user does not exist (nothing written)
   */
  update(userId: string, update: (current: Record<string, unknown>) => Record<string, unknown>, updatedAt: number): Promise<Record<string, unknown> | undefined>;
}

function parse(text: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** Kysely implementation of {@link SignInPreferenceStore} (SQLite and PostgreSQL). */
export class KyselySignInPreferenceStore implements SignInPreferenceStore {
  constructor(private readonly db: Kysely<Database>) {}

  async get(userId: string): Promise<Record<string, unknown> | undefined> {
    const row = await this.db.selectFrom('sign_in_preferences').select('preferences').where('user_id', '=', userId).executeTakeFirst();
    return row ? parse(row.preferences) : undefined;
  }

  async update(userId: string, update: (current: Record<string, unknown>) => Record<string, unknown>, updatedAt: number): Promise<Record<string, unknown> | undefined> {
    return this.db.transaction().execute(async (trx) => {
      await lockUserRow(trx, userId);
      const user = await trx.selectFrom('users').select('id').where('id', '=', userId).executeTakeFirst();
      if (!user) return undefined;
      const row = await trx.selectFrom('sign_in_preferences').select('preferences').where('user_id', '=', userId).executeTakeFirst();
      const next = update(row ? parse(row.preferences) : {});
      const text = JSON.stringify(next);
      await trx
        .insertInto('sign_in_preferences')
        .values({ user_id: userId, preferences: text, updated_at: updatedAt })
        .onConflict((oc) => oc.column('user_id').doUpdateSet({ preferences: text, updated_at: updatedAt }))
        .execute();
      return next;
    });
  }
}
