import { hash as argonHash } from '@node-rs/argon2';
import { hash as bcryptHash } from '@node-rs/bcrypt';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IssuedApplication } from '../src/domain/applications/index.js';
import { ARGON2ID } from '../src/domain/credentials/passwords.js';
import { type DatabaseFactory, dialects, type RunningApp, startAppWithPublicUrl } from './helpers.js';
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
    ];
    for (const body of cases) {
      const res = await createUser(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.code).toBe('guard.invalid_input');
      expect(await t.app.services.users.findByIdentifier('username', body.username as string)).toBeUndefined();
    }
  });
});
