/**
 * ManagementClient against a real Tessera server on 127.0.0.1: the client-credentials token (cached,
 * refreshed before expiry, one request shared by concurrent calls), every users / applications /
 * accountCenter / customFields method with its documented failures, and the Link-following iterator.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects, freePort, type RunningApp, startApp, testConfig } from '../../test/helpers.js';
import { AuthenticationClient, ManagementClient, nextLink } from '../src/index.js';
import { ADMIN_ID, ADMIN_SECRET, fails, nextPhone, PW, recordingFetch, type SdkServer, startSdkServer, uniq } from './server.js';

describe('nextLink', () => {
  it('finds rel="next" in an RFC 8288 Link header', () => {
    const header = '<http://h/api/users?page=1>; rel="first", <http://h/api/users?page=1>; rel="prev", <http://h/api/users?page=3>; rel="next", <http://h/api/users?page=9>; rel="last"';
    expect(nextLink(header)).toBe('http://h/api/users?page=3');
    expect(nextLink('<http://h/a?page=2>; rel="prev next"')).toBe('http://h/a?page=2');
    expect(nextLink('<http://h/a?page=2>; rel=next')).toBe('http://h/a?page=2');
    expect(nextLink('<http://h/a>; rel="last"')).toBeNull();
    expect(nextLink(null)).toBeNull();
  });
});

describe.each(dialects)('ManagementClient on %s', (_name, database) => {
  let s: SdkServer;
  let mgmt: ManagementClient;

  beforeAll(async () => {
    s = await startSdkServer(database);
    mgmt = new ManagementClient({ endpoint: s.t.base, clientId: ADMIN_ID, clientSecret: ADMIN_SECRET });
  });
  afterAll(async () => {
    await s.close();
  });

  describe('the Management API token', () => {
    it('fetches one token for concurrent calls, caches it, and fetches a new one shortly before expiry', async () => {
      let now = Date.now();
      const rec = recordingFetch();
      const client = new ManagementClient({ endpoint: `${s.t.base}/`, clientId: ADMIN_ID, clientSecret: ADMIN_SECRET, fetch: rec.fetch, clock: () => now });
      const tokenCalls = () => rec.calls.filter((c) => c.path === '/oidc/token').length;
      const pages = await Promise.all([client.users.list(), client.users.list(), client.applications.list(), client.accountCenter.get()]);
      expect(pages).toHaveLength(4);
      expect(tokenCalls()).toBe(1);
      const first = await client.getAccessToken();
      expect(first.split('.')).toHaveLength(3);
      // 3600 s tokens: still cached 59 minutes later (more than 60 s left) …
      now += 3600_000 - 61_000;
      expect(await client.getAccessToken()).toBe(first);
      expect(tokenCalls()).toBe(1);
      // … refreshed within the last minute
      now += 2_000;
      await Promise.all([client.users.list(), client.users.list()]);
      expect(tokenCalls()).toBe(2);
    });

    it('sends resource = <endpoint>/api and scope all with HTTP Basic; refusals are client.token_request_failed', async () => {
      const wrong = new ManagementClient({ endpoint: s.t.base, clientId: ADMIN_ID, clientSecret: 'not-the-secret-0123456789' });
      const e = await fails(wrong.users.list(), 'client.token_request_failed', 401);
      expect(e.data).toMatchObject({ error: 'invalid_client' });
      const badResource = new ManagementClient({ endpoint: s.t.base, clientId: ADMIN_ID, clientSecret: ADMIN_SECRET, resource: 'https://elsewhere.example/api' });
      const r = await fails(badResource.getAccessToken(), 'client.token_request_failed', 400);
      expect(r.data).toMatchObject({ error: 'invalid_target' });
      // an m2m app without the management role may not get the Management API resource
      const plain = await mgmt.applications.create({ name: 'No management', type: 'm2m' });
      const notAdmin = new ManagementClient({ endpoint: s.t.base, clientId: plain.id, clientSecret: plain.secret! });
      expect((await fails(notAdmin.users.list(), 'client.token_request_failed')).data).toMatchObject({ error: 'invalid_target' });
    });

    it('refuses a bad endpoint or missing credentials locally', () => {
      expect(() => new ManagementClient({ endpoint: 'nope', clientId: 'a', clientSecret: 'b' })).toThrow(/endpoint/);
      expect(() => new ManagementClient({ endpoint: s.t.base, clientId: 'a', clientSecret: '' })).toThrow(/clientSecret/);
    });
  });

  describe('users', () => {
    it('create, detail, update, getCustomData, setCustomData, delete', async () => {
      const username = uniq('mu');
      const phone = nextPhone();
      const created = await mgmt.users.create({
        username,
        primaryEmail: `${username}@example.com`,
        primaryPhone: phone,
        password: PW,
        name: 'Grace',
        profile: { givenName: 'Grace' },
        customData: { plan: 'free' },
      });
      expect(created).toMatchObject({ username, primaryEmail: `${username}@example.com`, primaryPhone: phone, hasPassword: true, customData: { plan: 'free' } });
      expect(await mgmt.users.detail(created.id)).toEqual(created);

      const updated = await mgmt.users.update(created.id, { name: 'Grace Hopper', profile: { familyName: 'Hopper' } });
      expect(updated).toMatchObject({ name: 'Grace Hopper', profile: { familyName: 'Hopper' } });

      expect(await mgmt.users.setCustomData(created.id, { seats: 3 })).toEqual({ plan: 'free', seats: 3 });
      expect(await mgmt.users.getCustomData(created.id)).toEqual({ plan: 'free', seats: 3 });

      await fails(mgmt.users.create({ username, password: PW }), 'user.username_taken', 422);
      await fails(mgmt.users.create({ primaryEmail: 'not-an-email' }), 'user.invalid_email', 400);
      await fails(mgmt.users.update(created.id, { primaryPhone: 'abc' }), 'user.invalid_phone', 400);

      await mgmt.users.delete(created.id);
      for (const call of [
        () => mgmt.users.detail(created.id),
        () => mgmt.users.delete(created.id),
        () => mgmt.users.update(created.id, { name: 'x' }),
        () => mgmt.users.getCustomData(created.id),
        () => mgmt.users.setCustomData(created.id, { a: 1 }),
        () => mgmt.users.suspend(created.id),
        () => mgmt.users.restore(created.id),
        () => mgmt.users.setPassword(created.id, PW),
      ]) {
        await fails(call(), 'user.not_found', 404);
      }
    });

    it('suspend blocks sign-in and ends sessions; restore lifts it; setPassword ends sessions', async () => {
      const username = uniq('sus');
      const created = await mgmt.users.create({ username, password: PW });
      const auth = new AuthenticationClient({ appHost: s.t.base });
      await auth.loginByUsername(username, PW);

      expect((await mgmt.users.suspend(created.id)).isSuspended).toBe(true);
      expect(await auth.getCurrentUser()).toBeNull();
      await fails(new AuthenticationClient({ appHost: s.t.base }).loginByUsername(username, PW), 'auth.user_suspended', 403);

      expect((await mgmt.users.restore(created.id)).isSuspended).toBe(false);
      await auth.loginByUsername(username, PW);

      await mgmt.users.setPassword(created.id, 'set-by-the-admin-42');
      expect(await auth.getCurrentUser()).toBeNull();
      await fails(new AuthenticationClient({ appHost: s.t.base }).loginByUsername(username, PW), 'auth.invalid_credentials', 401);
      expect((await new AuthenticationClient({ appHost: s.t.base }).loginByUsername(username, 'set-by-the-admin-42')).username).toBe(username);
    });

    it('list pages with totalCount; search by substring, field and exact mode', async () => {
      const tag = uniq('srch');
      const made = [];
      for (let i = 0; i < 3; i++) made.push(await mgmt.users.create({ username: `${tag}u${i}`, name: i === 0 ? 'Zed Unique' : null }));

      const page = await mgmt.users.list(1, 2);
      expect(page.list).toHaveLength(2);
      expect(page.totalCount).toBeGreaterThanOrEqual(3);

      const found = await mgmt.users.search(tag.toUpperCase());
      expect(found.totalCount).toBe(3);
      expect(found.list.map((u) => u.username).sort()).toEqual(made.map((u) => u.username).sort());
      expect((await mgmt.users.search(tag, { limit: 2, page: 2 })).list).toHaveLength(1);
      expect((await mgmt.users.search(`${tag}u1`, { mode: 'exact', fields: ['username'] })).list.map((u) => u.id)).toEqual([made[1]!.id]);
      expect((await mgmt.users.search('zed unique', { fields: ['name'] })).list.map((u) => u.id)).toEqual([made[0]!.id]);
      expect((await mgmt.users.search('zed unique', { fields: ['name'], caseSensitive: true })).totalCount).toBe(0);
      await fails(mgmt.users.list(0, 10), 'request.invalid', 400);
    });

    it('all() follows the Link header through every page', async () => {
      const tag = uniq('iter');
      const ids = new Set<string>();
      for (let i = 0; i < 5; i++) ids.add((await mgmt.users.create({ username: `${tag}n${i}` })).id);
      const rec = recordingFetch();
      const client = new ManagementClient({ endpoint: s.t.base, clientId: ADMIN_ID, clientSecret: ADMIN_SECRET, fetch: rec.fetch });
      const seen: string[] = [];
      for await (const user of client.users.all({ pageSize: 2, search: tag })) seen.push(user.id);
      expect(seen.sort()).toEqual([...ids].sort());
      expect(rec.calls.filter((c) => c.path.startsWith('/api/users')).map((c) => new URLSearchParams(c.path.split('?')[1]).get('page'))).toEqual(['1', '2', '3']);

      // without a search: at least every user made here, each exactly once
      const everyone: string[] = [];
      for await (const user of mgmt.users.all({ pageSize: 3 })) everyone.push(user.id);
      expect(new Set(everyone).size).toBe(everyone.length);
      expect((await mgmt.users.list(1, 1)).totalCount).toBe(everyone.length);
    });
  });

  describe('applications', () => {
    it('create, list, detail, update, rotateSecret, delete', async () => {
      const created = await mgmt.applications.create({ name: 'Reporting job', type: 'm2m', isManagement: true });
      expect(created).toMatchObject({ name: 'Reporting job', type: 'm2m', isManagement: true, hasSecret: true });
      expect(created.secret).toEqual(expect.any(String));
      const viaNew = new ManagementClient({ endpoint: s.t.base, clientId: created.id, clientSecret: created.secret! });
      expect((await viaNew.applications.detail(created.id)).id).toBe(created.id);

      const listed = await mgmt.applications.list(1, 100);
      expect(listed.list.map((a) => a.id)).toEqual(expect.arrayContaining([created.id, ADMIN_ID]));
      expect(listed.totalCount).toBeGreaterThanOrEqual(2);
      expect(JSON.stringify(listed)).not.toContain(created.secret!);

      expect((await mgmt.applications.update(created.id, { name: 'Renamed job' })).name).toBe('Renamed job');
      const spa = await mgmt.applications.create({ name: 'SPA', type: 'spa', redirectUris: ['https://app.example.com/cb'] });
      expect(spa.secret).toBeNull();
      await fails(mgmt.applications.create({ name: '', type: 'm2m' }), 'request.invalid', 400);

      const rotated = await mgmt.applications.rotateSecret(created.id);
      expect(rotated.secret).not.toBe(created.secret);
      const stale = new ManagementClient({ endpoint: s.t.base, clientId: created.id, clientSecret: created.secret! });
      await fails(stale.users.list(), 'client.token_request_failed', 401);
      const fresh = new ManagementClient({ endpoint: s.t.base, clientId: created.id, clientSecret: rotated.secret! });
      expect((await fresh.users.list()).list).toEqual(expect.any(Array));

      await mgmt.applications.delete(created.id);
      await fails(mgmt.applications.detail(created.id), 'application.not_found', 404);
      await fails(mgmt.applications.update(created.id, { name: 'x' }), 'application.not_found', 404);
      await fails(mgmt.applications.rotateSecret(created.id), 'application.not_found', 404);
      await fails(mgmt.applications.delete(created.id), 'application.not_found', 404);
    });
  });

  describe('account center', () => {
    it('get and update; fields replace the whole map; bad modes are request.invalid', async () => {
      const initial = await mgmt.accountCenter.get();
      expect(initial.enabled).toBe(false);
      expect(Object.values(initial.fields).every((m) => m === 'Off')).toBe(true);
      const updated = await mgmt.accountCenter.update({ enabled: true, fields: { name: 'Edit', email: 'ReadOnly' } });
      expect(updated.enabled).toBe(true);
      expect(updated.fields).toMatchObject({ name: 'Edit', email: 'ReadOnly', avatar: 'Off' });
      expect(await mgmt.accountCenter.get()).toEqual(updated);
      await fails(mgmt.accountCenter.update({ fields: { name: 'Sometimes' as never } }), 'request.invalid', 400);
      await mgmt.accountCenter.update({ enabled: false, fields: {} });
    });
  });

  describe('custom fields', () => {
    it('create, list, update, delete; duplicates and unknown keys fail', async () => {
      const key = `grade_${uniq('k')}`;
      const created = await mgmt.customFields.create({ key, type: 'NUMBER', label: 'Grade' });
      expect(created).toMatchObject({ key, type: 'NUMBER', label: 'Grade', description: null });
      expect((await mgmt.customFields.list()).map((f) => f.key)).toContain(key);
      await fails(mgmt.customFields.create({ key, type: 'STRING' }), 'custom_field.key_taken', 409);
      await fails(mgmt.customFields.create({ key: 'bad key!', type: 'STRING' }), 'request.invalid', 400);
      expect(await mgmt.customFields.update(key, { label: 'School grade', description: '1 to 6' })).toMatchObject({ label: 'School grade', description: '1 to 6' });
      await mgmt.customFields.delete(key);
      expect((await mgmt.customFields.list()).map((f) => f.key)).not.toContain(key);
      await fails(mgmt.customFields.update(key, { label: 'x' }), 'custom_field.not_found', 400);
      await fails(mgmt.customFields.delete(key), 'custom_field.not_found', 400);
    });
  });
});

describe('ManagementClient.users.all() across origins', () => {
  let t: RunningApp;

  beforeAll(async () => {
    // The server believes it is reached at http://localhost:<port>, so its Link headers name that origin.
    const port = await freePort();
    t = await startApp(testConfig({ port, publicUrl: `http://localhost:${port}`, adminClientId: ADMIN_ID, adminClientSecret: ADMIN_SECRET }));
  });
  afterAll(async () => {
    await t.close();
  });

  it('never follows a Link to another origin with the token', async () => {
    const publicUrl = t.base.replace('127.0.0.1', 'localhost');
    const client = new ManagementClient({ endpoint: t.base, clientId: ADMIN_ID, clientSecret: ADMIN_SECRET, resource: `${publicUrl}/api` });
    await client.users.create({ username: uniq('o1') });
    await client.users.create({ username: uniq('o2') });
    const seen: string[] = [];
    const e = await fails(
      (async () => {
        for await (const user of client.users.all({ pageSize: 1 })) seen.push(user.id);
      })(),
      'client.invalid_response',
    );
    expect(e.message).toContain('another origin');
    expect(seen).toHaveLength(1);
  });
});
