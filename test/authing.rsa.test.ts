import { constants, generateKeyPairSync, publicEncrypt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthingKeys } from '../src/http/authing/keys.js';
import { decryptPkcs1, unpadPkcs1 } from '../src/http/authing/rsa.js';
import { type DatabaseHandle, migrateToLatest, openDatabase } from '../src/storage/database.js';
import { KyselyStore } from '../src/storage/kysely-store.js';
import { ManualClock } from '../src/util/clock.js';

/** Issue 17 item 2: PKCS#1 v1.5 decryption without a padding oracle, and the rotating key pairs. */

const enc = (pem: string, text: string) => publicEncrypt({ key: pem, padding: constants.RSA_PKCS1_PADDING }, Buffer.from(text, 'utf8')).toString('base64');

describe('PKCS#1 v1.5 unpadding (constant time, no oracle)', () => {
  const block = (bytes: number[], size = 32) => Uint8Array.from([...bytes, ...Array(size - bytes.length).fill(0x41)]);

  it('accepts 00 02 PS(≥8 non-zero) 00 M and finds M; refuses every malformed block', () => {
    const ps8 = Array(8).fill(0x11);
    expect(unpadPkcs1(block([0x00, 0x02, ...ps8, 0x00]))).toEqual({ start: 11, valid: true });
    expect(unpadPkcs1(block([0x00, 0x02, ...ps8, 0x22, 0x33, 0x00]))).toEqual({ start: 13, valid: true });
    expect(unpadPkcs1(block([0x01, 0x02, ...ps8, 0x00])).valid).toBe(false); // first byte
    expect(unpadPkcs1(block([0x00, 0x01, ...ps8, 0x00])).valid).toBe(false); // block type
    expect(unpadPkcs1(block([0x00, 0x02, ...Array(7).fill(0x11), 0x00])).valid).toBe(false); // PS too short
    expect(unpadPkcs1(Uint8Array.from([0x00, 0x02, ...Array(30).fill(0x11)])).valid).toBe(false); // no separator
    expect(unpadPkcs1(Uint8Array.from([0x00, 0x02, 0x00])).valid).toBe(false); // too short
  });

  it('decrypts what a JSEncrypt-style client encrypts; a wrong key, tampering, bad base64 or a wrong size give the same kind of stand-in', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const ciphertext = enc(pem, 'violet-harbor-7-lantern ✓');
    expect(decryptPkcs1(ciphertext, [privateKey], 'k')).toEqual({ text: 'violet-harbor-7-lantern ✓', valid: true });
    // With a retired key listed first the right key is still found (every key is always tried).
    expect(decryptPkcs1(ciphertext, [other.privateKey, privateKey], 'k').text).toBe('violet-harbor-7-lantern ✓');
    const bytes = Buffer.from(ciphertext, 'base64');
    bytes[bytes.length - 1]! ^= 0x01;
    const tampered = bytes.toString('base64');
    for (const bad of [tampered, 'not base64 !', Buffer.alloc(17).toString('base64'), '']) {
      const out = decryptPkcs1(bad, [privateKey], 'k');
      expect(out.valid, bad).toBe(false);
      expect(out.text).toMatch(/^[A-Za-z0-9_-]{43}$/);
      // Deterministic: the same ciphertext always gives the same stand-in (a retry looks like the same wrong password).
      expect(decryptPkcs1(bad, [privateKey], 'k').text).toBe(out.text);
    }
    expect(decryptPkcs1(ciphertext, [other.privateKey], 'k').valid).toBe(false);
  });
});

describe('AuthingKeys: created on first use, rotated, retired keys decrypt for the grace period', () => {
  let handle: DatabaseHandle;
  let store: KyselyStore;
  beforeAll(async () => {
    handle = openDatabase('sqlite::memory:');
    await migrateToLatest(handle.db);
    store = new KyselyStore(handle);
  });
  afterAll(() => handle.close());

  it('serves one public key; after a rotation the old one still decrypts until the grace period ends; a due key rotates itself', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const keys = new AuthingKeys(store.authingKeys, clock, { rotationDays: 30, graceSeconds: 3600, rejectionKey: 'k' });
    const first = await keys.publicKey();
    expect(first).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect(await keys.publicKey()).toBe(first);
    const old = enc(first, 'old-key-password');
    expect(await keys.decrypt(old)).toEqual({ text: 'old-key-password', valid: true });

    await keys.rotate();
    const second = await keys.publicKey();
    expect(second).not.toBe(first);
    expect((await keys.decrypt(enc(second, 'new-key-password'))).text).toBe('new-key-password');
    clock.advance(3_599_000);
    expect((await keys.decrypt(old)).valid).toBe(true); // inside the grace period
    clock.advance(2_000);
    expect((await keys.decrypt(old)).valid).toBe(false); // past it
    // Another node (another cache) reads the same keys.
    const other = new AuthingKeys(store.authingKeys, clock, { rotationDays: 30, graceSeconds: 3600, rejectionKey: 'k' });
    expect(await other.publicKey()).toBe(second);
    // 30 days later the key is due: the next use makes a new one.
    clock.advance(30 * 86_400_000);
    const third = await other.publicKey();
    expect(third).not.toBe(second);
    expect((await store.authingKeys.list()).filter((k) => k.retiredAt === null)).toHaveLength(1);
  });
});

describe('ciphertexts shorter than the key (a leading zero byte dropped, as JSEncrypt does about once in 256)', () => {
  it('are left-padded and decrypt', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    // Encrypt until the ciphertext starts with a zero byte (expected after ~256 tries), then drop it.
    let found: Buffer | undefined;
    for (let i = 0; i < 5000 && !found; i++) {
      const c = publicEncrypt({ key: pem, padding: constants.RSA_PKCS1_PADDING }, Buffer.from(`pw-${i}`));
      if (c[0] === 0) found = c;
    }
    expect(found).toBeDefined();
    const short = found!.subarray(1).toString('base64');
    const out = decryptPkcs1(short, [privateKey], 'k');
    expect(out.valid).toBe(true);
    expect(out.text).toMatch(/^pw-\d+$/);
  });
});

describe('tessera keys rotate-authing', () => {
  it('replaces the key at once; the replaced key stays (retired) for its grace period', async () => {
    const { execFileSync } = await import('node:child_process');
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'tessera-authing-keys-'));
    try {
      const url = `sqlite:${join(dir, 'tessera.db')}`;
      const env = { ...process.env, TESSERA_DATABASE_URL: url, TESSERA_AUTHING_APP_ID: 'cli-app', TESSERA_AUTHING_SECRET: 'cli-pool-secret-0123456789' };
      const bin = new URL('../bin/tessera.js', import.meta.url).pathname;
      const first = JSON.parse(execFileSync(process.execPath, [bin, 'keys', 'rotate-authing'], { env, encoding: 'utf8' }));
      const second = JSON.parse(execFileSync(process.execPath, [bin, 'keys', 'rotate-authing'], { env, encoding: 'utf8' }));
      expect(first).toMatchObject({ rotated: true, keyId: expect.any(String) });
      expect(second.keyId).not.toBe(first.keyId);
      const handle = openDatabase(url);
      try {
        const keys = await new KyselyStore(handle).authingKeys.list();
        expect(keys.map((k) => [k.id, k.retiredAt === null])).toEqual([[second.keyId, true], [first.keyId, false]]);
      } finally {
        handle.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
