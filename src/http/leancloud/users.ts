import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { LcObject } from '../../domain/leancloud/objects.js';
import type { LeanCloudUsers } from '../../domain/leancloud/users.js';
import { isPlainObject } from '../../domain/leancloud/objects.js';
import type { LcRequests } from './requests.js';

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
 * `_User` endpoints under both spellings the SDK and the docs use (`/users…` and `/classes/_User…`):
 * sign-up and authData sign-up-or-login, login, usersByMobilePhone, users/me, get, update, delete,
 * query, refreshSessionToken and updatePassword.
 */
export const userRoutes: FastifyPluginAsync<UserRoutesOptions> = async (app, { users, requests }) => {
  const tags = ['leancloud'];

  const create = async (request: FastifyRequest, reply: FastifyReply) => {
    const body = requests.body(request);
    const caller = await requests.caller(request);
    const meta = requests.meta(request);
    if (body.authData !== undefined && isPlainObject(body.authData)) {
      const failOnNotExist = truthy((request.query as Query).failOnNotExist);
      const result = await users.logInWithAuthData(caller, body, { failOnNotExist }, meta);
      return result.created ? created(reply, result.object) : reply.send(result.object);
    }
    return created(reply, await users.signUp(caller, body, meta));
  };
  const summary = (s: string) => ({ schema: { tags, summary: s } });
  app.post('/users', summary('Sign up (username + password), or sign up / log in with authData'), create);
  app.post('/classes/_User', summary('Same as POST /1.1/users'), create);

  app.post('/login', summary('Log in with username, email or mobilePhoneNumber + password, or mobilePhoneNumber + smsCode'), async (request) =>
    users.logIn(requests.body(request), requests.meta(request)),
  );

  app.post('/usersByMobilePhone', summary('Sign up or log in with a phone number and SMS code'), async (request, reply) => {
    const result = await users.signUpOrLogInWithPhone(await requests.caller(request), requests.body(request), requests.meta(request));
    return result.created ? created(reply, result.object) : reply.send(result.object);
  });

  app.get('/users/me', summary('The user of X-LC-Session, with its sessionToken (211 when the token is not valid)'), async (request) =>
    users.me(await requests.caller(request)),
  );

  const get = async (request: FastifyRequest<{ Params: IdParams }>) => {
    const q = request.query as Query;
    return users.get(await requests.caller(request), request.params.id, { keys: q.keys, returnAcl: truthy(q.returnACL) });
  };
  app.get<{ Params: IdParams }>('/users/:id', summary('Fetch a user (ACL-checked; no sessionToken)'), get);
  app.get<{ Params: IdParams }>('/classes/_User/:id', summary('Same as GET /1.1/users/:id'), get);

  const update = async (request: FastifyRequest<{ Params: IdParams }>) => {
    const q = request.query as Query;
    return users.update(await requests.caller(request), request.params.id, requests.body(request), {
      returnNew: truthy(q.new) || truthy(q.fetchWhenSave),
      ...(q.where !== undefined ? { where: q.where } : {}),
    }, requests.meta(request));
  };
  app.put<{ Params: IdParams }>('/users/:id', summary('Update a user (own session or master key)'), update);
  app.put<{ Params: IdParams }>('/classes/_User/:id', summary('Same as PUT /1.1/users/:id'), update);

  const remove = async (request: FastifyRequest<{ Params: IdParams }>) => {
    const q = request.query as Query;
    await users.delete(await requests.caller(request), request.params.id, q.where !== undefined ? { where: q.where } : {});
    return {};
  };
  app.delete<{ Params: IdParams }>('/users/:id', summary('Delete a user (own session or master key)'), remove);
  app.delete<{ Params: IdParams }>('/classes/_User/:id', summary('Same as DELETE /1.1/users/:id'), remove);

  const find = async (request: FastifyRequest) => users.query(await requests.caller(request), request.query as Query);
  app.get('/users', summary('Query users (master key)'), find);
  app.get('/classes/_User', summary('Same as GET /1.1/users'), find);

  app.put<{ Params: IdParams }>('/users/:id/refreshSessionToken', summary('New sessionToken; ends the other sessions'), async (request) =>
    users.refreshSessionToken(await requests.caller(request), request.params.id, requests.meta(request)),
  );
  app.put<{ Params: IdParams }>('/users/:id/updatePassword', summary('Change the password with old_password; returns a new sessionToken'), async (request) =>
    users.updatePassword(await requests.caller(request), request.params.id, requests.body(request), requests.meta(request)),
  );
};
