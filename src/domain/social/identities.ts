import { AppError } from '../../errors/index.js';
import { IdentityConflict, type IdentityRecord } from '../../storage/identity-store.js';
import type { Store } from '../../storage/store.js';
import type { Clock } from '../../util/clock.js';

export type { IdentityRecord } from '../../storage/identity-store.js';

/** Provider names: letters, digits, `_`, `-`, `.`, 1–128 characters. */
const PROVIDER = /^[A-Za-z0-9_.-]{1,128}$/;

/**
 * Third-party identities of users (LeanCloud `authData`, social sign-in): an external account
 * (provider + subject) belongs to at most one user, and a user has at most one identity per provider.
 * Both rules are unique indexes, so concurrent links of one external account yield exactly one owner.
 * Each row records whether its origin is trustworthy (`verified`, migration 0013): connectors and the
 * LeanCloud import link verified rows, client-supplied LeanCloud authData unverified ones; the callers
 * (SocialService, LeanCloudUsers) decide what an unverified or verified row may do.
 */
export class IdentityService {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  /**
   * Checks a provider name and subject.
   * @throws AppError `identity.invalid`
   */
  assertValid(provider: string, subject: string): void {
    if (!PROVIDER.test(provider)) throw new AppError('identity.invalid', { message: `Invalid provider name: ${provider.slice(0, 64)}` });
    if (subject.length === 0 || subject.length > 512) throw new AppError('identity.invalid');
  }

  /**
   * The identity row of this external account (owner, data, `verified` — see {@link IdentityRecord}),
   * or undefined when nobody has it.
   */
  find(provider: string, subject: string): Promise<IdentityRecord | undefined> {
    return this.store.identities.findBySubject(provider, subject);
  }

  /** The user id that owns this external account, or undefined. */
  async findOwner(provider: string, subject: string): Promise<string | undefined> {
    return (await this.store.identities.findBySubject(provider, subject))?.userId;
  }

  /** A user's identities (ordered by provider). */
  list(userId: string): Promise<IdentityRecord[]> {
    return this.store.identities.listByUser(userId);
  }

  /** The identities of several users, grouped by user id. */
  async listMany(userIds: readonly string[]): Promise<Map<string, IdentityRecord[]>> {
    const out = new Map<string, IdentityRecord[]>();
    for (const record of await this.store.identities.listByUsers(userIds)) {
      const list = out.get(record.userId) ?? [];
      list.push(record);
      out.set(record.userId, list);
    }
    return out;
  }

  /**
   * Links (or re-links with fresh data) the user's identity for `provider`. A previous identity of the
   * user for that provider is replaced, `verified` flag included.
   * @param options.verified true only when the origin is trustworthy — a social connector proved the
   *   account, or the operator's LeanCloud import; client-supplied LeanCloud authData is false (default)
   * @param options.imported true for the operator's LeanCloud import (implies verified; client authData may
   *   still use such a row, as on LeanCloud)
   * @throws AppError `identity.invalid`, `identity.already_linked` (another user owns it; nothing written)
   */
  async link(userId: string, provider: string, subject: string, data: Record<string, unknown>, options: { verified?: boolean; imported?: boolean } = {}): Promise<void> {
    this.assertValid(provider, subject);
    const now = this.clock.now();
    // An imported row stays imported when its owner's identity is written again (a connector sign-in,
    // or LeanCloud authData refreshing its data): the mark records where the account came from.
    let imported = options.imported === true;
    if (!imported) {
      const existing = await this.store.identities.findBySubject(provider, subject);
      imported = existing?.imported === true && existing.userId === userId;
    }
    try {
      await this.store.identities.upsert({
        userId, provider, subject, data, verified: options.verified === true || imported, imported, createdAt: now, updatedAt: now,
      });
    } catch (error) {
      if (error instanceof IdentityConflict) throw new AppError('identity.already_linked');
      throw error;
    }
  }

  /**
   * An administrator sets the user's identity for `provider` (Logto's `PUT /api/users/:id/identities/:target`,
   * logto.md §4.2): the account `subject` of that provider, with `details` as its data. The operator vouches
   * for it, so it counts as verified (a connector sign-in as that account signs this user in; client
   * LeanCloud authData cannot use it). A previous identity of the user for that provider is replaced.
   * @returns `created`: the user had no identity of that provider before
   * @throws AppError `identity.invalid`, `identity.already_linked` (another user has it; nothing written)
   */
  async setByAdministrator(userId: string, provider: string, subject: string, details: Record<string, unknown>): Promise<{ created: boolean }> {
    const created = !(await this.list(userId)).some((i) => i.provider === provider);
    await this.link(userId, provider, subject, details, { verified: true });
    return { created };
  }

  /**
   * Removes the user's identity for `provider`, and the provider tokens kept for it (one rule for every
   * surface that unlinks: the Account API, the Management API, LeanCloud `authData`).
   * @returns true when there was one.
   */
  async unlink(userId: string, provider: string): Promise<boolean> {
    const removed = await this.store.identities.delete(userId, provider);
    await this.store.socialTokens.delete(userId, provider);
    return removed;
  }
}
