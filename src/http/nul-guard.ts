import type { FastifyRequest } from 'fastify';
import { AppError } from '../errors/index.js';
import { findNulIn } from '../util/nul.js';
import type { InputIssue } from './errors.js';

/**
 * Where a request carries a NUL character (U+0000): in a path parameter, a query value or a JSON body
 * string or key. PostgreSQL `text` cannot store NUL (error 22021, which would surface as a 500), and
 * no identifier, name, code or secret of ours contains one, so such input is refused before any handler
 * runs — on SQLite too, where it would otherwise be stored. The walk is iterative (a deeply nested body
 * cannot overflow the stack) and visits each value once.
 * @returns the first offending location (`params.id`, `query.search`, `body.profile.name`…), or undefined
 */
export function findNul(request: FastifyRequest): InputIssue | undefined {
  return findNulIn(request.params, 'params') ?? findNulIn(request.query, 'query') ?? findNulIn(request.body, 'body');
}

/**
 * Fastify `preValidation` hook refusing any request that carries NUL ({@link findNul}).
 * @throws AppError `request.invalid` (400) with `data.issues: [{path, code, message}]`
 */
export async function refuseNul(request: FastifyRequest): Promise<void> {
  const issue = findNul(request);
  if (issue) throw new AppError('request.invalid', { data: { issues: [issue] } });
}
