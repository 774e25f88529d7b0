import type { Kysely, Selectable } from 'kysely';
import type { Database, PersonalAccessTokensTable, SubjectTokensTable, TokenExchangeAuditTable } from './schema.js';
import { isUniqueError } from './identity-store.js';

/**
 * Storage of the credentials a back end uses to act as a user (issue 4 §5): personal access tokens,
 * impersonation subject tokens, and the audit log of every token exchange made with either. Token
 * values are never stored, only their SHA-256 hex; timestamps are **milliseconds since the epoch**.
 */

/** A personal access token as stored (Logto keeps the value; Tessera keeps only its hash). */
export interface PersonalAccessTokenRecord {
  id: string;
  userId: string;
  /** 1–256 characters, unique per user. */
  name: string;
  /** SHA-256 hex of the `pat_…` value. */
  tokenHash: string;
  createdAt: number;
  /** null = never expires. */
  expiresAt: number | null;
}

/** Outcome of {@link PersonalAccessTokenStore.insert}. */
export type PersonalAccessTokenInsert = 'inserted' | 'name_taken' | 'no_user';

export interface PersonalAccessTokenStore {
  /** Inserts unless the user already has a token of that name, or the user is gone (the database decides races). */
  insert(record: PersonalAccessTokenRecord): Promise<PersonalAccessTokenInsert>;
  /** A user's tokens, oldest first. */
  listByUser(userId: string): Promise<PersonalAccessTokenRecord[]>;
  findByHash(tokenHash: string): Promise<PersonalAccessTokenRecord | undefined>;
  /** @returns true when the user's token of that name was deleted */
  delete(userId: string, name: string): Promise<boolean>;
  /**
   * Renames the user's token `name` to `newName` (the database decides races on the new name).
   * @returns the renamed token, `'not_found'` (no token of that name), or `'name_taken'` (the user has
   *   another token named `newName`; nothing changed)
   */
  rename(userId: string, name: string, newName: string): Promise<PersonalAccessTokenRecord | 'not_found' | 'name_taken'>;
}

/** An impersonation subject token (Logto's `subject_tokens`) as stored. */
export interface SubjectTokenRecord {
  id: string;
  userId: string;
  /** SHA-256 hex of the `sub_…` value. */
  tokenHash: string;
  /** Free-form JSON object given by the creator (why, ticket number…). */
  context: Record<string, unknown>;
  /** The application (M2M client) that created it. */
  creatorApplicationId: string;
  createdAt: number;
  expiresAt: number;
  consumedAt: number | null;
}

export interface SubjectTokenStore {
  insert(record: SubjectTokenRecord): Promise<void>;
  findByHash(tokenHash: string): Promise<SubjectTokenRecord | undefined>;
  /**
   * Marks the token consumed at `at`, in one statement, only if it is unconsumed and not expired at
   * `at`: of concurrent calls exactly one gets true.
   */
  consume(id: string, at: number): Promise<boolean>;
  /** Deletes a user's tokens that were never used. @returns how many */
  deleteUnconsumedByUser(userId: string): Promise<number>;
  /** Deletes tokens whose expiry is at or before `now` (used or not). @returns how many */
  deleteExpired(now: number): Promise<number>;
}

/** Which kind of subject token an exchange presented. */
export type ExchangeTokenKind = 'impersonation' | 'personal_access_token';

/** One token exchange attempt, as recorded. Never holds a token value. */
export interface TokenExchangeAuditRecord {
  id: string;
  at: number;
  /** The client that asked for the exchange. */
  applicationId: string;
  /** The user the token would act for; null when the subject token was not recognised. */
  userId: string | null;
  tokenKind: ExchangeTokenKind;
  /** Id of the subject token or personal access token used (not its value); null when unknown. */
  tokenId: string | null;
  /** `granted`, or why the exchange was refused (`not_found`, `expired`, `consumed`, `user_unavailable`, `error`). */
  outcome: string;
  /** Resource indicator of the issued token; null for an opaque (userinfo) token. */
  resource: string | null;
  /** Scope of the issued token. */
  scope: string | null;
}

export interface TokenExchangeAuditStore {
  insert(record: TokenExchangeAuditRecord): Promise<void>;
  /** The newest `limit` records about a user, newest first. */
  listByUser(userId: string, limit: number): Promise<TokenExchangeAuditRecord[]>;
}

const num = (v: number | null): number | null => (v === null ? null : Number(v));

function toPat(row: Selectable<PersonalAccessTokensTable>): PersonalAccessTokenRecord {
  return {
    id: row.id,
    userId: row.user_id,
    name: row.name,
    tokenHash: row.token_hash,
    createdAt: Number(row.created_at),
    expiresAt: num(row.expires_at),
  };
}

function toSubjectToken(row: Selectable<SubjectTokensTable>): SubjectTokenRecord {
  let context: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(row.context);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) context = parsed as Record<string, unknown>;
  } catch {
    context = {};
  }
  return {
    id: row.id,
    userId: row.user_id,
    tokenHash: row.token_hash,
    context,
    creatorApplicationId: row.creator_application_id,
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    consumedAt: num(row.consumed_at),
  };
}

function toAudit(row: Selectable<TokenExchangeAuditTable>): TokenExchangeAuditRecord {
  return {
    id: row.id,
    at: Number(row.at),
    applicationId: row.application_id,
    userId: row.user_id,
    tokenKind: row.token_kind as ExchangeTokenKind,
    tokenId: row.token_id,
    outcome: row.outcome,
    resource: row.resource,
    scope: row.scope,
  };
}

/** True when `error` is a foreign-key failure of the database driver (SQLite or PostgreSQL). */
function isForeignKeyError(error: unknown): boolean {
  const e = error as { code?: string };
  return e?.code === '23503' || e?.code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}

/** Kysely implementation of {@link PersonalAccessTokenStore} (SQLite and PostgreSQL). */
export class KyselyPersonalAccessTokenStore implements PersonalAccessTokenStore {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(r: PersonalAccessTokenRecord): Promise<PersonalAccessTokenInsert> {
    try {
      const result = await this.db
        .insertInto('personal_access_tokens')
        .values({ id: r.id, user_id: r.userId, name: r.name, token_hash: r.tokenHash, created_at: r.createdAt, expires_at: r.expiresAt })
        .onConflict((oc) => oc.columns(['user_id', 'name']).doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0) > 0 ? 'inserted' : 'name_taken';
    } catch (error) {
      if (isForeignKeyError(error)) return 'no_user';
      throw error;
    }
  }

  async listByUser(userId: string) {
    const rows = await this.db
      .selectFrom('personal_access_tokens')
      .selectAll()
      .where('user_id', '=', userId)
      .orderBy('created_at', 'asc')
      .orderBy('id', 'asc')
      .execute();
    return rows.map(toPat);
  }

  async findByHash(tokenHash: string) {
    const row = await this.db.selectFrom('personal_access_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
    return row ? toPat(row) : undefined;
  }

  async delete(userId: string, name: string) {
    const r = await this.db.deleteFrom('personal_access_tokens').where('user_id', '=', userId).where('name', '=', name).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async rename(userId: string, name: string, newName: string): Promise<PersonalAccessTokenRecord | 'not_found' | 'name_taken'> {
    try {
      const row = await this.db
        .updateTable('personal_access_tokens')
        .set({ name: newName })
        .where('user_id', '=', userId)
        .where('name', '=', name)
        .returningAll()
        .executeTakeFirst();
      return row ? toPat(row) : 'not_found';
    } catch (error) {
      if (isUniqueError(error)) return 'name_taken';
      throw error;
    }
  }
}

/** Kysely implementation of {@link SubjectTokenStore} (SQLite and PostgreSQL). */
export class KyselySubjectTokenStore implements SubjectTokenStore {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(r: SubjectTokenRecord): Promise<void> {
    await this.db
      .insertInto('subject_tokens')
      .values({
        id: r.id,
        user_id: r.userId,
        token_hash: r.tokenHash,
        context: JSON.stringify(r.context),
        creator_application_id: r.creatorApplicationId,
        created_at: r.createdAt,
        expires_at: r.expiresAt,
        consumed_at: r.consumedAt,
      })
      .execute();
  }

  async findByHash(tokenHash: string) {
    const row = await this.db.selectFrom('subject_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
    return row ? toSubjectToken(row) : undefined;
  }

  async consume(id: string, at: number) {
    const r = await this.db
      .updateTable('subject_tokens')
      .set({ consumed_at: at })
      .where('id', '=', id)
      .where('consumed_at', 'is', null)
      .where('expires_at', '>', at)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async deleteUnconsumedByUser(userId: string) {
    const r = await this.db.deleteFrom('subject_tokens').where('user_id', '=', userId).where('consumed_at', 'is', null).executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  async deleteExpired(now: number) {
    const r = await this.db.deleteFrom('subject_tokens').where('expires_at', '<=', now).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}

/** Kysely implementation of {@link TokenExchangeAuditStore} (SQLite and PostgreSQL). */
export class KyselyTokenExchangeAuditStore implements TokenExchangeAuditStore {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(r: TokenExchangeAuditRecord): Promise<void> {
    await this.db
      .insertInto('token_exchange_audit')
      .values({
        id: r.id,
        at: r.at,
        application_id: r.applicationId,
        user_id: r.userId,
        token_kind: r.tokenKind,
        token_id: r.tokenId,
        outcome: r.outcome,
        resource: r.resource,
        scope: r.scope,
      })
      .execute();
  }

  async listByUser(userId: string, limit: number) {
    const rows = await this.db
      .selectFrom('token_exchange_audit')
      .selectAll()
      .where('user_id', '=', userId)
      .orderBy('at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
    return rows.map(toAudit);
  }
}
