/**
 * Tessera's prebuilt account center at `/account` (issue 14 §3): a first-party application of Tessera
 * itself, served by the same server. It is a **BFF** (server-rendered pages, not a SPA): the browser
 * holds only an encrypted cookie; the server signs the user in through Tessera's own OIDC provider at
 * `/oidc` (authorization code + PKCE S256, state, nonce; openid-client) as the built-in public client
 * `tessera-account-center`, and then calls only the public Account API (`/api/my-account…`,
 * `/api/verifications…`) with the user's access token, through `inject` on this very server — never the
 * domain services for the account's data. The account-center settings (field modes) are read from
 * their service, the way the Account API itself reads them on every request.
 *
 * Routes (all HTML unless said otherwise; every POST needs the session's CSRF token and a same-origin
 * request, else 403):
 * - `GET /account` → the first visible section; without a session → `/oidc/auth` (sign-in).
 * - `GET /account/sign-in?return=<section>`, `GET /account/callback` (the redirect URI).
 * - `GET /account/<section>` for profile, contact, password, mfa, social, sessions, custom-data, delete.
 * - `POST /account/sign-out` → RP-initiated logout at `/oidc/session/end`.
 * - `POST /account/verify` (password → identity proof for 10 minutes), `/account/profile`,
 *   `/account/contact/code|verify|remove`, `/account/password`, `/account/mfa/totp/start|totp|backup-codes|passkey|remove`,
 *   `/account/mfa/passkey/options` (JSON, from the passkey script), `/account/social/unlink`,
 *   `/account/sessions/end`, `/account/grants/revoke`, `/account/custom-data`, `/account/delete`.
 */
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import * as oidcClient from 'openid-client';
import type { JSX } from 'preact';
import { type AccountCenterService, type AccountCenterSettings, type FieldMode, passkeyMode } from '../domain/account/center.js';
import type { Config } from '../config/index.js';
import type { OidcService } from '../oidc/index.js';
import { pageContext, sendPage } from '../ui/http.js';
import { renderPage, type PageContext } from '../ui/page.js';
import { isSameOriginPost } from '../util/same-origin.js';
import { ensureAccountCenterApplication } from './application.js';
import { ACCOUNT_CENTER_CLIENT_ID, type ApiAnswer, apiError, type Caller, callApi, callerOf, RelyingParty } from './client.js';
import {
  type AccountView,
  ContactSection,
  CustomDataSection,
  DeleteSection,
  type FactorView,
  type Frame,
  type GrantView,
  MessagePage,
  MfaSection,
  PasswordSection,
  type PendingCode,
  ProfileSection,
  type SessionView,
  SessionsSection,
  SocialSection,
  type Tab,
  TABS,
} from './pages.js';
import {
  type AccountSession,
  AUTH_COOKIE,
  csrfMatches,
  csrfToken,
  deriveKeys,
  isAccountSession,
  isPendingSignIn,
  newSid,
  PENDING_TTL_SECONDS,
  readCookie,
  seal,
  SESSION_COOKIE,
  SESSION_COOKIE_MAX_AGE_SECONDS,
  setCookie,
  unseal,
} from './session.js';

export { ACCOUNT_CENTER_CLIENT_ID } from './client.js';

/** Options of {@link accountCenterRoutes}. */
export interface AccountCenterOptions {
  /** The OIDC provider (its cookie keys seal the cookies; its config and applications are used at start). */
  oidc: OidcService;
  /** The account-center settings (field modes), as the Account API reads them. */
  accountCenter: AccountCenterService;
}

/** Largest form accepted, bytes (a passkey attestation and custom data fit). */
const FORM_LIMIT_BYTES = 64 * 1024;
/** An access token is refreshed when it expires within this many ms. */
const REFRESH_MARGIN_MS = 30_000;
/** An identity proof is dropped this long (ms) before the Account API's 10 minutes end. */
const PROOF_MARGIN_MS = 30_000;
/** How long derived keys are reused before the provider's cookie keys are read again, ms. */
const KEY_CACHE_MS = 10_000;

/** Notices shown after a redirect (`?done=<key>`). */
const DONE = {
  saved: 'account.saved',
  removed: 'account.contact.removed',
  password: 'account.password.changed',
  totp: 'account.mfa.totpAdded',
  passkey: 'account.mfa.passkeyAdded',
  factorRemoved: 'account.mfa.removed',
  unlinked: 'account.social.unlinked',
  ended: 'account.sessions.ended',
  revoked: 'account.sessions.revoked',
} as const;

/** A request with a signed-in account-center session. */
interface State {
  session: AccountSession;
  /** The session must be written back (refreshed tokens, proof). */
  changed: boolean;
  caller: Caller;
  ctx: PageContext;
  settings: AccountCenterSettings;
  csrf: string;
  tabs: Tab[];
}

/** Thrown when the session's tokens no longer work: the browser is sent to sign in again. */
class SignInRequired extends Error {}

/** The sections the field modes let the user see (delete is always there). */
function visibleTabs(settings: AccountCenterSettings): Tab[] {
  const f = settings.fields;
  const on = (...modes: FieldMode[]) => modes.some((m) => m !== 'Off');
  const shown: Record<Tab, boolean> = {
    profile: on(f.name, f.avatar, f.username),
    contact: on(f.email, f.phone),
    password: on(f.password),
    mfa: on(f.mfa, passkeyMode(settings)),
    social: on(f.social),
    sessions: on(f.session),
    'custom-data': on(f.customData),
    delete: true,
  };
  return TABS.filter((tab) => shown[tab]);
}

/** Where a proof code can go: the current email, else the current phone (as the Account API shows them). */
function codeTarget(me: AccountView): { type: 'email' | 'phone'; value: string } | undefined {
  if (me.primaryEmail) return { type: 'email', value: me.primaryEmail };
  if (me.primaryPhone) return { type: 'phone', value: me.primaryPhone };
  return undefined;
}

const isTab = (value: unknown): value is Tab => typeof value === 'string' && (TABS as readonly string[]).includes(value);
const str = (body: unknown, name: string, max = 1024): string => {
  const value = (body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value.slice(0, max) : '';
};

/**
 * The account center (see the module comment). Ensures its OIDC client at registration (idempotent).
 * @throws AppError `application.invalid_metadata` at start when the client id is taken by another kind of app
 */
export const accountCenterRoutes: FastifyPluginAsync<AccountCenterOptions> = async (app, { oidc, accountCenter }) => {
  const config: Config = oidc.deps.config;
  const { applications } = oidc.deps;
  await ensureAccountCenterApplication(applications, config.publicUrl);
  await app.register(formbody, { bodyLimit: FORM_LIMIT_BYTES });
  await app.register(cookie);

  const publicOrigin = new URL(config.publicUrl).origin;
  const secure = config.publicUrl.startsWith('https:');
  const rp = new RelyingParty(app, config.publicUrl);

  let keyCache: { at: number; keys: Promise<ReturnType<typeof deriveKeys>> } | undefined;
  const keys = () => {
    if (!keyCache || Date.now() - keyCache.at > KEY_CACHE_MS) {
      const loaded = oidc.keys.load().then((l) => deriveKeys(l.cookie));
      keyCache = { at: Date.now(), keys: loaded };
      loaded.catch(() => {
        keyCache = undefined;
      });
    }
    return keyCache.keys;
  };

  const html = (reply: FastifyReply, status: number, ctx: PageContext, page: JSX.Element, scripts = false) =>
    sendPage(reply, status, renderPage(page), ctx.brand, { scripts });

  const message = (reply: FastifyReply, request: FastifyRequest, status: number, text: string, link?: { href: string; text: string }) => {
    const ctx = pageContext(request, config);
    return html(reply, status, ctx, <MessagePage ctx={ctx} title={ctx.t('account.title')} message={text} {...(link ? { link } : {})} />);
  };

  /** Starts a sign-in at /oidc (a fresh pending-sign-in cookie), to come back to `returnTo`. */
  const startSignIn = async (request: FastifyRequest, reply: FastifyReply, returnTo: Tab | '') => {
    const pending = {
      verifier: oidcClient.randomPKCECodeVerifier(),
      state: oidcClient.randomState(),
      nonce: oidcClient.randomNonce(),
      returnTo: returnTo ? `/account/${returnTo}` : '/account',
      expiresAt: Date.now() + PENDING_TTL_SECONDS * 1000,
    };
    const { sealing } = await keys();
    setCookie(reply, AUTH_COOKIE, seal(sealing, AUTH_COOKIE, pending), PENDING_TTL_SECONDS, secure);
    const url = await rp.authorizationUrl(pending, pageContext(request, config).locale);
    return reply.header('cache-control', 'no-store').redirect(url.href, 303);
  };

  const writeSession = async (reply: FastifyReply, session: AccountSession) => {
    const { sealing } = await keys();
    setCookie(reply, SESSION_COOKIE, seal(sealing, SESSION_COOKIE, session), SESSION_COOKIE_MAX_AGE_SECONDS, secure);
  };
  const clearSession = (reply: FastifyReply) => setCookie(reply, SESSION_COOKIE, '', 0, secure);

  /** The request's session (refreshed when its access token expires), or undefined. */
  const load = async (request: FastifyRequest, reply: FastifyReply): Promise<State | undefined> => {
    const sealed = readCookie(request, SESSION_COOKIE);
    if (!sealed) return undefined;
    const k = await keys();
    const session = unseal(k.sealing, SESSION_COOKIE, sealed);
    if (!isAccountSession(session)) return undefined;
    const caller = callerOf(request);
    let changed = false;
    if (session.expiresAt - REFRESH_MARGIN_MS <= Date.now()) {
      if (!session.refreshToken) return undefined;
      try {
        const tokens = await rp.refresh(session.refreshToken, caller);
        session.accessToken = tokens.access_token;
        session.expiresAt = Date.now() + (tokens.expires_in ?? 3600) * 1000;
        if (tokens.refresh_token) session.refreshToken = tokens.refresh_token;
        changed = true;
      } catch {
        clearSession(reply);
        return undefined;
      }
    }
    if (session.proof && session.proof.expiresAt <= Date.now()) {
      delete session.proof;
      changed = true;
    }
    const settings = await accountCenter.get();
    return {
      session,
      changed,
      caller,
      ctx: pageContext(request, config),
      settings,
      csrf: csrfToken(k.csrf, session.sid),
      tabs: visibleTabs(settings),
    };
  };

  /** Writes the session back when it changed (call before answering). */
  const commit = async (reply: FastifyReply, st: State) => {
    if (st.changed) await writeSession(reply, st.session);
    st.changed = false;
  };

  /** Calls the Account API as the user; `proof` sends the held identity proof. @throws SignInRequired when the token is refused */
  const api = async <T = unknown>(st: State, method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', url: string, options: { body?: unknown; proof?: boolean } = {}) => {
    const proof = options.proof ? st.session.proof?.id : undefined;
    const answer = await callApi<T>(app, st.session.accessToken, st.caller, method, url, { body: options.body, proof });
    const error = apiError(answer);
    if (answer.status === 401 && error && /^(auth\.|user\.suspended)/.test(error.code)) throw new SignInRequired();
    if (error?.code === 'verification_record.permission_denied' && st.session.proof) {
      delete st.session.proof;
      st.changed = true;
    }
    return answer;
  };

  const frame = (st: State, current: Tab, flash: { notice?: string | undefined; error?: string | undefined } = {}): Frame => ({
    ctx: st.ctx,
    tabs: st.tabs,
    current,
    csrf: st.csrf,
    notice: flash.notice,
    error: flash.error,
  });

  const hasProof = (st: State) => st.session.proof !== undefined && st.session.proof.expiresAt > Date.now();

  const account = async (st: State): Promise<AccountView> => {
    const answer = await api<AccountView>(st, 'GET', '/api/my-account');
    const error = apiError(answer);
    if (error) throw Object.assign(new Error(error.message), { apiError: error });
    return answer.body;
  };

  /** Extra, section-specific state of a render (what a POST just did). */
  interface Extra {
    notice?: string | undefined;
    error?: string | undefined;
    status?: number;
    fieldErrors?: Record<string, string | undefined>;
    values?: Record<string, string>;
    pending?: PendingCode;
    totpSetup?: { secret: string; qrCode: string; uri: string; error?: string | undefined };
    backupCodes?: string[];
    customDataText?: string;
    /** A code was sent to the current email or phone for an identity proof. */
    proofPending?: { recordId: string };
    proofCodeError?: string;
  }

  /** Renders one section with fresh data from the Account API. */
  const show = async (reply: FastifyReply, st: State, tab: Tab, extra: Extra = {}) => {
    const f = st.settings.fields;
    const me = await account(st);
    const fr: Frame = { ...frame(st, tab, extra), proof: { codeTo: codeTarget(me), pending: extra.proofPending, codeError: extra.proofCodeError } };
    const hasPassword = me.hasPassword !== false;
    let page: JSX.Element;
    let scripts = false;
    switch (tab) {
      case 'profile':
        page = (
          <ProfileSection
            frame={fr}
            account={me}
            modes={{ name: f.name, avatar: f.avatar, username: f.username }}
            values={extra.values ?? {}}
            fieldErrors={extra.fieldErrors ?? {}}
            needsProof={extra.fieldErrors?.['username'] !== undefined && !hasProof(st)}
          />
        );
        break;
      case 'contact':
        page = (
          <ContactSection
            frame={fr}
            account={me}
            modes={{ email: f.email, phone: f.phone }}
            hasProof={hasProof(st)}
            pending={extra.pending}
            fieldErrors={extra.fieldErrors ?? {}}
            values={extra.values ?? {}}
          />
        );
        break;
      case 'password':
        page = <PasswordSection frame={fr} mode={f.password} hasPassword={me.hasPassword === true} fieldErrors={extra.fieldErrors ?? {}} />;
        break;
      case 'mfa': {
        const listed = await api<FactorView[]>(st, 'GET', '/api/my-account/mfa-verifications');
        const factors = apiError(listed) ? [] : listed.body;
        const listError = apiError(listed)?.message;
        const mode = passkeyMode(st.settings);
        scripts = mode === 'Edit' && hasProof(st) && !extra.totpSetup && !extra.backupCodes;
        page = (
          <MfaSection
            frame={{ ...fr, error: fr.error ?? listError }}
            mode={f.mfa}
            passkeyMode={mode}
            factors={factors}
            hasProof={hasProof(st)}
            hasPassword={hasPassword}
            totpSetup={extra.totpSetup}
            backupCodes={extra.backupCodes}
          />
        );
        break;
      }
      case 'social': {
        const identities = Object.entries(me.identities ?? {}).map(([target, i]) => {
          const d = i.details ?? {};
          const label = [d['email'], d['name'], i.userId].find((v): v is string => typeof v === 'string' && v !== '') ?? '';
          return { target, label };
        });
        // Logto's conditional proof: needed when the user has any way to give one.
        const needsProof = !hasProof(st) && (me.hasPassword === true || Boolean(me.primaryEmail) || Boolean(me.primaryPhone));
        page = <SocialSection frame={fr} mode={f.social} identities={identities} needsProof={needsProof} hasPassword={hasPassword} />;
        break;
      }
      case 'sessions': {
        let sessions: SessionView[] = [];
        let grants: GrantView[] = [];
        let error = fr.error;
        if (hasProof(st)) {
          const [s, g] = [
            await api<{ sessions: SessionView[] }>(st, 'GET', '/api/my-account/sessions', { proof: true }),
            await api<{ grants: GrantView[] }>(st, 'GET', '/api/my-account/grants', { proof: true }),
          ];
          error ??= apiError(s)?.message ?? apiError(g)?.message;
          if (!apiError(s)) sessions = s.body.sessions;
          if (!apiError(g)) grants = g.body.grants;
        }
        const appNames: Record<string, string> = {};
        for (const id of new Set(grants.map((g) => g.clientId).filter((c): c is string => c !== null))) {
          const found = await applications.find(id);
          if (found) appNames[id] = found.name;
        }
        page = (
          <SessionsSection
            frame={{ ...fr, error }}
            mode={f.session}
            hasProof={hasProof(st)}
            hasPassword={hasPassword}
            sessions={sessions}
            grants={grants}
            ownClientId={ACCOUNT_CENTER_CLIENT_ID}
            appNames={appNames}
          />
        );
        break;
      }
      case 'custom-data':
        page = <CustomDataSection frame={fr} mode={f.customData} json={extra.customDataText ?? JSON.stringify(me.customData ?? {}, null, 2)} error={extra.fieldErrors?.['customData']} />;
        break;
      case 'delete':
        page = (
          <DeleteSection
            frame={fr}
            hasPassword={me.hasPassword === true || me.hasPassword === undefined}
            hasProof={hasProof(st)}
            deleteAccountUrl={st.settings.deleteAccountUrl}
            fieldError={extra.fieldErrors?.['password']}
          />
        );
        break;
    }
    await commit(reply, st);
    return html(reply, extra.status ?? 200, st.ctx, page, scripts);
  };

  const done = async (reply: FastifyReply, st: State, tab: Tab, key: keyof typeof DONE) => {
    await commit(reply, st);
    return reply.redirect(`/account/${tab}?done=${key}`, 303);
  };

  /**
   * Runs a signed-in handler: without a session (or once its tokens stop working) the browser goes to
   * sign in; a disabled account center shows a notice; a POST needs a same-origin request and the CSRF token.
   */
  const signedIn = (tab: Tab | '', handler: (request: FastifyRequest, reply: FastifyReply, st: State) => Promise<unknown>) =>
    async (request: FastifyRequest, reply: FastifyReply) => {
      const post = request.method === 'POST';
      if (post && !isSameOriginPost(request.headers, publicOrigin)) return message(reply, request, 403, pageContext(request, config).t('account.formStale'));
      const settings = await accountCenter.get();
      if (!settings.enabled) return message(reply, request, 403, pageContext(request, config).t('account.disabled'));
      const st = await load(request, reply);
      if (!st) return post ? reply.redirect('/account', 303) : startSignIn(request, reply, tab);
      if (post && !csrfMatches((await keys()).csrf, st.session.sid, (request.body as Record<string, unknown> | undefined)?.['csrf'])) {
        return message(reply, request, 403, st.ctx.t('account.formStale'));
      }
      if (tab && !st.tabs.includes(tab)) {
        await commit(reply, st);
        return reply.redirect('/account', 303);
      }
      try {
        return await handler(request, reply, st);
      } catch (error) {
        if (error instanceof SignInRequired) {
          clearSession(reply);
          return post ? reply.redirect('/account', 303) : startSignIn(request, reply, tab);
        }
        const apiFailure = (error as { apiError?: { message: string } }).apiError;
        if (apiFailure) return message(reply, request, 400, apiFailure.message, { href: '/account', text: st.ctx.t('account.signInAgain') });
        throw error;
      }
    };

  // ---- Sign-in, callback, sign-out (the passkey script is the sign-in page's, served by src/oidc/routes.ts) ----

  app.get<{ Querystring: { return?: string } }>('/account/sign-in', { schema: { hide: true } }, async (request, reply) => {
    const settings = await accountCenter.get();
    if (!settings.enabled) return message(reply, request, 403, pageContext(request, config).t('account.disabled'));
    return startSignIn(request, reply, isTab(request.query.return) ? request.query.return : '');
  });

  app.get('/account/callback', { schema: { hide: true } }, async (request, reply) => {
    const t = pageContext(request, config).t;
    const again = { href: '/account', text: t('account.signInAgain') };
    const sealed = readCookie(request, AUTH_COOKIE);
    const k = await keys();
    const pending = sealed ? unseal(k.sealing, AUTH_COOKIE, sealed) : undefined;
    setCookie(reply, AUTH_COOKIE, '', 0, secure);
    if (!isPendingSignIn(pending) || pending.expiresAt <= Date.now()) return message(reply, request, 400, t('account.signInFailed'), again);
    let tokens: oidcClient.TokenEndpointResponse;
    try {
      tokens = await rp.redeem(new URL(request.url, config.publicUrl), pending, callerOf(request));
    } catch (error) {
      request.log.info({ err: { name: (error as Error).name, code: (error as { code?: string }).code } }, 'account center sign-in failed');
      return message(reply, request, 400, t('account.signInFailed'), again);
    }
    await writeSession(reply, {
      sid: newSid(),
      accessToken: tokens.access_token,
      expiresAt: Date.now() + (tokens.expires_in ?? 3600) * 1000,
      ...(tokens.refresh_token ? { refreshToken: tokens.refresh_token } : {}),
    });
    return reply.redirect(pending.returnTo.startsWith('/account') ? pending.returnTo : '/account', 303);
  });

  app.post(
    '/account/sign-out',
    { schema: { hide: true } },
    signedIn('', async (_request, reply, st) => {
      clearSession(reply);
      if (st.session.refreshToken) await rp.revoke(st.session.refreshToken, st.caller);
      await rp.revoke(st.session.accessToken, st.caller);
      return reply.redirect((await rp.endSessionUrl()).href, 303);
    }),
  );

  app.get<{ Querystring: { done?: string } }>(
    '/account',
    { schema: { hide: true } },
    signedIn('', async (_request, reply, st) => {
      await commit(reply, st);
      return reply.redirect(`/account/${st.tabs[0] ?? 'delete'}`, 303);
    }),
  );

  for (const tab of TABS) {
    app.get<{ Querystring: { done?: string } }>(
      `/account/${tab}`,
      { schema: { hide: true } },
      signedIn(tab, async (request, reply, st) => {
        const key = (request.query as { done?: string }).done;
        const notice = key && Object.hasOwn(DONE, key) ? st.ctx.t(DONE[key as keyof typeof DONE]) : undefined;
        return show(reply, st, tab, { notice });
      }),
    );
  }

  // ---- Identity proof ----

  /** A password proof: stores the record in the session. @returns the API error, if any */
  const provePassword = async (st: State, password: string) => {
    const answer = await api<{ verificationRecordId: string; expiresAt: string }>(st, 'POST', '/api/verifications/password', { body: { password } });
    const error = apiError(answer);
    if (error) return error;
    const expiresAt = Date.parse(answer.body.expiresAt) - PROOF_MARGIN_MS;
    st.session.proof = { id: answer.body.verificationRecordId, expiresAt: Number.isNaN(expiresAt) ? Date.now() + 9 * 60_000 : expiresAt };
    st.changed = true;
    return undefined;
  };

  app.post(
    '/account/verify',
    { schema: { hide: true } },
    signedIn('', async (request, reply, st) => {
      const tab = returnTab(st, request.body);
      const password = str(request.body, 'password');
      const error = password ? await provePassword(st, password) : { message: st.ctx.t('account.error') };
      if (error) return show(reply, st, tab, { error: error.message, status: 400 });
      await commit(reply, st);
      return reply.redirect(`/account/${tab}`, 303);
    }),
  );

  /** The section a proof form returns to. */
  const returnTab = (st: State, body: unknown): Tab => {
    const back = str(body, 'return');
    return isTab(back) && st.tabs.includes(back) ? back : (st.tabs[0] ?? 'delete');
  };

  // A code to the current email or phone as the identity proof (users without a password).
  app.post(
    '/account/verify/code',
    { schema: { hide: true } },
    signedIn('', async (request, reply, st) => {
      const tab = returnTab(st, request.body);
      const to = codeTarget(await account(st));
      if (!to) return show(reply, st, tab, { error: st.ctx.t('account.error'), status: 400 });
      const answer = await api<{ verificationRecordId: string }>(st, 'POST', '/api/verifications/verification-code', { body: { identifier: to } });
      const error = failed(answer);
      if (error) return show(reply, st, tab, { error, status: answer.status === 429 ? 429 : 400 });
      return show(reply, st, tab, { proofPending: { recordId: answer.body.verificationRecordId } });
    }),
  );

  app.post(
    '/account/verify/code/check',
    { schema: { hide: true } },
    signedIn('', async (request, reply, st) => {
      const tab = returnTab(st, request.body);
      const recordId = str(request.body, 'recordId', 64);
      const code = str(request.body, 'code', 16).replace(/\s+/g, '');
      const to = codeTarget(await account(st));
      if (!to || !recordId) return show(reply, st, tab, { error: st.ctx.t('account.error'), status: 400 });
      const error = failed(await api(st, 'POST', '/api/verifications/verification-code/verify', { body: { identifier: to, verificationId: recordId, code: code || '-' } }));
      if (error) return show(reply, st, tab, { error, status: 400, proofPending: { recordId }, proofCodeError: error });
      // The record proves identity for the API's 10 minutes from its issue; a little less is kept.
      st.session.proof = { id: recordId, expiresAt: Date.now() + 9 * 60_000 };
      st.changed = true;
      await commit(reply, st);
      return reply.redirect(`/account/${tab}`, 303);
    }),
  );

  /** The answer's error message, or undefined on success. */
  const failed = (answer: ApiAnswer) => apiError(answer)?.message;

  // ---- Profile ----

  app.post(
    '/account/profile',
    { schema: { hide: true } },
    signedIn('profile', async (request, reply, st) => {
      const f = st.settings.fields;
      const me = await account(st);
      const values = { name: str(request.body, 'name', 256), avatar: str(request.body, 'avatar', 2048).trim(), username: str(request.body, 'username', 128).trim() };
      const body: Record<string, string | null> = {};
      if (f.name === 'Edit' && values.name !== (me.name ?? '')) body['name'] = values.name || null;
      if (f.avatar === 'Edit' && values.avatar !== (me.avatar ?? '')) body['avatar'] = values.avatar || null;
      if (f.username === 'Edit' && values.username !== (me.username ?? '')) body['username'] = values.username || null;
      if (Object.keys(body).length === 0) return done(reply, st, 'profile', 'saved');
      const answer = await api(st, 'PATCH', '/api/my-account', { body, proof: 'username' in body });
      const error = apiError(answer);
      if (!error) return done(reply, st, 'profile', 'saved');
      const field = error.code.includes('username') || error.code.startsWith('verification_record') ? 'username' : error.code === 'guard.invalid_input' && 'avatar' in body ? 'avatar' : undefined;
      return show(reply, st, 'profile', { error: error.message, status: 400, values, fieldErrors: field ? { [field]: error.message } : {} });
    }),
  );

  // ---- Email & phone ----

  const channelOf = (body: unknown): 'email' | 'phone' | undefined => {
    const type = str(body, 'type');
    return type === 'email' || type === 'phone' ? type : undefined;
  };

  app.post(
    '/account/contact/code',
    { schema: { hide: true } },
    signedIn('contact', async (request, reply, st) => {
      const type = channelOf(request.body);
      const value = str(request.body, 'value', 256).trim();
      if (!type || !value) return show(reply, st, 'contact', { error: st.ctx.t('account.error'), status: 400 });
      const answer = await api<{ verificationRecordId: string }>(st, 'POST', '/api/verifications/verification-code', { body: { identifier: { type, value } } });
      const error = failed(answer);
      if (error) return show(reply, st, 'contact', { error, status: answer.status === 429 ? 429 : 400, values: { [type]: value }, fieldErrors: { [type]: error } });
      return show(reply, st, 'contact', { pending: { type, value, recordId: answer.body.verificationRecordId } });
    }),
  );

  app.post(
    '/account/contact/verify',
    { schema: { hide: true } },
    signedIn('contact', async (request, reply, st) => {
      const type = channelOf(request.body);
      const value = str(request.body, 'value', 256);
      const recordId = str(request.body, 'recordId', 64);
      const code = str(request.body, 'code', 16).replace(/\s+/g, '');
      if (!type || !value || !recordId) return show(reply, st, 'contact', { error: st.ctx.t('account.error'), status: 400 });
      const pending = { type, value, recordId };
      const verified = await api(st, 'POST', '/api/verifications/verification-code/verify', { body: { identifier: { type, value }, verificationId: recordId, code: code || '-' } });
      const codeError = failed(verified);
      if (codeError) return show(reply, st, 'contact', { error: codeError, status: 400, pending, fieldErrors: { code: codeError } });
      const path = type === 'email' ? '/api/my-account/primary-email' : '/api/my-account/primary-phone';
      const bound = await api(st, 'POST', path, { body: { [type]: value, newIdentifierVerificationRecordId: recordId }, proof: true });
      const error = failed(bound);
      if (error) return show(reply, st, 'contact', { error, status: 400 });
      return done(reply, st, 'contact', 'saved');
    }),
  );

  app.post(
    '/account/contact/remove',
    { schema: { hide: true } },
    signedIn('contact', async (request, reply, st) => {
      const type = channelOf(request.body);
      if (!type) return show(reply, st, 'contact', { error: st.ctx.t('account.error'), status: 400 });
      const answer = await api(st, 'DELETE', type === 'email' ? '/api/my-account/primary-email' : '/api/my-account/primary-phone', { proof: true });
      const error = failed(answer);
      if (error) return show(reply, st, 'contact', { error, status: 400 });
      return done(reply, st, 'contact', 'removed');
    }),
  );

  // ---- Password ----

  app.post(
    '/account/password',
    { schema: { hide: true } },
    signedIn('password', async (request, reply, st) => {
      const current = str(request.body, 'current');
      const password = str(request.body, 'password');
      if (!password) return show(reply, st, 'password', { status: 400, fieldErrors: { password: st.ctx.t('account.error') } });
      if (current) {
        const error = await provePassword(st, current);
        if (error) return show(reply, st, 'password', { error: error.message, status: 400, fieldErrors: { current: error.message } });
      }
      const answer = await api(st, 'POST', '/api/my-account/password', { body: { password }, proof: true });
      const error = failed(answer);
      if (error) return show(reply, st, 'password', { error, status: 400, fieldErrors: { password: error } });
      return done(reply, st, 'password', 'password');
    }),
  );

  // ---- Two-step verification ----

  const qrDataUrl = async (uri: string) => {
    const { default: QRCode } = await import('qrcode');
    const svg = await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 1 });
    return `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`;
  };

  app.post(
    '/account/mfa/totp/start',
    { schema: { hide: true } },
    signedIn('mfa', async (_request, reply, st) => {
      const answer = await api<{ secret: string; secretQrCode: string }>(st, 'POST', '/api/my-account/mfa-verifications/totp-secret/generate');
      const error = failed(answer);
      if (error) return show(reply, st, 'mfa', { error, status: 400 });
      const { secret, secretQrCode } = answer.body;
      return show(reply, st, 'mfa', { totpSetup: { secret, uri: secretQrCode, qrCode: await qrDataUrl(secretQrCode) } });
    }),
  );

  app.post(
    '/account/mfa/totp',
    { schema: { hide: true } },
    signedIn('mfa', async (request, reply, st) => {
      const secret = str(request.body, 'secret', 64);
      const code = str(request.body, 'code', 16).replace(/\s+/g, '');
      if (!secret) return show(reply, st, 'mfa', { error: st.ctx.t('account.error'), status: 400 });
      const answer = await api(st, 'POST', '/api/my-account/mfa-verifications', { body: { type: 'Totp', secret, code: code || '-' }, proof: true });
      const error = failed(answer);
      if (!error) return done(reply, st, 'mfa', 'totp');
      if (apiError(answer)?.code === 'verification_record.permission_denied') return show(reply, st, 'mfa', { error, status: 400 });
      // The same key again, with the error under the code field (its otpauth URI came with the form; one
      // for another secret is not drawn).
      const given = URL.parse(str(request.body, 'uri', 2048));
      const uri = given && given.protocol === 'otpauth:' && given.searchParams.get('secret') === secret
        ? given.href
        : `otpauth://totp/${encodeURIComponent(config.ui.productName)}?secret=${encodeURIComponent(secret)}&issuer=${encodeURIComponent(config.ui.productName)}`;
      return show(reply, st, 'mfa', { status: 400, totpSetup: { secret, uri, qrCode: await qrDataUrl(uri), error } });
    }),
  );

  app.post(
    '/account/mfa/backup-codes',
    { schema: { hide: true } },
    signedIn('mfa', async (_request, reply, st) => {
      const listed = await api<FactorView[]>(st, 'GET', '/api/my-account/mfa-verifications');
      const old = apiError(listed) ? undefined : listed.body.find((f) => f.type === 'BackupCode');
      const generated = await api<{ codes: string[] }>(st, 'POST', '/api/my-account/mfa-verifications/backup-codes/generate');
      let error = failed(generated);
      if (!error && old) error = failed(await api(st, 'DELETE', `/api/my-account/mfa-verifications/${encodeURIComponent(old.id)}`, { proof: true }));
      if (!error) error = failed(await api(st, 'POST', '/api/my-account/mfa-verifications', { body: { type: 'BackupCode', codes: generated.body.codes }, proof: true }));
      if (error) return show(reply, st, 'mfa', { error, status: 400 });
      return show(reply, st, 'mfa', { backupCodes: generated.body.codes });
    }),
  );

  // JSON for the passkey script: the Account API's registration options, or {code, message}.
  app.post('/account/mfa/passkey/options', { schema: { hide: true } }, async (request, reply) => {
    const refuse = (status: number, code: string, text: string) => reply.status(status).header('cache-control', 'no-store').send({ code, message: text });
    const t = pageContext(request, config).t;
    if (!isSameOriginPost(request.headers, publicOrigin)) return refuse(403, 'account.form_forbidden', t('account.formStale'));
    const st = await load(request, reply);
    if (!st) return refuse(401, 'auth.unauthorized', t('account.signInAgain'));
    if (!csrfMatches((await keys()).csrf, st.session.sid, (request.body as Record<string, unknown> | undefined)?.['csrf'])) {
      return refuse(403, 'account.form_forbidden', t('account.formStale'));
    }
    try {
      const answer = await api<{ verificationRecordId: string; registrationOptions: unknown }>(st, 'POST', '/api/verifications/web-authn/registration');
      await commit(reply, st);
      const error = apiError(answer);
      if (error) return refuse(answer.status, error.code, error.message);
      return reply.header('cache-control', 'no-store').send({ verificationRecordId: answer.body.verificationRecordId, registrationOptions: answer.body.registrationOptions });
    } catch (error) {
      if (error instanceof SignInRequired) return refuse(401, 'auth.unauthorized', t('account.signInAgain'));
      throw error;
    }
  });

  app.post(
    '/account/mfa/passkey',
    { schema: { hide: true } },
    signedIn('mfa', async (request, reply, st) => {
      const recordId = str(request.body, 'verificationRecordId', 64);
      const name = str(request.body, 'name', 256).trim();
      let payload: unknown;
      try {
        payload = JSON.parse(str(request.body, 'response', FORM_LIMIT_BYTES)) as unknown;
      } catch {
        payload = undefined;
      }
      if (!recordId || typeof payload !== 'object' || payload === null) return show(reply, st, 'mfa', { error: st.ctx.t('common.passkeyUnreadable'), status: 400 });
      let error = failed(await api(st, 'POST', '/api/verifications/web-authn/registration/verify', { body: { verificationRecordId: recordId, payload } }));
      if (!error) {
        const body = { type: 'WebAuthn', newIdentifierVerificationRecordId: recordId, ...(name ? { name } : {}) };
        error = failed(await api(st, 'POST', '/api/my-account/mfa-verifications', { body, proof: true }));
      }
      if (error) return show(reply, st, 'mfa', { error, status: 400 });
      return done(reply, st, 'mfa', 'passkey');
    }),
  );

  app.post(
    '/account/mfa/remove',
    { schema: { hide: true } },
    signedIn('mfa', async (request, reply, st) => {
      const id = str(request.body, 'id', 64);
      const error = id ? failed(await api(st, 'DELETE', `/api/my-account/mfa-verifications/${encodeURIComponent(id)}`, { proof: true })) : st.ctx.t('account.error');
      if (error) return show(reply, st, 'mfa', { error, status: 400 });
      return done(reply, st, 'mfa', 'factorRemoved');
    }),
  );

  // ---- Linked accounts ----

  app.post(
    '/account/social/unlink',
    { schema: { hide: true } },
    signedIn('social', async (request, reply, st) => {
      const target = str(request.body, 'target', 128);
      const error = target ? failed(await api(st, 'DELETE', `/api/my-account/identities/${encodeURIComponent(target)}`, { proof: true })) : st.ctx.t('account.error');
      if (error) return show(reply, st, 'social', { error, status: 400 });
      return done(reply, st, 'social', 'unlinked');
    }),
  );

  // ---- Sessions & apps ----

  app.post(
    '/account/sessions/end',
    { schema: { hide: true } },
    signedIn('sessions', async (request, reply, st) => {
      const id = str(request.body, 'id', 64);
      // The browser's grants authorized in that session go too, so it is really signed out.
      const error = id ? failed(await api(st, 'DELETE', `/api/my-account/sessions/${encodeURIComponent(id)}?revokeGrantsTarget=all`, { proof: true })) : st.ctx.t('account.error');
      if (error) return show(reply, st, 'sessions', { error, status: 400 });
      return done(reply, st, 'sessions', 'ended');
    }),
  );

  app.post(
    '/account/grants/revoke',
    { schema: { hide: true } },
    signedIn('sessions', async (request, reply, st) => {
      const id = str(request.body, 'id', 128);
      const error = id ? failed(await api(st, 'DELETE', `/api/my-account/grants/${encodeURIComponent(id)}`, { proof: true })) : st.ctx.t('account.error');
      if (error) return show(reply, st, 'sessions', { error, status: 400 });
      return done(reply, st, 'sessions', 'revoked');
    }),
  );

  // ---- Custom data ----

  app.post(
    '/account/custom-data',
    { schema: { hide: true } },
    signedIn('custom-data', async (request, reply, st) => {
      const text = str(request.body, 'customData', FORM_LIMIT_BYTES);
      let parsed: unknown;
      try {
        parsed = JSON.parse(text) as unknown;
      } catch {
        parsed = undefined;
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        const invalid = st.ctx.t('account.customData.invalid');
        return show(reply, st, 'custom-data', { error: invalid, status: 400, customDataText: text, fieldErrors: { customData: invalid } });
      }
      const error = failed(await api(st, 'PATCH', '/api/my-account', { body: { customData: parsed } }));
      if (error) return show(reply, st, 'custom-data', { error, status: 400, customDataText: text, fieldErrors: { customData: error } });
      return done(reply, st, 'custom-data', 'saved');
    }),
  );

  // ---- Delete account ----

  app.post(
    '/account/delete',
    { schema: { hide: true } },
    signedIn('delete', async (request, reply, st) => {
      const password = str(request.body, 'password');
      if (password) {
        const error = await provePassword(st, password);
        if (error) return show(reply, st, 'delete', { error: error.message, status: 400, fieldErrors: { password: error.message } });
      }
      const answer = await api(st, 'DELETE', '/api/my-account', { proof: true });
      const error = failed(answer);
      if (error) return show(reply, st, 'delete', { error, status: 400 });
      clearSession(reply);
      const { t } = st.ctx;
      return html(reply, 200, st.ctx, <MessagePage ctx={st.ctx} title={t('account.tab.delete')} message={t('account.delete.done')} />);
    }),
  );
};

