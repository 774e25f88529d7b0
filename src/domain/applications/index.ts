import { AppError } from '../../errors/index.js';
import type { ApplicationPatch, ApplicationRecord, ApplicationType } from '../../storage/oidc-store.js';
import type { Store } from '../../storage/store.js';
import type { Clock } from '../../util/clock.js';
import { constantTimeEqual, newId, newSecret, sha256Hex } from '../../util/crypto.js';

export type { ApplicationRecord, ApplicationType } from '../../storage/oidc-store.js';

/** Every application type, in Logto's order. */
export const APPLICATION_TYPES: readonly ApplicationType[] = ['traditional', 'spa', 'native', 'm2m'];

/** Confidential types authenticate with a client secret; SPA and native apps are public clients (RFC 6749 §2.1). */
export function isConfidential(type: ApplicationType): boolean {
  return type === 'traditional' || type === 'm2m';
}

/** Most URIs (each list) an application may register. */
const MAX_URIS = 32;
const MAX_URI_LENGTH = 2048;

/**
 * SHA-256 hex of a client secret: the only form in which secrets are stored. Generated secrets carry
 * 256 random bits, so a fast hash resists offline guessing as well as a slow one would (RFC 6819
 * §5.1.4.1.3), and verification stays cheap enough for thousands of token requests per second.
 */
export function hashClientSecret(secret: string): string {
  return sha256Hex(secret);
}

/**
 * Whether `presented` is the secret whose hash is `secretHash`, compared in constant time
 * (ASVS 11.2.4). A null hash (public client) never matches.
 */
export function clientSecretMatches(secretHash: string | null, presented: string): boolean {
  if (!secretHash) return false;
  return constantTimeEqual(hashClientSecret(presented), secretHash);
}

/** Input of {@link ApplicationService.create}. */
export interface CreateApplicationInput {
  /** Client id to use instead of a generated one (the configured admin bootstrap app). */
  id?: string;
  name: string;
  type: ApplicationType;
  /** Secret to use instead of a generated one (bootstrap only; ≥ 16 characters). */
  secret?: string;
  redirectUris?: string[];
  postLogoutRedirectUris?: string[];
  corsOrigins?: string[];
  /** Hold the management role (machine-to-machine apps only). */
  isManagement?: boolean;
  /** May use the token-exchange grant to act as a user (confidential types only). */
  allowTokenExchange?: boolean;
  /** A third-party application: consent screen at /oidc, read-only Account API (not m2m; no token exchange). */
  isThirdParty?: boolean;
  /** Free text for administrators (at most 2 048 characters); null or absent: none. */
  description?: string | null;
}

/** Changes accepted by {@link ApplicationService.update}. */
export type UpdateApplicationInput = Partial<
  Pick<ApplicationRecord, 'name' | 'description' | 'redirectUris' | 'postLogoutRedirectUris' | 'corsOrigins' | 'isManagement' | 'allowTokenExchange' | 'isThirdParty'>
>;

/** A created application and its client secret; the secret is shown here once and never again. */
export interface IssuedApplication {
  application: ApplicationRecord;
  /** Plaintext secret (confidential types), null for public clients. */
  secret: string | null;
}

function invalid(message: string): AppError {
  return new AppError('application.invalid_metadata', { message });
}

/** An application's description: null or up to 2 048 characters. @throws AppError `application.invalid_metadata` */
function checkDescription(description: string | null): string | null {
  if (description !== null && description.length > 2048) throw invalid('description: at most 2048 characters.');
  return description;
}

/**
 * Validates a list of redirect URIs for an application type: absolute, without fragment (RFC 6749
 * §3.1.2); web types need http(s); native apps may also use a private-use scheme (RFC 8252 §7.1).
 * @throws AppError `application.invalid_metadata`
 */
function checkRedirectUris(field: string, uris: string[], type: ApplicationType): string[] {
  if (uris.length > MAX_URIS) throw invalid(`${field}: at most ${MAX_URIS} entries.`);
  if (type === 'm2m' && uris.length) throw invalid(`${field}: machine-to-machine applications have no redirect URIs.`);
  for (const uri of uris) {
    const url = URL.parse(uri);
    if (!url || uri.length > MAX_URI_LENGTH || url.hash || uri.includes('#')) {
      throw invalid(`${field}: "${uri.slice(0, 100)}" is not an absolute URI without fragment.`);
    }
    const web = url.protocol === 'https:' || url.protocol === 'http:';
    if (type !== 'native' && !web) throw invalid(`${field}: "${uri.slice(0, 100)}" must use http or https.`);
    if (web && !url.hostname) throw invalid(`${field}: "${uri.slice(0, 100)}" has no host.`);
  }
  return [...new Set(uris)];
}

/**
 * Validates CORS origins: each exactly `scheme://host[:port]` (RFC 6454 serialisation).
 * @throws AppError `application.invalid_metadata`
 */
function checkOrigins(origins: string[]): string[] {
  if (origins.length > MAX_URIS) throw invalid(`corsOrigins: at most ${MAX_URIS} entries.`);
  for (const origin of origins) {
    const url = URL.parse(origin);
    if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.origin !== origin) {
      throw invalid(`corsOrigins: "${origin.slice(0, 100)}" is not an origin such as https://app.example.com.`);
    }
  }
  return [...new Set(origins)];
}

function checkName(name: string): string {
  const trimmed = name.trim();
  if (!trimmed || [...trimmed].length > 256) throw invalid('name: 1 to 256 characters.');
  return trimmed;
}

/** The management role belongs to machine-to-machine applications marked `isManagement`. */
function isManagementApplication(app: ApplicationRecord): boolean {
  return app.type === 'm2m' && app.isManagement;
}

function checkManagement(isManagement: boolean, type: ApplicationType): boolean {
  if (isManagement && type !== 'm2m') throw invalid('isManagement: only machine-to-machine applications can hold the management role.');
  return isManagement;
}

/**
 * Token exchange lets a client act as a user, so only clients that authenticate with a secret may use it
 * (Logto: third-party apps cannot; Tessera: public clients cannot).
 */
function checkTokenExchange(allow: boolean, type: ApplicationType): boolean {
  if (allow && !isConfidential(type)) throw invalid('allowTokenExchange: only confidential applications (traditional, m2m) can use token exchange.');
  return allow;
}

/**
 * Whether tokens of this client are to be treated as a third-party application's (logto.md §1.3):
 * true for applications marked `isThirdParty` and — failing closed — for clients Tessera cannot
 * resolve. The one rule behind the consent page, the Account API's first-party guard, grant
 * revocation by target and the social redirect allow-list.
 */
export function actsAsThirdParty(app: ApplicationRecord | undefined): boolean {
  return app?.isThirdParty !== false;
}

/**
 * Third-party applications act for users who consent to them; a machine-to-machine application has no
 * users, and acting as a user through token exchange would bypass consent (Logto forbids both).
 */
function checkThirdParty(isThirdParty: boolean, type: ApplicationType, allowTokenExchange: boolean): boolean {
  if (isThirdParty && type === 'm2m') throw invalid('isThirdParty: machine-to-machine applications cannot be third-party.');
  if (isThirdParty && allowTokenExchange) throw invalid('isThirdParty: third-party applications cannot use token exchange.');
  return isThirdParty;
}

/**
 * Applications: the OAuth 2.0 clients of Tessera's OIDC provider (issue 4). Every read goes to the
 * store, so changes take effect on the next request without a restart. Client secrets are random
 * 256-bit values, returned once (on creation and rotation) and stored only as SHA-256 hashes.
 */
export class ApplicationService {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  /**
   * Registers an application. Confidential types (traditional, m2m) get a client secret.
   * @returns the application and its secret (shown once)
   * @throws AppError `application.invalid_metadata` (bad name, URIs, origins, management role on a
   *   non-M2M app, token exchange on a public or third-party client, a third-party M2M app, or a
   *   bootstrap secret shorter than 16 characters), `application.id_taken`
   */
  async create(input: CreateApplicationInput): Promise<IssuedApplication> {
    if (!(APPLICATION_TYPES as readonly string[]).includes(input.type)) throw invalid(`type: one of ${APPLICATION_TYPES.join(', ')}.`);
    if (input.id !== undefined && !/^[A-Za-z0-9._~-]{1,128}$/.test(input.id)) {
      throw invalid('id: 1 to 128 characters among letters, digits and . _ ~ -');
    }
    if (input.secret !== undefined && input.secret.length < 16) throw invalid('secret: at least 16 characters.');
    const now = this.clock.now();
    const secret = isConfidential(input.type) ? (input.secret ?? newSecret()) : null;
    const application: ApplicationRecord = {
      id: input.id ?? newId(now),
      name: checkName(input.name),
      type: input.type,
      secretHash: secret ? hashClientSecret(secret) : null,
      redirectUris: checkRedirectUris('redirectUris', input.redirectUris ?? [], input.type),
      postLogoutRedirectUris: checkRedirectUris('postLogoutRedirectUris', input.postLogoutRedirectUris ?? [], input.type),
      corsOrigins: checkOrigins(input.corsOrigins ?? []),
      isManagement: checkManagement(input.isManagement ?? false, input.type),
      allowTokenExchange: checkTokenExchange(input.allowTokenExchange ?? false, input.type),
      isThirdParty: checkThirdParty(input.isThirdParty ?? false, input.type, input.allowTokenExchange ?? false),
      description: checkDescription(input.description ?? null),
      createdAt: now,
      updatedAt: now,
    };
    if (!(await this.store.applications.insert(application))) throw new AppError('application.id_taken');
    return { application, secret };
  }

  /** The application with this client id, or undefined. */
  find(id: string): Promise<ApplicationRecord | undefined> {
    return this.store.applications.findById(id);
  }

  /**
   * The application with this client id.
   * @throws AppError `application.not_found`
   */
  async require(id: string): Promise<ApplicationRecord> {
    const app = await this.store.applications.findById(id);
    if (!app) throw new AppError('application.not_found');
    return app;
  }

  /** One page of applications, newest first, and the total count. */
  async list(page: { offset: number; limit: number }): Promise<{ items: ApplicationRecord[]; total: number }> {
    const [items, total] = await Promise.all([this.store.applications.list(page), this.store.applications.count()]);
    return { items, total };
  }

  /**
   * The applications users sign in to (every type but machine-to-machine), newest first: what a user is
   * allowed to use while Tessera has no per-user access rules (Authing's listApplications). At most the
   * 1 000 newest applications are looked at.
   */
  async listForUsers(page: { offset: number; limit: number }): Promise<{ items: ApplicationRecord[]; total: number }> {
    const all = (await this.store.applications.list({ offset: 0, limit: 1000 })).filter((a) => a.type !== 'm2m');
    return { items: all.slice(page.offset, page.offset + page.limit), total: all.length };
  }

  /**
   * Changes an application; the OIDC provider sees the change on its next request.
   * @throws AppError `application.not_found`, `application.invalid_metadata`
   */
  async update(id: string, input: UpdateApplicationInput): Promise<ApplicationRecord> {
    const current = await this.require(id);
    const patch: ApplicationPatch = { updatedAt: this.clock.now() };
    if (input.name !== undefined) patch.name = checkName(input.name);
    if (input.description !== undefined) patch.description = checkDescription(input.description);
    if (input.redirectUris !== undefined) patch.redirectUris = checkRedirectUris('redirectUris', input.redirectUris, current.type);
    if (input.postLogoutRedirectUris !== undefined) {
      patch.postLogoutRedirectUris = checkRedirectUris('postLogoutRedirectUris', input.postLogoutRedirectUris, current.type);
    }
    if (input.corsOrigins !== undefined) patch.corsOrigins = checkOrigins(input.corsOrigins);
    if (input.isManagement !== undefined) patch.isManagement = checkManagement(input.isManagement, current.type);
    if (input.allowTokenExchange !== undefined) patch.allowTokenExchange = checkTokenExchange(input.allowTokenExchange, current.type);
    if (input.isThirdParty !== undefined || input.allowTokenExchange !== undefined) {
      checkThirdParty(input.isThirdParty ?? current.isThirdParty, current.type, input.allowTokenExchange ?? current.allowTokenExchange);
      if (input.isThirdParty !== undefined) patch.isThirdParty = input.isThirdParty;
    }
    // isManagement: true gives the built-in role management-api-access, false takes it (storage/oidc-store.ts).
    const updated = await this.store.applications.update(id, patch);
    if (!updated) throw new AppError('application.not_found');
    return updated;
  }

  /**
   * Whether `id` is (still) a machine-to-machine application holding the management role: asked by
   * the Management API on every request, so deleting the app or withdrawing the role ends its tokens.
   */
  async holdsManagementRole(id: string): Promise<boolean> {
    const app = await this.find(id);
    return app !== undefined && isManagementApplication(app);
  }

  /**
   * Replaces the client secret: the old one stops working at once; the new one is returned once.
   * @throws AppError `application.not_found`, `application.invalid_metadata` (public clients have no secret)
   */
  async rotateSecret(id: string): Promise<IssuedApplication> {
    const current = await this.require(id);
    if (!isConfidential(current.type)) throw invalid('Public clients (SPA, native) have no client secret.');
    const secret = newSecret();
    const application = await this.store.applications.update(id, { secretHash: hashClientSecret(secret), updatedAt: this.clock.now() });
    if (!application) throw new AppError('application.not_found');
    return { application, secret };
  }

  /**
   * Deletes an application and every grant, code, session entry and stored token issued to it.
   * (JWT access tokens are not stored; the Management API refuses them once their application is gone,
   * see `managementAuthorizer`.)
   * @returns true when an application was deleted
   */
  async delete(id: string): Promise<boolean> {
    const deleted = await this.store.applications.delete(id);
    if (deleted) await this.store.oidcPayloads.deleteByClient(id);
    return deleted;
  }

  /**
   * Makes sure the configured admin app exists (`adminClientId` / `adminClientSecret`, for containers
   * and scripts): a machine-to-machine app with the management role and exactly this secret. An
   * existing app with this id is converted to that state (secret replaced, role granted).
   * @returns the application
   * @throws AppError `application.invalid_metadata` (bad id or a secret shorter than 16 characters)
   */
  async ensureBootstrap(id: string, secret: string): Promise<ApplicationRecord> {
    const existing = await this.store.applications.findById(id);
    if (!existing) {
      try {
        return (await this.create({ id, secret, name: 'Admin (bootstrap)', type: 'm2m', isManagement: true })).application;
      } catch (error) {
        // Another node created it first: fall through to the convergence below.
        if (!(error instanceof AppError && error.code === 'application.id_taken')) throw error;
      }
    }
    const app = await this.require(id);
    if (isManagementApplication(app) && clientSecretMatches(app.secretHash, secret)) return app;
    if (app.type !== 'm2m') throw invalid(`id: the application "${id}" exists and is not machine-to-machine.`);
    const updated = await this.store.applications.update(id, { secretHash: hashClientSecret(secret), isManagement: true, updatedAt: this.clock.now() });
    if (!updated) throw new AppError('application.not_found');
    return updated;
  }
}
