import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Issue 16, "one rule, one place", checked on the source: no import cycles and no surface importing
 * another; `domain/` imports no surface; the rules named there are written once.
 */

const root = new URL('..', import.meta.url).pathname;
const src = join(root, 'src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** Files under `src/` whose text matches `pattern`, as paths relative to `src/`. */
function filesMatching(pattern: RegExp, under = src): string[] {
  return files(under)
    .filter((f) => pattern.test(readFileSync(f, 'utf8')))
    .map((f) => relative(src, f))
    .sort();
}

describe('architecture', () => {
  it('has no import cycle and no surface importing another (scripts/import-cycles.mjs)', () => {
    const out = execFileSync(process.execPath, [join(root, 'scripts/import-cycles.mjs')], { encoding: 'utf8' });
    expect(out.trim()).toBe('0 cycles');
  });

  it('domain/ imports no surface (http/, oidc/) and no vendor error table', () => {
    expect(filesMatching(/from '\.\.\/(?:\.\.\/)?(?:http|oidc)\//, join(src, 'domain'))).toEqual([]);
  });

  it('a password hash is written only by CredentialService, user creation, the LeanCloud export import and the rehash on sign-in', () => {
    // `passwordHash` as a key of an object literal given to a write, or a shorthand property.
    const write = /(?<![.\w])passwordHash(?::\s|\s*,)/;
    const writers = ['cli', 'domain', 'http', 'oidc'].flatMap((dir) => filesMatching(write, join(src, dir)));
    expect(writers).toEqual(['cli/leancloud-export.ts', 'cli/logto-export.ts', 'domain/credentials/index.ts', 'domain/sign-in/auth.ts', 'domain/users/index.ts']);
    // …and only CredentialService hashes a new password after sign-up (users.ts: creation; mfa.ts: backup codes).
    expect(filesMatching(/hasher\.hash\(/)).toEqual(['domain/credentials/index.ts', 'domain/mfa/index.ts', 'domain/users/index.ts']);
  });

  it('domain/ neither reads a request body nor renders an answer of a vendor (LeanCloud field names live in http/leancloud/)', () => {
    // Code, not comments: a docstring may say which endpoint a method serves.
    const code = (f: string) => readFileSync(join(src, f), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
    const domainFiles = files(join(src, 'domain')).map((f) => relative(src, f));
    const wire = /\b(?:mobilePhoneNumber|sessionToken|LcObject|toLcUser|old_password|smsCode)\b|['"]ACL['"]/;
    expect(domainFiles.filter((f) => wire.test(code(f)))).toEqual([]);
    expect(code('http/leancloud/wire.ts')).toMatch(/export function toLcUser/);
  });

  it('"has a second factor" is asked of MfaService only', () => {
    expect(filesMatching(/(?<!store\.)mfa\.listFactors\(/, join(src, 'domain'))).toEqual([]);
    expect(filesMatching(/store\.mfa\.listFactors\(/)).toEqual(['domain/mfa/index.ts']);
  });

  it('the error table has no Logto twin codes (they live in the Logto adapters: http/logto-errors.ts and the surfaces\' tables)', () => {
    const table = readFileSync(join(src, 'errors/codes.ts'), 'utf8');
    const twins = ['user.username_already_in_use', 'user.email_already_in_use', 'user.phone_already_in_use', 'user.identity_already_in_use', 'session.invalid_credentials', 'user.suspended'];
    for (const twin of twins) expect(table, twin).not.toContain(`'${twin}'`);
    expect(table).not.toMatch(/\bwire:/);
    const dialect = ['http/logto-errors.ts', 'http/account/errors.ts', 'http/management/errors.ts'].map((f) => readFileSync(join(src, f), 'utf8')).join('\n');
    for (const twin of twins) expect(dialect, twin).toContain(`'${twin}'`);
  });
});
