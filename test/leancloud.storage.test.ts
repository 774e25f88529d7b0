/**
 * The storage the LeanCloud surface adds, on SQLite and PostgreSQL alike: identities (unique per
 * provider + subject and per user + provider), ACLs, locked read-modify-write of users, and user scans.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdentityService } from '../src/domain/social/identities.js';
import { isAppError } from '../src/errors/index.js';
import { type DatabaseHandle, migrateToLatest, openDatabase } from '../src/storage/database.js';
import { IdentityConflict } from '../src/storage/identity-store.js';
import { KyselyStore } from '../src/storage/kysely-store.js';
import { UniqueViolation, type UserRecord } from '../src/storage/store.js';
import { ManualClock } from '../src/util/clock.js';
import { userRecord } from './fixtures.js';
import { dialects } from './leancloud-helpers.js';

let seq = 0;
function user(overrides: Partial<UserRecord> = {}): UserRecord {
  const n = ++seq;
  return userRecord({
    username: `store-user-${n}-${Math.random().toString(36).slice(2, 8)}`,
    createdAt: 1_795_426_758_990 + n,
    updatedAt: 1_795_426_758_990 + n,
    ...overrides,
  });
}

describe.each(dialects)('LeanCloud storage on %s', (_name, database) => {
  let db: Awaited<ReturnType<typeof database>>;
  let handle: DatabaseHandle;
  let store: KyselyStore;

  beforeAll(async () => {
    db = await database();
    handle = openDatabase(db.url);
    await migrateToLatest(handle.db);
    store = new KyselyStore(handle);
  });
  afterAll(async () => {
    await handle.close();
    await db.drop();
  });

  it('keeps one identity per (provider, subject) and per (user, provider)', async () => {
    const a = user();
    const b = user();
    await store.users.insert(a);
    await store.users.insert(b);
    const rec = (userId: string, subject: string, data: Record<string, unknown> = {}) => ({ userId, provider: 'weixin', subject, data, createdAt: 1, updatedAt: 1 });
    await store.identities.upsert(rec(a.id, 'open-1', { token: 't1' }));
    await expect(store.identities.upsert(rec(b.id, 'open-1'))).rejects.toBeInstanceOf(IdentityConflict);
    // re-linking the same user replaces subject and data, keeping one row
    await store.identities.upsert({ ...rec(a.id, 'open-2', { token: 't2' }), updatedAt: 2 });
    expect(await store.identities.listByUser(a.id)).toEqual([{ userId: a.id, provider: 'weixin', subject: 'open-2', data: { token: 't2' }, verified: false, imported: false, createdAt: 1, updatedAt: 2 }]);
    // the verified flag (migration 0013) round-trips and is replaced by a re-link
    await store.identities.upsert({ ...rec(a.id, 'open-2', { token: 't2' }), verified: true, updatedAt: 3 });
    expect((await store.identities.findBySubject('weixin', 'open-2'))?.verified).toBe(true);
    await store.identities.upsert({ ...rec(a.id, 'open-2', { token: 't2' }), imported: true, updatedAt: 3 });
    expect(await store.identities.findBySubject('weixin', 'open-2')).toMatchObject({ verified: true, imported: true });
    await store.identities.upsert({ ...rec(a.id, 'open-2', { token: 't2' }), updatedAt: 4 });
    expect((await store.identities.findBySubject('weixin', 'open-2'))?.verified).toBe(false);
    expect(await store.identities.findBySubject('weixin', 'open-1')).toBeUndefined();
    await store.identities.upsert(rec(b.id, 'open-1'));
    expect((await store.identities.findBySubject('weixin', 'open-1'))?.userId).toBe(b.id);
    expect((await store.identities.listByUsers([a.id, b.id])).map((i) => i.subject).sort()).toEqual(['open-1', 'open-2']);
    expect(await store.identities.delete(a.id, 'weixin')).toBe(true);
    expect(await store.identities.delete(a.id, 'weixin')).toBe(false);
    // identities go with their user
    await store.users.delete(b.id);
    expect(await store.identities.findBySubject('weixin', 'open-1')).toBeUndefined();
  });

  it('lets exactly one of concurrent links of one external account win', async () => {
    const users = Array.from({ length: 6 }, () => user());
    for (const u of users) await store.users.insert(u);
    const identities = new IdentityService(store, new ManualClock());
    const results = await Promise.allSettled(users.map((u) => identities.link(u.id, 'qq', 'contested', {})));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(isAppError(r.reason, 'identity.already_linked')).toBe(true);
  });

  it('stores ACLs and scans users by column filters in id order', async () => {
    const u = user({ primaryEmail: 'Scan@Example.com', primaryPhone: '+8613800001111' });
    await store.users.insert(u);
    expect(await store.leancloud.getAcl(u.id)).toBeUndefined();
    await store.leancloud.setAcl(u.id, { [u.id]: { read: true } });
    await store.leancloud.setAcl(u.id, { '*': { read: true } });
    expect(await store.leancloud.getAcl(u.id)).toEqual({ '*': { read: true } });
    expect((await store.leancloud.getAcls([u.id, 'nobody'])).get(u.id)).toEqual({ '*': { read: true } });
    await store.leancloud.setAcl(u.id, null);
    expect(await store.leancloud.getAcl(u.id)).toBeUndefined();

    expect((await store.leancloud.scanUsers({ emailKeys: ['scan@example.com'] }, null, 10)).map((x) => x.id)).toEqual([u.id]);
    expect(await store.leancloud.scanUsers({ phones: ['+8613800001111'], usernames: ['other'] }, null, 10)).toEqual([]);
    expect(await store.leancloud.scanUsers({ ids: [] }, null, 10)).toEqual([]);
    expect((await store.leancloud.scanUsers({ createdAt: { gte: u.createdAt, lte: u.createdAt } }, null, 10)).map((x) => x.id)).toEqual([u.id]);
    const all = await store.leancloud.scanUsers({}, null, 1000);
    expect(all.map((x) => x.id)).toEqual([...all.map((x) => x.id)].sort());
    const after = await store.leancloud.scanUsers({}, all[0]!.id, 1000);
    expect(after).toHaveLength(all.length - 1);
  });

  it('serialises read-modify-writes of one user and maps unique violations', async () => {
    const u = user({ customData: { n: 0 } });
    const other = user();
    await store.users.insert(u);
    await store.users.insert(other);
    await Promise.all(
      Array.from({ length: 25 }, () =>
        store.leancloud.updateUserWith(u.id, (row) => ({ customData: { n: (row.customData.n as number) + 1 }, updatedAt: row.updatedAt + 1 })),
      ),
    );
    const after = await store.users.findById(u.id);
    expect(after?.customData).toEqual({ n: 25 });
    expect(after?.updatedAt).toBe(u.updatedAt + 25);
    expect(await store.leancloud.updateUserWith('missing-user', () => ({ name: 'x' }))).toBeUndefined();
    await expect(store.leancloud.updateUserWith(u.id, () => ({ username: other.username }))).rejects.toBeInstanceOf(UniqueViolation);
    await expect(
      store.leancloud.updateUserWith(u.id, () => {
        throw new Error('compute failed');
      }),
    ).rejects.toThrow('compute failed');
    expect((await store.users.findById(u.id))?.username).toBe(u.username);
  });
});
