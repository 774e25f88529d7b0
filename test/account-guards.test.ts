import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IssuedApplication } from '../src/domain/applications/index.js';
import type { KyselyStore } from '../src/storage/kysely-store.js';
import { type DatabaseFactory, dialects, type RunningApp, startAppWithPublicUrl, ALL_EDIT } from './helpers.js';
import { extractCode, type SmsWebhookPeer, type SmtpSink, startSmsWebhook, startSmtpSink } from './peers.js';
import { Browser } from './browser.js';

/**
 * Per-route scope checks and the first-party guard of the Account / Verification API (spec logto.md
 * §1.3–§1.6), third-party applications (Management API `isThirdParty`, the consent page at /oidc), and
 * Logto's extra OIDC scopes (`custom_data`, `identities`, `urn:logto:scope:sessions`).
 */

const PW = 'violet-harbor-7-lantern';
const NEW_PW = 'copper-meadow-42-quiver';
const REDIRECT = 'https://rp.example.com/callback';
const THIRD_REDIRECT = 'https://third.example.net/cb';
const ADMIN_ID = 'tessera-admin';
const ADMIN_SECRET = 'bootstrap-secret-0123456789';
const SESSIONS = 'urn:logto:scope:sessions';
const ALL = `openid profile email phone address custom_data identities ${SESSIONS}`;
const THIRD_NAME = 'Third <b>&"Party"\'s app';

const field = (html: string, name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1];
const uniq = (p: string) => `${p}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const randomPhone = () => '14155550' + String(Math.floor(Math.random() * 900) + 100);


/** The list items of a consent page's card (what the application asks for), not of its footer. */
function consentItems(html: string): string[] {
  const main = html.slice(html.indexOf('<main'), html.indexOf('</main>'));
  return [...main.matchAll(/<li>([^<]*)<\/li>/g)].map((m) => m[1]!);
}

describe.each(dialects)('Account API scopes, first-party guard and third-party apps on %s', (_name, database) => {
  let t: RunningApp;
  let db: Awaited<ReturnType<DatabaseFactory>>;
  let smtp: SmtpSink;
  let sms: SmsWebhookPeer;
  let first: IssuedApplication;
  let third: IssuedApplication;
  let mgmt: string;

  const allEdit = ALL_EDIT;

  beforeAll(async () => {
    smtp = await startSmtpSink();
    sms = await startSmsWebhook();
    db = await database();
    t = await startAppWithPublicUrl({
      databaseUrl: db.url,
      adminClientId: ADMIN_ID,
      adminClientSecret: ADMIN_SECRET,
      email: { smtpUrl: smtp.url, from: 'Tessera Test <auth@tessera.test>' },
      sms: { webhookUrl: sms.url, webhookSecret: 'a-very-long-webhook-secret', timeoutSeconds: 2 },
      codes: { resendIntervalSeconds: 0, perIdentifierPerHour: 1000, perIpPerHour: 100_000 },
    });
    first = await t.app.services.applications.create({ name: 'First-party web', type: 'traditional', redirectUris: [REDIRECT] });
    third = await t.app.services.applications.create({ name: THIRD_NAME, type: 'traditional', redirectUris: [THIRD_REDIRECT], isThirdParty: true });
    const res = await fetch(`${t.base}/oidc/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${ADMIN_ID}:${ADMIN_SECRET}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource: `${t.base}/api`, scope: 'all' }).toString(),
    });
    mgmt = (await res.json()).access_token;
    expect((await t.call('PATCH', '/api/account-center', { token: mgmt, body: { enabled: true, fields: allEdit } })).status).toBe(200);
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
    await sms?.close();
    await db?.drop();
  });

  /** Calls the API; returns status and parsed body (null when empty). */
  async function api(method: string, path: string, token: string, body?: unknown, proof?: string) {
    const res = await t.call(method, path, { token, body, headers: proof ? { 'logto-verification-id': proof } : {} });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  }

  async function signUp(extra: Record<string, unknown> = {}) {
    const username = uniq('u');
    const res = await t.call('POST', '/api/auth/sign-up', { body: { username, password: PW, ...extra } });
    expect(res.status).toBe(201);
    const body = await res.json();
    return { id: body.user.id as string, username, session: body.session.token as string };
  }

  /**
   * An opaque OIDC access token of `clientId` for the user with exactly `scope`, saved in the provider's
   * store like one from the token endpoint (optionally bound to a grant).
   */
  async function mint(userId: string, scope: string, clientId = first.application.id, grantId?: string) {
    const provider = await t.app.oidc.current();
    const found = await provider.Client.find(clientId);
    expect(found).toBeTruthy();
    return new provider.AccessToken({ accountId: userId, client: found!, scope, ...(grantId ? { grantId } : {}) }).save();
  }

  /** A grant of the user for a client (what the consent step saves). */
  async function mintGrant(userId: string, clientId = first.application.id, scope = 'openid profile') {
    const provider = await t.app.oidc.current();
    const grant = new provider.Grant({ accountId: userId, clientId });
    grant.addOIDCScope(scope);
    return grant.save();
  }

  async function provePassword(token: string, password = PW) {
    const res = await api('POST', '/api/verifications/password', token, { password });
    expect(res.status).toBe(201);
    return res.body.verificationRecordId as string;
  }

  /** A verified new-identifier record for an email, made with `token` (code read from the SMTP sink). */
  async function newEmailRecord(token: string, email: string) {
    const before = smtp.messages.length;
    const sent = await api('POST', '/api/verifications/verification-code', token, { identifier: { type: 'email', value: email } });
    expect(sent.status).toBe(201);
    const mail = await smtp.waitFor((m, i) => i >= before && m.to.toLowerCase() === email.toLowerCase(), 5000);
    const id = sent.body.verificationRecordId as string;
    const verified = await api('POST', '/api/verifications/verification-code/verify', token, {
      identifier: { type: 'email', value: email }, verificationId: id, code: extractCode(mail.text),
    });
    expect(verified.status).toBe(200);
    return id;
  }

  async function newPhoneRecord(token: string, phone: string) {
    const before = sms.requests.length;
    const sent = await api('POST', '/api/verifications/verification-code', token, { identifier: { type: 'phone', value: phone } });
    expect(sent.status).toBe(201);
    const req = await sms.waitFor((r, i) => i >= before && r.json.to === `+${phone}`, 5000);
    const id = sent.body.verificationRecordId as string;
    const verified = await api('POST', '/api/verifications/verification-code/verify', token, {
      identifier: { type: 'phone', value: phone }, verificationId: id, code: req.json.code as string,
    });
    expect(verified.status).toBe(200);
    return id;
  }

  /** Everything a refused request must leave untouched. */
  async function snapshot(userId: string) {
    const s = t.app.services;
    const kdb = (s.store as KyselyStore).db;
    const rows = await kdb.selectFrom('verifications').select(['id', 'verified_at', 'consumed_at', 'attempts']).orderBy('id').execute();
    const user = await s.users.findById(userId);
    const challenges = await kdb.selectFrom('mfa_challenges').select(kdb.fn.countAll().as('n')).executeTakeFirstOrThrow();
    return {
      challenges: Number(challenges.n),
      user,
      audit: await s.store.accountAudit.listByUser(userId, 100),
      identities: await s.store.identities.listByUser(userId),
      sessions: (await s.sessions.list(userId)).map((x) => x.id).sort(),
      grants: user ? (await s.account.listGrants(user)).map((g) => g.id).sort() : [],
      factors: await s.store.mfa.listFactors(userId),
      verifications: rows.map((r) => ({ ...r, verified_at: r.verified_at === null ? null : Number(r.verified_at), consumed_at: r.consumed_at === null ? null : Number(r.consumed_at), attempts: Number(r.attempts) })),
      mails: smtp.messages.length,
      texts: sms.requests.length,
    };
  }

  const refusedWith = (status: number, code: string) => ({ status, body: expect.objectContaining({ code }) });

  describe('scope checks (logto.md §1.5, §1.6)', () => {
    it('GET /api/my-account: isSuspended/createdAt/updatedAt/lastSignInAt only with profile, customData only with custom_data', async () => {
      const user = await signUp({ name: 'Scoped' });
      expect((await api('PATCH', '/api/my-account/custom-data', user.session, { plan: 'pro' })).status).toBe(200);
      const timestamps = ['isSuspended', 'createdAt', 'updatedAt', 'lastSignInAt'];

      const bare = await api('GET', '/api/my-account', await mint(user.id, 'openid'));
      expect(bare.status).toBe(200);
      expect(bare.body).toEqual({ id: user.id, hasSecurityVerificationMethod: true });

      const profile = await api('GET', '/api/my-account', await mint(user.id, 'openid profile'));
      expect(profile.body).toMatchObject({ id: user.id, name: 'Scoped', isSuspended: false, createdAt: expect.any(Number), updatedAt: expect.any(Number) });
      expect(profile.body).toHaveProperty('lastSignInAt');
      expect(profile.body.lastSignInAt).toEqual(expect.any(Number));
      expect(profile.body).not.toHaveProperty('customData');

      const custom = await api('GET', '/api/my-account', await mint(user.id, 'openid custom_data'));
      expect(custom.body).toEqual({ id: user.id, hasSecurityVerificationMethod: true, customData: { plan: 'pro' } });
      for (const key of timestamps) expect(custom.body).not.toHaveProperty(key);

      // A first-party session token holds every scope.
      const session = await api('GET', '/api/my-account', user.session);
      expect(session.body).toMatchObject({ customData: { plan: 'pro' }, isSuspended: false, name: 'Scoped' });
      for (const key of timestamps) expect(session.body).toHaveProperty(key);
    });

    it('PATCH /api/my-account needs profile, and custom_data when customData is given (400 auth.unauthorized), writing nothing', async () => {
      const user = await signUp({ name: 'Before' });
      expect((await api('PATCH', '/api/my-account/custom-data', user.session, { keep: true })).status).toBe(200);
      const before = await snapshot(user.id);

      const openid = await mint(user.id, 'openid');
      const customOnly = await mint(user.id, 'openid custom_data');
      const profileOnly = await mint(user.id, 'openid profile');
      expect(await api('PATCH', '/api/my-account', openid, { name: 'After' })).toEqual(refusedWith(400, 'auth.unauthorized'));
      expect(await api('PATCH', '/api/my-account', customOnly, { name: 'After' })).toEqual(refusedWith(400, 'auth.unauthorized'));
      expect(await api('PATCH', '/api/my-account', customOnly, { customData: { replaced: 1 } })).toEqual(refusedWith(400, 'auth.unauthorized'));
      expect(await api('PATCH', '/api/my-account', profileOnly, { customData: { replaced: 1 } })).toEqual(refusedWith(400, 'auth.unauthorized'));
      // All or nothing: the name is not written when customData is refused.
      expect(await api('PATCH', '/api/my-account', profileOnly, { name: 'After', customData: { replaced: 1 } })).toEqual(refusedWith(400, 'auth.unauthorized'));
      expect(await snapshot(user.id)).toEqual(before);

      const named = await api('PATCH', '/api/my-account', profileOnly, { name: 'After' });
      expect(named.status).toBe(200);
      expect(named.body).toMatchObject({ name: 'After' });
      expect(named.body).not.toHaveProperty('customData');
      const both = await api('PATCH', '/api/my-account', await mint(user.id, 'openid profile custom_data'), { name: 'Both', customData: { replaced: 1 } });
      expect(both).toMatchObject({ status: 200, body: { name: 'Both', customData: { replaced: 1 } } });
      expect((await t.app.services.users.findById(user.id))!.customData).toEqual({ replaced: 1 });
    });

    it('PATCH /api/my-account/profile needs profile, and address when address is given (400)', async () => {
      const user = await signUp();
      const before = await snapshot(user.id);
      expect(await api('PATCH', '/api/my-account/profile', await mint(user.id, 'openid email'), { nickname: 'N' })).toEqual(refusedWith(400, 'auth.unauthorized'));
      const profileOnly = await mint(user.id, 'openid profile');
      expect(await api('PATCH', '/api/my-account/profile', profileOnly, { nickname: 'N', address: { country: 'NZ' } })).toEqual(refusedWith(400, 'auth.unauthorized'));
      expect(await snapshot(user.id)).toEqual(before);

      expect(await api('PATCH', '/api/my-account/profile', profileOnly, { nickname: 'N' })).toEqual({ status: 200, body: { nickname: 'N' } });
      const withAddress = await api('PATCH', '/api/my-account/profile', await mint(user.id, 'openid profile address'), { address: { country: 'NZ' } });
      expect(withAddress).toEqual({ status: 200, body: { nickname: 'N', address: { country: 'NZ' } } });
    });

    it('primary email and phone: POST/DELETE need email / phone (400), and a refused request consumes nothing', async () => {
      const email = `${uniq('pe')}@example.com`;
      const user = await signUp({ email });
      const proof = await provePassword(user.session);
      const newEmail = `${uniq('ne')}@example.com`;
      const emailRecord = await newEmailRecord(user.session, newEmail);
      const phone = randomPhone();
      const phoneRecord = await newPhoneRecord(user.session, phone);
      const before = await snapshot(user.id);

      const noEmail = await mint(user.id, 'openid profile phone');
      const noPhone = await mint(user.id, 'openid profile email');
      expect(await api('POST', '/api/my-account/primary-email', noEmail, { email: newEmail, newIdentifierVerificationRecordId: emailRecord }, proof)).toEqual(refusedWith(400, 'auth.unauthorized'));
      expect(await api('PATCH', '/api/my-account/primary-email', noEmail, { email: newEmail, newIdentifierVerificationRecordId: emailRecord }, proof)).toEqual(refusedWith(400, 'auth.unauthorized'));
      expect(await api('DELETE', '/api/my-account/primary-email', noEmail, undefined, proof)).toEqual(refusedWith(400, 'auth.unauthorized'));
      expect(await api('POST', '/api/my-account/primary-phone', noPhone, { phone, newIdentifierVerificationRecordId: phoneRecord }, proof)).toEqual(refusedWith(400, 'auth.unauthorized'));
      expect(await api('DELETE', '/api/my-account/primary-phone', noPhone, undefined, proof)).toEqual(refusedWith(400, 'auth.unauthorized'));
      expect(await snapshot(user.id)).toEqual(before);

      // The same records still work with the right scope.
      expect((await api('POST', '/api/my-account/primary-email', noPhone, { email: newEmail, newIdentifierVerificationRecordId: emailRecord }, proof)).status).toBe(204);
      expect((await api('POST', '/api/my-account/primary-phone', noEmail, { phone, newIdentifierVerificationRecordId: phoneRecord }, proof)).status).toBe(204);
      expect(await t.app.services.users.findById(user.id)).toMatchObject({ primaryEmail: newEmail, primaryPhone: `+${phone}` });
      expect((await api('DELETE', '/api/my-account/primary-phone', noEmail, undefined, proof)).status).toBe(204);
      expect((await api('DELETE', '/api/my-account/primary-email', noPhone, undefined, proof)).status).toBe(204);
      expect(await t.app.services.users.findById(user.id)).toMatchObject({ primaryEmail: null, primaryPhone: null });
    });

    it('custom data: GET needs custom_data (401), PATCH needs it (400)', async () => {
      const user = await signUp();
      expect((await api('PATCH', '/api/my-account/custom-data', user.session, { a: 1 })).status).toBe(200);
      const before = await snapshot(user.id);
      const profileOnly = await mint(user.id, 'openid profile');
      expect(await api('GET', '/api/my-account/custom-data', profileOnly)).toEqual(refusedWith(401, 'auth.unauthorized'));
      expect(await api('PATCH', '/api/my-account/custom-data', profileOnly, { b: 2 })).toEqual(refusedWith(400, 'auth.unauthorized'));
      expect(await snapshot(user.id)).toEqual(before);

      const custom = await mint(user.id, 'openid custom_data');
      expect(await api('GET', '/api/my-account/custom-data', custom)).toEqual({ status: 200, body: { a: 1 } });
      expect(await api('PATCH', '/api/my-account/custom-data', custom, { b: 2 })).toEqual({ status: 200, body: { a: 1, b: 2 } });
    });

    it(`sessions and grants need ${SESSIONS} (401), and nothing is revoked without it`, async () => {
      const user = await signUp();
      const other = await t.call('POST', '/api/auth/sign-in', { body: { username: user.username, password: PW } });
      const otherSession = (await other.json()).session.token as string;
      const grantId = await mintGrant(user.id);
      const grantToken = await mint(user.id, 'openid', first.application.id, grantId);
      const proof = await provePassword(user.session);
      const before = await snapshot(user.id);
      expect(before.sessions).toHaveLength(2);
      expect(before.grants).toContain(grantId);
      const otherId = (await t.app.services.sessions.authenticate(otherSession)).session.id;

      const without = await mint(user.id, 'openid profile email phone custom_data identities');
      expect(await api('GET', '/api/my-account/sessions', without, undefined, proof)).toEqual(refusedWith(401, 'auth.unauthorized'));
      expect(await api('DELETE', `/api/my-account/sessions/${otherId}`, without, undefined, proof)).toEqual(refusedWith(401, 'auth.unauthorized'));
      expect(await api('GET', '/api/my-account/grants', without, undefined, proof)).toEqual(refusedWith(401, 'auth.unauthorized'));
      expect(await api('DELETE', `/api/my-account/grants/${grantId}`, without, undefined, proof)).toEqual(refusedWith(401, 'auth.unauthorized'));
      expect(await snapshot(user.id)).toEqual(before);
      expect((await api('GET', '/api/my-account', grantToken)).status).toBe(200);

      const withScope = await mint(user.id, `openid ${SESSIONS}`);
      const listed = await api('GET', '/api/my-account/sessions', withScope, undefined, proof);
      expect(listed.status).toBe(200);
      expect(listed.body.sessions.map((s: { id: string }) => s.id).sort()).toEqual(before.sessions);
      const grants = await api('GET', '/api/my-account/grants', withScope, undefined, proof);
      expect(grants.body.grants.map((g: { id: string }) => g.id)).toContain(grantId);
      expect((await api('DELETE', `/api/my-account/grants/${grantId}`, withScope, undefined, proof)).status).toBe(204);
      expect((await api('GET', '/api/my-account', grantToken)).status).toBe(401);
      expect((await api('DELETE', `/api/my-account/sessions/${otherId}`, withScope, undefined, proof)).status).toBe(204);
      expect((await api('GET', '/api/my-account', otherSession)).status).toBe(401);
    });

    it('identities: POST needs identities (401), DELETE needs it (400)', async () => {
      const user = await signUp();
      const now = Date.now();
      await t.app.services.store.identities.upsert({ userId: user.id, provider: 'github', subject: uniq('gh'), data: { accessToken: 'provider-secret' }, createdAt: now, updatedAt: now });
      const proof = await provePassword(user.session);
      const before = await snapshot(user.id);
      expect(before.identities).toHaveLength(1);

      const without = await mint(user.id, `openid profile email phone custom_data ${SESSIONS}`);
      expect(await api('POST', '/api/my-account/identities', without, { newIdentifierVerificationRecordId: 'vrf_whatever' }, proof)).toEqual(refusedWith(401, 'auth.unauthorized'));
      expect(await api('DELETE', '/api/my-account/identities/github', without, undefined, proof)).toEqual(refusedWith(400, 'auth.unauthorized'));
      expect(await snapshot(user.id)).toEqual(before);

      const withScope = await mint(user.id, 'openid identities');
      // Past the scope check, the next one speaks: the record is no social verification.
      expect(await api('POST', '/api/my-account/identities', withScope, { newIdentifierVerificationRecordId: 'vrf_whatever' }, proof)).toEqual(refusedWith(400, 'verification_record.not_found'));
      expect((await api('DELETE', '/api/my-account/identities/github', withScope, undefined, proof)).status).toBe(204);
      expect(await t.app.services.store.identities.listByUser(user.id)).toEqual([]);
    });

    it('runs the checks in Logto\'s order: field gating, identity proof, scope, first-party guard', async () => {
      const user = await signUp({ email: `${uniq('or')}@example.com` });
      const proof = await provePassword(user.session);
      const bare = await mint(user.id, 'openid');
      const thirdBare = await mint(user.id, 'openid', third.application.id);
      const thirdProfile = await mint(user.id, 'openid profile', third.application.id);
      // Identity proof before scope (primary email, sessions, grants).
      expect(await api('DELETE', '/api/my-account/primary-email', bare)).toEqual(refusedWith(401, 'verification_record.permission_denied'));
      expect(await api('GET', '/api/my-account/sessions', bare)).toEqual(refusedWith(401, 'verification_record.permission_denied'));
      // Scope before the first-party guard (PATCH /my-account, profile, custom data); the guard first on password.
      expect(await api('PATCH', '/api/my-account', thirdBare, { name: 'x' })).toEqual(refusedWith(400, 'auth.unauthorized'));
      expect(await api('PATCH', '/api/my-account/profile', thirdProfile, { address: { country: 'NZ' } })).toEqual(refusedWith(400, 'auth.unauthorized'));
      expect(await api('PATCH', '/api/my-account/custom-data', thirdProfile, { a: 1 })).toEqual(refusedWith(400, 'auth.unauthorized'));
      expect(await api('POST', '/api/my-account/password', thirdBare, { password: NEW_PW })).toEqual(refusedWith(403, 'auth.third_party_application_forbidden'));
      expect(await api('DELETE', '/api/my-account/primary-email', thirdBare, undefined, proof)).toEqual(refusedWith(400, 'auth.unauthorized'));
      // Field gating before scope.
      try {
        expect((await t.call('PATCH', '/api/account-center', { token: mgmt, body: { enabled: true, fields: { ...allEdit, name: 'ReadOnly', customData: 'ReadOnly' } } })).status).toBe(200);
        expect(await api('PATCH', '/api/my-account', bare, { name: 'x' })).toEqual(refusedWith(400, 'account_center.field_not_editable'));
        expect(await api('PATCH', '/api/my-account/custom-data', bare, { a: 1 })).toEqual(refusedWith(400, 'account_center.field_not_editable'));
      } finally {
        expect((await t.call('PATCH', '/api/account-center', { token: mgmt, body: { enabled: true, fields: allEdit } })).status).toBe(200);
      }
    });

    it('first-party session tokens hold every scope', async () => {
      const user = await signUp({ email: `${uniq('ss')}@example.com` });
      const proof = await provePassword(user.session);
      const now = Date.now();
      await t.app.services.store.identities.upsert({ userId: user.id, provider: 'gitlab', subject: uniq('gl'), data: {}, createdAt: now, updatedAt: now });
      expect((await api('PATCH', '/api/my-account', user.session, { name: 'S', customData: { s: 1 } })).status).toBe(200);
      expect((await api('PATCH', '/api/my-account/profile', user.session, { address: { country: 'FR' } })).status).toBe(200);
      expect(await api('GET', '/api/my-account/custom-data', user.session)).toEqual({ status: 200, body: { s: 1 } });
      expect((await api('GET', '/api/my-account/sessions', user.session, undefined, proof)).status).toBe(200);
      expect((await api('GET', '/api/my-account/grants', user.session, undefined, proof)).status).toBe(200);
      expect((await api('DELETE', '/api/my-account/identities/gitlab', user.session, undefined, proof)).status).toBe(204);
      expect((await api('DELETE', '/api/my-account/primary-email', user.session, undefined, proof)).status).toBe(204);
      expect(await t.app.services.users.findById(user.id)).toMatchObject({ name: 'S', customData: { s: 1 }, profile: { address: { country: 'FR' } }, primaryEmail: null });
    });
  });

  describe('first-party guard (logto.md §1.3)', () => {
    it('lets a third-party token read, and refuses every change and the three verification routes with 403, writing nothing', async () => {
      const email = `${uniq('tp')}@example.com`;
      const phone = randomPhone();
      const user = await signUp({ email, phone: `+${phone}`, name: 'Reader' });
      expect((await api('PATCH', '/api/my-account/custom-data', user.session, { c: 1 })).status).toBe(200);
      const now = Date.now();
      await t.app.services.store.identities.upsert({ userId: user.id, provider: 'github', subject: uniq('gh'), data: {}, createdAt: now, updatedAt: now });
      const proof = await provePassword(user.session);
      const newEmail = `${uniq('tn')}@example.com`;
      const emailRecord = await newEmailRecord(user.session, newEmail);
      const newPhone = randomPhone();
      const phoneRecord = await newPhoneRecord(user.session, newPhone);
      const grantId = await mintGrant(user.id);
      // A code to the current email, sent and not yet checked (for the verify route).
      const mailsBefore = smtp.messages.length;
      const pending = await api('POST', '/api/verifications/verification-code', user.session, { identifier: { type: 'email', value: email } });
      expect(pending.status).toBe(201);
      const code = extractCode((await smtp.waitFor((m, i) => i >= mailsBefore && m.to === email, 5000)).text);
      const sessionId = (await t.app.services.sessions.authenticate(user.session)).session.id;

      const token = await mint(user.id, ALL, third.application.id);
      // Reads work.
      const me = await api('GET', '/api/my-account', token);
      expect(me).toMatchObject({ status: 200, body: { id: user.id, name: 'Reader', primaryEmail: email, primaryPhone: phone, customData: { c: 1 } } });
      expect(await api('GET', '/api/my-account/custom-data', token)).toEqual({ status: 200, body: { c: 1 } });

      const before = await snapshot(user.id);
      const forbidden = refusedWith(403, 'auth.third_party_application_forbidden');
      const routes: Array<[string, string, unknown?]> = [
        ['PATCH', '/api/my-account', { name: 'Changed' }],
        ['PATCH', '/api/my-account', { username: uniq('renamed') }],
        ['PATCH', '/api/my-account', { customData: { evil: true } }],
        ['PATCH', '/api/my-account/profile', { nickname: 'x', address: { country: 'DE' } }],
        ['PATCH', '/api/my-account/custom-data', { evil: true }],
        ['POST', '/api/my-account/password', { password: NEW_PW }],
        ['PATCH', '/api/my-account/password', { password: NEW_PW }],
        ['POST', '/api/my-account/primary-email', { email: newEmail, newIdentifierVerificationRecordId: emailRecord }],
        ['PATCH', '/api/my-account/primary-email', { email: newEmail, newIdentifierVerificationRecordId: emailRecord }],
        ['DELETE', '/api/my-account/primary-email'],
        ['POST', '/api/my-account/primary-phone', { phone: newPhone, newIdentifierVerificationRecordId: phoneRecord }],
        ['DELETE', '/api/my-account/primary-phone'],
        ['DELETE', `/api/my-account/sessions/${sessionId}`],
        ['DELETE', `/api/my-account/grants/${grantId}`],
        ['POST', '/api/my-account/identities', { newIdentifierVerificationRecordId: 'vrf_whatever' }],
        ['DELETE', '/api/my-account/identities/github'],
        ['POST', '/api/my-account/mfa-verifications', { type: 'Totp', secret: 'JBSWY3DPEHPK3PXPJBSWY3DP' }],
        ['DELETE', '/api/my-account/mfa-verifications/some-factor'],
        ['DELETE', '/api/my-account'],
        ['POST', '/api/verifications/password', { password: PW }],
        ['POST', '/api/verifications/verification-code', { identifier: { type: 'email', value: email } }],
        ['POST', '/api/verifications/verification-code', { identifier: { type: 'phone', value: newPhone } }],
        ['POST', '/api/verifications/verification-code/verify', { identifier: { type: 'email', value: email }, verificationId: pending.body.verificationRecordId, code }],
        ['POST', '/api/verifications/web-authn/registration'],
      ];
      for (const [method, path, body] of routes) {
        expect(await api(method, path, token, body, proof), `${method} ${path} ${JSON.stringify(body)}`).toEqual(forbidden);
      }
      expect(await snapshot(user.id)).toEqual(before);
      expect((await api('GET', '/api/my-account', token)).status).toBe(200);

      // The same user through a first-party token: allowed (the guard is about the client, not the user).
      const firstParty = await mint(user.id, ALL);
      expect(await api('POST', '/api/verifications/verification-code/verify', firstParty, {
        identifier: { type: 'email', value: email }, verificationId: pending.body.verificationRecordId, code,
      })).toEqual({ status: 200, body: { verificationRecordId: pending.body.verificationRecordId } });
      expect((await api('PATCH', '/api/my-account', firstParty, { name: 'Changed' })).body).toMatchObject({ name: 'Changed' });
      expect((await api('POST', '/api/verifications/password', firstParty, { password: PW })).status).toBe(201);
    });

    it('refuses a client that became third-party after the token was issued', async () => {
      const app = await t.app.services.applications.create({ name: 'Turns third-party', type: 'spa', redirectUris: [REDIRECT] });
      const user = await signUp();
      const token = await mint(user.id, 'openid profile', app.application.id);
      expect((await api('PATCH', '/api/my-account', token, { name: 'One' })).status).toBe(200);
      expect((await t.call('PATCH', `/api/applications/${app.application.id}`, { token: mgmt, body: { isThirdParty: true } })).status).toBe(200);
      expect(await api('PATCH', '/api/my-account', token, { name: 'Two' })).toEqual(refusedWith(403, 'auth.third_party_application_forbidden'));
      expect((await t.app.services.users.findById(user.id))!.name).toBe('One');
    });

    it('treats a token whose client cannot be resolved as third-party; deleting an app ends its tokens', async () => {
      const user = await signUp({ name: 'Kept' });
      const gone = await t.app.services.applications.create({ name: 'Vanishing', type: 'spa', redirectUris: [REDIRECT] });
      const orphan = await mint(user.id, 'openid profile', gone.application.id);
      // The application row disappears but its token is still in the provider's store (an unresolvable client).
      expect(await t.app.services.store.applications.delete(gone.application.id)).toBe(true);
      expect((await api('GET', '/api/my-account', orphan)).body).toMatchObject({ id: user.id, name: 'Kept' });
      expect(await api('PATCH', '/api/my-account', orphan, { name: 'Orphan' })).toEqual(refusedWith(403, 'auth.third_party_application_forbidden'));
      expect((await t.app.services.users.findById(user.id))!.name).toBe('Kept');

      const removed = await t.app.services.applications.create({ name: 'Removed', type: 'spa', redirectUris: [REDIRECT] });
      const token = await mint(user.id, 'openid profile', removed.application.id);
      expect((await t.call('DELETE', `/api/applications/${removed.application.id}`, { token: mgmt })).status).toBe(204);
      expect(await api('PATCH', '/api/my-account', token, { name: 'Removed' })).toEqual(refusedWith(401, 'auth.unauthorized'));
    });
  });

  describe('Management API isThirdParty', () => {
    it('refuses it on m2m and with token exchange (400 application.invalid_metadata) and shows it', async () => {
      const m = (method: string, path: string, body?: unknown) => api(method, path, mgmt, body);
      expect(await m('POST', '/api/applications', { name: 'Job', type: 'm2m', isThirdParty: true })).toEqual(refusedWith(400, 'application.invalid_metadata'));
      expect(await m('POST', '/api/applications', { name: 'Exch', type: 'traditional', redirectUris: [REDIRECT], allowTokenExchange: true, isThirdParty: true }))
        .toEqual(refusedWith(400, 'application.invalid_metadata'));
      expect(await m('POST', '/api/applications', { name: 'Bad', type: 'spa', redirectUris: [REDIRECT], isThirdParty: 'yes' })).toMatchObject({ status: 400 });

      const created = await m('POST', '/api/applications', { name: 'Partner', type: 'traditional', redirectUris: [REDIRECT], isThirdParty: true });
      expect(created).toMatchObject({ status: 200, body: { isThirdParty: true, allowTokenExchange: false } });
      const id = created.body.id as string;
      expect((await m('GET', `/api/applications/${id}`)).body).toMatchObject({ id, isThirdParty: true });
      expect((await m('GET', '/api/applications')).body.find((a: { id: string }) => a.id === id)).toMatchObject({ isThirdParty: true });
      // Turning on token exchange for a third-party app is refused, and nothing changes.
      expect(await m('PATCH', `/api/applications/${id}`, { allowTokenExchange: true })).toEqual(refusedWith(400, 'application.invalid_metadata'));
      expect(await m('PATCH', `/api/applications/${id}`, { isThirdParty: false, allowTokenExchange: true })).toMatchObject({ status: 200, body: { isThirdParty: false, allowTokenExchange: true } });
      expect(await m('PATCH', `/api/applications/${id}`, { isThirdParty: true })).toEqual(refusedWith(400, 'application.invalid_metadata'));
      expect((await m('GET', `/api/applications/${id}`)).body).toMatchObject({ isThirdParty: false, allowTokenExchange: true });

      const job = await m('POST', '/api/applications', { name: 'Job', type: 'm2m' });
      expect(job).toMatchObject({ status: 200, body: { isThirdParty: false } });
      expect(await m('PATCH', `/api/applications/${job.body.id}`, { isThirdParty: true })).toEqual(refusedWith(400, 'application.invalid_metadata'));
      expect((await m('GET', `/api/applications/${job.body.id}`)).body.isThirdParty).toBe(false);
    });
  });

  describe('OIDC: consent for third-party apps, new scopes', () => {
    const discover = (app: IssuedApplication) =>
      client.discovery(new URL(`${t.base}/oidc`), app.application.id, app.secret!, client.ClientSecretBasic(app.secret!), {
        execute: [client.allowInsecureRequests],
      });

    /** Starts an authorization request in `browser` and follows it to the first page (or the redirect URI). */
    async function authorize(app: IssuedApplication, browser: Browser, scope: string, extra: Record<string, string> = {}) {
      const config = await discover(app);
      const verifier = client.randomPKCECodeVerifier();
      const state = client.randomState();
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: app.application.redirectUris[0]!,
        scope,
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
        ...extra,
      });
      const { res, url: at } = await browser.follow(url.href, t.base);
      return { config, verifier, state, res, url: at };
    }

    /** Posts a form of the page at `pageUrl` (action matched by its path suffix) and follows the answer. */
    async function submit(browser: Browser, pageUrl: string, html: string, suffix: string, fields: Record<string, string> = {}, withCsrf = true) {
      const action = new RegExp(`action="([^"]+/${suffix})"`).exec(html)?.[1];
      expect(action, `form ${suffix}`).toBeTruthy();
      const posted = await browser.request(new URL(action!, pageUrl).href, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: t.base },
        body: new URLSearchParams({ ...(withCsrf ? { csrf: field(html, 'csrf') ?? '' } : {}), ...fields }).toString(),
      });
      if (posted.status !== 303) return { res: posted, url: pageUrl };
      return browser.follow(new URL(posted.headers.get('location')!, pageUrl).href, t.base);
    }

    /** The user's grants for the third-party app. */
    const thirdGrants = async (userId: string) => {
      const user = await t.app.services.users.findById(userId);
      return (await t.app.services.account.listGrants(user!)).filter((g) => g.clientId === third.application.id);
    };

    const signIn = async (browser: Browser, step: { res: Response; url: string }, username: string) => {
      expect(step.res.status).toBe(200);
      return submit(browser, step.url, await step.res.text(), 'login', { identifier: username, password: PW });
    };

    it('asks for consent (escaped page), Deny → access_denied, Allow → code → tokens, then reuses the grant', async () => {
      const user = await signUp({ email: `${uniq('c')}@example.com` });
      expect((await api('PATCH', '/api/my-account/custom-data', user.session, { tier: 'gold' })).status).toBe(200);
      const scope = 'openid profile custom_data identities';

      // Deny.
      const denier = new Browser();
      const d = await authorize(third, denier, scope);
      const dConsent = await signIn(denier, d, user.username);
      expect(dConsent.url).toMatch(new RegExp(`^${t.base}/oidc/interaction/`));
      expect(dConsent.res.status).toBe(200);
      const dHtml = await dConsent.res.text();
      const denied = await submit(denier, dConsent.url, dHtml, 'abort');
      const deniedUrl = new URL(denied.url);
      expect(deniedUrl.origin + deniedUrl.pathname).toBe(THIRD_REDIRECT);
      expect(deniedUrl.searchParams.get('error')).toBe('access_denied');
      expect(deniedUrl.searchParams.get('state')).toBe(d.state);
      expect(deniedUrl.searchParams.has('code')).toBe(false);
      expect((await thirdGrants(user.id))).toEqual([]);

      // Allow.
      const browser = new Browser();
      const a = await authorize(third, browser, scope);
      const consent = await signIn(browser, a, user.username);
      expect(consent.res.status).toBe(200);
      const html = await consent.res.text();
      expect(html).toContain('Allow access?');
      expect(html).toContain(`Third &lt;b>&amp;&quot;Party&quot;'s app`);
      expect(html).not.toContain(THIRD_NAME);
      expect(html).not.toContain('<b>');
      const items = consentItems(html);
      expect(items).toEqual([
        'Know who you are (your account id)',
        'See your name, username, picture and profile details',
        'See the custom data of your account',
        'See the social accounts linked to your account',
      ]);
      // A post without the CSRF token changes nothing.
      const stale = await submit(browser, consent.url, html, 'consent', {}, false);
      expect(stale.res.status).toBe(403);
      const allowed = await submit(browser, consent.url, html, 'consent');
      expect(allowed.url.startsWith(`${THIRD_REDIRECT}?`)).toBe(true);
      const tokens = await client.authorizationCodeGrant(a.config, new URL(allowed.url), { pkceCodeVerifier: a.verifier, expectedState: a.state });
      expect(tokens.access_token).toBeTruthy();
      expect(tokens.scope?.split(' ').sort()).toEqual(['custom_data', 'identities', 'openid', 'profile']);
      expect(tokens.claims()).toMatchObject({ sub: user.id, custom_data: { tier: 'gold' } });
      // The third-party token reads the account but cannot change it.
      expect((await api('GET', '/api/my-account', tokens.access_token)).body).toMatchObject({ id: user.id, customData: { tier: 'gold' } });
      expect(await api('PATCH', '/api/my-account', tokens.access_token, { name: 'Nope' })).toEqual(refusedWith(403, 'auth.third_party_application_forbidden'));
      const grants = (await thirdGrants(user.id));
      expect(grants).toHaveLength(1);

      // Second authorization in the same browser: no page, straight back with a code, same grant.
      const again = await authorize(third, browser, scope);
      expect(again.url.startsWith(`${THIRD_REDIRECT}?`)).toBe(true);
      const second = await client.authorizationCodeGrant(again.config, new URL(again.url), { pkceCodeVerifier: again.verifier, expectedState: again.state });
      expect(second.access_token).toBeTruthy();
      expect((await thirdGrants(user.id)).map((g) => g.id)).toEqual(grants.map((g) => g.id));

      // A new scope asks again, for that scope only.
      const more = await authorize(third, browser, `${scope} email`);
      expect(more.url).toMatch(new RegExp(`^${t.base}/oidc/interaction/`));
      const moreHtml = await more.res.text();
      expect(consentItems(moreHtml)).toEqual(['See your email address']);

      // Once the user disconnects the app (Account API), the next authorization asks again.
      const proof = await provePassword(user.session);
      expect((await api('DELETE', `/api/my-account/grants/${grants[0]!.id}`, user.session, undefined, proof)).status).toBe(204);
      expect((await api('GET', '/api/my-account', second.access_token)).status).toBe(401);
      const revoked = await authorize(third, browser, scope);
      expect(revoked.url).toMatch(new RegExp(`^${t.base}/oidc/interaction/`));
      const revokedHtml = await revoked.res.text();
      expect(revokedHtml).toContain('Allow access?');
      expect(consentItems(revokedHtml)).toHaveLength(4);
    });

    it('asks a third-party app\'s user for offline_access too, and then issues a refresh token', async () => {
      const user = await signUp();
      const browser = new Browser();
      const a = await authorize(third, browser, 'openid offline_access', { prompt: 'consent' });
      const consent = await signIn(browser, a, user.username);
      const html = await consent.res.text();
      expect(consentItems(html)).toEqual([
        'Know who you are (your account id)',
        'Stay signed in to your account when you are not using it',
      ]);
      const allowed = await submit(browser, consent.url, html, 'consent');
      const tokens = await client.authorizationCodeGrant(a.config, new URL(allowed.url), { pkceCodeVerifier: a.verifier, expectedState: a.state });
      expect(tokens.refresh_token).toBeTruthy();
      const refreshed = await client.refreshTokenGrant(a.config, tokens.refresh_token!);
      expect(refreshed.access_token).toBeTruthy();
      expect((await api('GET', '/api/my-account', refreshed.access_token)).body).toMatchObject({ id: user.id });
    });

    it('never shows the consent page to a first-party app, even with prompt=consent', async () => {
      const user = await signUp();
      for (const extra of [{}, { prompt: 'consent' }] as Array<Record<string, string>>) {
        const browser = new Browser();
        const a = await authorize(first, browser, 'openid profile custom_data', extra);
        const back = await signIn(browser, a, user.username);
        expect(back.url.startsWith(`${REDIRECT}?`)).toBe(true);
        expect(new URL(back.url).searchParams.get('code')).toBeTruthy();
        const tokens = await client.authorizationCodeGrant(a.config, new URL(back.url), { pkceCodeVerifier: a.verifier, expectedState: a.state });
        expect(tokens.access_token).toBeTruthy();
      }
    });

    it('lists the new scopes in discovery; userinfo has custom_data and identities only with their scopes', async () => {
      const discovery = await (await fetch(`${t.base}/oidc/.well-known/openid-configuration`)).json();
      expect(discovery.scopes_supported).toEqual(expect.arrayContaining(['openid', 'profile', 'custom_data', 'identities', SESSIONS]));
      expect(discovery.claims_supported).toEqual(expect.arrayContaining(['custom_data', 'identities']));

      const user = await signUp({ name: 'Info' });
      expect((await api('PATCH', '/api/my-account/custom-data', user.session, { color: 'teal' })).status).toBe(200);
      const subject = uniq('ext');
      const now = Date.now();
      await t.app.services.store.identities.upsert({ userId: user.id, provider: 'github', subject, data: { accessToken: 'gho_provider_secret' }, createdAt: now, updatedAt: now });

      const userinfo = async (scope: string) => {
        const browser = new Browser();
        const a = await authorize(first, browser, scope);
        const back = await signIn(browser, a, user.username);
        const tokens = await client.authorizationCodeGrant(a.config, new URL(back.url), { pkceCodeVerifier: a.verifier, expectedState: a.state });
        return client.fetchUserInfo(a.config, tokens.access_token, user.id);
      };
      const withCustom = await userinfo('openid custom_data');
      expect(withCustom).toEqual({ sub: user.id, custom_data: { color: 'teal' } });
      const withProfile = await userinfo('openid profile');
      expect(withProfile).toMatchObject({ sub: user.id, name: 'Info' });
      expect(withProfile).not.toHaveProperty('custom_data');
      expect(withProfile).not.toHaveProperty('identities');
      const withIdentities = await userinfo('openid identities');
      expect(withIdentities).toEqual({ sub: user.id, identities: { github: { userId: subject } } });
      expect(JSON.stringify(withIdentities)).not.toContain('gho_provider_secret');
    });
  });
});
