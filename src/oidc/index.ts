import type { AuditLog } from '../domain/audit/index.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyBaseLogger } from 'fastify';
import { createLocalJWKSet, type JWK, type JWTVerifyGetKey } from 'jose';
import type Provider from 'oidc-provider';
import type { AuthService } from '../domain/sign-in/auth.js';
import type { CaptchaService } from '../domain/sign-in/captcha.js';
import type { MfaService } from '../domain/mfa/index.js';
import type { SessionService } from '../domain/sessions/index.js';
import { OidcKeyService, type RotationResult } from './keys.js';
import { createProvider, type ProviderDeps } from './provider.js';

export { issuerOf, LOGTO_MANAGEMENT_RESOURCE, managementAudiencesOf, managementResourceOf, MANAGEMENT_SCOPE, OIDC_PREFIX, ACCESS_TOKEN_TTL_SECONDS } from './provider.js';

/** How often (ms) a running node checks the database for rotated keys. */
export const KEY_CHECK_INTERVAL_MS = 10_000;

/** Everything the OIDC surface needs. */
export interface OidcDeps extends ProviderDeps {
  auth: AuthService;
  sessions: SessionService;
  /** The MFA step of the sign-in page (absent: no second factor is asked there). */
  mfa?: MfaService;
  /** Captchas for the sign-in page once too many sign-ins failed from one address (absent: none shown). */
  captcha?: Pick<CaptchaService, 'create'>;
  logger: FastifyBaseLogger;
  /** Where token grants are recorded (`ExchangeTokenBy.<grant>`); absent: not recorded. */
  audit?: AuditLog;
}

/** Logto's log key of each grant type (logto-io/logto `packages/schemas/src/types/log/token.ts`). */
const GRANT_LOG_KEY: Record<string, string> = {
  authorization_code: 'ExchangeTokenBy.AuthorizationCode',
  refresh_token: 'ExchangeTokenBy.RefreshToken',
  client_credentials: 'ExchangeTokenBy.ClientCredentials',
  'urn:ietf:params:oauth:grant-type:token-exchange': 'ExchangeTokenBy.TokenExchange',
  'urn:ietf:params:oauth:grant-type:device_code': 'ExchangeTokenBy.DeviceCode',
};

/** The parts of node-oidc-provider's context a grant's audit entry reads. */
interface GrantContext {
  oidc?: {
    params?: { grant_type?: unknown };
    client?: { clientId?: string };
    entities?: Record<string, { accountId?: string } | undefined>;
  };
}

/**
 * Holds the node-oidc-provider instance of one app. The provider takes its keys at construction, so
 * when the key set in the database changes (`tessera keys rotate` on any node, or a retired key
 * ageing out of the JWKS) the next request after {@link KEY_CHECK_INTERVAL_MS} builds a fresh
 * instance. Everything else a provider holds lives in the database (adapter) or is derived from it,
 * and the cookie keys are shared, so the swap is invisible to clients.
 */
export class OidcService {
  readonly keys: OidcKeyService;
  private provider!: Provider;
  private handler!: (req: IncomingMessage, res: ServerResponse) => void;
  private localKeys!: JWTVerifyGetKey;
  private fingerprint = '';
  private checkedAt = 0;
  private checking: Promise<void> | undefined;

  private constructor(readonly deps: OidcDeps) {
    this.keys = new OidcKeyService(deps.store, deps.clock);
  }

  /**
   * Creates the keys on first start, builds the provider, and ensures the configured admin app
   * (`adminClientId` + `adminClientSecret`).
   * @throws AppError `application.invalid_metadata` when the configured admin client cannot be ensured
   */
  static async create(deps: OidcDeps): Promise<OidcService> {
    const service = new OidcService(deps);
    await service.keys.ensure();
    await service.reload();
    const { adminClientId, adminClientSecret } = deps.config;
    if (adminClientId && adminClientSecret) await deps.applications.ensureBootstrap(adminClientId, adminClientSecret);
    return service;
  }

  /** The current provider, rebuilt first when the stored keys changed (checked at most every 10 s). */
  async current(): Promise<Provider> {
    if (Date.now() - this.checkedAt >= KEY_CHECK_INTERVAL_MS) {
      this.checking ??= this.refresh().finally(() => {
        this.checking = undefined;
      });
      await this.checking;
    }
    return this.provider;
  }

  /**
   * A jose key resolver over the provider's current public signing keys (the JWKS it serves), for
   * verifying its JWT access tokens locally, e.g. `jwtVerify(token, oidc.verificationKey, …)` at the
   * Management API. Follows key rotation like the provider itself.
   */
  readonly verificationKey: JWTVerifyGetKey = async (header, token) => {
    await this.current();
    return this.localKeys(header, token);
  };

  /**
   * The version of the current signing keys (their fingerprint), after the same refresh check as
   * {@link current}: it changes whenever {@link verificationKey}'s keys change, so a verifier that
   * remembers checked signatures (`VerifiedJwtMemo`) can tell when to check again.
   */
  async signingKeysVersion(): Promise<string> {
    await this.current();
    return this.fingerprint;
  }

  /** The current provider's Node request handler (built once per provider instance). */
  async requestHandler(): Promise<(req: IncomingMessage, res: ServerResponse) => void> {
    await this.current();
    return this.handler;
  }

  /** Writes the audit entry of a token request (`ExchangeTokenBy.<grant>`, Success or Error with the OAuth error code). */
  private recordGrant(ctx: GrantContext, error?: Error & { error?: string }): void {
    if (!this.deps.audit) return;
    const grantType = typeof ctx.oidc?.params?.grant_type === 'string' ? ctx.oidc.params.grant_type : '';
    const entities = ctx.oidc?.entities ?? {};
    const userId = entities['AccessToken']?.accountId ?? entities['RefreshToken']?.accountId ?? entities['AuthorizationCode']?.accountId ?? null;
    this.deps.audit
      .record({
        key: GRANT_LOG_KEY[grantType] ?? 'ExchangeTokenBy.Unknown',
        result: error ? 'Error' : 'Success',
        userId,
        applicationId: ctx.oidc?.client?.clientId ?? null,
        details: { params: { grant_type: grantType } },
        ...(error ? { error: { code: error.error ?? error.name, message: error.message } } : {}),
      })
      .catch((failure: unknown) => this.deps.logger.error({ err: failure }, 'audit log entry of a token request not written'));
  }

  /** Reloads the keys from the database now and rebuilds the provider when they changed. */
  async reload(): Promise<void> {
    const loaded = await this.keys.load();
    this.checkedAt = Date.now();
    if (loaded.fingerprint === this.fingerprint && this.provider) return;
    const provider = createProvider(this.deps, loaded);
    provider.on('server_error', (_ctx: unknown, error: Error) => this.deps.logger.error({ err: error }, 'oidc provider error'));
    // Every token request, granted or refused, in the audit log (never a token or secret value).
    provider.on('grant.success', (ctx: GrantContext) => this.recordGrant(ctx));
    provider.on('grant.error', (ctx: GrantContext, error: Error & { error?: string }) => this.recordGrant(ctx, error));
    this.provider = provider;
    this.handler = provider.callback();
    this.localKeys = createLocalJWKSet({ keys: loaded.signing.map(publicJwk) });
    this.fingerprint = loaded.fingerprint;
  }

  /** Rotates the signing keys (see {@link OidcKeyService.rotate}) and switches this node at once. */
  async rotateKeys(): Promise<RotationResult> {
    const result = await this.keys.rotate();
    await this.reload();
    return result;
  }

  /** Deletes expired provider artefacts and keys past their retention. @returns rows deleted */
  async purgeExpired(): Promise<number> {
    const payloads = await this.deps.store.oidcPayloads.deleteExpired(this.deps.clock.now());
    return payloads + (await this.keys.purgeRetired());
  }

  private async refresh(): Promise<void> {
    try {
      await this.reload();
    } catch (error) {
      // Keep serving with the keys we have; try again at the next interval.
      this.checkedAt = Date.now();
      this.deps.logger.error({ err: error }, 'oidc key reload failed');
    }
  }
}

/** The public members of a JWK (drops RSA and EC private parameters). */
function publicJwk(jwk: JWK): JWK {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, oth: _oth, ...rest } = jwk as JWK & { oth?: unknown };
  return rest;
}
