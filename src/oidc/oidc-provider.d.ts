/**
 * The part of node-oidc-provider 9's API that Tessera uses (the package ships no type definitions).
 * Shapes follow the library's source (`lib/provider.js`, `lib/models/*`, `lib/helpers/errors.js`).
 */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  /** A stored artefact as the adapter sees it (token, code, session, grant, interaction…). */
  export interface AdapterPayload {
    [key: string]: unknown;
    jti?: string;
    kind?: string;
    grantId?: string;
    userCode?: string;
    uid?: string;
    accountId?: string;
    clientId?: string;
    /** Epoch seconds at which the artefact was consumed. */
    consumed?: number;
  }

  /** The storage adapter contract (one instance per model name). */
  export interface Adapter {
    /** `expiresIn` is in **seconds**. */
    upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void>;
    find(id: string): Promise<AdapterPayload | undefined>;
    findByUserCode(userCode: string): Promise<AdapterPayload | undefined>;
    findByUid(uid: string): Promise<AdapterPayload | undefined>;
    consume(id: string): Promise<void>;
    destroy(id: string): Promise<void>;
    revokeByGrantId(grantId: string): Promise<void>;
  }

  /** A registered client as the provider models it (metadata camelCased; extra metadata as registered). */
  export interface Client {
    [key: string]: unknown;
    clientId: string;
    clientSecret?: string;
    clientAuthMethod: string;
    redirectUris?: string[];
    postLogoutRedirectUris?: string[];
    compareClientSecret(actual: string): boolean | Promise<boolean>;
  }

  export interface ClientStatic {
    prototype: Client;
    find(id: string): Promise<Client | undefined>;
  }

  export interface Grant {
    jti: string;
    accountId?: string;
    clientId?: string;
    addOIDCScope(scope: string): void;
    addOIDCClaims(claims: string[]): void;
    addResourceScope(resource: string, scope: string): void;
    /** @returns the grant id */
    save(): Promise<string>;
  }

  export interface GrantStatic {
    /** `expiresIn` (seconds) overrides `ttl.Grant`. */
    new (properties: { accountId: string; clientId: string; expiresIn?: number }): Grant;
    find(id: string): Promise<Grant | undefined>;
  }

  export interface Token {
    jti: string;
    accountId?: string;
    clientId?: string;
    grantId?: string;
    scope?: string;
    exp?: number;
    iat?: number;
    resourceServer?: ResourceServer;
    remainingTTL: number;
    isSenderConstrained(): boolean;
  }

  export interface TokenStatic {
    find(value: string, options?: { ignoreExpiration?: boolean }): Promise<Token | undefined>;
  }

  /** A refresh token as found by `provider.RefreshToken.find` (lib/models/refresh_token.js). */
  export interface RefreshTokenModel extends Token {
    /** The scopes it was granted (space-separated `scope` as a set). */
    readonly scopes: Set<string>;
    readonly isExpired: boolean;
    /** Epoch seconds at which it was rotated, when it was. */
    consumed?: number;
  }

  export interface RefreshTokenStatic {
    find(value: string, options?: { ignoreExpiration?: boolean }): Promise<RefreshTokenModel | undefined>;
  }

  /** An access token being minted by a grant handler (`new provider.AccessToken({...})`). */
  export interface NewAccessToken extends Token {
    /** Setting it makes the token a JWT or opaque token for that resource (its `aud`). */
    resourceServer?: ResourceServer;
    gty?: string;
    sid?: string;
    sessionUid?: string;
    expiresWithSession?: boolean;
    /** Removes a stored (opaque) token; a no-op for a JWT. */
    destroy(): Promise<void>;
    /** Seconds until expiry (from `expiresIn`, else `ttl.AccessToken`). */
    readonly expiration: number;
    readonly tokenType: string;
    /** Persists (opaque) or signs (JWT) the token. @returns the token value */
    save(): Promise<string>;
  }

  export interface AccessTokenStatic extends TokenStatic {
    /** `expiresIn` (seconds) overrides `ttl.AccessToken`. */
    new (properties: {
      accountId: string;
      client: Client;
      grantId?: string;
      gty?: string;
      scope?: string;
      expiresIn?: number;
      sid?: string;
      sessionUid?: string;
      expiresWithSession?: boolean;
    }): NewAccessToken;
  }

  /** The provider's resource server model (`new provider.ResourceServer(indicator, info)`). */
  export interface ResourceServerStatic {
    new (identifier: string, info: ResourceServer): ResourceServer & { identifier(): string; readonly scopes: Set<string> };
  }

  /** Resource server information returned by `features.resourceIndicators.getResourceServerInfo`. */
  export interface ResourceServer {
    scope: string;
    audience?: string;
    /** Seconds. */
    accessTokenTTL?: number;
    accessTokenFormat?: 'opaque' | 'jwt';
    jwt?: { sign?: { alg?: string; kid?: string } };
  }

  /** What `interactionDetails` returns. */
  export interface Interaction {
    uid: string;
    jti: string;
    /** Epoch seconds. */
    exp: number;
    returnTo: string;
    prompt: { name: string; reasons: string[]; details: Record<string, unknown> };
    params: Record<string, unknown>;
    session?: { accountId?: string; uid?: string; cookie?: string };
    grantId?: string;
    lastSubmission?: Record<string, unknown>;
  }

  /** The slice of the koa context (with `ctx.oidc`) that configuration callbacks use. */
  export interface KoaContextWithOIDC {
    [key: string]: any;
    body: unknown;
    type: string;
    status: number;
    host: string;
    oidc: {
      [key: string]: any;
      route?: string;
      client?: Client;
      params?: Record<string, any>;
      session?: { accountId?: string; grantIdFor(clientId: string): string | undefined };
      result?: Record<string, any>;
      requestParamOIDCScopes: Set<string>;
      entities: Record<string, any>;
      provider: Provider;
    };
  }

  export interface Account {
    accountId: string;
    claims(use: string, scope: string, claims: unknown, rejected: string[]): Promise<Record<string, unknown>> | Record<string, unknown>;
  }

  export class Provider {
    constructor(issuer: string, configuration: Record<string, unknown>);
    readonly issuer: string;
    proxy: boolean;
    keys?: string[];
    readonly Client: ClientStatic;
    readonly Grant: GrantStatic;
    readonly AccessToken: AccessTokenStatic;
    readonly ResourceServer: ResourceServerStatic;
    readonly RefreshToken: RefreshTokenStatic;
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<Interaction>;
    interactionResult(req: IncomingMessage, res: ServerResponse, result: Record<string, unknown>, options?: { mergeWithLastSubmission?: boolean }): Promise<string>;
    interactionFinished(req: IncomingMessage, res: ServerResponse, result: Record<string, unknown>, options?: { mergeWithLastSubmission?: boolean }): Promise<void>;
    on(event: string, listener: (...args: any[]) => void): this;
    /** Registers koa middleware that runs before the provider's own (it may act after `await next()`). */
    use(middleware: (ctx: KoaContextWithOIDC, next: () => Promise<void>) => Promise<void>): this;
    urlFor(name: string, options?: Record<string, unknown>): string;
    /**
     * Adds a grant type to the token endpoint: `handler` runs after client authentication and the
     * client's `grant_types` check; `params` are the request parameters it reads (others are dropped);
     * `dupes` may appear more than once (e.g. `resource`).
     */
    registerGrantType(
      name: string,
      handler: (ctx: KoaContextWithOIDC) => Promise<void>,
      params?: string | string[] | Set<string>,
      dupes?: string | string[] | Set<string>,
    ): void;
  }

  export namespace errors {
    class OIDCProviderError extends Error {
      error: string;
      error_description?: string;
      status: number;
      statusCode: number;
      expose: boolean;
    }
    class InvalidTarget extends OIDCProviderError {
      constructor(description?: string, detail?: string);
    }
    class InvalidScope extends OIDCProviderError {
      constructor(description?: string, scope?: string, detail?: string);
    }
    class InvalidRequest extends OIDCProviderError {
      constructor(description?: string, code?: number, detail?: string);
    }
    class SessionNotFound extends InvalidRequest {}
    class AccessDenied extends OIDCProviderError {
      constructor(description?: string, detail?: string);
    }
    /** `insufficient_scope` (status 403) naming the missing `scope`. */
    class InsufficientScope extends OIDCProviderError {
      constructor(description: string, scope: string, detail?: string);
      scope: string;
    }
    /** `invalid_grant`; its constructor argument is a hidden detail, so set `error_description` to explain. */
    class InvalidGrant extends OIDCProviderError {
      constructor(detail?: string);
    }
    class UnauthorizedClient extends OIDCProviderError {
      constructor(description?: string, detail?: string);
    }
  }

  /** The interaction policy helpers (lib/helpers/interaction_policy): the default prompts and how to add one. */
  export namespace interactionPolicy {
    class Prompt {
      constructor(options: { name: string; requestable?: boolean }, ...checks: unknown[]);
      name: string;
    }
    interface Policy extends Array<Prompt> {
      get(name: string): Prompt | undefined;
      add(prompt: Prompt, index?: number): void;
      remove(name: string): void;
    }
    function base(): Policy;
  }

  export default Provider;
}

/**
 * node-oidc-provider's internal per-instance state (lib/helpers/weak_cache.js; the package has no `exports` map).
 * Tessera reads only the token endpoint's registered grant handlers and their parameters, to extend the built-in
 * `refresh_token` and `client_credentials` grants with `organization_id` (src/oidc/provider.ts).
 */
declare module 'oidc-provider/lib/helpers/weak_cache.js' {
  import type { KoaContextWithOIDC, Provider } from 'oidc-provider';

  export default function instance(provider: Provider): {
    grantTypeHandlers: Map<string, (ctx: KoaContextWithOIDC) => Promise<void>>;
    grantTypeParams: Map<string | undefined, Set<string>>;
    grantTypeDupes: Map<string, Set<string>>;
  };
}
