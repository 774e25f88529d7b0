import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { AppError, ERROR_CODES, type ErrorCode } from '../errors/index.js';
import { errorMessage, type Locale } from '../i18n/index.js';
import { requestLocale } from './request-meta.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The error code a refused request was answered with (set by the error handler; for metrics). */
    errorCode?: string;
  }
  interface FastifyInstance {
    /**
     * The language of error messages when `Accept-Language` names none Tessera speaks
     * (`config.ui.defaultLocale`; set on the root by {@link installErrorHandling}, inherited by every
     * plugin context).
     */
    errorDefaultLocale?: Locale;
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
  /**
   * The vendor's message, in English (default: ours). A request in another language gets our message of
   * the error's code in that language instead ({@link messageOf}).
   */
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
 * The `message` of an error in `locale`. English: the dialect's message, else the error's own. Another
 * language: the code table's message of the error's code in that language ({@link errorMessage}) — but
 * an error thrown with a message of its own (`new AppError(code, { message })`, a detail such as the
 * offending key or limit) keeps it, in English, since the catalogue has no text for it.
 */
export function messageOf(error: AppError, wire: WireError | undefined, locale: Locale): string {
  const english = wire?.message ?? error.message;
  if (locale === 'en' || error.message !== ERROR_CODES[error.code].message) return english;
  return errorMessage(error.code, locale);
}

/**
 * Sends an {@link AppError} in the native shape `{code, message, data?}`, with `Retry-After` when it
 * carries one; with a `dialect`, the code, status and message its table gives (the data stays). The
 * message is in the request's language ({@link requestLocale}, {@link messageOf}).
 */
export function sendAppError(reply: FastifyReply, error: AppError, dialect?: ErrorDialect): FastifyReply {
  if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds));
  const entry = dialect?.[error.code];
  const wire = typeof entry === 'function' ? entry(reply.request, error) : entry;
  const code = wire?.code ?? error.code;
  // RFC 6750 §3: a 401 for a missing or bad bearer token names the scheme.
  if (code === 'auth.unauthorized') reply.header('www-authenticate', 'Bearer realm="tessera"');
  const locale = requestLocale(reply.request);
  const body: ErrorBody = { code, message: messageOf(error, wire, locale) };
  if (error.data !== undefined) body.data = error.data;
  // The message depends on Accept-Language (RFC 9110 §12.5.5); keep what Vary already lists (CORS's Origin).
  const vary = reply.getHeader('vary');
  const listed = (Array.isArray(vary) ? vary.join(',') : typeof vary === 'string' ? vary : '').split(',').map((v) => v.trim()).filter(Boolean);
  if (!listed.some((v) => v.toLowerCase() === 'accept-language' || v === '*')) reply.header('vary', [...listed, 'Accept-Language'].join(', '));
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

/** Options of {@link installErrorHandling}. */
export interface ErrorHandlingOptions {
  /** The message language when `Accept-Language` names none Tessera speaks (`config.ui.defaultLocale`; default `en`). */
  defaultLocale?: Locale;
}

/**
 * Installs the error and not-found handlers: every error leaves as `{code, message, data?}` with the
 * status from the code table and `message` in the request's language (`Accept-Language`, else
 * `options.defaultLocale`); 5xx causes are logged at `error` level. Call it on the root instance.
 */
export function installErrorHandling(app: FastifyInstance, options: ErrorHandlingOptions = {}): void {
  app.decorate('errorDefaultLocale', options.defaultLocale ?? 'en');
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
