import {
  allowInsecureRequests,
  buildAuthorizationUrl,
  calculatePKCECodeChallenge,
  clockTolerance,
  customFetch,
  discovery,
  enableNonRepudiationChecks,
  fetchUserInfo,
  genericGrantRequest,
  type Configuration,
} from 'openid-client';
import { AppError } from '../../errors/index.js';
import { attempt, booleanField, clientAuthentication, providerFetch, refreshTokens, stringField } from './http.js';
import { requireCode } from './oauth2.js';
import { tokenSetOf } from './types.js';
import type { AuthorizationSession, CallbackData, CodeRedemption, ExternalIdentity, ProviderTokenSet, SocialConnector } from './types.js';

/** Settings of a generic OpenID Connect connector (validated by the connector service). */
export interface OidcConnectorSettings {
  id: string;
  target: string;
  /** Issuer URL; discovery is `<issuer>/.well-known/openid-configuration` unless `discoveryUrl` is set. */
  issuer: string;
  /** The discovery document's own URL (must contain `/.well-known/`); its `issuer` must still be `issuer`. */
  discoveryUrl?: string;
  clientId: string;
  clientSecret: string;
  /** Space-separated scopes (default `openid profile email`). */
  scope?: string;
  /** How the client authenticates at the token endpoint (default `client_secret_basic`). */
  tokenEndpointAuthMethod?: 'client_secret_basic' | 'client_secret_post';
  /** Extra authorization parameters (e.g. Google's `prompt`, `access_type`). */
  authorizationParams?: Record<string, string>;
  /** Deadline of each call to the provider, seconds. */
  timeoutSeconds: number;
}

/** How long (ms) a discovered configuration (and the JWKS openid-client caches in it) is reused. */
const DISCOVERY_TTL_MS = 10 * 60 * 1000;

/**
 * Generic OpenID Connect connector (OpenID Connect Core 1.0, Discovery 1.0) on openid-client: the
 * authorization code flow with PKCE S256 (RFC 7636), `state` and `nonce`. The code is redeemed with the
 * exact redirect URI of the attempt; openid-client checks the ID token's `iss` (the discovered issuer,
 * itself checked against the configured one), `aud`/`azp` (our client id), `exp`/`iat` (60 s tolerance)
 * and, with non-repudiation checks on, its signature against the provider's JWKS (public-key algorithms
 * only: HMAC and `none` are refused); the nonce must be the attempt's. Claims missing from the ID token
 * (node-oidc-provider and others put profile claims in userinfo) are read from the userinfo endpoint,
 * whose `sub` must equal the ID token's. An https issuer's endpoints must be https (openid-client's
 * default); plain http is allowed only for an http issuer (local test providers).
 */
export class OidcConnector implements SocialConnector {
  readonly id: string;
  readonly target: string;
  private cached: { config: Promise<Configuration>; at: number } | undefined;

  constructor(private readonly settings: OidcConnectorSettings) {
    this.id = settings.id;
    this.target = settings.target;
  }

  /** {@inheritDoc SocialConnector.authorizationUri} */
  async authorizationUri(session: AuthorizationSession, scope?: string): Promise<string> {
    const config = await this.configuration();
    const challenge = await calculatePKCECodeChallenge(session.codeVerifier);
    const url = await attempt(() => buildAuthorizationUrl(config, {
      ...this.settings.authorizationParams,
      response_type: 'code',
      client_id: this.settings.clientId,
      redirect_uri: session.redirectUri,
      scope: scope ?? this.settings.scope ?? 'openid profile email',
      state: session.state,
      nonce: session.nonce,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    }), 'response');
    return url.href;
  }

  /** {@inheritDoc SocialConnector.verify} */
  async verify(callback: CallbackData, session: CodeRedemption): Promise<ExternalIdentity> {
    const code = requireCode(callback);
    const config = await this.configuration();
    // The state was checked by the caller; the grant is sent with the attempt's exact redirect URI.
    const tokens = await attempt(() => genericGrantRequest(config, 'authorization_code', {
      code,
      redirect_uri: session.redirectUri,
      ...(session.codeVerifier !== null ? { code_verifier: session.codeVerifier } : {}),
    }), 'authorization');
    const claims = tokens.claims();
    if (!claims) throw new AppError('connector.invalid_response', { message: 'The identity provider returned no ID token.' });
    // The attempt's nonce; for a code from a request without one (session.nonce null), no nonce at all.
    if ((claims.nonce ?? null) !== session.nonce) throw new AppError('connector.id_token_invalid', { message: 'The ID token nonce does not match.' });
    let profile: Record<string, unknown> = { ...claims };
    if (config.serverMetadata().userinfo_endpoint && (claims['email'] === undefined || claims['name'] === undefined)) {
      const info = await attempt(() => fetchUserInfo(config, tokens.access_token, claims.sub), 'response');
      profile = { ...info, ...claims };
    }
    // Registered ID-token bookkeeping claims are not profile data.
    const { nonce: _n, at_hash: _a, c_hash: _c, aud: _aud, exp: _e, iat: _i, auth_time: _t, azp: _z, sid: _s, jti: _j, ...raw } = profile;
    const email = stringField(profile['email']);
    const name = stringField(profile['name']);
    const avatar = stringField(profile['picture']);
    const tokenSet = tokenSetOf(tokens);
    return {
      connectorId: this.settings.id,
      target: this.settings.target,
      subject: claims.sub,
      ...(email ? { email, emailVerified: booleanField(profile['email_verified']) === true } : {}),
      ...(name ? { name } : {}),
      ...(avatar ? { avatar } : {}),
      raw,
      ...(tokenSet ? { tokens: tokenSet } : {}),
    };
  }

  /** {@inheritDoc SocialConnector.refresh} */
  async refresh(refreshToken: string): Promise<ProviderTokenSet> {
    return refreshTokens(await this.configuration(), refreshToken);
  }

  /** The discovered configuration, reused for {@link DISCOVERY_TTL_MS} (a failed discovery is not kept). */
  private configuration(): Promise<Configuration> {
    if (this.cached && Date.now() - this.cached.at < DISCOVERY_TTL_MS) return this.cached.config;
    const config = this.discover();
    this.cached = { config, at: Date.now() };
    config.catch(() => {
      if (this.cached?.config === config) this.cached = undefined;
    });
    return config;
  }

  /** @throws AppError `connector.idp_unreachable` (502), `connector.invalid_response` (502: bad document, other issuer) */
  private async discover(): Promise<Configuration> {
    const { issuer, clientId, clientSecret, timeoutSeconds } = this.settings;
    const insecure = new URL(issuer).protocol === 'http:';
    const config = await attempt(() => discovery(
      new URL(this.settings.discoveryUrl ?? issuer),
      clientId,
      { client_secret: clientSecret, [clockTolerance]: 60 },
      clientAuthentication(this.settings.tokenEndpointAuthMethod ?? 'client_secret_basic', clientSecret),
      { [customFetch]: providerFetch(), timeout: timeoutSeconds, execute: [enableNonRepudiationChecks, ...(insecure ? [allowInsecureRequests] : [])] },
    ), 'response');
    const metadata = config.serverMetadata();
    // OpenID Connect Discovery §4.3: the document's issuer is the configured one (also for a discoveryUrl).
    if (metadata.issuer.replace(/\/$/, '') !== issuer.replace(/\/$/, '')) {
      throw new AppError('connector.invalid_response', { message: 'The discovered issuer differs from the configured one.' });
    }
    for (const key of ['authorization_endpoint', 'token_endpoint', 'jwks_uri'] as const) {
      if (typeof metadata[key] !== 'string') throw new AppError('connector.invalid_response', { message: `The discovery document lacks ${key}.` });
    }
    return config;
  }
}
