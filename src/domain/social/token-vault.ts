import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { ProviderTokenSet } from '../../connectors/social/index.js';

/** The secret part of a {@link ProviderTokenSet}, which is what the vault encrypts. */
interface SealedPayload {
  access_token: string;
  refresh_token?: string;
  id_token?: string;
}

const VERSION = 'v1';

/** The key id of a key-encryption key: the first 8 bytes of its SHA-256, hex. */
const keyId = (key: Buffer) => createHash('sha256').update(key).digest('hex').slice(0, 16);

function gcmSeal(key: Buffer, plain: Buffer, aad: Buffer): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]);
}

function gcmOpen(key: Buffer, sealed: Buffer, aad: Buffer): Buffer {
  if (sealed.length < 12 + 16) throw new Error('sealed value too short');
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  return Buffer.concat([decipher.update(sealed.subarray(12, sealed.length - 16)), decipher.final()]);
}

/** Thrown by {@link TokenVault.open} when a value cannot be opened (unknown key, altered, other context). */
export class SealedValueError extends Error {
  constructor(reason: string) {
    super(`sealed token set cannot be opened: ${reason}`);
    this.name = 'SealedValueError';
  }
}

/**
 * Envelope encryption of provider token sets (NIST SP 800-38D AES-256-GCM). Each value gets its own
 * random data-encryption key (DEK); the DEK is encrypted with the key-encryption key (KEK) of the
 * configuration (`social.tokenVaultKey`, base64 of 32 bytes). The `context` (e.g. `<userId>/<target>`) is
 * authenticated data of both layers, so a sealed value copied into another user's row does not open.
 * Sealed format (one string): `v1.<kek id>.<encrypted DEK>.<encrypted payload>`, base64url parts, each
 * encrypted part `iv(12) ‖ ciphertext ‖ tag(16)`. Older keys (`social.tokenVaultOldKeys`) still open what
 * they sealed; {@link seal} always uses the current key.
 */
export class TokenVault {
  private readonly current: { id: string; key: Buffer } | null;
  private readonly keys = new Map<string, Buffer>();

  /**
   * @param currentKey base64 of the 32-byte KEK, or undefined (the vault is then off: {@link seal} throws)
   * @param oldKeys base64 KEKs that may still open older values
   */
  constructor(currentKey: string | undefined, oldKeys: readonly string[] = []) {
    for (const encoded of [...oldKeys, ...(currentKey ? [currentKey] : [])]) {
      const key = Buffer.from(encoded, 'base64');
      if (key.length !== 32) throw new Error('a token-vault key must be 32 bytes');
      this.keys.set(keyId(key), key);
    }
    this.current = currentKey ? { id: keyId(Buffer.from(currentKey, 'base64')), key: Buffer.from(currentKey, 'base64') } : null;
  }

  /** True when a current key is configured (token storage can be turned on). */
  get enabled(): boolean {
    return this.current !== null;
  }

  /**
   * Seals the secret tokens of `tokens` for `context`.
   * @returns the sealed string (no token appears in it in clear)
   * @throws Error when no key is configured (callers check {@link enabled} first)
   */
  seal(tokens: ProviderTokenSet, context: string): string {
    if (!this.current) throw new Error('the token vault has no key (social.tokenVaultKey)');
    const payload: SealedPayload = { access_token: tokens.accessToken };
    if (tokens.refreshToken) payload.refresh_token = tokens.refreshToken;
    if (tokens.idToken) payload.id_token = tokens.idToken;
    const aad = Buffer.from(`${VERSION}.${this.current.id}.${context}`, 'utf8');
    const dek = randomBytes(32);
    const wrapped = gcmSeal(this.current.key, dek, aad);
    const body = gcmSeal(dek, Buffer.from(JSON.stringify(payload), 'utf8'), aad);
    dek.fill(0);
    return [VERSION, this.current.id, wrapped.toString('base64url'), body.toString('base64url')].join('.');
  }

  /**
   * Opens a value {@link seal}ed for the same `context`.
   * @returns the access, refresh and ID tokens
   * @throws SealedValueError when the key is unknown or the value was altered or sealed for another context
   */
  open(sealed: string, context: string): { accessToken: string; refreshToken?: string; idToken?: string } {
    const parts = sealed.split('.');
    if (parts.length !== 4 || parts[0] !== VERSION) throw new SealedValueError('unknown format');
    const [, id, wrapped, body] = parts as [string, string, string, string];
    const key = this.keys.get(id);
    if (!key) throw new SealedValueError('sealed with a key that is not configured');
    const aad = Buffer.from(`${VERSION}.${id}.${context}`, 'utf8');
    let payload: SealedPayload;
    try {
      const dek = gcmOpen(key, Buffer.from(wrapped, 'base64url'), aad);
      payload = JSON.parse(gcmOpen(dek, Buffer.from(body, 'base64url'), aad).toString('utf8')) as SealedPayload;
      dek.fill(0);
    } catch {
      throw new SealedValueError('authentication failed');
    }
    if (typeof payload.access_token !== 'string') throw new SealedValueError('no access token');
    return {
      accessToken: payload.access_token,
      ...(typeof payload.refresh_token === 'string' ? { refreshToken: payload.refresh_token } : {}),
      ...(typeof payload.id_token === 'string' ? { idToken: payload.id_token } : {}),
    };
  }
}
