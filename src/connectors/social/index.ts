import { z } from 'zod';
import { AppError } from '../../errors/index.js';
import type { ConnectorPreset, ConnectorRecord, ConnectorType } from '../../storage/connector-store.js';
import { OAuth2Connector, WeChatConnector } from './oauth2.js';
import { OidcConnector } from './oidc.js';
import type { SocialConnector } from './types.js';

export type { AuthorizationSession, CallbackData, CodeRedemption, ExternalIdentity, ProviderTokenSet, SocialConnector } from './types.js';
export { tokenSetOf } from './types.js';

/** Target (provider) names: letters, digits, `_`, `-`, `.` (the identity store's rule). */
const TARGET = /^[A-Za-z0-9_.-]{1,128}$/;

const httpUrl = z.url({ protocol: /^https?$/ }).max(2048);

/** Per-field paths of the generic OAuth 2.0 connector's userinfo mapping. */
const fieldsSchema = z
  .object({
    subject: z.string().min(1).max(128),
    email: z.string().min(1).max(128),
    emailVerified: z.string().min(1).max(128),
    name: z.string().min(1).max(128),
    avatar: z.string().min(1).max(128),
  })
  .partial()
  .strict();

/**
 * A connector's `config` as the Management API accepts it. `clientSecret` is write-only: stored, never
 * returned. Which keys are needed depends on the type (checked by {@link buildConnector}).
 */
export const connectorConfigSchema = z
  .object({
    clientId: z.string().min(1).max(512),
    clientSecret: z.string().min(1).max(1024).describe('Write-only: never returned'),
    scope: z.string().max(1024),
    // OIDC
    issuer: httpUrl,
    discoveryUrl: httpUrl,
    // OAuth 2.0
    authorizationEndpoint: httpUrl,
    tokenEndpoint: httpUrl,
    userinfoEndpoint: httpUrl,
    emailsEndpoint: httpUrl,
    fields: fieldsSchema,
    pkce: z.boolean(),
    tokenEndpointAuthMethod: z.enum(['client_secret_basic', 'client_secret_post']),
    authorizationParams: z.record(z.string().max(64), z.string().max(512)),
  })
  .partial()
  .strict();

/** A validated connector config. */
export type ConnectorConfig = z.infer<typeof connectorConfigSchema>;

/** What each preset fixes: type, default target and the vendor's real endpoints (overridable). */
export const PRESETS: Record<ConnectorPreset, { type: ConnectorType; target: string; config: ConnectorConfig }> = {
  /** GitHub OAuth Apps (docs.github.com "Authorizing OAuth apps"; REST "Get the authenticated user", "List email addresses"). */
  github: {
    type: 'oauth2',
    target: 'github',
    config: {
      authorizationEndpoint: 'https://github.com/login/oauth/authorize',
      tokenEndpoint: 'https://github.com/login/oauth/access_token',
      userinfoEndpoint: 'https://api.github.com/user',
      emailsEndpoint: 'https://api.github.com/user/emails',
      scope: 'read:user user:email',
      fields: { subject: 'id', name: 'name', avatar: 'avatar_url' },
      tokenEndpointAuthMethod: 'client_secret_post',
      pkce: true,
    },
  },
  /** Google Identity (developers.google.com/identity/openid-connect/openid-connect: discovery at accounts.google.com). */
  google: {
    type: 'oidc',
    target: 'google',
    config: { issuer: 'https://accounts.google.com', scope: 'openid profile email', tokenEndpointAuthMethod: 'client_secret_post' },
  },
  /** WeChat Open Platform website login (see {@link WeChatConnector}). */
  wechat: {
    type: 'oauth2',
    target: 'weixin',
    config: {
      authorizationEndpoint: 'https://open.weixin.qq.com/connect/qrconnect',
      tokenEndpoint: 'https://api.weixin.qq.com/sns/oauth2/access_token',
      userinfoEndpoint: 'https://api.weixin.qq.com/sns/userinfo',
      scope: 'snsapi_login',
    },
  },
};

/**
 * Validates a target name (the identity store's charset; `_…` and `anonymous` are reserved).
 * @throws AppError `connector.invalid_config`
 */
export function assertTarget(target: string): void {
  if (!TARGET.test(target)) throw new AppError('connector.invalid_config', { message: 'target must be 1–128 letters, digits, "_", "-" or ".".' });
  // `_<platform>_unionid` and `anonymous` are the LeanCloud surface's own identity rows.
  if (target.startsWith('_') || target === 'anonymous') throw new AppError('connector.invalid_config', { message: 'This target name is reserved.' });
}

/**
 * The effective config of a connector: the preset's defaults overlaid by the stored config.
 */
export function effectiveConfig(preset: ConnectorPreset | null, config: Record<string, unknown>): ConnectorConfig {
  const base = preset ? PRESETS[preset].config : {};
  return { ...base, ...(config as ConnectorConfig) };
}

/**
 * Builds the runtime connector of a stored record, checking that the config has what its type needs.
 * @param timeoutSeconds deadline of each call to the provider
 * @throws AppError `connector.invalid_config` (400; names the missing key)
 */
export function buildConnector(record: Pick<ConnectorRecord, 'id' | 'type' | 'preset' | 'target' | 'config'>, timeoutSeconds: number): SocialConnector {
  const parsed = connectorConfigSchema.safeParse(effectiveConfig(record.preset, record.config));
  if (!parsed.success) throw new AppError('connector.invalid_config', { data: { issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) } });
  const c = parsed.data;
  const need = <K extends keyof ConnectorConfig>(key: K): NonNullable<ConnectorConfig[K]> => {
    const v = c[key];
    if (v === undefined) throw new AppError('connector.invalid_config', { message: `config.${String(key)} is required for this connector.` });
    return v as NonNullable<ConnectorConfig[K]>;
  };
  assertTarget(record.target);
  const base = { id: record.id, target: record.target, clientId: need('clientId'), clientSecret: need('clientSecret'), timeoutSeconds };
  if (record.preset === 'wechat') {
    return new WeChatConnector({
      ...base,
      authorizationEndpoint: need('authorizationEndpoint'),
      tokenEndpoint: need('tokenEndpoint'),
      userinfoEndpoint: need('userinfoEndpoint'),
      ...(c.scope !== undefined ? { scope: c.scope } : {}),
    });
  }
  if (record.type === 'oidc') {
    return new OidcConnector({
      ...base,
      issuer: need('issuer'),
      ...(c.discoveryUrl ? { discoveryUrl: c.discoveryUrl } : {}),
      ...(c.scope !== undefined ? { scope: c.scope } : {}),
      ...(c.tokenEndpointAuthMethod ? { tokenEndpointAuthMethod: c.tokenEndpointAuthMethod } : {}),
      ...(c.authorizationParams ? { authorizationParams: c.authorizationParams } : {}),
    });
  }
  return new OAuth2Connector({
    ...base,
    authorizationEndpoint: need('authorizationEndpoint'),
    tokenEndpoint: need('tokenEndpoint'),
    userinfoEndpoint: need('userinfoEndpoint'),
    ...(c.emailsEndpoint ? { emailsEndpoint: c.emailsEndpoint } : {}),
    ...(c.scope !== undefined ? { scope: c.scope } : {}),
    ...(c.fields ? { fields: c.fields } : {}),
    ...(c.pkce !== undefined ? { pkce: c.pkce } : {}),
    ...(c.tokenEndpointAuthMethod ? { tokenEndpointAuthMethod: c.tokenEndpointAuthMethod } : {}),
    ...(c.authorizationParams ? { authorizationParams: c.authorizationParams } : {}),
  });
}
