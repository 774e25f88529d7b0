import { invalidArgument, TesseraError } from './errors.js';
import { fromLogtoApplication, fromLogtoDialect, fromLogtoUser, type LogtoApplicationWire } from './logto-dialect.js';
import { DEFAULT_TIMEOUT_MS, type FetchLike, type HttpRequest, type HttpResponse, joinUrl, send } from './http.js';
import type { CustomFieldType, Profile, TesseraUser } from './types.js';

/** Options of {@link ManagementClient}. */
export interface ManagementClientOptions {
  /** The Tessera server's public URL (its `TESSERA_PUBLIC_URL`), e.g. `https://id.example.com`. */
  endpoint: string;
  /** Id of an m2m application created with `--management` (or `isManagement: true`). */
  clientId: string;
  /** Its client secret. Server-side only: never ship it to a browser. */
  clientSecret: string;
  /** The Management API resource indicator; default `<endpoint>/api`. */
  resource?: string;
  /** The `fetch` to use; default: the global `fetch`. */
  fetch?: FetchLike;
  /** Milliseconds since the epoch; default `Date.now` (tests pass their own clock). */
  clock?: () => number;
  /** Time limit of each request, **milliseconds** (default 30 000); then `client.network_error`. */
  timeout?: number;
}

/** A page of a list: the items and the total count (`Total-Number` header). Authing's `{totalCount, list}`. */
export interface Page<T> {
  totalCount: number;
  list: T[];
}

/** Input of {@link ManagementClient.users}.create (Management API `POST /api/users`, Logto's shape). */
export interface CreateUserInput {
  username?: string;
  primaryEmail?: string;
  primaryPhone?: string;
  /** Checked for length only (the admin chose it). */
  password?: string;
  name?: string | null;
  avatar?: string | null;
  customData?: Record<string, unknown>;
  profile?: Profile;
  /** The user must set a new password at the next sign-in (Authing's `resetPasswordOnFirstLogin`). */
  passwordResetRequired?: boolean;
}

/** Input of users.update (`PATCH /api/users/:id`): `null` or `""` clears; profile and customData are replaced. */
export interface UpdateUserInput {
  username?: string | null;
  primaryEmail?: string | null;
  primaryPhone?: string | null;
  name?: string | null;
  avatar?: string | null;
  customData?: Record<string, unknown>;
  profile?: Profile;
  passwordResetRequired?: boolean;
}

/** Options of users.search. */
export interface SearchOptions {
  /** Fields to search (id, username, primaryEmail, primaryPhone, name); default: all searchable fields. */
  fields?: Array<'id' | 'username' | 'primaryEmail' | 'primaryPhone' | 'name'>;
  /** `like` (default): substring match, the SDK adds the `%`; `exact`: whole value. */
  mode?: 'like' | 'exact';
  /** Default false. */
  caseSensitive?: boolean;
  /** 1-based; default 1. */
  page?: number;
  /** Default 10 (Authing's), at most 100. */
  limit?: number;
}

/** Application types. */
export type ApplicationType = 'traditional' | 'spa' | 'native' | 'm2m';

/** An OAuth application as the Management API shows it (never its secret's hash). Timestamps in ms. */
export interface Application {
  id: string;
  name: string;
  /** Free text for administrators; null when none. */
  description: string | null;
  type: ApplicationType;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  corsOrigins: string[];
  isManagement: boolean;
  allowTokenExchange: boolean;
  /** Third-party app: users consent at sign-in; its tokens may only read the Account API. */
  isThirdParty: boolean;
  hasSecret: boolean;
  createdAt: number;
  updatedAt: number;
}

/** An application with its client secret, shown only when created or rotated. */
export interface ApplicationWithSecret extends Application {
  secret: string | null;
}

/** Input of applications.create. */
export interface CreateApplicationInput {
  name: string;
  description?: string | null;
  type: ApplicationType;
  redirectUris?: string[];
  postLogoutRedirectUris?: string[];
  corsOrigins?: string[];
  isManagement?: boolean;
  allowTokenExchange?: boolean;
}

/** Input of applications.update. */
export type UpdateApplicationInput = Partial<Omit<CreateApplicationInput, 'type'>>;

/** An API resource (`/api/resources`, Logto's shape): what a token request's `resource` (RFC 8707) names. */
export interface ApiResource {
  /** Always `default` (Logto's tenant of a self-hosted install). */
  tenantId: string;
  id: string;
  name: string;
  /** The resource indicator: an absolute URI, the `aud` of its access tokens. */
  indicator: string;
  /** Logto's default resource (at most one). */
  isDefault: boolean;
  /** Lifetime of its access tokens, **seconds**. */
  accessTokenTtl: number;
}

/** A permission of an API resource (an OAuth scope; Logto's `Scope`). `createdAt` in ms since the epoch. */
export interface ApiScope {
  tenantId: string;
  id: string;
  resourceId: string;
  /** An OAuth scope token: no spaces, unique within its resource. */
  name: string;
  description: string | null;
  createdAt: number;
}

/** Who a role is for: `User` roles go to users, `MachineToMachine` roles to m2m applications. */
export type RoleType = 'User' | 'MachineToMachine';

/** A role (`/api/roles`, Logto's shape). */
export interface Role {
  tenantId: string;
  id: string;
  name: string;
  description: string;
  type: RoleType;
  /** Given to every new user (User roles only). */
  isDefault: boolean;
}

/** A role in the role list: with how many users and applications hold it and the first three of each (Logto's `RoleResponse`). */
export interface RoleWithHolders extends Role {
  usersCount: number;
  featuredUsers: Array<{ id: string; avatar: string | null; name: string | null }>;
  applicationsCount: number;
  featuredApplications: Array<{ id: string; name: string; type: 'Traditional' | 'SPA' | 'Native' | 'MachineToMachine' }>;
}

/** Input of roles.create (`POST /api/roles`). */
export interface CreateRoleInput {
  /** 1–128 characters, unique. */
  name: string;
  /** 1–128 characters. */
  description: string;
  /** Default `User`. */
  type?: RoleType;
  isDefault?: boolean;
  /** Permissions to give it (in the same transaction). */
  scopeIds?: string[];
}

/** Options of roles.list. */
export interface RoleListOptions {
  /** 1-based; default 1. */
  page?: number;
  /** Default 10, at most 100. */
  limit?: number;
  type?: RoleType;
  /** A substring of the name or the description (case-insensitive). */
  search?: string;
  /** Leave out the roles this user holds. */
  excludeUserId?: string;
  /** Leave out the roles this application holds. */
  excludeApplicationId?: string;
}

/** The answer of users.addRoles / applications.addRoles: the ids as sent and those that were new. */
export interface AddedRoles {
  roleIds: string[];
  addedRoleIds: string[];
}

/** How a field of the end-user Account API may be used. */
export type AccountCenterFieldMode = 'Off' | 'ReadOnly' | 'Edit';
/** The account-center fields. */
export type AccountCenterField = 'name' | 'avatar' | 'profile' | 'username' | 'email' | 'phone' | 'password' | 'social' | 'customData' | 'mfa' | 'session';

/** Account-center settings (`GET/PATCH /api/account-center`). */
export interface AccountCenter {
  enabled: boolean;
  fields: Record<AccountCenterField, AccountCenterFieldMode>;
}

/** A custom-field definition (Authing UDF). Timestamps in ms. */
export interface CustomFieldDefinition {
  key: string;
  type: CustomFieldType;
  label: string | null;
  description: string | null;
  createdAt?: number;
  updatedAt?: number;
}

interface TokenAnswer {
  access_token: string;
  expires_in: number;
}

/**
 * The `next` target of an RFC 8288 `Link` header (as the Management API sends with its pages), or null.
 * @example
 * ```ts
 * nextLink('<https://id.example.com/api/users?page=3>; rel="next"'); // 'https://id.example.com/api/users?page=3'
 * ```
 */
export function nextLink(header: string | null): string | null {
  if (!header) return null;
  for (const part of header.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>\s*((?:;[^;]*)*)$/.exec(part);
    if (m && /;\s*rel\s*=\s*"?(?:[^";]*\s)?next(?:\s[^";]*)?"?/i.test(m[2]!)) return m[1]!;
  }
  return null;
}

const form = (values: Record<string, string>): string => new URLSearchParams(values).toString().replace(/%20/g, '+');

/**
 * The admin client for Tessera's Management API (Logto's paths and shapes), for back ends. It gets a
 * Management API token with the OAuth 2.0 client-credentials grant (`POST <endpoint>/oidc/token`,
 * HTTP Basic client authentication, `resource = <endpoint>/api`, `scope = all`), caches it and fetches
 * a new one shortly before it expires (one token request at a time, shared by concurrent calls).
 *
 * @example
 * ```ts
 * import { ManagementClient } from '@tessera/sdk';
 * const mgmt = new ManagementClient({ endpoint: 'https://id.example.com', clientId: process.env.APP_ID!, clientSecret: process.env.APP_SECRET! });
 * const { totalCount, list } = await mgmt.users.list(1, 20);
 * for await (const user of mgmt.users.all()) console.log(user.id);
 * ```
 */
export class ManagementClient {
  readonly #base: string;
  readonly #fetch: FetchLike;
  readonly #clock: () => number;
  readonly #clientId: string;
  readonly #clientSecret: string;
  readonly #resource: string;
  readonly #timeout: number;
  #token: { value: string; expiresAt: number; lifetimeMs: number } | null = null;
  #inflight: Promise<string> | null = null;

  /**
   * @param options see {@link ManagementClientOptions}
   * @throws TesseraError `request.invalid` (endpoint is not an http(s) URL, missing credentials, no `fetch`)
   * @example
   * ```ts
   * const mgmt = new ManagementClient({ endpoint: 'http://127.0.0.1:3000', clientId, clientSecret });
   * ```
   */
  constructor(options: ManagementClientOptions) {
    if (!options || typeof options.endpoint !== 'string' || !/^https?:\/\//i.test(options.endpoint)) {
      throw invalidArgument('endpoint', 'endpoint must be an http(s) URL');
    }
    if (!options.clientId || !options.clientSecret) throw invalidArgument('clientSecret', 'clientId and clientSecret are required');
    if (!options.fetch && typeof globalThis.fetch !== 'function') throw invalidArgument('fetch', 'No fetch implementation: pass options.fetch');
    this.#base = options.endpoint.replace(/\/+$/, '');
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#clock = options.clock ?? Date.now;
    this.#clientId = options.clientId;
    this.#clientSecret = options.clientSecret;
    this.#resource = options.resource ?? `${this.#base}/api`;
    this.#timeout = options.timeout ?? DEFAULT_TIMEOUT_MS;
  }

  /**
   * A valid Management API access token: the cached one while more than a tenth of its lifetime
   * (at most 60 s) remains, else a new one. Concurrent callers share one token request.
   * @throws TesseraError `client.token_request_failed` (the token endpoint refused: `data.error` is
   *   `invalid_client`, `invalid_target`, …), `client.network_error`
   * @example
   * ```ts
   * const token = await mgmt.getAccessToken();
   * ```
   */
  async getAccessToken(): Promise<string> {
    const cached = this.#token;
    if (cached && this.#clock() < cached.expiresAt - Math.min(60_000, cached.lifetimeMs / 10)) return cached.value;
    if (!this.#inflight) {
      this.#inflight = this.#fetchToken().finally(() => {
        this.#inflight = null;
      });
    }
    return this.#inflight;
  }

  async #fetchToken(): Promise<string> {
    const basic = btoa(`${form({ a: this.#clientId }).slice(2)}:${form({ a: this.#clientSecret }).slice(2)}`);
    let res: Response;
    let text: string;
    try {
      res = await this.#fetch(joinUrl(this.#base, '/oidc/token'), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${basic}`, accept: 'application/json' },
        body: form({ grant_type: 'client_credentials', resource: this.#resource, scope: 'all' }),
        signal: AbortSignal.timeout(this.#timeout),
      });
      text = await res.text();
    } catch (error) {
      const reason = (error as Error).name === 'TimeoutError' ? `no answer within ${this.#timeout} ms` : (error as Error).message;
      throw new TesseraError('client.network_error', 0, `The token request did not complete: ${reason}`);
    }
    let body: (TokenAnswer & { error?: string; error_description?: string }) | null = null;
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
    if (!res.ok || !body || typeof body.access_token !== 'string') {
      throw new TesseraError(
        'client.token_request_failed',
        res.status,
        `The token endpoint refused the client credentials: ${body?.error ?? res.status}${body?.error_description ? ` (${body.error_description})` : ''}`,
        body ? { error: body.error, error_description: body.error_description } : undefined,
      );
    }
    const lifetimeMs = Math.max(0, Number(body.expires_in) || 0) * 1000;
    this.#token = { value: body.access_token, expiresAt: this.#clock() + lifetimeMs, lifetimeMs };
    return body.access_token;
  }

  /** Sends a request with the Management API token as Bearer; its errors in Tessera's codes (logto-dialect.ts). */
  async #send<T>(req: Omit<HttpRequest, 'bearer'>): Promise<HttpResponse<T>> {
    const bearer = await this.getAccessToken();
    try {
      return await send<T>(this.#fetch, this.#base, { ...req, bearer }, this.#timeout);
    } catch (error) {
      throw fromLogtoDialect(error, req.path);
    }
  }

  async #body<T>(method: HttpRequest['method'], path: string, json?: unknown): Promise<T> {
    return (await this.#send<T>({ method, path, json })).body;
  }

  /** A user answer in the SDK's shape (E.164 phone; see fromLogtoUser). */
  async #user(method: HttpRequest['method'], path: string, json?: unknown): Promise<TesseraUser> {
    return fromLogtoUser(await this.#body<TesseraUser>(method, path, json));
  }

  async #userPage(path: string, query: URLSearchParams): Promise<Page<TesseraUser>> {
    const page = await this.#page<TesseraUser>(path, query);
    return { totalCount: page.totalCount, list: page.list.map((u) => fromLogtoUser(u)) };
  }

  async *#userPages(first: string): AsyncGenerator<TesseraUser, void, undefined> {
    for await (const u of this.#pages<TesseraUser>(first)) yield fromLogtoUser(u);
  }

  async #page<T>(path: string, query: URLSearchParams): Promise<Page<T>> {
    const res = await this.#send<T[]>({ method: 'GET', path: `${path}?${query.toString()}` });
    const total = Number(res.headers.get('total-number'));
    return { totalCount: Number.isFinite(total) ? total : res.body.length, list: res.body };
  }

  /** Follows `Link: rel="next"` from `first` until the last page, yielding every item. */
  async *#pages<T>(first: string): AsyncGenerator<T, void, undefined> {
    let url: string | null = first;
    const origin = new URL(this.#base).origin;
    while (url) {
      const res: HttpResponse<T[]> = await this.#send<T[]>({ method: 'GET', path: url });
      for (const item of res.body) yield item;
      const next = nextLink(res.headers.get('link'));
      if (next && new URL(next, this.#base).origin !== origin) {
        // Never send the Management API token to another origin.
        throw new TesseraError('client.invalid_response', res.status, `The Link header points to another origin: ${next}`);
      }
      url = next ? new URL(next, this.#base).toString() : null;
    }
  }

  /** `/api/<path>` with each segment encoded. */
  #path(...segments: string[]): string {
    return `/api/${segments.map((x, i) => (i % 2 === 0 ? x : encodeURIComponent(x))).join('/')}`;
  }

  /** Page query parameters, with a substring search in Logto's form (`search=%…%`) when given. */
  #query(page: number, limit: number, search?: string): URLSearchParams {
    const q = new URLSearchParams({ page: String(page), page_size: String(limit) });
    if (search !== undefined && search !== '') q.append('search', `%${search}%`);
    return q;
  }

  /**
   * Users (`/api/users…`), in Tessera's native shape ({@link TesseraUser}).
   * @example
   * ```ts
   * const user = await mgmt.users.create({ username: 'grace', password: 'first-day-passphrase' });
   * ```
   */
  readonly users = {
    /**
     * One page of users, newest first (`GET /api/users?page&page_size`).
     * @param page 1-based (default 1)
     * @param limit page size (default 10, at most 100)
     * @throws TesseraError `request.invalid` (400), `auth.forbidden` (403), `request.rate_limited` (429)
     * @example
     * ```ts
     * const { totalCount, list } = await mgmt.users.list(1, 50);
     * ```
     */
    list: (page = 1, limit = 10): Promise<Page<TesseraUser>> =>
      this.#userPage('/api/users', new URLSearchParams({ page: String(page), page_size: String(limit) })),

    /**
     * Searches users (`GET /api/users?search…`): a substring (default) or exact match over all
     * searchable fields or the given ones, case-insensitive by default.
     * @param query the text to look for
     * @param options {@link SearchOptions}
     * @example
     * ```ts
     * const { list } = await mgmt.users.search('ada', { fields: ['primaryEmail'] });
     * ```
     */
    search: (query: string, options: SearchOptions = {}): Promise<Page<TesseraUser>> => {
      const mode = options.mode ?? 'like';
      const value = mode === 'like' ? `%${query}%` : query;
      const q = new URLSearchParams({ page: String(options.page ?? 1), page_size: String(options.limit ?? 10) });
      if (options.fields && options.fields.length > 0) {
        for (const f of options.fields) {
          q.append(`search.${f}`, value);
          q.append(`mode.${f}`, mode);
        }
      } else {
        q.append('search', value);
        q.append('mode', mode);
      }
      if (options.caseSensitive) q.append('isCaseSensitive', 'true');
      return this.#userPage('/api/users', q);
    },

    /**
     * Every user matching the optional search, page after page, following the `Link: rel="next"`
     * header until the last page (`GET /api/users`).
     * @param options `pageSize` (default 100), `search` (substring over all searchable fields)
     * @example
     * ```ts
     * for await (const user of mgmt.users.all({ pageSize: 50 })) console.log(user.username);
     * ```
     */
    all: (options: { pageSize?: number; search?: string } = {}): AsyncGenerator<TesseraUser, void, undefined> => {
      const q = new URLSearchParams({ page: '1', page_size: String(options.pageSize ?? 100) });
      if (options.search !== undefined) q.append('search', `%${options.search}%`);
      return this.#userPages(`/api/users?${q.toString()}`);
    },

    /**
     * Creates a user (`POST /api/users`).
     * @throws TesseraError `user.username_taken` / `user.email_taken` / `user.phone_taken` (status 422: the Management API speaks Logto),
     *   `user.invalid_*` (400), `request.invalid` (400)
     * @example
     * ```ts
     * const user = await mgmt.users.create({ username: 'grace', password: 'first-day-passphrase', passwordResetRequired: true });
     * ```
     */
    create: (input: CreateUserInput): Promise<TesseraUser> => this.#user('POST', '/api/users', input),

    /**
     * One user (`GET /api/users/:id`).
     * @throws TesseraError `user.not_found` (404)
     * @example
     * ```ts
     * const user = await mgmt.users.detail(userId);
     * ```
     */
    detail: (userId: string): Promise<TesseraUser> => this.#user('GET', `/api/users/${encodeURIComponent(userId)}`),

    /**
     * Changes a user (`PATCH /api/users/:id`).
     * @throws TesseraError `user.not_found` (404), `user.*_taken` (status 422), `request.invalid` (400)
     * @example
     * ```ts
     * await mgmt.users.update(userId, { name: 'Grace Hopper' });
     * ```
     */
    update: (userId: string, updates: UpdateUserInput): Promise<TesseraUser> =>
      this.#user('PATCH', `/api/users/${encodeURIComponent(userId)}`, updates),

    /**
     * Deletes a user and everything of theirs (`DELETE /api/users/:id`).
     * @throws TesseraError `user.not_found` (404)
     * @example
     * ```ts
     * await mgmt.users.delete(userId);
     * ```
     */
    delete: async (userId: string): Promise<void> => {
      await this.#body<void>('DELETE', `/api/users/${encodeURIComponent(userId)}`);
    },

    /**
     * Suspends a user: every session and token ends, sign-in is blocked (`PATCH /api/users/:id/is-suspended`).
     * @throws TesseraError `user.not_found` (404)
     * @example
     * ```ts
     * await mgmt.users.suspend(userId);
     * ```
     */
    suspend: (userId: string): Promise<TesseraUser> =>
      this.#user('PATCH', `/api/users/${encodeURIComponent(userId)}/is-suspended`, { isSuspended: true }),

    /**
     * Lifts a suspension (`PATCH /api/users/:id/is-suspended`).
     * @throws TesseraError `user.not_found` (404)
     * @example
     * ```ts
     * await mgmt.users.restore(userId);
     * ```
     */
    restore: (userId: string): Promise<TesseraUser> =>
      this.#user('PATCH', `/api/users/${encodeURIComponent(userId)}/is-suspended`, { isSuspended: false }),

    /**
     * Sets a user's password; every session of the user ends (`PATCH /api/users/:id/password`).
     * @throws TesseraError `user.not_found` (404), `request.invalid` (400)
     * @example
     * ```ts
     * await mgmt.users.setPassword(userId, 'a temporary passphrase');
     * ```
     */
    setPassword: (userId: string, password: string): Promise<TesseraUser> =>
      this.#user('PATCH', `/api/users/${encodeURIComponent(userId)}/password`, { password }),

    /**
     * A user's custom data (`GET /api/users/:id/custom-data`).
     * @throws TesseraError `user.not_found` (404)
     * @example
     * ```ts
     * const data = await mgmt.users.getCustomData(userId);
     * ```
     */
    getCustomData: (userId: string): Promise<Record<string, unknown>> =>
      this.#body<Record<string, unknown>>('GET', `/api/users/${encodeURIComponent(userId)}/custom-data`),

    /**
     * Shallow-merges top-level keys into a user's custom data (`PATCH /api/users/:id/custom-data`).
     * @returns the whole custom data after the merge
     * @throws TesseraError `user.not_found` (404), `request.invalid` (400, over 64 KiB)
     * @example
     * ```ts
     * await mgmt.users.setCustomData(userId, { plan: 'pro' });
     * ```
     */
    setCustomData: (userId: string, data: Record<string, unknown>): Promise<Record<string, unknown>> =>
      this.#body<Record<string, unknown>>('PATCH', `/api/users/${encodeURIComponent(userId)}/custom-data`, { customData: data }),

    /**
     * A user's roles, oldest grant first (`GET /api/users/:id/roles`).
     * @param search a substring of the role's name or description
     * @throws TesseraError `user.not_found` (404)
     * @example
     * ```ts
     * const { list } = await mgmt.users.listRoles(userId);
     * ```
     */
    listRoles: (userId: string, page = 1, limit = 10, search?: string): Promise<Page<Role>> =>
      this.#page<Role>(this.#path('users', userId, 'roles'), this.#query(page, limit, search)),

    /**
     * Gives User roles to a user; roles the user holds are skipped (`POST /api/users/:id/roles`). Takes
     * effect for the user's next token.
     * @returns the ids as sent and those that were new
     * @throws TesseraError `user.not_found`, `role.not_found` (404), `role.type_mismatch` (422, a MachineToMachine role)
     * @example
     * ```ts
     * const { addedRoleIds } = await mgmt.users.addRoles(userId, [editorRoleId]);
     * ```
     */
    addRoles: (userId: string, roleIds: string[]): Promise<AddedRoles> => this.#body<AddedRoles>('POST', this.#path('users', userId, 'roles'), { roleIds }),

    /**
     * Makes these exactly the user's roles (`PUT /api/users/:id/roles`).
     * @throws TesseraError `user.not_found`, `role.not_found` (404), `role.type_mismatch` (422)
     * @example
     * ```ts
     * await mgmt.users.setRoles(userId, []); // takes every role
     * ```
     */
    setRoles: async (userId: string, roleIds: string[]): Promise<void> => {
      await this.#body<unknown>('PUT', this.#path('users', userId, 'roles'), { roleIds });
    },

    /**
     * Takes a role from a user (`DELETE /api/users/:id/roles/:roleId`).
     * @throws TesseraError `role.not_held` (404)
     * @example
     * ```ts
     * await mgmt.users.removeRole(userId, editorRoleId);
     * ```
     */
    removeRole: async (userId: string, roleId: string): Promise<void> => {
      await this.#body<void>('DELETE', this.#path('users', userId, 'roles', roleId));
    },
  };

  /**
   * Applications (OAuth clients, `/api/applications…`).
   * @example
   * ```ts
   * const { id, secret } = await mgmt.applications.create({ name: 'Job', type: 'm2m' });
   * ```
   */
  readonly applications = {
    /**
     * One page of applications, newest first (`GET /api/applications`).
     * @example
     * ```ts
     * const { list } = await mgmt.applications.list();
     * ```
     */
    list: async (page = 1, limit = 10): Promise<Page<Application>> => {
      const got = await this.#page<LogtoApplicationWire>('/api/applications', new URLSearchParams({ page: String(page), page_size: String(limit) }));
      return { totalCount: got.totalCount, list: got.list.map(fromLogtoApplication) };
    },

    /**
     * Creates an application (`POST /api/applications`); the answer carries its secret once.
     * @throws TesseraError `application.invalid_metadata` (400), `request.invalid` (400)
     * @example
     * ```ts
     * const app = await mgmt.applications.create({ name: 'Reporting job', type: 'm2m' });
     * ```
     */
    create: async (input: CreateApplicationInput): Promise<ApplicationWithSecret> =>
      fromLogtoApplication(await this.#body<LogtoApplicationWire>('POST', '/api/applications', input)) as ApplicationWithSecret,

    /**
     * One application (`GET /api/applications/:id`).
     * @throws TesseraError `application.not_found` (404)
     * @example
     * ```ts
     * const app = await mgmt.applications.detail(appId);
     * ```
     */
    detail: async (id: string): Promise<Application> => fromLogtoApplication(await this.#body<LogtoApplicationWire>('GET', `/api/applications/${encodeURIComponent(id)}`)),

    /**
     * Changes an application (`PATCH /api/applications/:id`).
     * @throws TesseraError `application.not_found` (404), `application.invalid_metadata` (400)
     * @example
     * ```ts
     * await mgmt.applications.update(appId, { name: 'Renamed' });
     * ```
     */
    update: async (id: string, updates: UpdateApplicationInput): Promise<Application> =>
      fromLogtoApplication(await this.#body<LogtoApplicationWire>('PATCH', `/api/applications/${encodeURIComponent(id)}`, updates)),

    /**
     * Deletes an application (`DELETE /api/applications/:id`).
     * @throws TesseraError `application.not_found` (404)
     * @example
     * ```ts
     * await mgmt.applications.delete(appId);
     * ```
     */
    delete: async (id: string): Promise<void> => {
      await this.#body<void>('DELETE', `/api/applications/${encodeURIComponent(id)}`);
    },

    /**
     * Replaces the client secret; the old one stops working at once (`POST /api/applications/:id/secret/rotate`).
     * @throws TesseraError `application.not_found` (404)
     * @example
     * ```ts
     * const { secret } = await mgmt.applications.rotateSecret(appId);
     * ```
     */
    rotateSecret: async (id: string): Promise<ApplicationWithSecret> =>
      fromLogtoApplication(await this.#body<LogtoApplicationWire>('POST', `/api/applications/${encodeURIComponent(id)}/secret/rotate`)) as ApplicationWithSecret,

    /**
     * A machine-to-machine application's roles, oldest grant first (`GET /api/applications/:id/roles`).
     * @param search a substring of the role's name or description
     * @throws TesseraError `application.not_found` (404), `application.roles_need_machine_to_machine` (422)
     * @example
     * ```ts
     * const { list } = await mgmt.applications.listRoles(appId);
     * ```
     */
    listRoles: (id: string, page = 1, limit = 10, search?: string): Promise<Page<Role>> =>
      this.#page<Role>(this.#path('applications', id, 'roles'), this.#query(page, limit, search)),

    /**
     * Gives MachineToMachine roles to a machine-to-machine application; held ones are skipped
     * (`POST /api/applications/:id/roles`). The built-in role `management-api-access` grants the
     * Management API (`isManagement`).
     * @returns the ids as sent and those that were new
     * @throws TesseraError `application.not_found`, `role.not_found` (404), `role.type_mismatch` (422, a User role),
     *   `application.roles_need_machine_to_machine` (422)
     * @example
     * ```ts
     * await mgmt.applications.addRoles(appId, ['management-api-access']);
     * ```
     */
    addRoles: (id: string, roleIds: string[]): Promise<AddedRoles> => this.#body<AddedRoles>('POST', this.#path('applications', id, 'roles'), { roleIds }),

    /**
     * Makes these exactly the application's roles (`PUT /api/applications/:id/roles`).
     * @throws TesseraError as {@link ManagementClient.applications}.addRoles
     * @example
     * ```ts
     * await mgmt.applications.setRoles(appId, [reportingRoleId]);
     * ```
     */
    setRoles: async (id: string, roleIds: string[]): Promise<void> => {
      await this.#body<unknown>('PUT', this.#path('applications', id, 'roles'), { roleIds });
    },

    /**
     * Takes a role from an application (`DELETE /api/applications/:id/roles/:roleId`); taking
     * `management-api-access` ends its Management API access at once.
     * @throws TesseraError `role.not_held` (404)
     * @example
     * ```ts
     * await mgmt.applications.removeRole(appId, 'management-api-access');
     * ```
     */
    removeRole: async (id: string, roleId: string): Promise<void> => {
      await this.#body<void>('DELETE', this.#path('applications', id, 'roles', roleId));
    },
  };

  /**
   * API resources and their permissions (`/api/resources…`; Logto's shapes). The Management API is the
   * built-in resource `management-api` (scope `all`): listed, never changed.
   * @example
   * ```ts
   * const api = await mgmt.resources.create({ name: 'Orders', indicator: 'https://orders.example.com' });
   * await mgmt.resources.createScope(api.id, { name: 'read:orders' });
   * ```
   */
  readonly resources = {
    /**
     * One page of API resources, oldest first (`GET /api/resources`).
     * @param options `includeScopes`: each with its permissions (`scopes`)
     * @example
     * ```ts
     * const { list } = await mgmt.resources.list(1, 20, { includeScopes: true });
     * ```
     */
    list: (page = 1, limit = 10, options: { includeScopes?: boolean } = {}): Promise<Page<ApiResource & { scopes?: ApiScope[] }>> => {
      const q = this.#query(page, limit);
      if (options.includeScopes) q.append('includeScopes', 'true');
      return this.#page<ApiResource & { scopes?: ApiScope[] }>('/api/resources', q);
    },

    /**
     * Registers an API resource (`POST /api/resources`).
     * @param input `indicator`: an absolute URI without fragment (RFC 8707); `accessTokenTtl`: seconds (default 3600)
     * @throws TesseraError `resource.indicator_taken` (422), `resource.invalid_indicator` (400), `request.invalid` (400)
     * @example
     * ```ts
     * const api = await mgmt.resources.create({ name: 'Orders', indicator: 'https://orders.example.com', accessTokenTtl: 600 });
     * ```
     */
    create: (input: { name: string; indicator: string; accessTokenTtl?: number }): Promise<ApiResource & { scopes: ApiScope[] }> =>
      this.#body<ApiResource & { scopes: ApiScope[] }>('POST', '/api/resources', input),

    /**
     * One API resource (`GET /api/resources/:id`).
     * @throws TesseraError `resource.not_found` (404)
     * @example
     * ```ts
     * const api = await mgmt.resources.detail(resourceId);
     * ```
     */
    detail: (id: string): Promise<ApiResource> => this.#body<ApiResource>('GET', this.#path('resources', id)),

    /**
     * Renames an API resource or changes its token lifetime (`PATCH /api/resources/:id`; the indicator never changes).
     * @throws TesseraError `resource.not_found` (404), `resource.management_api_read_only` (400), `request.invalid` (400)
     * @example
     * ```ts
     * await mgmt.resources.update(resourceId, { accessTokenTtl: 900 });
     * ```
     */
    update: (id: string, updates: { name?: string; accessTokenTtl?: number }): Promise<ApiResource> => this.#body<ApiResource>('PATCH', this.#path('resources', id), updates),

    /**
     * Makes an API resource the default one (at most one is) or no longer the default (`PATCH /api/resources/:id/is-default`).
     * @throws TesseraError `resource.not_found` (404)
     * @example
     * ```ts
     * await mgmt.resources.setDefault(resourceId, true);
     * ```
     */
    setDefault: (id: string, isDefault: boolean): Promise<ApiResource> => this.#body<ApiResource>('PATCH', this.#path('resources', id, 'is-default'), { isDefault }),

    /**
     * Deletes an API resource with its permissions and every role's grant of them (`DELETE /api/resources/:id`).
     * @throws TesseraError `resource.not_found` (404), `resource.management_api_read_only` (400)
     * @example
     * ```ts
     * await mgmt.resources.delete(resourceId);
     * ```
     */
    delete: async (id: string): Promise<void> => {
      await this.#body<void>('DELETE', this.#path('resources', id));
    },

    /**
     * One page of a resource's permissions, oldest first (`GET /api/resources/:id/scopes`; an unknown resource has none).
     * @param search a substring of the permission's name
     * @example
     * ```ts
     * const { list } = await mgmt.resources.listScopes(resourceId, 1, 50, 'orders');
     * ```
     */
    listScopes: (resourceId: string, page = 1, limit = 10, search?: string): Promise<Page<ApiScope>> =>
      this.#page<ApiScope>(this.#path('resources', resourceId, 'scopes'), this.#query(page, limit, search)),

    /**
     * Adds a permission to a resource (`POST /api/resources/:id/scopes`).
     * @throws TesseraError `scope.invalid_name` (400, a space), `scope.name_taken` (422), `resource.not_found` (404),
     *   `resource.management_api_read_only` (400)
     * @example
     * ```ts
     * const scope = await mgmt.resources.createScope(resourceId, { name: 'read:orders', description: 'Read orders' });
     * ```
     */
    createScope: (resourceId: string, input: { name: string; description?: string | null }): Promise<ApiScope> =>
      this.#body<ApiScope>('POST', this.#path('resources', resourceId, 'scopes'), input),

    /**
     * Renames a permission or changes its description (`PATCH /api/resources/:id/scopes/:scopeId`).
     * @throws TesseraError `scope.not_found` (404, also when it is another resource's), `scope.invalid_name` (400),
     *   `scope.name_taken` (422), `resource.not_found` (404), `resource.management_api_read_only` (400)
     * @example
     * ```ts
     * await mgmt.resources.updateScope(resourceId, scopeId, { description: 'Read every order' });
     * ```
     */
    updateScope: (resourceId: string, scopeId: string, updates: { name?: string; description?: string | null }): Promise<ApiScope> =>
      this.#body<ApiScope>('PATCH', this.#path('resources', resourceId, 'scopes', scopeId), updates),

    /**
     * Deletes a permission and every role's grant of it (`DELETE /api/resources/:id/scopes/:scopeId`).
     * @throws TesseraError `scope.not_found` (404), `resource.not_found` (404), `resource.management_api_read_only` (400)
     * @example
     * ```ts
     * await mgmt.resources.deleteScope(resourceId, scopeId);
     * ```
     */
    deleteScope: async (resourceId: string, scopeId: string): Promise<void> => {
      await this.#body<void>('DELETE', this.#path('resources', resourceId, 'scopes', scopeId));
    },
  };

  /**
   * Roles, their permissions and who holds them (`/api/roles…`; Logto's shapes). A user's or an
   * application's roles are also reached from {@link ManagementClient.users} and {@link ManagementClient.applications}.
   * @example
   * ```ts
   * const role = await mgmt.roles.create({ name: 'Editor', description: 'Edits orders', scopeIds: [scopeId] });
   * await mgmt.roles.addUsers(role.id, [userId]);
   * ```
   */
  readonly roles = {
    /**
     * One page of roles, oldest first, with how many users and applications hold each (`GET /api/roles`).
     * @param options {@link RoleListOptions}
     * @example
     * ```ts
     * const { list } = await mgmt.roles.list({ type: 'MachineToMachine', search: 'ops' });
     * ```
     */
    list: (options: RoleListOptions = {}): Promise<Page<RoleWithHolders>> => {
      const q = this.#query(options.page ?? 1, options.limit ?? 10, options.search);
      if (options.type) q.append('type', options.type);
      if (options.excludeUserId) q.append('excludeUserId', options.excludeUserId);
      if (options.excludeApplicationId) q.append('excludeApplicationId', options.excludeApplicationId);
      return this.#page<RoleWithHolders>('/api/roles', q);
    },

    /**
     * Creates a role, with permissions if given, in one transaction (`POST /api/roles`).
     * @throws TesseraError `role.name_taken` (422), `scope.not_found` (404), `role.management_scope_for_user_role` (400),
     *   `request.invalid` (400)
     * @example
     * ```ts
     * const role = await mgmt.roles.create({ name: 'Reporting', description: 'Reads reports', type: 'MachineToMachine' });
     * ```
     */
    create: (input: CreateRoleInput): Promise<Role> => this.#body<Role>('POST', '/api/roles', input),

    /**
     * One role (`GET /api/roles/:id`).
     * @throws TesseraError `role.not_found` (404)
     * @example
     * ```ts
     * const role = await mgmt.roles.detail(roleId);
     * ```
     */
    detail: (id: string): Promise<Role> => this.#body<Role>('GET', this.#path('roles', id)),

    /**
     * Renames a role, changes its description or whether new users get it (`PATCH /api/roles/:id`; the type never changes).
     * @throws TesseraError `role.not_found` (404), `role.name_taken` (422), `request.invalid` (400)
     * @example
     * ```ts
     * await mgmt.roles.update(roleId, { isDefault: true });
     * ```
     */
    update: (id: string, updates: { name?: string; description?: string; isDefault?: boolean }): Promise<Role> => this.#body<Role>('PATCH', this.#path('roles', id), updates),

    /**
     * Deletes a role and every grant of it (`DELETE /api/roles/:id`).
     * @throws TesseraError `role.not_found` (404), `role.management_role_read_only` (400, the built-in role)
     * @example
     * ```ts
     * await mgmt.roles.delete(roleId);
     * ```
     */
    delete: async (id: string): Promise<void> => {
      await this.#body<void>('DELETE', this.#path('roles', id));
    },

    /**
     * Every permission of a role, with its resource (`GET /api/roles/:id/scopes`).
     * @param search a substring of the permission's name
     * @throws TesseraError `role.not_found` (404)
     * @example
     * ```ts
     * const scopes = await mgmt.roles.listScopes(roleId);
     * ```
     */
    listScopes: (id: string, search?: string): Promise<Array<ApiScope & { resource: ApiResource }>> => {
      const q = search !== undefined && search !== '' ? `?${new URLSearchParams({ search: `%${search}%` }).toString()}` : '';
      return this.#body<Array<ApiScope & { resource: ApiResource }>>('GET', `${this.#path('roles', id, 'scopes')}${q}`);
    },

    /**
     * Gives permissions to a role (`POST /api/roles/:id/scopes`).
     * @returns every permission the role now has
     * @throws TesseraError `role.not_found`, `scope.not_found` (404), `role.scope_already_granted` (422),
     *   `role.management_scope_for_user_role` (400)
     * @example
     * ```ts
     * await mgmt.roles.addScopes(roleId, [readScopeId, writeScopeId]);
     * ```
     */
    addScopes: (id: string, scopeIds: string[]): Promise<ApiScope[]> => this.#body<ApiScope[]>('POST', this.#path('roles', id, 'scopes'), { scopeIds }),

    /**
     * Takes a permission from a role (`DELETE /api/roles/:id/scopes/:scopeId`).
     * @throws TesseraError `scope.not_found` (404: the role does not have it), `role.not_found` (404), `role.management_role_read_only` (400)
     * @example
     * ```ts
     * await mgmt.roles.removeScope(roleId, scopeId);
     * ```
     */
    removeScope: async (id: string, scopeId: string): Promise<void> => {
      await this.#body<void>('DELETE', this.#path('roles', id, 'scopes', scopeId));
    },

    /**
     * One page of the users holding a role, latest grant first (`GET /api/roles/:id/users`), in Tessera's user shape.
     * @throws TesseraError `role.not_found` (404)
     * @example
     * ```ts
     * const { totalCount, list } = await mgmt.roles.listUsers(roleId, 1, 50);
     * ```
     */
    listUsers: (id: string, page = 1, limit = 10): Promise<Page<TesseraUser>> => this.#userPage(this.#path('roles', id, 'users'), this.#query(page, limit)),

    /**
     * Gives a User role to users (`POST /api/roles/:id/users`); refused, with nothing given, when one of them holds it.
     * @throws TesseraError `role.not_found`, `user.not_found` (404), `role.already_held` (422), `role.type_mismatch` (422)
     * @example
     * ```ts
     * await mgmt.roles.addUsers(roleId, [userId]);
     * ```
     */
    addUsers: async (id: string, userIds: string[]): Promise<void> => {
      await this.#body<void>('POST', this.#path('roles', id, 'users'), { userIds });
    },

    /**
     * Takes a role from a user (`DELETE /api/roles/:id/users/:userId`).
     * @throws TesseraError `role.not_held` (404)
     * @example
     * ```ts
     * await mgmt.roles.removeUser(roleId, userId);
     * ```
     */
    removeUser: async (id: string, userId: string): Promise<void> => {
      await this.#body<void>('DELETE', this.#path('roles', id, 'users', userId));
    },

    /**
     * One page of the applications holding a role, latest grant first (`GET /api/roles/:id/applications`).
     * @throws TesseraError `role.not_found` (404)
     * @example
     * ```ts
     * const { list } = await mgmt.roles.listApplications(roleId);
     * ```
     */
    listApplications: async (id: string, page = 1, limit = 10): Promise<Page<Application>> => {
      const got = await this.#page<LogtoApplicationWire>(this.#path('roles', id, 'applications'), this.#query(page, limit));
      return { totalCount: got.totalCount, list: got.list.map(fromLogtoApplication) };
    },

    /**
     * Gives a MachineToMachine role to m2m applications (`POST /api/roles/:id/applications`); refused, with
     * nothing given, when one of them holds it.
     * @throws TesseraError `role.not_found`, `application.not_found` (404), `role.already_held` (422), `role.type_mismatch` (422),
     *   `application.roles_need_machine_to_machine` (422)
     * @example
     * ```ts
     * await mgmt.roles.addApplications(roleId, [appId]);
     * ```
     */
    addApplications: async (id: string, applicationIds: string[]): Promise<void> => {
      await this.#body<void>('POST', this.#path('roles', id, 'applications'), { applicationIds });
    },

    /**
     * Takes a role from an application (`DELETE /api/roles/:id/applications/:applicationId`).
     * @throws TesseraError `role.not_held` (404)
     * @example
     * ```ts
     * await mgmt.roles.removeApplication(roleId, appId);
     * ```
     */
    removeApplication: async (id: string, applicationId: string): Promise<void> => {
      await this.#body<void>('DELETE', this.#path('roles', id, 'applications', applicationId));
    },
  };

  /**
   * Settings of the end-user Account API (`/api/account-center`).
   * @example
   * ```ts
   * await mgmt.accountCenter.update({ enabled: true });
   * ```
   */
  readonly accountCenter = {
    /**
     * The settings (`GET /api/account-center`).
     * @example
     * ```ts
     * const { enabled, fields } = await mgmt.accountCenter.get();
     * ```
     */
    get: (): Promise<AccountCenter> => this.#body<AccountCenter>('GET', '/api/account-center'),

    /**
     * Changes the settings (`PATCH /api/account-center`); `fields` replaces the whole map (a field left out is Off).
     * @throws TesseraError `request.invalid` (400, unknown field or mode)
     * @example
     * ```ts
     * await mgmt.accountCenter.update({ enabled: true, fields: { name: 'Edit', email: 'ReadOnly' } });
     * ```
     */
    update: (settings: { enabled?: boolean; fields?: Partial<Record<AccountCenterField, AccountCenterFieldMode>> }): Promise<AccountCenter> =>
      this.#body<AccountCenter>('PATCH', '/api/account-center', settings),
  };

  /**
   * Typed custom-field definitions (Authing UDF; `/api/custom-fields…`). Users set the values with
   * `AuthenticationClient.setUdfValue`.
   * @example
   * ```ts
   * await mgmt.customFields.create({ key: 'school', type: 'STRING', label: 'School' });
   * ```
   */
  readonly customFields = {
    /**
     * Every definition (`GET /api/custom-fields`).
     * @example
     * ```ts
     * const fields = await mgmt.customFields.list();
     * ```
     */
    list: (): Promise<CustomFieldDefinition[]> => this.#body<CustomFieldDefinition[]>('GET', '/api/custom-fields'),

    /**
     * Defines a field (`POST /api/custom-fields`).
     * @throws TesseraError `custom_field.key_taken` (409), `request.invalid` (400)
     * @example
     * ```ts
     * await mgmt.customFields.create({ key: 'age', type: 'NUMBER', label: 'Age' });
     * ```
     */
    create: (input: { key: string; type: CustomFieldType; label?: string; description?: string }): Promise<CustomFieldDefinition> =>
      this.#body<CustomFieldDefinition>('POST', '/api/custom-fields', input),

    /**
     * Changes a field's label or description (`PATCH /api/custom-fields/:key`).
     * @throws TesseraError `custom_field.not_found` (400)
     * @example
     * ```ts
     * await mgmt.customFields.update('age', { label: 'Age in years' });
     * ```
     */
    update: (key: string, updates: { label?: string; description?: string }): Promise<CustomFieldDefinition> =>
      this.#body<CustomFieldDefinition>('PATCH', `/api/custom-fields/${encodeURIComponent(key)}`, updates),

    /**
     * Removes a field definition (`DELETE /api/custom-fields/:key`).
     * @throws TesseraError `custom_field.not_found` (400)
     * @example
     * ```ts
     * await mgmt.customFields.delete('age');
     * ```
     */
    delete: async (key: string): Promise<void> => {
      await this.#body<void>('DELETE', `/api/custom-fields/${encodeURIComponent(key)}`);
    },
  };
}
