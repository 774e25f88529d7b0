import { AppError } from '../../errors/index.js';
import { booleanField, callProvider, callProviderArray, pathValue, stringField } from './http.js';
import { pkceChallenge } from './oidc.js';
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
 * Generic OAuth 2.0 connector (RFC 6749 §4.1 authorization code grant, RFC 7636 PKCE S256): builds the
 * authorization URI, exchanges the code at the token endpoint (form body, `accept: application/json`),
 * reads the user from the userinfo endpoint with the bearer access token (RFC 6750) and maps its
 * fields. OAuth 2.0 has no ID token, so the identity is as trustworthy as the TLS connection to the
 * configured endpoints; `email_verified` counts only when the mapped field is literally true.
 */
export class OAuth2Connector implements SocialConnector {
  constructor(protected readonly settings: OAuth2ConnectorSettings) {}

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
    const url = new URL(this.settings.authorizationEndpoint);
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
      params['code_challenge'] = pkceChallenge(session.codeVerifier);
      params['code_challenge_method'] = 'S256';
    }
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    return url.toString();
  }

  /** {@inheritDoc SocialConnector.verify} */
  async verify(callback: CallbackData, session: CodeRedemption): Promise<ExternalIdentity> {
    const code = requireCode(callback);
    const tokens = await this.exchange(code, session);
    const accessToken = tokens['access_token'];
    if (typeof accessToken !== 'string' || accessToken === '') throw new AppError('connector.invalid_response', { message: 'No access token in the token response.' });
    const info = await callProvider(this.settings.userinfoEndpoint, {
      headers: { authorization: `Bearer ${accessToken}` },
      timeoutSeconds: this.settings.timeoutSeconds,
      refusal: 'response',
    });
    const identity = this.map(info);
    identity.tokens = tokenSetOf(tokens);
    if (this.settings.emailsEndpoint) {
      const emails = await callProviderArray(this.settings.emailsEndpoint, {
        headers: { authorization: `Bearer ${accessToken}` },
        timeoutSeconds: this.settings.timeoutSeconds,
        refusal: 'response',
      });
      const primary = emails.find(
        (e): e is { email: string } => !!e && typeof e === 'object' && (e as Record<string, unknown>)['primary'] === true && (e as Record<string, unknown>)['verified'] === true && typeof (e as Record<string, unknown>)['email'] === 'string',
      );
      delete identity.email;
      delete identity.emailVerified;
      if (primary) {
        identity.email = primary.email;
        identity.emailVerified = true;
      }
    }
    return identity;
  }

  /** Exchanges the code at the token endpoint. @throws as {@link SocialConnector.verify} */
  protected async exchange(code: string, session: CodeRedemption): Promise<Record<string, unknown>> {
    const form: Record<string, string> = { grant_type: 'authorization_code', code, redirect_uri: session.redirectUri };
    if (this.settings.pkce !== false && session.codeVerifier !== null) form['code_verifier'] = session.codeVerifier;
    return this.tokenRequest(form);
  }

  /** {@inheritDoc SocialConnector.refresh} */
  async refresh(refreshToken: string): Promise<ProviderTokenSet> {
    const set = tokenSetOf(await this.tokenRequest({ grant_type: 'refresh_token', refresh_token: refreshToken }));
    if (!set) throw new AppError('connector.invalid_response', { message: 'No access token in the refresh answer.' });
    return { ...set, refreshToken: set.refreshToken ?? refreshToken };
  }

  /** A token-endpoint request with this client's authentication (RFC 6749 §2.3.1). */
  private async tokenRequest(form: Record<string, string>): Promise<Record<string, unknown>> {
    const { clientId, clientSecret } = this.settings;
    const headers: Record<string, string> = {};
    if (this.settings.tokenEndpointAuthMethod === 'client_secret_basic') {
      headers['authorization'] = `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`;
    } else {
      form['client_id'] = clientId;
      form['client_secret'] = clientSecret;
    }
    return callProvider(this.settings.tokenEndpoint, { form, headers, timeoutSeconds: this.settings.timeoutSeconds, refusal: 'authorization' });
  }

  /** Maps a userinfo object with the field mapping. @throws AppError `connector.invalid_response` (no subject) */
  protected map(info: Record<string, unknown>): ExternalIdentity {
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
  constructor(private readonly settings: WeChatConnectorSettings) {}

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
