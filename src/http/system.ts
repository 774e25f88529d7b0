import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { AppError } from '../errors/index.js';
import { pendingMigrations } from '../storage/database.js';
import type { Database } from '../storage/schema.js';
import type { Store } from '../storage/store.js';
import { errorSchema } from './schemas.js';

/** What the system routes need. */
export interface SystemRoutesOptions {
  store: Store;
  db: Kysely<Database>;
  /** Redis `PING` of the rate limits (undefined when they live in the database). */
  pingRedis: () => Promise<boolean | undefined>;
}

const checkSchema = z.enum(['ok', 'failing', 'not configured']);
const readySchema = z.object({
  status: z.enum(['ready', 'not ready']),
  checks: z.object({ database: checkSchema, redis: checkSchema, migrations: z.union([z.literal('ok'), z.array(z.string()).describe('pending migrations')]) }),
});

/**
 * `/api/status`, the health checks of orchestrators and the OpenAPI document:
 * - `GET /api/health/live` — liveness: 200 while the process serves requests (no dependency is asked,
 *   so a database outage does not get the process restarted);
 * - `GET /api/health/ready` — readiness: 200 when the database answers, Redis answers (when
 *   configured) and every migration of this build is applied; else 503 with the failing checks (take
 *   the node out of the load balancer);
 * - `GET /api/status` — 204 when the server and its database answer, 503 otherwise (kept for existing
 *   probes).
 */
export const systemRoutes: FastifyPluginAsyncZod<SystemRoutesOptions> = async (app, { store, db, pingRedis }) => {
  app.get(
    '/status',
    {
      schema: {
        tags: ['system'],
        summary: 'Liveness: 204 when the server and its database answer, 503 otherwise',
        security: [],
        response: { 204: z.void(), 503: errorSchema },
      },
    },
    async (request, reply) => {
      const ok = await store.ping().catch((error: unknown) => {
        request.log.error({ err: error }, 'database ping failed');
        return false;
      });
      if (!ok) throw new AppError('internal.unavailable');
      return reply.status(204).send();
    },
  );

  app.get(
    '/health/live',
    {
      schema: { tags: ['system'], summary: 'Liveness: 200 while the process serves requests', security: [], response: { 200: z.object({ status: z.literal('live') }) } },
    },
    async () => ({ status: 'live' as const }),
  );

  app.get(
    '/health/ready',
    {
      schema: {
        tags: ['system'],
        summary: 'Readiness: 200 when the database (and Redis, when configured) answer and every migration is applied; else 503',
        security: [],
        response: { 200: readySchema, 503: readySchema },
      },
    },
    async (request, reply) => {
      const database = await store.ping().catch((error: unknown) => {
        request.log.warn({ err: error }, 'readiness: database ping failed');
        return false;
      });
      const redis = await pingRedis();
      const pending = database ? await pendingMigrations(db).catch(() => null) : null;
      const checks = {
        database: database ? ('ok' as const) : ('failing' as const),
        redis: redis === undefined ? ('not configured' as const) : redis ? ('ok' as const) : ('failing' as const),
        migrations: pending === null ? ['unknown (database failing)'] : pending.length === 0 ? ('ok' as const) : pending,
      };
      const ready = database && redis !== false && pending !== null && pending.length === 0;
      return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks });
    },
  );

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
};

/** What the `/.well-known/webauthn` route needs. */
export interface WebAuthnWellKnownOptions {
  /** The public URL's origin (the passkeys' own origin). */
  origin: string;
  /** The account center's `webauthnRelatedOrigins`. */
  relatedOrigins: () => Promise<readonly string[]>;
}

/**
 * `GET /.well-known/webauthn` (WebAuthn Level 3 §5.11, related origin requests): `{origins: [...]}`, the
 * origins whose pages may use passkeys of this server's RP ID — its own, then the account center's
 * `webauthnRelatedOrigins` (Logto's setting of the same name). Browsers fetch it when a page of another
 * origin asks for these passkeys.
 */
export const webauthnWellKnownRoutes: FastifyPluginAsyncZod<WebAuthnWellKnownOptions> = async (app, { origin, relatedOrigins }) => {
  app.get(
    '/.well-known/webauthn',
    {
      schema: {
        tags: ['system'],
        summary: 'Origins allowed to use this server’s passkeys (WebAuthn related origins)',
        security: [],
        response: { 200: z.object({ origins: z.array(z.string()) }) },
      },
    },
    async () => ({ origins: [origin, ...(await relatedOrigins()).filter((o) => o !== origin)] }),
  );
};
