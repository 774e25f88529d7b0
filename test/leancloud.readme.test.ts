/**
 * The curl walk-through of the README's LeanCloud section (the examples of LeanCloud's account REST
 * documentation, seed 004) runs as written against a listening server, on SQLite and PostgreSQL: every
 * command must succeed (`curl -f`), and the answers must be what the comments say.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningApp, startApp } from './helpers.js';
import { dialects, lcConfig } from './leancloud-helpers.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const section = readme.slice(readme.indexOf('### LeanCloud-compatible API (`/1.1`)'));
const script = /```sh\n([\s\S]*?)```/.exec(section)![1]!;
const keys = /export LC_ID=(\S+) LC_KEY=(\S+) LC_MASTER=(\S+)/.exec(script)!;

describe.each(dialects)('README LeanCloud curl examples on %s', (_name, database) => {
  let t: RunningApp;
  let db: Awaited<ReturnType<typeof database>>;
  beforeAll(async () => {
    db = await database();
    t = await startApp(lcConfig({ databaseUrl: db.url, leancloud: { appId: keys[1]!, appKey: keys[2]!, masterKey: keys[3]! } }));
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  it('runs every command of the walk-through successfully', async () => {
    const run = promisify(execFile);
    const body = script.replace('http://127.0.0.1:3000', t.base);
    const { stdout } = await run('bash', ['-c', `set -euo pipefail\n${body}`], { env: process.env });
    const answers = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, any>);
    // sign-up, fetch, update, query, authData sign-up, link, unlink, email change, 2 email requests, delete
    expect(answers).toHaveLength(11);
    const [signUp, fetched, updated, query, authData, linked, unlinked, emailSet, verify, reset, deleted] = answers;
    expect(signUp).toMatchObject({ username: 'tom', phone: '18612340000', emailVerified: false, sessionToken: expect.any(String) });
    expect(fetched).toMatchObject({ objectId: signUp!.objectId, username: 'tom' });
    expect(fetched!.sessionToken).toBeUndefined();
    expect(Object.keys(updated!).sort()).toEqual(['objectId', 'updatedAt']);
    expect(query!.results).toHaveLength(1);
    expect(query!.results[0]).toMatchObject({ username: 'tom', phone: '18600001234', score: 1 });
    expect(authData).toMatchObject({ authData: { qq: { openid: '0395BA18A5CD6255E5BA185E7BEBA242' } }, sessionToken: expect.any(String) });
    for (const a of [linked, unlinked, emailSet]) expect(a!.objectId).toBe(signUp!.objectId);
    expect([verify, reset, deleted]).toEqual([{}, {}, {}]);
  });
});
