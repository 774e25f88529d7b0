import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { ApplicationRecord, ApplicationService } from '../domain/applications/index.js';
import type { Store } from '../storage/store.js';
import type { Clock } from '../util/clock.js';
import { TOKEN_EXCHANGE_GRANT } from './token-exchange.js';

/** Extra client metadata Tessera hands to node-oidc-provider (`extraClientMetadata.properties`). */
export const CLIENT_EXTRA_METADATA = ['tessera_type', 'tessera_cors_origins', 'tessera_token_exchange', 'tessera_third_party'] as const;

/**
 * Client metadata (OpenID Connect Dynamic Client Registration §2 names) of an application.
 * `client_secret` carries the **SHA-256 hash** of the secret, never the secret: Tessera replaces the
 * provider's `Client#compareClientSecret` so that the presented secret is hashed and compared in
 * constant time (see `createProvider`). Symmetric uses of the secret (HS* signatures,
 * `client_secret_jwt`) are therefore disabled provider-wide.
 *
 * Every client lists the token-exchange grant (RFC 8693) so that the grant itself answers
 * `unauthorized_client` to those without `tessera_token_exchange` (the provider's own check would say
 * `invalid_request`).
 */
export function clientMetadata(app: ApplicationRecord): Record<string, unknown> {
  const common = {
    client_id: app.id,
    client_name: app.name,
    tessera_type: app.type,
    tessera_cors_origins: app.corsOrigins,
    tessera_token_exchange: app.allowTokenExchange,
    tessera_third_party: app.isThirdParty,
  };
  if (app.type === 'm2m') {
    return {
      ...common,
      client_secret: app.secretHash ?? undefined,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials', TOKEN_EXCHANGE_GRANT],
      response_types: [],
      redirect_uris: [],
    };
  }
  const browserFlow = {
    ...common,
    grant_types: ['authorization_code', 'refresh_token', TOKEN_EXCHANGE_GRANT],
    response_types: ['code'],
    redirect_uris: app.redirectUris,
    post_logout_redirect_uris: app.postLogoutRedirectUris,
    application_type: app.type === 'native' ? 'native' : 'web',
  };
  if (app.type === 'traditional') {
    return { ...browserFlow, client_secret: app.secretHash ?? undefined, token_endpoint_auth_method: 'client_secret_basic' };
  }
  return { ...browserFlow, token_endpoint_auth_method: 'none' };
}

const str = (v: unknown): string | null => (typeof v === 'string' && v ? v : null);

/**
 * The storage adapter of node-oidc-provider (its documented adapter contract: upsert, find,
 * findByUid, findByUserCode, consume, destroy, revokeByGrantId): every model lives in the one
 * `oidc_payloads` table through {@link Store.oidcPayloads}, on SQLite and PostgreSQL alike. The
 * `Client` model is read-only and served from the applications table, so application changes are
 * seen on the next request. `expiresIn` arrives in seconds; the table keeps milliseconds.
 */
export class TesseraOidcAdapter implements Adapter {
  constructor(
    private readonly model: string,
    private readonly store: Store,
    private readonly applications: ApplicationService,
    private readonly clock: Clock,
  ) {}

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    if (this.model === 'Client') throw new Error('clients are managed through applications, not the OIDC adapter');
    const expiresAt = typeof expiresIn === 'number' && expiresIn > 0 ? this.clock.now() + expiresIn * 1000 : null;
    await this.store.oidcPayloads.upsert(this.model, id, payload, expiresAt, {
      grantId: str(payload.grantId),
      userCode: str(payload.userCode),
      uid: str(payload.uid),
      // A Grant's owner and a Session's account are indexed too, so that suspending or deleting a
      // user (or an application) can end everything they hold.
      accountId: str(payload.accountId),
      clientId: str(payload.clientId),
    });
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    // Ids come from requests (client_id, tokens, cookies): one holding NUL, which PostgreSQL text cannot
    // store, names nothing (and must not reach the database as a 500).
    if (id.includes('\0')) return undefined;
    if (this.model === 'Client') {
      const app = await this.applications.find(id);
      return app ? (clientMetadata(app) as AdapterPayload) : undefined;
    }
    const found = await this.store.oidcPayloads.find(this.model, id, this.clock.now());
    return found ? this.withConsumed(found.payload, found.consumedAt) : undefined;
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    if (uid.includes('\0')) return undefined;
    const found = await this.store.oidcPayloads.findByUid(uid, this.clock.now());
    return found ? this.withConsumed(found.payload, found.consumedAt) : undefined;
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    if (userCode.includes('\0')) return undefined;
    const found = await this.store.oidcPayloads.findByUserCode(this.model, userCode, this.clock.now());
    return found ? this.withConsumed(found.payload, found.consumedAt) : undefined;
  }

  async consume(id: string): Promise<void> {
    if (id.includes('\0')) return;
    await this.store.oidcPayloads.consume(this.model, id, this.clock.now());
  }

  async destroy(id: string): Promise<void> {
    if (id.includes('\0')) return;
    await this.store.oidcPayloads.destroy(this.model, id);
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    await this.store.oidcPayloads.revokeByGrantId(this.model, grantId);
  }

  /** The provider reads consumption from the payload (`consumed`, epoch seconds). */
  private withConsumed(payload: Record<string, unknown>, consumedAt: number | null): AdapterPayload {
    return consumedAt === null ? payload : { ...payload, consumed: Math.floor(consumedAt / 1000) };
  }
}
