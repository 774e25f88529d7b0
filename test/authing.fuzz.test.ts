import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningApp, startAppWithPublicUrl } from './helpers.js';

/**
 * Issue 17: no 5xx from the Authing surface, whatever the body. fast-check sends the SDK's operation
 * names with generated variables (strings, numbers, nested objects, base64 of random bytes of every size
 * as passwords, forged tokens), plus raw bodies that are not GraphQL at all; every answer must be HTTP 200
 * with Authing's envelope. A fixed seed; SQLite.
 */
const SEED = 20261203;
const RUNS = 600;

const OPERATIONS = [
  ['mutation', 'registerByEmail'], ['mutation', 'registerByUsername'], ['mutation', 'registerByPhoneCode'], ['mutation', 'loginByEmail'],
  ['mutation', 'loginByUsername'], ['mutation', 'loginByPhonePassword'], ['mutation', 'loginByPhoneCode'], ['query', 'user'], ['mutation', 'updateUser'],
  ['query', 'checkLoginStatus'], ['mutation', 'refreshToken'], ['query', 'isUserExists'], ['query', 'checkPasswordStrength'], ['mutation', 'updatePassword'],
  ['mutation', 'resetPassword'], ['mutation', 'sendEmail'], ['query', 'udv'], ['mutation', 'setUdv'], ['mutation', 'setUdvBatch'], ['mutation', 'removeUdv'],
  ['mutation', 'bindPhone'], ['mutation', 'bindEmail'], ['mutation', 'updatePhone'], ['mutation', 'updateEmail'], ['mutation', 'unbindPhone'],
  ['query', 'accessToken'], ['mutation', 'createUser'], ['mutation', 'deleteUser'], ['query', 'users'], ['query', 'searchUser'], ['query', 'findUser'],
  ['mutation', 'setUdf'], ['query', 'udf'], ['mutation', 'resetPasswordByFirstLoginToken'], ['mutation', 'nosuchoperation'],
] as const;

describe('Authing surface fuzzing (SQLite)', () => {
  let t: RunningApp;
  let managementToken = '';
  beforeAll(async () => {
    t = await startAppWithPublicUrl({ authing: { appId: 'fuzz-app', secret: 'fuzz-pool-secret-0123456789' }, rateLimit: { signInPerMinute: 100_000, signUpPerHour: 100_000 } });
    // Half of the requests carry a management token, so the administrator paths see the generated input too.
    const res = await fetch(`${t.base}/graphql/v2`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'query accessToken($userPoolId: String!, $secret: String!) { accessToken(userPoolId: $userPoolId, secret: $secret) { accessToken } }', variables: { userPoolId: 'fuzz-app', secret: 'fuzz-pool-secret-0123456789' } }),
    });
    managementToken = ((await res.json()) as { data: { accessToken: { accessToken: string } } }).data.accessToken.accessToken;
  });
  afterAll(async () => {
    await t?.close();
  });

  const scalar = fc.oneof(fc.string({ maxLength: 40 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('base64')));
  const value = fc.letrec((tie) => ({
    v: fc.oneof({ depthSize: 'small' }, scalar, fc.array(tie('v'), { maxLength: 4 }), fc.dictionary(fc.string({ maxLength: 12 }), tie('v'), { maxKeys: 5 })),
  })).v;
  const keys = ['input', 'email', 'username', 'phone', 'password', 'code', 'token', 'id', 'targetId', 'key', 'value', 'udvList', 'newPassword', 'oldPassword', 'userPoolId', 'secret', 'userInfo', 'query', 'page', 'limit', 'scene', 'phoneCode', 'emailCode'];
  const variables = fc.dictionary(fc.constantFrom(...keys), value, { maxKeys: 6 });
  const graphqlBody = fc.record({ op: fc.constantFrom(...OPERATIONS), variables }).map(({ op, variables: v }) => JSON.stringify({ query: `${op[0]} ${op[1]}($x: String) { ${op[1]} { id } }`, variables: v }));
  const rawBody = fc.oneof(fc.string({ maxLength: 200 }), fc.json(), fc.constant('{"query":'), fc.constant(''));
  const headers = fc.record({
    bearer: fc.oneof(fc.constant(undefined), fc.string({ maxLength: 60 }), fc.constant('eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.AAAA'), fc.constant('MANAGEMENT'), fc.constant('MANAGEMENT')),
    lang: fc.constantFrom('zh-CN', 'en-US', 'xx'),
  });

  it(`${RUNS} generated GraphQL and REST requests, seed ${SEED}: all HTTP 200 in Authing's envelope, none 5xx`, async () => {
    const statuses: Record<string, number> = {};
    await fc.assert(
      fc.asyncProperty(fc.oneof(graphqlBody, rawBody), headers, fc.boolean(), async (body, h, rest) => {
        const requestHeaders: Record<string, string> = { 'content-type': 'application/json', 'x-authing-lang': h.lang, 'x-authing-app-id': 'fuzz-app' };
        if (h.bearer !== undefined) requestHeaders.authorization = `Bearer ${h.bearer === 'MANAGEMENT' ? managementToken : h.bearer}`;
        const path = rest ? '/api/v2/sms/send' : '/graphql/v2';
        const res = await fetch(`${t.base}${path}`, { method: 'POST', headers: requestHeaders, body });
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        expect(res.status).toBe(200);
        const answer = (await res.json()) as { code?: number; errors?: Array<{ message: { code: number } }>; data?: unknown };
        const code = rest ? answer.code : answer.errors ? answer.errors[0]!.message.code : 200;
        expect(typeof code).toBe('number');
        expect(code).not.toBe(500);
      }),
      { seed: SEED, numRuns: RUNS },
    );
    console.log(`authing fuzz: statuses ${JSON.stringify(statuses)}`);
  }, 300_000);
});
