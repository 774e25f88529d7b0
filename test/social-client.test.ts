import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OAuth2Connector } from '../src/connectors/social/oauth2.js';
import { OidcConnector } from '../src/connectors/social/oidc.js';
import { MAX_PROVIDER_BODY_BYTES } from '../src/connectors/social/http.js';
import { isAppError } from '../src/errors/index.js';

/**
 * The social connectors' OAuth/OIDC client (openid-client with Tessera's fetch hook) against a small
 * real provider on 127.0.0.1 whose token answer each test picks: the checks the end-to-end suites do
 * not reach (signature, expiry, algorithm), the provider quirks, and the transport rules.
 */
describe('social connector client', () => {
  let server: Server;
  let base: string;
  /** What the token endpoint does next. */
  let answer: (req: IncomingMessage, res: ServerResponse, form: URLSearchParams) => void | Promise<void>;
  let lastForm: URLSearchParams | undefined;
  const keys = { good: undefined as unknown as CryptoKey, other: undefined as unknown as CryptoKey };
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  beforeAll(async () => {
    const good = await generateKeyPair('RS256');
    keys.good = good.privateKey;
    keys.other = (await generateKeyPair('RS256')).privateKey;
    const jwk = { ...(await exportJWK(good.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    server = createServer((req, res) => {
      void (async () => {
        const url = new URL(req.url ?? '/', base);
        if (url.pathname === '/.well-known/openid-configuration') {
          return json(res, 200, {
            issuer: url.searchParams.get('issuer') ?? base,
            authorization_endpoint: `${base}/authorize`,
            token_endpoint: `${base}/token`,
            jwks_uri: `${base}/jwks`,
            id_token_signing_alg_values_supported: ['RS256', 'HS256'],
          });
        }
        if (url.pathname === '/jwks') return json(res, 200, { keys: [jwk] });
        if (url.pathname === '/user') return json(res, 200, { id: 42, login: 'octo', email: 'octo@example.test' });
        const chunks: Buffer[] = [];
        for await (const chunk of req) chunks.push(chunk as Buffer);
        lastForm = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
        await answer(req, res, lastForm);
      })().catch((error: unknown) => {
        res.statusCode = 500;
        res.end(String(error));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));

  const session = { state: 's', nonce: 'n-1', codeVerifier: 'v'.repeat(43), redirectUri: 'https://app.example.test/cb?tenant=a' };
  const oidc = (over: { issuer?: string; discoveryUrl?: string } = {}) =>
    new OidcConnector({ id: 'conn_o', target: 'acme', issuer: base, clientId: 'client-1', clientSecret: 'secret-1', timeoutSeconds: 1, ...over });
  const oauth2 = () =>
    new OAuth2Connector({
      id: 'conn_g', target: 'gh', clientId: 'client-1', clientSecret: 'secret-1', timeoutSeconds: 1,
      authorizationEndpoint: `${base}/authorize`, tokenEndpoint: `${base}/token`, userinfoEndpoint: `${base}/user`,
    });
  const idToken = (claims: Record<string, unknown>, key = keys.good, alg = 'RS256') => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ iss: base, sub: 'user-1', aud: 'client-1', iat: now, exp: now + 300, nonce: 'n-1', ...claims }).setProtectedHeader({ alg, kid: 'k1' }).sign(key);
  };
  const tokenAnswer = (id_token: string) => ({ access_token: 'at-1', token_type: 'Bearer', expires_in: 60, id_token, name: 'x' });
  const codeOf = async (promise: Promise<unknown>) => {
    const error = await promise.then(() => undefined, (e: unknown) => e);
    return isAppError(error) ? error.code : error;
  };

  it('redeems a code with the exact redirect URI and verifier, and checks the ID token (claims, nonce)', async () => {
    const token = await idToken({ email: 'a@example.test', email_verified: true, name: 'Ada' });
    answer = (_req, res) => json(res, 200, tokenAnswer(token));
    const identity = await oidc().verify({ code: 'c1' }, session);
    expect(lastForm?.get('redirect_uri')).toBe(session.redirectUri);
    expect(lastForm?.get('code_verifier')).toBe(session.codeVerifier);
    expect(identity).toMatchObject({ subject: 'user-1', email: 'a@example.test', emailVerified: true, name: 'Ada', tokens: { accessToken: 'at-1', expiresIn: 60 } });
    expect(identity.raw).not.toHaveProperty('nonce');
    const uri = new URL(await oidc().authorizationUri({ ...session, redirectUri: 'https://app.example.test/cb' }));
    expect(Object.fromEntries(uri.searchParams)).toMatchObject({ client_id: 'client-1', response_type: 'code', state: 's', nonce: 'n-1', code_challenge_method: 'S256' });
  });

  it('refuses an ID token with a foreign signature, an HMAC algorithm, an expiry in the past, or another nonce', async () => {
    const now = Math.floor(Date.now() / 1000);
    for (const token of [
      await idToken({}, keys.other),
      await idToken({}, new TextEncoder().encode('secret-1'.padEnd(32, '!')) as unknown as CryptoKey, 'HS256'),
      await idToken({ exp: now - 600 }),
      await idToken({ nonce: 'other' }),
    ]) {
      answer = (_req, res) => json(res, 200, tokenAnswer(token));
      expect(await codeOf(oidc().verify({ code: 'c' }, session))).toBe('connector.id_token_invalid');
    }
  });

  it('refuses a discovery document of another issuer (also through discoveryUrl)', async () => {
    const discoveryUrl = `${base}/.well-known/openid-configuration?issuer=${encodeURIComponent('https://evil.example.test')}`;
    expect(await codeOf(oidc({ discoveryUrl }).authorizationUri(session))).toBe('connector.invalid_response');
  });

  it('plain OAuth 2.0: GitHub\'s form-encoded answer works; its 200 + {error} is a refused code; an id_token is dropped', async () => {
    answer = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-www-form-urlencoded' });
      res.end('access_token=gho_1&token_type=bearer&scope=read%3Auser&id_token=not.a.jwt');
    };
    const identity = await oauth2().verify({ code: 'c' }, session);
    expect(identity).toMatchObject({ subject: '42', tokens: { accessToken: 'gho_1', tokenType: 'bearer', scope: 'read:user' } });
    expect(identity.tokens).not.toHaveProperty('idToken');
    answer = (_req, res) => json(res, 200, { error: 'bad_verification_code', error_description: 'The code passed is incorrect or expired.' });
    expect(await codeOf(oauth2().verify({ code: 'c' }, session))).toBe('connector.authorization_failed');
    answer = (_req, res) => json(res, 400, { error: 'invalid_grant' });
    expect(await codeOf(oauth2().refresh('r1'))).toBe('connector.authorization_failed');
  });

  it('does not follow redirects, gives up after timeoutSeconds, and refuses answers over 1 MiB', async () => {
    answer = (_req, res) => {
      res.writeHead(302, { location: `${base}/token` });
      res.end();
    };
    expect(await codeOf(oauth2().verify({ code: 'c' }, session))).toBe('connector.idp_unreachable');
    answer = (_req, res) => void setTimeout(() => json(res, 200, { access_token: 'late', token_type: 'bearer' }), 1500);
    expect(await codeOf(oauth2().verify({ code: 'c' }, session))).toBe('connector.idp_unreachable');
    answer = (_req, res) => json(res, 200, { access_token: 'x', token_type: 'bearer', padding: 'x'.repeat(MAX_PROVIDER_BODY_BYTES) });
    expect(await codeOf(oauth2().verify({ code: 'c' }, session))).toBe('connector.invalid_response');
  });
});
