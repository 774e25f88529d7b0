import type { FastifyRequest } from 'fastify';
import type { RequestMeta } from '../../domain/sign-in/auth.js';
import { isPlainObject } from '../../domain/leancloud/objects.js';
import type { LcCaller, LeanCloudUsers } from '../../domain/leancloud/users.js';
import { AppError } from '../../errors/index.js';
import { requestLocale, requestMeta } from '../request-meta.js';
import type { LcAppAuth } from './app-auth.js';
import type { LcObject } from './wire.js';

/**
 * Per-request helpers shared by the route files: the caller (app credentials + `X-LC-Session`,
 * resolved once), the request facts, and the body as a JSON object.
 */
export class LcRequests {
  private readonly apps = new WeakMap<FastifyRequest, LcAppAuth>();
  private readonly callers = new WeakMap<FastifyRequest, Promise<LcCaller>>();

  constructor(private readonly users: LeanCloudUsers) {}

  /** Records the app credentials checked by the onRequest hook. */
  setApp(request: FastifyRequest, auth: LcAppAuth): void {
    this.apps.set(request, auth);
  }

  /**
   * The caller: master key or not, and the user of a valid `X-LC-Session` (stale tokens count as none).
   * Resolved once per request; `options` apply to that first resolution (`withIdentities`: also load the
   * session user's identities, see {@link LeanCloudUsers.resolveCaller}).
   */
  caller(request: FastifyRequest, options: { withIdentities?: boolean } = {}): Promise<LcCaller> {
    let caller = this.callers.get(request);
    if (!caller) {
      const token = request.headers['x-lc-session'];
      caller = this.users.resolveCaller(this.apps.get(request)?.master ?? false, typeof token === 'string' && token ? token : undefined, options);
      this.callers.set(request, caller);
    }
    return caller;
  }

  /** Client IP, user agent and message language (Accept-Language, else the configured default: requestLocale). */
  meta(request: FastifyRequest): RequestMeta {
    return { ...requestMeta(request), locale: requestLocale(request) };
  }

  /** The JSON body as an object (`{}` when there is none). @throws AppError `request.malformed_json` */
  body(request: FastifyRequest): LcObject {
    const body = request.body ?? {};
    if (!isPlainObject(body)) throw new AppError('request.malformed_json');
    return body;
  }
}
