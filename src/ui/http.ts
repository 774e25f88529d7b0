/**
 * Serving hosted pages: the page context of a request (language, brand), the response headers every
 * page gets (strict CSP, no caching, same-origin referrer policy) and the stylesheet route.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config/index.js';
import { type Locale, negotiateLocale, translator } from '../i18n/index.js';
import { PAGE_REFERRER_POLICY } from '../util/same-origin.js';
import { type Brand, brandOf } from './brand.js';
import type { PageContext } from './page.js';

const brands = new WeakMap<Config['ui'], Brand>();

/** The {@link Brand} of a configuration (computed once per configuration object). */
export function brandFor(config: Pick<Config, 'ui'>): Brand {
  let brand = brands.get(config.ui);
  if (!brand) {
    brand = brandOf(config.ui);
    brands.set(config.ui, brand);
  }
  return brand;
}

/**
 * The page context of a request: its language from `uiLocales` (OIDC `ui_locales` of the authorization
 * request, when there is one), then `Accept-Language`, then `config.ui.defaultLocale`.
 */
export function pageContext(request: FastifyRequest, config: Pick<Config, 'ui'>, uiLocales?: unknown): PageContext {
  const locale: Locale = negotiateLocale({ uiLocales, acceptLanguage: request.headers['accept-language'], fallback: config.ui.defaultLocale });
  return { locale, t: translator(locale), brand: brandFor(config) };
}

/** Options of {@link sendPage}. */
export interface SendPageOptions {
  /** Another origin the page's forms may post to or be redirected to (CSP `form-action`), e.g. the client's redirect URI. */
  formTarget?: string | undefined;
  /** The page loads same-origin scripts that fetch from this origin (CSP `script-src 'self'; connect-src 'self'`). */
  scripts?: boolean;
  /** Extra headers (e.g. `retry-after`). */
  headers?: Record<string, string>;
}

/**
 * Sends a rendered page with the headers of every hosted page: `Content-Security-Policy` without
 * inline script or style (`default-src 'none'`; styles and scripts from this origin only, images from
 * this origin, `data:` and the logo's origin; forms to this origin and `formTarget`; no framing),
 * `Cache-Control: no-store` and `Referrer-Policy: same-origin`.
 */
export function sendPage(reply: FastifyReply, status: number, html: string, brand: Brand, options: SendPageOptions = {}): FastifyReply {
  const formAction = ["'self'", options.formTarget].filter(Boolean).join(' ');
  const img = ["'self'", 'data:', brand.logoOrigin].filter(Boolean).join(' ');
  const script = options.scripts ? " script-src 'self'; connect-src 'self';" : '';
  for (const [name, value] of Object.entries(options.headers ?? {})) reply.header(name, value);
  return reply
    .status(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('referrer-policy', PAGE_REFERRER_POLICY)
    .header('x-content-type-options', 'nosniff')
    .header(
      'content-security-policy',
      `default-src 'none';${script} style-src 'self'; img-src ${img}; form-action ${formAction}; frame-ancestors 'none'; base-uri 'none'`,
    )
    .send(html);
}

/**
 * Serves a static asset of the hosted pages whose path carries a hash of its content (the stylesheet, the
 * passkey scripts), so it may be cached for a year.
 * @param contentType e.g. `text/css; charset=utf-8`
 */
export function serveHashedAsset(app: FastifyInstance, asset: { path: string; source: string }, contentType: string): void {
  app.get(asset.path, { schema: { hide: true } }, async (_request, reply) =>
    reply
      .header('content-type', contentType)
      .header('cache-control', 'public, max-age=31536000, immutable')
      .header('x-content-type-options', 'nosniff')
      .send(asset.source),
  );
}

/** Serves the pages' stylesheet at its content-hashed path (cacheable for a year). */
export async function uiAssetRoutes(app: FastifyInstance, { config }: { config: Pick<Config, 'ui'> }): Promise<void> {
  const brand = brandFor(config);
  serveHashedAsset(app, { path: brand.stylesheetPath, source: brand.stylesheet }, 'text/css; charset=utf-8');
}
