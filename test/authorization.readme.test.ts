/**
 * The curl walk-through of the README's Authorization section (issue 18: "the authorization model, with a
 * curl walk-through (resource → role → user → token)") runs as written against a listening server, on
 * SQLite and PostgreSQL, and the answers are what its comments say.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DatabaseFactory, dialects, type RunningApp, startAppWithPublicUrl } from './helpers.js';
import { managementToken } from './oidc-helpers.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const section = readme.slice(readme.indexOf('### Authorization: API resources, permissions, roles'));
const script = /```sh\n([\s\S]*?)```/.exec(section)![1]!;
/** The JSON objects curl printed one after another (curl adds no newline after a body). */
function jsonValues(text: string): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') {
      if (depth++ === 0) start = i;
    } else if (c === '}' && --depth === 0) out.push(JSON.parse(text.slice(start, i + 1)) as Record<string, unknown>);
  }
  return out;
}

const ADMIN_ID = 'readme-authz-admin';
const ADMIN_SECRET = 'readme-authz-admin-secret-0123456789';

describe.each(dialects)('README authorization walk-through on %s', (_name, database: DatabaseFactory) => {
  let t: RunningApp;
  let db: Awaited<ReturnType<DatabaseFactory>>;
  beforeAll(async () => {
    db = await database();
    t = await startAppWithPublicUrl({ databaseUrl: db.url, adminClientId: ADMIN_ID, adminClientSecret: ADMIN_SECRET });
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  it('runs every command, and the user and the M2M app end up with what the comments say', async () => {
    const user = await t.app.services.users.create({ username: 'readme-analyst', password: 'violet-harbor-7-lantern' });
    const job = await t.app.services.applications.create({ name: 'Nightly export', type: 'm2m' });
    const env = {
      ...process.env,
      B: t.base,
      TOKEN: await managementToken(t.base, ADMIN_ID, ADMIN_SECRET),
      USER_ID: user.id,
      JOB_APP_ID: job.application.id,
      JOB_APP_SECRET: job.secret!,
    };
    const { stdout } = await promisify(execFile)('bash', ['-c', `set -euo pipefail\n${script}`], { env });
    const answers = jsonValues(stdout);
    expect(answers).toHaveLength(3);
    const [userRoles, appRoles, token] = answers;
    const roles = await t.app.services.authorization.userRoles(user.id);
    expect(roles.map((r) => r.name)).toEqual(['analyst']);
    expect(userRoles).toEqual({ roleIds: [roles[0]!.id], addedRoleIds: [roles[0]!.id] });
    expect((await t.app.services.authorization.applicationRoles(job.application.id)).map((r) => r.name)).toEqual(['report-exporter']);
    expect(appRoles).toMatchObject({ addedRoleIds: [expect.any(String)] });
    expect(token).toMatchObject({ expires_in: 600, scope: 'read:reports', token_type: 'Bearer' });
  });
});
