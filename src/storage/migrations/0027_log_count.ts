import { type Kysely, type Migration, sql } from 'kysely';

/** How many counter rows PostgreSQL spreads each log count over (`row_counts.table_name` `logs:0` … `logs:7`). */
export const LOG_COUNT_SHARDS = 8;

/**
 * The number of audit log entries, kept by triggers (issue 20: `GET /api/logs` answers `Total-Number`, and an
 * exact `count(*)` over a million entries is a full index scan: 52 ms on SQLite, 250 ms on PostgreSQL), in
 * `row_counts` as the user count of migration 0007 is, in two counts: `logs:*` the entries that are not
 * webhook deliveries (what `/api/logs` lists without a filter, as Logto does) and `hook-logs:*` the
 * deliveries (`hook_id` set). Every sign-in writes a log entry inside its transaction, so on PostgreSQL
 * each count is spread over {@link LOG_COUNT_SHARDS} rows chosen by the connection's backend pid:
 * concurrent sign-ins on different connections do not wait for each other's counter row. Statement
 * triggers with transition tables count a whole retention delete at once. A count is the sum of its rows;
 * a row may go below zero, the sum stays exact and rolls back with the statement that changed it. SQLite
 * has one writer: one row per count, row triggers.
 */
export const migration: Migration = {
  async up(db: Kysely<any>) {
    const postgres = sql`${0}`.compile(db).sql === '$1';
    const shards = sql.lit(LOG_COUNT_SHARDS);
    if (postgres) {
      // Writers of logs wait until this migration commits, so the counts taken below are exact.
      await sql`lock table logs in share row exclusive mode`.execute(db);
      await sql`create function logs_count_insert() returns trigger language plpgsql as $$
        begin
          update row_counts set n = n + (select count(*) from added where hook_id is null)
            where table_name = 'logs:' || (pg_backend_pid() % ${shards});
          update row_counts set n = n + (select count(*) from added where hook_id is not null)
            where table_name = 'hook-logs:' || (pg_backend_pid() % ${shards});
          return null;
        end $$`.execute(db);
      await sql`create function logs_count_delete() returns trigger language plpgsql as $$
        begin
          update row_counts set n = n - (select count(*) from removed where hook_id is null)
            where table_name = 'logs:' || (pg_backend_pid() % ${shards});
          update row_counts set n = n - (select count(*) from removed where hook_id is not null)
            where table_name = 'hook-logs:' || (pg_backend_pid() % ${shards});
          return null;
        end $$`.execute(db);
      await sql`create trigger logs_count_insert after insert on logs referencing new table as added
        for each statement execute function logs_count_insert()`.execute(db);
      await sql`create trigger logs_count_delete after delete on logs referencing old table as removed
        for each statement execute function logs_count_delete()`.execute(db);
      for (let shard = 1; shard < LOG_COUNT_SHARDS; shard++) {
        await sql`insert into row_counts (table_name, n) values (${`logs:${shard}`}, 0), (${`hook-logs:${shard}`}, 0)`.execute(db);
      }
    } else {
      for (const [name, when] of [['logs', sql`new.hook_id is null`], ['hook_logs', sql`new.hook_id is not null`]] as const) {
        const row = name === 'logs' ? 'logs:0' : 'hook-logs:0';
        await sql`create trigger ${sql.raw(`${name}_count_insert`)} after insert on logs when ${when} begin
          update row_counts set n = n + 1 where table_name = ${sql.lit(row)}; end`.execute(db);
        const old = name === 'logs' ? sql`old.hook_id is null` : sql`old.hook_id is not null`;
        await sql`create trigger ${sql.raw(`${name}_count_delete`)} after delete on logs when ${old} begin
          update row_counts set n = n - 1 where table_name = ${sql.lit(row)}; end`.execute(db);
      }
    }
    await sql`insert into row_counts (table_name, n) select 'logs:0', count(*) from logs where hook_id is null`.execute(db);
    await sql`insert into row_counts (table_name, n) select 'hook-logs:0', count(*) from logs where hook_id is not null`.execute(db);
  },
  async down(db: Kysely<any>) {
    const postgres = sql`${0}`.compile(db).sql === '$1';
    if (postgres) {
      await sql`drop trigger logs_count_insert on logs`.execute(db);
      await sql`drop trigger logs_count_delete on logs`.execute(db);
      await sql`drop function logs_count_insert()`.execute(db);
      await sql`drop function logs_count_delete()`.execute(db);
    } else {
      for (const trigger of ['logs_count_insert', 'logs_count_delete', 'hook_logs_count_insert', 'hook_logs_count_delete']) {
        await sql`drop trigger ${sql.raw(trigger)}`.execute(db);
      }
    }
    await sql`delete from row_counts where table_name like 'logs:%' or table_name like 'hook-logs:%'`.execute(db);
  },
};
