import { actsAsThirdParty } from '../applications/index.js';
import { AppError, isAppError } from '../../errors/index.js';
import type { Store, UserProfile, UserRecord } from '../../storage/store.js';
import type { Clock } from '../../util/clock.js';
import { newId } from '../../util/crypto.js';
import type { AuthService, RequestMeta } from '../sign-in/auth.js';
import type { IdentityService } from '../social/identities.js';
import type { CredentialService } from '../credentials/index.js';
import type { UserService } from '../users/index.js';
import { type CodeChannel, type MessageLocale, type VerificationService, verificationKey } from '../verification/index.js';

/**
 * The rules of the end-user Account API and Verification API (issue 8, seed 000, spec logto.md §1–§2):
 * identity proofs (the "sudo window"), binding new identifiers, refusing to remove the last way to sign
 * in, password changes. Verification records ({@link VerificationService}) are the one proof mechanism:
 * - an **identity proof** is a verified, unexpired, unconsumed record of the calling user: a password
 *   record (`password`/`Identity`) or a code sent to the user's *current* email or phone (`Generic`
 *   purpose, owned by the user). It is reusable until it expires (10 minutes), as in Logto;
 * - a **new-identifier proof** is a verified `BindNewIdentifier` code record for the new address; it is
 *   consumed atomically when bound, so of concurrent binds with one record exactly one succeeds.
 */

/** A verification record as the Verification API returns it. */
/** A sign-in session at the OIDC provider, as the Account API lists it (times in ms). */
export { hasSecurityVerificationMethod } from '../sessions/reauthentication.js';

export interface OidcSessionView {
  /** The session's `uid` (not its id, which is the session cookie's value). */
  uid: string;
  createdAt: number | null;
  lastUsedAt: number | null;
  expiresAt: number | null;
  /** Applications the user authorized in this session. */
  clientIds: string[];
  /** How the user authenticated (RFC 8176). */
  amr: string[];
}

/** A verification record just issued: its handle (the `logto-verification-id` a client sends back) and expiry. */
export interface IssuedRecord {
  recordId: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
}

export type { ActingSession } from '../sessions/index.js';
import type { ActingSession } from '../sessions/index.js';

/** Where an audited change came from. */
export interface AuditMeta {
  ip?: string | null;
  clientId?: string | null;
}

/** The end user's account rules; see the module comment. */
export class AccountService {
  constructor(
    private readonly store: Store,
    private readonly users: UserService,
    private readonly identities: IdentityService,
    private readonly verification: VerificationService,
    private readonly credentials: CredentialService,
    private readonly clock: Clock,
    /** Password checks under the sign-in protections (per-IP budget, account lockout). */
    private readonly auth: Pick<AuthService, 'checkUserPassword'>,
  ) {}

  /**
   * Checks the user's password and records an identity proof (Verification API `POST /password`), under
   * the protections of password sign-in ({@link AuthService.checkUserPassword}): the per-IP sign-in
   * budget and the account's lockout (wrong passwords here count towards it; a locked account is
   * refused even with the right password; a right one clears the count).
   * @throws AppError `auth.invalid_credentials` (wrong password or none set), `auth.user_suspended`,
   *   `auth.too_many_failures` (429 + Retry-After: locked), `request.rate_limited` (429, per IP)
   */
  async provePassword(user: UserRecord, password: string, meta: RequestMeta): Promise<IssuedRecord> {
    const ok = await this.auth.checkUserPassword(user, password, meta);
    if (user.isSuspended) throw new AppError('auth.user_suspended');
    if (!ok) throw new AppError('auth.invalid_credentials');
    const issued = await this.verification.recordProof({ type: 'password', purpose: 'Identity', userId: user.id, ip: meta.ip ?? null });
    return { recordId: issued.verificationId, expiresAt: issued.expiresAt };
  }

  /**
   * Sends a code to an email or phone (Verification API `POST /verification-code`). A code to the
   * user's current address is an identity proof (owned by the user); to any other address it proves
   * the new identifier (template BindNewIdentifier, no owner).
   * @throws the errors of {@link VerificationService.sendCode}
   */
  async sendCode(user: UserRecord, channel: CodeChannel, value: string, ip: string | null, locale: MessageLocale = 'en'): Promise<IssuedRecord> {
    const key = this.canonicalOr(channel, value);
    const current = channel === 'email' ? user.primaryEmail?.toLowerCase() : user.primaryPhone;
    const isNew = !current || key !== current;
    const record = await this.verification.sendCode({
      channel,
      identifier: value,
      purpose: isNew ? 'BindNewIdentifier' : 'Generic',
      locale,
      ip,
      userId: isNew ? null : user.id,
    });
    return { recordId: record.handle, expiresAt: record.expiresAt };
  }

  /**
   * Checks a code of a record from {@link sendCode} and marks the record verified. A code verifies once:
   * the record then stays a proof for its lifetime, and checking its code again is refused (as Logto,
   * whose code is spent by the first check).
   * @throws AppError `verification_record.not_found` (unknown record, or not one this API issued for
   *   that identifier), `verification.already_used` (the code was checked already), and the code errors
   *   of {@link VerificationService.verifyCode}
   */
  async verifyCode(channel: CodeChannel, value: string, verificationId: string, code: string): Promise<void> {
    const record = await this.store.verifications.findById(verificationKey(verificationId));
    if (!record || (record.purpose !== 'BindNewIdentifier' && record.purpose !== 'Generic')) throw new AppError('verification_record.not_found');
    if (record.verifiedAt !== null) throw new AppError('verification.already_used');
    try {
      await this.verification.verifyCode({ channel, identifier: value, purpose: record.purpose, code, verificationId });
    } catch (error) {
      if (isAppError(error, 'verification.not_found')) throw new AppError('verification_record.not_found');
      throw error;
    }
  }

  /**
   * Changes username, name, avatar and (replacing it) custom data. `username: null` removes the
   * username unless it is the last way to sign in.
   * @throws AppError `user.invalid_username`, `user.username_taken` (409; Logto's 422 `user.username_already_in_use` on the Account API),
   *   `user.last_sign_in_method_required` (400)
   */
  async updateBasics(
    user: UserRecord,
    input: { username?: string | null; name?: string | null; avatar?: string | null; customData?: Record<string, unknown> },
  ): Promise<UserRecord> {
    const patch: Parameters<UserService['update']>[1] = {};
    if (input.username !== undefined) {
      if (input.username === null) {
        await this.assertKeepsSignInMethod(user, 'username');
        patch.username = null;
      } else {
        patch.username = this.users.normalize('username', input.username);
      }
    }
    if (input.name !== undefined) patch.name = input.name;
    if (input.avatar !== undefined) patch.avatar = input.avatar;
    if (input.customData !== undefined) patch.customData = input.customData;
    return this.users.update(user.id, patch);
  }

  /**
   * Shallow-merges OIDC standard claims into the profile (`address` replaced as a whole). @returns the new profile
   * @throws AppError `user.not_found`
   */
  mergeProfile(user: UserRecord, profile: UserProfile): Promise<UserProfile> {
    return this.users.mergeProfile(user.id, profile);
  }

  /**
   * Shallow-merges into the custom data. @returns the new custom data
   * @throws AppError `user.not_found`
   */
  mergeCustomData(user: UserRecord, customData: Record<string, unknown>): Promise<Record<string, unknown>> {
    return this.users.mergeCustomData(user.id, customData);
  }

  /**
   * Binds a new primary email or phone proven by `newIdentifierVerificationRecordId` (a verified
   * BindNewIdentifier code record for exactly that address), consuming the record. The address is
   * verified by that code.
   * @throws AppError `verification_record.not_found` (400: unknown, unverified, expired, used, or for
   *   another address), `user.email_taken` / `user.phone_taken` (409; 422 `user.*_already_in_use` on the Account API),
   *   `user.invalid_email|phone`
   */
  async bindIdentifier(user: UserRecord, channel: CodeChannel, value: string, newIdentifierVerificationRecordId: string): Promise<UserRecord> {
    const key = this.canonicalOr(channel, value);
    const record = await this.store.verifications.findById(verificationKey(newIdentifierVerificationRecordId));
    const type = channel === 'email' ? 'email_code' : 'phone_code';
    if (
      !record || record.type !== type || record.purpose !== 'BindNewIdentifier' || record.identifier !== key ||
      record.verifiedAt === null || record.consumedAt !== null || record.expiresAt <= this.clock.now()
    ) {
      throw new AppError('verification_record.not_found');
    }
    const normalized = this.users.normalize(channel, value);
    await this.users.assertAvailable(channel === 'email' ? { email: normalized } : { phone: normalized }, user.id);
    try {
      await this.verification.consume(record.id);
    } catch (error) {
      if (isAppError(error, 'verification.already_used')) throw new AppError('verification_record.not_found');
      throw error;
    }
    return this.users.update(user.id, channel === 'email' ? { primaryEmail: normalized, emailVerified: true } : { primaryPhone: normalized, phoneVerified: true });
  }

  /**
   * Removes the primary email or phone unless it is the last way to sign in.
   * @throws AppError `user.last_sign_in_method_required` (400)
   */
  async removeIdentifier(user: UserRecord, channel: CodeChannel): Promise<UserRecord> {
    await this.assertKeepsSignInMethod(user, channel);
    return this.users.update(user.id, channel === 'email' ? { primaryEmail: null, emailVerified: false } : { primaryPhone: null, phoneVerified: false });
  }

  /**
   * Sets a new password (full policy, not the current one) through {@link CredentialService.setPassword},
   * ending the user's other sessions: every first-party session but `acting.sessionId`, every OIDC grant
   * and token but `acting.grantId`, every OIDC provider session (browser sign-in at /oidc) but
   * `acting.oidcSessionUid`, and every unused impersonation subject token — so a browser signed in with
   * the old password cannot get new codes without the new one. Audited as `change_password`.
   * @throws AppError `password.rejected` (422, issues in `data`), `user.same_password` (422)
   */
  async changePassword(user: UserRecord, password: string, acting: ActingSession, meta: AuditMeta): Promise<void> {
    await this.credentials.setPassword({ user, newPassword: password, authority: 'user', keep: acting, audit: { action: 'change_password', ...meta } });
  }

  /**
   * Deletes the account in one transaction: the user row with their OIDC sessions, grants and tokens
   * (sessions, identities and verification records cascade), and the `User.Deleted` event.
   * @throws AppError `user.not_found`
   */
  async deleteAccount(user: UserRecord): Promise<void> {
    if (!(await this.users.deleteRow(user.id, () => this.store.deleteAccount(user.id)))) throw new AppError('user.not_found');
    // Whatever else ends "every session" (e.g. unused impersonation tokens) follows the deleted row.
    await this.users.endAllSessions(user.id);
  }

  /**
   * The OAuth grants of the user (the applications they connected), oldest id first: id, client,
   * granted OIDC scopes, issue and expiry times (ms). `appType` keeps only first-party or third-party
   * applications' grants (Logto's `?appType=`); a client that no longer exists counts as third-party
   * (failing closed, as {@link actsAsThirdParty}).
   */
  async listGrants(
    user: UserRecord,
    options: { appType?: 'firstParty' | 'thirdParty' } = {},
  ): Promise<Array<{ id: string; clientId: string | null; scope: string; createdAt: number | null; expiresAt: number | null }>> {
    const rows = await this.store.oidcPayloads.listByAccount('Grant', user.id, this.clock.now());
    const grants = rows.map(({ id, payload, expiresAt }) => {
      const openid = payload['openid'] as { scope?: string } | undefined;
      const iat = payload['iat'];
      return {
        id,
        clientId: typeof payload['clientId'] === 'string' ? payload['clientId'] : null,
        scope: openid?.scope ?? '',
        createdAt: typeof iat === 'number' ? iat * 1000 : null,
        expiresAt,
      };
    });
    if (!options.appType) return grants;
    const thirdParty = new Map<string, boolean>();
    for (const clientId of new Set(grants.map((g) => g.clientId).filter((c): c is string => c !== null))) {
      thirdParty.set(clientId, actsAsThirdParty(await this.store.applications.findById(clientId)));
    }
    const wantThirdParty = options.appType === 'thirdParty';
    return grants.filter((g) => (g.clientId === null ? true : (thirdParty.get(g.clientId) ?? true)) === wantThirdParty);
  }

  /**
   * The user's sessions at the OIDC provider (a browser signed in at /oidc), by their `uid` — never the
   * session id itself, which is the value of the provider's session cookie. Times in ms.
   */
  async listOidcSessions(user: UserRecord): Promise<OidcSessionView[]> {
    const rows = await this.store.oidcPayloads.listByAccount('Session', user.id, this.clock.now());
    return rows
      .map(({ payload, expiresAt }) => {
        const uid = payload['uid'];
        if (typeof uid !== 'string') return undefined;
        const loginTs = payload['loginTs'];
        const iat = payload['iat'];
        const authorizations = payload['authorizations'];
        return {
          uid,
          createdAt: typeof loginTs === 'number' ? loginTs * 1000 : typeof iat === 'number' ? iat * 1000 : null,
          lastUsedAt: typeof iat === 'number' ? iat * 1000 : null,
          expiresAt,
          clientIds: authorizations && typeof authorizations === 'object' ? Object.keys(authorizations) : [],
          amr: Array.isArray(payload['amr']) ? (payload['amr'] as unknown[]).filter((v): v is string => typeof v === 'string') : [],
        };
      })
      .filter((v): v is OidcSessionView => v !== undefined);
  }

  /**
   * Ends one OIDC provider session of the user (found by `uid`; the browser is signed out at /oidc) and,
   * with `revokeGrants`, the grants it authorized (`all`, or only those of first-party applications),
   * with their tokens (logto.md §1.5 route 29).
   * @returns false when the user has no such session
   */
  async endOidcSession(user: UserRecord, uid: string, revokeGrants?: 'all' | 'firstParty'): Promise<boolean> {
    const rows = await this.store.oidcPayloads.listByAccount('Session', user.id, this.clock.now());
    const row = rows.find((r) => r.payload['uid'] === uid);
    if (!row) return false;
    if (revokeGrants) {
      const authorizations = (row.payload['authorizations'] ?? {}) as Record<string, { grantId?: unknown }>;
      for (const [clientId, authorization] of Object.entries(authorizations)) {
        if (typeof authorization?.grantId !== 'string') continue;
        if (revokeGrants === 'firstParty' && actsAsThirdParty(await this.store.applications.findById(clientId))) continue;
        await this.store.oidcPayloads.deleteGrant(user.id, authorization.grantId);
      }
    }
    await this.store.oidcPayloads.destroy('Session', row.id);
    return true;
  }

  /**
   * Revokes one grant of the user with every token issued under it.
   * @throws AppError `oidc.grant_not_found` (404)
   */
  async revokeGrant(user: UserRecord, grantId: string): Promise<void> {
    if (!(await this.store.oidcPayloads.deleteGrant(user.id, grantId))) throw new AppError('oidc.grant_not_found');
  }

  /**
   * Writes one entry of the Account API audit log: who changed which fields of their account, when,
   * from which IP and OAuth client. Never the values.
   */
  async audit(userId: string, action: string, fields: string[], meta: AuditMeta): Promise<void> {
    await this.store.accountAudit.insert({
      id: newId(this.clock.now()),
      at: this.clock.now(),
      userId,
      action,
      fields,
      ip: meta.ip ?? null,
      clientId: meta.clientId ?? null,
    });
  }

  /**
   * The one "last sign-in method" rule (issue 16), for every surface that removes an identifier: refuses
   * a change that would leave the user no way to sign in — an email or phone (which can receive codes),
   * a username **with** a password, or a linked third-party identity. (A bare username is no way in.)
   * @param removing the identifier the change removes
   * @throws AppError `user.last_sign_in_method_required` (400)
   */
  async assertKeepsSignInMethod(user: UserRecord, removing: 'username' | 'email' | 'phone'): Promise<void> {
    const left = [
      removing !== 'email' && user.primaryEmail,
      removing !== 'phone' && user.primaryPhone,
      removing !== 'username' && user.username && user.passwordHash,
    ].some(Boolean);
    if (left) return;
    if ((await this.identities.list(user.id)).length > 0) return;
    throw new AppError('user.last_sign_in_method_required');
  }

  private canonicalOr(channel: CodeChannel, value: string): string {
    try {
      return this.verification.canonical(channel, value).key;
    } catch {
      throw new AppError(channel === 'email' ? 'user.invalid_email' : 'user.invalid_phone');
    }
  }

}
