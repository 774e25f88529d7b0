import fc from 'fast-check';
import { ALL_EDIT, type RunningApp, startAppWithPublicUrl } from '../helpers.js';
import { LC_KEYS } from '../leancloud-helpers.js';
import { managementToken } from '../oidc-helpers.js';

/**
 * A property-based fuzzer over Tessera's own OpenAPI document (issue 15 item 3, "no 5xx from input"):
 * fast-check picks an operation and builds a request for it — path parameters, query values and a
 * body that are sometimes well-formed for the operation's schema and sometimes hostile (deep nesting,
 * NUL escapes, prototype keys, huge numbers, wrong types, invalid JSON, empty bodies) — under one of
 * several credentials, sends it over real HTTP and requires an answer below 500. Shared by
 * test/fuzz.test.ts (fixed seed, a few thousand requests per database) and `npm run fuzz` (longer).
 */

const PW = 'violet-harbor-7-lantern';
const ADMIN_ID = 'tessera-fuzz-admin';
const ADMIN_SECRET = 'fuzz-admin-secret-0123456789abcdef';

interface Operation {
  method: string;
  path: string;
  pathParams: string[];
  queryNames: string[];
  bodyProperties: string[];
  hasBody: boolean;
}

/** What a run saw. */
export interface FuzzReport {
  requests: number;
  /** Answers by HTTP status. */
  statuses: Record<number, number>;
  /** Every 5xx answer, with what was sent. */
  failures: Array<{ method: string; url: string; body: string | undefined; status: number; answer: string }>;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Hostile JSON values: nesting far past the parser's cap, NUL, prototype keys, extreme numbers and lengths. */
const hostile: fc.Arbitrary<string> = fc.oneof(
  fc.integer({ min: 1, max: 6000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`),
  fc.integer({ min: 1, max: 6000 }).map((n) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`),
  fc.constant('{"__proto__":{"isAdmin":true},"constructor":{"prototype":{"x":1}}}'),
  fc.constant('{"name":"a\\u0000b","username":"\\u0000"}'),
  fc.constant('{"where":{"username":{"$regex":"(a+)+$"}}}'),
  fc.constant('1e999'),
  fc.constant('"\\ud800"'),
  fc.constant('{"a":'),
  fc.constant(''),
  fc.constant('null'),
  fc.string({ maxLength: 40 }),
);

const scalar: fc.Arbitrary<Json> = fc.oneof(
  fc.string({ maxLength: 64 }),
  fc.string({ unit: 'binary', maxLength: 16 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom('a\u0000b', 'x'.repeat(5000), '../../etc/passwd', 'https://evil.example/', '+8613800138000', 'a@example.com', '$gt', '__proto__'),
);
const jsonValue: fc.Arbitrary<Json> = fc.letrec<{ value: Json }>((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, scalar, fc.array(tie('value'), { maxLength: 4 }), fc.dictionary(fc.string({ maxLength: 12 }), tie('value'), { maxKeys: 4 })),
})).value;

/** Reads the operations of the OpenAPI document (the catch-all /oidc/{*} and the docs excluded). */
function operationsOf(doc: { paths: Record<string, Record<string, unknown>> }): Operation[] {
  const ops: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    if (path.startsWith('/oidc/') || path.startsWith('/api/docs')) continue;
    for (const [method, raw] of Object.entries(item)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      const op = raw as { parameters?: Array<{ in: string; name: string }>; requestBody?: { content?: Record<string, { schema?: { properties?: Record<string, unknown> } }> } };
      const params = op.parameters ?? [];
      const schema = op.requestBody?.content?.['application/json']?.schema;
      ops.push({
        method: method.toUpperCase(),
        path,
        pathParams: params.filter((p) => p.in === 'path').map((p) => p.name),
        queryNames: params.filter((p) => p.in === 'query').map((p) => p.name),
        bodyProperties: Object.keys(schema?.properties ?? {}),
        hasBody: op.requestBody !== undefined,
      });
    }
  }
  return ops;
}

/** Starts an app on `databaseUrl` with every surface on, a user, an M2M client and the account center open. */
export async function startFuzzTarget(databaseUrl: string): Promise<RunningApp & { credentials: Record<string, Record<string, string>> }> {
  const t = await startAppWithPublicUrl({
    databaseUrl,
    adminClientId: ADMIN_ID,
    adminClientSecret: ADMIN_SECRET,
    leancloud: LC_KEYS,
    rateLimit: { signInPerMinute: 1_000_000, signUpPerHour: 1_000_000, managementPer10Seconds: 1_000_000 },
    codes: { resendIntervalSeconds: 0, perIdentifierPerHour: 1_000_000, perIpPerHour: 1_000_000 },
  });
  await t.app.services.accountCenter.update({
    enabled: true,
    fields: ALL_EDIT,
  });
  const signUp = await t.call('POST', '/api/auth/sign-up', { body: { username: 'fuzzer', email: 'fuzzer@example.com', password: PW } });
  const session = ((await signUp.json()) as { session: { token: string } }).session.token;
  const m2m = await managementToken(t.base, ADMIN_ID, ADMIN_SECRET);
  return Object.assign(t, {
    credentials: {
      none: {},
      garbage: { authorization: 'Bearer tss_not-a-token' },
      session: { authorization: `Bearer ${session}` },
      m2m: { authorization: `Bearer ${m2m}` },
      leancloud: { 'x-lc-id': LC_KEYS.appId, 'x-lc-key': LC_KEYS.appKey, 'x-lc-session': session },
      leancloudMaster: { 'x-lc-id': LC_KEYS.appId, 'x-lc-key': `${LC_KEYS.masterKey},master` },
    },
  });
}

/**
 * Fuzzes the running app `t` with `runs` requests from fast-check seed `seed`.
 * @returns the statuses seen and every 5xx (the caller decides; the target is none)
 */
export async function fuzz(t: Awaited<ReturnType<typeof startFuzzTarget>>, runs: number, seed: number): Promise<FuzzReport> {
  const doc = (await (await fetch(`${t.base}/api/docs/json`)).json()) as { paths: Record<string, Record<string, unknown>> };
  const ops = operationsOf(doc);
  const report: FuzzReport = { requests: 0, statuses: {}, failures: [] };
  const segment = fc.oneof(fc.string({ maxLength: 24 }), fc.constantFrom('me', 'fuzzer', '0', '-1', '%00', '..', 'a'.repeat(300), 'cap_x', 'vrf_x'));
  const body = fc.oneof(
    { weight: 3, arbitrary: jsonValue.map((v) => JSON.stringify(v)) },
    { weight: 2, arbitrary: hostile },
    { weight: 4, arbitrary: fc.constant(undefined as string | undefined) },
  );
  const request = fc.record({
    op: fc.constantFrom(...ops),
    params: fc.array(segment, { minLength: 4, maxLength: 4 }),
    query: fc.dictionary(fc.string({ maxLength: 10 }), fc.oneof(fc.string({ maxLength: 40 }), hostile), { maxKeys: 3 }),
    shaped: fc.array(jsonValue, { minLength: 8, maxLength: 8 }),
    useShape: fc.boolean(),
    body,
    auth: fc.constantFrom('none', 'garbage', 'session', 'm2m', 'leancloud', 'leancloudMaster'),
    contentType: fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded'),
  });
  await fc.assert(
    fc.asyncProperty(request, async (r) => {
      let i = 0;
      const path = r.op.path.replace(/\{[^}]+\}/g, () => encodeURIComponent(r.params[i++ % r.params.length]!)).replace(/:(\w+)/g, () => encodeURIComponent(r.params[i++ % r.params.length]!));
      const query = new URLSearchParams();
      for (const name of r.op.queryNames) if (r.query[name] === undefined && r.useShape) query.set(name, typeof r.shaped[0] === 'string' ? r.shaped[0] : JSON.stringify(r.shaped[0]));
      for (const [k, v] of Object.entries(r.query)) query.set(k, v);
      const url = `${t.base}${path}${query.size > 0 ? `?${query}` : ''}`;
      let payload: string | undefined;
      if (r.op.hasBody && r.useShape && r.op.bodyProperties.length > 0) {
        payload = JSON.stringify(Object.fromEntries(r.op.bodyProperties.map((p, k) => [p, r.shaped[k % r.shaped.length]])));
      } else if (r.op.method !== 'GET') {
        payload = r.body;
      }
      const headers: Record<string, string> = { ...t.credentials[r.auth] };
      if (payload !== undefined) headers['content-type'] = r.contentType;
      let res: Response;
      let text: string;
      try {
        res = await fetch(url, { method: r.op.method, headers, ...(payload !== undefined ? { body: payload } : {}) });
        text = await res.text();
      } catch (error) {
        report.requests++;
        // A request line over Node's 16 KiB header limit is answered 431 and the connection closed, which
        // the client may see as a reset before it reads the answer: the server refused it, as it should.
        if (Buffer.byteLength(url) > 16 * 1024) {
          report.statuses[431] = (report.statuses[431] ?? 0) + 1;
          return true;
        }
        // Otherwise no answer at all (connection reset, server crashed): as bad as a 5xx.
        report.failures.push({ method: r.op.method, url: url.slice(0, 300), body: payload?.slice(0, 300), status: 0, answer: `${String(error)} (${String((error as Error).cause)})` });
        return true;
      }
      report.requests++;
      report.statuses[res.status] = (report.statuses[res.status] ?? 0) + 1;
      if (res.status >= 500) {
        report.failures.push({ method: r.op.method, url: url.slice(0, 300), body: payload?.slice(0, 300), status: res.status, answer: text.slice(0, 300) });
      }
      return true;
    }),
    { numRuns: runs, seed, endOnFailure: false },
  );
  return report;
}
