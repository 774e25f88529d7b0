import type { AuditLog } from '../domain/audit/index.js';
import type { StoredEvent } from '../domain/events/index.js';
import { outsideActivityContext } from '../domain/events/context.js';
import type { HookJob, HookRecord } from '../storage/hook-store.js';
import type { Store } from '../storage/store.js';
import type { Clock } from '../util/clock.js';
import { LOGTO_APPLICATION_TYPE } from '../http/logto-views.js';
import { type PayloadApplication, renderPayload } from './payload.js';
import { type AddressPolicy, sendWebhook, WebhookSendError, type WebhookResponse } from './sender.js';

/** Settings of the delivery worker (from `config.webhooks`; durations in ms here). */
export interface WorkerSettings {
  timeoutMs: number;
  retryBaseMs: number;
  pollIntervalMs: number;
  concurrency: number;
  /** Audit log retention in days (0: forever); pruned about once an hour. */
  retentionDays: number;
}

/** Longest wait between two tries of one delivery. */
const MAX_BACKOFF_MS = 3_600_000;
/** How often the worker prunes the audit log. */
const PRUNE_EVERY_MS = 3_600_000;

/** Statuses worth another try: the receiver may answer differently later (RFC 9110 §15.5.9, §15.6; RFC 6585 §4). */
function retryable(statusCode: number): boolean {
  return statusCode === 408 || statusCode === 429 || statusCode >= 500;
}

/** A response body as the delivery log keeps it: parsed JSON when it is JSON, else the text. */
function readBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * The webhook delivery worker (issue 20): takes due deliveries from the outbox (`hook_jobs`), sends them
 * and records each try in the audit log (`TriggerHook.<event>`, Logto's delivery log, read by
 * `GET /api/hooks/:id/recent-logs`).
 *
 * - **At least once**: a job is claimed with a lease (twice the request timeout plus 5 s); it is removed only
 *   after a 2xx answer, so a process killed mid-delivery leaves it to be retried once the lease runs out.
 * - **In order per user**: a hook's deliveries about one user go out one at a time, in the order of the
 *   changes (`HookJobStore.claim`).
 * - **Several nodes**: on PostgreSQL the claim uses `FOR UPDATE SKIP LOCKED`, so each job goes to one worker.
 * - **Retries**: network errors, timeouts, 408, 429 and 5xx are retried up to the hook's `retries` (0–3,
 *   default 3) with exponential backoff from `retryBaseMs`; any other answer, or a denied address, ends the
 *   job as `failed`. A disabled hook's pending deliveries are dropped unsent.
 * - Nothing here runs on a request's path: a receiver that never answers costs a worker slot for
 *   `timeoutMs`, never a sign-in; one hook holds at most half of the slots, so it cannot hold up the others.
 */
export class HookDeliveryWorker {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private ticking = false;
  private again = false;
  private readonly inFlight = new Set<Promise<void>>();
  /** Deliveries in flight per hook (a hook may hold at most {@link perHookCap} of the slots). */
  private readonly perHook = new Map<string, number>();
  private lastPrune = 0;

  constructor(
    private readonly store: Store,
    private readonly audit: AuditLog,
    private readonly policy: AddressPolicy,
    private readonly settings: WorkerSettings,
    private readonly clock: Clock,
    private readonly onError: (error: unknown, message: string) => void,
  ) {}

  /** Starts polling (idempotent). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  /** Looks for due deliveries now instead of at the next poll (e.g. right after a change committed). */
  notify(): void {
    if (!this.running) return;
    if (this.ticking) this.again = true;
    else this.schedule(0);
  }

  /** Stops polling and waits for the deliveries in flight (each ends within `timeoutMs`). */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await Promise.allSettled([...this.inFlight]);
  }

  /**
   * One pass: claims what free slots allow and starts those deliveries; returns once they are started.
   * @returns how many deliveries were started
   */
  async tick(): Promise<number> {
    const free = this.settings.concurrency - this.inFlight.size;
    if (free <= 0) return 0;
    const now = this.clock.now();
    if (now - this.lastPrune >= PRUNE_EVERY_MS) {
      this.lastPrune = now;
      await this.audit.prune(this.settings.retentionDays).catch((error: unknown) => this.onError(error, 'audit log pruning failed'));
    }
    const full = [...this.perHook].filter(([, n]) => n >= this.perHookCap()).map(([id]) => id);
    const jobs = await this.store.hookJobs.claim(now, this.leaseMs(), free, full);
    // Each hook is read once per pass (its state when its jobs were claimed: a hook disabled later in
    // the pass stops at the next one).
    const hooks = new Map<string, HookRecord | undefined>();
    for (const id of new Set(jobs.map((j) => j.hookId))) hooks.set(id, await this.store.hooks.findById(id));
    for (const job of jobs) {
      this.perHook.set(job.hookId, (this.perHook.get(job.hookId) ?? 0) + 1);
      const delivery = this.deliver(job, hooks.get(job.hookId))
        .catch((error: unknown) => this.onError(error, 'webhook delivery failed unexpectedly'))
        .finally(() => {
          const left = (this.perHook.get(job.hookId) ?? 1) - 1;
          if (left > 0) this.perHook.set(job.hookId, left);
          else this.perHook.delete(job.hookId);
          this.inFlight.delete(delivery);
          // A finished delivery may unblock the next one of its user, and frees a slot.
          this.notify();
        });
      this.inFlight.add(delivery);
    }
    return jobs.length;
  }

  /** Runs passes until nothing is due or every slot is busy, then waits for the poll interval or a notify. */
  private schedule(delayMs: number): void {
    if (!this.running) return;
    if (this.timer) clearTimeout(this.timer);
    // The timer may be set while a request is answered (notify): it must not carry that request's context.
    this.timer = outsideActivityContext(() => setTimeout(() => {
      this.timer = undefined;
      this.ticking = true;
      this.again = false;
      this.tick()
        .catch((error: unknown) => this.onError(error, 'webhook outbox could not be read'))
        .then((started) => {
          this.ticking = false;
          const more = (started ?? 0) > 0 && this.inFlight.size < this.settings.concurrency;
          this.schedule(this.again || more ? 0 : this.settings.pollIntervalMs);
        });
    }, delayMs));
    this.timer.unref();
  }

  /** Sends one claimed job and records the outcome. */
  private async deliver(job: HookJob, hook: HookRecord | undefined): Promise<void> {
    if (!hook || !hook.enabled) {
      // Disabled (or deleted) since the change: its pending deliveries are dropped unsent.
      await this.store.hookJobs.complete(job.seq, job.attempts);
      return;
    }
    const event = JSON.parse(job.payload) as StoredEvent;
    const payload = renderPayload(event, hook.id, await this.application(event.context.applicationId));
    const body = JSON.stringify(payload);
    let response: WebhookResponse | undefined;
    let failure: WebhookSendError | undefined;
    try {
      response = await sendWebhook(this.policy, { url: hook.url, body, headers: hook.headers, signingKey: hook.signingKey, timeoutMs: this.settings.timeoutMs });
    } catch (error) {
      failure = error instanceof WebhookSendError ? error : new WebhookSendError('webhook.network', String(error));
    }
    const ok = response !== undefined && response.statusCode >= 200 && response.statusCode < 300;
    const error = failure ? `${failure.code}: ${failure.message}` : ok ? undefined : `HTTP ${response!.statusCode}`;
    const again = !ok && (failure ? failure.code === 'webhook.timeout' || failure.code === 'webhook.network' : retryable(response!.statusCode));
    // The delivery log entry and the job's new state commit together (one write transaction per delivery).
    await this.store.transaction(async () => {
      await this.audit.record({
        key: `TriggerHook.${job.event}`,
        result: ok ? 'Success' : 'Error',
        userId: event.userId,
        applicationId: event.context.applicationId,
        hookId: hook.id,
        details: {
          hookRequest: { body: payload },
          ...(response ? { response: { statusCode: response.statusCode, body: readBody(response.body) } } : {}),
          attempt: job.attempts,
        },
        ...(error ? { error } : {}),
      });
      if (ok) await this.store.hookJobs.complete(job.seq, job.attempts);
      else if (again && job.attempts <= this.retriesOf(hook)) {
        const backoff = Math.min(MAX_BACKOFF_MS, this.settings.retryBaseMs * 2 ** (job.attempts - 1));
        await this.store.hookJobs.retryLater(job.seq, job.attempts, this.clock.now() + backoff, error!);
      } else await this.store.hookJobs.fail(job.seq, job.attempts, error!);
    });
  }

  /**
   * Slots one hook may hold: half of them (at least one), so an endpoint that never answers cannot take
   * every slot from the other hooks.
   */
  private perHookCap(): number {
    return Math.max(1, Math.floor(this.settings.concurrency / 2));
  }

  /**
   * How long a claim holds: one attempt ends within `timeoutMs`, and the bookkeeping after it within
   * milliseconds; twice the timeout plus 5 s leaves room for a busy event loop. A worker that died
   * mid-delivery leaves its job to others once this has passed.
   */
  private leaseMs(): number {
    return this.settings.timeoutMs * 2 + 5000;
  }

  private retriesOf(hook: HookRecord): number {
    return Math.max(0, Math.min(3, hook.retries));
  }

  private async application(id: string | null): Promise<PayloadApplication | undefined> {
    if (!id) return undefined;
    const app = await this.store.applications.findById(id);
    return app ? { id: app.id, type: LOGTO_APPLICATION_TYPE[app.type], name: app.name, description: app.description } : undefined;
  }
}
