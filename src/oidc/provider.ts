import Provider, { errors, interactionPolicy, type Client, type KoaContextWithOIDC, type NewAccessToken, type ResourceServer, type Token } from 'oidc-provider';
// The provider's per-instance state: only to extend its built-in grants (registerOrganizationTokens).
import oidcInternals from 'oidc-provider/lib/helpers/weak_cache.js';
import type { Config } from '../config/index.js';
import { clientSecretMatches } from '../domain/applications/index.js';
import type { ApplicationService } from '../domain/applications/index.js';
import { type AuthorizationService, MANAGEMENT_RESOURCE_ID, type Subject } from '../domain/authorization/index.js';
import type { TokenExchangeService } from '../domain/applications/impersonation.js';
import type { OrganizationService } from '../domain/organizations/index.js';
import type { UserService } from '../domain/users/index.js';
import type { Store } from '../storage/store.js';
import type { Clock } from '../util/clock.js';
import { findAccount, ORGANIZATIONS_SCOPE, SCOPE_CLAIMS } from './account.js';
import { CLIENT_EXTRA_METADATA, TesseraOidcAdapter } from './adapter.js';
import type { LoadedKeys } from './keys.js';
import { registerTokenExchange, TOKEN_EXCHANGE_GRANT } from './token-exchange.js';
import { errorKindOf, errorPage, loggedOutPage, logoutPage } from './pages.js';
import { LOCALES, negotiateLocale, translator } from '../i18n/index.js';
import { brandFor } from '../ui/http.js';
import type { PageContext } from '../ui/page.js';

/** Where the provider is mounted inside the Fastify server. */
export const OIDC_PREFIX = '/oidc';

/** The one scope of the Management API resource (Logto: `all`). */
export const MANAGEMENT_SCOPE = 'all';

/** Lifetime of access tokens (JWT and opaque) and ID tokens, seconds. */
export const ACCESS_TOKEN_TTL_SECONDS = 3600;

/** Lifetime of an authorization code, seconds (RFC 6749 §4.1.2 recommends at most 10 minutes). */
export const AUTHORIZATION_CODE_TTL_SECONDS = 60;

/** Lifetime of an interaction (a sign-in page waiting for the user), seconds. */
export const INTERACTION_TTL_SECONDS = 3600;

/** The issuer identifier: `<publicUrl>/oidc`. */
export function issuerOf(config: Config): string {
  return `${config.publicUrl}${OIDC_PREFIX}`;
}

/** The Management API resource indicator (RFC 8707): `<publicUrl>/api`. */
export function managementResourceOf(config: Config): string {
  return `${config.publicUrl}/api`;
}

/**
 * Logto OSS's Management API indicator, accepted as an alias of {@link managementResourceOf} so a Logto
 * back end keeps its token request unchanged (spec logto.md §5.1): a token asked for it carries it as
 * its audience, and the Management API accepts both. Only this server's issuer signs such tokens.
 */
export const LOGTO_MANAGEMENT_RESOURCE = 'https://default.logto.app/api';

/** Every indicator the Management API answers to: its own, then Logto's alias. */
export function managementAudiencesOf(config: Config): string[] {
  return [managementResourceOf(config), LOGTO_MANAGEMENT_RESOURCE];
}

/** The audience prefix of an organization token (Logto's `buildOrganizationUrn`): `urn:logto:organization:<id>`. */
export const ORGANIZATION_URN_PREFIX = 'urn:logto:organization:';

/**
 * Logto's reserved organization resource (RFC 0001): Logto SDKs add it to the authorization request whenever
 * `urn:logto:scope:organizations` is asked. Tessera accepts it there, granting nothing through it (organization
 * tokens are asked with `organization_id`), and issues no token for it.
 */
export const LOGTO_ORGANIZATIONS_RESOURCE = 'urn:logto:resource:organizations';

/** The audience of an organization token of `organizationId`. */
export function organizationUrn(organizationId: string): string {
  return `${ORGANIZATION_URN_PREFIX}${organizationId}`;
}

/**
 * The `organization_id` of a token request (Logto RFC 0001/0006): undefined when absent or empty.
 * @throws errors.InvalidRequest when given more than once or not as a string
 */
function organizationIdOf(ctx: KoaContextWithOIDC): string | undefined {
  const value: unknown = ctx.oidc.params?.['organization_id'];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new errors.InvalidRequest("'organization_id' must be a single value");
  return value;
}

/** `access_denied` with HTTP status 403, as Logto answers a refused organization token. */
function organizationDenied(description: string): Error {
  const error = new errors.AccessDenied(description);
  error.status = 403;
  error.statusCode = 403;
  return error;
}

/** What the provider needs from the rest of Tessera. */
export interface ProviderDeps {
  config: Config;
  store: Store;
  users: UserService;
  applications: ApplicationService;
  /** API resources and the permissions each subject holds there (issue 18). */
  authorization: AuthorizationService;
  /** Rules of the token-exchange grant (impersonation and personal access tokens). */
  tokenExchange: TokenExchangeService;
  /** Organization membership and permissions (organization tokens, the `organizations` claims). */
  organizations: OrganizationService;
  clock: Clock;
}

/**
 * Whose permissions a token at this point of the provider carries (Logto's `getResourceServerInfo`):
 * `client_credentials` → the client; a code, refresh token or signed-in session → the account; nothing
 * (the authorization endpoint before sign-in) → no one, hence no permission.
 */
function subjectOf(ctx: KoaContextWithOIDC, client: Client): Subject | undefined {
  const grantType = ctx.oidc.route === 'token' ? ctx.oidc.params?.['grant_type'] : undefined;
  // Token exchange asks before the subject token is checked: the client decides which resources it may
  // reach (the Management API only for a holder of its permission); the token's scope is then the user's
  // (token-exchange.ts).
  if (grantType === 'client_credentials' || grantType === TOKEN_EXCHANGE_GRANT) return { applicationId: client.clientId };
  const accountId = (ctx.oidc.entities.Account as { accountId?: string } | undefined)?.accountId ?? ctx.oidc.session?.accountId;
  return accountId ? { userId: accountId } : undefined;
}

/**
 * Builds a node-oidc-provider 9 instance for Tessera (issuer `<publicUrl>/oidc`):
 * - storage through {@link TesseraOidcAdapter}; accounts through {@link findAccount};
 * - discovery, JWKS, authorization code with PKCE (S256, required for every client),
 *   refresh tokens (rotated on every use), client_credentials, introspection (RFC 7662),
 *   revocation (RFC 7009), RP-initiated logout, userinfo, resource indicators (RFC 8707);
 * - API resources (domain/authorization; the Management API is the built-in `<publicUrl>/api`, alias
 *   `https://default.logto.app/api`, scope `all`): JWT access tokens (RFC 9068, ES256, the resource's
 *   lifetime) whose scope is the requested permissions the subject's roles hold, read at each issuance;
 *   an unknown resource gets `invalid_target`, and so does the Management API for a subject holding
 *   none of its permissions. Without a resource, access tokens are opaque (userinfo, the Account API);
 * - client secrets are compared against their stored SHA-256 hash (see `clientMetadata`), so
 *   `client_secret_jwt` and HS* algorithms are not offered;
 * - RFC 8693 token exchange for applications allowed to act as users (see `registerTokenExchange`);
 * - Logto's organization tokens (`organization_id` on refresh_token, client_credentials and token exchange;
 *   aud `urn:logto:organization:<id>`, see `registerOrganizationTokens`), organization claims
 *   (`urn:logto:scope:organizations`, `urn:logto:scope:organization_roles`, account.ts), and Logto's reserved
 *   `urn:logto:resource:organizations` accepted at the authorization endpoint (Logto SDKs send it).
 */
/** The provider's default interaction policy with a requestable `create` prompt before the others. */
function interactionPolicyWithCreate(): interactionPolicy.Policy {
  const policy = interactionPolicy.base();
  policy.add(new interactionPolicy.Prompt({ name: 'create', requestable: true }), 0);
  return policy;
}

export function createProvider(deps: ProviderDeps, keys: LoadedKeys): Provider {
  const { config, store, users, applications, authorization, organizations, clock } = deps;
  /** The page context of a provider page: `ui_locales` of the request, then Accept-Language, then the default. */
  const pageContextOf = (ctx: KoaContextWithOIDC): PageContext => {
    const locale = negotiateLocale({ uiLocales: ctx.oidc?.params?.['ui_locales'], acceptLanguage: ctx.get('accept-language'), fallback: config.ui.defaultLocale });
    return { locale, t: translator(locale), brand: brandFor(config) };
  };
  const scopes = ['openid', 'offline_access', ...Object.keys(SCOPE_CLAIMS).filter((s) => s !== 'openid')];
  /**
   * The organization token "resource server" of `organizationId` for `subject` (Logto RFC 0001/0006): audience
   * `urn:logto:organization:<id>`, a JWT (ES256) living {@link ACCESS_TOKEN_TTL_SECONDS}, whose available scopes are
   * the organization permissions the subject's organization roles hold now. Who may is the organizations domain's
   * rule (`OrganizationService.tokenAccess`). Permission names with whitespace cannot be OAuth scope tokens
   * (RFC 6749 §3.3) and are left out, so that no part of such a name can be issued on its own.
   * @throws errors.AccessDenied (403) for a non-member, or a member without a second factor when the organization requires MFA
   */
  const organizationServer = async (organizationId: string, subject: Subject): Promise<ResourceServer> => {
    const access = await organizations.tokenAccess(organizationId, subject);
    if (!access.allowed) {
      if (access.reason === 'mfa_required') throw organizationDenied('organization requires MFA but user has no MFA configured');
      throw organizationDenied('userId' in subject ? 'user is not a member of the organization' : 'app has not associated with the organization');
    }
    return {
      scope: access.scopes.filter((name) => !/\s/.test(name)).join(' '),
      audience: organizationUrn(organizationId),
      accessTokenTTL: ACCESS_TOKEN_TTL_SECONDS,
      accessTokenFormat: 'jwt',
      jwt: { sign: { alg: 'ES256' } },
    };
  };
  const getResourceServerInfo = async (ctx: KoaContextWithOIDC, resourceIndicator: string, client: Client): Promise<ResourceServer> => {
    if (resourceIndicator === LOGTO_ORGANIZATIONS_RESOURCE) {
      if (ctx.oidc.route === 'token') throw new errors.InvalidTarget('an organization token is asked for with organization_id');
      return { scope: '', audience: resourceIndicator, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } };
    }
    if (resourceIndicator.startsWith(ORGANIZATION_URN_PREFIX)) {
      // An organization is asked for with `organization_id` (mapped here by `defaultResource`), never as a
      // `resource` of its own: Logto has no such resource either.
      const organizationId = resourceIndicator.slice(ORGANIZATION_URN_PREFIX.length);
      const subject = ctx.oidc.route === 'token' && organizationId !== '' && organizationIdOf(ctx) === organizationId ? subjectOf(ctx, client) : undefined;
      if (!subject) throw new errors.InvalidTarget('unknown resource indicator');
      return organizationServer(organizationId, subject);
    }
    const subject = subjectOf(ctx, client);
    // The permissions the subject's roles hold there; the provider issues requested ∩ these (others dropped, as Logto).
    const held = subject ? await authorization.heldScopes(subject, resourceIndicator) : { resource: await authorization.findResourceByIndicator(resourceIndicator), scopes: [] };
    const { resource, scopes } = held;
    if (!resource) throw new errors.InvalidTarget('unknown resource indicator');
    // Stricter than Logto: a Management API token is issued only to a holder of one of its permissions.
    if (resource.id === MANAGEMENT_RESOURCE_ID && scopes.length === 0) {
      throw new errors.InvalidTarget('this client is not allowed to request the Management API resource');
    }
    return {
      scope: scopes.join(' '),
      audience: resourceIndicator,
      accessTokenTTL: resource.accessTokenTtl,
      accessTokenFormat: 'jwt',
      jwt: { sign: { alg: 'ES256' } },
    };
  };

  const provider = new Provider(issuerOf(config), {
    adapter: (model: string) => new TesseraOidcAdapter(model, store, applications, clock),
    findAccount: (_ctx: KoaContextWithOIDC, sub: string) =>
      findAccount(
        users,
        sub,
        (userId) => store.identities.listByUser(userId),
        (userId) => authorization.userRoleNames(userId),
        (userId) => organizations.userOrganizations(userId),
      ),
    jwks: { keys: keys.signing },
    cookies: {
      keys: keys.cookie,
      long: { httpOnly: true, sameSite: 'lax', path: OIDC_PREFIX },
      short: { httpOnly: true, sameSite: 'lax' },
    },
    // `amr` (RFC 8176) goes into ID tokens so relying parties can see a second factor was used (issue 7 §4).
    claims: { ...SCOPE_CLAIMS, openid: [...(SCOPE_CLAIMS['openid'] ?? ['sub']), 'amr'] },
    scopes,
    // Scope claims go into the ID token too (not only userinfo), as Logto does.
    conformIdTokenClaims: false,
    responseTypes: ['code'],
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none'],
    enabledJWA: {
      idTokenSigningAlgValues: ['RS256', 'ES256'],
      userinfoSigningAlgValues: ['RS256', 'ES256'],
      introspectionSigningAlgValues: ['RS256', 'ES256'],
      authorizationSigningAlgValues: ['RS256', 'ES256'],
      requestObjectSigningAlgValues: ['RS256', 'PS256', 'ES256', 'EdDSA'],
      clientAuthSigningAlgValues: ['RS256', 'PS256', 'ES256', 'EdDSA'],
    },
    extraClientMetadata: { properties: [...CLIENT_EXTRA_METADATA] },
    clientBasedCORS: (_ctx: KoaContextWithOIDC, origin: string, client: Client) => {
      const allowed = client['tessera_cors_origins'];
      if (Array.isArray(allowed) && allowed.includes(origin)) return true;
      // Public clients run in the browser at their redirect URIs' origins.
      return client.clientAuthMethod === 'none' && (client.redirectUris ?? []).some((uri) => URL.parse(uri)?.origin === origin);
    },
    pkce: { required: () => true },
    rotateRefreshToken: true,
    ttl: {
      AccessToken: (_ctx: unknown, token: Token) => token.resourceServer?.accessTokenTTL ?? ACCESS_TOKEN_TTL_SECONDS,
      ClientCredentials: (_ctx: unknown, token: Token) => token.resourceServer?.accessTokenTTL ?? ACCESS_TOKEN_TTL_SECONDS,
      IdToken: ACCESS_TOKEN_TTL_SECONDS,
      AuthorizationCode: AUTHORIZATION_CODE_TTL_SECONDS,
      Interaction: INTERACTION_TTL_SECONDS,
      // Refresh tokens, provider sessions and grants live as long as a first-party session.
      RefreshToken: (ctx: KoaContextWithOIDC, token: Token, client: Client) => {
        const rotated = ctx?.oidc?.entities?.RotatedRefreshToken as Token | undefined;
        // A public client's rotated token keeps the original expiry (no endless sliding window).
        if (rotated && client.clientAuthMethod === 'none' && !token.isSenderConstrained()) return rotated.remainingTTL;
        return config.session.absoluteTtlSeconds;
      },
      Session: config.session.absoluteTtlSeconds,
      Grant: config.session.absoluteTtlSeconds,
    },
    // The languages of the hosted pages, chosen by `ui_locales` (src/i18n/locale.ts), and the prompts they
    // answer (`create`: OpenID Connect Prompt Create 1.0 §4 asks the provider to list it).
    discovery: { ui_locales_supported: [...LOCALES], prompt_values_supported: ['none', 'login', 'consent', 'create'], claim_types_supported: ['normal'], claims_locales_supported: undefined },
    interactions: {
      // The default prompts (login, consent) and, first, `create` (OpenID Connect Prompt Create 1.0):
      // `prompt=create` opens the sign-up page instead of the sign-in page.
      policy: interactionPolicyWithCreate(),
      url: (_ctx: KoaContextWithOIDC, interaction: { uid: string }) => `${OIDC_PREFIX}/interaction/${interaction.uid}`,
    },
    // First-party applications: consent is implied, so a grant for the requested OIDC scopes is
    // created without asking (issue 4). Third-party applications get the provider's consent prompt,
    // answered by the user on the consent page (routes.ts).
    loadExistingGrant: async (ctx: KoaContextWithOIDC) => {
      const { oidc } = ctx;
      const client = oidc.client!;
      const accountId = oidc.session?.accountId;
      const grantId = (oidc.result?.consent?.grantId as string | undefined) ?? oidc.session?.grantIdFor(client.clientId);
      if (grantId) return oidc.provider.Grant.find(grantId);
      if (!accountId || client['tessera_third_party'] === true) return undefined;
      const grant = new oidc.provider.Grant({ accountId, clientId: client.clientId });
      const scopes = [...oidc.requestParamOIDCScopes].filter((s) => s !== 'offline_access');
      if (scopes.length) grant.addOIDCScope(scopes.join(' '));
      await grant.save();
      return grant;
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      // A client learns about, and revokes, only its own tokens (RFC 7662 §4, RFC 7009 §2.1): Tessera's
      // own resource servers check tokens locally, so no client needs to introspect others' tokens.
      introspection: {
        enabled: true,
        allowedPolicy: (_ctx: KoaContextWithOIDC, client: Client, token: Token) => token.clientId === client.clientId,
      },
      revocation: {
        enabled: true,
        allowedPolicy: (_ctx: KoaContextWithOIDC, client: Client, token: Token) => {
          if (token.clientId === client.clientId) return true;
          if (client.clientAuthMethod === 'none') return false;
          throw new errors.InvalidRequest('client is not authorized to revoke the presented token');
        },
      },
      userinfo: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: (ctx: KoaContextWithOIDC, form: string) => {
          ctx.type = 'html';
          // The provider's form is `<form id="op.logoutForm" method="post" action="…"><input type="hidden" name="xsrf" value="…"/></form>`.
          const action = /action="([^"]*)"/.exec(form)?.[1] ?? '';
          const xsrf = /name="xsrf" value="([^"]*)"/.exec(form)?.[1] ?? '';
          ctx.body = logoutPage(pageContextOf(ctx), { action, fields: { xsrf } }, ctx.host);
        },
        postLogoutSuccessSource: (ctx: KoaContextWithOIDC) => {
          ctx.type = 'html';
          ctx.body = loggedOutPage(pageContextOf(ctx), ctx.oidc.client?.['clientName'] as string | undefined);
        },
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: (ctx: KoaContextWithOIDC, _client: Client, oneOf?: string[]) => {
          if (oneOf) return oneOf;
          // client_credentials needs a resource (Logto): its tokens are only for resource servers, or for an
          // organization named by `organization_id` (an organization token, Logto RFC 0006).
          if (ctx.oidc.route === 'token' && ctx.oidc.params?.['grant_type'] === 'client_credentials') {
            const organizationId = organizationIdOf(ctx);
            if (organizationId !== undefined) return organizationUrn(organizationId);
            throw new errors.InvalidTarget('a resource indicator is required for the client_credentials grant');
          }
          return undefined;
        },
        useGrantedResource: () => false,
        getResourceServerInfo,
      },
    },
    renderError: (ctx: KoaContextWithOIDC, out: Record<string, unknown>) => {
      // A friendly page without the raw protocol fields (issue 14 §2); the fields stay in the log line.
      ctx.type = 'html';
      ctx.body = errorPage(pageContextOf(ctx), errorKindOf(out['error'], out['error_description']));
    },
  });

  provider.proxy = config.trustProxy;

  registerTokenExchange(provider, {
    exchange: deps.tokenExchange,
    resourceServerInfo: getResourceServerInfo,
    organizationServer,
    userScopes: async (userId, indicator) => {
      const resource = await authorization.findResourceByIndicator(indicator);
      return resource ? authorization.scopesOf({ userId }, resource) : [];
    },
    oidcScopes: scopes,
    accessTokenTtlSeconds: ACCESS_TOKEN_TTL_SECONDS,
    clock,
  });

  registerOrganizationTokens(provider, organizationServer);

  // Unknown paths under /oidc answer like the provider's other errors (RFC 6749 §5.2 shape), not
  // with koa's plain-text "Not Found".
  provider.use(async (ctx: KoaContextWithOIDC, next: () => Promise<void>) => {
    await next();
    if (ctx.status === 404 && ctx.body === undefined) {
      ctx.status = 404;
      ctx.body = { error: 'invalid_request', error_description: 'unrecognized route or not allowed method' };
    }
  });

  // Client secrets are stored as SHA-256 hashes and the provider holds the hash as `clientSecret`:
  // compare the hash of the presented secret, in constant time.
  provider.Client.prototype.compareClientSecret = function compareClientSecret(this: Client, actual: string) {
    return clientSecretMatches(this.clientSecret ?? null, actual);
  };

  return provider;
}

/**
 * Extends the provider's built-in `refresh_token` and `client_credentials` grants with `organization_id`: Logto's
 * organization tokens (RFC 0001 for users, RFC 0006 for machine-to-machine applications), JWTs with
 * `aud: urn:logto:organization:<id>`. The built-in handlers keep every check and all token bookkeeping; they are
 * re-registered with the extra parameter and wrapped:
 * - `client_credentials`: `defaultResource` maps `organization_id` to the resource `urn:logto:organization:<id>`,
 *   whose info is {@link organizationServer} for the application (a non-member app → `access_denied`, 403); the
 *   scope is the requested permissions the app's organization roles hold (none requested → none, as for any
 *   resource of this grant and as Logto);
 * - `refresh_token`: before the refresh token is touched (so a refused request leaves it usable), the token must
 *   hold `urn:logto:scope:organizations` (else `insufficient_scope`, 403), the client must be first-party (Tessera
 *   has no per-organization consent of third-party applications: `access_denied`, 403) and the user must pass
 *   {@link organizationServer} (non-member or missing MFA → `access_denied`, 403). Then the plain refresh runs —
 *   rotation, ID token and response exactly as without `organization_id` — and its access token is replaced by the
 *   organization token, whose scope is the requested scopes (all when none is requested) the user's organization
 *   roles hold now. A refresh token that is unknown, another client's, expired or already used gets the plain
 *   grant's error (a reused one revokes its grant, as always).
 * `organization_id` with `resource` (Logto's organization-scoped API resource tokens) → `invalid_request`.
 * Tessera enables neither DPoP nor mTLS, so the organization token has no sender binding to copy.
 * @throws Error at start-up when the installed provider has no such built-in grant to extend
 */
function registerOrganizationTokens(provider: Provider, organizationServer: (organizationId: string, subject: Subject) => Promise<ResourceServer>): void {
  const internals = oidcInternals(provider);
  const builtIn = (grantType: string) => {
    const handler = internals.grantTypeHandlers.get(grantType);
    const params = internals.grantTypeParams.get(grantType);
    if (!handler || !params) throw new Error(`node-oidc-provider has no built-in ${grantType} grant to extend`);
    return { handler, params: [...params, 'organization_id'] };
  };
  const refuseResource = (ctx: KoaContextWithOIDC) => {
    if (ctx.oidc.params?.['resource'] !== undefined) throw new errors.InvalidRequest("'organization_id' cannot be combined with 'resource'");
  };

  const clientCredentials = builtIn('client_credentials');
  provider.registerGrantType(
    'client_credentials',
    async (ctx) => {
      if (organizationIdOf(ctx) !== undefined) refuseResource(ctx);
      await clientCredentials.handler(ctx);
    },
    clientCredentials.params,
    ['resource'],
  );

  const refresh = builtIn('refresh_token');
  provider.registerGrantType(
    'refresh_token',
    async (ctx) => {
      const organizationId = organizationIdOf(ctx);
      if (organizationId === undefined) return refresh.handler(ctx);
      refuseResource(ctx);
      const client = ctx.oidc.client!;
      const params = ctx.oidc.params!;
      const value: unknown = params['refresh_token'];
      const refreshToken = typeof value === 'string' && value !== '' ? await provider.RefreshToken.find(value, { ignoreExpiration: true }) : undefined;
      if (!refreshToken || refreshToken.clientId !== client.clientId || refreshToken.isExpired || refreshToken.consumed || !refreshToken.accountId) {
        await refresh.handler(ctx); // refuses it with the plain grant's error
        throw new errors.InvalidGrant('refresh token not usable for an organization token');
      }
      if (!refreshToken.scopes.has(ORGANIZATIONS_SCOPE)) throw new errors.InsufficientScope('refresh token missing required scope', ORGANIZATIONS_SCOPE);
      if (client['tessera_third_party'] === true) throw organizationDenied('organization access is not granted to the application');
      const server = new provider.ResourceServer(organizationUrn(organizationId), await organizationServer(organizationId, { userId: refreshToken.accountId }));
      const scopeParam: unknown = params['scope'];
      const requested = typeof scopeParam === 'string' && scopeParam !== '' ? new Set(scopeParam.split(' ')) : undefined;
      // The plain grant checks `scope` against the refresh token's scopes, which hold no organization permission.
      delete params['scope'];
      await refresh.handler(ctx);

      const plain = ctx.oidc.entities['AccessToken'] as NewAccessToken | undefined;
      if (!plain?.accountId) throw new Error('the refresh_token grant issued no access token');
      await plain.destroy();
      const token = new provider.AccessToken({
        accountId: plain.accountId,
        client,
        ...(plain.grantId !== undefined ? { grantId: plain.grantId } : {}),
        ...(plain.gty !== undefined ? { gty: plain.gty } : {}),
        ...(plain.sid !== undefined ? { sid: plain.sid } : {}),
        ...(plain.sessionUid !== undefined ? { sessionUid: plain.sessionUid } : {}),
        ...(plain.expiresWithSession !== undefined ? { expiresWithSession: plain.expiresWithSession } : {}),
      });
      token.resourceServer = server;
      const available = server.scopes;
      token.scope = [...(requested ?? available)].filter((s) => s !== '' && available.has(s)).join(' ');
      ctx.oidc.entity('AccessToken', token);
      const accessToken = await token.save();
      ctx.body = { ...(ctx.body as Record<string, unknown>), access_token: accessToken, expires_in: token.expiration, token_type: token.tokenType, scope: token.scope };
    },
    refresh.params,
    ['resource'],
  );
}
