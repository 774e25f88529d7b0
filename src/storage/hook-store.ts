import { type Kysely, type Selectable, sql } from 'kysely';
import type { Database, HookJobsTable, HooksTable, LogsTable } from './schema.js';

/**
 * Storage of webhooks, their outbox and the audit log (migration 0022, issue 20). Times are ms since the
 * epoch. The domain (domain/events/) owns the rules; these stores only read and write rows.
 */

/** A stored webhook. */
export interface HookRecord {
  id: string;
  name: string;
  /** Event names the hook subscribes to (Logto's `events`). */
  events: string[];
  /** The endpoint: an http(s) URL. */
  url: string;
  /** Extra request headers sent with every delivery. */
  headers: Record<string, string>;
  /** How many times a failed delivery is retried (0–3, Logto's `config.retries`). */
  retries: number;
  signingKey: string;
  enabled: boolean;
  createdAt: number;
  updatedAt: number;
}

/** The columns of a hook a change may set. */
export type HookPatch = Partial<Pick<HookRecord, 'name' | 'events' | 'url' | 'headers' | 'retries' | 'signingKey' | 'enabled' | 'updatedAt'>>;

/** Webhooks. */
export interface HookStore {
  insert(hook: HookRecord): Promise<void>;
  findById(id: string): Promise<HookRecord | undefined>;
  /** Every hook, oldest first. */
  list(): Promise<HookRecord[]>;
  /** Enabled hooks subscribed to `event`. */
  listEnabledFor(event: string): Promise<HookRecord[]>;
  /** @returns the hook after the change, or undefined when there is none */
  update(id: string, patch: HookPatch): Promise<HookRecord | undefined>;
  /** Deletes the hook and (cascade) its queued deliveries. @returns true when one was deleted */
  delete(id: string): Promise<boolean>;
}

/** One queued delivery (a row of the outbox). */
export interface HookJob {
  seq: number;
  hookId: string;
  /** Deliveries with one `orderKey` (the user the event is about) go out in `seq` order. */
  orderKey: string;
  event: string;
  /** The event as the domain wrote it (JSON text). */
  payload: string;
  state: 'pending' | 'failed';
  /** Deliveries tried so far, this one included once claimed. */
  attempts: number;
  nextAttemptAt: number;
  leaseUntil: number | null;
  lastError: string | null;
  createdAt: number;
}

/** A job to queue: {@link HookJob} without what the store assigns. */
export type NewHookJob = Pick<HookJob, 'hookId' | 'orderKey' | 'event' | 'payload' | 'createdAt'>;

/** What became of one claimed job ({@link HookJobStore.settle}); `seq` and `attempts` are the claim's. */
export type JobOutcome =
  | { seq: number; attempts: number; kind: 'done' }
  | { seq: number; attempts: number; kind: 'retry'; nextAttemptAt: number; error: string }
  | { seq: number; attempts: number; kind: 'failed'; error: string };

/** The outbox of webhook deliveries. */
export interface HookJobStore {
  /** Queues deliveries (joins the ambient transaction, so they commit with the change they report). */
  enqueue(jobs: readonly NewHookJob[]): Promise<void>;
  /**
   * Claims due jobs for `leaseMs`: pending, due, not leased by a live worker, and the oldest pending job of
   * their hook and order key (so one user's events go out in order). At most `quotas.get(hookId)` jobs of
   * each hook listed there (hooks not listed are not claimed), at most `limit` in all, oldest first. Each
   * hook's jobs are found through its own index range (`hook_jobs_hook_idx`), so one hook's backlog never
   * costs the claim of another. Claiming increments `attempts`. On PostgreSQL rows are picked with
   * `FOR UPDATE SKIP LOCKED`, so workers on several nodes never claim one job twice while its lease holds.
   * One statement.
   */
  claim(now: number, leaseMs: number, limit: number, quotas: ReadonlyMap<string, number>): Promise<HookJob[]>;
  /**
   * Records what became of claimed jobs (joins the ambient transaction; the `done` ones in one statement per
   * 200, the others one each, as they are rare):
   * `done` removes the job, `retry` releases it until `nextAttemptAt`, `failed` keeps it as failed (never
   * retried). Each applies only while the job's `attempts` is still the caller's claim (a lease that ran out
   * and was claimed again by another worker is theirs).
   */
  settle(outcomes: readonly JobOutcome[]): Promise<void>;
  /** Jobs in a state (the operator's CLI, tests). */
  count(state: 'pending' | 'failed'): Promise<number>;
}

/**
 * One audit log entry (Logto's `logs` row). `payload` holds `key`, `result` and the context. A webhook
 * delivery entry (`hookId` set) keeps its user and application in `payload` only, not in the `userId` and
 * `applicationId` columns, so the user and application filters (and their indexes) never meet deliveries.
 */
export interface LogRecord {
  id: string;
  key: string;
  result: 'Success' | 'Error';
  userId: string | null;
  applicationId: string | null;
  hookId: string | null;
  payload: Record<string, unknown>;
  createdAt: number;
}

/** Filters and paging of {@link LogStore.list}. */
export interface LogQuery {
  userId?: string;
  applicationId?: string;
  hookId?: string;
  /** Exact log key. */
  key?: string;
  /** Only entries created at or after this time (ms). */
  since?: number;
  /** Only entries created at or before this time (ms). */
  until?: number;
  /** Leave out webhook deliveries (entries with a `hookId`). */
  excludeDeliveries?: boolean;
  result?: 'Success' | 'Error';
  /** Count at most this many matches (Logto's `enableCap`): `total` is then at most `countCap + 1`. */
  countCap?: number;
  offset: number;
  limit: number;
}

/** The audit log. */
export interface LogStore {
  /** Appends entries, 100 a statement (joins the ambient transaction). */
  insertMany(records: readonly LogRecord[]): Promise<void>;
  findById(id: string): Promise<LogRecord | undefined>;
  /** One page, newest first, and the number of all matches. */
  list(query: LogQuery): Promise<{ logs: LogRecord[]; total: number }>;
  /** Deletes entries older than `before` (retention). @returns how many */
  deleteOlderThan(before: number): Promise<number>;
}

function parseJson<T>(text: string, fallback: T): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

function toHook(row: Selectable<HooksTable>): HookRecord {
  return {
    id: row.id,
    name: row.name,
    events: parseJson<string[]>(row.events, []),
    url: row.url,
    headers: parseJson<Record<string, string>>(row.headers, {}),
    retries: Number(row.retries),
    signingKey: row.signing_key,
    enabled: Boolean(row.enabled),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

/** Kysely implementation of {@link HookStore}. */
export class KyselyHookStore implements HookStore {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(h: HookRecord): Promise<void> {
    await this.db
      .insertInto('hooks')
      .values({
        id: h.id,
        name: h.name,
        events: JSON.stringify(h.events),
        url: h.url,
        headers: JSON.stringify(h.headers),
        retries: h.retries,
        signing_key: h.signingKey,
        enabled: h.enabled ? 1 : 0,
        created_at: h.createdAt,
        updated_at: h.updatedAt,
      })
      .execute();
  }

  async findById(id: string): Promise<HookRecord | undefined> {
    const row = await this.db.selectFrom('hooks').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toHook(row) : undefined;
  }

  async list(): Promise<HookRecord[]> {
    const rows = await this.db.selectFrom('hooks').selectAll().orderBy('created_at').orderBy('id').execute();
    return rows.map(toHook);
  }

  async listEnabledFor(event: string): Promise<HookRecord[]> {
    // Hooks are few (an operator's list); the event list is JSON text, so the filter is ours.
    const rows = await this.db.selectFrom('hooks').selectAll().where('enabled', '=', 1).execute();
    return rows.map(toHook).filter((h) => h.events.includes(event));
  }

  async update(id: string, p: HookPatch): Promise<HookRecord | undefined> {
    const values: Partial<Record<keyof HooksTable, unknown>> = {};
    if (p.name !== undefined) values.name = p.name;
    if (p.events !== undefined) values.events = JSON.stringify(p.events);
    if (p.url !== undefined) values.url = p.url;
    if (p.headers !== undefined) values.headers = JSON.stringify(p.headers);
    if (p.retries !== undefined) values.retries = p.retries;
    if (p.signingKey !== undefined) values.signing_key = p.signingKey;
    if (p.enabled !== undefined) values.enabled = p.enabled ? 1 : 0;
    if (p.updatedAt !== undefined) values.updated_at = p.updatedAt;
    if (Object.keys(values).length > 0) await this.db.updateTable('hooks').set(values as never).where('id', '=', id).execute();
    return this.findById(id);
  }

  async delete(id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('hooks').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
}

function toJob(row: Selectable<HookJobsTable>): HookJob {
  return {
    seq: Number(row.seq),
    hookId: row.hook_id,
    orderKey: row.order_key,
    event: row.event,
    payload: row.payload,
    state: row.state as HookJob['state'],
    attempts: Number(row.attempts),
    nextAttemptAt: Number(row.next_attempt_at),
    leaseUntil: row.lease_until === null ? null : Number(row.lease_until),
    lastError: row.last_error,
    createdAt: Number(row.created_at),
  };
}

/** Kysely implementation of {@link HookJobStore} (SQLite: one process; PostgreSQL: many nodes). */
export class KyselyHookJobStore implements HookJobStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: 'sqlite' | 'postgres',
  ) {}

  async enqueue(jobs: readonly NewHookJob[]): Promise<void> {
    if (jobs.length === 0) return;
    await this.db
      .insertInto('hook_jobs')
      .values(
        jobs.map((j) => ({
          hook_id: j.hookId,
          order_key: j.orderKey,
          event: j.event,
          payload: j.payload,
          state: 'pending',
          attempts: 0,
          next_attempt_at: j.createdAt,
          lease_until: null,
          last_error: null,
          created_at: j.createdAt,
        })),
      )
      .execute();
  }

  async claim(now: number, leaseMs: number, limit: number, quotas: ReadonlyMap<string, number>): Promise<HookJob[]> {
    const wanted = [...quotas].filter(([, n]) => n > 0);
    if (limit <= 0 || wanted.length === 0) return [];
    const postgres = this.dialect === 'postgres';
    const lock = postgres ? sql`for update of j skip locked` : sql``;
    // SQLite has no statistics to choose by (no ANALYZE): without these hints it walked hook_jobs_due_idx,
    // sorted, and checked each candidate's predecessors through hook_jobs_hook_idx, quadratic in the
    // backlog (43 ms per claim at 2 000 queued jobs; 0.16 ms with them).
    const byHook = postgres ? sql`` : sql`indexed by hook_jobs_hook_idx`;
    const byOrder = postgres ? sql`` : sql`indexed by hook_jobs_pending_idx`;
    // One index range per hook (hook_id, state, seq), oldest first; the union is cut to `limit`.
    const perHook = wanted.map(
      ([hookId, n], i) => sql`select seq from (
        select j.seq from hook_jobs j ${byHook}
        where j.hook_id = ${hookId} and j.state = 'pending' and j.next_attempt_at <= ${now} and (j.lease_until is null or j.lease_until < ${now})
          and not exists (
            select 1 from hook_jobs p ${byOrder}
            where p.hook_id = j.hook_id and p.order_key = j.order_key and p.seq < j.seq and p.state = 'pending'
          )
        order by j.seq
        limit ${n}
        ${lock}
      ) ${sql.raw(`h${i}`)}`,
    );
    const result = await sql<Selectable<HookJobsTable>>`
      update hook_jobs set lease_until = ${now + leaseMs}, attempts = attempts + 1
      where seq in (select seq from (${sql.join(perHook, sql` union all `)}) due order by seq limit ${limit})
      returning *`.execute(this.db);
    return result.rows.map(toJob).sort((a, b) => a.seq - b.seq);
  }

  async settle(outcomes: readonly JobOutcome[]): Promise<void> {
    const done = outcomes.filter((o) => o.kind === 'done');
    // In chunks, so the statement stays within SQLite's limits on parameters and expression depth.
    for (let i = 0; i < done.length; i += 200) {
      const chunk = done.slice(i, i + 200);
      await this.db
        .deleteFrom('hook_jobs')
        .where((eb) => eb.or(chunk.map((o) => eb.and([eb('seq', '=', o.seq), eb('attempts', '=', o.attempts)]))))
        .execute();
    }
    for (const o of outcomes) {
      if (o.kind === 'retry') {
        await this.db
          .updateTable('hook_jobs')
          .set({ lease_until: null, next_attempt_at: o.nextAttemptAt, last_error: o.error })
          .where('seq', '=', o.seq)
          .where('attempts', '=', o.attempts)
          .execute();
      } else if (o.kind === 'failed') {
        await this.db
          .updateTable('hook_jobs')
          .set({ state: 'failed', lease_until: null, last_error: o.error })
          .where('seq', '=', o.seq)
          .where('attempts', '=', o.attempts)
          .execute();
      }
    }
  }

  async count(state: 'pending' | 'failed'): Promise<number> {
    const row = await this.db.selectFrom('hook_jobs').select((eb) => eb.fn.countAll<number>().as('n')).where('state', '=', state).executeTakeFirst();
    return Number(row?.n ?? 0);
  }
}

function toLog(row: Selectable<LogsTable>): LogRecord {
  return {
    id: row.id,
    key: row.key,
    result: row.result === 'Error' ? 'Error' : 'Success',
    userId: row.user_id,
    applicationId: row.application_id,
    hookId: row.hook_id,
    payload: parseJson<Record<string, unknown>>(row.payload, {}),
    createdAt: Number(row.created_at),
  };
}

/** Kysely implementation of {@link LogStore}. */
export class KyselyLogStore implements LogStore {
  constructor(private readonly db: Kysely<Database>) {}

  async insertMany(records: readonly LogRecord[]): Promise<void> {
    // 8 parameters a row: 100 rows a statement stays within SQLite's parameter limit.
    for (let i = 0; i < records.length; i += 100) await this.insertRows(records.slice(i, i + 100));
  }

  private async insertRows(records: readonly LogRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.db
      .insertInto('logs')
      .values(
        records.map((r) => ({
          id: r.id,
          key: r.key,
          result: r.result,
          user_id: r.userId,
          application_id: r.applicationId,
          hook_id: r.hookId,
          payload: JSON.stringify(r.payload),
          created_at: r.createdAt,
        })),
      )
      .execute();
  }

  async findById(id: string): Promise<LogRecord | undefined> {
    const row = await this.db.selectFrom('logs').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toLog(row) : undefined;
  }

  async list(q: LogQuery): Promise<{ logs: LogRecord[]; total: number }> {
    let base = this.db.selectFrom('logs');
    if (q.userId !== undefined) base = base.where('user_id', '=', q.userId);
    if (q.applicationId !== undefined) base = base.where('application_id', '=', q.applicationId);
    if (q.hookId !== undefined) base = base.where('hook_id', '=', q.hookId);
    if (q.key !== undefined) base = base.where('key', '=', q.key);
    if (q.since !== undefined) base = base.where('created_at', '>=', q.since);
    if (q.until !== undefined) base = base.where('created_at', '<=', q.until);
    if (q.excludeDeliveries) base = base.where('hook_id', 'is', null);
    if (q.result !== undefined) base = base.where('result', '=', q.result);
    // Nothing narrows the list but, at most, leaving out the deliveries: the total is a count the triggers of
    // migration 0027 keep (exact, no scan) — of the other entries (`logs:*`), plus the deliveries' (`hook-logs:*`).
    const unfiltered = Object.entries(q).every(([key, value]) => value === undefined || ['limit', 'offset', 'countCap', 'excludeDeliveries'].includes(key));
    const [rows, count] = await Promise.all([
      q.limit === 0 ? Promise.resolve([]) : base.selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(q.limit).offset(q.offset).execute(),
      unfiltered
        ? this.db
            .selectFrom('row_counts')
            .select((eb) => eb.fn.sum<number>('n').as('n'))
            .where((eb) => (q.excludeDeliveries ? eb('table_name', 'like', 'logs:%') : eb.or([eb('table_name', 'like', 'logs:%'), eb('table_name', 'like', 'hook-logs:%')])))
            .executeTakeFirst()
        : q.countCap === undefined
        ? base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst()
        : this.db
            .selectFrom(base.select(sql<number>`1`.as('one')).limit(q.countCap + 1).as('capped'))
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .executeTakeFirst(),
    ]);
    const total = Number(count?.n ?? 0);
    return { logs: rows.map(toLog), total: unfiltered && q.countCap !== undefined ? Math.min(total, q.countCap + 1) : total };
  }

  async deleteOlderThan(before: number): Promise<number> {
    const r = await this.db.deleteFrom('logs').where('created_at', '<', before).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
