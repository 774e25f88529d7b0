import { AuthenticationClient } from 'authing-js-sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type DatabaseFactory, dialects, type RunningApp, startAppWithPublicUrl } from './helpers.js';
import { managementToken } from './oidc-helpers.js';
import { type SmtpSink, startSmtpSink } from './peers.js';
import { Receiver } from './webhook-receiver.js';

/**
 * Issue 18, the organization leftovers, over real HTTP with an M2M Management API token, on SQLite and
 * PostgreSQL (when TESSERA_TEST_PG_URL is set), in Logto's paths, shapes and codes:
 * `GET /api/applications/:id/organizations`; `POST /api/organization-invitations/:id/message` (a real SMTP
 * sink); `/api/organizations/:id/jit/roles` and what JIT membership does with them (roles and the
 * `Organization.Membership.Updated` webhook); `/jit/sso-connectors` without SSO connectors; the invitation
 * accept route behind the account-center switch and the first-party rule; organization `branding`; and the
 * Authing surface's `getUserRoles` through the real authing-js-sdk `AuthenticationClient.hasRole`.
 */

const ADMIN_ID = 'org-left-admin';
const ADMIN_SECRET = 'org-left-admin-secret-0123456789';
let seq = 0;
const uniq = (p = 'o') => `${p}${Date.now().toString(36)}${seq++}`;
const FAST = { webhooks: { retryBaseSeconds: 0.05, pollIntervalSeconds: 0.05, timeoutSeconds: 2 } };

describe.each(dialects)('organization leftovers on %s', (_name, database: DatabaseFactory) => {
  let t: RunningApp;
  let db: Awaited<ReturnType<DatabaseFactory>>;
  let token: string;
  let smtp: SmtpSink;
  let receiver: Receiver;

  beforeAll(async () => {
    db = await database();
    smtp = await startSmtpSink();
    receiver = await Receiver.start();
    t = await startAppWithPublicUrl({
      databaseUrl: db.url,
      adminClientId: ADMIN_ID,
      adminClientSecret: ADMIN_SECRET,
      email: { smtpUrl: smtp.url },
      rateLimit: { managementPer10Seconds: 100_000 },
      ...FAST,
    });
    token = await managementToken(t.base, ADMIN_ID, ADMIN_SECRET);
    ok(await api('PATCH', '/api/account-center', { enabled: true }), 200);
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.close();
    await smtp?.close();
    await db?.drop();
  });
  beforeEach(() => {
    receiver.received.length = 0;
  });

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  type Answer = { status: number; headers: Headers; body: any };
  const api = async (method: string, path: string, body?: unknown, bearer = token): Promise<Answer> => {
    const res = await t.call(method, path, { ...(body !== undefined ? { body } : {}), token: bearer });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
  };
  const refused = (a: Answer) => [a.status, a.body?.code];
  function ok(a: Answer, status: number) {
    expect(a.status, JSON.stringify(a.body)).toBe(status);
  }
  const ids = (a: Answer) => (a.body as Array<{ id: string }>).map((x) => x.id);

  const newOrg = async (extra: Record<string, unknown> = {}) => {
    const r = await api('POST', '/api/organizations', { name: uniq('Acme '), ...extra });
    ok(r, 201);
    return r.body as { id: string; name: string };
  };
  const newRole = async (extra: Record<string, unknown> = {}) => {
    const r = await api('POST', '/api/organization-roles', { name: uniq('role-'), ...extra });
    ok(r, 201);
    return r.body as { id: string; name: string; type: string };
  };
  const newUser = async (email?: string, emailVerified = true) => {
    const user = await t.app.services.users.create({ username: uniq('u'), ...(email ? { email, emailVerified } : {}) });
    const { token: session } = await t.app.services.sessions.create(user.id, { amr: [] });
    return { id: user.id, session };
  };
  const newApp = async (type = 'MachineToMachine') => {
    const r = await api('POST', '/api/applications', { name: uniq('app'), type });
    ok(r, 200);
    return r.body as { id: string };
  };
  /** An opaque OIDC access token of `clientId` for the user (what the token endpoint would store). */
  const mint = async (userId: string, clientId: string, scope = 'openid email') => {
    const provider = await t.app.oidc.current();
    const client = await provider.Client.find(clientId);
    expect(client).toBeTruthy();
    return new provider.AccessToken({ accountId: userId, client: client!, scope }).save();
  };
  /** The invitation's mailed token (the newest mail to `to` after `before` messages). */
  const mailedToken = async (to: string, before: number) => {
    const mail = await smtp.waitFor((m, i) => i >= before && m.envelope.to.includes(to));
    const link = /(http:\/\/\S+\/api\/my-account\/organization-invitations\/\S+)/.exec(mail.text)![1]!;
    return { mail, token: new URL(link).searchParams.get('token')! };
  };

  it("GET /api/applications/:id/organizations: the application's organizations with its roles, paging optional (Total-Number when paged), 404 for an unknown application", async () => {
    const m2m = await newApp();
    const first = await newOrg();
    const second = await newOrg();
    await newOrg(); // not a member
    const role = await newRole({ type: 'MachineToMachine' });
    ok(await api('POST', `/api/organizations/${first.id}/applications`, { applicationIds: [m2m.id] }), 201);
    ok(await api('POST', `/api/organizations/${second.id}/applications`, { applicationIds: [m2m.id] }), 201);
    ok(await api('POST', `/api/organizations/${second.id}/applications/${m2m.id}/roles`, { organizationRoleIds: [role.id] }), 201);

    const all = await api('GET', `/api/applications/${m2m.id}/organizations`);
    ok(all, 200);
    expect(all.headers.get('total-number')).toBeNull();
    expect(ids(all)).toEqual([first.id, second.id]);
    expect(all.body[0]).toEqual({ ...(await api('GET', `/api/organizations/${first.id}`)).body, organizationRoles: [] });
    expect(all.body[1].organizationRoles).toEqual([{ id: role.id, name: role.name }]);

    const page2 = await api('GET', `/api/applications/${m2m.id}/organizations?page=2&page_size=1`);
    ok(page2, 200);
    expect(ids(page2)).toEqual([second.id]);
    expect(page2.headers.get('total-number')).toBe('2');
    expect(page2.headers.get('link')).toContain('rel="prev"');

    const lonely = await newApp();
    expect((await api('GET', `/api/applications/${lonely.id}/organizations`)).body).toEqual([]);
    expect(refused(await api('GET', '/api/applications/no-such-app/organizations'))).toEqual([404, 'entity.not_exists_with_id']);
    expect(refused(await api('GET', `/api/applications/${m2m.id}/organizations?page=0`))).toEqual([400, 'guard.invalid_pagination']);
    expect((await api('GET', `/api/applications/${m2m.id}/organizations`, undefined, 'not-a-token')).status).toBe(401);
  });

  it('POST /api/organization-invitations/:id/message mails the invitation again with a new token (the old one stops working); only pending ones', async () => {
    const org = await newOrg();
    const email = `${uniq('resend')}@example.com`;
    const invited = await newUser(email);
    const before = smtp.messages.length;
    const created = await api('POST', '/api/organization-invitations', { invitee: email, organizationId: org.id, expiresAt: Date.now() + 3_600_000, messagePayload: { locale: 'en' } });
    ok(created, 201);
    const firstMail = await mailedToken(email, before);

    const again = smtp.messages.length;
    const resent = await api('POST', `/api/organization-invitations/${created.body.id}/message`, { locale: 'zh-CN', link: 'https://app.example.com/join' });
    ok(resent, 204);
    expect(resent.body).toBeUndefined();
    const mail = await smtp.waitFor((m, i) => i >= again && m.envelope.to.includes(email));
    const link = /(https:\/\/app\.example\.com\/join\S*)/.exec(mail.text)![1]!;
    const url = new URL(link);
    expect(url.searchParams.get('invitationId')).toBe(created.body.id);
    const secondToken = url.searchParams.get('token')!;
    expect(secondToken).not.toBe(firstMail.token);
    expect(mail.subject).not.toBe(firstMail.mail.subject); // zh-CN this time
    expect(JSON.stringify((await api('GET', `/api/organization-invitations/${created.body.id}`)).body)).not.toMatch(/token/i);

    const accept = (value: string) => api('POST', `/api/my-account/organization-invitations/${created.body.id}/accept`, { token: value }, invited.session);
    expect(refused(await accept(firstMail.token))).toEqual([403, 'organization.invitation_invalid_token']);
    ok(await accept(secondToken), 200);
    expect(await t.app.services.organizations.isMember(org.id, invited.id)).toBe(true);

    // Not pending any more; unknown id; a link that is not http(s); a body that is not an object.
    expect(refused(await api('POST', `/api/organization-invitations/${created.body.id}/message`, {}))).toEqual([422, 'request.invalid_input']);
    expect(refused(await api('POST', '/api/organization-invitations/nope/message', {}))).toEqual([404, 'entity.not_found']);
    const other = await api('POST', '/api/organization-invitations', { invitee: `${uniq('x')}@example.com`, organizationId: org.id, expiresAt: Date.now() + 60_000 });
    expect(refused(await api('POST', `/api/organization-invitations/${other.body.id}/message`, { link: 'javascript:alert(1)' }))[0]).toBe(400);
    expect(refused(await api('POST', `/api/organization-invitations/${other.body.id}/message`, { locale: 'fr' }))[0]).toBe(400);
    ok(await api('POST', `/api/organization-invitations/${other.body.id}/message`, {}), 204);
  });

  it('JIT roles: GET/POST/PUT/DELETE in Logto shapes; a JIT member gets them and fires Organization.Membership.Updated like a manual add', async () => {
    const org = await newOrg();
    const reader = await newRole({ name: uniq('b-reader-') });
    const writer = await newRole({ name: uniq('a-writer-') });
    const machine = await newRole({ type: 'MachineToMachine' });
    expect((await api('GET', `/api/organizations/${org.id}/jit/roles`)).body).toEqual([]);
    ok(await api('POST', `/api/organizations/${org.id}/jit/roles`, { organizationRoleIds: [reader.id] }), 201);
    ok(await api('POST', `/api/organizations/${org.id}/jit/roles`, { organizationRoleIds: [reader.id] }), 201);
    expect((await api('GET', `/api/organizations/${org.id}/jit/roles`)).body).toEqual([reader]);
    expect(refused(await api('POST', `/api/organizations/${org.id}/jit/roles`, { organizationRoleIds: [machine.id] }))).toEqual([422, 'entity.db_constraint_violated']);
    expect(refused(await api('POST', `/api/organizations/${org.id}/jit/roles`, { organizationRoleIds: ['nope'] }))).toEqual([422, 'entity.relation_foreign_key_not_found']);
    expect(refused(await api('POST', `/api/organizations/${org.id}/jit/roles`, { organizationRoleIds: [] }))).toEqual([400, 'guard.invalid_input']);
    expect(refused(await api('POST', '/api/organizations/nope/jit/roles', { organizationRoleIds: [reader.id] }))).toEqual([422, 'entity.relation_foreign_key_not_found']);
    expect(refused(await api('GET', '/api/organizations/nope/jit/roles'))).toEqual([404, 'entity.not_exists_with_id']);
    ok(await api('PUT', `/api/organizations/${org.id}/jit/roles`, { organizationRoleIds: [reader.id, writer.id] }), 204);
    const paged = await api('GET', `/api/organizations/${org.id}/jit/roles?page=1&page_size=1`);
    expect(ids(paged)).toEqual([writer.id]); // by name
    expect(paged.headers.get('total-number')).toBe('2');

    const domain = `${uniq('jitr')}.example`;
    ok(await api('POST', `/api/organizations/${org.id}/jit/email-domains`, { emailDomain: domain }), 201);
    const hook = await api('POST', '/api/hooks', { name: 'jit', events: ['Organization.Membership.Updated'], config: { url: receiver.url } });
    ok(hook, 201);
    try {
      const joined = await newUser(`new@${domain}`);
      expect(ids(await api('GET', `/api/organizations/${org.id}/users/${joined.id}/roles`))).toEqual([writer.id, reader.id]);
      // Verifying later: joins then, with the roles, and reports it too.
      const later = await newUser(`later@${domain}`, false);
      expect(await t.app.services.organizations.isMember(org.id, later.id)).toBe(false);
      await t.app.services.users.update(later.id, { emailVerified: true });
      expect(ids(await api('GET', `/api/organizations/${org.id}/users/${later.id}/roles`))).toEqual([writer.id, reader.id]);
      // A manual add for comparison.
      const manual = await newUser();
      ok(await api('POST', `/api/organizations/${org.id}/users`, { userIds: [manual.id] }), 201);

      const mine = () => receiver.of('Organization.Membership.Updated').filter((e) => e.organizationId === org.id);
      await receiver.until(() => mine().length >= 3);
      const events = mine();
      const jitEvent = events.find((e) => e.addedUserIds?.[0] === joined.id);
      const laterEvent = events.find((e) => e.addedUserIds?.[0] === later.id);
      const manualEvent = events.find((e) => e.addedUserIds?.[0] === manual.id);
      expect(jitEvent).toMatchObject({ event: 'Organization.Membership.Updated', organizationId: org.id, addedUserIds: [joined.id] });
      expect(laterEvent).toMatchObject({ organizationId: org.id, addedUserIds: [later.id] });
      // The same event body as a manual add, but for the request context (a JIT join here has no request).
      const CONTEXT = ['createdAt', 'hookId', 'ip', 'userAgent', 'path', 'method', 'matchedRoute', 'params', 'status', 'application'];
      const body = (e: Record<string, unknown>) => Object.keys(e).filter((k) => !CONTEXT.includes(k)).sort();
      expect(body(jitEvent)).toEqual(body(manualEvent));
      expect(body(jitEvent)).toEqual(['addedUserIds', 'data', 'event', 'organizationId']);
      expect(jitEvent.data).toEqual(manualEvent.data);
      // Another user elsewhere joins nothing and reports nothing for this organization.
      await newUser(`x@${uniq('other')}.example`);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(mine()).toHaveLength(3);
    } finally {
      await api('DELETE', `/api/hooks/${hook.body.id}`);
    }

    ok(await api('DELETE', `/api/organizations/${org.id}/jit/roles/${writer.id}`), 204);
    expect(refused(await api('DELETE', `/api/organizations/${org.id}/jit/roles/${writer.id}`))).toEqual([404, 'entity.not_found']);
    expect((await api('GET', `/api/organizations/${org.id}/jit/roles`)).body).toEqual([reader]);
    // Deleting the role takes it off the JIT list.
    ok(await api('DELETE', `/api/organization-roles/${reader.id}`), 204);
    expect((await api('GET', `/api/organizations/${org.id}/jit/roles`)).body).toEqual([]);
  });

  it('JIT SSO connectors: none here, as Logto answers a tenant without any (empty list, 422 for ids, 404 for a relation)', async () => {
    const org = await newOrg();
    const list = await api('GET', `/api/organizations/${org.id}/jit/sso-connectors`);
    ok(list, 200);
    expect(list.body).toEqual([]);
    const paged = await api('GET', `/api/organizations/${org.id}/jit/sso-connectors?page=1&page_size=10`);
    expect(paged.body).toEqual([]);
    expect(paged.headers.get('total-number')).toBe('0');
    expect(refused(await api('POST', `/api/organizations/${org.id}/jit/sso-connectors`, { ssoConnectorIds: ['okta'] }))).toEqual([422, 'entity.relation_foreign_key_not_found']);
    ok(await api('PUT', `/api/organizations/${org.id}/jit/sso-connectors`, { ssoConnectorIds: [] }), 204);
    expect(refused(await api('PUT', `/api/organizations/${org.id}/jit/sso-connectors`, { ssoConnectorIds: ['okta'] }))).toEqual([422, 'entity.relation_foreign_key_not_found']);
    expect(refused(await api('DELETE', `/api/organizations/${org.id}/jit/sso-connectors/okta`))).toEqual([404, 'entity.not_found']);
    expect(refused(await api('GET', '/api/organizations/nope/jit/sso-connectors'))).toEqual([404, 'entity.not_exists_with_id']);
  });

  it('the accept route: 400 account_center.not_enabled while the account center is off; 403 for a third-party application token; a first-party token accepts', async () => {
    const org = await newOrg();
    const email = `${uniq('acc')}@example.com`;
    const invited = await newUser(email);
    const before = smtp.messages.length;
    const created = await api('POST', '/api/organization-invitations', { invitee: email, organizationId: org.id, expiresAt: Date.now() + 3_600_000, messagePayload: {} });
    ok(created, 201);
    const { token: secret } = await mailedToken(email, before);
    const accept = (bearer: string) => api('POST', `/api/my-account/organization-invitations/${created.body.id}/accept`, { token: secret }, bearer);

    ok(await api('PATCH', '/api/account-center', { enabled: false }), 200);
    try {
      expect(refused(await accept(invited.session))).toEqual([400, 'account_center.not_enabled']);
      expect((await accept('not-a-token')).status).toBe(401);
    } finally {
      ok(await api('PATCH', '/api/account-center', { enabled: true }), 200);
    }

    const third = await t.app.services.applications.create({ name: uniq('Partner'), type: 'traditional', redirectUris: ['https://partner.example.com/cb'], isThirdParty: true });
    const first = await t.app.services.applications.create({ name: uniq('Own'), type: 'traditional', redirectUris: ['https://own.example.com/cb'] });
    expect(refused(await accept(await mint(invited.id, third.application.id)))).toEqual([403, 'auth.third_party_application_forbidden']);
    expect(await t.app.services.organizations.isMember(org.id, invited.id)).toBe(false);
    expect((await api('GET', `/api/organization-invitations/${created.body.id}`)).body.status).toBe('Pending');
    const accepted = await accept(await mint(invited.id, first.application.id));
    ok(accepted, 200);
    expect(accepted.body).toMatchObject({ status: 'Accepted', acceptedUserId: invited.id });
  });

  it('branding: stored and returned on create, get, list, patch (replaced whole), user organizations; bad URLs refused', async () => {
    const plain = await newOrg();
    expect(plain).toMatchObject({ branding: {}, isMfaRequired: false });
    const branding = { logoUrl: 'https://cdn.example.com/logo.png', favicon: 'https://cdn.example.com/favicon.ico' };
    const org = await newOrg({ branding, isMfaRequired: true });
    expect(org).toMatchObject({ branding, isMfaRequired: true });
    expect((await api('GET', `/api/organizations/${org.id}`)).body.branding).toEqual(branding);
    expect((await api('GET', `/api/organizations?q=${encodeURIComponent(org.name)}`)).body[0].branding).toEqual(branding);

    const dark = { darkLogoUrl: 'https://cdn.example.com/dark.png', darkFavicon: 'http://cdn.example.com/dark.ico' };
    const patched = await api('PATCH', `/api/organizations/${org.id}`, { branding: dark });
    ok(patched, 200);
    expect(patched.body.branding).toEqual(dark);
    const renamed = await api('PATCH', `/api/organizations/${org.id}`, { name: 'Renamed' });
    expect(renamed.body).toMatchObject({ name: 'Renamed', branding: dark, isMfaRequired: true });
    expect((await api('GET', `/api/organizations/${org.id}`)).body).toEqual(renamed.body);

    const member = await newUser();
    ok(await api('POST', `/api/organizations/${org.id}/users`, { userIds: [member.id] }), 201);
    expect((await api('GET', `/api/users/${member.id}/organizations`)).body[0]).toMatchObject({ id: org.id, branding: dark });

    expect(refused(await api('POST', '/api/organizations', { name: 'Zq9BadBrand', branding: { logoUrl: 'javascript:alert(1)' } }))[0]).toBe(400);
    expect(refused(await api('PATCH', `/api/organizations/${org.id}`, { branding: { favicon: 'not a url' } }))[0]).toBe(400);
    expect(refused(await api('PATCH', `/api/organizations/${org.id}`, { branding: { logoUrl: 42 } }))[0]).toBe(400);
    expect(refused(await api('PATCH', '/api/organizations/nope', { branding: dark }))[0]).toBe(404);
    // Nothing was kept from the refused writes.
    expect((await api('GET', `/api/organizations/${org.id}`)).body.branding).toEqual(dark);
    expect(ids(await api('GET', '/api/organizations?q=Zq9BadBrand&page_size=100')).length).toBe(0);
  });
});

describe.each(dialects)('Authing hasRole (authing-js-sdk) on %s', (_name, database: DatabaseFactory) => {
  const APP_ID = 'tessera-authing-roles';
  const SECRET = 'authing-roles-secret-0123456789';
  const PW = 'violet-harbor-7-lantern';
  let t: RunningApp;
  let db: Awaited<ReturnType<DatabaseFactory>>;
  let mgmt: string;

  beforeAll(async () => {
    db = await database();
    t = await startAppWithPublicUrl({
      databaseUrl: db.url,
      adminClientId: ADMIN_ID,
      adminClientSecret: ADMIN_SECRET,
      authing: { appId: APP_ID, secret: SECRET },
      rateLimit: { signInPerMinute: 1000, signUpPerHour: 1000, managementPer10Seconds: 100_000 },
    });
    mgmt = await managementToken(t.base, ADMIN_ID, ADMIN_SECRET);
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });
  const m = async (method: string, path: string, body?: unknown) => {
    const res = await t.call(method, path, { body, token: mgmt });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };

  it("hasRole answers from the user's RBAC roles (role name = Authing code, default namespace); another user's id is refused", async () => {
    const role = await m('POST', '/api/roles', { name: uniq('editor-'), description: 'Edits' });
    expect(role.status).toBe(200);
    const other = await m('POST', '/api/roles', { name: uniq('viewer-'), description: 'Views' });
    const client = new AuthenticationClient({ appId: APP_ID, appHost: t.base });
    const user = await client.registerByUsername(uniq('hr'), PW);
    await client.loginByUsername(user.username!, PW);
    expect(await client.hasRole(role.body.name)).toBe(false);
    expect((await m('POST', `/api/users/${user.id}/roles`, { roleIds: [role.body.id] })).status).toBe(201);
    expect(await client.hasRole(role.body.name)).toBe(true);
    expect(await client.hasRole(other.body.name)).toBe(false);
    expect(await client.hasRole(role.body.name, 'default')).toBe(true);
    expect(await client.hasRole(role.body.name, 'another-group')).toBe(false);

    // The wire answer: `{data: {user: {roles: {totalCount, list}}}}`, Authing's role shape.
    const documents = (await import('authing-js-sdk/build/main/types/graphql.v2.js')) as unknown as { GetUserRolesDocument: string };
    const graphql = async (id: string, bearer?: string) => {
      const res = await fetch(`${t.base}/graphql/v2`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-authing-app-id': APP_ID, ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
        body: JSON.stringify({ query: documents.GetUserRolesDocument, variables: { id } }),
      });
      expect(res.status).toBe(200);
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      return (await res.json()) as any;
    };
    const own = await graphql(user.id, client.tokenProvider.getToken() as string);
    expect(own.data.user.roles).toEqual({
      totalCount: 1,
      list: [{ id: role.body.id, code: role.body.name, namespace: 'default', arn: expect.stringContaining(`:role:${role.body.name}`), description: 'Edits', createdAt: expect.any(String), updatedAt: expect.any(String), parent: null }],
    });
    // Without a token, and with another user's id: refused (2020), nothing disclosed.
    expect((await graphql(user.id)).errors[0].message.code).toBe(2020);
    const stranger = await new AuthenticationClient({ appId: APP_ID, appHost: t.base }).registerByUsername(uniq('st'), PW);
    const denied = await graphql(stranger.id, client.tokenProvider.getToken() as string);
    expect(denied.data).toBeNull();
    expect(denied.errors[0].message.code).toBe(2020);
  });
});
