import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { AppError, type ErrorCode } from '../errors/index.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The error code a refused request was answered with (set by the error handler; for metrics). */
    errorCode?: string;
  }
}

/** Native JSON error body (DESIGN.md "Errors"); a surface's dialect may send its vendor's code instead. */
export interface ErrorBody {
  code: string;
  message: string;
  data?: unknown;
}

/** How one of our errors is sent on a surface that speaks a vendor's dialect. */
export interface WireError {
  /** The vendor's code (e.g. Logto's `user.username_already_in_use`). */
  code: string;
  /** The vendor's HTTP status. */
  status: number;
  /** The vendor's message (default: ours). */
  message?: string;
}

/**
 * A surface's error table (issue 16: "each vendor dialect lives in its adapter"): our dotted code → the
 * vendor's code and status, or a function of the request and the error for a vendor whose answer depends
 * on the route or on the error's data (e.g. which query parameter was invalid). Codes not in the table
 * are sent as they are.
 */
export type ErrorDialect = Partial<Record<ErrorCode, WireError | ((request: FastifyRequest, error: AppError) => WireError)>>;

/** One invalid input location, as listed in `data.issues` of a `request.invalid` error. */
export interface InputIssue {
  /** Where: `body.email`, `query.page`, `params.id`, `headers.authorization`. */
  path: string;
  /** zod issue code (`invalid_type`, `too_big`, `unrecognized_keys`, …). */
  code: string;
  message: string;
}

/** Fastify's own request errors and the stable code each becomes. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'request.malformed_json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'request.malformed_json',
  FST_ERR_CTP_BODY_TOO_LARGE: 'request.body_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'request.unsupported_media_type',
};

const CONTEXT_PREFIX: Record<string, string> = { body: 'body', querystring: 'query', params: 'params', headers: 'headers' };

/**
 * Sends an {@link AppError} in the native shape `{code, message, data?}`, with `Retry-After` when it
 * carries one; with a `dialect`, the code, status and message its table gives (the data stays).
 */
export function sendAppError(reply: FastifyReply, error: AppError, dialect?: ErrorDialect): FastifyReply {
  if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds));
  const entry = dialect?.[error.code];
  const wire = typeof entry === 'function' ? entry(reply.request, error) : entry;
  const code = wire?.code ?? error.code;
  // RFC 6750 §3: a 401 for a missing or bad bearer token names the scheme.
  if (code === 'auth.unauthorized') reply.header('www-authenticate', 'Bearer realm="tessera"');
  const body: ErrorBody = { code, message: wire?.message ?? error.message };
  if (error.data !== undefined) body.data = error.data;
  return reply.status(wire?.status ?? error.status).send(body);
}

/**
 * Translates anything thrown while handling a request to an {@link AppError}: schema failures become
 * `request.invalid` with the offending paths, fastify's body errors their own codes, other 4xx
 * `request.invalid`, and everything else `internal.error` (its cause is logged, never sent).
 */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (hasZodFastifySchemaValidationErrors(error)) {
    const prefix = CONTEXT_PREFIX[(error as { validationContext?: string }).validationContext ?? 'body'] ?? 'body';
    const issues: InputIssue[] = error.validation.map((v) => ({
      path: [prefix, ...v.instancePath.split('/').filter(Boolean)].join('.'),
      code: v.keyword,
      message: v.message ?? 'Invalid value',
    }));
    return new AppError('request.invalid', { data: { issues } });
  }
  const fe = error as Partial<FastifyError>;
  const mapped = fe.code ? FASTIFY_CODES[fe.code] : undefined;
  if (mapped) return new AppError(mapped);
  if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) return new AppError('request.invalid', { message: fe.message });
  return new AppError('internal.error', { cause: error });
}

/**
 * Installs the error and not-found handlers: every error leaves as `{code, message, data?}` with the
 * status from the code table; 5xx causes are logged at `error` level.
 */
export function installErrorHandling(app: FastifyInstance): void {
  installErrorDialect(app, undefined);
  app.setNotFoundHandler((request, reply) => sendAppError(reply, new AppError('request.not_found', { message: `No route ${request.method} ${request.url.split('?')[0]}` })));
}

/**
 * Sets the error handler of `app`'s context: like the root one, but errors leave in `dialect` (a
 * surface's own table, e.g. http/account/errors.ts). Not-found answers stay the root's.
 */
export function installErrorDialect(app: FastifyInstance, dialect: ErrorDialect | undefined): void {
  app.setErrorHandler((error, request, reply) => {
    const appError = toAppError(error);
    if (appError.status >= 500) request.log.error({ err: error }, 'request failed');
    // The "request completed" line of a refused request names the error code (never its data).
    reply.log = reply.log.child({ errorCode: appError.code });
    request.errorCode = appError.code;
    return sendAppError(reply, appError, dialect);
  });
}
