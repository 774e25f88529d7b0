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
