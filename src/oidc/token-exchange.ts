import type Provider from 'oidc-provider';
import { errors, type Client, type KoaContextWithOIDC, type ResourceServer } from 'oidc-provider';
import { type ExchangeTokenKind, ExchangeRefused, type TokenExchangeService } from '../domain/applications/impersonation.js';
import type { Clock } from '../util/clock.js';

/** The grant type of OAuth 2.0 Token Exchange (RFC 8693 §2.1). */
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';

/** `subject_token_type` of an impersonation subject token (`sub_…`, Logto's URN). */
export const IMPERSONATION_TOKEN_TYPE = 'urn:logto:token-type:impersonation_token';

/** `subject_token_type` of a personal access token (`pat_…`, Logto's URN). */
export const PERSONAL_ACCESS_TOKEN_TYPE = 'urn:logto:token-type:personal_access_token';

/** RFC 8693 §3 access token type: the only token type issued, and Logto's legacy type for `sub_…` values. */
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

/** The `gty` recorded on tokens minted by this grant. */
const GTY = 'token_exchange';

/** What the token-exchange grant needs. */
export interface TokenExchangeGrantDeps {
  exchange: TokenExchangeService;
  /** The provider's `features.resourceIndicators.getResourceServerInfo` (which client may get which resource). */
  resourceServerInfo: (ctx: KoaContextWithOIDC, resource: string, client: Client) => ResourceServer | Promise<ResourceServer>;
  /**
   * The organization token "resource server" of an organization for a user (audience `urn:logto:organization:<id>`,
   * scope = the user's organization permissions), or `access_denied` (403) for a non-member (provider.ts).
   */
  organizationServer: (organizationId: string, subject: { userId: string }) => Promise<ResourceServer>;
  /** The permissions of the resource `indicator` that the user's roles hold (domain/authorization). */
  userScopes: (userId: string, indicator: string) => Promise<string[]>;
  /** The OIDC scopes the provider supports (for tokens without a resource). */
  oidcScopes: readonly string[];
  /** Lifetime of access tokens without their own resource TTL, seconds. */
  accessTokenTtlSeconds: number;
  clock: Clock;
}

/** `invalid_grant` with an explanation (the provider's class keeps its argument as a hidden detail). */
function invalidGrant(description: string): Error {
  const error = new errors.InvalidGrant();
  error.error_description = description;
  return error;
}

/** A request parameter given at most once, or undefined when absent or empty. */
function single(ctx: KoaContextWithOIDC, name: string): string | undefined {
  const value: unknown = ctx.oidc.params?.[name];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new errors.InvalidRequest(`'${name}' must be a single value`);
  return value;
}

/** Which kind of subject token the request presents, from `subject_token_type` (and Logto's legacy form). */
function subjectKind(type: string, value: string): ExchangeTokenKind {
  if (type === IMPERSONATION_TOKEN_TYPE) return 'impersonation';
  if (type === PERSONAL_ACCESS_TOKEN_TYPE) return 'personal_access_token';
  // Logto's legacy spelling: an impersonation token sent as an access token type.
  if (type === ACCESS_TOKEN_TYPE && value.startsWith('sub_')) return 'impersonation';
  throw new errors.InvalidRequest('unsupported subject_token_type');
}

/**
 * Registers RFC 8693 token exchange on the provider (`POST /oidc/token`,
 * `grant_type=urn:ietf:params:oauth:grant-type:token-exchange`), with Logto's two subject-token types:
 * impersonation tokens from `POST /api/subject-tokens` (single use) and personal access tokens
 * (reusable until they expire). Client authentication is the provider's as usual. In order:
 * 1. the client must be confidential and have `allowTokenExchange` → else `unauthorized_client`;
 * 2. `subject_token` and a supported `subject_token_type` are required, `requested_token_type` may only
 *    be the access token type → else `invalid_request`;
 * 3. the target: with one `resource`, the provider's resource rules apply (`invalid_target`), the token
 *    is a JWT for it, and its scope is the requested scopes the user holds there — Tessera users hold no
 *    scopes on resource servers (no user roles yet), so such a token carries none: impersonation never
 *    lends the caller's own rights. Without `resource`, an opaque token for userinfo with `openid` plus the
 *    requested OIDC scopes (`offline_access` ignored: no refresh token is issued; others → `invalid_scope`);
 *    With `organization_id` instead (Logto's organization token, not combinable with `resource` →
 *    `invalid_request`): a JWT for `urn:logto:organization:<id>` whose scope is the requested organization
 *    permissions the user's organization roles hold (none requested → none, as for a resource);
 * 4. only then is the subject token checked and, if single-use, consumed (`TokenExchangeService`):
 *    unknown, expired, used, or a suspended or deleted user → `invalid_grant`. The organization is checked
 *    for that user next: a non-member (or a member lacking the second factor the organization requires) →
 *    `access_denied` (403) — which, the user being known only now, uses up a single-use impersonation token.
 * The answer is RFC 8693 §2.2.1: `{access_token, issued_token_type, token_type, expires_in, scope}`.
 * A token from a personal access token never outlives it.
 */
export function registerTokenExchange(provider: Provider, deps: TokenExchangeGrantDeps): void {
  const supportedOidcScopes = new Set(deps.oidcScopes);

  const handler = async (ctx: KoaContextWithOIDC): Promise<void> => {
    const client = ctx.oidc.client!;
    if (client['tessera_token_exchange'] !== true || client.clientAuthMethod === 'none') {
      throw new errors.UnauthorizedClient('this client is not allowed to use token exchange');
    }
    const value = single(ctx, 'subject_token');
    if (!value) throw new errors.InvalidRequest("missing required parameter 'subject_token'");
    const type = single(ctx, 'subject_token_type');
    if (!type) throw new errors.InvalidRequest("missing required parameter 'subject_token_type'");
    const kind = subjectKind(type, value);
    const requestedType = single(ctx, 'requested_token_type');
    if (requestedType !== undefined && requestedType !== ACCESS_TOKEN_TYPE) throw new errors.InvalidRequest('unsupported requested_token_type');

    const requested = [...new Set((single(ctx, 'scope') ?? '').split(' ').filter(Boolean))];
    const resourceParam: unknown = ctx.oidc.params?.['resource'];
    if (Array.isArray(resourceParam) && resourceParam.length > 1) {
      throw new errors.InvalidTarget('only a single resource indicator value is supported for this grant type');
    }
    const resource = single(ctx, 'resource') ?? (Array.isArray(resourceParam) ? (resourceParam[0] as string | undefined) : undefined);
    const organizationId = single(ctx, 'organization_id');
    if (organizationId !== undefined && resource) throw new errors.InvalidRequest("'organization_id' cannot be combined with 'resource'");

    let resourceServer: (ResourceServer & { identifier(): string; readonly scopes: Set<string> }) | undefined;
    let scope = '';
    if (resource) {
      // The resource's audience and lifetime; its permissions are the subject user's, known once the subject token is checked.
      resourceServer = new provider.ResourceServer(resource, await deps.resourceServerInfo(ctx, resource, client));
    } else if (organizationId === undefined) {
      const unknown = requested.filter((s) => !supportedOidcScopes.has(s));
      if (unknown.length) throw new errors.InvalidScope('requested scope is not supported for this grant type', unknown.join(' '));
      scope = ['openid', ...requested.filter((s) => s !== 'openid' && s !== 'offline_access')].join(' ');
    }

    let issued: { resource: string | null; scope: string; value: string; expiresIn: number; tokenType: string };
    try {
      issued = await deps.exchange.exchange({ applicationId: client.clientId, kind, value }, async (subject) => {
        if (organizationId !== undefined) {
          // An organization token: the subject user's membership and organization permissions (checked now).
          const info = await deps.organizationServer(organizationId, { userId: subject.user.id });
          resourceServer = new provider.ResourceServer(info.audience!, info);
          const held = resourceServer.scopes;
          scope = requested.filter((s) => held.has(s)).join(' ');
        }
        const ttl = resourceServer?.accessTokenTTL ?? deps.accessTokenTtlSeconds;
        const left = subject.notAfter === null ? ttl : Math.floor((subject.notAfter - deps.clock.now()) / 1000);
        const expiresIn = Math.max(1, Math.min(ttl, left));
        const accountId = subject.user.id;
        if (resource) {
          // Requested ∩ the permissions the user's roles hold there (Logto: unknown or ungranted scopes are dropped).
          const held = new Set(await deps.userScopes(accountId, resource));
          scope = requested.filter((s) => held.has(s)).join(' ');
        }
        let grantId: string | undefined;
        if (!resourceServer) {
          // userinfo loads the token's grant: one that lives exactly as long as the token.
          const grant = new provider.Grant({ accountId, clientId: client.clientId, expiresIn });
          grant.addOIDCScope(scope);
          grantId = await grant.save();
        }
        const token = new provider.AccessToken({ accountId, client, gty: GTY, expiresIn, ...(grantId ? { grantId } : {}), ...(scope ? { scope } : {}) });
        if (resourceServer) token.resourceServer = resourceServer;
        return { resource: resourceServer?.identifier() ?? null, scope, value: await token.save(), expiresIn: token.expiration, tokenType: token.tokenType };
      });
    } catch (error) {
      if (error instanceof ExchangeRefused) throw invalidGrant(error.message);
      throw error;
    }

    ctx.body = {
      access_token: issued.value,
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: issued.tokenType,
      expires_in: issued.expiresIn,
      scope: issued.scope,
    };
  };

  provider.registerGrantType(
    TOKEN_EXCHANGE_GRANT,
    handler,
    ['subject_token', 'subject_token_type', 'requested_token_type', 'scope', 'resource', 'organization_id'],
    ['resource'],
  );
}
