import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { isPlainObject } from '../../domain/leancloud/objects.js';
import type { LcCaller, LcCondition, LeanCloudUsers } from '../../domain/leancloud/users.js';
import { AppError } from '../../errors/index.js';
import { compileOrder, compileWhere, parsePaging, projectKeys, pushdownOrder, pushdownWhere } from './query.js';
import type { LcRequests } from './requests.js';
import { codeField, lcUpdated, type LcObject, parseJsonParam, readLogIn, readUserChanges, requestedKeys, toLcUser } from './wire.js';

/** What the `_User` routes need. */
export interface UserRoutesOptions {
  users: LeanCloudUsers;
  requests: LcRequests;
}

type Query = Record<string, string | undefined>;
type IdParams = { id: string };

const truthy = (v: string | undefined) => v === 'true' || v === '1';

/** 201 with LeanCloud's (relative) Location of the new user. */
function created(reply: FastifyReply, object: LcObject) {
  return reply.status(201).header('location', `/1.1/classes/_User/${String(object.objectId)}`).send(object);
}

/**
 * The `where=` of a conditional PUT/DELETE as a condition on the current user. `$regex` needs the master
 * key here: a pattern runs on the backtracking engine, so a client's pattern could block the server
 * (ReDoS).
 * @throws AppError `object.invalid_query` (102) for a bad `where` or `$regex` without the master key,
 *   `request.malformed_json`
 */
function conditionOf(caller: LcCaller, where: string | undefined): LcCondition | undefined {
  if (where === undefined || where === '') return undefined;
  // Compiled when first used: the domain checks the caller's right to write before it asks.
  let predicate: ((object: LcObject) => boolean) | undefined;
  return (view) => {
    predicate ??= compileWhere(parseJsonParam(where), { allowRegex: caller.master });
    return predicate(toLcUser(view));
  };
}

/**
 * `_User` endpoints under both spellings the SDK and the docs use (`/users…` and `/classes/_User…`):
 * sign-up and authData sign-up-or-login, login, usersByMobilePhone, users/me, get, update, delete,
 * query, refreshSessionToken and updatePassword. Bodies are read and answers rendered here
 * (`wire.ts`); the rules are `LeanCloudUsers`'.
 */
export const userRoutes: FastifyPluginAsync<UserRoutesOptions> = async (app, { users, requests }) => {
  const tags = ['leancloud'];

  const create = async (request: FastifyRequest, reply: FastifyReply) => {
    const body = requests.body(request);
    const caller = await requests.caller(request);
    const meta = requests.meta(request);
    const changes = readUserChanges(body, caller.master);
    if (body.authData !== undefined && isPlainObject(body.authData)) {
      const failOnNotExist = truthy((request.query as Query).failOnNotExist);
      const result = await users.logInWithAuthData(changes, { failOnNotExist }, meta);
      return result.created ? created(reply, toLcUser(result.view)) : reply.send(toLcUser(result.view));
    }
    return created(reply, toLcUser(await users.signUp(changes, meta)));
  };
  const summary = (s: string) => ({ schema: { tags, summary: s } });
  app.post('/users', summary('Sign up (username + password), or sign up / log in with authData'), create);
  app.post('/classes/_User', summary('Same as POST /1.1/users'), create);

  app.post('/login', summary('Log in with username, email or mobilePhoneNumber + password, or mobilePhoneNumber + smsCode'), async (request) =>
    toLcUser(await users.logIn(readLogIn(requests.body(request)), requests.meta(request))),
  );

  app.post('/usersByMobilePhone', summary('Sign up or log in with a phone number and SMS code'), async (request, reply) => {
    const caller = await requests.caller(request);
    const { mobilePhoneNumber, smsCode, ...rest } = requests.body(request);
    if (typeof mobilePhoneNumber !== 'string' || mobilePhoneNumber === '') throw new AppError('user.phone_required');
    const changes = readUserChanges(rest, caller.master);
    const result = await users.signUpOrLogInWithPhone({ phone: mobilePhoneNumber, code: codeField(smsCode), changes }, requests.meta(request));
    return result.created ? created(reply, toLcUser(result.view)) : reply.send(toLcUser(result.view));
  });

  app.get('/users/me', summary('The user of X-LC-Session, with its sessionToken (211 when the token is not valid)'), async (request) =>
    toLcUser(await users.me(await requests.caller(request, { withIdentities: true }))),
  );

  const get = async (request: FastifyRequest<{ Params: IdParams }>) => {
    const q = request.query as Query;
    const view = await users.get(await requests.caller(request), request.params.id);
    return projectKeys(toLcUser(view, { returnAcl: truthy(q.returnACL) }), q.keys);
  };
  app.get<{ Params: IdParams }>('/users/:id', summary('Fetch a user (ACL-checked; no sessionToken)'), get);
  app.get<{ Params: IdParams }>('/classes/_User/:id', summary('Same as GET /1.1/users/:id'), get);

  // `new=true` / `fetchWhenSave=true`: the answer also carries the new value of every field the request named.
  const update = async (request: FastifyRequest<{ Params: IdParams }>) => {
    const q = request.query as Query;
    const caller = await requests.caller(request);
    const body = requests.body(request);
    const condition = conditionOf(caller, q.where);
    const setsAcl = Object.hasOwn(body, 'ACL');
    const readChanges = () => readUserChanges(body, caller.master);
    const view = await users.update(caller, request.params.id, readChanges, { ...(condition ? { condition } : {}), withAcl: setsAcl }, requests.meta(request));
    const out = lcUpdated(view.user);
    if (truthy(q.new) || truthy(q.fetchWhenSave)) {
      const object = toLcUser(view, { returnAcl: setsAcl });
      const keys = requestedKeys(body);
      for (const key of keys) if (key !== 'password' && object[key] !== undefined) out[key] = object[key];
      if (keys.includes('authData') && out.authData === undefined) out.authData = {};
    }
    return out;
  };
  app.put<{ Params: IdParams }>('/users/:id', summary('Update a user (own session or master key)'), update);
  app.put<{ Params: IdParams }>('/classes/_User/:id', summary('Same as PUT /1.1/users/:id'), update);

  const remove = async (request: FastifyRequest<{ Params: IdParams }>) => {
    const caller = await requests.caller(request);
    const condition = conditionOf(caller, (request.query as Query).where);
    await users.delete(caller, request.params.id, condition ? { condition } : {});
    return {};
  };
  app.delete<{ Params: IdParams }>('/users/:id', summary('Delete a user (own session or master key)'), remove);
  app.delete<{ Params: IdParams }>('/classes/_User/:id', summary('Same as DELETE /1.1/users/:id'), remove);

  // The part of `where` on columns runs in the database (pushdownWhere). When that is the whole `where`
  // and `order` is on columns, the database also sorts, pages and counts, so only the page is read;
  // otherwise the matching users are read in id order and `where`, `order` and paging run here. The
  // compiled `where` is applied to every user either way (the database part only narrows).
  const find = async (request: FastifyRequest) => {
    const q = request.query as Query;
    const caller = await requests.caller(request);
    users.assertMayQuery(caller);
    const where = parseJsonParam(q.where);
    const predicate = compileWhere(where, { allowRegex: true });
    const order = compileOrder(q.order);
    const count = q.count === '1' || q.count === 'true';
    const paging = parsePaging(q.limit, q.skip, count);
    const returnAcl = truthy(q.returnACL);
    const pushed = pushdownWhere(where);
    const sqlOrder = pushed.exact ? pushdownOrder(q.order) : undefined;
    if (sqlOrder) {
      const page = await users.findPage(caller, { condition: pushed.condition, order: sqlOrder, limit: paging.limit, skip: paging.skip }, { count, withAcl: returnAcl });
      const results = page.views.map((view) => toLcUser(view, { returnAcl })).filter(predicate).map((o) => projectKeys(o, q.keys));
      return count ? { results, count: page.count ?? 0 } : { results };
    }
    const matched: LcObject[] = [];
    for await (const page of users.scan(caller, { condition: pushed.condition }, { withAcl: returnAcl })) {
      for (const view of page) {
        const object = toLcUser(view, { returnAcl });
        if (predicate(object)) matched.push(object);
      }
    }
    matched.sort(order);
    const results = matched.slice(paging.skip, paging.skip + paging.limit).map((o) => projectKeys(o, q.keys));
    return count ? { results, count: matched.length } : { results };
  };
  app.get('/users', summary('Query users (master key)'), find);
  app.get('/classes/_User', summary('Same as GET /1.1/users'), find);

  app.put<{ Params: IdParams }>('/users/:id/refreshSessionToken', summary('New sessionToken; ends the other sessions'), async (request) =>
    toLcUser(await users.refreshSessionToken(await requests.caller(request), request.params.id, requests.meta(request))),
  );
  app.put<{ Params: IdParams }>('/users/:id/updatePassword', summary('Change the password with old_password; returns a new sessionToken'), async (request) => {
    const body = requests.body(request);
    const text = (v: unknown) => (typeof v === 'string' ? v : '');
    const view = await users.updatePassword(await requests.caller(request), request.params.id, { oldPassword: text(body.old_password), newPassword: text(body.new_password) }, requests.meta(request));
    return { ...lcUpdated(view.user), sessionToken: view.issuedToken };
  });
};
