import type { Kysely } from 'kysely';
import { jsonDepth, MAX_JSON_DEPTH } from '../util/json-depth.js';
import type { Database } from './schema.js';

/** A stored JSON document nested deeper than the request limit. */
export interface DeepDocument {
  userId: string;
  /** `custom_data` or `profile`. */
  column: 'custom_data' | 'profile';
  depth: number;
}

/**
 * Finds users' stored JSON documents (custom data, profile) nested deeper than {@link MAX_JSON_DEPTH}
 * (issue 15: documents stored before requests were capped; every new write is capped at parsing).
 * Reads the users table in id order, `batchSize` rows at a time. Such documents stay readable; `tessera
 * migrate` lists them so an operator can trim them.
 */
export async function findDeepDocuments(db: Kysely<Database>, batchSize = 1000): Promise<DeepDocument[]> {
  const found: DeepDocument[] = [];
  let after = '';
  for (;;) {
    const rows = await db.selectFrom('users').select(['id', 'custom_data', 'profile']).where('id', '>', after).orderBy('id').limit(batchSize).execute();
    if (rows.length === 0) return found;
    for (const row of rows) {
      for (const column of ['custom_data', 'profile'] as const) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(row[column]);
        } catch {
          continue;
        }
        const depth = jsonDepth(parsed);
        // The document sits one level below a request body (`{"customData": {…}}`).
        if (depth > MAX_JSON_DEPTH - 1) found.push({ userId: row.id, column, depth });
      }
    }
    after = rows[rows.length - 1]!.id;
  }
}
