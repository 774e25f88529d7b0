import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Who and where a change came from, for the events and audit entries it causes: the client address and
 * user agent of the request, the OAuth client (application) that called, and the HTTP route (Logto's data
 * hooks carry the Management API call that caused them). Set once per request by the HTTP layer
 * ({@link runWithActivityContext}); the domain reads it with {@link activityContext}, so no service needs a
 * request parameter to report where a change came from.
 */
export interface ActivityContext {
  ip: string | null;
  userAgent: string | null;
  /** The OAuth client id of the caller's token (set once the caller is known). */
  applicationId: string | null;
  /** The HTTP method and path as requested, and the route pattern that matched (`/api/users/:userId`). */
  method: string | null;
  path: string | null;
  matchedRoute: string | null;
  /** The route's path parameters. */
  params: Record<string, string>;
  /** Set when the request registered a user (see {@link noteInteraction}). */
  interaction?: 'Register';
  /** Set when the request queued webhook deliveries (the worker is woken once the answer is sent). */
  queued?: boolean;
}

const contexts = new AsyncLocalStorage<ActivityContext>();

/** An empty context: a change made outside any request (CLI, import, worker). */
export function emptyActivityContext(): ActivityContext {
  return { ip: null, userAgent: null, applicationId: null, method: null, path: null, matchedRoute: null, params: {} };
}

/**
 * Runs `fn` (and everything it starts) with `context` as the {@link activityContext}. The context object
 * may be completed later in the request (e.g. `applicationId` once the caller's token is read).
 */
export function runWithActivityContext<T>(context: ActivityContext, fn: () => T): T {
  return contexts.run(context, fn);
}

/** The context of the current request, or an empty one outside a request. */
export function activityContext(): ActivityContext {
  return contexts.getStore() ?? emptyActivityContext();
}

/** Records the OAuth client of the caller on the current request's context (no-op outside a request). */
export function noteApplication(applicationId: string | null | undefined): void {
  const context = contexts.getStore();
  if (context && applicationId) context.applicationId = applicationId;
}

/**
 * Records that the current request is a registration (the sign-in ending it then reports `PostRegister`
 * instead of `PostSignIn`). No-op outside a request.
 */
export function noteInteraction(kind: 'Register'): void {
  const context = contexts.getStore();
  if (context) context.interaction = kind;
}

/**
 * Runs `fn` outside any request's context (and makes what it schedules run outside it too): for background
 * work started from a request, such as waking the webhook worker, which must not report that request's
 * address, user agent or client as its own.
 */
export function outsideActivityContext<T>(fn: () => T): T {
  return contexts.exit(fn);
}
