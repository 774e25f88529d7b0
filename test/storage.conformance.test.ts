import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type DatabaseHandle, migrateToLatest, openDatabase } from '../src/storage/database.js';
import { KyselyStore } from '../src/storage/kysely-store.js';
import { SEARCH_CANDIDATE_CAP } from '../src/storage/user-list.js';
import {
  type SessionRecord,
  type UniqueField,
  UniqueViolation,
  type UserRecord,
  type VerificationRecord,
} from '../src/storage/store.js';
import { T, userRecord } from './fixtures.js';
import { forEachStorage, type OpenedStore } from './storage-targets.js';


type Opened = OpenedStore;

let seq = 0;
const uid = (prefix = 'u') => `${prefix}${(++seq).toString(16).padStart(8, '0')}${Math.random().toString(16).slice(2, 10)}`;

function user(overrides: Partial<UserRecord> = {}): UserRecord {
  return userRecord({ id: uid('usr'), ...overrides });
}

function session(userId: string, overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    id: uid('ses'),
    userId,
    tokenHash: uid('hash').padEnd(64, '0'),
    amr: ['pwd'],
    ip: '203.0.113.7',
    userAgent: 'vitest',
    createdAt: T,
    lastUsedAt: T,
    expiresAt: T + 30 * 86_400_000,
    ...overrides,
  };
}

function verification(overrides: Partial<VerificationRecord> = {}): VerificationRecord {
  return {
    id: uid('vrf'),
    type: 'email_code',
    purpose: 'SignIn',
    identifierType: 'email',
    identifier: 'code@example.com',
    userId: null,
    codeHash: uid('ch').padEnd(64, '0'),
    linkHash: null,
    attempts: 0,
    ip: '203.0.113.9',
    createdAt: T,
    expiresAt: T + 600_000,
    verifiedAt: null,
    consumedAt: null,
    ...overrides,
  };
}

/** Awaits `p` and returns the UniqueViolation field it rejected with (fails on anything else). */
async function violationField(p: Promise<unknown>): Promise<UniqueField> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'expected a UniqueViolation').toBeInstanceOf(UniqueViolation);
  return (error as UniqueViolation).field;
}

function storeSuite(name: string, open: () => Promise<Opened>) {
  describe(`Store conformance: ${name}`, () => {
    let opened: Opened;
    let store: KyselyStore;

    beforeAll(async () => {
      opened = await open();
      await migrateToLatest(opened.handle.db);
      store = new KyselyStore(opened.handle);
    });

    afterAll(async () => {
      await opened?.cleanup();
    });

    beforeEach(async () => {
      const db = opened.handle.db;
      await db.deleteFrom('verifications').execute();
      await db.deleteFrom('sign_in_guards').execute();
      await db.deleteFrom('sessions').execute();
      await db.deleteFrom('users').execute();
    });

    it('ping() answers true and reports its dialect', async () => {
      expect(await store.ping()).toBe(true);
      expect(store.dialect).toBe(opened.handle.dialect);
    });

    describe('users', () => {
      it('inserts and finds by id, returning every field as given', async () => {
        const u = user({
          username: 'Alice',
          primaryEmail: 'Alice@Example.COM',
          primaryPhone: '+8613800138000',
          name: 'Alice Liddell',
          avatar: 'https://cdn.example.com/a.png',
          passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA',
          passwordUpdatedAt: T + 1,
          lastSignInAt: T + 2,
          updatedAt: T + 3,
        });
        await store.users.insert(u);
        expect(await store.users.findById(u.id)).toEqual(u);
        expect(await store.users.findById('nope')).toBeUndefined();
      });

      it('a lookup from outside an open transaction never reads its uncommitted rows', async () => {
        // The hot lookups (prepared.ts) run on SQLite's one connection directly when no transaction is open;
        // while another flow's transaction is open between its awaits they must wait for it (SQLite) or read
        // the committed state from another connection (PostgreSQL): a row that is rolled back is never seen.
        const ghost = user({ username: 'ghost' });
        let written!: () => void;
        const insertWritten = new Promise<void>((resolve) => (written = resolve));
        // Started before the transaction, so it is not in the transaction's ambient scope.
        const outside = (async () => {
          await insertWritten;
          return store.users.findById(ghost.id);
        })();
        const transaction = store.transaction(async () => {
          await store.users.insert(ghost);
          written();
          await new Promise((resolve) => setTimeout(resolve, 30));
          throw new Error('roll back');
        });
        await expect(transaction).rejects.toThrow('roll back');
        expect(await outside).toBeUndefined();
        expect(await store.users.findById(ghost.id)).toBeUndefined();
      });

      it('finds by username exactly (case-sensitive)', async () => {
        const u = user({ username: 'CaseUser' });
        await store.users.insert(u);
        expect((await store.users.findByUsername('CaseUser'))?.id).toBe(u.id);
        expect(await store.users.findByUsername('caseuser')).toBeUndefined();
        expect(await store.users.findByUsername('CASEUSER')).toBeUndefined();
        expect(await store.users.findByUsername('CaseUse')).toBeUndefined();
      });

      it('finds by email case-insensitively and keeps the email as given', async () => {
        const u = user({ primaryEmail: 'Mixed.Case@Example.Org' });
        await store.users.insert(u);
        for (const q of ['Mixed.Case@Example.Org', 'mixed.case@example.org', 'MIXED.CASE@EXAMPLE.ORG']) {
          const found = await store.users.findByEmail(q);
          expect(found?.id).toBe(u.id);
          expect(found?.primaryEmail).toBe('Mixed.Case@Example.Org');
        }
        expect(await store.users.findByEmail('other@example.org')).toBeUndefined();
      });

      it('finds by phone exactly', async () => {
        const u = user({ primaryPhone: '+14155550100' });
        await store.users.insert(u);
        expect((await store.users.findByPhone('+14155550100'))?.id).toBe(u.id);
        expect(await store.users.findByPhone('14155550100')).toBeUndefined();
        expect(await store.users.findByPhone('+14155550101')).toBeUndefined();
      });

      it('round-trips JSON fields (nested profile address, arbitrary customData)', async () => {
        const profile = {
          givenName: 'Zoë',
          familyName: '王',
          birthdate: '1990-02-28',
          locale: 'zh-CN',
          address: { streetAddress: '1 Main St\nApt "2"', locality: 'Springfield', postalCode: '12345', country: 'US' },
        };
        const customData = {
          plan: 'pro',
          seats: 12,
          ratio: 0.25,
          beta: true,
          off: false,
          none: null,
          tags: ['a', 'b', 'ü'],
          nested: { deep: { list: [1, { x: 'y' }] } },
        };
        const u = user({ profile, customData });
        await store.users.insert(u);
        const found = await store.users.findById(u.id);
        expect(found?.profile).toEqual(profile);
        expect(found?.customData).toEqual(customData);

        const newProfile = { nickname: 'z', address: { formatted: 'Somewhere 1' } };
        const updated = await store.users.update(u.id, { profile: newProfile, customData: { only: 1 } });
        expect(updated?.profile).toEqual(newProfile);
        expect(updated?.customData).toEqual({ only: 1 });
        expect((await store.users.findById(u.id))?.customData).toEqual({ only: 1 });
      });

      it('round-trips booleans as booleans, both ways', async () => {
        const a = user({ emailVerified: true, phoneVerified: false, isSuspended: true });
        const b = user({ emailVerified: false, phoneVerified: true, isSuspended: false });
        await store.users.insert(a);
        await store.users.insert(b);
        const fa = await store.users.findById(a.id);
        const fb = await store.users.findById(b.id);
        expect([fa?.emailVerified, fa?.phoneVerified, fa?.isSuspended]).toStrictEqual([true, false, true]);
        expect([fb?.emailVerified, fb?.phoneVerified, fb?.isSuspended]).toStrictEqual([false, true, false]);
        const ua = await store.users.update(a.id, { emailVerified: false, isSuspended: false, phoneVerified: true });
        expect([ua?.emailVerified, ua?.phoneVerified, ua?.isSuspended]).toStrictEqual([false, true, false]);
      });

      it('round-trips millisecond timestamps beyond 2^31 as numbers', async () => {
        expect(T).toBeGreaterThan(2 ** 31);
        const u = user({ createdAt: T, updatedAt: T + 1, passwordUpdatedAt: T + 2, lastSignInAt: T + 3 });
        await store.users.insert(u);
        const found = await store.users.findById(u.id);
        for (const [k, v] of [
          ['createdAt', T],
          ['updatedAt', T + 1],
          ['passwordUpdatedAt', T + 2],
          ['lastSignInAt', T + 3],
        ] as const) {
          expect(typeof found?.[k], k).toBe('number');
          expect(found?.[k], k).toBe(v);
        }
        const later = T + 86_400_000 * 365;
        const updated = await store.users.update(u.id, { lastSignInAt: later, updatedAt: later });
        expect(updated?.lastSignInAt).toBe(later);
        expect(updated?.updatedAt).toBe(later);
        expect(updated?.createdAt).toBe(T);
        const cleared = await store.users.update(u.id, { lastSignInAt: null, passwordUpdatedAt: null });
        expect(cleared?.lastSignInAt).toBeNull();
        expect(cleared?.passwordUpdatedAt).toBeNull();
      });

      it('update applies the patch, leaves other fields and returns the user', async () => {
        const u = user({ username: 'before', name: 'Before', primaryEmail: 'b@example.com' });
        await store.users.insert(u);
        const updated = await store.users.update(u.id, { username: 'after', primaryEmail: 'New@Example.com' });
        expect(updated).toEqual({ ...u, username: 'after', primaryEmail: 'New@Example.com' });
        expect(await store.users.findByUsername('before')).toBeUndefined();
        expect(await store.users.findByEmail('b@example.com')).toBeUndefined();
        expect((await store.users.findByEmail('new@example.com'))?.id).toBe(u.id);

        const cleared = await store.users.update(u.id, { primaryEmail: null, username: null });
        expect(cleared?.primaryEmail).toBeNull();
        expect(cleared?.username).toBeNull();
        expect(await store.users.findByEmail('new@example.com')).toBeUndefined();
        // An empty patch changes nothing and still returns the user.
        expect(await store.users.update(u.id, {})).toEqual(cleared);
      });

      it('update of a missing id returns undefined and creates nothing', async () => {
        expect(await store.users.update('missing', { name: 'x', username: 'ghost' })).toBeUndefined();
        expect(await store.users.update('missing', {})).toBeUndefined();
        expect(await store.users.findByUsername('ghost')).toBeUndefined();
        expect(await store.users.count()).toBe(0);
      });

      it('allows many users without username, email or phone', async () => {
        await store.users.insert(user());
        await store.users.insert(user());
        await store.users.insert(user());
        expect(await store.users.count()).toBe(3);
      });

      it('insert throws UniqueViolation naming the field (username, email in any case, phone)', async () => {
        await store.users.insert(user({ username: 'taken', primaryEmail: 'Taken@Example.com', primaryPhone: '+15550001111' }));
        expect(await violationField(store.users.insert(user({ username: 'taken' })))).toBe('username');
        expect(await violationField(store.users.insert(user({ primaryEmail: 'taken@example.COM' })))).toBe('email');
        expect(await violationField(store.users.insert(user({ primaryPhone: '+15550001111' })))).toBe('phone');
        // Username is case-sensitive, so a different case is a different username.
        await store.users.insert(user({ username: 'TAKEN' }));
        expect(await store.users.count()).toBe(2);
      });

      it('update throws UniqueViolation naming the field and writes nothing', async () => {
        await store.users.insert(user({ username: 'owner', primaryEmail: 'owner@example.com', primaryPhone: '+15550002222' }));
        const other = user({ username: 'other', name: 'Other' });
        await store.users.insert(other);
        expect(await violationField(store.users.update(other.id, { username: 'owner', name: 'Changed' }))).toBe('username');
        expect(await violationField(store.users.update(other.id, { primaryEmail: 'OWNER@Example.com', name: 'Changed' }))).toBe(
          'email',
        );
        expect(await violationField(store.users.update(other.id, { primaryPhone: '+15550002222', name: 'Changed' }))).toBe(
          'phone',
        );
        expect(await store.users.findById(other.id)).toEqual(other);
      });

      it('delete removes the user, cascades its sessions and reports whether it deleted', async () => {
        const u = user();
        const keep = user();
        await store.users.insert(u);
        await store.users.insert(keep);
        const s1 = session(u.id);
        const s2 = session(u.id);
        const s3 = session(keep.id);
        for (const s of [s1, s2, s3]) await store.sessions.insert(s);

        expect(await store.users.delete(u.id)).toBe(true);
        expect(await store.users.findById(u.id)).toBeUndefined();
        expect(await store.sessions.findById(s1.id)).toBeUndefined();
        expect(await store.sessions.findByTokenHash(s2.tokenHash)).toBeUndefined();
        expect(await store.sessions.listByUser(u.id)).toEqual([]);
        expect(await store.sessions.findById(s3.id)).toEqual(s3);
        expect(await store.users.delete(u.id)).toBe(false);
        expect(await store.users.count()).toBe(1);
      });

      it('count counts users', async () => {
        expect(await store.users.count()).toBe(0);
        const ids: string[] = [];
        for (let i = 0; i < 5; i++) {
          const u = user({ username: `count${i}` });
          ids.push(u.id);
          await store.users.insert(u);
        }
        const n = await store.users.count();
        expect(typeof n).toBe('number');
        expect(n).toBe(5);
        await store.users.delete(ids[0]!);
        expect(await store.users.count()).toBe(4);
      });

      it('of 20 concurrent inserts with one username exactly one succeeds', async () => {
        const attempts = Array.from({ length: 20 }, () => user({ username: 'racer' }));
        const results = await Promise.allSettled(attempts.map((u) => store.users.insert(u)));
        const ok = results.filter((r) => r.status === 'fulfilled');
        const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        expect(ok).toHaveLength(1);
        expect(failed).toHaveLength(19);
        for (const f of failed) {
          expect(f.reason).toBeInstanceOf(UniqueViolation);
          expect((f.reason as UniqueViolation).field).toBe('username');
        }
        const winner = attempts[results.findIndex((r) => r.status === 'fulfilled')]!;
        expect((await store.users.findByUsername('racer'))?.id).toBe(winner.id);
        expect(await store.users.count()).toBe(1);
      });
    });

    describe('users.list (search and paging)', () => {
      const base = { terms: [], joint: 'or' as const, caseSensitive: false, offset: 0, limit: 20 };
      async function seed() {
        const rows = [
          user({ id: 'a'.repeat(24), username: 'Alice', primaryEmail: 'Alice@Example.com', name: 'Alice Liddell', createdAt: T + 1 }),
          user({ id: 'b'.repeat(24), username: 'bob', primaryEmail: 'bob@example.org', primaryPhone: '+14155550101', createdAt: T + 2 }),
          user({ id: 'c'.repeat(24), username: 'carol', name: 'Carol Alice', createdAt: T + 3 }),
          user({ id: 'd'.repeat(24), username: 'dave', primaryEmail: 'dave@example.com', createdAt: T + 3 }),
        ];
        for (const r of rows) await store.users.insert(r);
        return rows;
      }
      const ids = (r: { users: UserRecord[] }) => r.users.map((u) => u.username);

      it('pages newest first (ties broken by id, descending) and counts every match', async () => {
        await seed();
        const all = await store.users.list(base);
        expect(ids(all)).toEqual(['dave', 'carol', 'bob', 'Alice']);
        expect(all.total).toBe(4);
        const page2 = await store.users.list({ ...base, offset: 2, limit: 2 });
        expect(ids(page2)).toEqual(['bob', 'Alice']);
        expect(page2.total).toBe(4);
        expect(await store.users.list({ ...base, offset: 8, limit: 2 })).toEqual({ users: [], total: 4 });
      });

      it('matches like patterns across every field, case-insensitively by default', async () => {
        await seed();
        const r = await store.users.list({ ...base, terms: [{ fields: ['id', 'username', 'primaryEmail', 'primaryPhone', 'name'], values: ['%alice%'], mode: 'like' }] });
        expect(ids(r)).toEqual(['carol', 'Alice']);
        expect(r.total).toBe(2);
        const sensitive = await store.users.list({ ...base, caseSensitive: true, terms: [{ fields: ['username', 'name'], values: ['%Alice%'], mode: 'like' }] });
        expect(ids(sensitive)).toEqual(['carol', 'Alice']);
        const lower = await store.users.list({ ...base, caseSensitive: true, terms: [{ fields: ['username'], values: ['alice'], mode: 'like' }] });
        expect(lower.total).toBe(0);
      });

      it('matches exact values (several allowed) and combines terms with and/or', async () => {
        await seed();
        const exact = await store.users.list({ ...base, terms: [{ fields: ['primaryEmail'], values: ['ALICE@example.com', 'dave@example.com'], mode: 'exact' }] });
        expect(ids(exact)).toEqual(['dave', 'Alice']);
        const phone = await store.users.list({ ...base, terms: [{ fields: ['primaryPhone'], values: ['+14155550101'], mode: 'exact' }] });
        expect(ids(phone)).toEqual(['bob']);
        const terms = [
          { fields: ['primaryEmail' as const], values: ['%example.com'], mode: 'like' as const },
          { fields: ['name' as const], values: ['%alice%'], mode: 'like' as const },
        ];
        expect(ids(await store.users.list({ ...base, terms, joint: 'and' }))).toEqual(['Alice']);
        expect(ids(await store.users.list({ ...base, terms, joint: 'or' }))).toEqual(['dave', 'carol', 'Alice']);
      });

      it('pages a search past its matches, and past the candidate cap (counted apart)', async () => {
        await seed();
        const alice = [{ fields: ['name' as const], values: ['%alice%'], mode: 'like' as const }];
        expect(await store.users.list({ ...base, terms: alice, offset: 2, limit: 2 })).toEqual({ users: [], total: 2 });
        expect(await store.users.list({ ...base, terms: [{ fields: ['name' as const], values: ['%nobody here%'], mode: 'like' as const }] })).toEqual({ users: [], total: 0 });
        // More matches than SEARCH_CANDIDATE_CAP: the page is still the newest matches, the total exact.
        const many = SEARCH_CANDIDATE_CAP + 5;
        await store.transaction(async () => {
          for (let i = 0; i < many; i++) await store.users.insert(user({ id: `f${String(i).padStart(23, '0')}`, username: `crowd_${i}`, primaryEmail: null, createdAt: T + 10 + i }));
        });
        const crowd = [{ fields: ['username' as const], values: ['crowd%'], mode: 'like' as const }];
        const second = await store.users.list({ ...base, terms: crowd, offset: 20, limit: 3 });
        expect(second.total).toBe(many);
        expect(ids(second)).toEqual([`crowd_${many - 21}`, `crowd_${many - 22}`, `crowd_${many - 23}`]);
        expect(await store.users.list({ ...base, terms: crowd, offset: many, limit: 3 })).toEqual({ users: [], total: many });
        expect((await store.users.list(base)).total).toBe(4 + many);
      });
    });

    describe('users.list withIdentities (the page and its identities in one statement)', () => {
      const base = { terms: [], joint: 'or' as const, caseSensitive: false, offset: 0, limit: 20, withIdentities: true };
      it('answers, for every listed user, exactly what listByUser lists, in its order: newest page, search, and a search past the cap', async () => {
        const linked = user({ id: 'l'.repeat(24), username: 'linked', createdAt: T + 2 });
        const bare = user({ id: 'm'.repeat(24), username: 'bare', createdAt: T + 1 });
        for (const u of [linked, bare]) await store.users.insert(u);
        await store.identities.upsert({ userId: linked.id, provider: 'weixin', subject: 'wx-1', data: { openid: 'wx-1', nested: { a: [1, 'two'] }, text: '{"not":"parsed"}' }, verified: true, createdAt: T + 1, updatedAt: T + 4 });
        await store.identities.upsert({ userId: linked.id, provider: 'anonymous', subject: 'anon-1', data: {}, imported: true, createdAt: T + 2, updatedAt: T + 2 });
        await store.identities.upsert({ userId: linked.id, provider: 'Zeta', subject: 'z-1', data: { n: 9007199254740991 }, verified: true, createdAt: T + 3, updatedAt: T + 3 });
        const listed = await store.identities.listByUser(linked.id);
        expect(listed).toHaveLength(3);
        const expected = new Map([[linked.id, listed], [bare.id, []]]);

        const newest = await store.users.list(base);
        expect(newest.users.map((u) => u.username)).toEqual(['linked', 'bare']);
        expect(newest.identities).toEqual(expected);
        expect(newest.identities?.get(linked.id)?.map((i) => i.provider)).toEqual(listed.map((i) => i.provider));
        // The users are the same as without the option, which answers no identities at all.
        const plain = await store.users.list({ ...base, withIdentities: false });
        expect(plain).toEqual({ users: newest.users, total: 2 });

        const searched = await store.users.list({ ...base, terms: [{ fields: ['username'], values: ['%link%'], mode: 'like' }] });
        expect(searched.users.map((u) => u.username)).toEqual(['linked']);
        expect(searched.identities).toEqual(new Map([[linked.id, listed]]));
        expect((await store.users.list({ ...base, terms: [{ fields: ['username'], values: ['nobody'], mode: 'exact' }] })).identities).toEqual(new Map());

        // Past SEARCH_CANDIDATE_CAP the page is read by the broad path: the identities still come with it.
        await store.transaction(async () => {
          for (let i = 0; i < SEARCH_CANDIDATE_CAP + 2; i++) await store.users.insert(user({ id: `g${String(i).padStart(23, '0')}`, username: `herd_${i}`, primaryEmail: null, createdAt: T - 10 - i }));
        });
        await store.identities.upsert({ userId: `g${'0'.repeat(23)}`, provider: 'github', subject: 'gh-1', data: { login: 'herd' }, createdAt: T, updatedAt: T });
        const broad = await store.users.list({ ...base, terms: [{ fields: ['username'], values: ['herd%'], mode: 'like' }], limit: 2 });
        expect(broad.total).toBe(SEARCH_CANDIDATE_CAP + 2);
        expect(broad.users.map((u) => u.username)).toEqual(['herd_0', 'herd_1']);
        expect(broad.identities).toEqual(new Map([[`g${'0'.repeat(23)}`, await store.identities.listByUser(`g${'0'.repeat(23)}`)], [`g${'0'.repeat(22)}1`, []]]));
        expect(broad.identities?.get(`g${'0'.repeat(23)}`)).toHaveLength(1);
      });
    });

    describe('sessions', () => {
      let owner: UserRecord;
      beforeEach(async () => {
        owner = user({ username: 'sessionOwner' });
        await store.users.insert(owner);
      });

      it('inserts and finds by token hash and by id, with every field as given', async () => {
        const s = session(owner.id, { amr: ['pwd', 'otp'], createdAt: T, lastUsedAt: T + 5, expiresAt: T + 10 });
        await store.sessions.insert(s);
        expect(await store.sessions.findByTokenHash(s.tokenHash)).toEqual(s);
        expect(await store.sessions.findById(s.id)).toEqual(s);
        const found = await store.sessions.findById(s.id);
        expect(typeof found?.expiresAt).toBe('number');
        expect(await store.sessions.findByTokenHash('0'.repeat(64))).toBeUndefined();
        expect(await store.sessions.findById('missing')).toBeUndefined();
        // The joined lookup answers the same session and exactly the user findById reads.
        expect(await store.sessions.findWithUserByTokenHash(s.tokenHash)).toEqual({ session: s, user: await store.users.findById(owner.id) });
        expect(await store.sessions.findWithUserByTokenHash('0'.repeat(64))).toBeUndefined();
        // With identities: none yet, then exactly what listByUser lists, in its order, in the same statement.
        expect(await store.sessions.findWithUserByTokenHash(s.tokenHash, { withIdentities: true })).toEqual({ session: s, user: await store.users.findById(owner.id), identities: [] });
        await store.identities.upsert({ userId: owner.id, provider: 'weixin', subject: 'wx-1', data: { openid: 'wx-1', nested: { a: [1, 'two'] }, text: '{"not":"parsed"}' }, verified: true, createdAt: T + 1, updatedAt: T + 4 });
        await store.identities.upsert({ userId: owner.id, provider: 'anonymous', subject: 'anon-1', data: {}, imported: true, createdAt: T + 2, updatedAt: T + 2 });
        await store.identities.upsert({ userId: owner.id, provider: 'Zeta', subject: 'z-1', data: { n: 9007199254740991 }, verified: true, createdAt: T + 3, updatedAt: T + 3 });
        const listed = await store.identities.listByUser(owner.id);
        expect(listed).toHaveLength(3);
        const withIdentities = await store.sessions.findWithUserByTokenHash(s.tokenHash, { withIdentities: true });
        expect(withIdentities).toEqual({ session: s, user: await store.users.findById(owner.id), identities: listed });
        expect(withIdentities?.identities?.map((i) => i.provider)).toEqual(listed.map((i) => i.provider));
        // Without the option the answer is as before (no identities key).
        expect(await store.sessions.findWithUserByTokenHash(s.tokenHash)).toEqual({ session: s, user: await store.users.findById(owner.id) });

        const bare = session(owner.id, { ip: null, userAgent: null, amr: [] });
        await store.sessions.insert(bare);
        expect(await store.sessions.findById(bare.id)).toEqual(bare);
      });

      it('listByUser returns only that user’s sessions, most recently used first', async () => {
        const other = user();
        await store.users.insert(other);
        const a = session(owner.id, { lastUsedAt: T + 100 });
        const b = session(owner.id, { lastUsedAt: T + 300 });
        const c = session(owner.id, { lastUsedAt: T + 200 });
        const foreign = session(other.id, { lastUsedAt: T + 999 });
        for (const s of [a, b, c, foreign]) await store.sessions.insert(s);
        expect((await store.sessions.listByUser(owner.id)).map((s) => s.id)).toEqual([b.id, c.id, a.id]);
        expect(await store.sessions.listByUser(owner.id)).toEqual([b, c, a]);
        expect(await store.sessions.listByUser('nobody')).toEqual([]);

        // Use reorders the list.
        await store.sessions.touch(a.id, T + 400);
        expect((await store.sessions.listByUser(owner.id)).map((s) => s.id)).toEqual([a.id, b.id, c.id]);
      });

      it('touch records use at the given time and changes nothing else', async () => {
        const s = session(owner.id);
        const other = session(owner.id);
        await store.sessions.insert(s);
        await store.sessions.insert(other);
        await store.sessions.touch(s.id, T + 12_345);
        expect(await store.sessions.findById(s.id)).toEqual({ ...s, lastUsedAt: T + 12_345 });
        expect(await store.sessions.findById(other.id)).toEqual(other);
        await store.sessions.touch('missing', T); // no error
      });

      it('rotate replaces the hash only while it is still the old one', async () => {
        const s = session(owner.id);
        await store.sessions.insert(s);
        const h1 = 'a'.repeat(64);
        const h2 = 'b'.repeat(64);
        expect(await store.sessions.rotate(s.id, s.tokenHash, h1, T + 50)).toBe(true);
        expect(await store.sessions.findByTokenHash(s.tokenHash)).toBeUndefined();
        expect(await store.sessions.findByTokenHash(h1)).toEqual({ ...s, tokenHash: h1, lastUsedAt: T + 50 });

        // A second rotation with the old hash loses.
        expect(await store.sessions.rotate(s.id, s.tokenHash, h2, T + 60)).toBe(false);
        expect(await store.sessions.findByTokenHash(h2)).toBeUndefined();
        expect((await store.sessions.findById(s.id))?.tokenHash).toBe(h1);
        expect((await store.sessions.findById(s.id))?.lastUsedAt).toBe(T + 50);

        // The right hash on the wrong session, or a missing session, does nothing.
        const t = session(owner.id);
        await store.sessions.insert(t);
        expect(await store.sessions.rotate(t.id, h1, h2, T + 70)).toBe(false);
        expect(await store.sessions.rotate('missing', h1, h2, T + 70)).toBe(false);
        expect((await store.sessions.findById(t.id))?.tokenHash).toBe(t.tokenHash);

        // The current hash rotates again.
        expect(await store.sessions.rotate(s.id, h1, h2, T + 80)).toBe(true);
        expect((await store.sessions.findById(s.id))?.tokenHash).toBe(h2);
      });

      it('of concurrent rotations with the same old hash exactly one wins', async () => {
        const s = session(owner.id);
        await store.sessions.insert(s);
        const newHashes = Array.from({ length: 10 }, (_, i) => i.toString(16).repeat(64));
        const results = await Promise.all(newHashes.map((h, i) => store.sessions.rotate(s.id, s.tokenHash, h, T + i)));
        expect(results.filter((r) => r === true)).toHaveLength(1);
        expect(results.filter((r) => r === false)).toHaveLength(9);
        const winner = results.indexOf(true);
        const stored = await store.sessions.findById(s.id);
        expect(stored?.tokenHash).toBe(newHashes[winner]);
        expect(stored?.lastUsedAt).toBe(T + winner);
      });

      it('delete removes one session and reports whether it did', async () => {
        const s = session(owner.id);
        const t = session(owner.id);
        await store.sessions.insert(s);
        await store.sessions.insert(t);
        expect(await store.sessions.delete(s.id)).toBe(true);
        expect(await store.sessions.findById(s.id)).toBeUndefined();
        expect(await store.sessions.findByTokenHash(s.tokenHash)).toBeUndefined();
        expect(await store.sessions.delete(s.id)).toBe(false);
        expect(await store.sessions.findById(t.id)).toEqual(t);
      });

      it('deleteByUser deletes every session of the user, optionally but one', async () => {
        const other = user();
        await store.users.insert(other);
        const mine = [session(owner.id), session(owner.id), session(owner.id), session(owner.id)];
        const theirs = session(other.id);
        for (const s of [...mine, theirs]) await store.sessions.insert(s);

        expect(await store.sessions.deleteByUser(owner.id, mine[1]!.id)).toBe(3);
        expect((await store.sessions.listByUser(owner.id)).map((s) => s.id)).toEqual([mine[1]!.id]);
        expect(await store.sessions.findById(theirs.id)).toEqual(theirs);

        // exceptId of another user's session protects nothing of this user.
        expect(await store.sessions.deleteByUser(owner.id, theirs.id)).toBe(1);
        expect(await store.sessions.listByUser(owner.id)).toEqual([]);
        expect(await store.sessions.findById(theirs.id)).toEqual(theirs);

        expect(await store.sessions.deleteByUser(other.id)).toBe(1);
        expect(await store.sessions.deleteByUser(other.id)).toBe(0);
        expect(await store.sessions.findById(theirs.id)).toBeUndefined();
      });

      it('deleteExpired deletes sessions past absolute expiry or the idle limit (inclusive), and no others', async () => {
        const now = T + 1_000_000;
        const idle = 60_000;
        const live = session(owner.id, { lastUsedAt: now - idle + 1, expiresAt: now + 1 });
        const absolute = session(owner.id, { lastUsedAt: now, expiresAt: now - 1 });
        const absoluteEdge = session(owner.id, { lastUsedAt: now, expiresAt: now });
        const idled = session(owner.id, { lastUsedAt: now - idle - 1, expiresAt: now + 10 * idle });
        const idleEdge = session(owner.id, { lastUsedAt: now - idle, expiresAt: now + 10 * idle });
        for (const s of [live, absolute, absoluteEdge, idled, idleEdge]) await store.sessions.insert(s);

        expect(await store.sessions.deleteExpired(now, idle)).toBe(4);
        expect(await store.sessions.listByUser(owner.id)).toEqual([live]);
        expect(await store.sessions.deleteExpired(now, idle)).toBe(0);
        // Later, the survivor goes too.
        expect(await store.sessions.deleteExpired(now + 2, idle)).toBe(1);
        expect(await store.sessions.findById(live.id)).toBeUndefined();
      });
    });

    describe('signInGuards', () => {
      const W = 15 * 60_000;
      const LOCK = 10 * 60_000;

      it('get of an unknown key is undefined', async () => {
        expect(await store.signInGuards.get('unknown')).toBeUndefined();
      });

      it('counts failures within the window and returns the state it stored', async () => {
        const k = 'count-key';
        expect(await store.signInGuards.reserveAttempt(k, T, W, 6, LOCK)).toEqual({
          failures: 1,
          windowStartedAt: T,
          lockedUntil: null,
        });
        expect(await store.signInGuards.reserveAttempt(k, T + 1000, W, 6, LOCK)).toEqual({
          failures: 2,
          windowStartedAt: T,
          lockedUntil: null,
        });
        const third = await store.signInGuards.reserveAttempt(k, T + W - 1, W, 6, LOCK);
        expect(third).toEqual({ failures: 3, windowStartedAt: T, lockedUntil: null });
        expect(await store.signInGuards.get(k)).toEqual(third);
        expect(await store.signInGuards.get('another')).toBeUndefined();
      });

      it('restarts the window at 1 once windowMs has passed', async () => {
        const k = 'window-key';
        await store.signInGuards.reserveAttempt(k, T, W, 6, LOCK);
        await store.signInGuards.reserveAttempt(k, T + 1, W, 6, LOCK);
        await store.signInGuards.reserveAttempt(k, T + 2, W, 6, LOCK);
        const later = T + W + 1;
        expect(await store.signInGuards.reserveAttempt(k, later, W, 6, LOCK)).toEqual({
          failures: 1,
          windowStartedAt: later,
          lockedUntil: null,
        });
        expect(await store.signInGuards.reserveAttempt(k, later + 5, W, 6, LOCK)).toEqual({
          failures: 2,
          windowStartedAt: later,
          lockedUntil: null,
        });
      });

      it('sets lockedUntil = now + lockMs on reaching maxFailures', async () => {
        const k = 'lock-key';
        for (let i = 0; i < 5; i++) {
          const s = await store.signInGuards.reserveAttempt(k, T + i, W, 6, LOCK);
          expect(s.failures).toBe(i + 1);
          expect(s.lockedUntil).toBeNull();
        }
        const locked = await store.signInGuards.reserveAttempt(k, T + 5, W, 6, LOCK);
        expect(locked).toEqual({ failures: 6, windowStartedAt: T, lockedUntil: T + 5 + LOCK });
        expect(await store.signInGuards.get(k)).toEqual(locked);
        expect(typeof locked.lockedUntil).toBe('number');
      });

      it('locks on the first failure when maxFailures is 1', async () => {
        expect(await store.signInGuards.reserveAttempt('one-strike', T, W, 1, LOCK)).toEqual({
          failures: 1,
          windowStartedAt: T,
          lockedUntil: T + LOCK,
        });
      });

      it('clear forgets the key (and only that key)', async () => {
        await store.signInGuards.reserveAttempt('clear-a', T, W, 6, LOCK);
        await store.signInGuards.reserveAttempt('clear-b', T, W, 6, LOCK);
        await store.signInGuards.clear('clear-a');
        expect(await store.signInGuards.get('clear-a')).toBeUndefined();
        expect((await store.signInGuards.get('clear-b'))?.failures).toBe(1);
        await store.signInGuards.clear('never-seen'); // no error
        expect(await store.signInGuards.reserveAttempt('clear-a', T + 10, W, 6, LOCK)).toEqual({
          failures: 1,
          windowStartedAt: T + 10,
          lockedUntil: null,
        });
      });

      it('counts every one of concurrent failures', async () => {
        const k = 'concurrent-key';
        const states = await Promise.all(
          Array.from({ length: 10 }, (_, i) => store.signInGuards.reserveAttempt(k, T + i, W, 1000, LOCK)),
        );
        expect(states.map((s) => s.failures).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        const final = await store.signInGuards.get(k);
        expect(final?.failures).toBe(10);
        expect(final?.lockedUntil).toBeNull();
      });

      it('concurrent failures reaching maxFailures lock the key', async () => {
        const k = 'concurrent-lock';
        await Promise.all(Array.from({ length: 8 }, () => store.signInGuards.reserveAttempt(k, T, W, 6, LOCK)));
        expect(await store.signInGuards.get(k)).toEqual({ failures: 8, windowStartedAt: T, lockedUntil: T + LOCK });
      });

      it('during a lock, counts attempts past maxFailures without extending the lock; after it, restarts at 1', async () => {
        const k = 'lock-held';
        for (let i = 0; i < 6; i++) await store.signInGuards.reserveAttempt(k, T, W, 6, LOCK);
        const during = await store.signInGuards.reserveAttempt(k, T + 5000, W, 6, LOCK);
        expect(during).toEqual({ failures: 7, windowStartedAt: T, lockedUntil: T + LOCK });
        // The window has passed but the lock holds: still refused (7 → 8), the lock is not moved.
        const lateInLock = await store.signInGuards.reserveAttempt(k, T + LOCK - 1, LOCK - 2, 6, LOCK);
        expect(lateInLock).toEqual({ failures: 8, windowStartedAt: T, lockedUntil: T + LOCK });
        expect(await store.signInGuards.reserveAttempt(k, T + LOCK, W, 6, LOCK)).toEqual({ failures: 1, windowStartedAt: T + LOCK, lockedUntil: null });
      });

      it('release takes back one attempt, never below 0, and never while a lock is set', async () => {
        const k = 'release-key';
        await store.signInGuards.reserveAttempt(k, T, W, 6, LOCK);
        await store.signInGuards.reserveAttempt(k, T + 1, W, 6, LOCK);
        await store.signInGuards.release(k);
        expect((await store.signInGuards.get(k))?.failures).toBe(1);
        await store.signInGuards.release(k);
        await store.signInGuards.release(k);
        expect((await store.signInGuards.get(k))?.failures).toBe(0);
        await store.signInGuards.release('never-seen'); // no error, no row
        expect(await store.signInGuards.get('never-seen')).toBeUndefined();
        const locked = 'release-locked';
        await store.signInGuards.reserveAttempt(locked, T, W, 1, LOCK);
        await store.signInGuards.release(locked);
        expect(await store.signInGuards.get(locked)).toEqual({ failures: 1, windowStartedAt: T, lockedUntil: T + LOCK });
      });

      it('100 concurrent reservations with a limit of 6: exactly 6 within it, one lock', async () => {
        const k = 'burst';
        const states = await Promise.all(Array.from({ length: 100 }, () => store.signInGuards.reserveAttempt(k, T, W, 6, LOCK)));
        expect(states.filter((s) => s.failures <= 6)).toHaveLength(6);
        expect(new Set(states.map((s) => s.failures)).size).toBe(100);
        expect(states.every((s) => s.failures < 6 || s.lockedUntil === T + LOCK)).toBe(true);
      });
    });

    describe('verifications', () => {
      const vs = () => store.verifications;

      it('inserts and finds by id, returning every field as given (ms timestamps beyond 2^31 as numbers, nulls)', async () => {
        const owner = user();
        await store.users.insert(owner);
        const full = verification({
          type: 'phone_code',
          purpose: 'BindNewIdentifier',
          identifierType: 'phone',
          identifier: '+14155550100',
          userId: owner.id,
          codeHash: 'c'.repeat(64),
          linkHash: 'l'.repeat(64),
          attempts: 3,
          ip: '2001:db8::1',
          createdAt: T,
          expiresAt: T + 600_000,
          verifiedAt: T + 1,
          consumedAt: T + 2,
        });
        await vs().insert(full);
        const found = await vs().findById(full.id);
        expect(found).toStrictEqual(full);
        for (const k of ['attempts', 'createdAt', 'expiresAt', 'verifiedAt', 'consumedAt'] as const) {
          expect(typeof found?.[k], k).toBe('number');
        }
        expect(found!.createdAt).toBeGreaterThan(2 ** 31);

        const bare = verification({
          type: 'password',
          purpose: 'Identity',
          identifierType: null,
          identifier: null,
          userId: null,
          codeHash: null,
          linkHash: null,
          ip: null,
          verifiedAt: null,
          consumedAt: null,
        });
        await vs().insert(bare);
        expect(await vs().findById(bare.id)).toStrictEqual(bare);
        expect(await vs().findById('missing')).toBeUndefined();
      });

      it('finds by link hash', async () => {
        const a = verification({ purpose: 'VerifyEmail', linkHash: 'a'.repeat(64) });
        const b = verification({ purpose: 'VerifyEmail', linkHash: 'b'.repeat(64) });
        const none = verification();
        for (const r of [a, b, none]) await vs().insert(r);
        expect(await vs().findByLinkHash('a'.repeat(64))).toStrictEqual(a);
        expect(await vs().findByLinkHash('b'.repeat(64))).toStrictEqual(b);
        expect(await vs().findByLinkHash('0'.repeat(64))).toBeUndefined();
      });

      it('rejects a second record with the same link hash and allows many without one', async () => {
        const first = verification({ linkHash: 'd'.repeat(64) });
        const second = verification({ linkHash: 'd'.repeat(64) });
        await vs().insert(first);
        await expect(vs().insert(second)).rejects.toThrow();
        expect(await vs().findById(second.id)).toBeUndefined();
        expect((await vs().findByLinkHash('d'.repeat(64)))?.id).toBe(first.id);

        const nulls = [verification(), verification(), verification()];
        for (const r of nulls) await vs().insert(r);
        for (const r of nulls) expect(await vs().findById(r.id)).toStrictEqual(r);
      });

      it('findLatestLive picks the newest unconsumed, unexpired record of the identifier and purpose', async () => {
        const now = T + 100_000;
        const key = 'live@example.com';
        const older = verification({ identifier: key, createdAt: T - 2000, expiresAt: now + 10_000 });
        const target = verification({ identifier: key, createdAt: T - 1000, expiresAt: now + 1 });
        const consumed = verification({ identifier: key, createdAt: T + 10, expiresAt: now + 10_000, consumedAt: T + 20 });
        const expired = verification({ identifier: key, createdAt: T + 20, expiresAt: now });
        const otherPurpose = verification({ identifier: key, purpose: 'Register', createdAt: T + 30, expiresAt: now + 10_000 });
        const otherIdentifier = verification({ identifier: 'other@example.com', createdAt: T + 40, expiresAt: now + 10_000 });
        const otherType = verification({ identifierType: 'phone', identifier: key, createdAt: T + 50, expiresAt: now + 10_000 });
        for (const r of [older, target, consumed, expired, otherPurpose, otherIdentifier, otherType]) await vs().insert(r);

        expect(await vs().findLatestLive('email', key, 'SignIn', now)).toStrictEqual(target);
        // Once the newest live one expires, the older one is the newest live record.
        expect((await vs().findLatestLive('email', key, 'SignIn', now + 1))?.id).toBe(older.id);
        expect(await vs().consume(older.id, now + 1)).toBe(true);
        expect(await vs().findLatestLive('email', key, 'SignIn', now + 1)).toBeUndefined();

        expect((await vs().findLatestLive('email', key, 'Register', now))?.id).toBe(otherPurpose.id);
        expect((await vs().findLatestLive('email', 'other@example.com', 'SignIn', now))?.id).toBe(otherIdentifier.id);
        expect((await vs().findLatestLive('phone', key, 'SignIn', now))?.id).toBe(otherType.id);
        expect(await vs().findLatestLive('email', 'nobody@example.com', 'SignIn', now)).toBeUndefined();
        expect(await vs().findLatestLive('email', key, 'ForgotPassword', now)).toBeUndefined();
      });

      it('deleteUnconsumedFor deletes the other unconsumed records of the identifier and purpose only', async () => {
        const key = 'replace@example.com';
        const keep = verification({ identifier: key });
        const a = verification({ identifier: key });
        const b = verification({ identifier: key, expiresAt: T - 1 });
        const consumed = verification({ identifier: key, consumedAt: T + 1 });
        const otherPurpose = verification({ identifier: key, purpose: 'Register' });
        const otherIdentifier = verification({ identifier: 'keep@example.com' });
        const otherType = verification({ identifierType: 'phone', identifier: key });
        for (const r of [keep, a, b, consumed, otherPurpose, otherIdentifier, otherType]) await vs().insert(r);

        expect(await vs().deleteUnconsumedFor('email', key, 'SignIn', keep.id)).toBe(2);
        expect(await vs().findById(a.id)).toBeUndefined();
        expect(await vs().findById(b.id)).toBeUndefined();
        for (const r of [keep, consumed, otherPurpose, otherIdentifier, otherType]) expect(await vs().findById(r.id)).toStrictEqual(r);
        expect(await vs().deleteUnconsumedFor('email', key, 'SignIn', keep.id)).toBe(0);
      });

      it('countAttempt increments until maxAttempts, then returns undefined; never on consumed records', async () => {
        const r = verification();
        await vs().insert(r);
        for (let n = 1; n <= 3; n++) expect(await vs().countAttempt(r.id, 3)).toStrictEqual({ ...r, attempts: n });
        expect(await vs().countAttempt(r.id, 3)).toBeUndefined();
        expect((await vs().findById(r.id))?.attempts).toBe(3);
        // A higher limit allows more.
        expect((await vs().countAttempt(r.id, 4))?.attempts).toBe(4);

        const consumed = verification({ attempts: 1, consumedAt: T + 1 });
        await vs().insert(consumed);
        expect(await vs().countAttempt(consumed.id, 5)).toBeUndefined();
        expect(await vs().findById(consumed.id)).toStrictEqual(consumed);
        expect(await vs().countAttempt('missing', 5)).toBeUndefined();
      });

      it('of 10 concurrent countAttempt calls with maxAttempts 5 exactly 5 succeed', async () => {
        const r = verification();
        await vs().insert(r);
        const results = await Promise.all(Array.from({ length: 10 }, () => vs().countAttempt(r.id, 5)));
        const counted = results.filter((x): x is VerificationRecord => x !== undefined);
        expect(counted).toHaveLength(5);
        expect(counted.map((x) => x.attempts).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5]);
        expect((await vs().findById(r.id))?.attempts).toBe(5);
      });

      it('markVerified sets verifiedAt (and the user when given), and refuses consumed or missing records', async () => {
        const owner = user();
        await store.users.insert(owner);
        const r = verification();
        await vs().insert(r);
        expect(await vs().markVerified(r.id, T + 5)).toBe(true);
        expect(await vs().findById(r.id)).toStrictEqual({ ...r, verifiedAt: T + 5 });
        expect(await vs().markVerified(r.id, T + 6, owner.id)).toBe(true);
        expect(await vs().findById(r.id)).toStrictEqual({ ...r, verifiedAt: T + 6, userId: owner.id });
        // Without a user (or with null) the user already learnt stays.
        expect(await vs().markVerified(r.id, T + 7, null)).toBe(true);
        expect(await vs().findById(r.id)).toStrictEqual({ ...r, verifiedAt: T + 7, userId: owner.id });

        const consumed = verification({ consumedAt: T + 1 });
        await vs().insert(consumed);
        expect(await vs().markVerified(consumed.id, T + 8, owner.id)).toBe(false);
        expect(await vs().findById(consumed.id)).toStrictEqual(consumed);
        expect(await vs().markVerified('missing', T + 8)).toBe(false);
      });

      it('consume succeeds exactly once and keeps the first time', async () => {
        const r = verification();
        await vs().insert(r);
        expect(await vs().consume(r.id, T + 10)).toBe(true);
        expect(await vs().consume(r.id, T + 20)).toBe(false);
        expect(await vs().findById(r.id)).toStrictEqual({ ...r, consumedAt: T + 10 });
        expect(await vs().consume('missing', T)).toBe(false);
      });

      it('of 10 concurrent consume calls exactly one gets true', async () => {
        const r = verification();
        await vs().insert(r);
        const results = await Promise.all(Array.from({ length: 10 }, (_, i) => vs().consume(r.id, T + i)));
        expect(results.filter((x) => x === true)).toHaveLength(1);
        expect((await vs().findById(r.id))?.consumedAt).toBe(T + results.indexOf(true));
      });

      it('delete removes one record and reports whether it did', async () => {
        const r = verification();
        const other = verification();
        await vs().insert(r);
        await vs().insert(other);
        expect(await vs().delete(r.id)).toBe(true);
        expect(await vs().findById(r.id)).toBeUndefined();
        expect(await vs().delete(r.id)).toBe(false);
        expect(await vs().findById(other.id)).toStrictEqual(other);
      });

      it('deleteExpired deletes records expired at or before now (consumed or not), and no others', async () => {
        const now = T + 1_000_000;
        const past = verification({ expiresAt: now - 1 });
        const edge = verification({ expiresAt: now });
        const live = verification({ expiresAt: now + 1 });
        const liveConsumed = verification({ expiresAt: now + 1, consumedAt: now - 5 });
        const pastConsumed = verification({ expiresAt: now - 10, consumedAt: now - 20 });
        for (const r of [past, edge, live, liveConsumed, pastConsumed]) await vs().insert(r);

        expect(await vs().deleteExpired(now)).toBe(3);
        for (const r of [past, edge, pastConsumed]) expect(await vs().findById(r.id)).toBeUndefined();
        expect(await vs().findById(live.id)).toStrictEqual(live);
        expect(await vs().findById(liveConsumed.id)).toStrictEqual(liveConsumed);
        expect(await vs().deleteExpired(now)).toBe(0);
        expect(await vs().deleteExpired(now + 1)).toBe(2);
      });

      it('deleting a user deletes that user’s records only', async () => {
        const u = user();
        const other = user();
        await store.users.insert(u);
        await store.users.insert(other);
        const mine = [verification({ userId: u.id }), verification({ userId: u.id, type: 'password', purpose: 'Identity' })];
        const theirs = verification({ userId: other.id });
        const anonymous = verification();
        for (const r of [...mine, theirs, anonymous]) await vs().insert(r);

        expect(await store.users.delete(u.id)).toBe(true);
        for (const r of mine) expect(await vs().findById(r.id)).toBeUndefined();
        expect(await vs().findById(theirs.id)).toStrictEqual(theirs);
        expect(await vs().findById(anonymous.id)).toStrictEqual(anonymous);
      });
    });
  });
}

forEachStorage(storeSuite);

const sqliteFile = () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-conformance-'));
  return { dir, file: join(dir, 'nested', 'tessera.db') };
};

describe('SQLite file database', () => {
  it('uses WAL journaling and keeps data across reopening', async () => {
    const { dir, file } = sqliteFile();
    try {
      const first = openDatabase(`sqlite:${file}`);
      expect(first.sqlite?.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(first.sqlite?.pragma('foreign_keys', { simple: true })).toBe(1);
      await migrateToLatest(first.db);
      const u = user({ username: 'persisted', primaryEmail: 'P@example.com', profile: { address: { country: 'NZ' } } });
      await new KyselyStore(first).users.insert(u);
      await first.close();

      const second = openDatabase(`sqlite:${file}`);
      try {
        expect(await migrateToLatest(second.db)).toEqual([]);
        expect(await new KyselyStore(second).users.findByEmail('p@EXAMPLE.com')).toEqual(u);
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
