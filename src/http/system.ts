import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError } from '../errors/index.js';
import type { Store } from '../storage/store.js';
import { errorSchema } from './schemas.js';

/** `/api/status` and the OpenAPI document. */
export const systemRoutes: FastifyPluginAsyncZod<{ store: Store }> = async (app, { store }) => {
  app.get(
    '/status',
    {
      schema: {
        tags: ['system'],
        summary: 'Liveness: 204 when the server and its database answer, 503 otherwise',
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

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
};
