import type { FastifyRequest } from 'fastify';
import type { RequestMeta } from '../domain/sign-in/auth.js';
import { type Locale, pickLocale } from '../i18n/locale.js';

/** The client facts recorded with sessions and used for per-IP limits. */
export function requestMeta(request: FastifyRequest): RequestMeta {
  const ua = request.headers['user-agent'];
  return { ip: request.ip, userAgent: typeof ua === 'string' ? ua : null };
}

/**
 * The language of what an API request gets back (error messages) or has sent (code emails and SMS): an
 * explicit, supported `locale` of the request body, then `Accept-Language` (RFC 9110 §12.5.4), then the
 * configured default (`config.ui.defaultLocale`, decorated on the root instance by installErrorHandling as
 * `errorDefaultLocale`), else English. The one rule of every API surface ({@link pickLocale}).
 */
export function requestLocale(request: FastifyRequest, explicit?: string): Locale {
  const header = request.headers['accept-language'];
  return pickLocale(typeof header === 'string' ? header : undefined, explicit, request.server?.errorDefaultLocale ?? 'en');
}
