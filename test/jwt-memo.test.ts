import type { FastifyRequest } from 'fastify';
import { createLocalJWKSet, exportJWK, generateKeyPair, type JWTVerifyGetKey, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { AppError } from '../src/errors/index.js';
import { managementAuthorizer } from '../src/http/principal.js';

// Issue 22 item 4: the Management API remembers a token's signature check per key-set version
// (util/jwt-memo.ts). What must not change: expiry, the role check and key rotation act at once.

const ISSUER = 'https://tessera.example.com/oidc';
const AUDIENCE = 'https://tessera.example.com/api';

async function keyPair(kid: string) {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

async function token(key: Awaited<ReturnType<typeof keyPair>>, expSeconds: number, claims: Record<string, unknown> = {}) {
  return new SignJWT({ scope: 'all', client_id: 'm2m-app', ...claims })
    .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'at+jwt' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject('m2m-app')
    .setIssuedAt(expSeconds - 3600)
    .setExpirationTime(expSeconds)
    .sign(key.privateKey);
}

const request = (bearer: string) => ({ headers: { authorization: `Bearer ${bearer}` } }) as unknown as FastifyRequest;
const refusal = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => (error as AppError).code);

/** An authorizer over a mutable key set, counting signature checks (getKey calls) and role lookups. */
function harness(initial: Array<Awaited<ReturnType<typeof keyPair>>>, memo = true) {
  const state = { keys: initial, version: 'v1', nowMs: Date.UTC(2026, 11, 6, 12), verifications: 0, roleChecks: 0, holdsRole: true };
  let jwks = createLocalJWKSet({ keys: state.keys.map((k) => k.jwk) });
  const getKey: JWTVerifyGetKey = (header, input) => {
    state.verifications += 1;
    return jwks(header, input);
  };
  const authorize = managementAuthorizer({
    issuer: ISSUER,
    audience: AUDIENCE,
    getKey,
    holdsManagementRole: async () => {
      state.roleChecks += 1;
      return state.holdsRole;
    },
    ...(memo ? { keySetVersion: async () => state.version } : {}),
    now: () => state.nowMs,
  });
  const rotate = (keys: typeof initial, version: string) => {
    state.keys = keys;
    state.version = version;
    jwks = createLocalJWKSet({ keys: keys.map((k) => k.jwk) });
  };
  return { state, authorize, rotate };
}

describe('Management API tokens: the signature is checked once per token and key set', () => {
  it('a reused token skips the signature check but not the role lookup; a revoked role is refused at once', async () => {
    const key = await keyPair('k1');
    const h = harness([key]);
    const jwt = await token(key, h.state.nowMs / 1000 + 3600);
    for (let i = 0; i < 3; i++) expect(await h.authorize(request(jwt))).toEqual({ applicationId: 'm2m-app', scopes: ['all'] });
    expect(h.state.verifications).toBe(1);
    expect(h.state.roleChecks).toBe(3);
    h.state.holdsRole = false;
    expect(await refusal(h.authorize(request(jwt)))).toBe('auth.unauthorized');
  });

  it('a remembered token is refused once it expires (exp ≤ now, no tolerance, as jose)', async () => {
    const key = await keyPair('k1');
    const h = harness([key]);
    const exp = Math.floor(h.state.nowMs / 1000) + 60;
    const jwt = await token(key, exp);
    await h.authorize(request(jwt));
    h.state.nowMs = (exp - 1) * 1000 + 999;
    await h.authorize(request(jwt));
    expect(h.state.verifications).toBe(1);
    h.state.nowMs = exp * 1000;
    expect(await refusal(h.authorize(request(jwt)))).toBe('auth.unauthorized');
  });

  it('a key rotation makes tokens verify afresh: still accepted while their key is published, refused once it is gone', async () => {
    const [k1, k2] = [await keyPair('k1'), await keyPair('k2')];
    const h = harness([k1]);
    const jwt = await token(k1, h.state.nowMs / 1000 + 3600);
    await h.authorize(request(jwt));
    h.rotate([k2, k1], 'v2'); // k1 retired but still published
    await h.authorize(request(jwt));
    await h.authorize(request(jwt));
    expect(h.state.verifications).toBe(2);
    h.rotate([k2], 'v3'); // k1 gone
    expect(await refusal(h.authorize(request(jwt)))).toBe('auth.unauthorized');
  });

  it('a token that fails is not remembered; wrong audience, signature or scope are refused every time', async () => {
    const [good, stranger] = [await keyPair('k1'), await keyPair('k1')]; // same kid, other key: a forged signature
    const h = harness([good]);
    const exp = h.state.nowMs / 1000 + 3600;
    const forged = await token(stranger, exp);
    for (let i = 0; i < 2; i++) expect(await refusal(h.authorize(request(forged)))).toBe('auth.unauthorized');
    expect(h.state.verifications).toBe(2);
    const otherAudience = await new SignJWT({ scope: 'all' }).setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'at+jwt' })
      .setIssuer(ISSUER).setAudience('https://other.example.com').setSubject('m2m-app').setExpirationTime(exp).sign(good.privateKey);
    for (let i = 0; i < 2; i++) expect(await refusal(h.authorize(request(otherAudience)))).toBe('auth.unauthorized');
    const noScope = await token(good, exp, { scope: 'read' });
    for (let i = 0; i < 2; i++) expect(await refusal(h.authorize(request(noScope)))).toBe('auth.forbidden');
    const notYet = await token(good, exp, { nbf: Math.floor(h.state.nowMs / 1000) + 30 });
    expect(await refusal(h.authorize(request(notYet)))).toBe('auth.unauthorized');
  });

  it('without a key-set version every request checks the signature', async () => {
    const key = await keyPair('k1');
    const h = harness([key], false);
    const jwt = await token(key, h.state.nowMs / 1000 + 3600);
    for (let i = 0; i < 3; i++) await h.authorize(request(jwt));
    expect(h.state.verifications).toBe(3);
  });
});
