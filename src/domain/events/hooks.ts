import { randomInt } from 'node:crypto';
import { AppError } from '../../errors/index.js';
import type { HookPatch, HookRecord } from '../../storage/hook-store.js';
import type { Store } from '../../storage/store.js';
import type { Clock } from '../../util/clock.js';
import { newId } from '../../util/crypto.js';
import { HOOK_EVENTS, type HookEvent } from './index.js';

/** What a hook is given on creation (Logto's `POST /hooks` body, neutral). */
export interface HookInput {
  name?: string;
  events: string[];
  url: string;
  headers?: Record<string, string>;
  /** Retries of a failed delivery, 0–3 (default 3). */
  retries?: number;
  enabled?: boolean;
}

/** A change of a hook: `events` and the endpoint settings are replaced as a whole (as Logto's PATCH). */
export type HookChange = Partial<HookInput>;

/** Checks an endpoint before it is saved (src/webhooks/sender.ts `AddressPolicy.assertAllowedUrl`). */
export type EndpointCheck = (url: string) => Promise<void>;

/** Counts over the last 24 hours (Logto's `executionStats`). */
export interface HookStats {
  requestCount: number;
  successCount: number;
}

/** The signing-key alphabet and length of Logto's `generateStandardSecret` (32 of [0-9a-zA-Z], ~190 bits). */
const KEY_ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** A new signing key: 32 characters of [0-9a-zA-Z] from the CSPRNG (log2(62^32) ≈ 190 bits). */
export function newSigningKey(): string {
  let key = '';
  for (let i = 0; i < 32; i++) key += KEY_ALPHABET[randomInt(KEY_ALPHABET.length)];
  return key;
}

/** Header names a hook may not set (the transport's and the signature's own). */
const RESERVED_HEADERS = new Set(['content-length', 'host', 'transfer-encoding', 'connection', 'logto-signature-sha-256']);

/**
 * Webhooks (issue 20, Logto's hooks): create, read, change, delete, rotate the signing key. Endpoints are
 * checked by `checkEndpoint` (http(s) only, not in a denied address range) before anything is saved.
 */
export class HookService {
  constructor(
    private readonly store: Store,
    private readonly checkEndpoint: EndpointCheck,
    private readonly clock: Clock,
  ) {}

  /**
   * Creates a hook with a fresh signing key.
   * @throws AppError `hook.events_required` (400), `request.invalid` (400: an unknown event, a reserved
   *   header), `hook.invalid_url` (400), `hook.denied_address` (422)
   */
  async create(input: HookInput): Promise<HookRecord> {
    const events = this.events(input.events);
    await this.checkEndpoint(input.url);
    const now = this.clock.now();
    const hook: HookRecord = {
      id: newId(now),
      name: input.name ?? '',
      events,
      url: input.url,
      headers: this.headers(input.headers ?? {}),
      retries: input.retries ?? 3,
      signingKey: newSigningKey(),
      enabled: input.enabled ?? true,
      createdAt: now,
      updatedAt: now,
    };
    await this.store.hooks.insert(hook);
    return hook;
  }

  /** Every hook, newest first (Logto's order). */
  async list(): Promise<HookRecord[]> {
    return (await this.store.hooks.list()).reverse();
  }

  /** @throws AppError `hook.not_found` */
  async require(id: string): Promise<HookRecord> {
    const hook = await this.store.hooks.findById(id);
    if (!hook) throw new AppError('hook.not_found');
    return hook;
  }

  /**
   * Changes a hook (given fields only; `events` and `headers` replaced whole).
   * @throws AppError `hook.not_found`, and the input errors of {@link create}
   */
  async update(id: string, change: HookChange): Promise<HookRecord> {
    await this.require(id);
    const patch: HookPatch = { updatedAt: this.clock.now() };
    if (change.events !== undefined) patch.events = this.events(change.events);
    if (change.url !== undefined) {
      await this.checkEndpoint(change.url);
      patch.url = change.url;
    }
    if (change.name !== undefined) patch.name = change.name;
    if (change.headers !== undefined) patch.headers = this.headers(change.headers);
    if (change.retries !== undefined) patch.retries = change.retries;
    if (change.enabled !== undefined) patch.enabled = change.enabled;
    const updated = await this.store.hooks.update(id, patch);
    if (!updated) throw new AppError('hook.not_found');
    return updated;
  }

  /** Deletes a hook and its queued deliveries. @throws AppError `hook.not_found` */
  async delete(id: string): Promise<void> {
    if (!(await this.store.hooks.delete(id))) throw new AppError('hook.not_found');
  }

  /** Replaces the signing key (the old one stops verifying at once). @throws AppError `hook.not_found` */
  async rotateSigningKey(id: string): Promise<HookRecord> {
    await this.require(id);
    const updated = await this.store.hooks.update(id, { signingKey: newSigningKey(), updatedAt: this.clock.now() });
    if (!updated) throw new AppError('hook.not_found');
    return updated;
  }

  /** Deliveries tried and succeeded in the last 24 h (from the delivery log). */
  async stats(id: string): Promise<HookStats> {
    const since = this.clock.now() - 86_400_000;
    const [all, ok] = await Promise.all([
      this.store.logs.list({ hookId: id, since, offset: 0, limit: 0 }),
      this.store.logs.list({ hookId: id, since, result: 'Success', offset: 0, limit: 0 }),
    ]);
    return { requestCount: all.total, successCount: ok.total };
  }

  /** Validates and deduplicates an event list. @throws AppError `hook.events_required`, `request.invalid` */
  events(list: readonly string[]): HookEvent[] {
    if (list.length === 0) throw new AppError('hook.events_required');
    const unknown = list.filter((e) => !(HOOK_EVENTS as readonly string[]).includes(e));
    if (unknown.length > 0) {
      throw new AppError('request.invalid', { data: { issues: unknown.map((e) => ({ path: 'body.events', code: 'invalid_value', message: `Unknown event ${JSON.stringify(e)}.` })) } });
    }
    return [...new Set(list)] as HookEvent[];
  }

  private headers(headers: Record<string, string>): Record<string, string> {
    const reserved = Object.keys(headers).filter((h) => RESERVED_HEADERS.has(h.toLowerCase()));
    if (reserved.length > 0) {
      throw new AppError('request.invalid', { data: { issues: reserved.map((h) => ({ path: `body.config.headers.${h}`, code: 'invalid_key', message: `The header ${h} cannot be set.` })) } });
    }
    return { ...headers };
  }
}
