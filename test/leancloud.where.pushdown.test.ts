/**
 * `where` pushdown (issue 22 §4): the part of a `/1.1/classes/_User` query that runs in SQL must never
 * change an answer. Property test on SQLite and PostgreSQL: random users (usernames and emails with
 * upper case, `I`/`ı`, LIKE wildcards, accents, astral characters and characters above the surrogates;
 * nulls; tied timestamps) and random `where` documents; the answer of the real endpoint (with pushdown,
 * paging and count in SQL when the `where` is exact) must equal sift's evaluation over every user, and the
 * store's condition must keep every user sift accepts (and no other when it claims to be exact).
 */
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileOrder, compileWhere, pushdownOrder, pushdownWhere, regexLiterals } from '../src/http/leancloud/query.js';
import { toLcUser } from '../src/http/leancloud/wire.js';
import { KyselyStore } from '../src/storage/kysely-store.js';
import type { UserRecord } from '../src/storage/store.js';
import { PG_URL, type RunningApp, startApp } from './helpers.js';
import { type DatabaseFactory, dialects, lcConfig, lcFetch } from './leancloud-helpers.js';

/** Characters that stress case folding, LIKE escaping, collation and UTF-16 vs code point order. */
const CHARS = ['a', 'b', 'A', 'B', 'i', 'I', 'ı', '_', '%', '\\', '.', '1', 'é', 'É', 'Σ', 'ς', '😀', '\uE000', '\uFFFD', ' '];
const text = (max: number) => fc.array(fc.constantFrom(...CHARS), { minLength: 0, maxLength: max }).map((a) => a.join(''));

/** Instants a few seconds apart, some on whole seconds (their ISO strings end in `.000Z`), so ties happen. */
const BASE = Date.parse('2026-03-01T10:00:00.000Z');
const INSTANTS = [0, 1, 999, 1000, 1500, 2000, 60_000].map((d) => BASE + d);
const iso = (ms: number) => new Date(ms).toISOString();

const userArb = fc.record({
  username: fc.option(text(5), { nil: null }),
  local: fc.option(text(4), { nil: null }),
  phone: fc.option(fc.integer({ min: 0, max: 30 }), { nil: null }),
  emailVerified: fc.boolean(),
  phoneVerified: fc.boolean(),
  createdAt: fc.constantFrom(...INSTANTS),
  updatedAt: fc.constantFrom(...INSTANTS),
});

/** Stored records: unique usernames, email keys and phones; hex ids. */
function records(raw: Array<typeof userArb extends fc.Arbitrary<infer T> ? T : never>, seed: number): UserRecord[] {
  const seen = new Set<string>();
  const unique = (kind: string, v: string | null) => {
    if (v === null || seen.has(`${kind}:${v}`)) return null;
    seen.add(`${kind}:${v}`);
    return v;
  };
  return raw.map((r, n) => {
    const email = r.local === null ? null : `${r.local}@Ex.com`;
    return {
      id: `${seed.toString(16).padStart(8, '0')}${n.toString(16).padStart(16, '0')}`,
      username: unique('u', r.username),
      primaryEmail: email !== null && unique('e', email.toLowerCase()) !== null ? email : null,
      primaryPhone: unique('p', r.phone === null ? null : `+861380000${String(r.phone).padStart(4, '0')}`),
      name: null,
      avatar: null,
      profile: {},
      customData: {},
      passwordHash: null,
      passwordUpdatedAt: null,
      emailVerified: r.emailVerified,
      phoneVerified: r.phoneVerified,
      isSuspended: false,
      createdAt: r.createdAt,
      updatedAt: r.updatedAt,
      lastSignInAt: null,
      passwordResetRequired: false,
    } satisfies UserRecord;
  });
}

const FIELDS = ['objectId', 'username', 'email', 'mobilePhoneNumber', 'emailVerified', 'mobilePhoneVerified', 'createdAt', 'updatedAt', 'nickname'];

/** Values that collide with stored ones often enough to matter. */
const valueArb: fc.Arbitrary<unknown> = fc.oneof(
  text(3),
  fc.constantFrom(null, true, false, 0, 1, '', 'a@Ex.com', 'A@ex.com', '+8613800000003', '+86138', '0000000000000000'),
  fc.constantFrom(...INSTANTS).map(iso),
  fc.constantFrom(...INSTANTS).map((ms) => iso(ms).replace('.000Z', 'Z')),
  fc.constantFrom(...INSTANTS).map((ms) => ({ __type: 'Date', iso: iso(ms) })),
  fc.constantFrom('2026', '2026-03-01T10:00:01', { __type: 'Date', iso: 'not a date' }),
);

const regexArb = fc
  .tuple(
    fc.boolean(),
    fc.array(fc.oneof(fc.constantFrom(...CHARS).map((c) => c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')), fc.constantFrom('.', 'a*', 'b?', 'a+', '[ab]', '(a|b)', '\\d', 'x{0,1}', '$')), { maxLength: 4 }),
    fc.constantFrom('', 'i', 'm', 'im', 's'),
    fc.boolean(),
  )
  .map(([anchored, parts, options, quoted]) => {
    const body = quoted ? `\\Q${parts.join('').replace(/\\/g, '')}\\E` : parts.join('');
    return { $regex: `${anchored ? '^' : ''}${body}`, ...(options ? { $options: options } : {}) };
  });

const conditionArb: fc.Arbitrary<unknown> = fc.oneof(
  valueArb,
  fc.record({ $ne: valueArb }),
  fc.record({ $in: fc.array(valueArb, { maxLength: 4 }) }),
  fc.record({ $nin: fc.array(valueArb, { maxLength: 3 }) }),
  fc.record({ $exists: fc.constantFrom(true, false, 0, 1) }),
  fc.dictionary(fc.constantFrom('$gt', '$gte', '$lt', '$lte'), valueArb, { minKeys: 1, maxKeys: 2 }),
  regexArb,
);

const { where: whereArb } = fc.letrec<{ where: unknown; leaf: unknown }>((tie) => ({
  leaf: fc.dictionary(fc.constantFrom(...FIELDS), conditionArb, { minKeys: 0, maxKeys: 2 }),
  where: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    tie('leaf'),
    fc.record({ $or: fc.array(tie('where'), { minLength: 1, maxLength: 3 }) }),
    fc.record({ $and: fc.array(tie('where'), { minLength: 1, maxLength: 3 }) }),
  ),
}));

const ORDERS = [undefined, 'createdAt', '-createdAt', 'updatedAt,-objectId', 'mobilePhoneNumber', '-mobilePhoneNumber,createdAt', 'emailVerified,-updatedAt', 'username', '-email'];
const queryArb = fc.record({ where: whereArb, order: fc.constantFrom(...ORDERS), limit: fc.integer({ min: 1, max: 8 }), skip: fc.integer({ min: 0, max: 4 }) });

describe('pushdown analysis', () => {
  it('marks exactly the fully translated conditions as exact', () => {
    expect(pushdownWhere({ username: { $regex: '^\\Quser_1\\E' } })).toMatchObject({ exact: true });
    expect(pushdownWhere({ username: { $regex: 'ser_1' } })).toMatchObject({ exact: true });
    expect(pushdownWhere({ username: { $regex: '^ab', $options: 'i' } }).exact).toBe(false);
    expect(pushdownWhere({ username: { $regex: '^ab', $options: 'm' } }).exact).toBe(false);
    expect(pushdownWhere({ username: { $regex: 'a|b' } })).toEqual({ condition: { kind: 'const', value: true }, exact: false });
    expect(pushdownWhere({ $or: [{ username: 'a' }, { nickname: 'x' }] })).toEqual({ condition: { kind: 'const', value: true }, exact: false });
    expect(pushdownWhere({ username: { $gt: '\u{1F600}' } }).exact).toBe(false); // JS compares UTF-16 units there
    expect(pushdownWhere({ username: 5 })).toEqual({ condition: { kind: 'const', value: false }, exact: true });
    // A string bound on a timestamp compares with its ISO string: '…:00.000Z' < '…:00Z'.
    expect(pushdownWhere({ createdAt: { $lt: '2021-01-01T00:00:00Z' } })).toEqual({
      condition: { kind: 'compare', column: 'created_at', op: '<', value: Date.parse('2021-01-01T00:00:01.000Z') },
      exact: true,
    });
    expect(pushdownOrder('-createdAt,objectId')).toEqual([{ column: 'created_at', desc: true }, { column: 'id', desc: false }]);
    expect(pushdownOrder('username')).toBeUndefined();
  });

  it('reads the literal parts of a regex', () => {
    expect(regexLiterals('^ab\\.c?d*e+f{0,2}g{2}h(ij)k[lm]n')).toEqual({ prefix: 'ab.', runs: ['ab.', 'e', 'g', 'h', 'k', 'n'], whole: false, anchored: true });
    expect(regexLiterals('^\\.\\-x')).toEqual({ prefix: '.-x', runs: ['.-x'], whole: true, anchored: true });
    expect(regexLiterals('(?:)')).toEqual({ prefix: undefined, runs: [], whole: true, anchored: false });
    expect(regexLiterals('a\\u0041')).toBeUndefined();
    expect(regexLiterals('(a)\\1')).toBeUndefined();
  });
});

/**
 * The suites' databases, plus (with TESSERA_TEST_PG_URL) a PostgreSQL database whose default collation is
 * ICU's root locale, where text does not sort by code point: ranges and ORDER BY must say `COLLATE "C"`.
 */
const databases: Array<[string, DatabaseFactory]> = [...dialects];
if (PG_URL) {
  const baseUrl = PG_URL;
  databases.push([
    'PostgreSQL (ICU collation)',
    async () => {
      const name = `tessera_test_icu_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
      const admin = async (statement: string) => {
        const c = new pg.Client({ connectionString: baseUrl });
        await c.connect();
        try {
          await c.query(statement);
        } finally {
          await c.end();
        }
      };
      await admin(`CREATE DATABASE ${name} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'und' LOCALE 'C.UTF-8'`);
      return { url: Object.assign(new URL(baseUrl), { pathname: `/${name}` }).toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
    },
  ]);
}

describe.each(databases)('where pushdown on %s', (_name, database) => {
  let t: RunningApp;
  let db: Awaited<ReturnType<typeof database>>;
  let store: KyselyStore;

  beforeAll(async () => {
    db = await database();
    t = await startApp(lcConfig({ databaseUrl: db.url }));
    store = new KyselyStore(t.app.database);
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it('answers every query exactly as sift over all users does', async () => {
    let seed = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(userArb, { minLength: 5, maxLength: 30 }), fc.array(queryArb, { minLength: 8, maxLength: 8 }), async (raw, queries) => {
        await t.app.database.db.deleteFrom('users').execute();
        const users = records(raw, ++seed);
        for (const u of users) await store.users.insert(u);
        const objects = users.map((user) => toLcUser({ user, identities: [] }));
        for (const q of queries) {
          const predicate = compileWhere(q.where);
          const expected = objects.filter(predicate);
          const expectedIds = expected.map((o) => o.objectId as string).sort();

          // The store's condition narrows only (and is the whole answer when exact).
          const pushed = pushdownWhere(q.where);
          const rows = await store.leancloud.scanUsers({ condition: pushed.condition }, null, 10_000);
          const rowIds = rows.map((r) => r.id).sort();
          expect(rowIds.filter((id) => expectedIds.includes(id)), JSON.stringify(q.where)).toEqual(expectedIds);
          if (pushed.exact) expect(rowIds, `exact ${JSON.stringify(q.where)}`).toEqual(expectedIds);

          // The endpoint: results, order, paging and count as in memory.
          const page = [...expected].sort(compileOrder(q.order)).slice(q.skip, q.skip + q.limit).map((o) => o.objectId);
          const params = new URLSearchParams({ where: JSON.stringify(q.where), limit: String(q.limit), skip: String(q.skip), count: '1' });
          if (q.order) params.set('order', q.order);
          const answer = await lcFetch(t.base, 'GET', `/1.1/classes/_User?${params}`, { master: true });
          expect(answer.status, answer.text).toBe(200);
          expect({ ids: answer.body.results.map((o: { objectId: string }) => o.objectId), count: answer.body.count }, `${JSON.stringify(q)} (exact: ${pushed.exact})`).toEqual({
            ids: page,
            count: expected.length,
          });
        }
      }),
      { numRuns: 40 },
    );
  }, 300_000);
});
