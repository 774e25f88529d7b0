import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import openapiTS, { astToString } from 'openapi-typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects, type RunningApp, startAppWithPublicUrl } from './helpers.js';

/**
 * Issue 21 item 2, "a test generates a client from the document and type-checks a few calls against the live
 * server": the server's own `/api/openapi.json` goes through `openapi-typescript` (types) into
 * `openapi-fetch` (a typed fetch client); a small app of calls is type-checked with `tsc` (strict, with
 * `@ts-expect-error` lines that must stay errors, so a document that types nothing fails), then run
 * against the listening server: `/api/auth` sign-up, sign-in and refusal, `/api/auth/me`, and the
 * Management API with an M2M token.
 */

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
const ADMIN_ID = 'openapi-client-admin';
const ADMIN_SECRET = 'openapi-client-admin-secret-0123456789';

/** The app of calls, written against the generated `paths` only (no hand-written types). */
const CALLS = `import createClient from 'openapi-fetch';
import type { paths } from './schema.js';

export async function run(base: string, username: string, password: string, adminToken: string) {
  const client = createClient<paths>({ baseUrl: base });
  const status = await client.GET('/api/status');

  const signUp = await client.POST('/api/auth/sign-up', { body: { username, password } });
  if (!signUp.data) throw new Error('sign-up failed: ' + JSON.stringify(signUp.error));
  const userId: string = signUp.data.user.id;
  const token: string = signUp.data.session.token;

  const me = await client.GET('/api/auth/me', { headers: { authorization: 'Bearer ' + token } });
  const wrong = await client.POST('/api/auth/sign-in', { body: { username, password: password + '-not' } });
  const refusal: string | undefined = wrong.error?.code;

  const asAdmin = { authorization: 'Bearer ' + adminToken };
  const viaManagement = await client.GET('/api/users/{userId}', { params: { path: { userId } }, headers: asAdmin });
  const page = await client.GET('/api/users', { params: { query: { page: 1, page_size: 5 } }, headers: asAdmin });
  const listed: string[] = (page.data ?? []).map((u) => u.id);

  return {
    status: status.response.status,
    userId,
    meId: me.data?.id,
    refusal,
    refusalStatus: wrong.response.status,
    managementUsername: viaManagement.data?.username,
    listed,
  };
}

/** Never called: each marked line must be a type error, or tsc fails on the unused directive. */
export function misuses(client: ReturnType<typeof createClient<paths>>) {
  // @ts-expect-error the path parameter is userId, not id
  void client.GET('/api/users/{userId}', { params: { path: { id: 'u1' } } });
  // @ts-expect-error the password is a string
  void client.POST('/api/auth/sign-up', { body: { username: 'ada', password: 12345678 } });
  // @ts-expect-error no such route in the document
  void client.GET('/api/no-such-route');
}
`;

describe.each(dialects)('a client generated from the OpenAPI document (openapi-typescript + openapi-fetch) on %s', (_name, database) => {
  let t: RunningApp;
  let db: Awaited<ReturnType<(typeof dialects)[number][1]>>;
  let dir: string;

  beforeAll(async () => {
    db = await database();
    t = await startAppWithPublicUrl({ databaseUrl: db.url, adminClientId: ADMIN_ID, adminClientSecret: ADMIN_SECRET });
    // Inside the repository (test-results/ is ignored by git) so that `openapi-fetch` resolves from node_modules.
    dir = join(root, 'test-results', `openapi-client-${_name.toLowerCase()}-${process.pid}`);
    mkdirSync(dir, { recursive: true });
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('type-checks against the generated types and runs against the live server', async () => {
    const doc = await (await t.call('GET', '/api/openapi.json')).json();
    writeFileSync(join(dir, 'schema.d.ts'), astToString(await openapiTS(doc)));
    writeFileSync(join(dir, 'calls.ts'), CALLS);
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, lib: ['ES2023', 'DOM'], types: [] },
        files: ['calls.ts', 'schema.d.ts'],
      }),
    );
    const checked = await run(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], { cwd: root }).then(
      () => 'ok',
      (e: { stdout: string }) => e.stdout,
    );
    expect(checked).toBe('ok');

    const tokenAnswer = await fetch(`${t.base}/oidc/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${ADMIN_ID}:${ADMIN_SECRET}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource: `${t.base}/api`, scope: 'all' }).toString(),
    });
    expect(tokenAnswer.status).toBe(200);
    const adminToken = ((await tokenAnswer.json()) as { access_token: string }).access_token;

    const calls = (await import(pathToFileURL(join(dir, 'calls.ts')).href)) as {
      run(base: string, username: string, password: string, adminToken: string): Promise<Record<string, unknown>>;
    };
    const username = `oac${Date.now().toString(36)}`;
    const result = await calls.run(t.base, username, 'violet-harbor-7-lantern', adminToken);
    expect(result).toMatchObject({ status: 204, meId: result.userId, refusal: 'auth.invalid_credentials', refusalStatus: 401, managementUsername: username });
    expect(result.listed).toContain(result.userId);
  }, 60_000);
});
