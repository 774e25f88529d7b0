import fc from 'fast-check';
import { CompiledQuery, type KyselyPlugin, type RootOperationNode, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateToLatest } from '../src/storage/database.js';
import { KyselyStore } from '../src/storage/kysely-store.js';
import type { UserSearchField, UserRecord } from '../src/storage/store.js';
import { commonTrigrams, SAMPLE_MAX_AGE_MS, SAMPLE_ROWS, selectiveSubstrings, TrigramStatistics } from '../src/storage/trigram-statistics.js';
import { countUsers, pgSearchDocumentLike, pgSelectiveSubstrings, requiredSubstrings, searchIndexQuery, trigramStatistics } from '../src/storage/user-list.js';
import { T, userRecord } from './fixtures.js';
import { forEachStorage, type OpenedStore } from './storage-targets.js';

// Issue 22 item 4: user search reads candidates from a trigram index (SQLite: FTS5 `users_search`;
// PostgreSQL: pg_trgm GIN on the lower-cased search document, migrations 0019 and 0030). The results must be exactly a full scan's:
// every search below is checked against the same condition evaluated by a plain scan of `users`.

const FIELDS: UserSearchField[] = ['id', 'username', 'primaryEmail', 'primaryPhone', 'name'];
const COLUMNS: Record<UserSearchField, string> = { id: 'id', username: 'username', primaryEmail: 'primary_email', primaryPhone: 'primary_phone', name: 'name' };
const WORDS = ['alice', 'Bob', 'carol', 'Ärger', 'ölaf', 'o"brien', 'zed_x', 'pct%er', 'Lin Wei', '李小龙', 'user'];

describe('requiredSubstrings', () => {
  it('are the literal runs of three or more characters between wildcards', () => {
    expect(requiredSubstrings('%user_4242%', 'like')).toEqual(['user', '4242']);
    expect(requiredSubstrings('%ab%cd%', 'like')).toEqual([]);
    expect(requiredSubstrings('%李小龙%', 'like')).toEqual(['李小龙']);
    expect(requiredSubstrings('a_b', 'exact')).toEqual(['a_b']);
    expect(requiredSubstrings('ab', 'exact')).toEqual([]);
  });
});

describe('selectiveSubstrings (trigram-statistics.ts)', () => {
  const common = new Set(['use', 'ser', 'er_']);
  it('cut each run where its trigrams are common, and keep the runs when nothing selective is left', () => {
    expect(selectiveSubstrings(['user', '4242'], common)).toEqual(['4242']);
    expect(selectiveSubstrings(['user_4242'], common)).toEqual(['r_4242']);
    // Trigrams compare lower-cased; the substrings keep the run's case.
    expect(selectiveSubstrings(['USER_4242'], common)).toEqual(['R_4242']);
    // Two stretches around a common trigram share a character, so they stay two substrings.
    expect(selectiveSubstrings(['abcdef'], new Set(['bcd']))).toEqual(['abc', 'cdef']);
    expect(selectiveSubstrings(['李小龙x'], new Set(['李小龙']))).toEqual(['小龙x']);
    expect(selectiveSubstrings(['user'], common)).toEqual(['user']);
    expect(selectiveSubstrings(['user', 'ser'], common)).toEqual(['user', 'ser']);
    expect(selectiveSubstrings(['user', '4242'], new Set())).toEqual(['user', '4242']);
  });

  it('on PostgreSQL keep only substrings from which pg_trgm takes a trigram (three letters or digits in a row)', () => {
    expect(pgSelectiveSubstrings(['user', '4242'], common)).toEqual(['4242']);
    expect(pgSelectiveSubstrings(['user_4242'], common)).toEqual(['r_4242']);
    // `b_@cd` has no three word characters in a row: a GIN scan for it alone would read the whole index.
    expect(selectiveSubstrings(['ab_@cd'], new Set(['ab_']))).toEqual(['b_@cd']);
    expect(pgSelectiveSubstrings(['ab_@cd'], new Set(['ab_']))).toEqual(['ab_@cd']);
    expect(pgSelectiveSubstrings(['ab_@cd', 'zed9'], new Set(['ab_']))).toEqual(['zed9']);
  });

  it('answer only substrings of the runs, each long enough for a trigram index (generated)', () => {
    const alphabet = fc.constantFrom('a', 'b', 'c', 'A', '_', 'é', '李');
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: alphabet, minLength: 3, maxLength: 9 }), { minLength: 1, maxLength: 3 }),
        fc.array(fc.string({ unit: alphabet, minLength: 3, maxLength: 3 }), { maxLength: 12 }),
        (runs, trigrams) => {
          const selective = selectiveSubstrings(runs, new Set(trigrams.map((t) => t.toLowerCase())));
          expect(selective.length).toBeGreaterThan(0);
          for (const part of selective) {
            expect([...part].length).toBeGreaterThanOrEqual(3);
            // Contained in a run, so in every value that contains the runs.
            expect(runs.some((run) => run.includes(part))).toBe(true);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('commonTrigrams counts each sampled user once, over all five columns, lower-cased', () => {
    const none = { id: null, username: null, primary_email: null, primary_phone: null, name: null };
    const sample = [
      { ...none, username: 'user_1', name: 'Aaaa Aaaa' },
      { ...none, username: 'USER_2', primary_email: 'user_2@example.com' },
      { ...none, id: 'bob', name: 'Bob' },
    ];
    const found = commonTrigrams(sample);
    expect([...found].sort()).toEqual(['er_', 'ser', 'use']);
    expect(commonTrigrams(sample, 0.3).has('aaa')).toBe(true);
    expect(commonTrigrams([]).size).toBe(0);
  });
});

forEachStorage((name, open) => {
  describe(`user search through the trigram index — ${name}`, () => {
    let opened: OpenedStore;
    let store: KyselyStore;
    let users: UserRecord[] = [];
    const postgres = () => opened.handle.dialect === 'postgres';

    beforeAll(async () => {
      opened = await open();
      await migrateToLatest(opened.handle.db);
      store = new KyselyStore(opened.handle);
      for (let i = 0; i < 160; i++) {
        const word = WORDS[i % WORDS.length]!;
        const other = WORDS[(i * 7 + 3) % WORDS.length]!;
        const u = userRecord({
          username: `${word.replace(/[^A-Za-z0-9_]/g, '')}_${i}`,
          primaryEmail: i % 3 === 0 ? null : `${other.replace(/[^A-Za-z0-9]/g, '')}${i}@Example.COM`,
          primaryPhone: i % 4 === 0 ? `+1415555${String(1000 + i).padStart(4, '0')}` : null,
          name: i % 5 === 0 ? null : `${word} ${other}`,
          createdAt: T + i,
        });
        await store.users.insert(u);
        users.push(u);
      }
    });
    afterAll(() => opened.cleanup());

    /** The search evaluated by scanning `users` with the store's own condition, no index involved. */
    async function scan(fields: UserSearchField[], values: string[], mode: 'exact' | 'like'): Promise<string[]> {
      const lowered = values.map((v) => v.toLowerCase());
      const terms = fields.flatMap((f) =>
        mode === 'exact'
          ? [sql`lower(${sql.ref(COLUMNS[f])}) in (${sql.join(lowered)})`]
          : postgres()
            ? lowered.map((v) => sql`lower(${sql.ref(COLUMNS[f])}) like ${v} escape ''`)
            : values.map((v) => sql`${sql.ref(COLUMNS[f])} like ${v}`),
      );
      const rows = await sql<{ id: string }>`select id from users where ${sql.join(terms, sql` or `)}`.execute(opened.handle.db);
      return rows.rows.map((r) => r.id).sort();
    }

    async function search(fields: UserSearchField[], values: string[], mode: 'exact' | 'like'): Promise<{ ids: string[]; total: number }> {
      const r = await store.users.list({ terms: [{ fields, values, mode }], joint: 'or', caseSensitive: false, offset: 0, limit: 1000 });
      return { ids: r.users.map((u) => u.id).sort(), total: r.total };
    }

    const fragment = () =>
      fc.oneof(
        fc.constantFrom(...WORDS).chain((w) => fc.tuple(fc.nat(w.length), fc.integer({ min: 1, max: 6 })).map(([at, n]) => w.slice(at, at + n))),
        fc.constantFrom('_1', '@example', '.com', '4155', 'ALICE', 'ÄRG', 'er ö', '"b', '%', '_'),
      );
    const pattern = () =>
      fc.tuple(fc.boolean(), fragment(), fc.option(fc.tuple(fc.constantFrom('%', '_'), fragment()), { nil: undefined }), fc.boolean()).map(
        ([lead, a, rest, trail]) => `${lead ? '%' : ''}${a}${rest ? rest[0] + rest[1] : ''}${trail ? '%' : ''}`,
      );
    const fields = () => fc.subarray(FIELDS, { minLength: 1 });

    it('finds exactly what a scan finds, for generated LIKE patterns and exact values', async () => {
      await fc.assert(
        fc.asyncProperty(fields(), fc.array(pattern(), { minLength: 1, maxLength: 2 }), async (f, values) => {
          const found = await search(f, values, 'like');
          const expected = await scan(f, values, 'like');
          expect(found.ids).toEqual(expected);
          expect(found.total).toBe(expected.length);
        }),
        { numRuns: 150 },
      );
      await fc.assert(
        fc.asyncProperty(fields(), fc.constantFrom(...users), fc.boolean(), async (f, u, upper) => {
          const values = [u.username!, u.primaryEmail ?? 'nobody@example.com', u.name ?? 'no one'].map((v) => (upper ? v.toUpperCase() : v));
          const found = await search(f, values, 'exact');
          expect(found.ids).toEqual(await scan(f, values, 'exact'));
        }),
        { numRuns: 60 },
      );
    });

    it('keeps the index in step with renames and deletions', async () => {
      const renamed = users[7]!;
      await store.users.update(renamed.id, { name: 'Quixotic Zebra', username: 'quixote_77' });
      const gone = users[8]!;
      await store.users.delete(gone.id);
      users = users.filter((u) => u.id !== gone.id);
      expect((await search(['name'], ['%quixotic%'], 'like')).ids).toEqual([renamed.id]);
      expect((await search(['username'], ['quixote_77'], 'exact')).ids).toEqual([renamed.id]);
      expect((await search(['id'], [gone.id], 'exact')).ids).toEqual([]);
      expect((await search(FIELDS, ['%', '%' + renamed.id.slice(3, 12) + '%'], 'like')).total).toBe(users.length);
      for (const value of ['%alice%', '%_1%', '%example.com', `%${renamed.username ?? 'x'}%`]) {
        expect((await search(FIELDS, [value], 'like')).ids).toEqual(await scan(FIELDS, [value], 'like'));
      }
    });

    it('answers case-insensitive exact searches from a B-tree on lower(column), on both databases (migrations 0020 and 0031)', async () => {
      const db = opened.handle.db;
      for (const column of Object.values(COLUMNS)) {
        const plan = postgres()
          ? await db.transaction().execute(async (trx) => {
              await sql`set local enable_seqscan = off`.execute(trx);
              return (await sql<{ 'QUERY PLAN': string }>`explain select id from users where lower(${sql.ref(column)}) in (${'x'})`.execute(trx)).rows.map((r) => r['QUERY PLAN']).join('\n');
            })
          : (await sql<{ detail: string }>`explain query plan select id from users where lower(${sql.ref(column)}) in (${'x'})`.execute(db)).rows.map((r) => r.detail).join('\n');
        expect(plan).toMatch(/users_lower_(id|username|email|phone|name)_idx/);
      }
      // SQLite: the trigram index is not asked for such a search, so a user missing from it is still found.
      const target = users[30]!;
      if (!postgres()) await sql`delete from users_search where rowid = (select rid from user_search_ids where user_id = ${target.id})`.execute(db);
      expect((await search(['username'], [target.username!.toUpperCase()], 'exact')).ids).toEqual([target.id]);
      // Put the entry back (the update trigger re-indexes the user) for the tests that follow.
      if (!postgres()) await store.users.update(target.id, { name: target.name ?? 'Restored Name' });
    });

    it('leaves the trigrams most users hold out of the index lookup, and finds exactly what a scan finds', async () => {
      const db = opened.handle.db;
      const dialect = opened.handle.dialect;
      // Every fixture id ends in 00000000 and two users in three have an …@Example.COM address.
      const common = await trigramStatistics(db, dialect).commonTrigrams();
      for (const trigram of ['000', 'exa', '.co']) expect(common.has(trigram)).toBe(true);
      for (const trigram of ['ali', 'bob', '李小龙']) expect(common.has(trigram)).toBe(false);
      if (postgres()) {
        const condition = pgSearchDocumentLike('%alice%example.com%', common)!;
        expect(sql`select 1 where ${condition}`.compile(db).parameters).toEqual(['%alice%']);
        const plan = await db.transaction().execute(async (trx) => {
          await sql`set local enable_seqscan = off`.execute(trx);
          return (await sql<{ 'QUERY PLAN': string }>`explain select id from users where ${condition}`.execute(trx)).rows.map((r) => r['QUERY PLAN']).join('\n');
        });
        expect(plan).toContain('Bitmap Index Scan on users_search_trgm');
        // Every trigram common: the whole pattern, as without statistics.
        expect(sql`select 1 where ${pgSearchDocumentLike('%example.com%', common)!}`.compile(db).parameters).toEqual(['%%example.com%%']);
      } else {
        expect(searchIndexQuery(['primary_email'], ['%alice%example.com%'], 'like', common)).toBe('{primary_email} : ("alice")');
        expect(searchIndexQuery(['primary_email'], ['%example.com%'], 'like', common)).toBe('{primary_email} : ("example.com")');
      }
      for (const value of ['%alice%example.com%', '%example.com%', '%0000%', '%ob_1%', '%1@example%', '%李小龙%']) {
        expect((await search(FIELDS, [value], 'like')).ids).toEqual(await scan(FIELDS, [value], 'like'));
      }
    });

    it('reads a new sample once the old one is older than SAMPLE_MAX_AGE_MS', async () => {
      const db = opened.handle.db;
      let now = 1_000_000;
      const statistics = new TrigramStatistics(db, opened.handle.dialect, () => countUsers(db), () => now);
      expect((await statistics.commonTrigrams()).has('qqz')).toBe(false);
      const added: UserRecord[] = [];
      for (let i = 0; i < users.length + 10; i++) {
        const u = userRecord({ username: `qqz_${i}`, createdAt: T + 10_000 + i });
        await store.users.insert(u);
        added.push(u);
      }
      now += SAMPLE_MAX_AGE_MS - 1;
      expect((await statistics.commonTrigrams()).has('qqz')).toBe(false);
      now += 1;
      expect((await statistics.commonTrigrams()).has('qqz')).toBe(true);
      for (const u of added) await store.users.delete(u.id);
    });

    it('reads candidates from the index (SQLite: an entry missing from users_search is not found; PostgreSQL: the search document condition is answered by its trigram index)', async () => {
      if (postgres()) {
        const indexes = await sql<{ indexname: string }>`select indexname from pg_indexes where tablename = 'users' and indexname like 'users_search%'`.execute(opened.handle.db);
        expect(indexes.rows.map((r) => r.indexname)).toEqual(['users_search_trgm']);
        // The store's condition must be the index's expression term for term, or the planner scans.
        const condition = pgSearchDocumentLike('%alice_1%')!;
        const plan = await opened.handle.db.transaction().execute(async (trx) => {
          await sql`set local enable_seqscan = off`.execute(trx);
          return (await sql<{ 'QUERY PLAN': string }>`explain select id from users where ${condition}`.execute(trx)).rows.map((r) => r['QUERY PLAN']).join('\n');
        });
        expect(plan).toContain('Bitmap Index Scan on users_search_trgm');
        expect(pgSearchDocumentLike('%ab%')).toBeUndefined();
        return;
      }
      const target = users[20]!;
      await store.users.update(target.id, { name: 'Yggdrasil Unique' });
      expect((await search(['name'], ['%yggdrasil%'], 'like')).ids).toEqual([target.id]);
      await sql`delete from users_search where rowid = (select rid from user_search_ids where user_id = ${target.id})`.execute(opened.handle.db);
      expect((await search(['name'], ['%yggdrasil%'], 'like')).ids).toEqual([]);
      // Two characters cannot use a trigram index: that search scans, and still finds the user.
      expect((await search(['name'], ['%yg%'], 'like')).ids).toEqual([target.id]);
    });
  });
});

forEachStorage((name, open) => {
  describe(`trigram statistics from a sample of a larger table — ${name}`, () => {
    let opened: OpenedStore;
    afterAll(() => opened?.cleanup());

    it(`samples at most ${SAMPLE_ROWS} users spread over the table and finds what most of them hold`, async () => {
      opened = await open();
      await migrateToLatest(opened.handle.db);
      const store = new KyselyStore(opened.handle);
      for (let i = 0; i < 3 * SAMPLE_ROWS; i++) {
        await store.users.insert(userRecord({ username: `member_${i}`, name: i % 4 === 0 ? `Rare ${i}` : null, createdAt: T + i }));
      }
      const db = opened.handle.db;
      // Every statement the sample sends, as compiled, to check below that none reads the whole table.
      const sent: RootOperationNode[] = [];
      const recorder: KyselyPlugin = {
        transformQuery: ({ node }) => (sent.push(node), node),
        transformResult: async ({ result }) => result,
      };
      let sampled = 0;
      const statistics = new TrigramStatistics(db.withPlugin(recorder), opened.handle.dialect, async () => {
        sampled++;
        return countUsers(db);
      });
      const common = await statistics.commonTrigrams();
      expect(sampled).toBe(1);
      // Every user holds member_; a quarter have a name starting with "Rare".
      for (const trigram of ['mem', 'emb', 'ber', 'er_']) expect(common.has(trigram)).toBe(true);
      expect(common.has('rar')).toBe(false);
      // Concurrent callers share the sample in memory.
      await Promise.all([statistics.commonTrigrams(), statistics.commonTrigrams()]);
      expect(sampled).toBe(1);
      // A sample reads a few hundred rows, never the whole table (SQLite once scanned it for min and max
      // rowid together: 204 ms at a million users).
      expect(sent.length).toBeGreaterThan(0);
      for (const [i, node] of sent.entries()) {
        const compiled = db.getExecutor().compileQuery(node, { queryId: `sample-${i}` });
        const explain = opened.handle.dialect === 'postgres' ? 'explain ' : 'explain query plan ';
        const plan = await db.executeQuery<Record<string, unknown>>(CompiledQuery.raw(explain + compiled.sql, [...compiled.parameters]));
        const lines = plan.rows.map((row) => String(row.detail ?? row['QUERY PLAN']));
        expect(lines.join('\n'), compiled.sql).not.toMatch(opened.handle.dialect === 'postgres' ? /Seq Scan on users\b/ : /^SCAN users\b/m);
      }
    });
  });
});
