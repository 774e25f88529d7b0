import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type DatabaseFactory, dialects, type RunningApp, startAppWithPublicUrl } from './helpers.js';
import { type SmtpSink, startSmtpSink } from './peers.js';
import { Receiver } from './webhook-receiver.js';

/**
 * Issue 18 item 4: organizations over real HTTP with an M2M Management API token, on SQLite and PostgreSQL,
 * in Logto's paths, shapes, statuses and codes (/work/notes-logto-rbac.md §4, §5): organizations, organization
 * roles and scopes, members and their roles, member applications, invitations mailed through a real SMTP sink
 * and accepted by the invited user (`POST /api/my-account/organization-invitations/:id/accept` with the
 * emailed token) or by an administrator (`PUT /api/organization-invitations/:id/status`), JIT email domains,
 * the cascade of an organization's delete, concurrent adds, and the webhook events.
 */

const ADMIN_ID = 'org-mgmt-admin';
const ADMIN_SECRET = 'org-mgmt-admin-secret-0123456789';
let seq = 0;
const uniq = (p = 'o') => `${p}${Date.now().toString(36)}${seq++}`;
const FAST = { webhooks: { retryBaseSeconds: 0.05, pollIntervalSeconds: 0.05, timeoutSeconds: 2 } };

describe.each(dialects)('organizations on %s', (_name, database: DatabaseFactory) => {
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
    const res = await fetch(`${t.base}/oidc/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${ADMIN_ID}:${ADMIN_SECRET}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource: `${t.base}/api`, scope: 'all' }).toString(),
    });
    expect(res.status).toBe(200);
    token = ((await res.json()) as { access_token: string }).access_token;
    // The invitation accept route is an Account API route: it needs the account center on.
    expect((await t.call('PATCH', '/api/account-center', { token, body: { enabled: true } })).status).toBe(200);
  });
  afterAll(async () => {
    await t.close();
    await receiver.close();
    await smtp.close();
    await db.drop();
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
  const ok = (a: Answer, status: number) => expect(a.status, JSON.stringify(a.body)).toBe(status);

  const newOrg = async (name = uniq('Acme ')) => {
    const r = await api('POST', '/api/organizations', { name, description: 'A tenant', customData: { tier: 'gold' } });
    ok(r, 201);
    return r.body as { id: string; name: string };
  };
  const newScope = async (name = uniq('read ')) => {
    const r = await api('POST', '/api/organization-scopes', { name });
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

  it('organizations: create (201), get, list with q and paging, patch (customData replaced), delete; Logto codes', async () => {
    const name = uniq('Zebra Corp ');
    const org = await newOrg(name);
    expect(org).toMatchObject({ tenantId: 'default', name, description: 'A tenant', customData: { tier: 'gold' }, isMfaRequired: false });
    expect(typeof (org as unknown as { createdAt: number }).createdAt).toBe('number');
    expect((await api('GET', `/api/organizations/${org.id}`)).body).toEqual(org);
    const list = await api('GET', `/api/organizations?q=${encodeURIComponent(name.slice(0, 12))}&page=1&page_size=5`);
    ok(list, 200);
    expect(list.body.map((o: { id: string }) => o.id)).toEqual([org.id]);
    expect(list.headers.get('total-number')).toBe('1');
    const patched = await api('PATCH', `/api/organizations/${org.id}`, { customData: { plan: 'x' }, isMfaRequired: true });
    expect(patched.body).toMatchObject({ customData: { plan: 'x' }, isMfaRequired: true, name });
    expect(refused(await api('GET', '/api/organizations/nope'))).toEqual([404, 'entity.not_exists_with_id']);
    expect(refused(await api('POST', '/api/organizations', { name: '' }))).toEqual([400, 'guard.invalid_input']);
    expect(refused(await api('POST', '/api/organizations', { name: 'x'.repeat(129) }))).toEqual([400, 'guard.invalid_input']);
    ok(await api('DELETE', `/api/organizations/${org.id}`), 204);
    expect(refused(await api('DELETE', `/api/organizations/${org.id}`))).toEqual([404, 'entity.not_found']);
  });

  it('organization scopes and roles: CRUD, scopes at creation in one transaction, relations, duplicates and unknown ids', async () => {
    const s1 = await newScope();
    const s2 = await newScope();
    expect(refused(await api('POST', '/api/organization-scopes', { name: s1.name }))).toEqual([422, 'entity.unique_integrity_violation']);
    const scopes = await api('GET', `/api/organization-scopes?q=${encodeURIComponent(s1.name)}`);
    expect(scopes.body.map((s: { id: string }) => s.id)).toEqual([s1.id]);
    expect(scopes.headers.get('total-number')).toBeNull();
    expect((await api('PATCH', `/api/organization-scopes/${s2.id}`, { description: 'Reads' })).body).toMatchObject({ id: s2.id, description: 'Reads' });

    const resource = await api('POST', '/api/resources', { name: 'Orders', indicator: `https://${uniq('api')}.example.com` });
    const read = await api('POST', `/api/resources/${resource.body.id}/scopes`, { name: 'orders:read' });
    const role = await newRole({ description: 'Admins', organizationScopeIds: [s1.id], resourceScopeIds: [read.body.id] });
    expect(role).toEqual({ tenantId: 'default', id: role.id, name: role.name, description: 'Admins', type: 'User' });
    const listed = await api('GET', `/api/organization-roles?q=${role.name}`);
    expect(listed.body[0]).toMatchObject({
      id: role.id,
      scopes: [{ id: s1.id, name: s1.name }],
      resourceScopes: [{ id: read.body.id, name: 'orders:read', resource: { id: resource.body.id, name: 'Orders' } }],
    });
    expect(listed.headers.get('total-number')).toBe('1');
    // An unknown scope id keeps no role (one transaction), and the name stays free.
    const name = uniq('half-');
    expect(refused(await api('POST', '/api/organization-roles', { name, organizationScopeIds: ['nope'] }))).toEqual([422, 'entity.relation_foreign_key_not_found']);
    expect((await api('GET', `/api/organization-roles?q=${name}`)).body).toEqual([]);
    expect(refused(await api('POST', '/api/organization-roles', { name: role.name }))).toEqual([422, 'entity.unique_integrity_violation']);

    ok(await api('POST', `/api/organization-roles/${role.id}/scopes`, { organizationScopeIds: [s2.id, s1.id] }), 201);
    expect((await api('GET', `/api/organization-roles/${role.id}/scopes`)).body.map((s: { id: string }) => s.id).sort()).toEqual([s1.id, s2.id].sort());
    ok(await api('PUT', `/api/organization-roles/${role.id}/scopes`, { organizationScopeIds: [s2.id] }), 204);
    ok(await api('DELETE', `/api/organization-roles/${role.id}/scopes/${s2.id}`), 204);
    expect(refused(await api('DELETE', `/api/organization-roles/${role.id}/scopes/${s2.id}`))).toEqual([404, 'entity.not_found']);
    expect((await api('GET', `/api/organization-roles/${role.id}/resource-scopes`)).body.map((s: { name: string }) => s.name)).toEqual(['orders:read']);
    ok(await api('PUT', `/api/organization-roles/${role.id}/resource-scopes`, { scopeIds: [] }), 204);
    expect(refused(await api('POST', `/api/organization-roles/${role.id}/resource-scopes`, { scopeIds: ['nope'] }))).toEqual([422, 'entity.relation_foreign_key_not_found']);
    expect((await api('PATCH', `/api/organization-roles/${role.id}`, { type: 'MachineToMachine' })).body.type).toBe('MachineToMachine');
    expect(refused(await api('GET', '/api/organization-roles/nope'))).toEqual([404, 'entity.not_found']);
    ok(await api('DELETE', `/api/organization-scopes/${s1.id}`), 204);
    ok(await api('DELETE', `/api/organization-roles/${role.id}`), 204);
    expect(refused(await api('DELETE', `/api/organization-roles/${role.id}`))).toEqual([404, 'entity.not_found']);
  });

  it('members and their roles: add, list with roles, roles by id or name, membership required, scopes, leaving drops roles', async () => {
    const org = await newOrg();
    const scope = await newScope();
    const viewer = await newRole({ organizationScopeIds: [scope.id] });
    const machine = await newRole({ type: 'MachineToMachine' });
    const [ann, bob, outsider] = [await newUser(), await newUser(), await newUser()];
    const added = await api('POST', `/api/organizations/${org.id}/users`, { userIds: [ann.id, bob.id, ann.id] });
    ok(added, 201);
    expect(added.body).toEqual({ userIds: [ann.id, bob.id, ann.id] });
    expect(refused(await api('POST', `/api/organizations/${org.id}/users`, { userIds: ['nope'] }))).toEqual([422, 'entity.relation_foreign_key_not_found']);
    expect(refused(await api('POST', `/api/organizations/${org.id}/users`, { userIds: [] }))).toEqual([400, 'guard.invalid_input']);

    const byName = await api('POST', `/api/organizations/${org.id}/users/${ann.id}/roles`, { organizationRoleNames: [viewer.name] });
    ok(byName, 201);
    expect(byName.body).toEqual({ organizationRoleIds: [viewer.id] });
    expect(refused(await api('POST', `/api/organizations/${org.id}/users/${ann.id}/roles`, { organizationRoleNames: ['no such role'] }))).toEqual([422, 'organization.role_names_not_found']);
    expect(refused(await api('POST', `/api/organizations/${org.id}/users/${ann.id}/roles`, { organizationRoleIds: [machine.id] }))).toEqual([422, 'entity.db_constraint_violated']);
    expect(refused(await api('POST', `/api/organizations/${org.id}/users/${outsider.id}/roles`, { organizationRoleIds: [viewer.id] }))).toEqual([422, 'organization.require_membership']);
    expect(refused(await api('GET', `/api/organizations/${org.id}/users/${outsider.id}/roles`))).toEqual([422, 'organization.require_membership']);
    expect(refused(await api('POST', `/api/organizations/${org.id}/users/roles`, { userIds: [outsider.id], organizationRoleIds: [viewer.id] }))).toEqual([422, 'entity.relation_foreign_key_not_found']);
    ok(await api('POST', `/api/organizations/${org.id}/users/roles`, { userIds: [bob.id], organizationRoleIds: [viewer.id] }), 201);

    const members = await api('GET', `/api/organizations/${org.id}/users?page=1&page_size=10`);
    ok(members, 200);
    expect(members.headers.get('total-number')).toBe('2');
    // Added together: same membership time, so by user id.
    expect(members.body.map((m: { id: string; organizationRoles: unknown }) => [m.id, m.organizationRoles])).toEqual(
      [ann.id, bob.id].sort().map((id) => [id, [{ id: viewer.id, name: viewer.name }]]),
    );
    expect((await api('GET', `/api/organizations/${org.id}/users?organizationRoleId=${viewer.id}`)).body).toHaveLength(2);
    expect((await api('GET', `/api/organizations/${org.id}/users/${ann.id}/scopes`)).body).toEqual([{ tenantId: 'default', id: scope.id, name: scope.name, description: null }]);
    expect((await api('GET', `/api/users/${ann.id}/organizations`)).body).toEqual([expect.objectContaining({ id: org.id, organizationRoles: [{ id: viewer.id, name: viewer.name }] })]);
    expect(refused(await api('GET', '/api/users/nope/organizations'))).toEqual([404, 'entity.not_exists_with_id']);

    // The domain methods the OIDC organization tokens use.
    const orgs = t.app.services.organizations;
    expect(await orgs.isMember(org.id, ann.id)).toBe(true);
    expect(await orgs.isMember(org.id, outsider.id)).toBe(false);
    expect(await orgs.userOrganizationScopes(org.id, ann.id)).toEqual([scope.name]);
    expect((await orgs.userOrganizations(ann.id)).map((o) => [o.organization.id, o.roles.map((r) => r.name)])).toEqual([[org.id, [viewer.name]]]);

    ok(await api('PUT', `/api/organizations/${org.id}/users/${ann.id}/roles`, { organizationRoleIds: [] }), 204);
    expect((await api('GET', `/api/organizations/${org.id}/users/${ann.id}/roles`)).body).toEqual([]);
    ok(await api('DELETE', `/api/organizations/${org.id}/users/${bob.id}/roles/${viewer.id}`), 204);
    expect(refused(await api('DELETE', `/api/organizations/${org.id}/users/${bob.id}/roles/${viewer.id}`))).toEqual([404, 'entity.not_found']);
    ok(await api('POST', `/api/organizations/${org.id}/users/${bob.id}/roles`, { organizationRoleIds: [viewer.id] }), 201);
    ok(await api('DELETE', `/api/organizations/${org.id}/users/${bob.id}`), 204);
    expect(refused(await api('DELETE', `/api/organizations/${org.id}/users/${bob.id}`))).toEqual([404, 'entity.not_found']);
    // Back as a member, bob holds no role: leaving dropped them.
    ok(await api('POST', `/api/organizations/${org.id}/users`, { userIds: [bob.id] }), 201);
    expect((await api('GET', `/api/organizations/${org.id}/users/${bob.id}/roles`)).body).toEqual([]);
    ok(await api('PUT', `/api/organizations/${org.id}/users`, { userIds: [ann.id] }), 204);
    expect((await api('GET', `/api/organizations/${org.id}/users`)).body.map((m: { id: string }) => m.id)).toEqual([ann.id]);
  });

  it('member applications: machine-to-machine only, MachineToMachine roles, organization scopes for client credentials', async () => {
    const org = await newOrg();
    const scope = await newScope();
    const machine = await newRole({ type: 'MachineToMachine', organizationScopeIds: [scope.id] });
    const userRole = await newRole();
    const m2m = await newApp();
    const spa = await newApp('SPA');
    expect(refused(await api('POST', `/api/organizations/${org.id}/applications`, { applicationIds: [spa.id] }))).toEqual([422, 'entity.db_constraint_violated']);
    ok(await api('POST', `/api/organizations/${org.id}/applications`, { applicationIds: [m2m.id] }), 201);
    expect(refused(await api('POST', `/api/organizations/${org.id}/applications/${m2m.id}/roles`, { organizationRoleIds: [userRole.id] }))).toEqual([422, 'entity.db_constraint_violated']);
    ok(await api('POST', `/api/organizations/${org.id}/applications/${m2m.id}/roles`, { organizationRoleIds: [machine.id] }), 201);
    const listed = await api('GET', `/api/organizations/${org.id}/applications`);
    expect(listed.body).toEqual([expect.objectContaining({ id: m2m.id, type: 'MachineToMachine', organizationRoles: [{ id: machine.id, name: machine.name }] })]);
    expect((await api('GET', `/api/organizations/${org.id}/applications/${m2m.id}/roles`)).body.map((r: { id: string }) => r.id)).toEqual([machine.id]);
    expect(await t.app.services.organizations.isApplicationMember(org.id, m2m.id)).toBe(true);
    expect(await t.app.services.organizations.applicationOrganizationScopes(org.id, m2m.id)).toEqual([scope.name]);
    expect(refused(await api('GET', `/api/organizations/${org.id}/applications/${spa.id}/roles`))).toEqual([422, 'organization.require_membership']);
    ok(await api('DELETE', `/api/organizations/${org.id}/applications/${m2m.id}`), 204);
    expect(await t.app.services.organizations.applicationOrganizationScopes(org.id, m2m.id)).toEqual([]);
  });

  it('invitations: mailed token, accepted once by the invited user (verified email) with membership and roles; wrong user, wrong token, reuse, expiry refused', async () => {
    const org = await newOrg();
    const viewer = await newRole({ name: uniq('b-viewer-') });
    const editor = await newRole({ name: uniq('a-editor-') });
    const email = `${uniq('invitee')}@Example.com`;
    const invited = await newUser(email.toLowerCase());
    const stranger = await newUser(`${uniq('stranger')}@example.com`);
    const unverified = await newUser(`${uniq('unv')}@example.net`, false);

    const created = await api('POST', '/api/organization-invitations', {
      invitee: email,
      organizationId: org.id,
      expiresAt: Date.now() + 3_600_000,
      organizationRoleIds: [viewer.id, editor.id],
      messagePayload: { locale: 'en' },
    });
    ok(created, 201);
    expect(created.body).toMatchObject({ invitee: email.toLowerCase(), status: 'Pending', organizationId: org.id, acceptedUserId: null, inviterId: null });
    expect(created.body.organizationRoles.map((r: { id: string }) => r.id)).toEqual([editor.id, viewer.id]);
    expect(JSON.stringify(created.body)).not.toMatch(/token/i);
    const mail = await smtp.waitFor((m) => m.envelope.to.includes(email.toLowerCase()));
    expect(mail.subject).toBe('You are invited to join an organization');
    const link = /(http:\/\/\S+\/api\/my-account\/organization-invitations\/\S+)/.exec(mail.text)![1]!;
    const url = new URL(link);
    expect(url.pathname).toBe(`/api/my-account/organization-invitations/${created.body.id}/accept`);
    const secret = url.searchParams.get('token')!;
    expect(url.searchParams.get('invitationId')).toBe(created.body.id);
    expect(Buffer.from(secret, 'base64url').length).toBeGreaterThanOrEqual(16);
    expect(mail.text).toContain(secret);

    // Another pending invitation of the same invitee and organization is refused.
    expect(refused(await api('POST', '/api/organization-invitations', { invitee: email, organizationId: org.id, expiresAt: Date.now() + 60_000 }))).toEqual([422, 'entity.unique_integrity_violation']);
    expect(refused(await api('POST', '/api/organization-invitations', { invitee: 'x@example.com', organizationId: org.id, expiresAt: Date.now() - 1 }))).toEqual([400, 'request.invalid_input']);
    expect(refused(await api('POST', '/api/organization-invitations', { invitee: 'not-an-email', organizationId: org.id, expiresAt: Date.now() + 60_000 }))).toEqual([400, 'guard.invalid_input']);
    expect(refused(await api('POST', '/api/organization-invitations', { invitee: 'x@example.com', organizationId: 'nope', expiresAt: Date.now() + 60_000 }))).toEqual([422, 'entity.relation_foreign_key_not_found']);

    const accept = (id: string, session: string, tokenValue: string) => api('POST', `/api/my-account/organization-invitations/${id}/accept`, { token: tokenValue }, session);
    expect(refused(await accept(created.body.id, stranger.session, secret))).toEqual([403, 'organization.invitee_mismatch']);
    expect(refused(await accept(created.body.id, invited.session, `${secret}x`))).toEqual([403, 'organization.invitation_invalid_token']);
    expect(refused(await api('POST', `/api/my-account/organization-invitations/${created.body.id}/accept`, { token: secret }, 'not-a-token'))[0]).toBe(401);
    expect(await t.app.services.organizations.isMember(org.id, invited.id)).toBe(false);

    const accepted = await accept(created.body.id, invited.session, secret);
    ok(accepted, 200);
    expect(accepted.body).toMatchObject({ status: 'Accepted', acceptedUserId: invited.id });
    expect((await api('GET', `/api/organizations/${org.id}/users/${invited.id}/roles`)).body.map((r: { id: string }) => r.id)).toEqual([editor.id, viewer.id]);
    expect(refused(await accept(created.body.id, invited.session, secret))).toEqual([422, 'organization.invitation_not_pending']);
    expect(refused(await api('PUT', `/api/organization-invitations/${created.body.id}/status`, { status: 'Revoked' }))).toEqual([422, 'request.invalid_input']);
    // A member cannot be invited again.
    expect(refused(await api('POST', '/api/organization-invitations', { invitee: email, organizationId: org.id, expiresAt: Date.now() + 60_000 }))).toEqual([422, 'request.invalid_input']);

    // An expired invitation cannot be accepted (and reads Expired).
    const short = await api('POST', '/api/organization-invitations', { invitee: stranger.id.slice(0, 4) + '@example.org', organizationId: org.id, expiresAt: Date.now() + 300 });
    ok(short, 201);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect((await api('GET', `/api/organization-invitations/${short.body.id}`)).body.status).toBe('Expired');
    expect(refused(await api('PUT', `/api/organization-invitations/${short.body.id}/status`, { status: 'Accepted', acceptedUserId: stranger.id }))).toEqual([422, 'request.invalid_input']);

    // The administrator's accept (Logto's PUT …/status): the user's verified email must be the invitee.
    const unvInvite = await api('POST', '/api/organization-invitations', { invitee: `${uniq('unv2')}@example.net`, organizationId: org.id, expiresAt: Date.now() + 60_000 });
    expect(refused(await api('PUT', `/api/organization-invitations/${unvInvite.body.id}/status`, { status: 'Accepted', acceptedUserId: unverified.id }))).toEqual([422, 'request.invalid_input']);
    expect(refused(await api('PUT', `/api/organization-invitations/${unvInvite.body.id}/status`, { status: 'Accepted' }))).toEqual([422, 'request.invalid_input']);
    const strangerInvite = await api('POST', '/api/organization-invitations', { invitee: (await t.app.services.users.require(stranger.id)).primaryEmail, organizationId: org.id, expiresAt: Date.now() + 60_000, organizationRoleIds: [viewer.id] });
    ok(strangerInvite, 201);
    const byAdmin = await api('PUT', `/api/organization-invitations/${strangerInvite.body.id}/status`, { status: 'Accepted', acceptedUserId: stranger.id });
    ok(byAdmin, 200);
    expect(await t.app.services.organizations.isMember(org.id, stranger.id)).toBe(true);
    const revoked = await api('PUT', `/api/organization-invitations/${unvInvite.body.id}/status`, { status: 'Revoked' });
    expect(revoked.body.status).toBe('Revoked');

    const listed = await api('GET', `/api/organization-invitations?organizationId=${org.id}`);
    expect(listed.body.map((i: { id: string }) => i.id)).toEqual([strangerInvite.body.id, unvInvite.body.id, short.body.id, created.body.id]);
    expect((await api('GET', `/api/organization-invitations?invitee=${encodeURIComponent(email.toUpperCase())}`)).body.map((i: { id: string }) => i.id)).toEqual([created.body.id]);
    ok(await api('DELETE', `/api/organization-invitations/${short.body.id}`), 204);
    expect(refused(await api('GET', `/api/organization-invitations/${short.body.id}`))).toEqual([404, 'entity.not_found']);
  });

  it('JIT: a new user whose verified email is at a listed domain joins; unverified or other domains do not', async () => {
    const org = await newOrg();
    const domain = `${uniq('jit')}.example`;
    const added = await api('POST', `/api/organizations/${org.id}/jit/email-domains`, { emailDomain: domain.toUpperCase() });
    ok(added, 201);
    expect(added.body).toEqual({ tenantId: 'default', organizationId: org.id, emailDomain: domain });
    expect(refused(await api('POST', `/api/organizations/${org.id}/jit/email-domains`, { emailDomain: domain }))).toEqual([422, 'entity.unique_integrity_violation']);
    expect(refused(await api('POST', `/api/organizations/${org.id}/jit/email-domains`, { emailDomain: 'not a domain' }))).toEqual([400, 'guard.invalid_input']);
    expect((await api('GET', `/api/organizations/${org.id}/jit/email-domains`)).body).toEqual([added.body]);
    const joined = await newUser(`new@${domain}`);
    const unverified = await newUser(`other@${domain}`, false);
    const elsewhere = await newUser(`x@${uniq('other')}.example`);
    expect(await t.app.services.organizations.isMember(org.id, joined.id)).toBe(true);
    expect(await t.app.services.organizations.isMember(org.id, unverified.id)).toBe(false);
    expect(await t.app.services.organizations.isMember(org.id, elsewhere.id)).toBe(false);
    // Verifying the email later takes the user in.
    await t.app.services.users.update(unverified.id, { emailVerified: true });
    expect(await t.app.services.organizations.isMember(org.id, unverified.id)).toBe(true);
    ok(await api('PUT', `/api/organizations/${org.id}/jit/email-domains`, { emailDomains: ['a.example', 'b.example'] }), 204);
    expect((await api('GET', `/api/organizations/${org.id}/jit/email-domains`)).body.map((d: { emailDomain: string }) => d.emailDomain)).toEqual(['a.example', 'b.example']);
    ok(await api('DELETE', `/api/organizations/${org.id}/jit/email-domains/a.example`), 204);
    expect(refused(await api('DELETE', `/api/organizations/${org.id}/jit/email-domains/a.example`))).toEqual([404, 'entity.not_found']);
  });

  it('deleting an organization removes its memberships, member roles and invitations in one transaction', async () => {
    const org = await newOrg();
    const role = await newRole();
    const u = await newUser(`${uniq('del')}@example.com`);
    ok(await api('POST', `/api/organizations/${org.id}/users`, { userIds: [u.id] }), 201);
    ok(await api('POST', `/api/organizations/${org.id}/users/${u.id}/roles`, { organizationRoleIds: [role.id] }), 201);
    const inv = await api('POST', '/api/organization-invitations', { invitee: 'later@example.com', organizationId: org.id, expiresAt: Date.now() + 60_000 });
    ok(inv, 201);
    ok(await api('DELETE', `/api/organizations/${org.id}`), 204);
    expect((await api('GET', `/api/users/${u.id}/organizations`)).body).toEqual([]);
    expect(await t.app.services.store.organizations.userRoles(org.id, [u.id])).toEqual([]);
    expect(refused(await api('GET', `/api/organization-invitations/${inv.body.id}`))).toEqual([404, 'entity.not_found']);
    expect((await api('GET', `/api/organization-roles/${role.id}`)).status).toBe(200);
  });

  it('20 concurrent adds of one member: one membership, no 5xx, one Organization.Membership.Updated', async () => {
    const hook = await api('POST', '/api/hooks', { name: 'orgs', events: ['Organization.Membership.Updated'], config: { url: receiver.url } });
    ok(hook, 201);
    try {
      const org = await newOrg();
      const u = await newUser();
      const answers = await Promise.all(Array.from({ length: 20 }, () => api('POST', `/api/organizations/${org.id}/users`, { userIds: [u.id] })));
      expect(answers.map((a) => a.status)).toEqual(Array(20).fill(201));
      const members = await api('GET', `/api/organizations/${org.id}/users`);
      expect(members.body.map((m: { id: string }) => m.id)).toEqual([u.id]);
      await receiver.until(() => receiver.of('Organization.Membership.Updated').length >= 1);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const events = receiver.of('Organization.Membership.Updated').filter((e) => e.organizationId === org.id);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ organizationId: org.id, addedUserIds: [u.id], method: 'POST', matchedRoute: '/organizations/:id/users' });
    } finally {
      await api('DELETE', `/api/hooks/${hook.body.id}`);
    }
  });

  it('webhooks: Organization.*, OrganizationRole.*, OrganizationScope.*, Organization.Membership.Updated with Logto payloads', async () => {
    const events = [
      'Organization.Created',
      'Organization.Data.Updated',
      'Organization.Deleted',
      'Organization.Membership.Updated',
      'OrganizationRole.Created',
      'OrganizationRole.Scopes.Updated',
      'OrganizationRole.Deleted',
      'OrganizationScope.Created',
      'OrganizationScope.Data.Updated',
    ];
    const hook = await api('POST', '/api/hooks', { name: 'orgs-all', events, config: { url: receiver.url } });
    ok(hook, 201);
    try {
      const org = await newOrg();
      await api('PATCH', `/api/organizations/${org.id}`, { name: 'Renamed' });
      const scope = await newScope();
      await api('PATCH', `/api/organization-scopes/${scope.id}`, { description: 'd' });
      const role = await newRole({ organizationScopeIds: [scope.id] });
      const u = await newUser();
      await api('POST', `/api/organizations/${org.id}/users`, { userIds: [u.id] });
      await api('DELETE', `/api/organizations/${org.id}/users/${u.id}`);
      await api('DELETE', `/api/organization-roles/${role.id}`);
      await api('DELETE', `/api/organizations/${org.id}`);
      await receiver.until(() => events.every((e) => receiver.of(e).length > 0));
      expect(receiver.of('Organization.Created')[0]).toMatchObject({ data: { id: org.id, name: org.name, customData: { tier: 'gold' } }, path: '/organizations', method: 'POST', matchedRoute: '/organizations' });
      expect(receiver.of('Organization.Data.Updated')[0].data).toMatchObject({ id: org.id, name: 'Renamed' });
      expect(receiver.of('OrganizationScope.Created')[0].data).toEqual({ id: scope.id, name: scope.name, description: null });
      expect(receiver.of('OrganizationRole.Created')[0].data).toMatchObject({ id: role.id, type: 'User' });
      expect(receiver.of('OrganizationRole.Scopes.Updated')[0]).toMatchObject({ organizationRoleId: role.id });
      const membership = receiver.of('Organization.Membership.Updated').filter((e) => e.organizationId === org.id);
      expect(membership.map((e) => [e.addedUserIds, e.removedUserIds])).toEqual([
        [[u.id], undefined],
        [undefined, [u.id]],
      ]);
      expect(receiver.of('Organization.Deleted')[0]).toMatchObject({ params: { id: org.id }, data: null });
    } finally {
      await api('DELETE', `/api/hooks/${hook.body.id}`);
    }
  });
});
