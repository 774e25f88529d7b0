import type { IncomingHttpHeaders } from 'node:http';

/**
 * Whether a state-changing browser request (a form post) was sent by a page of `publicOrigin` itself —
 * the origin check that backs our CSRF tokens (OWASP ASVS 5.0 V3.5; Fetch Metadata, W3C).
 *
 * - With `Sec-Fetch-Site` (every current browser, on potentially trustworthy origins): it must be
 *   `same-origin`, and an `Origin` other than `null` must be `publicOrigin`. This accepts the
 *   `Origin: null` a browser sends when the page's referrer policy is `no-referrer`, and refuses a
 *   post from another port or subdomain (`same-site`) or another site.
 * - Without it (plain-HTTP deployments on a non-local host, where browsers omit Fetch Metadata, and
 *   non-browser clients): `Origin` must be absent or exactly `publicOrigin`; `null` cannot be told
 *   apart from a sandboxed or no-referrer attacker page and is refused. Our pages send
 *   `Referrer-Policy: same-origin`, so browsers send our real origin there.
 *
 * @param headers the request's headers (Node lower-cases their names)
 * @param publicOrigin `new URL(config.publicUrl).origin`, e.g. `https://id.example.com`
 */
export function isSameOriginPost(headers: IncomingHttpHeaders, publicOrigin: string): boolean {
  const origin = headers.origin;
  const site = headers['sec-fetch-site'];
  if (typeof site === 'string') {
    if (site !== 'same-origin') return false;
    return origin === undefined || origin === 'null' || origin === publicOrigin;
  }
  return origin === undefined || origin === publicOrigin;
}

/** The referrer policy of our HTML pages: full referrer to ourselves, none elsewhere; keeps `Origin` real on our own form posts. */
export const PAGE_REFERRER_POLICY = 'same-origin';
