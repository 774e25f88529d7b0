/**
 * Real identity providers for the social suites, on 127.0.0.1:
 * - {@link startOidcIdp}: a second node-oidc-provider instance acting as "Google" (discovery, PKCE,
 *   ID tokens signed with its own RS256 key, userinfo), whose login interaction signs in the account
 *   the test picked (`idp.nextAccount`);
 * - {@link startOAuthServer}: a small node:http OAuth 2.0 server shaped like GitHub (authorize,
 *   access_token answering `{error}` with 200 on a bad code, /user, /user/emails), which can also act
 *   as a minimal OIDC provider whose ID tokens carry a chosen `aud` / `nonce` (to prove we refuse them).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import Provider from 'oidc-provider';

/** An account at the fake identity provider. */
export interface IdpAccount {
  sub: string;
  email?: string;
  email_verified?: boolean;
  name?: string;
  picture?: string;
}

/** A client registered at the fake "Google". */
export interface IdpClient {
  client_id: string;
  client_secret: string;
  redirect_uris: string[];
  token_endpoint_auth_method?: 'client_secret_basic' | 'client_secret_post';
}

/** The running fake "Google". */
export interface OidcIdp {
  issuer: string;
  accounts: Map<string, IdpAccount>;
  /** The account the next login interaction signs in. */
  nextAccount: string;
  close(): Promise<void>;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const closeServer = (server: Server) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });

/** Starts node-oidc-provider as "Google" with the given clients. */
export async function startOidcIdp(clients: IdpClient[]): Promise<OidcIdp> {
  const server = createServer();
  const issuer = await listen(server);
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: 'idp-key-1', alg: 'RS256', use: 'sig' };
  const idp: OidcIdp = { issuer, accounts: new Map(), nextAccount: '', close: () => closeServer(server) };
  const provider = new Provider(issuer, {
    clients: clients.map((c) => ({ grant_types: ['authorization_code'], response_types: ['code'], ...c })),
    jwks: { keys: [jwk] },
    cookies: { keys: ['fake-google-cookie-key-0123456789'] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'picture'] },
    pkce: { required: () => true },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    findAccount: (_ctx: unknown, id: string) => {
      const account = idp.accounts.get(id);
      return account ? { accountId: id, claims: () => ({ ...account }) } : undefined;
    },
    // No consent screen: every requested scope is granted (like a user who always clicks "Allow").
    loadExistingGrant: async (ctx: any) => {
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
      grant.addOIDCScope('openid email profile');
      await grant.save();
      return grant;
    },
  } as any);
  const handler = provider.callback();
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (req.url?.startsWith('/interaction/')) {
      void (async () => {
        try {
          const details = await provider.interactionDetails(req, res);
          if (details.prompt.name !== 'login') throw new Error(`unexpected prompt ${details.prompt.name}`);
          await provider.interactionFinished(req, res, { login: { accountId: idp.nextAccount } }, { mergeWithLastSubmission: false });
        } catch (error) {
          res.statusCode = 500;
          res.end(String(error));
        }
      })();
      return;
    }
    handler(req, res);
  });
  return idp;
}

/** A user of the GitHub-shaped server. */
export interface OAuthUser {
  id: number;
  login: string;
  name?: string;
  avatar_url?: string;
  emails: Array<{ email: string; primary: boolean; verified: boolean }>;
}

/** The running OAuth 2.0 server. */
export interface OAuthServer {
  base: string;
  clientId: string;
  clientSecret: string;
  users: Map<string, OAuthUser>;
  nextUser: string;
  /** Minimal-OIDC mode: overrides for the next ID tokens (`aud`, `nonce`). */
  idToken: { aud?: string; nonce?: string };
  /** How many token requests were refused (bad or replayed code, PKCE, client). */
  refusals: number;
  /** `expires_in` (seconds) and a refresh token in token answers (GitHub Apps' user tokens do this). */
  tokenLifetime?: { expiresIn: number };
  /** Refuse every refresh (a revoked grant). */
  refuseRefresh: boolean;
  /** How many refresh grants were answered with new tokens. */
  refreshes: number;
  close(): Promise<void>;
}

/**
 * Starts a GitHub-shaped OAuth 2.0 server (`/login/oauth/authorize`, `/login/oauth/access_token`,
 * `/user`, `/user/emails`) that also publishes `/.well-known/openid-configuration` and `/jwks` and adds
 * an `id_token` to token answers (minimal OIDC). Codes are single use, PKCE S256 is checked, the
 * redirect URI must be the one of the authorization request.
 */
export async function startOAuthServer(clientId: string, clientSecret: string): Promise<OAuthServer> {
  const server = createServer();
  const base = await listen(server);
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const publicJwk = { ...(await exportJWK(publicKey)), kid: 'oauth-key-1', alg: 'RS256', use: 'sig' };
  const codes = new Map<string, { user: string; redirectUri: string; challenge: string | null; nonce: string | null; used: boolean }>();
  const tokens = new Map<string, string>();
  const refreshTokens = new Map<string, string>();
  const peer: OAuthServer = {
    base, clientId, clientSecret, users: new Map(), nextUser: '', idToken: {}, refusals: 0, refuseRefresh: false, refreshes: 0, close: () => closeServer(server),
  };
  /** A new access token (and, with a lifetime, a refresh token) for `user`. */
  const issue = (user: string) => {
    const accessToken = randomBytes(20).toString('hex');
    tokens.set(accessToken, user);
    if (!peer.tokenLifetime) return { access_token: accessToken, token_type: 'bearer', scope: 'read:user,user:email' };
    const refreshToken = `r1.${randomBytes(20).toString('hex')}`;
    refreshTokens.set(refreshToken, user);
    return { access_token: accessToken, token_type: 'bearer', scope: 'read:user,user:email', expires_in: peer.tokenLifetime.expiresIn, refresh_token: refreshToken };
  };

  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const readBody = async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
  };
  const bearerUser = (req: IncomingMessage) => {
    const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    return m ? tokens.get(m[1]!) : undefined;
  };

  server.on('request', (req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', base);
      if (url.pathname === '/.well-known/openid-configuration') {
        return json(res, 200, {
          issuer: base,
          authorization_endpoint: `${base}/login/oauth/authorize`,
          token_endpoint: `${base}/login/oauth/access_token`,
          userinfo_endpoint: `${base}/userinfo`,
          jwks_uri: `${base}/jwks`,
        });
      }
      if (url.pathname === '/jwks') return json(res, 200, { keys: [publicJwk] });
      if (url.pathname === '/login/oauth/authorize') {
        const q = url.searchParams;
        if (q.get('client_id') !== clientId || !q.get('redirect_uri')) return json(res, 400, { error: 'invalid_request' });
        const code = randomBytes(16).toString('hex');
        codes.set(code, { user: peer.nextUser, redirectUri: q.get('redirect_uri')!, challenge: q.get('code_challenge'), nonce: q.get('nonce'), used: false });
        const back = new URL(q.get('redirect_uri')!);
        back.searchParams.set('code', code);
        if (q.get('state')) back.searchParams.set('state', q.get('state')!);
        res.writeHead(302, { location: back.toString() });
        return res.end();
      }
      if (url.pathname === '/login/oauth/access_token' && req.method === 'POST') {
        const form = await readBody(req);
        const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
        const [id, secret] = basic ? Buffer.from(basic[1]!, 'base64').toString().split(':').map(decodeURIComponent) : [form.get('client_id'), form.get('client_secret')];
        if (form.get('grant_type') === 'refresh_token') {
          // RFC 6749 §6, rotating: the refresh token is single use.
          const owner = refreshTokens.get(form.get('refresh_token') ?? '');
          refreshTokens.delete(form.get('refresh_token') ?? '');
          if (id !== clientId || secret !== clientSecret || !owner || peer.refuseRefresh) {
            peer.refusals++;
            return json(res, 400, { error: 'invalid_grant', error_description: 'The refresh token is invalid or revoked.' });
          }
          peer.refreshes++;
          return json(res, 200, issue(owner));
        }
        const entry = codes.get(form.get('code') ?? '');
        const verifier = form.get('code_verifier');
        const pkceOk = !entry?.challenge || (verifier && createHash('sha256').update(verifier).digest('base64url') === entry.challenge);
        if (id !== clientId || secret !== clientSecret || !entry || entry.used || entry.redirectUri !== form.get('redirect_uri') || !pkceOk) {
          peer.refusals++;
          if (entry) entry.used = true;
          // GitHub answers 200 with an error object.
          return json(res, 200, { error: 'bad_verification_code', error_description: 'The code passed is incorrect or expired.' });
        }
        entry.used = true;
        const issued = issue(entry.user);
        const user = peer.users.get(entry.user)!;
        const now = Math.floor(Date.now() / 1000);
        const primary = user.emails.find((e) => e.primary);
        const idToken = await new SignJWT({
          ...(peer.idToken.nonce !== undefined || entry.nonce ? { nonce: peer.idToken.nonce ?? entry.nonce } : {}),
          name: user.name,
          email: primary?.email,
          email_verified: primary?.verified ?? false,
        })
          .setProtectedHeader({ alg: 'RS256', kid: 'oauth-key-1' })
          .setIssuer(base)
          .setSubject(String(user.id))
          .setAudience(peer.idToken.aud ?? clientId)
          .setIssuedAt(now)
          .setExpirationTime(now + 300)
          .sign(privateKey);
        return json(res, 200, { ...issued, id_token: idToken });
      }
      const who = bearerUser(req);
      if (url.pathname === '/user' || url.pathname === '/userinfo') {
        const user = who ? peer.users.get(who) : undefined;
        if (!user) return json(res, 401, { message: 'Bad credentials' });
        if (url.pathname === '/userinfo') return json(res, 200, { sub: String(user.id), name: user.name });
        return json(res, 200, { id: user.id, login: user.login, name: user.name ?? null, avatar_url: user.avatar_url ?? null, email: null });
      }
      if (url.pathname === '/user/emails') {
        const user = who ? peer.users.get(who) : undefined;
        if (!user) return json(res, 401, { message: 'Bad credentials' });
        return json(res, 200, user.emails.map((e) => ({ ...e, visibility: e.primary ? 'private' : null })));
      }
      return json(res, 404, { message: 'Not Found' });
    })().catch((error: unknown) => {
      res.statusCode = 500;
      res.end(String(error));
    });
  });
  return peer;
}

/** A WeChat user of {@link startWeChatServer}. */
export interface WeChatUser {
  openid: string;
  unionid?: string;
  nickname: string;
  headimgurl?: string;
}

/** The running WeChat-shaped server. */
export interface WeChatServer {
  base: string;
  users: Map<string, WeChatUser>;
  nextUser: string;
  close(): Promise<void>;
}

/**
 * A server shaped like WeChat's Open Platform website login: `GET /connect/qrconnect` (redirects back
 * with `code` and `state`), `GET /sns/oauth2/access_token?appid&secret&code&grant_type=authorization_code`
 * (`{access_token, openid, unionid}` or, for a bad or used code, HTTP 200 `{errcode: 40029, errmsg}`),
 * `GET /sns/userinfo?access_token&openid`.
 */
export async function startWeChatServer(appid: string, secret: string): Promise<WeChatServer> {
  const server = createServer();
  const base = await listen(server);
  const codes = new Map<string, { user: string; used: boolean }>();
  const tokens = new Map<string, string>();
  const peer: WeChatServer = { base, users: new Map(), nextUser: '', close: () => closeServer(server) };
  const json = (res: ServerResponse, body: unknown) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  server.on('request', (req, res) => {
    const url = new URL(req.url ?? '/', base);
    const q = url.searchParams;
    if (url.pathname === '/connect/qrconnect') {
      if (q.get('appid') !== appid || q.get('scope') !== 'snsapi_login' || q.get('response_type') !== 'code') return json(res, { errcode: 10003, errmsg: 'redirect_uri or appid invalid' });
      const code = randomBytes(12).toString('hex');
      codes.set(code, { user: peer.nextUser, used: false });
      const back = new URL(q.get('redirect_uri')!);
      back.searchParams.set('code', code);
      back.searchParams.set('state', q.get('state') ?? '');
      res.writeHead(302, { location: back.toString() });
      return res.end();
    }
    if (url.pathname === '/sns/oauth2/access_token') {
      const entry = codes.get(q.get('code') ?? '');
      if (q.get('appid') !== appid || q.get('secret') !== secret || q.get('grant_type') !== 'authorization_code' || !entry || entry.used) {
        if (entry) entry.used = true;
        return json(res, { errcode: 40029, errmsg: 'invalid code' });
      }
      entry.used = true;
      const user = peer.users.get(entry.user)!;
      const accessToken = randomBytes(16).toString('hex');
      tokens.set(accessToken, user.openid);
      return json(res, { access_token: accessToken, expires_in: 7200, refresh_token: 'r', openid: user.openid, scope: 'snsapi_login', ...(user.unionid ? { unionid: user.unionid } : {}) });
    }
    if (url.pathname === '/sns/userinfo') {
      const openid = tokens.get(q.get('access_token') ?? '');
      const user = [...peer.users.values()].find((u) => u.openid === openid);
      if (!user || q.get('openid') !== openid) return json(res, { errcode: 40003, errmsg: 'invalid openid' });
      return json(res, { openid: user.openid, nickname: user.nickname, sex: 1, province: '', city: '', country: 'CN', headimgurl: user.headimgurl ?? '', privilege: [], ...(user.unionid ? { unionid: user.unionid } : {}) });
    }
    return json(res, { errcode: 404, errmsg: 'not found' });
  });
  return peer;
}
