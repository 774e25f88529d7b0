import type { FastifySchema } from 'fastify';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import { errorSchema } from './schemas.js';

/** What @fastify/swagger hands a document transform (one route). */
type TransformInput = Parameters<typeof jsonSchemaTransform>[0];

/**
 * The stable `operationId` of a route: its method and path, camel-cased, path parameters as `By<Name>`
 * (`GET /api/users/:userId/identities` → `getApiUsersByUserIdIdentities`). Derived, so it changes only
 * when the route does; clients generated from the document keep their method names across releases.
 */
export function operationIdOf(method: string, url: string): string {
  const words = url
    .split('/')
    .filter(Boolean)
    .flatMap((segment) => {
      const param = segment.startsWith(':');
      const parts = segment.replace(/^:/, '').split(/[^A-Za-z0-9]+/).filter(Boolean);
      return param ? ['By', ...parts] : parts;
    })
    .map((w) => w[0]!.toUpperCase() + w.slice(1));
  return `${method.toLowerCase()}${words.join('')}`;
}

const hasClientError = (response: unknown) =>
  !!response && typeof response === 'object' && Object.keys(response).some((status) => /^4(\d\d|xx)$/i.test(status));

/**
 * Tessera's OpenAPI document transform (issue 21 item 2), around fastify-type-provider-zod's: internal
 * catch-all routes (the OIDC provider's mount, `/oidc/*`) are left out — the provider documents itself at
 * `/oidc/.well-known/openid-configuration`; every operation gets a stable `operationId`
 * ({@link operationIdOf}); an operation that declares no `security` is declared public (`security: []`);
 * and one that documents no client error gets Tessera's error shape for `4xx`. Documentation only: the
 * routes' own validation and serialisation are untouched.
 */
export function documentTransform(input: TransformInput): ReturnType<typeof jsonSchemaTransform> {
  const { url, route } = input;
  const schema = (input.schema ?? {}) as FastifySchema & { hide?: boolean; operationId?: string; security?: unknown[]; response?: Record<string, unknown> };
  if (url.includes('*')) return { schema: { ...schema, hide: true } as never, url };
  const method = Array.isArray(route.method) ? route.method[0]! : route.method;
  const next = {
    ...schema,
    operationId: schema.operationId ?? operationIdOf(method, url),
    security: schema.security ?? [],
    response: hasClientError(schema.response) ? schema.response : { ...(schema.response ?? {}), '4xx': errorSchema },
  };
  return jsonSchemaTransform({ ...input, schema: next as never });
}
