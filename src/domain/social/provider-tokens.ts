import type { ExternalIdentity, ProviderTokenSet, SocialConnector } from '../../connectors/social/index.js';
import { AppError, isAppError } from '../../errors/index.js';
import type { SocialTokenSetRecord } from '../../storage/connector-store.js';
import type { Store } from '../../storage/store.js';
import type { Clock } from '../../util/clock.js';
import { SealedValueError, TokenVault } from './token-vault.js';

/** A token set sealed for one user and target, with what may be shown of it (a social verification record carries it until it is bound). */
export interface SealedTokenSet {
  sealed: string;
  scope: string | null;
  tokenType: string | null;
  /** ms since the epoch, or null when the provider gave no `expires_in`. */
  expiresAt: number | null;
  hasRefreshToken: boolean;
}

/** What `GET /api/my-account/identities/:target/access-token` answers (RFC 6749 §5.1 names). */
export interface ProviderAccessToken {
  access_token: string;
  token_type?: string;
  scope?: string;
  /** Seconds left, when the provider gave an expiry. */
  expires_in?: number;
}

/**
 * What may be shown of a kept token set (never a token): Management `…/identities/:target?includeTokenSecret=true`.
 * `identityId` is the provider account the tokens belong to (the identity's subject); times in ms since the epoch.
 */
export type ProviderTokenMetadata = Omit<SocialTokenSetRecord, 'userId' | 'subject' | 'sealed'> & { identityId: string };

/** The sealed tokens are bound to the user and target they were kept for (the vault's authenticated context). */
const context = (userId: string, target: string) => `${userId}/${target}`;

/**
 * Provider token storage (Logto's "Secret Vault", issue 19): for a connector with `tokenStorage` on, the
 * tokens its identity provider issued at the user's latest sign-in or link are kept, envelope-encrypted
 * ({@link TokenVault}, key `social.tokenVaultKey`), one set per user and target, and handed back to the
 * user (`GET /api/my-account/identities/:target/access-token`) so the app can call the provider's APIs.
 * An expired access token is refreshed with the kept refresh token (RFC 6749 §6) where the connector can;
 * otherwise the set is deleted and the caller told to sign in with the provider again. A set lives only as
 * long as the identity it was issued for: unlinking or replacing the identity, deleting the user or the
 * connector, or turning storage off for the connector deletes it.
 */
export class ProviderTokenService {
  readonly vault: TokenVault;

  constructor(
    private readonly store: Store,
    vault: TokenVault,
    private readonly clock: Clock,
    /** The runtime connector of an enabled connector (for refreshes). @throws AppError `session.invalid_connector_id` */
    private readonly connectorFor: (connectorId: string) => Promise<SocialConnector>,
  ) {
    this.vault = vault;
  }

  /**
   * Seals `identity.tokens` for `userId` when its connector keeps tokens and the vault has a key.
   * @returns the sealed set, or undefined when nothing is to be kept
   */
  seal(userId: string, identity: ExternalIdentity, tokenStorage: boolean | undefined): SealedTokenSet | undefined {
    if (tokenStorage !== true || !this.vault.enabled || !identity.tokens) return undefined;
    return this.sealSet(userId, identity.target, identity.tokens);
  }

  /**
   * Keeps a sealed set as the user's set for the identity's target (replacing the one there was).
   * Sealed for another user or target, it would not open: callers pass what {@link seal} made for this user.
   */
  async keep(userId: string, identity: Pick<ExternalIdentity, 'target' | 'subject' | 'connectorId'>, sealed: SealedTokenSet): Promise<void> {
    const now = this.clock.now();
    await this.store.socialTokens.upsert({ userId, target: identity.target, connectorId: identity.connectorId, subject: identity.subject, ...sealed, createdAt: now, updatedAt: now });
  }

  /**
   * The user's provider access token for `target`, refreshed first when it has expired and a refresh token
   * is kept. Source: Logto `routes/account/third-party-tokens.ts` (answer shape and codes).
   * @throws AppError `identity.token_not_found` (404: none kept, the identity is gone or another account,
   *   or the vault cannot open it), `identity.token_expired` (401: expired and not refreshable; the set is
   *   deleted), `connector.idp_unreachable` (502: the refresh could not reach the provider; the set is kept)
   */
  async accessToken(userId: string, target: string): Promise<ProviderAccessToken> {
    const row = await this.current(userId, target);
    let tokens = this.open(row);
    let record = row;
    const now = this.clock.now();
    if (record.expiresAt !== null && now >= record.expiresAt) {
      if (!tokens.refreshToken) {
        await this.store.socialTokens.delete(userId, target);
        throw new AppError('identity.token_expired');
      }
      ({ record, tokens } = await this.refresh(row, tokens.refreshToken));
    }
    return {
      access_token: tokens.accessToken,
      ...(record.tokenType ? { token_type: record.tokenType } : {}),
      ...(record.scope ? { scope: record.scope } : {}),
      ...(record.expiresAt !== null ? { expires_in: Math.max(0, Math.floor((record.expiresAt - this.clock.now()) / 1000)) } : {}),
    };
  }

  /**
   * What may be shown of the user's kept set for `target` (no token), or undefined when none is kept for
   * the identity the user has now.
   */
  async metadata(userId: string, target: string): Promise<ProviderTokenMetadata | undefined> {
    const row = await this.current(userId, target).catch((error: unknown) => {
      if (isAppError(error, 'identity.token_not_found')) return undefined;
      throw error;
    });
    if (!row) return undefined;
    const { userId: _user, subject, sealed: _sealed, ...shown } = row;
    return { ...shown, identityId: subject };
  }

  /** Deletes every set kept through a connector (its token storage was turned off). @returns how many */
  forgetConnector(connectorId: string): Promise<number> {
    return this.store.socialTokens.deleteByConnector(connectorId);
  }

  /**
   * The kept row, if it still belongs to the identity the user has of that target (a set of a replaced or
   * unlinked identity is deleted here).
   * @throws AppError `identity.token_not_found`
   */
  private async current(userId: string, target: string): Promise<SocialTokenSetRecord> {
    const row = await this.store.socialTokens.find(userId, target);
    if (!row) throw new AppError('identity.token_not_found');
    const identity = (await this.store.identities.listByUser(userId)).find((i) => i.provider === target);
    if (!identity || identity.subject !== row.subject) {
      await this.store.socialTokens.delete(userId, target);
      throw new AppError('identity.token_not_found');
    }
    return row;
  }

  /** Opens a row. A value the vault cannot open (key removed) is not deleted: the operator may restore the key. */
  private open(row: SocialTokenSetRecord): { accessToken: string; refreshToken?: string } {
    try {
      return this.vault.open(row.sealed, context(row.userId, row.target));
    } catch (error) {
      if (error instanceof SealedValueError) throw new AppError('identity.token_not_found', { cause: error });
      throw error;
    }
  }

  /**
   * Refreshes an expired set at its connector and stores the new one (compare and set: when a concurrent
   * refresh stored first, that set is returned).
   */
  private async refresh(row: SocialTokenSetRecord, refreshToken: string): Promise<{ record: SocialTokenSetRecord; tokens: { accessToken: string; refreshToken?: string } }> {
    let next: ProviderTokenSet;
    try {
      const connector = await this.connectorFor(row.connectorId);
      if (!connector.refresh) throw new AppError('connector.authorization_failed', { message: 'This connector cannot refresh tokens.' });
      next = await connector.refresh(refreshToken);
    } catch (error) {
      if (isAppError(error, 'connector.idp_unreachable')) throw error;
      // Refused (revoked, expired refresh token), the connector is gone or disabled, or the answer is unusable.
      await this.store.socialTokens.delete(row.userId, row.target);
      throw new AppError('identity.token_expired', { cause: error });
    }
    const sealed = this.sealSet(row.userId, row.target, next);
    const updatedAt = this.clock.now();
    if (await this.store.socialTokens.replaceSealed(row.userId, row.target, row.sealed, { ...sealed, updatedAt })) {
      return { record: { ...row, ...sealed, updatedAt }, tokens: { accessToken: next.accessToken, ...(next.refreshToken ? { refreshToken: next.refreshToken } : {}) } };
    }
    const winner = await this.current(row.userId, row.target);
    return { record: winner, tokens: this.open(winner) };
  }

  private sealSet(userId: string, target: string, tokens: ProviderTokenSet): SealedTokenSet {
    return {
      sealed: this.vault.seal(tokens, context(userId, target)),
      scope: tokens.scope ?? null,
      tokenType: tokens.tokenType ?? null,
      expiresAt: tokens.expiresIn !== undefined ? this.clock.now() + tokens.expiresIn * 1000 : null,
      hasRefreshToken: tokens.refreshToken !== undefined,
    };
  }
}
