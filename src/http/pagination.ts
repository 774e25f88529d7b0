import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';

/** `page` (from 1) and `page_size` (default 20, at most 100) query parameters (Logto's pagination). */
export const paginationQuery = {
  page: z.coerce.number().int().min(1).default(1).describe('Page number, from 1'),
  page_size: z.coerce.number().int().min(1).max(100).default(20).describe('Items per page (1–100)'),
};

/** Rows to skip and take for a page. */
export function pageWindow(page: number, pageSize: number): { offset: number; limit: number } {
  return { offset: (page - 1) * pageSize, limit: pageSize };
}

/** The longest `Link` header sent (characters); see {@link setPaginationHeaders}. */
export const MAX_LINK_HEADER_LENGTH = 4096;

/**
 * Sets `Total-Number` and the RFC 8288 `Link` header (rel first, prev when page > 1, next when a later
 * page exists, last) on a paginated answer, as Logto does. Link targets are absolute URLs on
 * `publicUrl` keeping every other query parameter of the request.
 */
export function setPaginationHeaders(
  request: FastifyRequest,
  reply: FastifyReply,
  publicUrl: string,
  { page, pageSize, total, capped = false }: { page: number; pageSize: number; total: number; capped?: boolean },
): void {
  const last = Math.max(1, Math.ceil(total / pageSize));
  // The request target may be in origin form (`/api/users?…`) or absolute form
  // (`http://host/api/users?…`, RFC 9112 §3.2.2): only its path and query are kept, under publicUrl.
  const target = new URL(request.url, 'http://target.invalid');
  const url = new URL(publicUrl.replace(/\/$/, '') + target.pathname + target.search);
  const link = (n: number, rel: string) => {
    url.searchParams.set('page', String(n));
    return `<${url.toString()}>; rel="${rel}"`;
  };
  const links = [link(1, 'first')];
  if (page > 1) links.push(link(Math.min(page - 1, last), 'prev'));
  // A capped count (Logto's `enableCap`) knows no last page: `Total-Number-Is-Capped: true`, no next or last.
  if (!capped && page < last) links.push(link(page + 1, 'next'));
  if (!capped) links.push(link(last, 'last'));
  reply.header('total-number', String(total));
  if (capped) reply.header('total-number-is-capped', 'true');
  // The links repeat the query; one that would make the answer's headers outgrow what clients accept
  // (undici and Node refuse more than 16 KiB) is left out rather than echoed.
  const header = links.join(', ');
  if (header.length <= MAX_LINK_HEADER_LENGTH) reply.header('link', header);
}
