import { hash as bcryptHash } from '@node-rs/bcrypt';
import { hash as argonHash } from '@node-rs/argon2';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { normalizeEmail, normalizePhone, pickIdentifier, validateUsername } from '../src/domain/users/identifiers.js';
import { ARGON2ID, leancloudHash, meetsCharacterLevel, PasswordHasher, PasswordPolicy } from '../src/domain/credentials/passwords.js';
import { isAppError } from '../src/errors/index.js';
import { constantTimeEqual, isId, newId, newSecret, sha256Hex } from '../src/util/crypto.js';
import { testConfig } from './helpers.js';

const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    if (isAppError(e)) return e.code;
    throw e;
  }
  return undefined;
};

describe('password policy (NIST 800-63B-4 defaults)', () => {
  const policy = new PasswordPolicy(testConfig().password);
  const codes = (pw: string, info = {}) => policy.check(pw, info).map((i) => i.code);

  it('counts Unicode code points, accepts spaces and any script, and has no composition rules', () => {
    expect(codes('🔑🔑🔑🔑🔑🔑🔑🔑')).toEqual([]); // 8 code points, 16 UTF-16 units
    expect(codes('🔑🔑🔑🔑🔑🔑🔑')).toEqual(['password_rejected.too_short']);
    expect(codes('correct horse battery')).toEqual([]);
    expect(codes('пароль-для-входа')).toEqual([]);
    expect(codes('alllowercaseletters')).toEqual([]);
  });

  it('accepts 64+ characters and stops at the maximum', () => {
    expect(codes('x9'.repeat(128))).toEqual([]);
    expect(codes('x9'.repeat(128) + 'y')).toEqual(['password_rejected.too_long']);
  });

  it('rejects common passwords in any case, and ones containing the username or email local part', () => {
    expect(codes('Password123')).toContain('password_rejected.common');
    expect(codes('iloveyou')).toContain('password_rejected.common');
    expect(codes('my-marlowe-2026', { username: 'Marlowe' })).toEqual(['password_rejected.user_info']);
    expect(codes('quinn.rivera!99', { email: 'quinn.rivera@example.com' })).toEqual(['password_rejected.user_info']);
    // identifiers shorter than 3 characters are not matched (they would reject half the dictionary)
    expect(codes('blue-lagoon-77', { username: 'bl' })).toEqual([]);
  });

  it("applies Authing's optional character levels", () => {
    expect([0, 1, 2, 3].map((l) => meetsCharacterLevel('abcdef', l))).toEqual([true, true, false, false]);
    expect([0, 1, 2, 3].map((l) => meetsCharacterLevel('abc123', l))).toEqual([true, true, true, false]);
    expect([0, 1, 2, 3].map((l) => meetsCharacterLevel('ab12!?', l))).toEqual([true, true, true, true]);
    expect(meetsCharacterLevel('a1!', 1)).toBe(false);
    const strict = new PasswordPolicy(testConfig({ password: { characterLevel: 3 } }).password);
    expect(strict.check('only-letters-here').map((i) => i.code)).toEqual(['password_rejected.character_types']);
    expect(strict.check('letters-and-digits-42')).toEqual([]);
  });

  it('assert throws password.rejected listing the issues; strength never throws', () => {
    expect(codeOf(() => policy.assert('short'))).toBe('password.rejected');
    const s = policy.strength('short');
    expect(s).toMatchObject({ valid: false, level: 1 });
    expect(s.score).toBeLessThanOrEqual(1);
  });
});

describe('password hashing', () => {
  const hasher = new PasswordHasher(2);

  it('hashes with argon2id at the OWASP parameters and verifies exactly as received', async () => {
    const h = await hasher.hash('Exact Case Matters');
    expect(h).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(await hasher.verify(h, 'Exact Case Matters')).toEqual({ ok: true });
    expect((await hasher.verify(h, 'exact case matters')).ok).toBe(false);
    expect((await hasher.verify(h, 'Exact Case Matters ')).ok).toBe(false);
  });

  it('fails closed for no hash and for unknown formats', async () => {
    expect(await hasher.verify(null, 'anything')).toEqual({ ok: false });
    expect(await hasher.verify('plaintext', 'plaintext')).toEqual({ ok: false });
    expect(await hasher.verify('$argon2id$garbage', 'x')).toEqual({ ok: false });
  });

  it('verifies imported bcrypt, weaker argon2 and LeanCloud hashes and offers an argon2id upgrade', async () => {
    const bc = await hasher.verify(await bcryptHash('legacy-pass', 10), 'legacy-pass');
    expect(bc.ok).toBe(true);
    expect(bc.upgradedHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    const weak = await argonHash('old-params', { ...ARGON2ID, memoryCost: 4096, timeCost: 1 });
    expect((await hasher.verify(weak, 'old-params')).upgradedHash).toMatch(/^\$argon2id\$v=19\$m=19456/);
    const lc = `$lc-sha512$salt123$${leancloudHash('salt123', 'lc-pass')}`;
    expect((await hasher.verify(lc, 'lc-pass')).ok).toBe(true);
    expect((await hasher.verify(lc, 'lc-pasS')).ok).toBe(false);
  });

  it('computes LeanCloud hashes as SHA-512 of salt+password then 512 more rounds', () => {
    // Independent computation of the documented algorithm.
    const expected = (() => {
      let hv = createHash('sha512').update('s4ltpässword', 'utf8').digest();
      for (let i = 0; i < 512; i++) hv = createHash('sha512').update(hv).digest();
      return hv.toString('base64');
    })();
    expect(leancloudHash('s4lt', 'pässword')).toBe(expected);
  });
});

describe('identifiers', () => {
  it('keeps email case, trims, and refuses malformed addresses', () => {
    expect(normalizeEmail('  Ada@Example.COM ')).toBe('Ada@Example.COM');
    for (const bad of ['ada', 'ada@', '@x.io', 'a b@x.io', 'ada@x', `${'a'.repeat(250)}@x.io`]) {
      expect(codeOf(() => normalizeEmail(bad))).toBe('user.invalid_email');
    }
  });

  it('normalises phones to E.164 and reads national numbers in the default region', () => {
    expect(normalizePhone('+86 138 0013 8000')).toBe('+8613800138000');
    expect(normalizePhone('(415) 555-0100', 'US')).toBe('+14155550100');
    expect(codeOf(() => normalizePhone('(415) 555-0100'))).toBe('user.invalid_phone');
    expect(codeOf(() => normalizePhone('+1 000'))).toBe('user.invalid_phone');
  });

  it('validates usernames strictly, or leniently for LeanCloud apps', () => {
    expect(validateUsername('ada_lovelace.1')).toBe('ada_lovelace.1');
    for (const bad of ['1abc', 'has space', '', 'a'.repeat(129), 'é']) expect(codeOf(() => validateUsername(bad))).toBe('user.invalid_username');
    expect(validateUsername('13800138000', true)).toBe('13800138000');
    expect(codeOf(() => validateUsername('tab\tname', true))).toBe('user.invalid_username');
  });

  it('picks exactly one identifier', () => {
    expect(pickIdentifier({ email: 'a@b.co' })).toEqual({ kind: 'email', value: 'a@b.co' });
    expect(codeOf(() => pickIdentifier({}))).toBe('auth.identifier_required');
    expect(codeOf(() => pickIdentifier({ username: 'a', phone: '+1' }))).toBe('auth.identifier_required');
  });
});

describe('secrets and ids', () => {
  it('makes 256-bit url-safe secrets and 24-hex ids', () => {
    const s = newSecret('tss_');
    expect(s).toMatch(/^tss_[A-Za-z0-9_-]{43}$/);
    expect(new Set(Array.from({ length: 1000 }, () => newSecret())).size).toBe(1000);
    const id = newId(Date.UTC(2026, 0, 1));
    expect(isId(id)).toBe(true);
    expect(parseInt(id.slice(0, 8), 16)).toBe(Date.UTC(2026, 0, 1) / 1000);
    expect(isId('zz'.repeat(12))).toBe(false);
  });

  it('compares secrets in constant time, by value', () => {
    expect(constantTimeEqual('abc', 'abc')).toBe(true);
    expect(constantTimeEqual('abc', 'abd')).toBe(false);
    expect(constantTimeEqual('abc', 'abcd')).toBe(false);
    expect(sha256Hex('x')).toHaveLength(64);
  });
});
