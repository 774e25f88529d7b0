/**
 * The account center's browser state (issue 14 §3): two AES-256-GCM-sealed, HttpOnly, SameSite=Lax
 * cookies scoped to `Path=/account` (Secure when the public URL is https):
 * - `tessera_account` — the signed-in session: the opaque access token, the refresh token, the access
 *   token's expiry, a random session id (the CSRF binding) and, while it lasts, an identity-proof
 *   verification record (`logto-verification-id`, 10 minutes);
 * - `tessera_account_auth` — the pending authorization request (PKCE verifier, state, nonce), 10 minutes.
 *
 * The sealing key is derived with HKDF-SHA256 (RFC 5869) from the OIDC provider's cookie keys, so it is
 * shared by every node and follows key rotation: the first key seals, every key unseals. Nothing here
 * is logged.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { constantTimeEqual } from '../util/crypto.js';

/** The session cookie's name. */
export const SESSION_COOKIE = 'tessera_account';
/** The pending sign-in cookie's name. */
export const AUTH_COOKIE = 'tessera_account_auth';
/** The path both cookies are scoped to. */
export const COOKIE_PATH = '/account';

/** What the session cookie holds. Times are ms since the epoch. */
export interface AccountSession {
  /** Random id (base64url, 128 bits): what CSRF tokens are bound to. */
  sid: string;
  /** Opaque access token of the account-center client. */
  accessToken: string;
  /** When the access token expires. */
  expiresAt: number;
  /** Refresh token (rotated on every use), if one was issued. */
  refreshToken?: string;
  /** An identity-proof verification record and when it stops being usable. */
  proof?: { id: string; expiresAt: number };
}

/** What the pending sign-in cookie holds. */
export interface PendingSignIn {
  verifier: string;
  state: string;
  nonce: string;
  /** The account-center path to show after signing in. */
  returnTo: string;
  /** When this request is given up (ms). */
  expiresAt: number;
}

/** Lifetime of the pending sign-in cookie, seconds. */
export const PENDING_TTL_SECONDS = 600;
/** Longest lifetime of the session cookie, seconds (the refresh token's life bounds it in practice). */
export const SESSION_COOKIE_MAX_AGE_SECONDS = 30 * 24 * 3600;

/** The keys the cookies are sealed with: AES-256 keys derived from the provider's cookie keys, first seals. */
export type SealingKeys = readonly Buffer[];

/** HKDF-SHA256 of one provider cookie key into a 32-byte key for `purpose`. */
function derive(secret: string, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'utf8'), Buffer.alloc(0), `tessera-account-center:${purpose}`, 32));
}

/** The sealing keys and CSRF keys of a list of provider cookie keys (keygrip order). */
export function deriveKeys(cookieKeys: readonly string[]): { sealing: SealingKeys; csrf: Buffer } {
  if (cookieKeys.length === 0) throw new Error('no cookie keys to derive the account center keys from');
  return { sealing: cookieKeys.map((k) => derive(k, 'cookie-aes-256-gcm')), csrf: derive(cookieKeys[0]!, 'csrf-hmac') };
}

/**
 * AES-256-GCM of the JSON of `value` under the first key: `base64url(iv[12] ‖ tag[16] ‖ ciphertext)`.
 * `name` is authenticated as additional data, so one cookie's value cannot be replayed as another's.
 */
export function seal(keys: SealingKeys, name: string, value: unknown): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keys[0]!, iv);
  cipher.setAAD(Buffer.from(name, 'utf8'));
  const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
}

/** The value {@link seal} sealed, trying every key; undefined when none opens it or it is not JSON. */
export function unseal(keys: SealingKeys, name: string, sealed: string): unknown {
  const raw = Buffer.from(sealed, 'base64url');
  if (raw.length < 29) return undefined;
  for (const key of keys) {
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
      decipher.setAAD(Buffer.from(name, 'utf8'));
      decipher.setAuthTag(raw.subarray(12, 28));
      const text = Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
      return JSON.parse(text) as unknown;
    } catch {
      // Another key, or not ours.
    }
  }
  return undefined;
}

/**
 * Sets (or, with `maxAgeSeconds` 0 and an empty value, removes) one of the account center's cookies with
 * @fastify/cookie: HttpOnly, SameSite=Lax, scoped to {@link COOKIE_PATH}, Secure when the public URL is
 * https. A later write of the same name in one answer replaces an earlier one.
 */
export function setCookie(reply: FastifyReply, name: string, value: string, maxAgeSeconds: number, secure: boolean): void {
  reply.setCookie(name, value, { path: COOKIE_PATH, httpOnly: true, sameSite: 'lax', maxAge: maxAgeSeconds, secure });
}

/** The value of the request's cookie `name` (parsed by @fastify/cookie), if any. */
export function readCookie(request: FastifyRequest, name: string): string | undefined {
  return request.cookies[name];
}

/** Whether `value` has the shape of an {@link AccountSession}. */
export function isAccountSession(value: unknown): value is AccountSession {
  const v = value as Partial<AccountSession> | null;
  return (
    typeof v === 'object' && v !== null && typeof v.sid === 'string' && typeof v.accessToken === 'string' && typeof v.expiresAt === 'number' &&
    (v.refreshToken === undefined || typeof v.refreshToken === 'string') &&
    (v.proof === undefined || (typeof v.proof === 'object' && v.proof !== null && typeof v.proof.id === 'string' && typeof v.proof.expiresAt === 'number'))
  );
}

/** Whether `value` has the shape of a {@link PendingSignIn}. */
export function isPendingSignIn(value: unknown): value is PendingSignIn {
  const v = value as Partial<PendingSignIn> | null;
  return (
    typeof v === 'object' && v !== null && typeof v.verifier === 'string' && typeof v.state === 'string' && typeof v.nonce === 'string' &&
    typeof v.returnTo === 'string' && typeof v.expiresAt === 'number'
  );
}

/** The CSRF token of a session: HMAC-SHA256(csrf key, sid), base64url. */
export function csrfToken(key: Buffer, sid: string): string {
  return createHmac('sha256', key).update(`tessera-account-csrf:${sid}`).digest('base64url');
}

/** Whether `presented` is the CSRF token of `sid` (constant time). */
export function csrfMatches(key: Buffer, sid: string, presented: unknown): boolean {
  return typeof presented === 'string' && presented.length > 0 && constantTimeEqual(presented, csrfToken(key, sid));
}

/** A new random session id. */
export function newSid(): string {
  return randomBytes(16).toString('base64url');
}
