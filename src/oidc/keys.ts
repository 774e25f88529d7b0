import { generateKeyPair, randomBytes, type JsonWebKey } from 'node:crypto';
import { promisify } from 'node:util';
import { calculateJwkThumbprint, type JWK } from 'jose';
import type { OidcKeyRecord } from '../storage/oidc-store.js';
import type { Store } from '../storage/store.js';
import type { Clock } from '../util/clock.js';

const generate = promisify(generateKeyPair);

/**
 * The JWS algorithms Tessera signs with, one key each per generation: ES256 (P-256) signs JWT access
 * tokens (fast: thousands of client_credentials tokens per second per core); RS256 (RSA 2048) signs
 * ID tokens by default, because OpenID Connect Core §15.1 makes RS256 the one algorithm every OP must offer.
 */
export const SIGNING_ALGORITHMS = ['ES256', 'RS256'] as const;

/** Longest lifetime of anything Tessera signs with these keys (JWT access tokens, ID tokens), seconds. */
export const MAX_SIGNED_TOKEN_TTL_SECONDS = 3600;

/**
 * How long a retired signing key stays in the JWKS after a newer key took over, seconds: the lifetime of
 * the last token it signed plus a margin for clock skew and JWKS caches.
 */
export const KEY_RETENTION_SECONDS = MAX_SIGNED_TOKEN_TTL_SECONDS + 300;

/** The keys a provider instance is built with. */
export interface LoadedKeys {
  /** Private JWKs for `jwks.keys`: active keys first (newest first) so they sign; retired keys follow (verify only). */
  signing: JWK[];
  /** Cookie signing secrets (keygrip order: the first signs, all verify). */
  cookie: string[];
  /** Identifies this key set; a different fingerprint means the provider must be rebuilt. */
  fingerprint: string;
}

/** Result of {@link OidcKeyService.rotate}. */
export interface RotationResult {
  /** kids of the new signing keys (they sign from now on). */
  created: string[];
  /** kids of the keys that stopped signing (still published for {@link KEY_RETENTION_SECONDS}). */
  retired: string[];
}

async function newSigningKey(alg: (typeof SIGNING_ALGORITHMS)[number], now: number): Promise<OidcKeyRecord> {
  const { privateKey } =
    alg === 'ES256' ? await generate('ec', { namedCurve: 'P-256' }) : await generate('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' }) as JsonWebKey & JWK;
  // RFC 7638 thumbprint of the public part: stable, unique, and reveals nothing.
  const kid = await calculateJwkThumbprint(jwk, 'sha256');
  return { kid, kind: 'sig', alg, jwk: JSON.stringify({ ...jwk, kid, alg, use: 'sig' }), createdAt: now, retiredAt: null };
}

function newCookieKey(now: number): OidcKeyRecord {
  const secret = randomBytes(32).toString('base64url');
  return { kid: `cookie-${randomBytes(9).toString('base64url')}`, kind: 'cookie', alg: null, jwk: secret, createdAt: now, retiredAt: null };
}

/**
 * The OIDC provider's keys, kept in the database so every node and every restart uses the same ones:
 * - signing keys (ES256 + RS256) are generated on first start; {@link rotate} adds a new pair that
 *   signs from then on and retires the old pair, which stays in the JWKS for
 *   {@link KEY_RETENTION_SECONDS} (until every token it signed has expired) and is then deleted;
 * - a cookie key (256 random bits) signs the provider's session and interaction cookies.
 * Private keys are stored as JWK JSON in `oidc_keys`; protect database backups accordingly.
 */
export class OidcKeyService {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  /** Generates the signing key pair and the cookie key when missing (first start). */
  async ensure(): Promise<void> {
    const keys = await this.store.oidcKeys.list();
    const now = this.clock.now();
    for (const alg of SIGNING_ALGORITHMS) {
      if (!keys.some((k) => k.kind === 'sig' && k.alg === alg && k.retiredAt === null)) {
        await this.store.oidcKeys.insert(await newSigningKey(alg, now));
      }
    }
    if (!keys.some((k) => k.kind === 'cookie' && k.retiredAt === null)) await this.store.oidcKeys.insert(newCookieKey(now));
  }

  /**
   * Rotates the signing keys: a new ES256 + RS256 pair signs from now on; the previous keys stay
   * published (verification only) for {@link KEY_RETENTION_SECONDS}. Running nodes pick the new keys
   * up within their key-check interval (see `OidcProviderHost`).
   */
  async rotate(): Promise<RotationResult> {
    const before = await this.store.oidcKeys.list();
    const now = this.clock.now();
    const fresh = await Promise.all(SIGNING_ALGORITHMS.map((alg) => newSigningKey(alg, now)));
    await this.store.oidcKeys.retireActive('sig', now);
    for (const key of fresh) await this.store.oidcKeys.insert(key);
    return {
      created: fresh.map((k) => k.kid),
      retired: before.filter((k) => k.kind === 'sig' && k.retiredAt === null).map((k) => k.kid),
    };
  }

  /** The keys to build a provider with: active ones, then retired ones still inside their retention. */
  async load(): Promise<LoadedKeys> {
    const now = this.clock.now();
    const keys = (await this.store.oidcKeys.list()).filter(
      (k) => k.retiredAt === null || k.retiredAt + KEY_RETENTION_SECONDS * 1000 > now,
    );
    const ordered = [...keys.filter((k) => k.retiredAt === null), ...keys.filter((k) => k.retiredAt !== null)];
    const signing = ordered.filter((k) => k.kind === 'sig');
    const cookie = ordered.filter((k) => k.kind === 'cookie');
    return {
      signing: signing.map((k) => JSON.parse(k.jwk) as JWK),
      cookie: cookie.map((k) => k.jwk),
      fingerprint: ordered.map((k) => `${k.kid}:${k.retiredAt === null ? 'a' : 'r'}`).join(','),
    };
  }

  /** Deletes keys retired longer ago than {@link KEY_RETENTION_SECONDS}. @returns how many */
  purgeRetired(): Promise<number> {
    return this.store.oidcKeys.deleteRetiredBefore(this.clock.now() - KEY_RETENTION_SECONDS * 1000);
  }
}
