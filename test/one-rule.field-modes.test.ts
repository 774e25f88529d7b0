import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DatabaseFactory, dialects, type RunningApp, startApp } from './helpers.js';
import { lcConfig, lcFetch } from './leancloud-helpers.js';

/**
 * Issue 16: one end-user write policy. While the account center is enabled, a field that is `Off` or
 * `ReadOnly` cannot be changed by its user through any self-service surface — `/api/auth/me…`, the
 * Account API, LeanCloud `/1.1` with the user's session — each refusing in its own dialect; the
 * administrator (master key) is not bound by it. While it is disabled, `/api/auth` and `/1.1` keep their
 * vendors' defaults and the Account API stays closed.
 */

const PW = 'violet-harbor-7-lantern';
const NEW_PW = 'copper-meadow-42-quiver';
let seq = 0;
const uniq = (p: string) => `${p}${Date.now().toString(36)}${(seq++).toString(36)}`;

const MODES = {
  name: 'ReadOnly', avatar: 'Off', profile: 'ReadOnly', username: 'Off', email: 'ReadOnly', phone: 'Off',
  password: 'ReadOnly', social: 'Off', customData: 'Off', mfa: 'ReadOnly', session: 'ReadOnly',
} as const;

describe.each(dialects)('account-center field modes on every self-service surface on %s', (_name, database) => {
  let t: RunningApp;
  let db: Awaited<ReturnType<DatabaseFactory>>;

  beforeAll(async () => {
    db = await database();
    t = await startApp(lcConfig({ databaseUrl: db.url }));
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  async function api(method: string, path: string, token?: string, body?: unknown) {
    const res = await t.call(method, path, { token, body });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  }

  async function newUser() {
    const username = uniq('fm');
    const res = await api('POST', '/api/auth/sign-up', undefined, { username, email: `${username}@example.com`, password: PW });
    expect(res.status).toBe(201);
    return { id: res.body.user.id as string, username, token: res.body.session.token as string };
  }

  it('Off or ReadOnly fields are refused on /api/auth/me, the Account API and /1.1; nothing is written; the master key is not bound', async () => {
    await t.app.services.accountCenter.update({ enabled: true, fields: MODES });
    const u = await newUser();
    const refusedNative = [
      await api('PATCH', '/api/auth/me', u.token, { username: uniq('x') }),
      await api('PATCH', '/api/auth/me', u.token, { customData: { plan: 'pro' } }),
      await api('PATCH', '/api/auth/me', u.token, { name: 'Ann' }),
      await api('PATCH', '/api/auth/me', u.token, { avatar: 'https://img.example.com/a.png' }),
      await api('PUT', '/api/auth/me/custom-fields', u.token, { values: { plan: 'pro' } }),
      await api('POST', '/api/auth/me/password', u.token, { oldPassword: PW, newPassword: NEW_PW }),
      await api('POST', '/api/auth/me/email', u.token, { email: `${uniq('n')}@example.com`, code: '123456' }),
      await api('POST', '/api/auth/me/phone', u.token, { phone: '+8613800138000', code: '123456' }),
    ];
    for (const res of refusedNative) expect([res.status, res.body.code]).toEqual([400, 'account_center.field_not_editable']);

    const proof = await api('POST', '/api/verifications/password', u.token, { password: PW });
    const proofHeader = { 'logto-verification-id': proof.body.verificationRecordId };
    const refusedAccount = [
      await api('PATCH', '/api/my-account', u.token, { username: uniq('x') }),
      await api('PATCH', '/api/my-account', u.token, { customData: { plan: 'pro' } }),
      await api('PATCH', '/api/my-account', u.token, { name: 'Ann' }),
      await t.call('POST', '/api/my-account/password', { token: u.token, body: { password: NEW_PW }, headers: proofHeader }).then(async (r) => ({ status: r.status, body: await r.json() })),
    ];
    for (const res of refusedAccount) expect([res.status, res.body.code]).toEqual([400, 'account_center.field_not_editable']);

    const lc = (body: unknown) => lcFetch(t.base, 'PUT', `/1.1/users/${u.id}`, { session: u.token, body });
    const refusedLc = [
      await lc({ username: uniq('x') }),
      await lc({ plan: 'pro' }),
      await lc({ email: `${uniq('n')}@example.com` }),
      await lc({ mobilePhoneNumber: '+8613800138000' }),
      await lc({ authData: { anonymous: { id: uniq('anon') } } }),
      await lcFetch(t.base, 'PUT', `/1.1/users/${u.id}/updatePassword`, { session: u.token, body: { old_password: PW, new_password: NEW_PW } }),
      await lcFetch(t.base, 'POST', '/1.1/changePhoneNumber', { session: u.token, body: { mobilePhoneNumber: '+8613800138000', code: '123456' } }),
    ];
    for (const res of refusedLc) expect([res.status, res.body.code]).toEqual([403, 119]);

    // Nothing was written, and the old password still signs in.
    const user = await t.app.services.users.require(u.id);
    expect(user).toMatchObject({ username: u.username, name: null, avatar: null, customData: {}, primaryPhone: null });
    expect((await api('POST', '/api/auth/sign-in', undefined, { username: u.username, password: PW })).status).toBe(200);

    // The administrator is not an end user: the master key may change the username.
    const renamed = uniq('adm');
    expect((await lcFetch(t.base, 'PUT', `/1.1/users/${u.id}`, { master: true, body: { username: renamed } })).status).toBe(200);
    expect((await t.app.services.users.require(u.id)).username).toBe(renamed);
  });

  it('Edit fields are changed on every surface', async () => {
    await t.app.services.accountCenter.update({ enabled: true, fields: { ...MODES, username: 'Edit', name: 'Edit', customData: 'Edit' } });
    const u = await newUser();
    expect((await api('PATCH', '/api/auth/me', u.token, { name: 'Native' })).status).toBe(200);
    expect((await api('PATCH', '/api/my-account', u.token, { name: 'Account' })).status).toBe(200);
    const username = uniq('lc');
    expect((await lcFetch(t.base, 'PUT', `/1.1/users/${u.id}`, { session: u.token, body: { username, plan: 'pro' } })).status).toBe(200);
    expect(await t.app.services.users.require(u.id)).toMatchObject({ username, name: 'Account', customData: { plan: 'pro' } });
  });

  it('disabled: /api/auth and /1.1 keep their defaults, the Account API stays closed', async () => {
    await t.app.services.accountCenter.update({ enabled: false, fields: MODES });
    const u = await newUser();
    expect((await api('PATCH', '/api/auth/me', u.token, { customData: { plan: 'free' } })).status).toBe(200);
    const username = uniq('lc');
    expect((await lcFetch(t.base, 'PUT', `/1.1/users/${u.id}`, { session: u.token, body: { username } })).status).toBe(200);
    const closed = await api('PATCH', '/api/my-account', u.token, { name: 'Ann' });
    expect([closed.status, closed.body.code]).toEqual([400, 'account_center.not_enabled']);
    expect(await t.app.services.users.require(u.id)).toMatchObject({ username, customData: { plan: 'free' } });
  });

  it('one "last sign-in method" rule: a bare username is no way in, a username with a password is', async () => {
    const { users, account, sessions } = t.app.services;
    const bare = await users.create({ username: uniq('bare'), email: `${uniq('b')}@example.com` });
    await expect(account.assertKeepsSignInMethod(bare, 'email')).rejects.toMatchObject({ code: 'user.last_sign_in_method_required' });
    // The same answer through /api/auth/me (a fresh session, so the recent-sign-in rule is met).
    const { token } = await sessions.create(bare.id, { ip: null, userAgent: null, amr: ['otp'] });
    const removed = await api('DELETE', '/api/auth/me/email', token);
    expect([removed.status, removed.body.code]).toEqual([400, 'user.last_sign_in_method_required']);
    const withPassword = await users.create({ username: uniq('pw'), email: `${uniq('p')}@example.com`, password: PW });
    await expect(account.assertKeepsSignInMethod(withPassword, 'email')).resolves.toBeUndefined();
    await expect(account.assertKeepsSignInMethod(withPassword, 'username')).resolves.toBeUndefined();
  });
});
