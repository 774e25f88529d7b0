/**
 * Social connector contracts (issue 7 §1): a connector builds the identity provider's authorization
 * URI and turns the provider's callback (authorization code) into a verified external identity.
 */

/**
 * The tokens an identity provider issued for a user at a social sign-in or link (RFC 6749 §5.1), kept
 * for connectors with token storage on so that the app can call the provider's APIs for the user later
 * (Logto's "Secret Vault": `GET /api/my-account/identities/:target/access-token`, sealed by
 * domain/social/token-vault.ts). Never logged, never put in an identity's `details`.
 */
export interface ProviderTokenSet {
  accessToken: string;
  refreshToken?: string;
  idToken?: string;
  /** `token_type` as the provider sent it (`Bearer`, `bearer`…). */
  tokenType?: string;
  scope?: string;
  /** `expires_in` of the token response, in **seconds** from when it was received. */
  expiresIn?: number;
}

/**
 * The token set of an RFC 6749 §5.1 token response (`access_token`, `refresh_token`, `id_token`,
 * `token_type`, `scope`, `expires_in` in seconds), or undefined when it has no access token.
 */
export function tokenSetOf(response: Record<string, unknown>): ProviderTokenSet | undefined {
  const text = (key: string) => (typeof response[key] === 'string' && response[key] !== '' ? (response[key] as string) : undefined);
  const accessToken = text('access_token');
  if (!accessToken) return undefined;
  const rawExpiry = response['expires_in'];
  const expiresIn = typeof rawExpiry === 'number' ? rawExpiry : typeof rawExpiry === 'string' && /^\d+$/.test(rawExpiry) ? Number(rawExpiry) : undefined;
  const set: ProviderTokenSet = { accessToken };
  if (text('refresh_token')) set.refreshToken = text('refresh_token')!;
  if (text('id_token')) set.idToken = text('id_token')!;
  if (text('token_type')) set.tokenType = text('token_type')!;
  if (text('scope')) set.scope = text('scope')!;
  if (expiresIn !== undefined && Number.isFinite(expiresIn) && expiresIn > 0) set.expiresIn = expiresIn;
  return set;
}

/** A verified external identity, as every connector yields it. */
export interface ExternalIdentity {
  connectorId: string;
  /** Identity provider name the identity is stored under (`google`, `github`, `weixin`…). */
  target: string;
  /** The provider's stable account id (OIDC `sub`, GitHub `id`, WeChat `openid`). */
  subject: string;
  email?: string;
  /** True only when the provider itself says the email is verified. */
  emailVerified?: boolean;
  name?: string;
  avatar?: string;
  /** The provider's user data as received (never tokens). */
  raw: Record<string, unknown>;
  /** The provider's tokens from this exchange, when it answered with an access token (kept apart from `raw`). */
  tokens?: ProviderTokenSet;
}

/** What one authorization attempt needs to remember between start and callback. */
export interface AuthorizationSession {
  /** The `state` sent to the provider (CSRF binding). */
  state: string;
  /** OIDC nonce (ignored by plain OAuth 2.0 connectors). */
  nonce: string;
  /** PKCE code verifier (RFC 7636 §4.1; its S256 challenge goes in the authorization URI). */
  codeVerifier: string;
  /** Where the provider sends the user back; sent again with the code. */
  redirectUri: string;
}

/**
 * What a code exchange checks the provider's answer against. For an attempt Tessera started, it is the
 * attempt's {@link AuthorizationSession} (every field set). For a code obtained outside Tessera (Logto's
 * `POST /api/users/:id/identities {connectorId, connectorData}`, where an administrator hands over a code
 * from an authorization request the app built itself), `codeVerifier` and `nonce` are what that request
 * used, or null when it used none: no `code_verifier` is sent, and an ID token must then carry no `nonce`.
 */
export interface CodeRedemption {
  state: string;
  nonce: string | null;
  codeVerifier: string | null;
  redirectUri: string;
}

/** The provider's callback parameters (the query of the redirect). */
export interface CallbackData {
  code?: string;
  state?: string;
  error?: string;
  error_description?: string;
  [key: string]: unknown;
}

/** One configured social connector. */
export interface SocialConnector {
  readonly id: string;
  readonly target: string;
  /**
   * The authorization URI to send the user to.
   * @throws AppError `connector.idp_unreachable` (502), `connector.invalid_response` (502: bad discovery document)
   */
  authorizationUri(session: AuthorizationSession, scope?: string): Promise<string>;
  /**
   * Exchanges the callback's code (checking nothing about `state`: the caller does) and returns the identity.
   * @throws AppError `connector.authorization_failed` (400: error in callback, code refused),
   *   `connector.id_token_invalid` (400: signature, iss, aud, exp, nonce), `connector.idp_unreachable` (502),
   *   `connector.invalid_response` (502)
   */
  verify(callback: CallbackData, session: CodeRedemption): Promise<ExternalIdentity>;
  /**
   * Exchanges a refresh token for a new token set at the token endpoint (RFC 6749 §6); absent where the
   * provider has no standard refresh (WeChat). The old refresh token is kept when the answer has none.
   * @throws AppError `connector.authorization_failed` (400: refused, e.g. revoked), `connector.idp_unreachable`
   *   (502), `connector.invalid_response` (502: no access token)
   */
  refresh?(refreshToken: string): Promise<ProviderTokenSet>;
}
