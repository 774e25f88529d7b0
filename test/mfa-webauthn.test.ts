import { generateKeyPairSync } from 'node:crypto';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IssuedApplication } from '../src/domain/applications/index.js';
import { PENDING_SIGN_IN_TTL_MS } from '../src/domain/mfa/index.js';
import { ManualClock } from '../src/util/clock.js';
import { Browser } from './browser.js';
import { SoftAuthenticator } from './soft-authenticator.js';
import { type DatabaseFactory, dialects, type RunningApp, startAppWithPublicUrl } from './helpers.js';

const PW = 'violet-harbor-7-lantern';
const ADMIN_ID = 'tessera-admin';
const ADMIN_SECRET = 'bootstrap-secret-0123456789';
const REDIRECT = 'https://rp.example.com/callback';
const uniq = (p: string) => `${p}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
/** The value of the hidden field `name` (the first one) of a page. */
const field = (html: string, name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1];

describe.each(dialects)('MFA with WebAuthn passkeys (software authenticator) on %s', (_name, database) => {
  let t: RunningApp;
  let db: Awaited<ReturnType<DatabaseFactory>>;
  let mgmt: string;
  let web: IssuedApplication;
  // Only the last test moves it (past the pending sign-in's lifetime).
  const clock = new ManualClock(Date.now());

  beforeAll(async () => {
    db = await database();
    t = await startAppWithPublicUrl({ databaseUrl: db.url, adminClientId: ADMIN_ID, adminClientSecret: ADMIN_SECRET }, { clock });
    web = await t.app.services.applications.create({ name: 'Passkey page', type: 'traditional', redirectUris: [REDIRECT] });
    const res = await fetch(`${t.base}/oidc/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${ADMIN_ID}:${ADMIN_SECRET}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource: `${t.base}/api`, scope: 'all' }).toString(),
    });
    mgmt = (await res.json()).access_token;
    expect((await t.call('PATCH', '/api/account-center', { token: mgmt, body: { enabled: true, fields: { mfa: 'Edit' } } })).status).toBe(200);
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  async function api(method: string, path: string, options: { token?: string; body?: unknown; proof?: string } = {}) {
    const res = await t.call(method, path, {
      ...(options.token ? { token: options.token } : {}),
      ...(options.body !== undefined ? { body: options.body } : {}),
      headers: options.proof ? { 'logto-verification-id': options.proof } : {},
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  }

  async function signUp() {
    const username = uniq('w');
    const res = await api('POST', '/api/auth/sign-up', { body: { username, password: PW } });
    expect(res.status).toBe(201);
    const p = await api('POST', '/api/verifications/password', { token: res.body.session.token, body: { password: PW } });
    return { id: res.body.user.id as string, username, token: res.body.session.token as string, proof: p.body.verificationRecordId as string };
  }

  /** Registration ceremony through the Verification API; returns the verified record id. */
  async function registered(token: string, authenticator: SoftAuthenticator) {
    const started = await api('POST', '/api/verifications/web-authn/registration', { token });
    expect(started.status).toBe(200);
    expect(started.body.registrationOptions.attestation).toBe('none');
    const payload = authenticator.register(started.body.registrationOptions);
    const verified = await api('POST', '/api/verifications/web-authn/registration/verify', {
      token, body: { verificationRecordId: started.body.verificationRecordId, payload: { ...payload, type: 'WebAuthn' } },
    });
    expect(verified).toEqual({ status: 200, body: { verificationRecordId: started.body.verificationRecordId } });
    return started.body.verificationRecordId as string;
  }

  async function pendingSignIn(username: string) {
    const res = await api('POST', '/api/auth/sign-in', { body: { username, password: PW } });
    expect(res.body.code).toBe('auth.mfa_required');
    return res.body.data as { pendingSignInId: string; factors: string[] };
  }

  async function challenge(pendingSignInId: string) {
    const options = await api('POST', '/api/auth/sign-in/mfa/webauthn-options', { body: { pendingSignInId } });
    expect(options.status).toBe(200);
    return options.body as { challenge: string; rpId: string; allowCredentials: Array<{ id: string }> };
  }

  it('enrols a passkey (registration verified, then bound with a proof) and signs in with it; the counter must grow', async () => {
    const user = await signUp();
    const key = new SoftAuthenticator(t.base);
    const recordId = await registered(user.token, key);

    // Binding needs the identity proof, and the record can be bound once.
    expect((await api('POST', '/api/my-account/mfa-verifications', { token: user.token, body: { type: 'WebAuthn', newIdentifierVerificationRecordId: recordId } })).body.code)
      .toBe('verification_record.permission_denied');
    const bound = await api('POST', '/api/my-account/mfa-verifications', {
      token: user.token, proof: user.proof, body: { type: 'WebAuthn', newIdentifierVerificationRecordId: recordId, name: 'Test key' },
    });
    expect(bound.status).toBe(204);
    expect((await api('POST', '/api/my-account/mfa-verifications', { token: user.token, proof: user.proof, body: { type: 'WebAuthn', newIdentifierVerificationRecordId: recordId } })).body.code)
      .toBe('verification_record.not_found');
    const factors = (await api('GET', '/api/my-account/mfa-verifications', { token: user.token })).body;
    expect(factors).toEqual([expect.objectContaining({ type: 'WebAuthn', name: 'Test key', agent: expect.any(String) })]);
    expect(JSON.stringify(factors)).not.toContain(key.id);

    // Sign in: password → mfa_required (webauthn) → options → assertion → session with amr hwk.
    const pending = await pendingSignIn(user.username);
    expect(pending.factors).toEqual(['webauthn']);
    const options = await challenge(pending.pendingSignInId);
    expect(options.rpId).toBe('127.0.0.1');
    expect(options.allowCredentials.map((c) => c.id)).toEqual([key.id]);

    // A signature by another key is refused; the challenge was used by that attempt.
    const intruder = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const forged = await api('POST', '/api/auth/sign-in/mfa', {
      body: { pendingSignInId: pending.pendingSignInId, type: 'webauthn', response: key.assert(options.challenge, { key: intruder }) },
    });
    expect([forged.status, forged.body.code]).toEqual([400, 'session.mfa.webauthn_verification_failed']);
    const reusedChallenge = await api('POST', '/api/auth/sign-in/mfa', {
      body: { pendingSignInId: pending.pendingSignInId, type: 'webauthn', response: key.assert(options.challenge, { counter: 5 }) },
    });
    expect(reusedChallenge.body.code).toBe('session.mfa.webauthn_verification_failed');

    // The wrong origin is refused too.
    const fresh = await challenge(pending.pendingSignInId);
    expect((await api('POST', '/api/auth/sign-in/mfa', {
      body: { pendingSignInId: pending.pendingSignInId, type: 'webauthn', response: key.assert(fresh.challenge, { counter: 5, origin: 'https://evil.example' }) },
    })).body.code).toBe('session.mfa.webauthn_verification_failed');

    // An origin the account center names in webauthnRelatedOrigins may use the passkey (WebAuthn related
    // origins, served at /.well-known/webauthn); the setting is read at once on this node.
    const related = await t.call('PATCH', '/api/account-center', { token: mgmt, body: { webauthnRelatedOrigins: ['https://shop.example', 'https://shop.example/'] } });
    expect((await related.json()).webauthnRelatedOrigins).toEqual(['https://shop.example']);
    expect(await (await t.call('GET', '/.well-known/webauthn')).json()).toEqual({ origins: [new URL(t.base).origin, 'https://shop.example'] });
    const good = await challenge(pending.pendingSignInId);
    const done = await api('POST', '/api/auth/sign-in/mfa', {
      body: { pendingSignInId: pending.pendingSignInId, type: 'webauthn', response: key.assert(good.challenge, { counter: 5, origin: 'https://shop.example' }) },
    });
    expect(done.status).toBe(200);
    expect((await t.call('PATCH', '/api/account-center', { token: mgmt, body: { webauthnRelatedOrigins: [] } })).status).toBe(200);
    expect(done.body.user.id).toBe(user.id);
    expect((await t.app.services.sessions.list(user.id)).some((s) => s.amr.join(',') === 'pwd,hwk,mfa')).toBe(true);

    // Counter regression (a cloned authenticator) is refused; a growing counter is accepted.
    const next = await pendingSignIn(user.username);
    const c1 = await challenge(next.pendingSignInId);
    expect((await api('POST', '/api/auth/sign-in/mfa', {
      body: { pendingSignInId: next.pendingSignInId, type: 'webauthn', response: key.assert(c1.challenge, { counter: 3 }) },
    })).body.code).toBe('session.mfa.webauthn_verification_failed');
    const c2 = await challenge(next.pendingSignInId);
    expect((await api('POST', '/api/auth/sign-in/mfa', {
      body: { pendingSignInId: next.pendingSignInId, type: 'webauthn', response: key.assert(c2.challenge, { counter: 6 }) },
    })).status).toBe(200);

    // Removal needs the proof; afterwards the password alone signs in.
    const factorId = factors[0].id as string;
    expect((await api('DELETE', `/api/my-account/mfa-verifications/${factorId}`, { token: user.token })).body.code).toBe('verification_record.permission_denied');
    expect((await api('DELETE', `/api/my-account/mfa-verifications/${factorId}`, { token: user.token, proof: user.proof })).status).toBe(204);
    expect((await api('POST', '/api/auth/sign-in', { body: { username: user.username, password: PW } })).status).toBe(200);
  });

  it('PATCH …/:id/name renames the caller\'s own passkey only (proof, Edit, WebAuthn factors; 200 with an empty body)', async () => {
    const alice = await signUp();
    const bob = await signUp();
    const recordId = await registered(alice.token, new SoftAuthenticator(t.base));
    expect((await api('POST', '/api/my-account/mfa-verifications', { token: alice.token, proof: alice.proof, body: { type: 'WebAuthn', newIdentifierVerificationRecordId: recordId, name: 'Old name' } })).status).toBe(204);
    const secret = (await api('POST', '/api/my-account/mfa-verifications/totp-secret/generate', { token: alice.token })).body.secret as string;
    expect((await api('POST', '/api/my-account/mfa-verifications', { token: alice.token, proof: alice.proof, body: { type: 'Totp', secret } })).status).toBe(204);
    const factors = (await api('GET', '/api/my-account/mfa-verifications', { token: alice.token })).body as Array<{ id: string; type: string; name?: string }>;
    const passkey = factors.find((f) => f.type === 'WebAuthn')!;
    const totp = factors.find((f) => f.type === 'Totp')!;
    const rename = (id: string, token: string, options: { proof?: string; body?: unknown } = {}) =>
      t.call('PATCH', `/api/my-account/mfa-verifications/${id}/name`, {
        token, body: options.body ?? { name: 'YubiKey 5C' }, headers: options.proof ? { 'logto-verification-id': options.proof } : {},
      });

    // No proof, Bob's proof, Bob renaming Alice's key, and a TOTP factor: all refused, nothing changed.
    expect((await (await rename(passkey.id, alice.token)).json()).code).toBe('verification_record.permission_denied');
    expect((await (await rename(passkey.id, alice.token, { proof: bob.proof })).json()).code).toBe('verification_record.permission_denied');
    const foreign = await rename(passkey.id, bob.token, { proof: bob.proof });
    expect([foreign.status, (await foreign.json()).code]).toEqual([400, 'verification_record.not_found']);
    expect((await (await rename(totp.id, alice.token, { proof: alice.proof })).json()).code).toBe('verification_record.not_found');
    // Bad bodies: empty or blank name, extra keys.
    for (const body of [{}, { name: '' }, { name: '   ' }, { name: 'x', type: 'WebAuthn' }, { name: 'x'.repeat(257) }]) {
      const bad = await rename(passkey.id, alice.token, { proof: alice.proof, body });
      expect([bad.status, (await bad.json()).code]).toEqual([400, 'guard.invalid_input']);
    }
    // ReadOnly refuses the change.
    await t.call('PATCH', '/api/account-center', { token: mgmt, body: { enabled: true, fields: { mfa: 'ReadOnly' } } });
    expect((await (await rename(passkey.id, alice.token, { proof: alice.proof })).json()).code).toBe('account_center.field_not_editable');
    // The field `passkey`, when set, governs passkeys instead of `mfa` (Logto's passkey ?? mfa): ReadOnly
    // passkeys with an editable mfa refuse renaming and removing the passkey, while a TOTP factor follows `mfa` alone.
    await t.call('PATCH', '/api/account-center', { token: mgmt, body: { enabled: true, fields: { mfa: 'Edit', passkey: 'ReadOnly' } } });
    expect((await (await rename(passkey.id, alice.token, { proof: alice.proof })).json()).code).toBe('account_center.field_not_editable');
    const removePasskey = await api('DELETE', `/api/my-account/mfa-verifications/${passkey.id}`, { token: alice.token, proof: alice.proof });
    expect([removePasskey.status, removePasskey.body.code]).toEqual([400, 'account_center.field_not_editable']);
    await t.call('PATCH', '/api/account-center', { token: mgmt, body: { enabled: true, fields: { mfa: 'ReadOnly', passkey: 'Edit' } } });
    const removeTotp = await api('DELETE', `/api/my-account/mfa-verifications/${totp.id}`, { token: alice.token, proof: alice.proof });
    expect([removeTotp.status, removeTotp.body.code]).toEqual([400, 'account_center.field_not_editable']);
    await t.call('PATCH', '/api/account-center', { token: mgmt, body: { enabled: true, fields: { mfa: 'Edit' } } });
    expect((await api('GET', '/api/my-account/mfa-verifications', { token: alice.token })).body.find((f: { type: string }) => f.type === 'WebAuthn').name).toBe('Old name');

    const ok = await rename(passkey.id, alice.token, { proof: alice.proof, body: { name: '  YubiKey 5C  ' } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('');
    const after = (await api('GET', '/api/my-account/mfa-verifications', { token: alice.token })).body as Array<{ id: string; type: string; name?: string }>;
    expect(after.find((f) => f.type === 'WebAuthn')).toMatchObject({ id: passkey.id, name: 'YubiKey 5C' });
    expect(after.find((f) => f.type === 'Totp')?.name).toBeUndefined();
  });

  it('registration records are the caller\'s own, single use, and a bad attestation is refused', async () => {
    const alice = await signUp();
    const bob = await signUp();
    const key = new SoftAuthenticator(t.base);

    // Bob cannot verify or bind Alice's registration record.
    const started = await api('POST', '/api/verifications/web-authn/registration', { token: alice.token });
    const payload = key.register(started.body.registrationOptions);
    expect((await api('POST', '/api/verifications/web-authn/registration/verify', { token: bob.token, body: { verificationRecordId: started.body.verificationRecordId, payload } })).body.code)
      .toBe('verification_record.not_found');
    // A response to another challenge is refused.
    const other = await api('POST', '/api/verifications/web-authn/registration', { token: alice.token });
    const wrongChallenge = await api('POST', '/api/verifications/web-authn/registration/verify', { token: alice.token, body: { verificationRecordId: other.body.verificationRecordId, payload } });
    expect([wrongChallenge.status, wrongChallenge.body.code]).toEqual([400, 'session.mfa.webauthn_verification_failed']);
    // An unverified record cannot be bound.
    expect((await api('POST', '/api/my-account/mfa-verifications', { token: alice.token, proof: alice.proof, body: { type: 'WebAuthn', newIdentifierVerificationRecordId: other.body.verificationRecordId } })).body.code)
      .toBe('verification_record.not_found');
    // Alice's own, verified record: Bob still cannot bind it.
    expect((await api('POST', '/api/verifications/web-authn/registration/verify', { token: alice.token, body: { verificationRecordId: started.body.verificationRecordId, payload } })).status).toBe(200);
    expect((await api('POST', '/api/my-account/mfa-verifications', { token: bob.token, proof: bob.proof, body: { type: 'WebAuthn', newIdentifierVerificationRecordId: started.body.verificationRecordId } })).body.code)
      .toBe('verification_record.not_found');
    // Verified once only.
    expect((await api('POST', '/api/verifications/web-authn/registration/verify', { token: alice.token, body: { verificationRecordId: started.body.verificationRecordId, payload } })).body.code)
      .toBe('verification_record.not_found');
    expect((await api('POST', '/api/my-account/mfa-verifications', { token: alice.token, proof: alice.proof, body: { type: 'WebAuthn', newIdentifierVerificationRecordId: started.body.verificationRecordId } })).status).toBe(204);
    // Malformed payloads are a 400, not a 500.
    const junk = await api('POST', '/api/verifications/web-authn/registration/verify', { token: alice.token, body: { verificationRecordId: other.body.verificationRecordId, payload: { ...payload, response: { ...payload.response, attestationObject: 'AAAA' } } } });
    expect(junk.status).toBe(400);
    // A user without passkeys gets no WebAuthn options.
    const bobSecret = (await api('POST', '/api/my-account/mfa-verifications/totp-secret/generate', { token: bob.token })).body.secret as string;
    expect((await api('POST', '/api/my-account/mfa-verifications', { token: bob.token, proof: bob.proof, body: { type: 'Totp', secret: bobSecret } })).status).toBe(204);
    const bobPending = await pendingSignIn(bob.username);
    expect((await api('POST', '/api/auth/sign-in/mfa/webauthn-options', { body: { pendingSignInId: bobPending.pendingSignInId } })).body.code).toBe('session.mfa.webauthn_verification_failed');
  });

  /** A user with a bound passkey (and a TOTP factor too when `totp`). */
  async function withPasskey(totp = false) {
    const user = await signUp();
    const key = new SoftAuthenticator(t.base);
    const recordId = await registered(user.token, key);
    expect((await api('POST', '/api/my-account/mfa-verifications', { token: user.token, proof: user.proof, body: { type: 'WebAuthn', newIdentifierVerificationRecordId: recordId } })).status).toBe(204);
    if (totp) {
      const secret = (await api('POST', '/api/my-account/mfa-verifications/totp-secret/generate', { token: user.token })).body.secret as string;
      expect((await api('POST', '/api/my-account/mfa-verifications', { token: user.token, proof: user.proof, body: { type: 'Totp', secret } })).status).toBe(204);
    }
    return { ...user, key };
  }

  /** The OIDC sign-in page up to its MFA step: authorization request, password, then the step page. */
  async function oidcMfaStep(username: string) {
    const config = await client.discovery(new URL(`${t.base}/oidc`), web.application.id, web.secret!, client.ClientSecretBasic(web.secret!), {
      execute: [client.allowInsecureRequests],
    });
    const verifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT, scope: 'openid profile', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state: 'pk-state',
    });
    const browser = new Browser();
    const { res, url: pageUrl } = await browser.follow(url.href, t.base);
    const html = await res.text();
    const csrf = field(html, 'csrf')!;
    const post = (path: string, fields: Record<string, string>, origin = t.base) =>
      browser.request(new URL(path, pageUrl).href, {
        method: 'POST',
        // What the page's script sends (fetch with a URLSearchParams body) and what a form submit sends.
        headers: { 'content-type': 'application/x-www-form-urlencoded;charset=UTF-8', origin },
        body: new URLSearchParams(fields).toString(),
      });
    const step = await post(/action="([^"]+\/login)"/.exec(html)![1]!, { csrf, identifier: username, password: PW });
    expect(step.status).toBe(200);
    const stepHtml = await step.text();
    expect(stepHtml).toContain('Two-step verification');
    return { config, verifier, browser, pageUrl, csrf, post, step, stepHtml, pendingSignInId: field(stepHtml, 'pendingSignInId')! };
  }

  it('OIDC sign-in page: "Use a passkey" on the MFA step (script, CSRF, binding), then tokens with amr hwk', async () => {
    const user = await withPasskey();
    const page = await oidcMfaStep(user.username);
    const { stepHtml, csrf, pendingSignInId, post } = page;
    expect(pendingSignInId).toMatch(/^mfa_/);

    // The step offers the passkey (no code field: this user has no TOTP or backup codes) and loads
    // only its same-origin script; the CSP allows exactly that script and same-origin fetches.
    expect(stepHtml).toContain('Use a passkey');
    expect(stepHtml).not.toContain('name="code"');
    expect(stepHtml).not.toMatch(/<script>|on(click|load)=/);
    const scriptPath = /<script src="([^"]+\/passkey\.[0-9a-f]{16}\.js)"><\/script>/.exec(stepHtml)![1]!;
    const csp = page.step.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self';");
    expect(csp).toContain("connect-src 'self';");
    expect(csp).not.toMatch(/unsafe-eval|script-src[^;]*unsafe-inline/);
    const script = await page.browser.request(new URL(scriptPath, page.pageUrl).href);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/^application\/javascript/);
    // Static, with its content's hash in its path: cacheable for a year.
    expect(script.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const source = await script.text();
    expect(source).toMatch(/\.startAuthentication\(\{ optionsJSON/);
    expect(source).not.toMatch(/\beval\(|new Function/);
    // The WebAuthn ceremony itself is @simplewebauthn/browser's, loaded before the glue from our origin.
    const libraryPath = /<script src="([^"]+\/simplewebauthn-browser\.[0-9a-f]{16}\.js)"><\/script>\s*<script src="[^"]+\/passkey\.[0-9a-f]{16}\.js">/.exec(stepHtml)![1]!;
    const library = await page.browser.request(new URL(libraryPath, page.pageUrl).href);
    expect(library.status).toBe(200);
    expect(library.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const librarySource = await library.text();
    expect(librarySource).toContain('navigator.credentials.get');
    expect(librarySource).not.toMatch(/\beval\(|new Function/);

    const optionsPath = /data-options="([^"]+)"/.exec(stepHtml)![1]!;
    expect(optionsPath).toMatch(/\/mfa\/webauthn-options$/);
    const binding = field(stepHtml, 'binding')!;
    const options = async (fields: Record<string, string>, origin?: string) => {
      const res = await post(optionsPath, fields, origin);
      return { status: res.status, body: await res.json() };
    };

    // The options route: CSRF token and origin checked, JSON errors.
    expect(await options({ pendingSignInId, binding })).toEqual({ status: 403, body: expect.objectContaining({ code: 'oidc.form_forbidden' }) });
    expect((await options({ csrf: 'forged', pendingSignInId, binding })).body.code).toBe('oidc.form_forbidden');
    expect((await options({ csrf, pendingSignInId, binding }, 'https://evil.example')).body.code).toBe('oidc.form_forbidden');
    // A pending sign-in of another user (opened through the native API) is refused, with or without this page's binding.
    const other = await withPasskey();
    const foreign = await pendingSignIn(other.username);
    expect(await options({ csrf, pendingSignInId: foreign.pendingSignInId, binding })).toEqual({ status: 400, body: expect.objectContaining({ code: 'auth.mfa_sign_in_expired' }) });
    expect((await options({ csrf, pendingSignInId: foreign.pendingSignInId })).body.code).toBe('auth.mfa_sign_in_expired');

    const first = await options({ csrf, pendingSignInId, binding });
    expect(first.status).toBe(200);
    expect(first.body.allowCredentials.map((c: { id: string }) => c.id)).toEqual([user.key.id]);
    expect(first.body.rpId).toBe('127.0.0.1');

    // POST …/mfa with type=webauthn: a forged CSRF token is refused.
    const mfaPath = /action="([^"]+\/mfa)" id="passkey-form"/.exec(stepHtml)![1]!;
    const submit = (response: unknown, extra: Record<string, string> = {}) =>
      post(mfaPath, { csrf, pendingSignInId, binding, type: 'webauthn', response: JSON.stringify(response), ...extra });
    const noCsrf = await submit(user.key.assert(first.body.challenge), { csrf: 'forged' });
    expect(noCsrf.status).toBe(403);
    expect(noCsrf.headers.get('location')).toBeNull();
    // A signature by another key: the step again, with the error, and no code (the challenge is used up).
    const intruder = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const wrong = await submit(user.key.assert(first.body.challenge, { key: intruder }));
    expect(wrong.status).toBe(400);
    expect(wrong.headers.get('location')).toBeNull();
    const wrongHtml = await wrong.text();
    expect(wrongHtml).toContain('The passkey could not be verified.');
    expect(wrongHtml).toContain('Use a passkey');
    // Garbage in `response` is a 400 page too, not a 500.
    expect((await submit('not an assertion')).status).toBe(400);

    // The right signature over a fresh challenge: back to the provider, then to the client with a code.
    const second = await options({ csrf, pendingSignInId, binding });
    expect(second.status).toBe(200);
    const ok = await submit(user.key.assert(second.body.challenge));
    expect(ok.status).toBe(303);
    const { url: callback } = await page.browser.follow(new URL(ok.headers.get('location')!, page.pageUrl).href, t.base);
    expect(callback.startsWith(REDIRECT)).toBe(true);
    expect(new URL(callback).searchParams.get('code')).toBeTruthy();
    const tokens = await client.authorizationCodeGrant(page.config, new URL(callback), { pkceCodeVerifier: page.verifier, expectedState: 'pk-state' });
    const claims = tokens.claims()!;
    expect(claims.sub).toBe(user.id);
    expect(claims.amr).toEqual(['pwd', 'hwk', 'mfa']);
    // The pending sign-in is used: no more options for it.
    expect((await options({ csrf, pendingSignInId, binding })).status).toBe(400);
  });

  it('OIDC sign-in page: a user with a passkey and TOTP sees both; TOTP only sees no script; an expired pending sign-in gets no options', async () => {
    const both = await withPasskey(true);
    const bothPage = await oidcMfaStep(both.username);
    expect(bothPage.stepHtml).toContain('name="code"');
    expect(bothPage.stepHtml).toContain('Use a passkey');
    expect(bothPage.stepHtml).toMatch(/<script src="[^"]+\/passkey\.[0-9a-f]{16}\.js">/);

    const totpOnly = await signUp();
    const secret = (await api('POST', '/api/my-account/mfa-verifications/totp-secret/generate', { token: totpOnly.token })).body.secret as string;
    expect((await api('POST', '/api/my-account/mfa-verifications', { token: totpOnly.token, proof: totpOnly.proof, body: { type: 'Totp', secret } })).status).toBe(204);
    const totpPage = await oidcMfaStep(totpOnly.username);
    expect(totpPage.stepHtml).toContain('name="code"');
    expect(totpPage.stepHtml).not.toContain('Use a passkey');
    expect(totpPage.stepHtml).not.toContain('<script');
    expect(totpPage.step.headers.get('content-security-policy')).not.toContain('script-src');

    // Past the pending sign-in's lifetime the options route refuses it (the page says to sign in again).
    const optionsPath = /data-options="([^"]+)"/.exec(bothPage.stepHtml)![1]!;
    const fields = { csrf: bothPage.csrf, pendingSignInId: bothPage.pendingSignInId, binding: field(bothPage.stepHtml, 'binding')! };
    clock.advance(PENDING_SIGN_IN_TTL_MS + 1000);
    const expired = await bothPage.post(optionsPath, fields);
    expect(expired.status).toBe(400);
    expect((await expired.json()).code).toBe('auth.mfa_sign_in_expired');
    const late = await bothPage.post(/action="([^"]+\/mfa)" id="passkey-form"/.exec(bothPage.stepHtml)![1]!, { ...fields, type: 'webauthn', response: JSON.stringify(both.key.assert('AAAA')) });
    expect(late.status).toBe(400);
    const lateHtml = await late.text();
    expect(lateHtml).toContain('name="password"');
    expect(lateHtml).toContain('This sign-in attempt has expired or was already used; sign in again.');
  });
});
