import { AppError } from '../../errors/index.js';
import type { SessionRecord, Store, UserRecord } from '../../storage/store.js';
import type { Clock } from '../../util/clock.js';
import { verificationKey } from '../verification/index.js';

/**
 * How recent a session's sign-in must be (ms, 10 minutes) for sensitive account changes: linking an
 * account, binding a first or removing an email/phone, setting a first password (security review;
 * NIST SP 800-63B-4 §5.2 reauthentication, OWASP ASVS 5.0 V7.5 "re-authentication before sensitive
 * changes"). Measured from the session's `createdAt` — the moment its user proved a factor; token
 * refresh keeps `createdAt`, so refreshing does not count as signing in again.
 */
export const REAUTHENTICATION_WINDOW_MS = 10 * 60 * 1000;

/** Whether the user can prove identity with a password or a code to their email or phone (logto.md §1.4). */
export function hasSecurityVerificationMethod(user: UserRecord): boolean {
  return user.passwordHash !== null || user.primaryEmail !== null || user.primaryPhone !== null;
}

/**
 * Re-authentication before sensitive changes (issue 16: one service behind both mechanisms; NIST SP
 * 800-63B-4 §5.2, OWASP ASVS 5.0 V7.5). A caller proves again who they are in one of two ways, each
 * valid 10 minutes:
 * - **a recent sign-in** — the first-party session was issued within {@link REAUTHENTICATION_WINDOW_MS}
 *   (`/api/auth/me…`, the SDK's linkAccount);
 * - **an identity proof** — a verification record of this user named by `logto-verification-id`: a
 *   checked password, or a verified code sent to the user's **current** email/phone (the Account API,
 *   Logto's rule, logto.md §1.2).
 */
export class Reauthentication {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  /**
   * Refuses a sensitive change through a session whose sign-in is older than
   * {@link REAUTHENTICATION_WINDOW_MS} (10 minutes, from `session.createdAt`, ms since the epoch). No
   * query: the session is the one already resolved for the request.
   * @throws AppError `auth.reauthentication_required` (401): sign in again, then retry with the new session
   */
  assertRecentSignIn(session: SessionRecord): void {
    if (this.clock.now() - session.createdAt > REAUTHENTICATION_WINDOW_MS) throw new AppError('auth.reauthentication_required');
  }

  /**
   * True when `recordId` names a live identity proof of `user` (see the module comment).
   * Never throws: anything unknown, expired, consumed, unverified or of another user is simply false.
   */
  async isIdentityProof(recordId: string | undefined, user: UserRecord): Promise<boolean> {
    if (!recordId) return false;
    const record = await this.store.verifications.findById(verificationKey(recordId));
    if (!record || record.userId !== user.id || record.verifiedAt === null || record.consumedAt !== null) return false;
    if (record.expiresAt <= this.clock.now()) return false;
    if (record.type === 'password') return record.purpose === 'Identity';
    if (record.purpose !== 'Generic') return false;
    const current = record.type === 'email_code' ? user.primaryEmail?.toLowerCase() : user.primaryPhone;
    return current !== undefined && current !== null && record.identifier === current;
  }

  /**
   * Logto's "conditional identity verification" (logto.md §1.2 cIV): a proof is required only from a
   * user who has a way to give one (a password, an email or a phone); others — social-only users —
   * may change their account without it.
   * @throws AppError `verification_record.permission_denied` (401)
   */
  async requireIdentityProofIfPossible(recordId: string | undefined, user: UserRecord): Promise<void> {
    if (hasSecurityVerificationMethod(user)) await this.requireIdentityProof(recordId, user);
  }

  /**
   * Requires a live identity proof of `user`.
   * @throws AppError `verification_record.permission_denied` (401)
   */
  async requireIdentityProof(recordId: string | undefined, user: UserRecord): Promise<void> {
    if (!(await this.isIdentityProof(recordId, user))) throw new AppError('verification_record.permission_denied');
  }
}
