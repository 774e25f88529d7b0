import { type Kysely, type Migration, sql } from 'kysely';

/**
 * The outbox read one hook at a time (issue 20: a hook whose endpoint never answers must not slow the
 * others, nor sign-ins):
 * - `hook_jobs_hook_idx` (hook_id, state, seq): `HookJobStore.claim` walks each hook's pending jobs in
 *   `seq` order, so a hook's backlog (an endpoint that is down keeps its jobs pending) is never scanned on
 *   behalf of another hook, as the single walk over `hook_jobs_due_idx` did;
 * - `hook_jobs_pending_idx` (hook_id, order_key, state, seq) replaces `hook_jobs_order_idx`: "is an earlier
 *   job of this user still pending" is one index probe, which every planner prefers without statistics
 *   (PostgreSQL, before its first ANALYZE of the table, checked it by walking the whole hook's backlog: 7.7 ms
 *   per claim at 5 000 queued jobs);
 * - `hook_jobs_due_idx` (state, next_attempt_at) goes: nothing reads by it any more, and every job written
 *   and removed paid for it.
 *
 * And the audit log's user and application indexes become partial (`… is not null`): a delivery's entry
 * (and an entry without a client) has no user or application column, so it no longer writes two index
 * entries no filter reads. `user_id = ?` implies `user_id is not null`, so both databases still use them.
 */
export const migration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createIndex('hook_jobs_hook_idx').on('hook_jobs').columns(['hook_id', 'state', 'seq']).execute();
    await db.schema.createIndex('hook_jobs_pending_idx').on('hook_jobs').columns(['hook_id', 'order_key', 'state', 'seq']).execute();
    await db.schema.dropIndex('hook_jobs_order_idx').execute();
    await db.schema.dropIndex('hook_jobs_due_idx').execute();
    await db.schema.dropIndex('logs_user_idx').execute();
    await db.schema.dropIndex('logs_application_idx').execute();
    await db.schema.createIndex('logs_user_idx').on('logs').columns(['user_id', 'created_at', 'id']).where(sql.ref('user_id'), 'is not', null).execute();
    await db.schema.createIndex('logs_application_idx').on('logs').columns(['application_id', 'created_at', 'id']).where(sql.ref('application_id'), 'is not', null).execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropIndex('logs_user_idx').execute();
    await db.schema.dropIndex('logs_application_idx').execute();
    await db.schema.createIndex('logs_user_idx').on('logs').columns(['user_id', 'created_at', 'id']).execute();
    await db.schema.createIndex('logs_application_idx').on('logs').columns(['application_id', 'created_at', 'id']).execute();
    await db.schema.createIndex('hook_jobs_due_idx').on('hook_jobs').columns(['state', 'next_attempt_at']).execute();
    await db.schema.createIndex('hook_jobs_order_idx').on('hook_jobs').columns(['hook_id', 'order_key', 'seq']).execute();
    await db.schema.dropIndex('hook_jobs_pending_idx').execute();
    await db.schema.dropIndex('hook_jobs_hook_idx').execute();
  },
};
