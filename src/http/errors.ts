import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { AppError, type ErrorCode, wireCode } from '../errors/index.js';

/** Native JSON error body (DESIGN.md "Errors"). */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
  data?: unknown;
}

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

/** Sends an {@link AppError} in the native shape, with `Retry-After` when it carries one. */
export function sendAppError(reply: FastifyReply, error: AppError): FastifyReply {
  if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds));
  // RFC 6750 §3: a 401 for a missing or bad bearer token names the scheme.
  if (error.code === 'auth.unauthorized') reply.header('www-authenticate', 'Bearer realm="tessera"');
  const body: ErrorBody = { code: wireCode(error.code), message: error.message };
  if (error.data !== undefined) body.data = error.data;
  return reply.status(error.status).send(body);
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
  app.setErrorHandler((error, request, reply) => {
    const appError = toAppError(error);
    if (appError.status >= 500) request.log.error({ err: error }, 'request failed');
    return sendAppError(reply, appError);
  });
  app.setNotFoundHandler((request, reply) => sendAppError(reply, new AppError('request.not_found', { message: `No route ${request.method} ${request.url.split('?')[0]}` })));
}
