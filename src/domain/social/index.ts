import { actsAsThirdParty } from '../applications/index.js';
import { randomBytes } from 'node:crypto';
import type { Config } from '../../config/index.js';
import { buildConnector, connectorConfigSchema, PRESETS } from '../../connectors/social/index.js';
import type { CallbackData, ExternalIdentity, SocialConnector } from '../../connectors/social/index.js';
import { AppError, isAppError } from '../../errors/index.js';
import type { ConnectorPreset, ConnectorRecord, ConnectorType, SocialSessionKind, SocialSessionRecord } from '../../storage/connector-store.js';
import { IdentityConflict } from '../../storage/identity-store.js';
import type { Store, UserRecord } from '../../storage/store.js';
import type { Clock } from '../../util/clock.js';
import { constantTimeEqual, newSecret, sha256Hex } from '../../util/crypto.js';
import type { SecondFactors } from '../mfa/index.js';
import type { AuthService, RequestMeta, SignedIn } from '../sign-in/auth.js';
import type { IdentityService } from './identities.js';
import { type ProviderAccessToken, ProviderTokenService, type SealedTokenSet } from './provider-tokens.js';
import { TokenVault } from './token-vault.js';
import type { UserService } from '../users/index.js';

/** Lifetime of a social authorization attempt (and of a social verification record): 10 minutes, ms. */
export const SOCIAL_SESSION_TTL_MS = 10 * 60 * 1000;

/** RFC 8176 `amr` of a sign-in through an external identity provider ("fed": federated). */
export const SOCIAL_AMR = ['fed'];

/** A connector as APIs show it: the config without `clientSecret` (write-only). Timestamps in ms. */
export interface PublicConnector {
  id: string;
  type: ConnectorType;
  preset: ConnectorPreset | null;
  target: string;
  name: string;
  enabled: boolean;
  /** Whether the provider's tokens are kept at each sign-in and link (Logto's `enableTokenStorage`). */
  tokenStorage: boolean;
  /** The stored config minus the client secret. */
  config: Record<string, unknown>;
  /** Whether a client secret is stored (its value is never returned). */
  hasClientSecret: boolean;
  createdAt: number;
  updatedAt: number;
}

/** Input of {@link SocialService.createConnector}. */
export interface CreateConnectorInput {
  type?: ConnectorType;
  preset?: ConnectorPreset;
  target?: string;
  name: string;
  enabled?: boolean;
  /** Keep the provider's tokens (needs `social.tokenVaultKey`); default false. */
  tokenStorage?: boolean;
  config: Record<string, unknown>;
}

/** Input of {@link SocialService.updateConnector}: `config` keys are merged (a missing `clientSecret` keeps the stored one). */
export interface UpdateConnectorInput {
  name?: string;
  target?: string;
  enabled?: boolean;
  /** Turning it off deletes the token sets kept through this connector. */
  tokenStorage?: boolean;
  config?: Record<string, unknown>;
}

/** A started authorization: where to send the user, and the handles to come back with. */
export interface StartedAuthorization {
  /** The social session id (for the Account API: the `verificationRecordId`). */
  id: string;
  state: string;
  authorizationUri: string;
  /** ms since the epoch. */
  expiresAt: number;
}

/** Input of {@link SocialService.start}. */
export interface StartInput {
  kind: SocialSessionKind;
  connectorId: string;
  redirectUri: string;
  /** The caller's state (Account API, seed 000); generated (128 bits) when absent. */
  state?: string;
  scope?: string;
  interactionUid?: string | null;
  userId?: string | null;
}

/** What is stored of a `state`: SHA-256 hex (domain-separated), so a database read does not reveal live states. */
const hashState = (state: string) => sha256Hex(`tessera-social-state:${state}`);

/** The public view of a connector (never the secret). */
export function toPublicConnector(c: ConnectorRecord): PublicConnector {
  const { clientSecret, ...config } = c.config;
  return {
    id: c.id,
    type: c.type,
    preset: c.preset,
    target: c.target,
    name: c.name,
    enabled: c.enabled,
    tokenStorage: c.tokenStorage === true,
    config,
    hasClientSecret: typeof clientSecret === 'string' && clientSecret !== '',
    createdAt: c.createdAt,
    updatedAt: c.updatedAt,
  };
}

/**
 * Social sign-in (issue 7): connectors configured by admins, authorization attempts (`state` + PKCE +
 * nonce, single use, 10 minutes) and what an external identity does:
 * - an identity someone already has signs that user in;
 * - a new identity signs a new user up — or, only when the provider says the email is verified, the
 *   local account with that email has it verified too, and `social.linkByVerifiedEmail` is on, is
 *   linked to that account (the local-verified rule stops "pre-hijacking" through an unverified
 *   sign-up with someone else's address);
 * - on the Account API a verified social record links the identity to the caller (seed 000).
 * Identities are `user_identities` rows with provider = connector target, so a LeanCloud `weixin`
 * authData and a WeChat connector sign-in are one identity — when the row is trustworthy. Rows this
 * service writes are `verified` (the provider proved the account); rows written from client-supplied
 * LeanCloud authData are not, and a connector never trusts those: sign-in into one, or binding one
 * another user has, is refused (409 `identity.already_linked`; it may be an attacker's pre-claim).
 * Such a user signs in another way and links the connector from the Account API, which upgrades their
 * own unverified row to verified (migration 0013, security review). Sessions end through
 * {@link AuthService.finishSignIn} (MFA gate) with `amr` {@link SOCIAL_AMR}.
 */
export class SocialService {
  /** Runtime connectors by id, rebuilt when the record changes (keeps discovery and JWKS caches warm). */
  private readonly runtime = new Map<string, { updatedAt: number; connector: SocialConnector }>();
  /** Provider token storage (issue 19: Logto's Secret Vault). */
  readonly tokens: ProviderTokenService;

  constructor(
    private readonly store: Store,
    private readonly users: UserService,
    private readonly identities: IdentityService,
    private readonly auth: AuthService,
    /** The one "has a second factor" rule ({@link SecondFactors.hasSecondFactor}). */
    private readonly factors: Pick<SecondFactors, 'hasSecondFactor'>,
    private readonly config: Config,
    private readonly clock: Clock,
  ) {
    this.tokens = new ProviderTokenService(store, new TokenVault(config.social.tokenVaultKey, config.social.tokenVaultOldKeys), clock, (id) => this.enabled(id));
  }

  /**
   * Creates a connector. A preset fixes the type and supplies the vendor's endpoints and default
   * target; a generic connector needs `type` and `target`.
   * @throws AppError `connector.invalid_config` (400: unknown keys, bad URLs, missing keys for the type;
   *   token storage without `social.tokenVaultKey`)
   */
  async createConnector(input: CreateConnectorInput): Promise<PublicConnector> {
    this.assertTokenStorage(input.tokenStorage);
    const preset = input.preset ?? null;
    const type = preset ? PRESETS[preset].type : input.type;
    if (!type) throw new AppError('connector.invalid_config', { message: 'type (oidc or oauth2) or preset is required.' });
    if (preset && input.type && input.type !== type) throw new AppError('connector.invalid_config', { message: `Preset ${preset} is of type ${type}.` });
    const target = input.target ?? (preset ? PRESETS[preset].target : undefined);
    if (!target) throw new AppError('connector.invalid_config', { message: 'target is required for a generic connector.' });
    const config = this.parseConfig(input.config);
    const now = this.clock.now();
    const record: ConnectorRecord = {
      id: newSecret('conn_', 12), type, preset, target, name: input.name, config, enabled: input.enabled ?? true, tokenStorage: input.tokenStorage === true, createdAt: now, updatedAt: now,
    };
    buildConnector(record, this.config.social.timeoutSeconds);
    await this.store.connectors.insert(record);
    return toPublicConnector(record);
  }

  /** Every connector (public view), oldest first. */
  async listConnectors(): Promise<PublicConnector[]> {
    return (await this.store.connectors.list()).map(toPublicConnector);
  }

  /** The enabled connectors, for sign-in pages: id and display name. */
  async enabledConnectors(): Promise<Array<{ id: string; name: string; target: string }>> {
    return (await this.store.connectors.list()).filter((c) => c.enabled).map((c) => ({ id: c.id, name: c.name, target: c.target }));
  }

  /**
   * One connector (public view).
   * @throws AppError `connector.social_not_found` (404)
   */
  async getConnector(id: string): Promise<PublicConnector> {
    return toPublicConnector(await this.requireRecord(id));
  }

  /**
   * Changes name, target, enabled, and merges `config` keys (`clientSecret` omitted = kept). The
   * result must still build. Turning `tokenStorage` off deletes the token sets kept through the connector.
   * @throws AppError `connector.social_not_found` (404), `connector.invalid_config` (400)
   */
  async updateConnector(id: string, input: UpdateConnectorInput): Promise<PublicConnector> {
    const current = await this.requireRecord(id);
    this.assertTokenStorage(input.tokenStorage);
    const config = input.config === undefined ? current.config : this.parseConfig({ ...current.config, ...input.config });
    const next = { ...current, config, target: input.target ?? current.target };
    buildConnector(next, this.config.social.timeoutSeconds);
    const updated = await this.store.connectors.update(id, {
      ...(input.name !== undefined ? { name: input.name } : {}),
      ...(input.target !== undefined ? { target: input.target } : {}),
      ...(input.enabled !== undefined ? { enabled: input.enabled } : {}),
      ...(input.tokenStorage !== undefined ? { tokenStorage: input.tokenStorage } : {}),
      ...(input.config !== undefined ? { config } : {}),
      updatedAt: Math.max(this.clock.now(), current.updatedAt + 1),
    });
    if (!updated) throw new AppError('connector.social_not_found');
    if (input.tokenStorage === false) await this.tokens.forgetConnector(id);
    return toPublicConnector(updated);
  }

  /**
   * Deletes a connector (pending authorizations go with it; linked identities stay, under their target).
   * @throws AppError `connector.social_not_found` (404)
   */
  async deleteConnector(id: string): Promise<void> {
    if (!(await this.store.connectors.delete(id))) throw new AppError('connector.social_not_found');
    this.runtime.delete(id);
  }

  /**
   * True when `redirectUri` may receive the provider's callback for a first-party flow: it is in
   * `social.redirectUris`, or registered (exact match) by the application `clientId`, which must be
   * first-party.
   */
  async isAllowedRedirect(redirectUri: string, clientId?: string | null): Promise<boolean> {
    if (this.config.social.redirectUris.includes(redirectUri)) return true;
    if (!clientId) return false;
    const app = await this.store.applications.findById(clientId);
    // A third-party application's redirect URIs never receive first-party social callbacks.
    return !actsAsThirdParty(app) && app!.redirectUris.includes(redirectUri);
  }

  /**
   * Starts an authorization at the connector's provider: stores the attempt (hash of `state`, PKCE
   * verifier, nonce) for {@link SOCIAL_SESSION_TTL_MS} and returns the authorization URI.
   * @throws AppError `session.invalid_connector_id` (422: unknown or disabled connector),
   *   `session.insufficient_info` (400: empty state/redirectUri), connector errors (502)
   */
  async start(input: StartInput): Promise<StartedAuthorization> {
    const connector = await this.enabled(input.connectorId);
    const state = input.state ?? newSecret('', 16);
    if (!state || !input.redirectUri || state.length > 512) throw new AppError('session.insufficient_info');
    const now = this.clock.now();
    const record: SocialSessionRecord = {
      id: newSecret('vrs_', 16),
      kind: input.kind,
      connectorId: connector.id,
      stateHash: hashState(state),
      redirectUri: input.redirectUri,
      codeVerifier: randomBytes(32).toString('base64url'),
      nonce: randomBytes(16).toString('base64url'),
      interactionUid: input.interactionUid ?? null,
      userId: input.userId ?? null,
      result: null,
      createdAt: now,
      expiresAt: now + SOCIAL_SESSION_TTL_MS,
      verifiedAt: null,
      consumedAt: null,
    };
    const authorizationUri = await connector.authorizationUri(
      { state, nonce: record.nonce, codeVerifier: record.codeVerifier, redirectUri: record.redirectUri },
      input.scope,
    );
    await this.store.socialSessions.insert(record);
    return { id: record.id, state, authorizationUri, expiresAt: record.expiresAt };
  }

  /**
   * First-party `POST /api/auth/social/start`: checks the redirect URI, spends one unit of the per-IP
   * sign-in budget (each start stores a row), then {@link start}s a `sign_in` attempt.
   * @throws AppError `connector.redirect_uri_not_allowed` (400), `request.rate_limited` (429), and the
   *   errors of {@link start}
   */
  async startSignIn(input: { connectorId: string; redirectUri: string; clientId?: string; scope?: string }, meta: RequestMeta): Promise<StartedAuthorization> {
    if (!(await this.isAllowedRedirect(input.redirectUri, input.clientId))) throw new AppError('connector.redirect_uri_not_allowed');
    await this.auth.throttle('signIn', meta);
    return this.start({ kind: 'sign_in', connectorId: input.connectorId, redirectUri: input.redirectUri, ...(input.scope ? { scope: input.scope } : {}) });
  }

  /**
   * The OIDC sign-in page's start: spends one unit of the per-IP sign-in budget, then {@link start}s an
   * `interaction` attempt bound to the interaction `uid`, returning to `redirectUri` (the fixed callback).
   * @throws AppError `request.rate_limited` (429), and the errors of {@link start}
   */
  async startInteraction(connectorId: string, redirectUri: string, uid: string, meta: RequestMeta): Promise<StartedAuthorization> {
    await this.auth.throttle('signIn', meta);
    return this.start({ kind: 'interaction', connectorId, redirectUri, interactionUid: uid });
  }

  /**
   * The live, unused attempt of `kind` that `state` names (first-party callback, OIDC page).
   * @throws AppError `connector.session_not_found` (400: unknown, expired or used state)
   */
  async findByState(kind: SocialSessionKind, state: string): Promise<SocialSessionRecord> {
    const found = (await this.store.socialSessions.findByStateHash(hashState(state), this.clock.now())).find(
      (r) => r.kind === kind && r.consumedAt === null,
    );
    if (!found) throw new AppError('connector.session_not_found');
    return found;
  }

  /**
   * Completes an attempt found by {@link findByState}: checks it belongs to `connectorId`, uses it up
   * (single use, before the code is spent) and exchanges the code for the identity.
   * @throws AppError `connector.state_mismatch` (400: another connector, or `callback.state` differs),
   *   `connector.session_not_found` (400: already used/expired), the connector's errors
   */
  async complete(session: SocialSessionRecord, connectorId: string, state: string, callback: CallbackData): Promise<ExternalIdentity> {
    if (session.connectorId !== connectorId) throw new AppError('connector.state_mismatch');
    if (callback.state !== undefined && (typeof callback.state !== 'string' || !constantTimeEqual(hashState(callback.state), session.stateHash))) {
      throw new AppError('connector.state_mismatch');
    }
    const connector = await this.enabled(connectorId);
    if (!(await this.store.socialSessions.consume(session.id, this.clock.now()))) throw new AppError('connector.session_not_found');
    return connector.verify({ ...callback }, { state, nonce: session.nonce, codeVerifier: session.codeVerifier, redirectUri: session.redirectUri });
  }

  /**
   * First-party callback: state → attempt → identity → {@link signInWith}.
   * @throws the errors of {@link findByState}, {@link complete} and {@link signInWith}
   */
  async callback(connectorId: string, state: string, callback: CallbackData, meta: RequestMeta): Promise<SignedIn> {
    await this.auth.throttle('signIn', meta);
    const session = await this.findByState('sign_in', state);
    const identity = await this.complete(session, connectorId, state, callback);
    return this.signInWith(identity, meta);
  }

  /**
   * Signs in the owner of an external identity, links it to the account with the same verified email
   * (see the class comment), or signs a new user up; then {@link AuthService.finishSignIn} with
   * `amr` ["fed"]. The identity's provider data is refreshed on every sign-in.
   * @throws AppError `auth.user_suspended` (403), `request.rate_limited` (429, sign-ups per IP),
   *   `identity.already_linked` (409: the identity's row was written from unverified LeanCloud
   *   authData — not trusted; the owner links the connector from the Account API instead),
   *   `user.identity_already_bound` (400: the email's account already has another identity of this
   *   provider), `user.email_taken` (409: linking on, but the local email is unverified or
   *   the account has an MFA factor — it links from the Account API),
   *   `auth.mfa_required` / `auth.mfa_enrollment_required` (403, from the MFA gate)
   */
  async signInWith(identity: ExternalIdentity, meta: RequestMeta): Promise<SignedIn> {
    const user = await this.resolveUser(identity, meta);
    await this.keepTokens(user.id, identity);
    return this.auth.finishSignIn(user, meta, SOCIAL_AMR);
  }

  /**
   * The user an external identity signs in as (existing owner, linked by verified email, or created),
   * without issuing anything. See {@link signInWith} for the errors.
   */
  async resolveUser(identity: ExternalIdentity, meta: RequestMeta, attempt = 0): Promise<UserRecord> {
    const data = identityData(identity);
    const existingIdentity = await this.identities.find(identity.target, identity.subject);
    if (existingIdentity) {
      // Written from client-supplied authData (nobody checked it): possibly an attacker's pre-claim of
      // this external account, so it signs nobody in here and nothing is written.
      if (!existingIdentity.verified) throw new AppError('identity.already_linked');
      const owner = await this.users.require(existingIdentity.userId);
      if (owner.isSuspended) throw new AppError('auth.user_suspended');
      // Merged, so data kept by other surfaces (LeanCloud authData's access_token…) survives.
      await this.identities.link(owner.id, identity.target, identity.subject, { ...existingIdentity.data, ...data }, { verified: true });
      return owner;
    }
    const verifiedEmail = identity.email && identity.emailVerified === true ? identity.email : undefined;
    if (verifiedEmail && this.config.social.linkByVerifiedEmail) {
      const existing = await this.users.findByIdentifier('email', verifiedEmail).catch(() => undefined);
      if (existing) {
        if (existing.isSuspended) throw new AppError('auth.user_suspended');
        if (!existing.emailVerified) throw new AppError('user.email_taken');
        // Linking here would write the link before the MFA step: an account with a second factor links
        // its social identities from the Account API (signed in, with MFA) instead.
        if (await this.factors.hasSecondFactor(existing.id)) throw new AppError('user.email_taken');
        if ((await this.identities.list(existing.id)).some((i) => i.provider === identity.target)) throw new AppError('user.identity_already_bound');
        await this.linkOrConflict(existing.id, identity, data);
        return existing;
      }
    }
    await this.auth.throttle('signUp', meta);
    const emailFree = verifiedEmail ? !(await this.users.findByIdentifier('email', verifiedEmail).catch(() => undefined)) : false;
    let user: UserRecord;
    try {
      user = await this.users.create(
        {
          name: identity.name?.slice(0, 256) ?? null,
          avatar: identity.avatar?.slice(0, 2048) ?? null,
          ...(verifiedEmail && emailFree ? { email: verifiedEmail, emailVerified: true } : {}),
        },
        { requireIdentifier: false },
      );
    } catch (error) {
      // The email became taken (race) or is not valid for us: the account is created without it.
      if (!isAppError(error, 'user.email_taken') && !isAppError(error, 'user.invalid_email')) throw error;
      user = await this.users.create({ name: identity.name?.slice(0, 256) ?? null, avatar: identity.avatar?.slice(0, 2048) ?? null }, { requireIdentifier: false });
    }
    try {
      await this.identities.link(user.id, identity.target, identity.subject, data, { verified: true });
    } catch (error) {
      // Another request linked this external account first: drop our user and sign in as that owner.
      await this.users.delete(user.id);
      if (isAppError(error, 'identity.already_linked') && attempt === 0) return this.resolveUser(identity, meta, 1);
      throw error;
    }
    return user;
  }

  // ---- Account API (seed 000 "绑定新的社交连接", logto.md §2.2 routes 4–5, §1.5 routes 10 and 12) ----

  /**
   * `POST /api/verifications/social`: starts an authorization for the caller with the caller's
   * `state`; the attempt's id is the `verificationRecordId`.
   * @throws AppError `session.invalid_connector_id` (422), `session.insufficient_info` (400),
   *   `connector.redirect_uri_not_allowed` (400: not in `social.redirectUris` nor registered by the
   *   caller's application)
   */
  async startVerification(user: UserRecord, input: { connectorId: string; redirectUri: string; state: string; scope?: string }, clientId: string | null): Promise<StartedAuthorization> {
    if (!input.state || !input.redirectUri) throw new AppError('session.insufficient_info');
    if (!(await this.isAllowedRedirect(input.redirectUri, clientId))) throw new AppError('connector.redirect_uri_not_allowed');
    return this.start({ kind: 'verification', ...input, userId: user.id });
  }

  /**
   * `POST /api/verifications/social/verify`: checks the callback's `state` against the record's,
   * exchanges the code, and stores the identity in the record (verified). Each record verifies once.
   * @throws AppError `session.connector_validation_session_not_found` (400: unknown, expired, already
   *   verified, or another user's record), `connector.state_mismatch` (400), the connector's errors
   */
  async verifyRecord(user: UserRecord, recordId: string, connectorData: CallbackData): Promise<{ verificationRecordId: string }> {
    const record = await this.store.socialSessions.findById(recordId);
    const now = this.clock.now();
    if (!record || record.kind !== 'verification' || record.userId !== user.id || record.verifiedAt !== null || record.consumedAt !== null || record.expiresAt <= now) {
      throw new AppError('session.connector_validation_session_not_found');
    }
    const state = connectorData.state;
    if (typeof state !== 'string' || !constantTimeEqual(hashState(state), record.stateHash)) throw new AppError('connector.state_mismatch');
    const connector = await this.enabled(record.connectorId);
    const identity = await connector.verify({ ...connectorData }, { state, nonce: record.nonce, codeVerifier: record.codeVerifier, redirectUri: record.redirectUri });
    // The record keeps the identity without its tokens; they ride along sealed for this user, when kept.
    const { tokens: _tokens, ...proven } = identity;
    const tokenSet = await this.sealTokens(user.id, identity);
    if (!(await this.store.socialSessions.markVerified(record.id, { ...proven, ...(tokenSet ? { tokenSet } : {}) }, this.clock.now()))) {
      throw new AppError('session.connector_validation_session_not_found');
    }
    return { verificationRecordId: record.id };
  }

  /**
   * `POST /api/my-account/identities`: links the identity proven by a verified social record of the
   * caller, consuming the record. When the caller already has this very identity from unverified
   * LeanCloud authData, the row is upgraded to verified (provider data merged). With `replace`
   * (`PUT /api/my-account/identities`, Logto's upsert), an identity the caller has of that target is
   * replaced by the proven one instead of refused.
   * @throws AppError `verification_record.not_found` (400: unknown, unverified, expired, used, or
   *   another user's), `identity.already_linked` (409: another user has it, verified or not;
   *   nothing written), `user.identity_already_bound` (400: the caller already has a verified identity
   *   of that target, or another account of that target; never with `replace`)
   */
  async bindIdentity(user: UserRecord, recordId: string, options: { replace?: boolean } = {}): Promise<void> {
    const { record, identity, tokenSet, now } = await this.verifiedRecord(user, recordId);
    const existing = await this.identities.find(identity.target, identity.subject);
    if (existing && existing.userId !== user.id) throw new AppError('identity.already_linked');
    // The caller's own unverified row of this very account (LeanCloud authData): the proof upgrades it.
    const upgrade = existing !== undefined && !existing.verified;
    if (!upgrade && !options.replace && (await this.identities.list(user.id)).some((i) => i.provider === identity.target)) throw new AppError('user.identity_already_bound');
    if (!(await this.store.socialSessions.consume(record.id, now))) throw new AppError('verification_record.not_found');
    await this.linkOrConflict(user.id, identity, upgrade ? { ...existing.data, ...identityData(identity) } : identityData(identity));
    if (tokenSet) await this.tokens.keep(user.id, identity, tokenSet);
    // Replaced without tokens (storage off): no set of the identity it replaced stays behind (as Logto).
    else if (options.replace) await this.store.socialTokens.delete(user.id, identity.target);
  }

  /**
   * `PUT /api/my-account/identities/:target/access-token` {verificationRecordId} (Logto's
   * routes/account/third-party-tokens.ts): keeps the provider tokens of a fresh social verification of an
   * identity the caller already has, without linking again, using the record up; answers the access token.
   * @throws AppError `verification_record.not_found` (400: unknown, unverified, expired, used or another
   *   user's), `identity.target_mismatch` (422), `identity.not_linked_to_user` (422: the proven account is
   *   not the caller's identity), `identity.no_token_response` (422: nothing was kept in the record)
   */
  async renewTokens(user: UserRecord, target: string, recordId: string): Promise<ProviderAccessToken> {
    const { record, identity, tokenSet, now } = await this.verifiedRecord(user, recordId);
    if (identity.target !== target) throw new AppError('identity.target_mismatch');
    const owner = await this.identities.find(identity.target, identity.subject);
    if (!owner || owner.userId !== user.id) throw new AppError('identity.not_linked_to_user');
    if (!tokenSet) throw new AppError('identity.no_token_response');
    if (!(await this.store.socialSessions.consume(record.id, now))) throw new AppError('verification_record.not_found');
    await this.tokens.keep(user.id, identity, tokenSet);
    return this.tokens.accessToken(user.id, target);
  }

  /**
   * `DELETE /api/my-account/identities/:target`: unlinks, unless it is the user's last way to sign in
   * (no username, email, phone and no other identity).
   * @throws AppError `user.identity_not_exist` (404), `user.last_sign_in_method_required` (400)
   */
  async unbindIdentity(user: UserRecord, target: string): Promise<void> {
    const mine = await this.identities.list(user.id);
    if (!mine.some((i) => i.provider === target)) throw new AppError('user.identity_not_exist');
    if (!user.username && !user.primaryEmail && !user.primaryPhone && mine.length <= 1) throw new AppError('user.last_sign_in_method_required');
    if (!(await this.identities.unlink(user.id, target))) throw new AppError('user.identity_not_exist');
  }

  /**
   * An administrator links the identity behind an authorization code obtained outside Tessera (Logto's
   * `POST /api/users/:userId/identities {connectorId, connectorData}`, logto.md §4.2): the connector
   * exchanges `connectorData.code` at the provider, as the user's own sign-in would, and the proven account
   * becomes the user's identity of the connector's target (verified; one the user had of that target is
   * replaced, as in Logto). The authorization request was the caller's own, so its `redirectUri` (required)
   * and, when it used them, its PKCE `codeVerifier` and OIDC `nonce` come in `connectorData`; nothing else
   * about it can be checked here, which is why this is for administrators only: they can set any identity
   * with {@link IdentityService.setByAdministrator} already.
   * @param connectorData `{code, redirectUri, codeVerifier?, nonce?}` plus whatever else the provider sent
   *   back (ignored)
   * @throws AppError `user.not_found` (404), `session.invalid_connector_id` (422: unknown or disabled),
   *   `session.insufficient_info` (400: no code or redirect URI), `identity.already_linked` (409: another
   *   user has that account; nothing written), the connector's errors (`connector.authorization_failed`
   *   400 for a refused or used code, `connector.id_token_invalid` 400, `connector.idp_unreachable` 502)
   */
  async linkByAdministrator(userId: string, connectorId: string, connectorData: Record<string, unknown>): Promise<{ target: string; created: boolean }> {
    await this.users.require(userId);
    const connector = await this.enabled(connectorId);
    const text = (key: string) => (typeof connectorData[key] === 'string' && connectorData[key] !== '' ? (connectorData[key] as string) : null);
    const code = text('code');
    const redirectUri = text('redirectUri');
    if (!code || !redirectUri) throw new AppError('session.insufficient_info', { message: 'connectorData needs code and redirectUri.' });
    const identity = await connector.verify(
      { code, ...(text('state') ? { state: text('state')! } : {}) },
      { state: text('state') ?? '', nonce: text('nonce'), codeVerifier: text('codeVerifier'), redirectUri },
    );
    const { created } = await this.identities.setByAdministrator(userId, identity.target, identity.subject, identityData(identity));
    await this.keepTokens(userId, identity);
    return { target: identity.target, created };
  }

  /** Deletes expired attempts and records. @returns how many */
  purgeExpired(): Promise<number> {
    return this.store.socialSessions.deleteExpired(this.clock.now());
  }

  /**
   * The caller's verified, unused and unexpired social verification record (written by
   * {@link verifyRecord}): the proven identity and the sealed tokens it carries, if any.
   * @throws AppError `verification_record.not_found` (unknown, unverified, expired, used, or another user's)
   */
  private async verifiedRecord(user: UserRecord, recordId: string): Promise<{ record: SocialSessionRecord; identity: ExternalIdentity; tokenSet: SealedTokenSet | undefined; now: number }> {
    const record = await this.store.socialSessions.findById(recordId);
    const now = this.clock.now();
    if (!record || record.kind !== 'verification' || record.userId !== user.id || record.verifiedAt === null || record.consumedAt !== null || record.expiresAt <= now || !record.result) {
      throw new AppError('verification_record.not_found');
    }
    return { record, identity: record.result as unknown as ExternalIdentity, tokenSet: sealedTokenSetOf(record.result['tokenSet']), now };
  }

  /** The identity's provider tokens sealed for the user, when its connector has token storage on. */
  private async sealTokens(userId: string, identity: ExternalIdentity): Promise<SealedTokenSet | undefined> {
    return this.tokens.seal(userId, identity, (await this.store.connectors.findById(identity.connectorId))?.tokenStorage);
  }

  /** Keeps the identity's provider tokens for the user when its connector has token storage on. */
  private async keepTokens(userId: string, identity: ExternalIdentity): Promise<void> {
    const sealed = await this.sealTokens(userId, identity);
    if (sealed) await this.tokens.keep(userId, identity, sealed);
  }

  /** @throws AppError `connector.invalid_config` when token storage is asked for and the vault has no key */
  private assertTokenStorage(tokenStorage: boolean | undefined): void {
    if (tokenStorage === true && !this.tokens.vault.enabled) {
      throw new AppError('connector.invalid_config', { message: 'Token storage needs a token-vault key: set TESSERA_SOCIAL_TOKEN_VAULT_KEY (openssl rand -base64 32).' });
    }
  }

  /** Links a connector-proven identity (verified). @throws AppError `identity.already_linked` (409) */
  private async linkOrConflict(userId: string, identity: ExternalIdentity, data: Record<string, unknown>): Promise<void> {
    try {
      await this.identities.link(userId, identity.target, identity.subject, data, { verified: true });
    } catch (error) {
      if (isAppError(error, 'identity.already_linked') || error instanceof IdentityConflict) throw new AppError('identity.already_linked');
      throw error;
    }
  }

  private parseConfig(config: Record<string, unknown>): Record<string, unknown> {
    const parsed = connectorConfigSchema.safeParse(config);
    if (!parsed.success) {
      throw new AppError('connector.invalid_config', { data: { issues: parsed.error.issues.map((i) => ({ path: `config.${i.path.join('.')}`, message: i.message })) } });
    }
    return parsed.data;
  }

  private async requireRecord(id: string): Promise<ConnectorRecord> {
    const record = await this.store.connectors.findById(id);
    if (!record) throw new AppError('connector.social_not_found');
    return record;
  }

  /** The runtime connector of an enabled connector. @throws AppError `session.invalid_connector_id` (422) */
  private async enabled(id: string): Promise<SocialConnector> {
    const record = await this.store.connectors.findById(id);
    if (!record || !record.enabled) throw new AppError('session.invalid_connector_id');
    const cached = this.runtime.get(id);
    if (cached && cached.updatedAt === record.updatedAt) return cached.connector;
    let connector: SocialConnector;
    try {
      connector = buildConnector(record, this.config.social.timeoutSeconds);
    } catch (error) {
      if (isAppError(error, 'connector.invalid_config')) throw new AppError('session.invalid_connector_id', { cause: error });
      throw error;
    }
    this.runtime.set(id, { updatedAt: record.updatedAt, connector });
    return connector;
  }
}

/** What an identity row keeps: the provider's profile data, plus email facts (never tokens). */
/** The sealed token set a verification record carries (written by {@link SocialService.verifyRecord}), if well formed. */
function sealedTokenSetOf(value: unknown): SealedTokenSet | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v['sealed'] !== 'string' || typeof v['hasRefreshToken'] !== 'boolean') return undefined;
  const textOrNull = (x: unknown) => (typeof x === 'string' ? x : null);
  return {
    sealed: v['sealed'], scope: textOrNull(v['scope']), tokenType: textOrNull(v['tokenType']),
    expiresAt: typeof v['expiresAt'] === 'number' ? v['expiresAt'] : null, hasRefreshToken: v['hasRefreshToken'],
  };
}

function identityData(identity: ExternalIdentity): Record<string, unknown> {
  return {
    ...identity.raw,
    connectorId: identity.connectorId,
    ...(identity.email ? { email: identity.email, emailVerified: identity.emailVerified === true } : {}),
  };
}
