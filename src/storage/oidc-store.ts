import { type ExpressionBuilder, type Kysely, type Selectable, sql } from 'kysely';
import { MANAGEMENT_ROLE_ID, MANAGEMENT_SCOPE_ID } from './migrations/0023_authorization.js';
import { prepared } from './prepared.js';
import type { ApplicationsTable, Database } from './schema.js';

/**
 * Storage of the OAuth 2.0 / OIDC side (issue 4): applications (OAuth clients), the artefacts of
 * node-oidc-provider (one table for every model) and the provider's keys. Timestamps are
 * **milliseconds since the epoch**, as everywhere in the store.
 */

/** What kind of OAuth client an application is (Logto's application types). */
export type ApplicationType = 'traditional' | 'spa' | 'native' | 'm2m';

/** A registered application as stored. */
export interface ApplicationRecord {
  /** The OAuth `client_id` (24-hex from `newId`, or the configured bootstrap id). */
  id: string;
  name: string;
  type: ApplicationType;
  /** SHA-256 hex of the client secret; null for public clients (SPA, native). */
  secretHash: string | null;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  /** Origins allowed to call the token, userinfo… endpoints from a browser (CORS). */
  corsOrigins: string[];
  /**
   * Holds the Management API's `all` permission through one of its roles (issue 18; read-only here:
   * derived from `application_roles`, set by giving or taking the built-in role `management-api-access`).
   */
  isManagement: boolean;
  /** May use the token-exchange grant (RFC 8693) to act as a user (confidential clients only). */
  allowTokenExchange: boolean;
  /**
   * A third-party application (logto.md §1.3): its users are asked for consent at /oidc, and its
   * tokens may read but never change anything through the Account API.
   */
  isThirdParty: boolean;
  /** Free text for administrators (Logto's `description`); null when none. */
  description: string | null;
  createdAt: number;
  updatedAt: number;
}

/**
 * Fields of an application that can change after creation. `isManagement` gives (`true`) or takes
 * (`false`) the built-in role `management-api-access`; other roles holding the Management API's `all`
 * are the authorization service's to change.
 */
export type ApplicationPatch = Partial<Omit<ApplicationRecord, 'id' | 'type' | 'createdAt'>>;

/** An application row as read: the table's columns and the derived management flag. */
type ApplicationRow = Selectable<ApplicationsTable> & { is_management: unknown };

export interface ApplicationStore {
  /**
   * Inserts unless the id exists; `isManagement: true` is written as the grant of the built-in role
   * `management-api-access`, in the same transaction.
   * @returns false when an application with this id already exists (nothing is written)
   */
  insert(app: ApplicationRecord): Promise<boolean>;
  findById(id: string): Promise<ApplicationRecord | undefined>;
  /** Newest first. */
  list(page: { offset: number; limit: number }): Promise<ApplicationRecord[]>;
  count(): Promise<number>;
  /** @returns the updated application, or undefined when there is none */
  update(id: string, patch: ApplicationPatch): Promise<ApplicationRecord | undefined>;
  /** @returns true when one was deleted */
  delete(id: string): Promise<boolean>;
}

/** Secondary keys of an oidc-provider artefact, extracted from its payload for lookups and revocation. */
export interface OidcPayloadIndexes {
  grantId: string | null;
  userCode: string | null;
  /** Session uid (model `Session`). */
  uid: string | null;
  accountId: string | null;
  clientId: string | null;
}

/** A stored oidc-provider artefact. */
export interface OidcPayloadRecord {
  payload: Record<string, unknown>;
  /** When it was consumed (ms), e.g. a used authorization code or a rotated refresh token. */
  consumedAt: number | null;
  expiresAt: number | null;
}

/**
 * node-oidc-provider's artefacts, whatever the model (`Session`, `Grant`, `AccessToken`,
 * `AuthorizationCode`, `RefreshToken`, `Interaction`, …). Expired rows are invisible to reads.
 */
export interface OidcPayloadStore {
  /** Inserts or replaces the artefact `(model, id)`. `expiresAt` in ms, null = no expiry. */
  upsert(model: string, id: string, payload: Record<string, unknown>, expiresAt: number | null, indexes: OidcPayloadIndexes): Promise<void>;
  find(model: string, id: string, now: number): Promise<OidcPayloadRecord | undefined>;
  /** The `Session` with this uid. */
  findByUid(uid: string, now: number): Promise<OidcPayloadRecord | undefined>;
  findByUserCode(model: string, userCode: string, now: number): Promise<OidcPayloadRecord | undefined>;
  /** Marks `(model, id)` consumed at `at` (ms). */
  consume(model: string, id: string, at: number): Promise<void>;
  destroy(model: string, id: string): Promise<void>;
  /** Deletes every artefact of `model` that belongs to the grant. */
  revokeByGrantId(model: string, grantId: string): Promise<void>;
  /** Deletes every artefact (sessions, grants, tokens…) of an account. @returns how many */
  deleteByAccount(accountId: string): Promise<number>;
  /**
   * Deletes every artefact of an account except those of grant `keep.grantId` and the provider
   * `Session` whose uid is `keep.sessionUid` (ends the account's other OIDC sessions, grants and
   * tokens; with no `sessionUid`, every `Session` of the account ends). @returns how many
   */
  deleteByAccountExcept(accountId: string, keep: { grantId: string; sessionUid: string | null }): Promise<number>;
  /** The live artefacts of `model` of an account (e.g. its `Grant`s), with their ids. */
  listByAccount(model: string, accountId: string, now: number): Promise<Array<OidcPayloadRecord & { id: string }>>;
  /**
   * Deletes the `Grant` `grantId` of `accountId` and every artefact issued under it (tokens, codes), in
   * one transaction. @returns false when the account has no such grant
   */
  deleteGrant(accountId: string, grantId: string): Promise<boolean>;
  /** Deletes every artefact issued to a client. @returns how many */
  deleteByClient(clientId: string): Promise<number>;
  /** Deletes artefacts that expired before `now`. @returns how many */
  deleteExpired(now: number): Promise<number>;
}

/** What a stored key is for: signing JWTs (`sig`) or signing the provider's cookies (`cookie`). */
export type OidcKeyKind = 'sig' | 'cookie';

/** A provider key as stored. */
export interface OidcKeyRecord {
  kid: string;
  kind: OidcKeyKind;
  /** JWS algorithm of a signing key (`ES256`, `RS256`); null for cookie keys. */
  alg: string | null;
  /** Private JWK as JSON (signing keys) or a base64url secret (cookie keys). */
  jwk: string;
  createdAt: number;
  /** When a newer key took over signing (ms); null while the key signs. */
  retiredAt: number | null;
}

export interface OidcKeyStore {
  /** Every key, newest first (ties broken by kid, so every node orders them alike). */
  list(): Promise<OidcKeyRecord[]>;
  insert(key: OidcKeyRecord): Promise<void>;
  /** Sets `retiredAt = at` on the active keys of a kind. @returns how many */
  retireActive(kind: OidcKeyKind, at: number): Promise<number>;
  /** Deletes keys retired before `cutoff` (ms). @returns how many */
  deleteRetiredBefore(cutoff: number): Promise<number>;
}

const num = (v: number | null): number | null => (v === null ? null : Number(v));

function parseArray(text: string): string[] {
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  } catch {
    return [];
  }
}

function toApplication(row: ApplicationRow): ApplicationRecord {
  return {
    id: row.id,
    name: row.name,
    type: row.type as ApplicationType,
    secretHash: row.secret_hash,
    redirectUris: parseArray(row.redirect_uris),
    postLogoutRedirectUris: parseArray(row.post_logout_redirect_uris),
    corsOrigins: parseArray(row.cors_origins),
    isManagement: Boolean(Number(row.is_management)),
    allowTokenExchange: Boolean(row.allow_token_exchange),
    isThirdParty: Boolean(row.is_third_party),
    description: row.description ?? null,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function applicationColumns(patch: ApplicationPatch): Partial<ApplicationsTable> {
  const out: Partial<ApplicationsTable> = {};
  if (patch.name !== undefined) out.name = patch.name;
  if (patch.secretHash !== undefined) out.secret_hash = patch.secretHash;
  if (patch.redirectUris !== undefined) out.redirect_uris = JSON.stringify(patch.redirectUris);
  if (patch.postLogoutRedirectUris !== undefined) out.post_logout_redirect_uris = JSON.stringify(patch.postLogoutRedirectUris);
  if (patch.corsOrigins !== undefined) out.cors_origins = JSON.stringify(patch.corsOrigins);
  if (patch.allowTokenExchange !== undefined) out.allow_token_exchange = patch.allowTokenExchange ? 1 : 0;
  if (patch.isThirdParty !== undefined) out.is_third_party = patch.isThirdParty ? 1 : 0;
  if (patch.description !== undefined) out.description = patch.description;
  if (patch.updatedAt !== undefined) out.updated_at = patch.updatedAt;
  return out;
}

/** `is_management`: whether one of the application's roles holds the Management API's `all` (1/0, or a boolean on PostgreSQL). */
const isManagementColumn = (eb: ExpressionBuilder<Database, 'applications'>) =>
  eb
    .exists(
      eb
        .selectFrom('application_roles as ar')
        .innerJoin('role_scopes as rs', 'rs.role_id', 'ar.role_id')
        .select(sql<number>`1`.as('one'))
        .whereRef('ar.application_id', '=', 'applications.id')
        .where('rs.scope_id', '=', MANAGEMENT_SCOPE_ID),
    )
    .as('is_management');

/** Kysely implementation of {@link ApplicationStore} (SQLite and PostgreSQL). */
export class KyselyApplicationStore implements ApplicationStore {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(app: ApplicationRecord): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const r = await trx
      .insertInto('applications')
      .values({
        id: app.id,
        name: app.name,
        type: app.type,
        secret_hash: app.secretHash,
        redirect_uris: JSON.stringify(app.redirectUris),
        post_logout_redirect_uris: JSON.stringify(app.postLogoutRedirectUris),
        cors_origins: JSON.stringify(app.corsOrigins),
        allow_token_exchange: app.allowTokenExchange ? 1 : 0,
        is_third_party: app.isThirdParty ? 1 : 0,
        description: app.description,
        created_at: app.createdAt,
        updated_at: app.updatedAt,
      })
      .onConflict((oc) => oc.column('id').doNothing())
      .executeTakeFirst();
      const inserted = Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
      // `isManagement` is stored as the grant of the built-in role that holds the Management API's `all`.
      if (inserted && app.isManagement) {
        await trx.insertInto('application_roles').values({ application_id: app.id, role_id: MANAGEMENT_ROLE_ID, created_at: app.createdAt }).execute();
      }
      return inserted;
    });
  }

  private readonly byId = prepared(() => this.db, (id: string) => this.db.selectFrom('applications').selectAll().select(isManagementColumn).where('id', '=', id));

  async findById(id: string) {
    const [row] = await this.byId(id);
    return row ? toApplication(row) : undefined;
  }

  async list({ offset, limit }: { offset: number; limit: number }) {
    const rows = await this.db
      .selectFrom('applications')
      .selectAll()
      .select(isManagementColumn)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .offset(offset)
      .limit(limit)
      .execute();
    return rows.map(toApplication);
  }

  async count() {
    const r = await this.db.selectFrom('applications').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async update(id: string, patch: ApplicationPatch) {
    const columns = applicationColumns(patch);
    if (Object.keys(columns).length === 0 && patch.isManagement === undefined) return this.findById(id);
    return this.db.transaction().execute(async (trx) => {
      if (!(await trx.selectFrom('applications').select('id').where('id', '=', id).executeTakeFirst())) return undefined;
      if (patch.isManagement === true) {
        await trx
          .insertInto('application_roles')
          .values({ application_id: id, role_id: MANAGEMENT_ROLE_ID, created_at: patch.updatedAt ?? Date.now() })
          .onConflict((oc) => oc.columns(['application_id', 'role_id']).doNothing())
          .execute();
      } else if (patch.isManagement === false) {
        await trx.deleteFrom('application_roles').where('application_id', '=', id).where('role_id', '=', MANAGEMENT_ROLE_ID).execute();
      }
      if (Object.keys(columns).length > 0) await trx.updateTable('applications').set(columns).where('id', '=', id).execute();
      // Read inside the transaction: its own writes, and on SQLite its one connection (a read outside would wait for it).
      const row = await trx.selectFrom('applications').selectAll().select(isManagementColumn).where('id', '=', id).executeTakeFirst();
      return row ? toApplication(row) : undefined;
    });
  }

  async delete(id: string) {
    const r = await this.db.deleteFrom('applications').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
}

function toPayload(row: { payload: string; consumed_at: number | null; expires_at: number | null }): OidcPayloadRecord {
  return {
    payload: JSON.parse(row.payload) as Record<string, unknown>,
    consumedAt: num(row.consumed_at),
    expiresAt: num(row.expires_at),
  };
}

/** Kysely implementation of {@link OidcPayloadStore} (SQLite and PostgreSQL). */
export class KyselyOidcPayloadStore implements OidcPayloadStore {
  constructor(private readonly db: Kysely<Database>) {}

  async upsert(model: string, id: string, payload: Record<string, unknown>, expiresAt: number | null, ix: OidcPayloadIndexes) {
    const columns = {
      payload: JSON.stringify(payload),
      grant_id: ix.grantId,
      user_code: ix.userCode,
      uid: ix.uid,
      account_id: ix.accountId,
      client_id: ix.clientId,
      expires_at: expiresAt,
      consumed_at: null,
    };
    await this.db
      .insertInto('oidc_payloads')
      .values({ model, id, ...columns })
      .onConflict((oc) => oc.columns(['model', 'id']).doUpdateSet(columns))
      .execute();
  }

  private live(now: number) {
    return this.db
      .selectFrom('oidc_payloads')
      .select(['payload', 'consumed_at', 'expires_at'])
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]));
  }

  // Every token and session lookup of the provider, compiled once (see prepared.ts).
  private readonly byId = prepared(() => this.db, (now: number, model: string, id: string) =>
    this.live(now).where('model', '=', model).where('id', '=', id),
  );

  async find(model: string, id: string, now: number) {
    const [row] = await this.byId(now, model, id);
    return row ? toPayload(row) : undefined;
  }

  async findByUid(uid: string, now: number) {
    const row = await this.live(now).where('model', '=', 'Session').where('uid', '=', uid).executeTakeFirst();
    return row ? toPayload(row) : undefined;
  }

  async findByUserCode(model: string, userCode: string, now: number) {
    const row = await this.live(now).where('model', '=', model).where('user_code', '=', userCode).executeTakeFirst();
    return row ? toPayload(row) : undefined;
  }

  async consume(model: string, id: string, at: number) {
    await this.db.updateTable('oidc_payloads').set({ consumed_at: at }).where('model', '=', model).where('id', '=', id).execute();
  }

  async destroy(model: string, id: string) {
    await this.db.deleteFrom('oidc_payloads').where('model', '=', model).where('id', '=', id).execute();
  }

  async revokeByGrantId(model: string, grantId: string) {
    await this.db.deleteFrom('oidc_payloads').where('grant_id', '=', grantId).where('model', '=', model).execute();
  }

  async deleteByAccount(accountId: string) {
    const r = await this.db.deleteFrom('oidc_payloads').where('account_id', '=', accountId).executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  async deleteByAccountExcept(accountId: string, keep: { grantId: string; sessionUid: string | null }) {
    let query = this.db
      .deleteFrom('oidc_payloads')
      .where('account_id', '=', accountId)
      .where((eb) => eb.or([eb('grant_id', 'is', null), eb('grant_id', '!=', keep.grantId)]))
      // The kept grant itself: a `Grant` row carries no grant_id, its id is the grant's.
      .where((eb) => eb.not(eb.and([eb('model', '=', 'Grant'), eb('id', '=', keep.grantId)])));
    // Every provider session of the account ends (a browser signed in with the old password must not
    // get new codes silently), except the caller's own browser session.
    const keepUid = keep.sessionUid;
    if (keepUid !== null) {
      query = query.where((eb) => eb.or([eb('model', '!=', 'Session'), eb('uid', 'is', null), eb('uid', '!=', keepUid)]));
    }
    const r = await query.executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  async listByAccount(model: string, accountId: string, now: number) {
    const rows = await this.db
      .selectFrom('oidc_payloads')
      .select(['id', 'payload', 'consumed_at', 'expires_at'])
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
      .where('model', '=', model)
      .where('account_id', '=', accountId)
      .orderBy('id')
      .execute();
    return rows.map((row) => ({ id: row.id, ...toPayload(row) }));
  }

  async deleteGrant(accountId: string, grantId: string) {
    return this.db.transaction().execute(async (trx) => {
      const r = await trx.deleteFrom('oidc_payloads').where('model', '=', 'Grant').where('id', '=', grantId).where('account_id', '=', accountId).executeTakeFirst();
      if (Number(r.numDeletedRows) === 0) return false;
      await trx.deleteFrom('oidc_payloads').where('grant_id', '=', grantId).execute();
      return true;
    });
  }

  async deleteByClient(clientId: string) {
    const r = await this.db.deleteFrom('oidc_payloads').where('client_id', '=', clientId).executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  async deleteExpired(now: number) {
    const r = await this.db.deleteFrom('oidc_payloads').where('expires_at', '<=', now).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}

/** Kysely implementation of {@link OidcKeyStore} (SQLite and PostgreSQL). */
export class KyselyOidcKeyStore implements OidcKeyStore {
  constructor(private readonly db: Kysely<Database>) {}

  async list() {
    const rows = await this.db.selectFrom('oidc_keys').selectAll().orderBy('created_at', 'desc').orderBy('kid', 'asc').execute();
    return rows.map((r) => ({
      kid: r.kid,
      kind: r.kind as OidcKeyKind,
      alg: r.alg,
      jwk: r.jwk,
      createdAt: Number(r.created_at),
      retiredAt: num(r.retired_at),
    }));
  }

  async insert(key: OidcKeyRecord) {
    await this.db
      .insertInto('oidc_keys')
      .values({ kid: key.kid, kind: key.kind, alg: key.alg, jwk: key.jwk, created_at: key.createdAt, retired_at: key.retiredAt })
      .execute();
  }

  async retireActive(kind: OidcKeyKind, at: number) {
    const r = await this.db
      .updateTable('oidc_keys')
      .set({ retired_at: at })
      .where('kind', '=', kind)
      .where('retired_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  async deleteRetiredBefore(cutoff: number) {
    const r = await this.db.deleteFrom('oidc_keys').where('retired_at', '<', cutoff).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
