/**
 * A Logto-shaped client for tests (issue 19): written from Logto's OpenAPI documents and its docs
 * (seed 001's token request; `packages/core/src/routes/**\/*.openapi.json`), not from Tessera's code.
 * It speaks exactly what a Logto back end speaks — `https://default.logto.app/api` as the resource,
 * digits-only phones, Logto's application bodies, `{code, message}` errors — and knows nothing of
 * Tessera, so a test that drives Tessera through it shows a Logto client working unchanged.
 */

/** Logto's user as `GET /api/users/:id` answers it (the fields a client reads). */
export interface LogtoUser {
  id: string;
  username: string | null;
  primaryEmail: string | null;
  /** Digits only, e.g. `8613800138000`. */
  primaryPhone: string | null;
  name: string | null;
  avatar: string | null;
  customData: Record<string, unknown>;
  identities: Record<string, { userId: string; details?: Record<string, unknown> }>;
  profile: Record<string, unknown>;
  isSuspended: boolean;
  hasPassword?: boolean;
  createdAt: number;
  updatedAt: number;
  lastSignInAt: number | null;
}

/** Logto's application (the fields a client reads). */
export interface LogtoApplication {
  id: string;
  name: string;
  description: string | null;
  type: 'Native' | 'SPA' | 'Traditional' | 'MachineToMachine' | 'Protected' | 'SAML';
  secret?: string;
  oidcClientMetadata: { redirectUris: string[]; postLogoutRedirectUris: string[] };
  customClientMetadata: { corsAllowedOrigins?: string[] };
  isThirdParty: boolean;
}

/** An error answer of a Logto API: status and Logto's `code`. */
export class LogtoApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

/** A page of a list and its pagination headers. */
export interface LogtoPage<T> {
  items: T[];
  totalNumber: number;
  link: string | null;
}

async function call<T>(endpoint: string, token: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ body: T; status: number; headers: Headers }> {
  const res = await fetch(`${endpoint}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  const parsed = text ? JSON.parse(text) : undefined;
  if (!res.ok) throw new LogtoApiError(res.status, parsed?.code ?? 'unknown', parsed?.message ?? text, parsed?.data);
  return { body: parsed as T, status: res.status, headers: res.headers };
}

/** The Management API as a Logto back end calls it (seed 001). */
export class LogtoManagementClient {
  private token: string | undefined;

  constructor(
    private readonly endpoint: string,
    private readonly appId: string,
    private readonly appSecret: string,
    /** Logto OSS's Management API resource. */
    private readonly resource = 'https://default.logto.app/api',
  ) {}

  /** Seed 001's `fetchAccessToken`: client_credentials with HTTP Basic, the resource and scope `all`. */
  async fetchAccessToken(): Promise<{ access_token: string; expires_in: number; token_type: string; scope: string }> {
    const res = await fetch(`${this.endpoint}/oidc/token`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        Authorization: `Basic ${Buffer.from(`${this.appId}:${this.appSecret}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource: this.resource, scope: 'all' }).toString(),
    });
    if (!res.ok) throw new LogtoApiError(res.status, 'oidc', await res.text());
    return res.json() as Promise<{ access_token: string; expires_in: number; token_type: string; scope: string }>;
  }

  private async api<T>(method: string, path: string, body?: unknown) {
    this.token ??= (await this.fetchAccessToken()).access_token;
    return call<T>(this.endpoint, this.token, method, `/api${path}`, body);
  }

  async listUsers(query: Record<string, string> = {}): Promise<LogtoPage<LogtoUser>> {
    const { body, headers } = await this.api<LogtoUser[]>('GET', `/users?${new URLSearchParams(query).toString()}`);
    return { items: body, totalNumber: Number(headers.get('total-number')), link: headers.get('link') };
  }
  async createUser(body: Record<string, unknown>) { return (await this.api<LogtoUser>('POST', '/users', body)).body; }
  async getUser(id: string) { return (await this.api<LogtoUser>('GET', `/users/${id}`)).body; }
  async updateUser(id: string, body: Record<string, unknown>) { return (await this.api<LogtoUser>('PATCH', `/users/${id}`, body)).body; }
  async updateUserPasswordExpiration(id: string, isExpired: boolean) { return (await this.api<LogtoUser>('PATCH', `/users/${id}/password/expiration`, { isExpired })).body; }
  async putUserIdentity(id: string, target: string, body: { userId: string; details?: Record<string, unknown> }) {
    const res = await this.api<LogtoUser['identities']>('PUT', `/users/${id}/identities/${target}`, body);
    return { status: res.status, identities: res.body };
  }
  async getUserIdentity(id: string, target: string) { return (await this.api<{ identity: { userId: string; details?: Record<string, unknown> } }>('GET', `/users/${id}/identities/${target}`)).body; }
  async deleteUserIdentity(id: string, target: string) { return (await this.api<LogtoUser>('DELETE', `/users/${id}/identities/${target}`)).body; }
  async listUserGrants(id: string, appType?: 'firstParty' | 'thirdParty') {
    return (await this.api<{ grants: Array<{ id: string; clientId: string | null }> }>('GET', `/users/${id}/grants${appType ? `?appType=${appType}` : ''}`)).body;
  }
  async createPersonalAccessToken(id: string, body: { name: string; expiresAt?: number | null }) { return (await this.api<{ name: string; value?: string }>('POST', `/users/${id}/personal-access-tokens`, body)).body; }
  async renamePersonalAccessToken(id: string, currentName: string, name: string) { return (await this.api<{ name: string }>('PATCH', `/users/${id}/personal-access-tokens`, { currentName, name })).body; }
  async listApplications() { return (await this.api<LogtoApplication[]>('GET', '/applications')).body; }
  async createApplication(body: { name: string; type: LogtoApplication['type']; description?: string; oidcClientMetadata?: Partial<LogtoApplication['oidcClientMetadata']>; isThirdParty?: boolean }) {
    return (await this.api<LogtoApplication>('POST', '/applications', body)).body;
  }
  async updateAccountCenter(body: Record<string, unknown>) { return (await this.api<Record<string, unknown>>('PATCH', '/account-center', body)).body; }
}

/** The Account and Verification APIs as a Logto front end calls them (seed 000), with an access token from sign-in. */
export class LogtoAccountClient {
  constructor(
    private readonly endpoint: string,
    private readonly accessToken: string,
  ) {}

  private api<T>(method: string, path: string, body?: unknown, verificationId?: string) {
    return call<T>(this.endpoint, this.accessToken, method, `/api${path}`, body, verificationId ? { 'logto-verification-id': verificationId } : {});
  }
  async getProfile() { return (await this.api<Partial<LogtoUser>>('GET', '/my-account')).body; }
  async updateProfile(body: Record<string, unknown>, verificationId?: string) { return (await this.api<Partial<LogtoUser>>('PATCH', '/my-account', body, verificationId)).body; }
  async verifyPassword(password: string) { return (await this.api<{ verificationRecordId: string; expiresAt: string }>('POST', '/verifications/password', { password })).body; }
  async sendVerificationCode(identifier: { type: 'email' | 'phone'; value: string }) {
    return (await this.api<{ verificationRecordId: string; expiresAt: string }>('POST', '/verifications/verification-code', { identifier })).body;
  }
  async verifyVerificationCode(identifier: { type: 'email' | 'phone'; value: string }, verificationId: string, code: string) {
    return (await this.api<{ verificationRecordId: string }>('POST', '/verifications/verification-code/verify', { identifier, verificationId, code })).body;
  }
  async getMfaSettings() { return (await this.api<{ skipMfaOnSignIn: boolean }>('GET', '/my-account/mfa-settings')).body; }
  async getGrants(appType?: 'firstParty' | 'thirdParty', verificationId?: string) {
    return (await this.api<{ grants: Array<{ id: string }> }>('GET', `/my-account/grants${appType ? `?appType=${appType}` : ''}`, undefined, verificationId)).body;
  }
}
