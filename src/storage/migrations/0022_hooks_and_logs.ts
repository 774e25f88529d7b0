import { type Kysely, type Migration, sql } from 'kysely';

/**
 * Webhooks and the audit log (issue 20).
 * - `hooks`: Logto's webhooks (name, subscribed events, endpoint URL and extra headers, signing key,
 *   enabled flag). Times in ms since the epoch.
 * - `hook_jobs`: the outbox. A change that others may react to writes one row per matching enabled hook
 *   in the same transaction as the change (domain/events/outbox.ts), so a committed change always has its
 *   deliveries queued and a rolled-back one never does. `seq` orders the rows (per hook and `order_key`,
 *   the user the event is about, deliveries are made in `seq` order); `lease_until` is the claim of a
 *   worker (a worker that dies mid-delivery loses its lease and another one retries); `state` is
 *   `pending` or `failed` (retries used up); a delivered job is deleted, its record is in `logs`.
 * - `logs`: the audit log, Logto's `logs` (a key such as `Interaction.SignIn.Submit` or
 *   `TriggerHook.PostSignIn`, and a JSON payload), with the columns the Management API filters on copied
 *   out of the payload and indexed.
 */
export const migration: Migration = {
  async up(db: Kysely<any>) {
    const postgres = sql`${0}`.compile(db).sql === '$1';
    await db.schema
      .createTable('hooks')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('name', 'varchar(256)', (c) => c.notNull())
      .addColumn('events', 'text', (c) => c.notNull())
      .addColumn('url', 'text', (c) => c.notNull())
      .addColumn('headers', 'text', (c) => c.notNull())
      .addColumn('retries', 'integer', (c) => c.notNull())
      .addColumn('signing_key', 'varchar(128)', (c) => c.notNull())
      .addColumn('enabled', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('hook_jobs')
      .addColumn('seq', postgres ? 'bigserial' : 'integer', (c) => (postgres ? c.primaryKey() : c.primaryKey().autoIncrement()))
      .addColumn('hook_id', 'varchar(64)', (c) => c.notNull().references('hooks.id').onDelete('cascade'))
      .addColumn('order_key', 'varchar(64)', (c) => c.notNull())
      .addColumn('event', 'varchar(64)', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('state', 'varchar(16)', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull())
      .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
      .addColumn('lease_until', 'bigint')
      .addColumn('last_error', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('hook_jobs_due_idx').on('hook_jobs').columns(['state', 'next_attempt_at']).execute();
    await db.schema.createIndex('hook_jobs_order_idx').on('hook_jobs').columns(['hook_id', 'order_key', 'seq']).execute();
    await db.schema
      .createTable('logs')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('key', 'varchar(128)', (c) => c.notNull())
      .addColumn('result', 'varchar(16)', (c) => c.notNull())
      .addColumn('user_id', 'varchar(64)')
      .addColumn('application_id', 'varchar(128)')
      .addColumn('hook_id', 'varchar(64)')
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    // Newest first, with the id as tie-breaker: one index per filter the Management API offers.
    await db.schema.createIndex('logs_created_idx').on('logs').columns(['created_at', 'id']).execute();
    await db.schema.createIndex('logs_user_idx').on('logs').columns(['user_id', 'created_at', 'id']).execute();
    await db.schema.createIndex('logs_application_idx').on('logs').columns(['application_id', 'created_at', 'id']).execute();
    await db.schema.createIndex('logs_key_idx').on('logs').columns(['key', 'created_at', 'id']).execute();
    await db.schema.createIndex('logs_hook_idx').on('logs').columns(['hook_id', 'created_at', 'id']).execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('logs').execute();
    await db.schema.dropTable('hook_jobs').execute();
    await db.schema.dropTable('hooks').execute();
  },
};
