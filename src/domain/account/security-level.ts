import type { SdkStore } from '../../storage/sdk-store.js';
import type { UserRecord } from '../../storage/store.js';
import type { SecondFactors } from '../mfa/index.js';
import { authingPasswordLevel } from '../credentials/passwords.js';

/** Authing's getSecurityLevel answer (seed 003 "获取用户账号安全等级"). */
export interface SecurityLevel {
  /** 0–100; see {@link SecurityLevelService.compute} for the weights. */
  score: number;
  email: boolean;
  phone: boolean;
  password: boolean;
  /** 1 low, 2 medium, 3 high; null when the current password has not been seen in clear since it was set. */
  passwordSecurityLevel: 1 | 2 | 3 | null;
  mfa: boolean;
}

/**
 * Weights of the score (sum 100). Authing does not document its formula (authing.md §8); these give its
 * documented sample (email + password of level 1 → 65) and 100 for email + phone + a level-3 password + MFA.
 */
export const SECURITY_WEIGHTS = { email: 25, phone: 15, password: 30, passwordLevel: { 1: 10, 2: 15, 3: 20 }, mfa: 10 } as const;

/**
 * The account security level (Authing `getSecurityLevel`, seed 003). The password level is Authing's
 * rule ({@link authingPasswordLevel}); it can only be computed while the password is in clear, so it is
 * recorded at sign-up, password sign-in, password change and forced reset, keyed by the user's
 * `passwordUpdatedAt`: a password set by another path and not used since reads as "not checked" (null),
 * as in Authing.
 */
export class SecurityLevelService {
  constructor(
    private readonly store: SdkStore,
    /** "MFA bound": an authenticator besides backup codes ({@link SecondFactors.hasAuthenticator}). */
    private readonly factors: Pick<SecondFactors, 'hasAuthenticator'>,
  ) {}

  /**
   * Records the level of `password`, which must be the user's current password (`user.passwordUpdatedAt`
   * is the version it belongs to). Does nothing for a user without a password timestamp.
   */
  async record(user: UserRecord, password: string): Promise<void> {
    if (user.passwordUpdatedAt === null) return;
    const level = authingPasswordLevel(password);
    const known = await this.store.getPasswordLevel(user.id);
    if (known && known.level === level && known.passwordUpdatedAt === user.passwordUpdatedAt) return;
    await this.store.setPasswordLevel(user.id, level, user.passwordUpdatedAt);
  }

  /** The recorded level of the user's current password, or null. */
  async passwordLevel(user: UserRecord): Promise<1 | 2 | 3 | null> {
    if (!user.passwordHash || user.passwordUpdatedAt === null) return null;
    const known = await this.store.getPasswordLevel(user.id);
    if (!known || known.passwordUpdatedAt !== user.passwordUpdatedAt) return null;
    return known.level === 1 || known.level === 2 || known.level === 3 ? known.level : null;
  }

  /**
   * The security level: 20 for a bound email, 20 for a bound phone, 20 for a password plus 0/5/10 for
   * its level 1/2/3 (0 when unknown), 30 for an MFA factor; at most 100.
   */
  async compute(user: UserRecord): Promise<SecurityLevel> {
    const email = user.primaryEmail !== null;
    const phone = user.primaryPhone !== null;
    const password = user.passwordHash !== null;
    const passwordSecurityLevel = await this.passwordLevel(user);
    const mfa = await this.factors.hasAuthenticator(user.id);
    const w = SECURITY_WEIGHTS;
    const score =
      (email ? w.email : 0) +
      (phone ? w.phone : 0) +
      (password ? w.password + (passwordSecurityLevel ? w.passwordLevel[passwordSecurityLevel] : 0) : 0) +
      (mfa ? w.mfa : 0);
    return { score, email, phone, password, passwordSecurityLevel, mfa };
  }
}
