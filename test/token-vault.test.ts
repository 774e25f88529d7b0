import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { tokenSetOf } from '../src/connectors/social/index.js';
import { SealedValueError, TokenVault } from '../src/domain/social/token-vault.js';
import { parseConfig } from '../src/config/index.js';

/** Issue 19: provider token sets at rest (Logto's Secret Vault), envelope-encrypted with AES-256-GCM. */
describe('TokenVault', () => {
  const key = () => randomBytes(32).toString('base64');
  const tokens = { accessToken: `gho_${randomBytes(18).toString('hex')}`, refreshToken: `ghr_${randomBytes(18).toString('hex')}`, idToken: 'eyJ.x.y' };

  it('seals and opens for the same context; the sealed string holds no token and differs each time', () => {
    const vault = new TokenVault(key());
    const a = vault.seal(tokens, 'usr1/github');
    const b = vault.seal(tokens, 'usr1/github');
    expect(a).not.toBe(b);
    for (const secret of [tokens.accessToken, tokens.refreshToken, Buffer.from(tokens.accessToken).toString('base64url')]) expect(a).not.toContain(secret);
    expect(vault.open(a, 'usr1/github')).toEqual(tokens);
    expect(vault.open(vault.seal({ accessToken: 'only' }, 'c'), 'c')).toEqual({ accessToken: 'only' });
  });

  it('refuses another context (a row copied to another user or target), any altered byte, and an unknown key', () => {
    const vault = new TokenVault(key());
    const sealed = vault.seal(tokens, 'usr1/github');
    expect(() => vault.open(sealed, 'usr2/github')).toThrow(SealedValueError);
    expect(() => vault.open(sealed, 'usr1/google')).toThrow(SealedValueError);
    const parts = sealed.split('.');
    for (const i of [2, 3]) {
      const bytes = Buffer.from(parts[i]!, 'base64url');
      bytes[bytes.length - 20]! ^= 1;
      const altered = [...parts];
      altered[i] = bytes.toString('base64url');
      expect(() => vault.open(altered.join('.'), 'usr1/github')).toThrow(SealedValueError);
    }
    expect(() => new TokenVault(key()).open(sealed, 'usr1/github')).toThrow(SealedValueError);
    expect(() => vault.open('v2.x.y.z', 'usr1/github')).toThrow(SealedValueError);
    expect(() => vault.open('garbage', 'usr1/github')).toThrow(SealedValueError);
  });

  it('rotation: an old key still opens what it sealed; new values use the current key', () => {
    const oldKey = key();
    const sealedBefore = new TokenVault(oldKey).seal(tokens, 'c');
    const rotated = new TokenVault(key(), [oldKey]);
    expect(rotated.open(sealedBefore, 'c')).toEqual(tokens);
    const sealedAfter = rotated.seal(tokens, 'c');
    expect(sealedAfter.split('.')[1]).not.toBe(sealedBefore.split('.')[1]);
    expect(() => new TokenVault(oldKey).open(sealedAfter, 'c')).toThrow(SealedValueError);
  });

  it('without a key the vault is off and refuses to seal', () => {
    const off = new TokenVault(undefined);
    expect(off.enabled).toBe(false);
    expect(() => off.seal(tokens, 'c')).toThrow(/no key/);
  });

  it('the configuration takes base64 of exactly 32 bytes only', () => {
    expect(parseConfig({ social: { tokenVaultKey: key() } }).social.tokenVaultKey).toBeDefined();
    expect(() => parseConfig({ social: { tokenVaultKey: randomBytes(16).toString('base64') } })).toThrow(/32 bytes/);
    expect(() => parseConfig({ social: { tokenVaultKey: 'not base64 at all!' } })).toThrow(/32 bytes/);
  });
});

describe('tokenSetOf (RFC 6749 §5.1 token responses)', () => {
  it('reads the standard fields; expires_in as a number or digits; nothing without an access token', () => {
    expect(tokenSetOf({ access_token: 'a', token_type: 'Bearer', scope: 's', expires_in: 3600, refresh_token: 'r', id_token: 'i', other: 1 })).toEqual({
      accessToken: 'a', tokenType: 'Bearer', scope: 's', expiresIn: 3600, refreshToken: 'r', idToken: 'i',
    });
    expect(tokenSetOf({ access_token: 'a', expires_in: '7200' })).toEqual({ accessToken: 'a', expiresIn: 7200 });
    expect(tokenSetOf({ access_token: 'a', expires_in: -5 })).toEqual({ accessToken: 'a' });
    expect(tokenSetOf({ access_token: '' })).toBeUndefined();
    expect(tokenSetOf({ error: 'invalid_grant' })).toBeUndefined();
  });
});
