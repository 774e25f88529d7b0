import type { FastifyPluginAsync } from 'fastify';
import type { Kysely } from 'kysely';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { PasswordHasher } from '../domain/credentials/passwords.js';
import { AppError } from '../errors/index.js';
import { pgPoolOf } from '../storage/database.js';
import { constantTimeEqual, sha256Hex } from '../util/crypto.js';

/** What the metrics need. */
export interface MetricsOptions {
  /** The bearer token that opens `GET /metrics` (config `metricsToken`). */
  token: string;
  hasher: PasswordHasher;
  db: Kysely<any>;
}

/** Routes whose answers count as password sign-ins (by outcome). */
const SIGN_IN_ROUTES: Record<string, string> = {
  'POST /api/auth/sign-in': 'api',
  'POST /1.1/login': 'leancloud',
  'POST /oidc/interaction/:uid/login': 'oidc',
};

/**
 * Prometheus metrics (prom-client, one registry per app) at `GET /metrics`, behind
 * `Authorization: Bearer <TESSERA_METRICS_TOKEN>` (compared in constant time; 401 otherwise):
 * - `tessera_http_requests_total{method,route,status}` and `tessera_http_request_duration_seconds{…}`
 *   (route = the route pattern, never the raw URL);
 * - `tessera_sign_ins_total{surface,outcome}` — `success` or the error code (`auth.invalid_credentials`…);
 * - `tessera_lockouts_total` — answers `auth.too_many_failures` (a locked identifier was tried);
 * - `tessera_password_hash_queue` — argon2id operations waiting for a slot;
 * - `tessera_db_pool_connections{state}` — PostgreSQL pool: total, idle, waiting;
 * - Node's defaults (`tessera_nodejs_eventloop_lag_seconds`, heap, GC, CPU…).
 */
export const metricsRoutes: FastifyPluginAsync<MetricsOptions> = async (app, { token, hasher, db }) => {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'tessera_' });
  const labels = ['method', 'route', 'status'] as const;
  const requests = new Counter({ name: 'tessera_http_requests_total', help: 'HTTP answers by method, route pattern and status', labelNames: labels, registers: [registry] });
  const duration = new Histogram({
    name: 'tessera_http_request_duration_seconds',
    help: 'Time from request to answer, seconds',
    labelNames: labels,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const signIns = new Counter({ name: 'tessera_sign_ins_total', help: 'Password sign-ins by surface and outcome', labelNames: ['surface', 'outcome'], registers: [registry] });
  const lockouts = new Counter({ name: 'tessera_lockouts_total', help: 'Answers auth.too_many_failures (a locked identifier was tried)', registers: [registry] });
  new Gauge({
    name: 'tessera_password_hash_queue',
    help: 'argon2id operations waiting for a slot',
    registers: [registry],
    collect() {
      this.set(hasher.queueDepth);
    },
  });
  const pool = pgPoolOf(db);
  new Gauge({
    name: 'tessera_db_pool_connections',
    help: 'PostgreSQL pool connections by state (absent on SQLite)',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      if (!pool) return;
      this.set({ state: 'total' }, pool.totalCount);
      this.set({ state: 'idle' }, pool.idleCount);
      this.set({ state: 'waiting' }, pool.waitingCount);
    },
  });

  // Counted for every request of the app (this plugin is registered at the root, not encapsulated).
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const status = String(reply.statusCode);
    requests.inc({ method: request.method, route, status });
    duration.observe({ method: request.method, route, status }, reply.elapsedTime / 1000);
    const surface = SIGN_IN_ROUTES[`${request.method} ${route}`];
    // A password accepted with a second factor still to come (MFA step) counts as `auth.mfa_required`.
    if (surface) signIns.inc({ surface, outcome: request.errorCode ?? (reply.statusCode < 400 ? 'success' : status) });
    if (request.errorCode === 'auth.too_many_failures') lockouts.inc();
  });

  const expected = sha256Hex(token);
  app.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
    const given = /^Bearer (.+)$/i.exec(request.headers.authorization ?? '')?.[1] ?? '';
    if (!constantTimeEqual(sha256Hex(given), expected)) throw new AppError('auth.unauthorized');
    return reply.header('content-type', registry.contentType).send(await registry.metrics());
  });
};

// Not encapsulated (what fastify-plugin does): the onResponse hook must see every route of the app.
(metricsRoutes as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;
