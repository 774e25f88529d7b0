import { hash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Generates an object id: 24 lowercase hex characters (12 bytes) — 4 bytes of Unix time in seconds
 * followed by 8 random bytes, the same shape as a MongoDB ObjectId / LeanCloud objectId, so ids imported
 * from LeanCloud and ids minted here look alike and sort roughly by creation time. Used for every
 * entity id on every API surface.
 */
export function newId(nowMs: number = Date.now()): string {
  const buf = Buffer.alloc(12);
  buf.writeUInt32BE(Math.floor(nowMs / 1000) >>> 0, 0);
  randomBytes(8).copy(buf, 4);
  return buf.toString('hex');
}

/** True when `value` has the shape of an id from {@link newId} (24 lowercase hex characters). */
export function isId(value: string): boolean {
  return /^[0-9a-f]{24}$/.test(value);
}

/**
 * A bearer secret: `bytes` random bytes from the CSPRNG (default 32 = 256 bits, ASVS 7.2.3 asks ≥ 128),
 * base64url-encoded, with an optional readable prefix (e.g. `tss_`).
 */
export function newSecret(prefix = '', bytes = 32): string {
  return prefix + randomBytes(bytes).toString('base64url');
}

/** SHA-256 of `value` as lowercase hex. Bearer secrets are stored only in this form. */
export function sha256Hex(value: string): string {
  // One-shot `crypto.hash` (Node ≥ 20.12): the same digest as createHash without a Hash object per call.
  return hash('sha256', value, 'hex');
}

/**
 * Compares two strings in time that depends only on their lengths' digest, not on where they differ
 * (ASVS 11.2.4). Both sides are hashed first so unequal lengths do not short-circuit.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  const ha = hash('sha256', a, 'buffer');
  const hb = hash('sha256', b, 'buffer');
  return timingSafeEqual(ha, hb);
}
