import { hash as argonHash } from '@node-rs/argon2';
import { hash as bcryptHash } from '@node-rs/bcrypt';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IssuedApplication } from '../src/domain/applications/index.js';
import { ARGON2ID } from '../src/domain/credentials/passwords.js';
import { importLogto } from '../src/cli/import-leancloud.js';
import { type DatabaseFactory, dialects, type RunningApp, startAppWithPublicUrl, testConfig } from './helpers.js';
import { LC_KEYS, lcFetch } from './leancloud-helpers.js';
import { managementToken, openSignInPage } from './oidc-helpers.js';

/**
 * Issue 19 item 1: a Logto back end moves its users with their password digests. `POST /api/users`
 * takes Logto's `passwordDigest` + `passwordAlgorithm` (digests made here by the real libraries from
 * known passwords); each user then signs in through `/api/auth`, the hosted `/oidc` page and `/1.1` —
 * whichever comes first replaces the digest by our argon2id, once, and the others leave it alone.
 */

const ADMIN_ID = 'logto-import-admin';
const ADMIN_SECRET = 'logto-import-secret-0123456789';
const REDIRECT = 'https://rp.example.com/callback';
let seq = 0;
const uniq = (p: string) => `${p}${Date.now().toString(36)}${(seq++).toString(36)}`;
const CURRENT = `$argon2id$v=19$m=${ARGON2ID.memoryCost},t=${ARGON2ID.timeCost},p=${ARGON2ID.parallelism}$`;

/** Digests of `password` as Logto stores them, made with the libraries Logto uses. */
const digests: Array<[algorithm: string, make: (password: string) => Promise<string>]> = [
  ['Argon2i', (p) => argonHash(p, { algorithm: 1 as never, memoryCost: 4096, timeCost: 3, parallelism: 1 })],
  ['Argon2d', (p) => argonHash(p, { algorithm: 0 as never, memoryCost: 4096, timeCost: 3, parallelism: 1 })],
  ['Argon2id', (p) => argonHash(p, { algorithm: 2 as never, memoryCost: 8192, timeCost: 2, parallelism: 1 })],
  ['Bcrypt', (p) => bcryptHash(p, 4)],
  ['SHA1', async (p) => createHash('sha1').update(p).digest('hex')],
  ['SHA256', async (p) => createHash('sha256').update(p).digest('hex')],
  ['MD5', async (p) => createHash('md5').update(p).digest('hex')],
  // Logto's Legacy: [hash, arguments with "@" for the password, hex digest of the arguments joined].
  ['Legacy', async (p) => JSON.stringify(['sha256', ['salt-8f2', '@', ':pepper'], createHash('sha256').update(`salt-8f2${p}:pepper`).digest('hex')])],
];

describe.each(dialects)('importing Logto password digests on %s', (_name, database) => {
  let t: RunningApp;
  let db: Awaited<ReturnType<DatabaseFactory>>;
  let web: IssuedApplication;
  let m2m: string;

  beforeAll(async () => {
    db = await database();
    t = await startAppWithPublicUrl({ databaseUrl: db.url, adminClientId: ADMIN_ID, adminClientSecret: ADMIN_SECRET, leancloud: LC_KEYS });
    web = await t.app.services.applications.create({ name: 'Web', type: 'traditional', redirectUris: [REDIRECT] });
    m2m = await managementToken(t.base, ADMIN_ID, ADMIN_SECRET);
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  const createUser = (body: Record<string, unknown>) =>
    t.call('POST', '/api/users', { token: m2m, body }).then(async (r) => ({ status: r.status, body: await r.json() }));
  const stored = async (id: string) => (await t.app.services.users.require(id)).passwordHash;

  const surfaces = {
    api: async (username: string, password: string) => (await t.call('POST', '/api/auth/sign-in', { body: { username, password } })).status === 200,
    leancloud: async (username: string, password: string) => (await lcFetch(t.base, 'POST', '/1.1/login', { body: { username, password } })).status === 200,
    oidc: async (username: string, password: string) => {
      const page = await openSignInPage(t.base, { id: web.application.id, secret: web.secret! }, REDIRECT);
      return (await page.post({ identifier: username, password })).status === 303;
    },
  } as const;
  const orders = [
    ['api', 'oidc', 'leancloud'],
    ['oidc', 'leancloud', 'api'],
    ['leancloud', 'api', 'oidc'],
  ] as const;

  it.each(digests.map(([algorithm, make], i) => ({ algorithm, make, order: orders[i % orders.length]! })))(
    '$algorithm: signs in on every surface; the first ($order.0) upgrades to argon2id, once',
    async ({ algorithm, make, order }) => {
      const password = `import-${algorithm}-violet-42`;
      const username = uniq(algorithm.toLowerCase());
      const digest = await make(password);
      const created = await createUser({ username, passwordDigest: digest, passwordAlgorithm: algorithm });
      expect(created.status).toBe(200);
      expect(created.body.hasPassword).toBe(true);
      const id = created.body.id as string;
      const imported = await stored(id);
      expect(imported).not.toMatch(/^\$argon2id\$v=19\$m=19456/);

      // A wrong password changes nothing.
      expect(await surfaces[order[0]](username, 'not-the-password-1')).toBe(false);
      expect(await stored(id)).toBe(imported);

      expect(await surfaces[order[0]](username, password)).toBe(true);
      const upgraded = await stored(id);
      expect(upgraded).toMatch(new RegExp(`^${CURRENT.replace(/\$/g, '\\$')}`));
      for (const surface of order.slice(1)) {
        expect(await surfaces[surface](username, password), surface).toBe(true);
        expect(await stored(id), `${surface} must not rehash`).toBe(upgraded);
      }
    },
    60_000,
  );

  it('refuses a digest with a password, without an algorithm, or not of its algorithm’s form (400, nothing created)', async () => {
    const md5 = createHash('md5').update('x').digest('hex');
    const cases: Array<Record<string, unknown>> = [
      { username: uniq('both'), password: 'violet-harbor-7-lantern', passwordDigest: md5, passwordAlgorithm: 'MD5' },
      { username: uniq('noalg'), passwordDigest: md5 },
      { username: uniq('short'), passwordDigest: 'abc', passwordAlgorithm: 'SHA256' },
      { username: uniq('kind'), passwordDigest: md5, passwordAlgorithm: 'Bcrypt' },
      { username: uniq('argon'), passwordDigest: await bcryptHash('x', 4), passwordAlgorithm: 'Argon2i' },
      { username: uniq('legacy'), passwordDigest: '["sha256",["salt","@"],"abc"]', passwordAlgorithm: 'Legacy' },
      { username: uniq('legacy-alg'), passwordDigest: JSON.stringify(['whirlpool-9', ['@'], md5]), passwordAlgorithm: 'Legacy' },
      { username: uniq('legacy-at'), passwordDigest: JSON.stringify(['md5', ['salt'], md5]), passwordAlgorithm: 'Legacy' },
      { username: uniq('legacy-json'), passwordDigest: '["md5", ["@"]', passwordAlgorithm: 'Legacy' },
    ];
    for (const body of cases) {
      const res = await createUser(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.code).toBe('guard.invalid_input');
      expect(await t.app.services.users.findByIdentifier('username', body.username as string)).toBeUndefined();
    }
  });
});

describe.each(dialects)('tessera import logto on %s', (name, database) => {
  let dir: string;
  let db: Awaited<ReturnType<DatabaseFactory>>;
  let url: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-logtoimport-'));
    db = await database();
    url = name === 'SQLite' ? `sqlite:${join(dir, 'tessera.db')}` : db.url;
  });
  afterAll(async () => {
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('imports an export of GET /api/users objects: ids, digests, digits-only phones, identities, suspension; bad rows reported; a re-run skips', async () => {
    const password = 'logto-export-amber-7-cliff';
    const bcrypt = await bcryptHash(password, 4);
    const legacy = JSON.stringify(['sha1', ['@', 'pepper'], createHash('sha1').update(`${password}pepper`).digest('hex')]);
    const rows: unknown[] = [
      // Logto's user objects as GET /api/users?includePasswordHash=true answers them.
      { id: 'lgt0ada00001', username: 'ada_lg', primaryEmail: 'ada@logto.example', primaryPhone: '8613800138001', name: 'Ada', avatar: null,
        customData: { plan: 'pro' }, profile: { nickname: 'ada' }, identities: { github: { userId: 'gh-ada', details: { login: 'ada' } } },
        isSuspended: false, hasPassword: true, createdAt: 1_700_000_000_000, updatedAt: 1_700_000_100_000, lastSignInAt: null,
        passwordDigest: bcrypt, passwordAlgorithm: 'Bcrypt' },
      { id: 'lgt0bob00002', username: 'bob_lg', primaryEmail: null, primaryPhone: null, customData: {}, identities: {},
        isSuspended: true, passwordDigest: legacy, passwordAlgorithm: 'Legacy' },
      { id: 'lgt0eve00003', username: 'eve_lg', identities: {}, passwordDigest: null, passwordAlgorithm: null },
      // Bad rows: a duplicate username, a digest not of its form, an identity another row has, no id, not JSON.
      { id: 'lgt0dup00004', username: 'ada_lg' },
      { id: 'lgt0bad00005', username: 'bad_lg', passwordDigest: 'nope', passwordAlgorithm: 'SHA256' },
      { id: 'lgt0gh000006', username: 'gh_lg', identities: { github: { userId: 'gh-ada' } } },
      { username: 'noid_lg' },
    ];
    const file = join(dir, 'users.jsonl');
    writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n{not json\n');
    const config = testConfig({ databaseUrl: url, adminClientId: ADMIN_ID, adminClientSecret: ADMIN_SECRET });
    const chunks: string[] = [];
    const tty = { isTTY: true, write: (text: string) => chunks.push(text) > 0 };
    const report = await importLogto(config, file, { progress: tty, concurrency: 1 });
    expect(report).toMatchObject({ total: 8, imported: 3, skipped: 0 });
    expect(report.rejected.map((r) => [r.line, r.reason])).toEqual([
      [4, 'duplicate username'],
      [5, expect.stringContaining('SHA256 digest is 64 hexadecimal characters')],
      [6, 'an identity is already linked to another user'],
      [7, 'missing or invalid id'],
      [8, expect.stringMatching(/^not JSON/)],
    ]);
    expect(chunks.join('')).toContain('imported 3, skipped 0 (already present), rejected 5 of 8 rows');

    const t = await startAppWithPublicUrl({ databaseUrl: url, adminClientId: ADMIN_ID, adminClientSecret: ADMIN_SECRET });
    try {
      const { users, identities } = t.app.services;
      const ada = await users.require('lgt0ada00001');
      expect(ada).toMatchObject({ username: 'ada_lg', primaryEmail: 'ada@logto.example', primaryPhone: '+8613800138001', emailVerified: true, phoneVerified: true,
        name: 'Ada', customData: { plan: 'pro' }, profile: { nickname: 'ada' }, createdAt: 1_700_000_000_000, passwordHash: bcrypt });
      expect(await identities.find('github', 'gh-ada')).toMatchObject({ userId: 'lgt0ada00001', verified: true, imported: true });
      // The imported digests sign in (then become argon2id); the suspended user cannot.
      expect((await t.call('POST', '/api/auth/sign-in', { body: { username: 'ada_lg', password } })).status).toBe(200);
      expect((await users.require('lgt0ada00001')).passwordHash).toMatch(/^\$argon2id\$/);
      expect((await users.require('lgt0bob00002')).isSuspended).toBe(true);
      expect((await t.call('POST', '/api/auth/sign-in', { body: { username: 'bob_lg', password } })).status).toBe(403);
      expect((await users.require('lgt0eve00003')).passwordHash).toBeNull();
      // The Management API answers the imported user as Logto did: digits-only phone, the identities map.
      const token = await managementToken(t.base, ADMIN_ID, ADMIN_SECRET);
      const got = await (await t.call('GET', '/api/users/lgt0ada00001', { token })).json();
      expect(got).toMatchObject({ id: 'lgt0ada00001', primaryPhone: '8613800138001', identities: { github: { userId: 'gh-ada', details: { login: 'ada' } } } });
      // The list answers the same identities (read with its page), for the newest page and a search.
      for (const query of ['page_size=100', 'search.username=ada_lg&mode.username=exact']) {
        const list = (await (await t.call('GET', `/api/users?${query}`, { token })).json()) as Array<{ id: string; identities: unknown }>;
        expect(list.find((u) => u.id === 'lgt0ada00001')?.identities).toEqual(got.identities);
        expect(list.find((u) => u.id === 'lgt0bob00002')?.identities ?? {}).toEqual({});
      }
    } finally {
      await t.close();
    }

    const again = await importLogto(config, file, { progress: { isTTY: false, write: () => true } });
    expect(again).toMatchObject({ imported: 0, skipped: 3 });
    expect(again.rejected).toHaveLength(5);
  }, 60_000);
});
