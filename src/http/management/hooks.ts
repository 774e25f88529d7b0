import { LOGTO_TENANT_ID } from '../logto-views.js';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { HookService } from '../../domain/events/hooks.js';
import { AppError } from '../../errors/index.js';
import type { HookRecord, LogRecord, LogStore } from '../../storage/hook-store.js';
import { pageWindow, paginationQuery, setPaginationHeaders } from '../pagination.js';
import { errorSchema } from '../schemas.js';

/** What the webhook and log routes need. */
export interface ManagementHookOptions {
  hooks: HookService;
  logs: Pick<LogStore, 'list' | 'findById'>;
  /** Sends Logto's test payloads (src/webhooks/test-delivery.ts); throws the `hook.*` errors. */
  sendTest: (hook: HookRecord, events: string[], config: { url: string; headers: Record<string, string> }) => Promise<void>;
  now: () => number;
  publicUrl: string;
}

const errors = { '4xx': errorSchema };
const security = [{ managementToken: [] }];
const idParams = z.object({ id: z.string().min(1).max(64) });
/** Logto's single tenant of an OSS install. */
const TENANT = LOGTO_TENANT_ID;

const configSchema = z
  .object({
    url: z.string().min(1).max(2048).describe('The endpoint: http(s); refused when it resolves into `webhooks.denyCidrs`'),
    headers: z.record(z.string().min(1).max(256), z.string().max(4096)).optional().describe('Extra request headers'),
    retries: z.number().int().min(0).max(3).optional().describe('Retries of a failed delivery (default 3)'),
  })
  .meta({ id: 'HookConfig' });

const hookSchema = z
  .object({
    tenantId: z.string(),
    id: z.string(),
    name: z.string(),
    event: z.string().nullable().describe('Deprecated (Logto): use events'),
    events: z.array(z.string()),
    config: z.object({ url: z.string(), headers: z.record(z.string(), z.string()), retries: z.number() }),
    signingKey: z.string().describe('HMAC-SHA256 key of the logto-signature-sha-256 header'),
    enabled: z.boolean(),
    createdAt: z.number().describe('ms since the epoch'),
    executionStats: z.object({ requestCount: z.number(), successCount: z.number() }).optional().describe('Deliveries in the last 24 h'),
  })
  .meta({ id: 'Hook' });

const logSchema = z
  .object({
    tenantId: z.string().optional(),
    id: z.string(),
    key: z.string().describe("Logto's log key, e.g. Interaction.SignIn.Submit, TriggerHook.PostSignIn"),
    payload: z.record(z.string(), z.unknown()).describe('key, result (Success|Error), userId, applicationId, ip, userAgent, error…'),
    createdAt: z.number().describe('ms since the epoch'),
  })
  .meta({ id: 'Log' });

function toWire(hook: HookRecord, stats?: { requestCount: number; successCount: number }): z.infer<typeof hookSchema> {
  return {
    tenantId: TENANT,
    id: hook.id,
    name: hook.name,
    event: null,
    events: hook.events,
    config: { url: hook.url, headers: hook.headers, retries: hook.retries },
    signingKey: hook.signingKey,
    enabled: hook.enabled,
    createdAt: hook.createdAt,
    ...(stats ? { executionStats: stats } : {}),
  };
}

function logWire(log: LogRecord, withTenant: boolean): z.infer<typeof logSchema> {
  return { ...(withTenant ? { tenantId: TENANT } : {}), id: log.id, key: log.key, payload: log.payload, createdAt: log.createdAt };
}

/** Logto's count cap of `enableCap` (logto-io/logto `middleware/koa-pagination.ts`). */
const COUNT_CAP = 10_000;

/** Logto's `yes()`: 1, true, y, yes, yep, yeah (any case). */
const yes = (v: string | undefined) => v !== undefined && /^(1|true|y|yes|yep|yeah)$/i.test(v);

/** A time bound in ms since the epoch (Logto's `start_time` / `end_time`). */
const timeBound = z.coerce.number().finite().optional().describe('ms since the epoch');

const timeQuery = { start_time: timeBound, end_time: timeBound };

/** @throws AppError `log.invalid_time_window` */
function window(start: number | undefined, end: number | undefined): { since?: number; until?: number } {
  if (start !== undefined && end !== undefined && start > end) throw new AppError('log.invalid_time_window');
  return { ...(start !== undefined ? { since: start } : {}), ...(end !== undefined ? { until: end } : {}) };
}

const createBody = z
  .object({
    name: z.string().max(256).optional(),
    event: z.string().optional().describe('Deprecated (Logto): one event; use events'),
    events: z.array(z.string()).min(1).optional(),
    config: configSchema,
    enabled: z.boolean().optional(),
  })
  .strict();

/**
 * Management API — webhooks and the audit log (issue 20), in Logto's paths, shapes and codes
 * (logto-io/logto `packages/core/src/routes/hook.ts`, `log.ts`): `/hooks` CRUD, `/hooks/:id/test`,
 * `/hooks/:id/recent-logs`, `/hooks/:id/signing-key`; `/logs` and `/logs/:id`. Pages as `/api/users`.
 */
export const managementHookRoutes: FastifyPluginAsyncZod<ManagementHookOptions> = async (app, { hooks, logs, sendTest, now, publicUrl }) => {
  app.get(
    '/hooks',
    {
      schema: {
        tags: ['management'],
        summary: 'List webhooks, newest first',
        security,
        querystring: z.object({ includeExecutionStats: z.string().optional() }),
        response: { 200: z.array(hookSchema), ...errors },
      },
    },
    async (request) => {
      const all = await hooks.list();
      if (!yes(request.query.includeExecutionStats)) return all.map((h) => toWire(h));
      return Promise.all(all.map(async (h) => toWire(h, await hooks.stats(h.id))));
    },
  );

  app.post(
    '/hooks',
    {
      schema: {
        tags: ['management'],
        summary: 'Create a webhook (201); the answer carries its signing key',
        security,
        body: createBody,
        response: { 201: hookSchema, ...errors },
      },
    },
    async (request, reply) => {
      const { name, event, events, config, enabled } = request.body;
      const list = events ?? (event ? [event] : []);
      const hook = await hooks.create({
        events: list,
        url: config.url,
        ...(name !== undefined ? { name } : {}),
        ...(config.headers ? { headers: config.headers } : {}),
        ...(config.retries !== undefined ? { retries: config.retries } : {}),
        ...(enabled !== undefined ? { enabled } : {}),
      });
      return reply.status(201).send(toWire(hook));
    },
  );

  app.get(
    '/hooks/:id',
    {
      schema: {
        tags: ['management'],
        summary: 'Get a webhook',
        security,
        params: idParams,
        querystring: z.object({ includeExecutionStats: z.string().optional() }),
        response: { 200: hookSchema, ...errors },
      },
    },
    async (request) => {
      const hook = await hooks.require(request.params.id);
      return toWire(hook, yes(request.query.includeExecutionStats) ? await hooks.stats(hook.id) : undefined);
    },
  );

  app.patch(
    '/hooks/:id',
    {
      schema: {
        tags: ['management'],
        summary: 'Change a webhook (events and config are replaced whole)',
        security,
        params: idParams,
        body: createBody.partial().extend({ event: z.string().nullable().optional() }),
        response: { 200: hookSchema, ...errors },
      },
    },
    async (request) => {
      const { name, event, events, config, enabled } = request.body;
      const list = events ?? (event ? [event] : undefined);
      return toWire(
        await hooks.update(request.params.id, {
          ...(name !== undefined ? { name } : {}),
          ...(list !== undefined ? { events: list } : {}),
          ...(config ? { url: config.url, headers: config.headers ?? {}, retries: config.retries ?? 3 } : {}),
          ...(enabled !== undefined ? { enabled } : {}),
        }),
      );
    },
  );

  app.delete(
    '/hooks/:id',
    { schema: { tags: ['management'], summary: 'Delete a webhook and its queued deliveries', security, params: idParams, response: { 204: z.void(), ...errors } } },
    async (request, reply) => {
      await hooks.delete(request.params.id);
      return reply.status(204).send();
    },
  );

  app.patch(
    '/hooks/:id/signing-key',
    { schema: { tags: ['management'], summary: 'Replace the signing key', security, params: idParams, response: { 200: hookSchema, ...errors } } },
    async (request) => toWire(await hooks.rotateSigningKey(request.params.id)),
  );

  app.post(
    '/hooks/:id/test',
    {
      schema: {
        tags: ['management'],
        summary: "Send Logto's test payload of each event to a URL, signed with the hook's key (204)",
        security,
        params: idParams,
        body: z.object({ events: z.array(z.string()).min(1), config: configSchema }).strict(),
        response: { 204: z.void(), ...errors },
      },
    },
    async (request, reply) => {
      const hook = await hooks.require(request.params.id);
      const events = hooks.events(request.body.events);
      await sendTest(hook, events, { url: request.body.config.url, headers: request.body.config.headers ?? {} });
      return reply.status(204).send();
    },
  );

  app.get(
    '/hooks/:id/recent-logs',
    {
      schema: {
        tags: ['management'],
        summary: 'Delivery log of a webhook (TriggerHook.* entries; the last 24 h unless a time bound is given)',
        security,
        params: idParams,
        querystring: z.object({ ...paginationQuery, logKey: z.string().max(128).optional(), ...timeQuery }),
        response: { 200: z.array(logSchema), ...errors },
      },
    },
    async (request, reply) => {
      const { page, page_size: pageSize, logKey, start_time: start, end_time: end } = request.query;
      const bounds = start === undefined && end === undefined ? { since: now() - 86_400_000 } : window(start, end);
      const { logs: rows, total } = await logs.list({
        hookId: request.params.id,
        ...(logKey ? { key: logKey } : {}),
        ...bounds,
        ...pageWindow(page, pageSize),
      });
      setPaginationHeaders(request, reply, publicUrl, { page, pageSize, total });
      return rows.map((l) => logWire(l, false));
    },
  );

  app.get(
    '/logs',
    {
      schema: {
        tags: ['management'],
        summary: 'The audit log, newest first (sign-ins and refusals, registrations, resets, user changes, token grants, admin changes)',
        security,
        querystring: z.object({
          ...paginationQuery,
          userId: z.string().max(64).optional(),
          applicationId: z.string().max(128).optional(),
          logKey: z.string().max(128).optional(),
          enableCap: z.string().optional().describe(`Count at most ${COUNT_CAP} matches (Total-Number ${COUNT_CAP + 1} and Total-Number-Is-Capped: true beyond)`),
          ...timeQuery,
        }),
        response: { 200: z.array(logSchema), ...errors },
      },
    },
    async (request, reply) => {
      const { page, page_size: pageSize, userId, applicationId, logKey, enableCap, start_time: start, end_time: end } = request.query;
      const cap = yes(enableCap);
      const { logs: rows, total } = await logs.list({
        ...(cap ? { countCap: COUNT_CAP } : {}),
        ...(userId ? { userId } : {}),
        ...(applicationId ? { applicationId } : {}),
        ...(logKey ? { key: logKey } : {}),
        // Deliveries are read per hook (recent-logs), as in Logto; user and application filters never
        // meet them (LogRecord), and a key filter meets them only when it names a TriggerHook key.
        ...(userId || applicationId || logKey ? {} : { excludeDeliveries: true }),
        ...window(start, end),
        ...pageWindow(page, pageSize),
      });
      setPaginationHeaders(request, reply, publicUrl, { page, pageSize, total, capped: cap && total > COUNT_CAP });
      return rows.map((l) => logWire(l, true));
    },
  );

  app.get(
    '/logs/:id',
    { schema: { tags: ['management'], summary: 'One audit log entry', security, params: idParams, response: { 200: logSchema, ...errors } } },
    async (request) => {
      const log = await logs.findById(request.params.id);
      if (!log) throw new AppError('log.not_found');
      return logWire(log, true);
    },
  );
};
