import { AppError } from '../../errors/index.js';
import type { Store } from '../../storage/store.js';
import type { Clock } from '../../util/clock.js';

/**
 * A user's own sign-in preferences (Logto's `logtoConfig`, spec logto.md §1.5 routes 24–27): what they
 * chose at the sign-in experience's suggestions, and whether they ask to skip the second factor.
 */
export interface SignInPreferences {
  mfa: {
    /** The user turned MFA on or off in their account center (unset until they do). */
    enabled?: boolean;
    /** The user dismissed the suggestion to enrol a second factor. */
    skipped: boolean;
    /** The user asks not to be asked for a second factor at sign-in; honoured only under `mfa.allowUserSkip`. */
    skipMfaOnSignIn: boolean;
    /** The user dismissed the suggestion to add another factor. */
    additionalBindingSuggestionSkipped?: boolean;
  };
  passkeySignIn: {
    /** The user dismissed the suggestion to sign in with a passkey. */
    skipped: boolean;
  };
}

/** A change: only the given keys change. */
export interface SignInPreferencesUpdate {
  mfa?: Partial<SignInPreferences['mfa']>;
  passkeySignIn?: Partial<SignInPreferences['passkeySignIn']>;
}

const bool = (v: unknown) => (typeof v === 'boolean' ? v : undefined);
const obj = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

/** The preferences of a stored object: booleans where given, `false` for the flags that default to it. */
function read(stored: Record<string, unknown> | undefined): SignInPreferences {
  const mfa = obj(stored?.['mfa']);
  const passkey = obj(stored?.['passkeySignIn']);
  const out: SignInPreferences = {
    mfa: { skipped: bool(mfa['skipped']) ?? false, skipMfaOnSignIn: bool(mfa['skipMfaOnSignIn']) ?? false },
    passkeySignIn: { skipped: bool(passkey['skipped']) ?? false },
  };
  const enabled = bool(mfa['enabled']);
  if (enabled !== undefined) out.mfa.enabled = enabled;
  const suggestion = bool(mfa['additionalBindingSuggestionSkipped']);
  if (suggestion !== undefined) out.mfa.additionalBindingSuggestionSkipped = suggestion;
  return out;
}

/** Reads and changes users' sign-in preferences. */
export class SignInPreferenceService {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  /** The user's preferences (every flag `false` until set). */
  async get(userId: string): Promise<SignInPreferences> {
    return read(await this.store.signInPreferences.get(userId));
  }

  /**
   * Changes the given keys only (one user's changes one after another, so concurrent changes of
   * different keys both stay).
   * @returns the preferences after the change
   * @throws AppError `user.not_found`
   */
  async update(userId: string, change: SignInPreferencesUpdate): Promise<SignInPreferences> {
    const drop = <T extends object>(o: T | undefined) => Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => typeof v === 'boolean'));
    const stored = await this.store.signInPreferences.update(
      userId,
      (current) => ({
        ...current,
        mfa: { ...obj(current['mfa']), ...drop(change.mfa) },
        passkeySignIn: { ...obj(current['passkeySignIn']), ...drop(change.passkeySignIn) },
      }),
      this.clock.now(),
    );
    if (!stored) throw new AppError('user.not_found');
    return read(stored);
  }

  /** Whether the user asks to skip the second factor at sign-in (the MFA gate decides whether to honour it). */
  async asksToSkipMfa(userId: string): Promise<boolean> {
    return (await this.get(userId)).mfa.skipMfaOnSignIn;
  }
}
