import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DatabaseHandle, migrateToLatest, openDatabase } from '../src/storage/database.js';
import { KyselyStore } from '../src/storage/kysely-store.js';
import { prepared } from '../src/storage/prepared.js';
import { userRecord } from './fixtures.js';
import { type DatabaseFactory, dialects } from './helpers.js';

describe.each(dialects)('compiled hot-path queries (prepared) on %s', (name, database) => {
  let db: Awaited<ReturnType<DatabaseFactory>>;
  let handle: DatabaseHandle;
  let store: KyselyStore;

  beforeAll(async () => {
    db = await database();
    handle = openDatabase(db.url);
    await migrateToLatest(handle.db);
    store = new KyselyStore(handle);
  });
  afterAll(async () => {
    await handle?.close();
    await db?.drop();
  });

  it('binds each call\'s arguments in the compiled order and keeps constants', async () => {
    const a = userRecord({ username: 'prep_a', createdAt: 1_000 });
    const b = userRecord({ username: 'prep_b', createdAt: 2_000 });
    await store.users.insert(a);
    await store.users.insert(b);
    // Arguments used in another order than declared, next to a constant parameter.
    const query = prepared(() => handle.db, (after: number, username: string) =>
      handle.db.selectFrom('users').select(['id', 'username']).where('username', '=', username).where('is_suspended', '=', 0).where('created_at', '>', after),
    );
    expect(await query(0, 'prep_a')).toEqual([{ id: a.id, username: 'prep_a' }]);
    expect(await query(1_500, 'prep_a')).toEqual([]);
    expect(await query(1_500, 'prep_b')).toEqual([{ id: b.id, username: 'prep_b' }]);
    expect(await store.users.findByUsername('prep_b')).toMatchObject({ id: b.id });
    expect(await store.users.findByUsername('nobody')).toBeUndefined();
  });

  it.runIf(name === 'PostgreSQL')('survives a table change under a prepared statement (another node migrating)', async () => {
    const c = userRecord({ username: 'prep_c' });
    await store.users.insert(c);
    // Prepare `select * from users …` on the pool's connections.
    await Promise.all(Array.from({ length: 12 }, () => store.users.findById(c.id)));
    await sql`alter table users add column prep_extra integer`.execute(handle.db);
    try {
      const found = await Promise.all(Array.from({ length: 12 }, () => store.users.findById(c.id)));
      expect(found.every((u) => u?.id === c.id)).toBe(true);
      expect((await store.users.findById(c.id))?.username).toBe('prep_c');
    } finally {
      await sql`alter table users drop column prep_extra`.execute(handle.db);
    }
  });
});
