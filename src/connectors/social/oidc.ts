import { createHash } from 'node:crypto';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { AppError } from '../../errors/index.js';
import { booleanField, callProvider, stringField } from './http.js';
import { tokenSetOf } from './types.js';
import type { AuthorizationSession, CallbackData, CodeRedemption, ExternalIdentity, ProviderTokenSet, SocialConnector } from './types.js';

/** PKCE S256 challenge of a verifier (RFC 7636 §4.2): BASE64URL(SHA256(ASCII(verifier))). */
export function pkceChallenge(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

/** Settings of a generic OpenID Connect connector (validated by the connector service). */
export interface OidcConnectorSettings {
  id: string;
  target: string;
  /** Issuer URL; discovery is `<issuer>/.well-known/openid-configuration` unless `discoveryUrl` is set. */
  issuer: string;
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

/** The discovery fields this connector uses (OpenID Connect Discovery 1.0 §3). */
interface Discovery {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
  userinfo_endpoint?: string;
  /** JWS algorithms accepted for ID tokens: the provider's advertised public-key ones. */
  algorithms: string[];
}

/** Public-key JWS algorithms an ID token may use (RFC 7518; EdDSA RFC 8037). */
const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

/** How long (ms) a discovery document and JWKS resolver are reused. */
const DISCOVERY_TTL_MS = 10 * 60 * 1000;

/**
 * Generic OpenID Connect connector (OpenID Connect Core 1.0, Discovery 1.0): authorization code flow
 * with PKCE S256 (RFC 7636), `state` and `nonce`; the ID token is verified with jose against the
 * provider's JWKS — signature, `iss` (the discovered issuer), `aud` (our client id), `exp`/`iat`
 * (60 s tolerance), `nonce` (the one of this attempt), and `azp` when several audiences. Claims
 * missing from the ID token (node-oidc-provider and others put profile claims in userinfo) are read
 * from the userinfo endpoint, whose `sub` must equal the ID token's.
 */
export class OidcConnector implements SocialConnector {
  private discovery: { value: Discovery; jwks: ReturnType<typeof createRemoteJWKSet>; at: number } | undefined;

  constructor(private readonly settings: OidcConnectorSettings) {}

  /** The connector's id (`conn_…`). */
  get id(): string {
    return this.settings.id;
  }

  /** The provider name identities are stored under. */
  get target(): string {
    return this.settings.target;
  }

  /** {@inheritDoc SocialConnector.authorizationUri} */
  async authorizationUri(session: AuthorizationSession, scope?: string): Promise<string> {
    const { value } = await this.discover();
    const url = new URL(value.authorization_endpoint);
    const params: Record<string, string> = {
      ...this.settings.authorizationParams,
      response_type: 'code',
      client_id: this.settings.clientId,
      redirect_uri: session.redirectUri,
      scope: scope ?? this.settings.scope ?? 'openid profile email',
      state: session.state,
      nonce: session.nonce,
      code_challenge: pkceChallenge(session.codeVerifier),
      code_challenge_method: 'S256',
    };
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    return url.toString();
  }

  /** {@inheritDoc SocialConnector.verify} */
  async verify(callback: CallbackData, session: CodeRedemption): Promise<ExternalIdentity> {
    if (typeof callback.error === 'string' || typeof callback.code !== 'string' || callback.code === '') {
      throw new AppError('connector.authorization_failed', { data: { reason: String(callback.error ?? 'no code').slice(0, 100) } });
    }
    const { value, jwks } = await this.discover();
    const { clientId } = this.settings;
    const form: Record<string, string> = {
      grant_type: 'authorization_code',
      code: callback.code,
      redirect_uri: session.redirectUri,
      ...(session.codeVerifier !== null ? { code_verifier: session.codeVerifier } : {}),
    };
    const tokens = await this.tokenRequest(value.token_endpoint, form);
    const idToken = tokens['id_token'];
    if (typeof idToken !== 'string') throw new AppError('connector.invalid_response', { message: 'The identity provider returned no ID token.' });
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(idToken, jwks, {
        issuer: value.issuer,
        audience: clientId,
        // Public-key algorithms the provider advertises only (never `none` or HMAC with the client secret).
        algorithms: value.algorithms,
        clockTolerance: 60,
        requiredClaims: ['sub', 'exp', 'iat'],
      }));
    } catch (error) {
      if (error instanceof joseErrors.JOSEError && !(error instanceof joseErrors.JWKSTimeout)) {
        throw new AppError('connector.id_token_invalid', { cause: error });
      }
      throw new AppError('connector.idp_unreachable', { cause: error });
    }
    // The attempt's nonce; for a code from a request without one (session.nonce null), no nonce at all.
    if ((claims['nonce'] ?? null) !== session.nonce) throw new AppError('connector.id_token_invalid', { message: 'The ID token nonce does not match.' });
    if (Array.isArray(claims.aud) && claims.aud.length > 1 && claims['azp'] !== clientId) throw new AppError('connector.id_token_invalid');
    const subject = stringField(claims.sub);
    if (!subject) throw new AppError('connector.id_token_invalid');
    let profile: Record<string, unknown> = { ...claims };
    const accessToken = tokens['access_token'];
    if (value.userinfo_endpoint && typeof accessToken === 'string' && (claims['email'] === undefined || claims['name'] === undefined)) {
      const info = await callProvider(value.userinfo_endpoint, {
        headers: { authorization: `Bearer ${accessToken}` },
        timeoutSeconds: this.settings.timeoutSeconds,
        refusal: 'response',
      });
      if (info['sub'] !== subject) throw new AppError('connector.invalid_response', { message: 'The userinfo subject differs from the ID token.' });
      profile = { ...info, ...claims };
    }
    // Registered ID-token bookkeeping claims are not profile data.
    const { nonce: _n, at_hash: _a, c_hash: _c, aud: _aud, exp: _e, iat: _i, auth_time: _t, azp: _z, sid: _s, jti: _j, ...raw } = profile;
    const email = stringField(profile['email']);
    const verified = booleanField(profile['email_verified']);
    const name = stringField(profile['name']);
    const avatar = stringField(profile['picture']);
    return {
      connectorId: this.settings.id,
      target: this.settings.target,
      subject,
      ...(email ? { email, emailVerified: verified === true } : {}),
      ...(name ? { name } : {}),
      ...(avatar ? { avatar } : {}),
      raw,
      ...(tokenSetOf(tokens) ? { tokens: tokenSetOf(tokens)! } : {}),
    };
  }

  /** {@inheritDoc SocialConnector.refresh} */
  async refresh(refreshToken: string): Promise<ProviderTokenSet> {
    const { value } = await this.discover();
    const set = tokenSetOf(await this.tokenRequest(value.token_endpoint, { grant_type: 'refresh_token', refresh_token: refreshToken }));
    if (!set) throw new AppError('connector.invalid_response', { message: 'No access token in the refresh answer.' });
    // A refreshed ID token is not checked here and not kept (OIDC Core §12.2): the identity is not re-proven.
    const { idToken: _id, ...rest } = set;
    return { ...rest, refreshToken: set.refreshToken ?? refreshToken };
  }

  /** A token-endpoint request with this client's authentication (RFC 6749 §2.3.1). */
  private tokenRequest(endpoint: string, form: Record<string, string>): Promise<Record<string, unknown>> {
    const { clientId, clientSecret } = this.settings;
    const headers: Record<string, string> = {};
    if (this.settings.tokenEndpointAuthMethod === 'client_secret_post') {
      form['client_id'] = clientId;
      form['client_secret'] = clientSecret;
    } else {
      // RFC 6749 §2.3.1: each part form-urlencoded before base64.
      headers['authorization'] = `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`;
    }
    return callProvider(endpoint, { form, headers, timeoutSeconds: this.settings.timeoutSeconds, refusal: 'authorization' });
  }

  /** The discovery document and a JWKS resolver (cached {@link DISCOVERY_TTL_MS}). */
  private async discover(): Promise<{ value: Discovery; jwks: ReturnType<typeof createRemoteJWKSet> }> {
    if (this.discovery && Date.now() - this.discovery.at < DISCOVERY_TTL_MS) return this.discovery;
    const url = this.settings.discoveryUrl ?? `${this.settings.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    const doc = await callProvider(url, { timeoutSeconds: this.settings.timeoutSeconds, refusal: 'response' });
    const str = (k: string) => {
      const v = doc[k];
      if (typeof v !== 'string' || !URL.canParse(v)) throw new AppError('connector.invalid_response', { message: `The discovery document lacks ${k}.` });
      return v;
    };
    const advertised = Array.isArray(doc['id_token_signing_alg_values_supported'])
      ? (doc['id_token_signing_alg_values_supported'] as unknown[]).filter((a): a is string => typeof a === 'string' && ASYMMETRIC_ALGORITHMS.includes(a))
      : [];
    const value: Discovery = {
      issuer: str('issuer'),
      authorization_endpoint: str('authorization_endpoint'),
      token_endpoint: str('token_endpoint'),
      jwks_uri: str('jwks_uri'),
      ...(typeof doc['userinfo_endpoint'] === 'string' ? { userinfo_endpoint: str('userinfo_endpoint') } : {}),
      algorithms: advertised.length > 0 ? advertised : ASYMMETRIC_ALGORITHMS,
    };
    // An https issuer's endpoints (where Tessera sends the code, the client secret and access tokens)
    // must be https too.
    if (value.issuer.startsWith('https:')) {
      for (const endpoint of [value.token_endpoint, value.jwks_uri, value.userinfo_endpoint]) {
        if (endpoint !== undefined && !endpoint.startsWith('https:')) {
          throw new AppError('connector.invalid_response', { message: 'The discovery document names an endpoint that is not https.' });
        }
      }
    }
    // OpenID Connect Discovery §4.3: the issuer in the document must be the one configured.
    if (value.issuer.replace(/\/$/, '') !== this.settings.issuer.replace(/\/$/, '')) {
      throw new AppError('connector.invalid_response', { message: 'The discovered issuer differs from the configured one.' });
    }
    const jwks = createRemoteJWKSet(new URL(value.jwks_uri), { timeoutDuration: this.settings.timeoutSeconds * 1000 });
    this.discovery = { value, jwks, at: Date.now() };
    return this.discovery;
  }
}
