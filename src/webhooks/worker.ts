import type { AuditLog } from '../domain/audit/index.js';
import type { StoredEvent } from '../domain/events/index.js';
import { outsideActivityContext } from '../domain/events/context.js';
import type { HookJob, HookRecord, JobOutcome, LogRecord } from '../storage/hook-store.js';
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

/** Longest wait between two tries of one delivery, and longest pause of a hook's circuit breaker. */
const MAX_BACKOFF_MS = 3_600_000;
/** Consecutive failed tries (timeouts, network errors, 408, 429, 5xx) after which a hook is paused. */
export const BREAKER_THRESHOLD = 5;
/**
 * How long a pass waits after a change or an answer that calls for it (ms): a busy server's changes and
 * answers of that window then cost one pass (one claim, one write), not one each. Deliveries start this
 * much later, which no receiver notices.
 */
export const BATCH_WINDOW_MS = 50;
/** How often the worker prunes the audit log. */
const PRUNE_EVERY_MS = 3_600_000;

/** Where the worker reports what an operator should see (a pino logger fits). */
export interface WorkerLog {
  error(error: unknown, message: string): void;
  /** A hook paused or resumed by its circuit breaker. */
  warn(fields: Record<string, unknown>, message: string): void;
}

/** A hook's circuit breaker on this node: consecutive failed tries, and until when its deliveries wait. */
interface Breaker {
  failures: number;
  /** Times it opened since the hook last succeeded (each pause twice the one before). */
  opens: number;
  /** While `now` is before this, none of the hook's jobs is claimed; afterwards one probe at a time. */
  openUntil: number;
}

/** A finished delivery waiting to be written: its job's new state and its delivery log entry. */
interface Settled {
  outcome: JobOutcome;
  log?: LogRecord;
}

/** Statuses worth another try: the receiver may answer differently later (RFC 9110 §15.5.9, §15.6; RFC 6585 §4). */
function retryable(statusCode: number): boolean {
  return statusCode === 408 || statusCode === 429 || statusCode >= 500;
}

/** A response body as the delivery log keeps it: parsed JSON when it is JSON, else the text. */
function readBody(text: string): unknown {
  // Most receivers answer with no body (or plain text): no JSON.parse, whose failure costs a stack trace.
  const first = text.trimStart()[0];
  if (first === undefined || !'{["-0123456789tfn'.includes(first)) return text;
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
 * - **A failing endpoint costs little**: one hook holds at most half of the slots, so an endpoint that never
 *   answers cannot take every slot from the others; after {@link BREAKER_THRESHOLD} consecutive failed tries
 *   a hook is paused (its circuit breaker opens: `retryBaseMs`, doubling with each failed probe, at most 1 h),
 *   its jobs stay queued without using up their retries, and one probe delivery at a time tells when the
 *   endpoint is back. Nothing here runs on a request's path.
 * - **Batched bookkeeping**: finished deliveries are written together at the start of the next pass (their
 *   delivery log entries in one insert, the delivered jobs' removal in one statement, one transaction),
 *   and the pass then claims with one statement; so a busy worker costs a few statements per pass rather
 *   than a transaction per delivery. A process killed between an answer and that write sends
 *   the delivery again (at least once).
 */
export class HookDeliveryWorker {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private ticking = false;
  private again = false;
  private readonly inFlight = new Set<Promise<void>>();
  /** Deliveries in flight per hook (a hook may hold at most {@link perHookCap} of the slots). */
  private readonly perHook = new Map<string, number>();
  /** Circuit breakers of hooks whose last tries failed. */
  private readonly breakers = new Map<string, Breaker>();
  /** Finished deliveries not written yet (written by the next pass, or by {@link stop}). */
  private settled: Settled[] = [];
  private lastPrune = 0;
  /** When the pending timer fires (ms since the epoch). */
  private timerDue = 0;

  constructor(
    private readonly store: Store,
    private readonly audit: AuditLog,
    private readonly policy: AddressPolicy,
    private readonly settings: WorkerSettings,
    private readonly clock: Clock,
    private readonly log: WorkerLog,
  ) {}

  /** Starts polling (idempotent). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  /**
   * Looks for due deliveries soon instead of at the next poll (right after a change committed, or a
   * delivery finished): within {@link BATCH_WINDOW_MS}, so that the changes and answers of that window are
   * written and claimed by one pass.
   */
  notify(): void {
    if (!this.running) return;
    if (this.ticking) this.again = true;
    else if (!this.timer || this.timerDue > this.clock.now() + BATCH_WINDOW_MS) this.schedule(BATCH_WINDOW_MS);
  }

  /** Stops polling, waits for the deliveries in flight (each ends within `timeoutMs`) and writes their outcomes. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await Promise.allSettled([...this.inFlight]);
    await this.flush().catch((error: unknown) => this.log.error(error, 'webhook delivery outcomes could not be written'));
  }

  /**
   * One pass: writes the outcomes of finished deliveries, claims what free slots, per-hook caps and
   * circuit breakers allow, and starts those deliveries; returns once they are started.
   * @returns how many deliveries were started
   */
  async tick(): Promise<number> {
    await this.flush();
    const free = this.settings.concurrency - this.inFlight.size;
    if (free <= 0) return 0;
    const now = this.clock.now();
    if (now - this.lastPrune >= PRUNE_EVERY_MS) {
      this.lastPrune = now;
      await this.audit.prune(this.settings.retentionDays).catch((error: unknown) => this.log.error(error, 'audit log pruning failed'));
    }
    // Each hook is read once per pass (its state when its jobs were claimed: a hook disabled later in
    // the pass stops at the next one). A disabled hook's jobs are claimed only to be dropped.
    const hooks = new Map((await this.store.hooks.list()).map((h) => [h.id, h]));
    for (const id of this.breakers.keys()) if (!hooks.get(id)?.enabled) this.breakers.delete(id);
    const quotas = new Map<string, number>();
    for (const hook of hooks.values()) quotas.set(hook.id, hook.enabled ? this.quotaOf(hook.id, now) : free);
    const jobs = await this.store.hookJobs.claim(now, this.leaseMs(), free, quotas);
    const applications = new Map<string, Promise<PayloadApplication | undefined>>();
    for (const job of jobs) {
      this.perHook.set(job.hookId, (this.perHook.get(job.hookId) ?? 0) + 1);
      const delivery = this.deliver(job, hooks.get(job.hookId), applications)
        .then((settled) => {
          this.settled.push(settled);
        })
        .catch((error: unknown) => this.log.error(error, 'webhook delivery failed unexpectedly'))
        .finally(() => {
          const left = (this.perHook.get(job.hookId) ?? 1) - 1;
          if (left > 0) this.perHook.set(job.hookId, left);
          else this.perHook.delete(job.hookId);
          this.inFlight.delete(delivery);
          // A finished delivery is written by the next pass; it may unblock its user's next one, and frees a slot.
          this.notify();
        });
      this.inFlight.add(delivery);
    }
    return jobs.length;
  }

  /** Writes the finished deliveries' log entries and job states in one transaction. */
  private async flush(): Promise<void> {
    if (this.settled.length === 0) return;
    const batch = this.settled;
    this.settled = [];
    try {
      await this.store.transaction(async () => {
        await this.audit.append(batch.flatMap((s) => (s.log ? [s.log] : [])));
        await this.store.hookJobs.settle(batch.map((s) => s.outcome));
      });
    } catch (error) {
      // Not written: kept for the next pass (the jobs' leases still hold them for this worker meanwhile).
      this.settled = batch.concat(this.settled);
      throw error;
    }
  }

  /** How many of a hook's jobs this pass may claim: its free share of the slots, or 0/1 while its breaker is open. */
  private quotaOf(hookId: string, now: number): number {
    const share = this.perHookCap() - (this.perHook.get(hookId) ?? 0);
    const breaker = this.breakers.get(hookId);
    if (!breaker || breaker.failures < BREAKER_THRESHOLD) return Math.max(0, share);
    // Open: nothing until the pause ends; then one probe at a time.
    if (now < breaker.openUntil || (this.perHook.get(hookId) ?? 0) > 0) return 0;
    return 1;
  }

  /** Counts a try for the hook's circuit breaker: `failed` for timeouts, network errors, 408, 429 and 5xx. */
  private track(hookId: string, failed: boolean): void {
    const breaker = this.breakers.get(hookId);
    if (!failed) {
      if (breaker && breaker.failures >= BREAKER_THRESHOLD) this.log.warn({ hookId }, 'webhook endpoint answers again; deliveries resume');
      this.breakers.delete(hookId);
      return;
    }
    const state = breaker ?? { failures: 0, opens: 0, openUntil: 0 };
    state.failures += 1;
    const now = this.clock.now();
    // Opens on the threshold, and again on a failed probe; tries already in flight when it opened only count.
    if (state.failures >= BREAKER_THRESHOLD && now >= state.openUntil) {
      state.opens += 1;
      const pauseMs = Math.min(MAX_BACKOFF_MS, this.settings.retryBaseMs * 2 ** (state.opens - 1));
      state.openUntil = now + pauseMs;
      this.log.warn({ hookId, failures: state.failures, pauseMs }, 'webhook endpoint keeps failing; its deliveries are paused');
    }
    this.breakers.set(hookId, state);
  }

  /** Runs a pass after `delayMs`, then waits for a notify (a batch window) or the poll interval. */
  private schedule(delayMs: number): void {
    if (!this.running) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerDue = this.clock.now() + delayMs;
    // The timer may be set while a request is answered (notify): it must not carry that request's context.
    this.timer = outsideActivityContext(() => setTimeout(() => {
      this.timer = undefined;
      this.ticking = true;
      this.again = false;
      this.tick()
        .catch((error: unknown) => this.log.error(error, 'webhook outbox could not be read'))
        .then(() => {
          this.ticking = false;
          // What was due is claimed up to the free slots; a delivery that ends, or a change, calls for the next pass.
          this.schedule(this.again ? BATCH_WINDOW_MS : this.settings.pollIntervalMs);
        });
    }, delayMs));
    this.timer.unref();
  }

  /** Sends one claimed job; resolves to what the next pass writes. */
  private async deliver(job: HookJob, hook: HookRecord | undefined, applications: Map<string, Promise<PayloadApplication | undefined>>): Promise<Settled> {
    if (!hook || !hook.enabled) {
      // Disabled (or deleted) since the change: its pending deliveries are dropped unsent.
      return { outcome: { seq: job.seq, attempts: job.attempts, kind: 'done' } };
    }
    const event = JSON.parse(job.payload) as StoredEvent;
    const payload = renderPayload(event, hook.id, await this.application(event.context.applicationId, applications));
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
    this.track(hook.id, again);
    const log = this.audit.prepare({
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
    const { seq, attempts } = job;
    if (ok) return { log, outcome: { seq, attempts, kind: 'done' } };
    if (again && attempts <= this.retriesOf(hook)) {
      const backoff = Math.min(MAX_BACKOFF_MS, this.settings.retryBaseMs * 2 ** (attempts - 1));
      return { log, outcome: { seq, attempts, kind: 'retry', nextAttemptAt: this.clock.now() + backoff, error: error! } };
    }
    return { log, outcome: { seq, attempts, kind: 'failed', error: error! } };
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

  /** The payload's `application` of a client id, read once per pass. */
  private application(id: string | null, cache: Map<string, Promise<PayloadApplication | undefined>>): Promise<PayloadApplication | undefined> {
    if (!id) return Promise.resolve(undefined);
    let found = cache.get(id);
    if (!found) {
      found = this.store.applications
        .findById(id)
        .then((app) => (app ? { id: app.id, type: LOGTO_APPLICATION_TYPE[app.type], name: app.name, description: app.description } : undefined));
      cache.set(id, found);
    }
    return found;
  }
}
