/**
 * `tessera import leancloud FILE` on a generated 10 000-user export (JSON lines), on SQLite and
 * PostgreSQL: what is kept, what is rejected and reported, idempotent re-runs, and LeanCloud's password
 * hash verified at the next login and upgraded to argon2id.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importLeanCloud, progressLine, readExport } from '../src/cli/import-leancloud.js';
import { leancloudHash } from '../src/domain/credentials/passwords.js';
import { startApp } from './helpers.js';
import { dialects, lcConfig, lcFetch } from './leancloud-helpers.js';

/** The spec's test vector (shared/specs/leancloud.md §2): this salt and `password` give this hash. */
const SALT = 'h60d8x797d3oa0naxybxxv9bn7xpt2yiowz68mpiwou7gwr2';
const HASH = 'tA7BLW+NK0UeARng0693gCaVnljkglCB9snqlpCSUKjx2RgYp8VZZOQt0S5iUtlDrkJXfT3gknS4rRqjYsd/Ug==';
const N = 10_000;

const oid = (i: number) => `5d831acb9c92350008${i.toString(16).padStart(6, '0')}`;

/** A LeanCloud export: N good rows plus rows that must be rejected, and one line that is not JSON. */
function generateExport(dir: string): { file: string; bad: number } {
  const lines: string[] = [];
  for (let i = 0; i < N; i++) {
    const row: Record<string, unknown> = {
      objectId: oid(i),
      username: `user${i}`,
      createdAt: i % 2 ? `2019-09-19T06:06:03.${String(i % 1000).padStart(3, '0')}Z` : { __type: 'Date', iso: '2018-01-02T03:04:05.678Z' },
      updatedAt: '2020-01-01T00:00:00.000Z',
      emailVerified: i % 3 === 0,
      mobilePhoneVerified: false,
      salt: SALT,
      password: HASH,
      sessionToken: `oldtoken${i}`,
      level: i % 7,
      tags: ['imported'],
      birthday: { __type: 'Date', iso: '1990-05-06T00:00:00.000Z' },
    };
    if (i % 2 === 0) row.email = `user${i}@example.com`;
    if (i % 5 === 0) row.mobilePhoneNumber = `+86139${String(i).padStart(8, '0')}`;
    if (i % 10 === 0) row.authData = { weixin: { openid: `openid-${i}`, access_token: 'x' }, _weixin_unionid: { uid: `union-${i}` } };
    if (i === 4) row.ACL = { [oid(4)]: { read: true, write: true } };
    lines.push(JSON.stringify(row));
  }
  const bad = [
    JSON.stringify({ objectId: 'ffffffffffffffffffff0001', username: 'user1' }), // duplicate username
    JSON.stringify({ objectId: 'ffffffffffffffffffff0002', username: 'dup-mail', email: 'USER2@example.com' }), // duplicate email
    JSON.stringify({ objectId: 'ffffffffffffffffffff0003', username: 'bad-phone', mobilePhoneNumber: '12345' }), // bad phone
    JSON.stringify({ objectId: 'ffffffffffffffffffff0004', username: 'taken-openid', authData: { weixin: { openid: 'openid-0' } } }),
    JSON.stringify({ username: 'no-id' }),
    '{"objectId": "broken"',
  ];
  lines.splice(500, 0, ...bad);
  const file = join(dir, 'users.jsonl');
  writeFileSync(file, lines.join('\n') + '\n');
  return { file, bad: bad.length };
}

/** A fake terminal collecting what the progress bar draws. */
function fakeTty() {
  const chunks: string[] = [];
  return { isTTY: true, chunks, write: (text: string) => chunks.push(text) > 0 };
}

describe('LeanCloud export parsing', () => {
  it('reads JSON arrays, {results:[…]} and JSON lines; draws a progress line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-lcexp-'));
    try {
      const rows = [{ objectId: 'a1' }, { objectId: 'a2' }];
      const collect = async (text: string) => {
        writeFileSync(join(dir, 'f.json'), text);
        const { total, rows: it } = await readExport(join(dir, 'f.json'));
        const out = [];
        for await (const r of it) out.push(r);
        return { total, out };
      };
      expect((await collect(JSON.stringify(rows, null, 2))).out).toEqual([{ line: 1, row: rows[0] }, { line: 2, row: rows[1] }]);
      expect((await collect(JSON.stringify({ results: rows }, null, 2))).total).toBe(2);
      const lines = await collect(`${JSON.stringify(rows[0])}\n\n${JSON.stringify(rows[1])}\n`);
      expect(lines).toEqual({ total: 2, out: [{ line: 1, row: rows[0] }, { line: 3, row: rows[1] }] });
      expect(progressLine(4200, 10_000, 2000, 10)).toBe('[####------] 4,200/10,000 42% 2,100 users/s ETA 3s');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.each(dialects)('tessera import leancloud on %s', (name, database) => {
  let dir: string;
  let db: Awaited<ReturnType<typeof database>>;
  let url: string;
  let exported: { file: string; bad: number };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-lcimport-'));
    db = await database();
    url = name === 'SQLite' ? `sqlite:${join(dir, 'tessera.db')}` : db.url;
    exported = generateExport(dir);
  });
  afterAll(async () => {
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('imports 10 000 users, reports the bad rows, and skips everything on a re-run', async () => {
    const tty = fakeTty();
    const reportFile = join(dir, 'rejected.jsonl');
    const report = await importLeanCloud(lcConfig({ databaseUrl: url }), exported.file, { reportFile, progress: tty, concurrency: 16 });
    expect(report.total).toBe(N + exported.bad);
    expect(report.imported).toBe(N);
    expect(report.skipped).toBe(0);
    expect(report.rejected.map((r) => r.reason)).toEqual([
      'duplicate username',
      'duplicate email',
      'invalid mobilePhoneNumber',
      'authData already linked to another user',
      'missing or invalid objectId',
      expect.stringMatching(/^not JSON/),
    ]);
    expect(report.rejected[0]).toEqual({ line: 501, objectId: 'ffffffffffffffffffff0001', reason: 'duplicate username' });
    expect(readFileSync(reportFile, 'utf8').trim().split('\n')).toHaveLength(exported.bad);
    const drawn = tty.chunks.join('');
    expect(drawn).toMatch(/\r\[#{30}\] 10,006\/10,006 100% [\d,]+ users\/s ETA 0s/);
    expect(drawn).toContain('imported 10,000, skipped 0 (already present), rejected 6 of 10,006 rows');

    const again = await importLeanCloud(lcConfig({ databaseUrl: url }), exported.file, { progress: fakeTty() });
    expect(again).toMatchObject({ imported: 0, skipped: N });
    expect(again.rejected).toHaveLength(exported.bad);
  }, 180_000); // 10 000 users through the domain: on PostgreSQL each is one transaction of several statements (55–60 s on 2 vCPUs)

  it('keeps ids, dates, flags, custom fields, authData and ACL; the LeanCloud hash logs in and is upgraded', async () => {
    const t = await startApp(lcConfig({ databaseUrl: url }));
    try {
      const { users } = t.app.services;
      const before = await users.findById(oid(0));
      expect(before?.passwordHash).toBe(`$lc-sha512$${SALT}$${HASH}`);
      expect(leancloudHash(SALT, 'password')).toBe(HASH);

      const login = await lcFetch(t.base, 'POST', '/1.1/login', { body: { username: 'user0', password: 'password' } });
      expect(login.status).toBe(200);
      expect(login.body).toMatchObject({
        objectId: oid(0),
        username: 'user0',
        email: 'user0@example.com',
        mobilePhoneNumber: '+8613900000000',
        emailVerified: true,
        mobilePhoneVerified: false,
        level: 0,
        tags: ['imported'],
        birthday: { __type: 'Date', iso: '1990-05-06T00:00:00.000Z' },
        createdAt: '2018-01-02T03:04:05.678Z',
        authData: { weixin: { openid: 'openid-0', access_token: 'x' }, _weixin_unionid: { uid: 'union-0' } },
      });
      expect(login.body.sessionToken).not.toBe('oldtoken0');
      expect(login.body.salt).toBeUndefined();
      expect((await users.findById(oid(0)))?.passwordHash).toMatch(/^\$argon2id\$/);
      // the upgraded hash keeps working; a wrong password still fails
      expect((await lcFetch(t.base, 'POST', '/1.1/login', { body: { email: 'USER0@example.com', password: 'password' } })).status).toBe(200);
      expect((await lcFetch(t.base, 'POST', '/1.1/login', { body: { username: 'user2', password: 'Password' } })).body.code).toBe(210);

      // Imported authData is the operator's (imported, migration 0013): a connector may sign in with it,
      // and the app's LeanCloud SDK keeps logging these users in with authData, by openid or UnionID.
      expect(await t.app.services.identities.find('weixin', 'openid-10')).toMatchObject({ userId: oid(10), verified: true, imported: true });
      expect(await t.app.services.identities.find('_weixin_unionid', 'union-20')).toMatchObject({ userId: oid(20), verified: true, imported: true });
      const byOpenId = await lcFetch(t.base, 'POST', '/1.1/users', { body: { authData: { weixin: { openid: 'openid-10', access_token: 'y' } } } });
      expect(byOpenId).toMatchObject({ status: 200, body: { objectId: oid(10) } });
      // Refreshing the data from authData keeps the row's imported mark.
      expect(await t.app.services.identities.find('weixin', 'openid-10')).toMatchObject({ imported: true, data: { access_token: 'y' } });
      const byUnion = await lcFetch(t.base, 'POST', '/1.1/users', { body: { authData: { wxapp: { openid: 'new-one', unionid: 'union-20', platform: 'weixin' } } } });
      expect(byUnion.body.objectId).toBe(oid(20));
      expect((await lcFetch(t.base, 'GET', `/1.1/users/${oid(4)}`)).body.code).toBe(211);
      expect((await lcFetch(t.base, 'GET', `/1.1/users/${oid(3)}`)).body).toMatchObject({ createdAt: '2019-09-19T06:06:03.003Z', emailVerified: true });
      const count = await lcFetch(t.base, 'GET', `/1.1/classes/_User?count=1&limit=0&where=${encodeURIComponent('{"level":3}')}`, { master: true });
      expect(count.body.count).toBe(Array.from({ length: N }, (_, i) => i).filter((i) => i % 7 === 3).length);
    } finally {
      await t.close();
    }
  });
});

describe('the tessera command', () => {
  it('runs `tessera import leancloud FILE`', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-lccli-'));
    try {
      const file = join(dir, 'export.json');
      writeFileSync(file, JSON.stringify([{ objectId: 'cli00000000000000000000a', username: 'cli-user', salt: SALT, password: HASH }]));
      const run = promisify(execFile);
      const env = { ...process.env, TESSERA_DATABASE_URL: `sqlite:${join(dir, 'cli.db')}`, TESSERA_LOG_LEVEL: 'silent' };
      const args = ['tsx', 'src/cli/main.ts', 'import', 'leancloud', file];
      const first = await run('npx', args, { env, cwd: process.cwd() });
      expect(first.stderr).toContain('imported 1, skipped 0 (already present), rejected 0 of 1 rows');
      const second = await run('npx', args, { env, cwd: process.cwd() });
      expect(second.stderr).toContain('imported 0, skipped 1 (already present), rejected 0 of 1 rows');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
