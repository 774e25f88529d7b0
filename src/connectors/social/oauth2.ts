import { allowInsecureRequests, buildAuthorizationUrl, calculatePKCECodeChallenge, Configuration, customFetch, genericGrantRequest } from 'openid-client';
import { AppError } from '../../errors/index.js';
import { attempt, booleanField, callProvider, clientAuthentication, pathValue, providerFetch, refreshTokens, stringField } from './http.js';
import { tokenSetOf } from './types.js';
import type { AuthorizationSession, CallbackData, CodeRedemption, ExternalIdentity, ProviderTokenSet, SocialConnector } from './types.js';

/** Where each identity field is found in the userinfo answer (dotted paths). */
export interface FieldMapping {
  subject: string;
  email?: string;
  emailVerified?: string;
  name?: string;
  avatar?: string;
}

/** Settings of a generic OAuth 2.0 connector (validated by the connector service). */
export interface OAuth2ConnectorSettings {
  id: string;
  target: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  userinfoEndpoint: string;
  clientId: string;
  clientSecret: string;
  /** Space-separated scopes (sent as given; may be empty). */
  scope?: string;
  /** Default: subject `id`, email `email`, emailVerified `email_verified`, name `name`, avatar `picture`. */
  fields?: Partial<FieldMapping>;
  /** Default `client_secret_post`. */
  tokenEndpointAuthMethod?: 'client_secret_basic' | 'client_secret_post';
  /** Send PKCE S256 (default true). */
  pkce?: boolean;
  /**
   * GitHub style: a URL answering an array of `{email, primary, verified}`; the primary verified
   * address becomes the identity's email (emailVerified true). Used when set.
   */
  emailsEndpoint?: string;
  /** Extra authorization parameters. */
  authorizationParams?: Record<string, string>;
  timeoutSeconds: number;
}

const DEFAULT_FIELDS: FieldMapping = { subject: 'id', email: 'email', emailVerified: 'email_verified', name: 'name', avatar: 'picture' };

/**
 * Generic OAuth 2.0 connector (RFC 6749 §4.1 authorization code grant, RFC 7636 PKCE S256) on
 * openid-client, with the configured endpoints as its server metadata: builds the authorization URI,
 * exchanges the code at the token endpoint with the client's authentication (answers made standard by
 * {@link providerFetch}: GitHub's form-encoded answer or 200 + `{error}`; an `id_token` is dropped, as
 * nothing verifies it here), reads the user from the userinfo endpoint with the bearer access token
 * (RFC 6750) and maps its fields. OAuth 2.0 has no ID token, so the identity is as trustworthy as the
 * TLS connection to the configured endpoints; `email_verified` counts only when the mapped field is
 * literally true. Plain http is allowed only when an endpoint is configured as http (local test providers).
 */
export class OAuth2Connector implements SocialConnector {
  readonly id: string;
  readonly target: string;
  private readonly config: Configuration;

  constructor(private readonly settings: OAuth2ConnectorSettings) {
    this.id = settings.id;
    this.target = settings.target;
    const { authorizationEndpoint, tokenEndpoint, clientId, clientSecret } = settings;
    // A plain OAuth 2.0 server has no issuer identifier; nothing here compares one.
    const server = { issuer: new URL(tokenEndpoint).origin, authorization_endpoint: authorizationEndpoint, token_endpoint: tokenEndpoint };
    this.config = new Configuration(server, clientId, clientSecret, clientAuthentication(settings.tokenEndpointAuthMethod ?? 'client_secret_post', clientSecret));
    this.config[customFetch] = providerFetch({ plainOAuth2: true });
    this.config.timeout = settings.timeoutSeconds;
    if ([authorizationEndpoint, tokenEndpoint].some((url) => url.startsWith('http:'))) allowInsecureRequests(this.config);
  }

  /** {@inheritDoc SocialConnector.authorizationUri} */
  async authorizationUri(session: AuthorizationSession, scope?: string): Promise<string> {
    const params: Record<string, string> = {
      ...this.settings.authorizationParams,
      response_type: 'code',
      client_id: this.settings.clientId,
      redirect_uri: session.redirectUri,
      state: session.state,
    };
    const s = scope ?? this.settings.scope;
    if (s) params['scope'] = s;
    if (this.settings.pkce !== false) {
      params['code_challenge'] = await calculatePKCECodeChallenge(session.codeVerifier);
      params['code_challenge_method'] = 'S256';
    }
    return (await attempt(() => buildAuthorizationUrl(this.config, params), 'response')).href;
  }

  /** {@inheritDoc SocialConnector.verify} */
  async verify(callback: CallbackData, session: CodeRedemption): Promise<ExternalIdentity> {
    const code = requireCode(callback);
    const form: Record<string, string> = { code, redirect_uri: session.redirectUri };
    if (this.settings.pkce !== false && session.codeVerifier !== null) form['code_verifier'] = session.codeVerifier;
    const tokens = await attempt(() => genericGrantRequest(this.config, 'authorization_code', form), 'authorization');
    const call = { headers: { authorization: `Bearer ${tokens.access_token}` }, timeoutSeconds: this.settings.timeoutSeconds, refusal: 'response' } as const;
    const identity = this.map(await callProvider(this.settings.userinfoEndpoint, call));
    identity.tokens = tokenSetOf(tokens);
    if (this.settings.emailsEndpoint) {
      const emails = (await callProvider(this.settings.emailsEndpoint, call, 'array')) as Array<Record<string, unknown> | null>;
      const primary = emails.find((e) => e?.['primary'] === true && e['verified'] === true && typeof e['email'] === 'string');
      delete identity.email;
      delete identity.emailVerified;
      if (primary) {
        identity.email = primary['email'] as string;
        identity.emailVerified = true;
      }
    }
    return identity;
  }

  /** {@inheritDoc SocialConnector.refresh} */
  async refresh(refreshToken: string): Promise<ProviderTokenSet> {
    return refreshTokens(this.config, refreshToken);
  }

  /** Maps a userinfo object with the field mapping. @throws AppError `connector.invalid_response` (no subject) */
  private map(info: Record<string, unknown>): ExternalIdentity {
    const f = { ...DEFAULT_FIELDS, ...this.settings.fields };
    const subject = stringField(pathValue(info, f.subject));
    if (!subject || subject.length > 512) throw new AppError('connector.invalid_response', { message: 'The user info has no subject.' });
    const email = f.email ? stringField(pathValue(info, f.email)) : undefined;
    const verified = f.emailVerified ? booleanField(pathValue(info, f.emailVerified)) : undefined;
    const name = f.name ? stringField(pathValue(info, f.name)) : undefined;
    const avatar = f.avatar ? stringField(pathValue(info, f.avatar)) : undefined;
    return {
      connectorId: this.settings.id,
      target: this.settings.target,
      subject,
      ...(email ? { email, emailVerified: verified === true } : {}),
      ...(name ? { name } : {}),
      ...(avatar ? { avatar } : {}),
      raw: info,
    };
  }
}

/** The code of a callback. @throws AppError `connector.authorization_failed` (provider error or no code) */
export function requireCode(callback: CallbackData): string {
  if (typeof callback.error === 'string' || typeof callback.code !== 'string' || callback.code === '') {
    throw new AppError('connector.authorization_failed', { data: { reason: String(callback.error ?? 'no code').slice(0, 100) } });
  }
  return callback.code;
}

/** Settings of the WeChat connector (website QR-code login). */
export interface WeChatConnectorSettings {
  id: string;
  target: string;
  /** WeChat `appid`. */
  clientId: string;
  /** WeChat `secret`. */
  clientSecret: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  userinfoEndpoint: string;
  /** Default `snsapi_login`. */
  scope?: string;
  timeoutSeconds: number;
}

/**
 * WeChat Open Platform website login ("网站应用微信登录", developers.weixin.qq.com, Website Authorization
 * Login): authorize at `open.weixin.qq.com/connect/qrconnect?appid=…&redirect_uri=…&response_type=code&
 * scope=snsapi_login&state=…#wechat_redirect`; exchange with a GET to `api.weixin.qq.com/sns/oauth2/
 * access_token?appid=&secret=&code=&grant_type=authorization_code` → `{access_token, openid, unionid?}`
 * or `{errcode, errmsg}`; then `sns/userinfo?access_token=&openid=` → `{openid, nickname, headimgurl,
 * unionid?}`. The subject is the `openid` (as LeanCloud's `weixin` authData), so a LeanCloud-linked
 * WeChat account and a connector sign-in are the same identity; `unionid` stays in `raw`. WeChat has
 * no PKCE and no email.
 */
export class WeChatConnector implements SocialConnector {
  readonly id: string;
  readonly target: string;

  constructor(private readonly settings: WeChatConnectorSettings) {
    this.id = settings.id;
    this.target = settings.target;
  }

  /** {@inheritDoc SocialConnector.authorizationUri} */
  async authorizationUri(session: AuthorizationSession, scope?: string): Promise<string> {
    const url = new URL(this.settings.authorizationEndpoint);
    url.searchParams.set('appid', this.settings.clientId);
    url.searchParams.set('redirect_uri', session.redirectUri);
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('scope', scope ?? this.settings.scope ?? 'snsapi_login');
    url.searchParams.set('state', session.state);
    url.hash = 'wechat_redirect';
    return url.toString();
  }

  /** {@inheritDoc SocialConnector.verify} */
  async verify(callback: CallbackData, _session: CodeRedemption): Promise<ExternalIdentity> {
    const code = requireCode(callback);
    const tokenUrl = new URL(this.settings.tokenEndpoint);
    tokenUrl.searchParams.set('appid', this.settings.clientId);
    tokenUrl.searchParams.set('secret', this.settings.clientSecret);
    tokenUrl.searchParams.set('code', code);
    tokenUrl.searchParams.set('grant_type', 'authorization_code');
    const tokens = await callProvider(tokenUrl.toString(), { timeoutSeconds: this.settings.timeoutSeconds, refusal: 'authorization' });
    const accessToken = stringField(tokens['access_token']);
    const openid = stringField(tokens['openid']);
    if (!accessToken || !openid) throw new AppError('connector.invalid_response', { message: 'No access_token/openid in the WeChat answer.' });
    const infoUrl = new URL(this.settings.userinfoEndpoint);
    infoUrl.searchParams.set('access_token', accessToken);
    infoUrl.searchParams.set('openid', openid);
    const info = await callProvider(infoUrl.toString(), { timeoutSeconds: this.settings.timeoutSeconds, refusal: 'response' });
    if (info['openid'] !== undefined && info['openid'] !== openid) throw new AppError('connector.invalid_response');
    const unionid = stringField(info['unionid']) ?? stringField(tokens['unionid']);
    const name = stringField(info['nickname']);
    const avatar = stringField(info['headimgurl']);
    return {
      connectorId: this.settings.id,
      target: this.settings.target,
      subject: openid,
      ...(name ? { name } : {}),
      ...(avatar ? { avatar } : {}),
      raw: { ...info, openid, ...(unionid ? { unionid } : {}) },
      ...(tokenSetOf(tokens) ? { tokens: tokenSetOf(tokens)! } : {}),
    };
  }
}
