import { constants, createHmac, createPrivateKey, type KeyObject, privateDecrypt } from 'node:crypto';

/**
 * RSA PKCS#1 v1.5 decryption of the Authing SDK's passwords (JSEncrypt, RFC 8017 §7.2.2) without the
 * padding oracle Node ≥ 20 refuses to expose (`RSA_PKCS1_PADDING` throws, CVE-2023-46809; we do not turn
 * on `--security-revert`). The block is decrypted with `RSA_NO_PADDING` and the padding checked here in
 * constant time; an invalid block (bad padding, wrong size, not base64) yields a stand-in message derived
 * from the ciphertext (implicit rejection, as RFC 8017's successors and TLS do), so the caller goes on
 * exactly as for a wrong password and nothing tells a bad padding from a bad password.
 */

/** The result of {@link decryptPkcs1}: the message, or a stand-in when the block was invalid. */
export interface Decrypted {
  /** The UTF-8 message (a stand-in when `valid` is false). */
  text: string;
  /** Whether the block was a valid PKCS#1 v1.5 encryption block. For tests and metrics, never for answers. */
  valid: boolean;
}

/**
 * Strips EM = 0x00 ‖ 0x02 ‖ PS (≥ 8 non-zero bytes) ‖ 0x00 ‖ M in time that depends only on the block's
 * length. @returns the start of M and whether the block is valid
 */
export function unpadPkcs1(em: Uint8Array): { start: number; valid: boolean } {
  let bad = em.length < 11 ? 1 : 0;
  bad |= em[0]! ^ 0x00;
  bad |= em[1]! ^ 0x02;
  let found = 0; // 1 once the 0x00 separator was seen
  let start = 0;
  for (let i = 2; i < em.length; i++) {
    const isZero = ((em[i]! | -em[i]!) >>> 31) ^ 1; // 1 when em[i] === 0
    const first = isZero & (found ^ 1);
    start |= (i + 1) * first; // only the first zero sets it (start is 0 until then)
    found |= isZero;
  }
  bad |= found ^ 1;
  // The separator must come after at least 8 padding bytes: start - 1 >= 10.
  bad |= ((start - 11) >>> 31) & 1;
  return { start, valid: bad === 0 };
}

/**
 * Decrypts a base64 PKCS#1 v1.5 ciphertext with one of `keys` (tried in order: the current key first).
 * Never throws for bad input: an invalid ciphertext gives a stand-in message (see the module comment).
 * @param rejectionKey secret for the stand-in (HMAC-SHA256 of the ciphertext)
 */
export function decryptPkcs1(ciphertextB64: string, keys: readonly KeyObject[], rejectionKey: string): Decrypted {
  const standIn = () => ({ text: createHmac('sha256', rejectionKey).update(ciphertextB64, 'utf8').digest('base64url'), valid: false });
  if (typeof ciphertextB64 !== 'string' || ciphertextB64.length === 0 || ciphertextB64.length > 4096 || !/^[A-Za-z0-9+/]+={0,2}$/.test(ciphertextB64)) return standIn();
  const block = Buffer.from(ciphertextB64, 'base64');
  // Every key is tried, whatever the first gives: the number of RSA operations must not tell whether the
  // padding was valid under the current key (a timing oracle across keys).
  let chosen: { em: Buffer; start: number } | undefined;
  for (const key of keys) {
    const size = (key.asymmetricKeyDetails?.modulusLength ?? 0) / 8;
    // JSEncrypt writes the ciphertext as a big integer, dropping leading zero bytes (about one time in
    // 256): a block up to 8 bytes short is the same integer, left-padded back to the key size.
    if (block.length > size || block.length < size - 8) continue; // public: the key size
    const full = block.length === size ? block : Buffer.concat([Buffer.alloc(size - block.length), block]);
    let em: Buffer;
    try {
      em = privateDecrypt({ key, padding: constants.RSA_NO_PADDING }, full);
    } catch {
      continue; // c ≥ n: public, not a padding property
    }
    const { start, valid } = unpadPkcs1(em);
    if (valid && !chosen) chosen = { em, start };
  }
  return chosen ? { text: chosen.em.subarray(chosen.start).toString('utf8'), valid: true } : standIn();
}

/** A private key object of a PEM (for {@link decryptPkcs1}). */
export function privateKeyOf(pem: string): KeyObject {
  return createPrivateKey(pem);
}
