import type { Kysely, Selectable } from 'kysely';
import type { ConnectorsTable, Database, SocialSessionsTable, SocialTokenSetsTable } from './schema.js';

/**
 * Storage of social connectors and of social authorization sessions (migration 0010_social). Records
 * are camelCase, timestamps in **milliseconds since the epoch**. The connector `config` is a JSON
 * object that includes the client secret: only the domain reads it, APIs never return it.
 */

/** Connector protocol families. */
export type ConnectorType = 'oidc' | 'oauth2';
/** Built-in presets (real endpoints of the vendors). */
export type ConnectorPreset = 'github' | 'google' | 'wechat';

/** A social connector as stored. */
export interface ConnectorRecord {
  id: string;
  type: ConnectorType;
  preset: ConnectorPreset | null;
  target: string;
  name: string;
  /** Parsed JSON config, secrets included (never leaves the domain). */
  config: Record<string, unknown>;
  enabled: boolean;
  /**
   * Keep the identity provider's tokens of each sign-in and link, sealed (migration 0021, Logto's
   * `enableTokenStorage`); false when absent.
   */
  tokenStorage?: boolean;
  createdAt: number;
  updatedAt: number;
}

/** Columns of a connector that {@link ConnectorStore.update} may change. */
export type ConnectorPatch = Partial<Pick<ConnectorRecord, 'name' | 'target' | 'config' | 'enabled' | 'tokenStorage'>> & { updatedAt: number };

/** Storage of {@link ConnectorRecord}s. */
export interface ConnectorStore {
  insert(connector: ConnectorRecord): Promise<void>;
  findById(id: string): Promise<ConnectorRecord | undefined>;
  /** Every connector, oldest first. */
  list(): Promise<ConnectorRecord[]>;
  /** Applies the patch. @returns the updated connector, or undefined when there is none */
  update(id: string, patch: ConnectorPatch): Promise<ConnectorRecord | undefined>;
  /** Deletes the connector (its pending social sessions cascade). @returns true when one was deleted */
  delete(id: string): Promise<boolean>;
}

/** What a social session is for. */
export type SocialSessionKind = 'sign_in' | 'interaction' | 'verification';

/** One authorization attempt at an identity provider. */
export interface SocialSessionRecord {
  id: string;
  kind: SocialSessionKind;
  connectorId: string;
  stateHash: string;
  redirectUri: string;
  codeVerifier: string;
  nonce: string;
  interactionUid: string | null;
  userId: string | null;
  /** The external identity once verified. */
  result: Record<string, unknown> | null;
  createdAt: number;
  expiresAt: number;
  verifiedAt: number | null;
  consumedAt: number | null;
}

/** Storage of {@link SocialSessionRecord}s. */
export interface SocialSessionStore {
  insert(record: SocialSessionRecord): Promise<void>;
  findById(id: string): Promise<SocialSessionRecord | undefined>;
  /** The live (unexpired at `now`) sessions whose state has this SHA-256 hex, any consumption state. */
  findByStateHash(stateHash: string, now: number): Promise<SocialSessionRecord[]>;
  /**
   * Marks the session used, only if it is unused and unexpired at `at` (one statement, so of
   * concurrent callbacks exactly one gets true).
   */
  consume(id: string, at: number): Promise<boolean>;
  /**
   * Stores the verified identity, once: only while the session is unverified, unconsumed and unexpired.
   * @returns true when this call stored it
   */
  markVerified(id: string, result: Record<string, unknown>, at: number): Promise<boolean>;
  /** Deletes sessions expired at `now`. @returns how many */
  deleteExpired(now: number): Promise<number>;
}

function parseObject(text: string | null): Record<string, unknown> | null {
  if (text === null) return null;
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

const toConnector = (row: Selectable<ConnectorsTable>): ConnectorRecord => ({
  id: row.id,
  type: row.type as ConnectorType,
  preset: (row.preset ?? null) as ConnectorPreset | null,
  target: row.target,
  name: row.name,
  config: parseObject(row.config) ?? {},
  enabled: Number(row.enabled) === 1,
  tokenStorage: Number(row.enable_token_storage) === 1,
  createdAt: Number(row.created_at),
  updatedAt: Number(row.updated_at),
});

const toSession = (row: Selectable<SocialSessionsTable>): SocialSessionRecord => ({
  id: row.id,
  kind: row.kind as SocialSessionKind,
  connectorId: row.connector_id,
  stateHash: row.state_hash,
  redirectUri: row.redirect_uri,
  codeVerifier: row.code_verifier,
  nonce: row.nonce,
  interactionUid: row.interaction_uid,
  userId: row.user_id,
  result: parseObject(row.result),
  createdAt: Number(row.created_at),
  expiresAt: Number(row.expires_at),
  verifiedAt: row.verified_at === null ? null : Number(row.verified_at),
  consumedAt: row.consumed_at === null ? null : Number(row.consumed_at),
});

/** Kysely implementation of {@link ConnectorStore} (SQLite and PostgreSQL). */
export class KyselyConnectorStore implements ConnectorStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** {@inheritDoc ConnectorStore.insert} */
  async insert(c: ConnectorRecord): Promise<void> {
    await this.db
      .insertInto('connectors')
      .values({
        id: c.id,
        type: c.type,
        preset: c.preset,
        target: c.target,
        name: c.name,
        config: JSON.stringify(c.config),
        enabled: c.enabled ? 1 : 0,
        enable_token_storage: c.tokenStorage === true ? 1 : 0,
        created_at: c.createdAt,
        updated_at: c.updatedAt,
      })
      .execute();
  }

  /** {@inheritDoc ConnectorStore.findById} */
  async findById(id: string): Promise<ConnectorRecord | undefined> {
    const row = await this.db.selectFrom('connectors').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toConnector(row) : undefined;
  }

  /** {@inheritDoc ConnectorStore.list} */
  async list(): Promise<ConnectorRecord[]> {
    const rows = await this.db.selectFrom('connectors').selectAll().orderBy('created_at').orderBy('id').execute();
    return rows.map(toConnector);
  }

  /** {@inheritDoc ConnectorStore.update} */
  async update(id: string, patch: ConnectorPatch): Promise<ConnectorRecord | undefined> {
    const set: Partial<ConnectorsTable> = { updated_at: patch.updatedAt };
    if (patch.name !== undefined) set.name = patch.name;
    if (patch.target !== undefined) set.target = patch.target;
    if (patch.config !== undefined) set.config = JSON.stringify(patch.config);
    if (patch.enabled !== undefined) set.enabled = patch.enabled ? 1 : 0;
    if (patch.tokenStorage !== undefined) set.enable_token_storage = patch.tokenStorage ? 1 : 0;
    await this.db.updateTable('connectors').set(set).where('id', '=', id).execute();
    return this.findById(id);
  }

  /** {@inheritDoc ConnectorStore.delete} */
  async delete(id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('connectors').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
}

/** Kysely implementation of {@link SocialSessionStore} (SQLite and PostgreSQL). */
export class KyselySocialSessionStore implements SocialSessionStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** {@inheritDoc SocialSessionStore.insert} */
  async insert(r: SocialSessionRecord): Promise<void> {
    await this.db
      .insertInto('social_sessions')
      .values({
        id: r.id,
        kind: r.kind,
        connector_id: r.connectorId,
        state_hash: r.stateHash,
        redirect_uri: r.redirectUri,
        code_verifier: r.codeVerifier,
        nonce: r.nonce,
        interaction_uid: r.interactionUid,
        user_id: r.userId,
        result: r.result === null ? null : JSON.stringify(r.result),
        created_at: r.createdAt,
        expires_at: r.expiresAt,
        verified_at: r.verifiedAt,
        consumed_at: r.consumedAt,
      })
      .execute();
  }

  /** {@inheritDoc SocialSessionStore.findById} */
  async findById(id: string): Promise<SocialSessionRecord | undefined> {
    const row = await this.db.selectFrom('social_sessions').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toSession(row) : undefined;
  }

  /** {@inheritDoc SocialSessionStore.findByStateHash} */
  async findByStateHash(stateHash: string, now: number): Promise<SocialSessionRecord[]> {
    const rows = await this.db
      .selectFrom('social_sessions')
      .selectAll()
      .where('state_hash', '=', stateHash)
      .where('expires_at', '>', now)
      .limit(10)
      .execute();
    return rows.map(toSession);
  }

  /** {@inheritDoc SocialSessionStore.consume} */
  async consume(id: string, at: number): Promise<boolean> {
    const r = await this.db
      .updateTable('social_sessions')
      .set({ consumed_at: at })
      .where('id', '=', id)
      .where('consumed_at', 'is', null)
      .where('expires_at', '>', at)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** {@inheritDoc SocialSessionStore.markVerified} */
  async markVerified(id: string, result: Record<string, unknown>, at: number): Promise<boolean> {
    const r = await this.db
      .updateTable('social_sessions')
      .set({ verified_at: at, result: JSON.stringify(result) })
      .where('id', '=', id)
      .where('verified_at', 'is', null)
      .where('consumed_at', 'is', null)
      .where('expires_at', '>', at)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** {@inheritDoc SocialSessionStore.deleteExpired} */
  async deleteExpired(now: number): Promise<number> {
    const r = await this.db.deleteFrom('social_sessions').where('expires_at', '<=', now).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}

/** A user's sealed provider token set for one target (migration 0021). Times in ms since the epoch. */
export interface SocialTokenSetRecord {
  userId: string;
  target: string;
  connectorId: string;
  /** The provider account the tokens were issued for. */
  subject: string;
  /** Envelope-encrypted tokens (domain/social/token-vault.ts); opaque here. */
  sealed: string;
  scope: string | null;
  tokenType: string | null;
  expiresAt: number | null;
  hasRefreshToken: boolean;
  createdAt: number;
  updatedAt: number;
}

/** Storage of {@link SocialTokenSetRecord}s: at most one per user and target. */
export interface SocialTokenSetStore {
  /** Sets the user's token set for `record.target`, replacing one there was (its `createdAt` is kept). */
  upsert(record: SocialTokenSetRecord): Promise<void>;
  find(userId: string, target: string): Promise<SocialTokenSetRecord | undefined>;
  /**
   * Replaces the sealed tokens and their metadata, only while the row still holds `expectedSealed` (compare
   * and set: of concurrent refreshes one writes). @returns true when this call wrote
   */
  replaceSealed(userId: string, target: string, expectedSealed: string, next: Pick<SocialTokenSetRecord, 'sealed' | 'scope' | 'tokenType' | 'expiresAt' | 'hasRefreshToken' | 'updatedAt'>): Promise<boolean>;
  /** Deletes the user's token set for `target`. @returns true when there was one */
  delete(userId: string, target: string): Promise<boolean>;
  /** Deletes every token set kept through a connector. @returns how many */
  deleteByConnector(connectorId: string): Promise<number>;
}

const toTokenSet = (row: Selectable<SocialTokenSetsTable>): SocialTokenSetRecord => ({
  userId: row.user_id,
  target: row.target,
  connectorId: row.connector_id,
  subject: row.subject,
  sealed: row.sealed,
  scope: row.scope,
  tokenType: row.token_type,
  expiresAt: row.expires_at === null ? null : Number(row.expires_at),
  hasRefreshToken: Number(row.has_refresh_token) === 1,
  createdAt: Number(row.created_at),
  updatedAt: Number(row.updated_at),
});

/** Kysely implementation of {@link SocialTokenSetStore} (SQLite and PostgreSQL). */
export class KyselySocialTokenSetStore implements SocialTokenSetStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** {@inheritDoc SocialTokenSetStore.upsert} */
  async upsert(r: SocialTokenSetRecord): Promise<void> {
    const values = {
      connector_id: r.connectorId,
      subject: r.subject,
      sealed: r.sealed,
      scope: r.scope,
      token_type: r.tokenType,
      expires_at: r.expiresAt,
      has_refresh_token: r.hasRefreshToken ? 1 : 0,
      updated_at: r.updatedAt,
    };
    await this.db
      .insertInto('social_token_sets')
      .values({ user_id: r.userId, target: r.target, ...values, created_at: r.createdAt })
      .onConflict((oc) => oc.columns(['user_id', 'target']).doUpdateSet(values))
      .execute();
  }

  /** {@inheritDoc SocialTokenSetStore.find} */
  async find(userId: string, target: string): Promise<SocialTokenSetRecord | undefined> {
    const row = await this.db.selectFrom('social_token_sets').selectAll().where('user_id', '=', userId).where('target', '=', target).executeTakeFirst();
    return row ? toTokenSet(row) : undefined;
  }

  /** {@inheritDoc SocialTokenSetStore.replaceSealed} */
  async replaceSealed(userId: string, target: string, expectedSealed: string, next: Pick<SocialTokenSetRecord, 'sealed' | 'scope' | 'tokenType' | 'expiresAt' | 'hasRefreshToken' | 'updatedAt'>): Promise<boolean> {
    const r = await this.db
      .updateTable('social_token_sets')
      .set({ sealed: next.sealed, scope: next.scope, token_type: next.tokenType, expires_at: next.expiresAt, has_refresh_token: next.hasRefreshToken ? 1 : 0, updated_at: next.updatedAt })
      .where('user_id', '=', userId)
      .where('target', '=', target)
      .where('sealed', '=', expectedSealed)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** {@inheritDoc SocialTokenSetStore.delete} */
  async delete(userId: string, target: string): Promise<boolean> {
    const r = await this.db.deleteFrom('social_token_sets').where('user_id', '=', userId).where('target', '=', target).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  /** {@inheritDoc SocialTokenSetStore.deleteByConnector} */
  async deleteByConnector(connectorId: string): Promise<number> {
    const r = await this.db.deleteFrom('social_token_sets').where('connector_id', '=', connectorId).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
