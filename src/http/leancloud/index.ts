import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { Config } from '../../config/index.js';
import type { LeanCloudCodes } from '../../domain/leancloud/codes.js';
import type { LeanCloudUsers } from '../../domain/leancloud/users.js';
import { AppError } from '../../errors/index.js';
import type { Clock } from '../../util/clock.js';
import { assertJsonDepth } from '../../util/json-depth.js';
import { toAppError } from '../errors.js';
import { checkAppAuth, type LcAppKeys } from './app-auth.js';
import { LcRequests } from './requests.js';
import { batchRoutes } from './batch.js';
import { codeRoutes } from './codes.js';
import { sendLcError, toLcError, UNAUTHORIZED } from './errors.js';
import { pageRoutes } from './pages.js';
import { userRoutes } from './users.js';

/** What the `/1.1` surface needs: the LeanCloud domain services, the app keys, a clock and the pages' settings. */
export interface LeanCloudRoutesOptions {
  users: LeanCloudUsers;
  codes: LeanCloudCodes;
  keys: LcAppKeys;
  clock: Clock;
  /** Brand and default language of the browser pages (`ui`). */
  config: Pick<Config, 'ui'>;
}


/**
 * The LeanCloud body parser: JSON whatever the Content-Type says (LeanCloud clients send
 * `text/plain` and `application/json;charset=UTF-8` alike), an empty body is `{}`, and HTML forms
 * (the reset page) are read as fields.
 */
function installLenientParser(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (request, body, done) => {
    const text = String(body);
    const type = request.headers['content-type'] ?? '';
    if (/^application\/x-www-form-urlencoded/i.test(type)) {
      done(null, Object.fromEntries(new URLSearchParams(text)));
      return;
    }
    if (text.trim() === '') {
      done(null, {});
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      done(new AppError('request.malformed_json'), undefined);
      return;
    }
    try {
      assertJsonDepth(parsed);
    } catch (error) {
      done(error as Error, undefined);
      return;
    }
    done(null, parsed);
  });
}

/**
 * The LeanCloud-compatible `/1.1` surface (shared/specs/leancloud.md), one encapsulated plugin: its own
 * lenient body parsing, `{code, error}` errors with LeanCloud's numbers, app authentication by
 * `X-LC-Id` + `X-LC-Key`/`X-LC-Sign` on every API route (401 `{"code":401,"error":"Unauthorized."}`),
 * and the browser pages of the email flows (no app credentials).
 */
export const leancloudRoutes: FastifyPluginAsync<LeanCloudRoutesOptions> = async (app, options) => {
  installLenientParser(app);
  app.setErrorHandler((error, request, reply) => {
    const appError = toAppError(error);
    if (appError.status >= 500) request.log.error({ err: error }, 'request failed');
    return sendLcError(reply, toLcError(appError));
  });
  app.setNotFoundHandler((request, reply) => sendLcError(reply, toLcError(new AppError('request.not_found'))));

  const requests = new LcRequests(options.users);
  await app.register(pageRoutes, { codes: options.codes, requests, config: options.config });
  await app.register(async (api) => {
    api.addHook('onRequest', async (request, reply) => {
      const auth = checkAppAuth(request.headers, options.keys, options.clock.now());
      if (!auth) return sendLcError(reply, UNAUTHORIZED);
      requests.setApp(request, auth);
    });
    await api.register(userRoutes, { users: options.users, requests });
    await api.register(codeRoutes, { codes: options.codes, requests });
    await api.register(batchRoutes);
  });
};
