import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { AuthingKeyRecord, AuthingKeyStore } from '../../storage/authing-key-store.js';
import type { Clock } from '../../util/clock.js';
import { newId } from '../../util/crypto.js';
import { type Decrypted, decryptPkcs1, privateKeyOf } from './rsa.js';

/** How long (ms) a node keeps the key list before reading it again (so another node's rotation is seen). */
const KEY_CACHE_MS = 10_000;

/**
 * The RSA key pairs of the Authing surface (issue 17 item 2): the current key's public half is served at
 * `GET /api/v2/.well-known`; passwords are decrypted with the current key and with retired keys still
 * inside their grace period (`authing.keyGraceSeconds`: the SDK caches the public key). A key older than
 * `authing.keyRotationDays` is replaced at the next use. 2048-bit RSA; private keys are stored in the
 * database as PKCS#8 PEM.
 */
export class AuthingKeys {
  private cache: { loadedAt: number; current: AuthingKeyRecord; keys: Array<{ key: KeyObject; retiredAt: number | null }> } | undefined;
  private loading: Promise<void> | undefined;

  constructor(
    private readonly store: AuthingKeyStore,
    private readonly clock: Clock,
    private readonly options: { rotationDays: number; graceSeconds: number; rejectionKey: string },
  ) {}

  /** The current public key (SPKI PEM), creating or rotating the key pair when due. */
  async publicKey(): Promise<string> {
    return (await this.state()).current.publicPem;
  }

  /**
   * Decrypts a password sent by the SDK. Never throws for bad input: an invalid ciphertext gives a
   * stand-in that no password matches (see rsa.ts).
   */
  async decrypt(ciphertextB64: string): Promise<Decrypted> {
    const { keys } = await this.state();
    // The grace period is checked at each use (not when the list was cached).
    const graceStart = this.clock.now() - this.options.graceSeconds * 1000;
    const usable = keys.filter((k) => k.retiredAt === null || k.retiredAt >= graceStart).map((k) => k.key);
    return decryptPkcs1(ciphertextB64, usable, this.options.rejectionKey);
  }

  /**
   * Replaces the current key now (the old one keeps decrypting for the grace period) and deletes keys
   * past their grace period. @returns the new key's id
   */
  async rotate(): Promise<string> {
    const keys = await this.store.list();
    const current = keys.find((k) => k.retiredAt === null);
    const next = this.generate();
    await this.store.rotate(next, current?.id ?? null);
    await this.store.deleteRetiredBefore(this.clock.now() - this.options.graceSeconds * 1000);
    this.cache = undefined;
    return next.id;
  }

  private generate(): AuthingKeyRecord {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const now = this.clock.now();
    return {
      id: newId(now),
      privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      createdAt: now,
      retiredAt: null,
    };
  }

  private async state() {
    const now = this.clock.now();
    if (this.cache && now - this.cache.loadedAt < KEY_CACHE_MS) return this.cache;
    this.loading ??= this.load().finally(() => {
      this.loading = undefined;
    });
    await this.loading;
    return this.cache!;
  }

  private async load(): Promise<void> {
    const now = this.clock.now();
    let keys = await this.store.list();
    let current = keys.find((k) => k.retiredAt === null);
    if (!current || now - current.createdAt >= this.options.rotationDays * 86_400_000) {
      // First use, or due: make a new current key (a concurrent rotation elsewhere may win; then read theirs).
      await this.store.rotate(this.generate(), current?.id ?? null);
      keys = await this.store.list();
      current = keys.find((k) => k.retiredAt === null)!;
    }
    const graceStart = now - this.options.graceSeconds * 1000;
    const kept = keys.filter((k) => k.retiredAt === null || k.retiredAt >= graceStart);
    // The current key first: most passwords are encrypted with it.
    kept.sort((a, b) => (a.id === current!.id ? -1 : b.id === current!.id ? 1 : b.createdAt - a.createdAt));
    this.cache = { loadedAt: now, current: current!, keys: kept.map((k) => ({ key: privateKeyOf(k.privatePem), retiredAt: k.retiredAt })) };
  }
}
