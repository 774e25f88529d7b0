/**
 * `TesseraError.data` typed by `code` (issue 21: "`TesseraError` narrows `data` by `code`, a discriminated
 * union generated from the code table"): the generated map is the server's, the shapes the server sends
 * are the ones the map gives (real server on 127.0.0.1, SQLite and PostgreSQL), and the narrowing is
 * checked by the compiler (`npm test` type-checks this file; each `@ts-expect-error` fails the build when
 * the line it marks compiles).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects } from '../../test/helpers.js';
import { AccountClient, AuthenticationClient, isTesseraError, ManagementClient, TesseraError } from '../src/index.js';
import { fromLogtoDialect } from '../src/logto-dialect.js';
import { ADMIN_ID, ADMIN_SECRET, PW, type SdkServer, startSdkServer, uniq } from './server.js';

/** What an app shows for an error, reading `data` only through the narrowing (no casts). */
function describeError(error: unknown): string {
  if (!isTesseraError(error)) return 'not a TesseraError';
  switch (error.code) {
    case 'verification.code_mismatch':
      return `tries left: ${error.data.remainingAttempts}`;
    case 'password.rejected':
      return `policy: ${error.data.issues.map((i) => i.code).join(',')}`;
    case 'request.invalid':
      return `fields: ${error.data.issues.map((i) => `${i.path}/${i.code}`).join(',')}`;
    case 'auth.mfa_required':
      return `second factor: ${error.data.factors.join(',')} for ${error.data.pendingSignInId.length > 0}`;
    default:
      return error.code;
  }
}

/** Never called: each marked line must be a type error, or `tsc` fails on an unused `@ts-expect-error`. */
export function compileTimeChecks(e: unknown): void {
  if (isTesseraError(e, 'auth.invalid_credentials')) {
    // @ts-expect-error a code the map does not list carries no data
    void e.data.remainingAttempts;
  }
  if (isTesseraError(e, 'verification.code_mismatch')) {
    const tries: number = e.data.remainingAttempts;
    // @ts-expect-error the shape is exact: no such member
    void e.data.issues;
    void tries;
  }
  if (isTesseraError(e)) {
    // @ts-expect-error without narrowing the code, data is the union of every shape
    void e.data.pendingSignInId;
  }
  // @ts-expect-error the constructor holds data to its code's shape
  void new TesseraError('verification.code_mismatch', 400, 'x', { remaining: 1 });
}

describe('the SDK error-data map', () => {
  it('is the server table’s ErrorDataMap, verbatim (run `npm run gen:codes -w sdk` after changing it)', () => {
    const server = readFileSync(new URL('../../src/errors/codes.ts', import.meta.url), 'utf8');
    const sdk = readFileSync(new URL('../src/codes.ts', import.meta.url), 'utf8');
    const block = server.slice(server.indexOf('\n', server.indexOf('// BEGIN ErrorDataMap')) + 1, server.indexOf('// END ErrorDataMap')).trimEnd();
    expect(block).toContain('export interface ErrorDataMap {');
    expect(block.length).toBeGreaterThan(500);
    expect(sdk).toContain(block);
  });
});

describe('a Logto input refusal read back as request.invalid', () => {
  it('keeps the server’s issues, or makes the one refusal an issue carrying Logto’s code', () => {
    const withIssues = fromLogtoDialect(new TesseraError('guard.invalid_input' as never, 400, 'bad', { issues: [{ path: 'query.page', code: 'too_small', message: 'm' }] } as never), '/api/users');
    expect(describeError(withIssues)).toBe('fields: query.page/too_small');
    const bare = fromLogtoDialect(new TesseraError('guard.invalid_pagination' as never, 400, 'Invalid pagination value.'), '/api/users');
    expect(isTesseraError(bare, 'request.invalid') && bare.data.issues).toEqual([{ path: '', code: 'guard.invalid_pagination', message: 'Invalid pagination value.' }]);
  });
});

describe.each(dialects)('TesseraError data narrowed by code, against a real server on %s', (_name, database) => {
  let s: SdkServer;
  beforeAll(async () => {
    s = await startSdkServer(database);
  });
  afterAll(async () => {
    await s.close();
  });

  const caught = (promise: Promise<unknown>) => promise.then(() => expect.unreachable('the call succeeded'), (e: unknown) => e);

  it('password.rejected carries the policy findings, request.invalid the fields', async () => {
    const auth = new AuthenticationClient({ appHost: s.t.base });
    const rejected = await caught(auth.registerByEmail(`${uniq()}@example.com`, 'q7#Lm'));
    expect(describeError(rejected)).toBe('policy: password_rejected.too_short');

    // The Management API answers Logto's guard.invalid_input; the SDK reads it back as request.invalid with issues.
    const mgmt = new ManagementClient({ endpoint: s.t.base, clientId: ADMIN_ID, clientSecret: ADMIN_SECRET });
    const invalid = await caught(mgmt.users.create({ username: uniq(), password: 12345678 as never }));
    expect(isTesseraError(invalid, 'request.invalid')).toBe(true);
    expect(describeError(invalid)).toBe('fields: body.password/invalid_type');
  });

  it('verification.code_mismatch carries the tries left, counting down', async () => {
    const auth = new AuthenticationClient({ appHost: s.t.base });
    const user = await auth.registerByEmail(`${uniq()}@example.com`, PW);
    await s.t.app.services.accountCenter.update({ enabled: true, fields: { email: 'Edit' } });
    const account = new AccountClient({ endpoint: s.t.base, accessToken: async () => user.token! });
    const next = `${uniq()}@example.com`;
    const before = s.smtp.messages.length;
    const sent = await account.sendVerificationCode({ type: 'email', value: next });
    const code = await s.mailCode(next, before);
    const wrong = code === '000000' ? '111111' : '000000';
    const attempt = () => caught(account.verifyVerificationCode({ verificationRecordId: sent.verificationRecordId, identifier: { type: 'email', value: next }, code: wrong }));
    const first = await attempt();
    const second = await attempt();
    if (!isTesseraError(first, 'verification.code_mismatch') || !isTesseraError(second, 'verification.code_mismatch')) throw first;
    expect(first.data.remainingAttempts).toBeGreaterThan(0);
    expect(second.data.remainingAttempts).toBe(first.data.remainingAttempts - 1);
    expect(describeError(second)).toBe(`tries left: ${second.data.remainingAttempts}`);
  });
});
