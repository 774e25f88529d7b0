import { AuthorizationService } from './domain/authorization/index.js';
import { OrganizationService } from './domain/organizations/index.js';
import { accountOrganizationInvitationRoutes } from './http/management/organizations.js';
import './util/quiet-runtime-warning.js';
import cors from '@fastify/cors';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import { jsonSchemaTransformObject, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { DestinationStream, LoggerOptions } from 'pino';
import { pino } from 'pino';
import type { Config } from './config/index.js';
import { AccountService } from './domain/account/index.js';
import { AccountCenterService } from './domain/account/center.js';
import { actsAsThirdParty, ApplicationService } from './domain/applications/index.js';
import { AuthService } from './domain/sign-in/auth.js';
import { CredentialService } from './domain/credentials/index.js';
import { IdentityService } from './domain/social/identities.js';
import { SignInPreferenceService } from './domain/account/preferences.js';
import { SubjectTokenService, TokenExchangeService } from './domain/applications/impersonation.js';
import { PersonalAccessTokenService } from './domain/applications/personal-access-tokens.js';
import { LeanCloudCodes } from './domain/leancloud/codes.js';
import { LeanCloudUsers } from './domain/leancloud/users.js';
import { PasswordHasher, PasswordPolicy } from './domain/credentials/passwords.js';
import { SessionService } from './domain/sessions/index.js';
import { SignInGuard } from './domain/sign-in/lockout.js';
import { UserService } from './domain/users/index.js';
import { type Connectors, createConnectors } from './connectors/index.js';
import { VerificationService } from './domain/verification/index.js';
import { SocialService } from './domain/social/index.js';
import { socialAuthRoutes } from './http/auth/social.js';
import { MfaService, SecondFactors } from './domain/mfa/index.js';
import { SessionIssuer } from './domain/sessions/issuer.js';
import { Reauthentication } from './domain/sessions/reauthentication.js';
import { mfaAuthRoutes } from './http/auth/mfa.js';
import { codeRoutes } from './http/auth/codes.js';
import { authRoutes } from './http/auth/index.js';
import type { SdkServices } from './http/auth/me.js';
import { type CaptchaAnswerSource, CaptchaService, randomCaptchaAnswer } from './domain/sign-in/captcha.js';
import { CustomFieldService } from './domain/account/custom-fields.js';
import { ForcedResetGate, ForcedResetService } from './domain/sign-in/forced-reset.js';
import { SdkAuthService } from './domain/sign-in/sdk-auth.js';
import { SecurityLevelService } from './domain/account/security-level.js';
import { SelfService } from './domain/account/self-service.js';
import { KyselySdkStore } from './storage/sdk-store.js';
import { installErrorHandling } from './http/errors.js';
import { documentTransform } from './http/openapi.js';
import { systemRoutes, webauthnWellKnownRoutes } from './http/system.js';
import { AUTHING_CORS_HEADERS } from './http/authing/cors.js';
import { accountAccessTokens } from './oidc/access-tokens.js';
import { issuerOf, managementAudiencesOf, managementResourceOf, OidcService } from './oidc/index.js';
import { oidcRoutes } from './oidc/routes.js';
import { accountCenterRoutes } from './account-center/index.js';
import { uiAssetRoutes } from './ui/http.js';
import { AuditLog } from './domain/audit/index.js';
import { AppError } from './errors/index.js';
import { type ActivityContext, emptyActivityContext, runWithActivityContext } from './domain/events/context.js';
import { EventOutbox } from './domain/events/index.js';
import { HookService } from './domain/events/hooks.js';
import { AddressPolicy, WebhookSendError } from './webhooks/sender.js';
import { sendTestDeliveries } from './webhooks/test-delivery.js';
import { HookDeliveryWorker } from './webhooks/worker.js';
import type { HookRecord } from './storage/hook-store.js';
import { managementRoutes } from './http/management/index.js';
import { accountAuthorizer, managementAuthorizer } from './http/principal.js';
import { accountRoutes } from './http/account/index.js';
import { type DatabaseHandle, migrateToLatest, openDatabase } from './storage/database.js';
import { KyselyStore } from './storage/kysely-store.js';
import type { Store } from './storage/store.js';
import { type Clock, systemClock } from './util/clock.js';
import { refuseNul } from './http/nul-guard.js';
import { assertJsonDepth } from './util/json-depth.js';
import { RateLimiters } from './util/rate-limit.js';
import { securityHeaders } from './util/security-headers.js';

/** Options of {@link createApp} that are not configuration. */
export interface AppOptions {
  /** Time source for expiry, lockout and timestamps (tests pass a ManualClock). Default: system clock. */
  clock?: Clock;
  /** Where JSON logs go (default stdout). */
  logStream?: DestinationStream;
  /** Source of sign-in captcha answers (tests pass a known sequence). Default: CSPRNG characters. */
  captchaAnswers?: CaptchaAnswerSource;
  /** Count the statements and transactions sent to the database (`app.database.counts`; benchmarks). */
  countStatements?: boolean;
}

/** The domain services, built once per app. */
export interface Services {
  store: Store;
  hasher: PasswordHasher;
  policy: PasswordPolicy;
  users: UserService;
  /** Passwords: the one place a password is set, with every effect of a change. */
  credentials: CredentialService;
  sessions: SessionService;
  guard: SignInGuard;
  verification: VerificationService;
  auth: AuthService;
  /** Applications (OAuth clients). */
  applications: ApplicationService;
  /** API resources, permissions and roles, and the permissions a token may carry (issue 18). */
  authorization: AuthorizationService;
  /** Organizations: members, organization roles and scopes, invitations, JIT (issue 18 item 4). */
  organizations: OrganizationService;
  /** Third-party identities (LeanCloud authData, social sign-in). */
  identities: IdentityService;
  /** Account-center settings (which Account API fields users may see or change), cached. */
  accountCenter: AccountCenterService;
  /** End-user Account API rules (identity proofs, identifier binding, password change). */
  account: AccountService;
  /** Personal access tokens of users (exchanged at /oidc/token). */
  personalAccessTokens: PersonalAccessTokenService;
  /** Impersonation subject tokens (exchanged at /oidc/token). */
  subjectTokens: SubjectTokenService;
  /** Token exchange rules and its audit log. */
  tokenExchange: TokenExchangeService;
  /** LeanCloud `_User` rules of the `/1.1` surface. */
  leancloudUsers: LeanCloudUsers;
  /** LeanCloud SMS and email flows of the `/1.1` surface. */
  leancloudCodes: LeanCloudCodes;
  /** The SDK surface (issue 6): self-service, custom fields, security level, forced reset, captcha. */
  sdk: SdkServices;
  /** Social connectors and social sign-in / linking. */
  social: SocialService;
  /** Multi-factor authentication: factors, enrolment, the sign-in MFA step. */
  mfa: MfaService;
  /** Users' own sign-in preferences (Logto's logtoConfig: skipMfaOnSignIn, dismissed suggestions). */
  preferences: SignInPreferenceService;
  /** The audit log (`/api/logs`). */
  audit: AuditLog;
  /** Webhooks (`/api/hooks`). */
  hooks: HookService;
  /** The webhook delivery worker (started by createApp unless `webhooks.worker` is false). */
  deliveries: HookDeliveryWorker;
  /**
   * Sends Logto's test payload of each event to `endpoint`, signed with the hook's key (`POST /api/hooks/:id/test`,
   * `tessera hooks test`). @throws AppError `hook.endpoint_error`, `hook.test_failed`, `hook.denied_address`, `hook.invalid_url`
   */
  testHook: (hook: HookRecord, events: string[], endpoint: { url: string; headers: Record<string, string> }) => Promise<void>;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Where this request's changes came from (domain/events/context.ts). */
    activity?: ActivityContext;
  }
}

/** A built Tessera server. */
export interface TesseraApp {
  config: Config;
  server: FastifyInstance;
  services: Services;
  database: DatabaseHandle;
  /** The OIDC provider mounted at /oidc (keys, rotation). */
  oidc: OidcService;
  /** Starts listening on `config.host:config.port` (port 0 picks a free one). @returns the base URL */
  listen(): Promise<string>;
  /** Stops the server and closes the database and limiter connections. */
  close(): Promise<void>;
}

/** The header of `/api/docs`: Tessera's name as an SVG word mark. */
const TESSERA_LOGO_SVG = Buffer.from(
  '<svg xmlns="http://www.w3.org/2000/svg" width="160" height="40" viewBox="0 0 160 40" role="img" aria-label="Tessera">' +
    '<rect x="2" y="8" width="10" height="10" fill="#2f6f8f"/><rect x="14" y="8" width="10" height="10" fill="#7fb3c8"/>' +
    '<rect x="2" y="20" width="10" height="10" fill="#7fb3c8"/><rect x="14" y="20" width="10" height="10" fill="#2f6f8f"/>' +
    '<text x="32" y="28" font-family="system-ui, sans-serif" font-size="20" font-weight="600" fill="#ffffff">Tessera</text></svg>',
);

/** An acceptable incoming `X-Request-Id`: 1–128 characters of `A-Z a-z 0-9 . _ : -`. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Query parameters whose values are secrets and never reach the logs. */
const SECRET_PARAMS = /([?&](?:token|code|password|access_token|refresh_token|id_token_hint|session_token|client_secret|sessionToken|verification_id|subject_token|actor_token)=)[^&#]*/gi;

/** Path parameters whose values are secrets (one-time codes, tokens), never copied into events. */
const SECRET_PARAM_NAME = /code|token|password|secret/i;

/** Paths that carry a one-time code as their last segment (LeanCloud `/1.1/verifySmsCode/:code`…). */
const SECRET_PATHS = /(\/1\.1\/(?:verifySmsCode|verifyMobilePhone|resetPasswordBySmsCode)\/)[^/?#]*/gi;

/** A URL with secret query values (and codes in LeanCloud paths) replaced by `[redacted]`. */
export function redactUrl(url: string): string {
  return url.replace(SECRET_PARAMS, '$1[redacted]').replace(SECRET_PATHS, '$1[redacted]');
}

/**
 * The pino logger: JSON lines; request logs carry method, redacted URL and client IP only (no
 * headers, no bodies); any `password`, `token`, `code`… field logged explicitly is censored.
 */
export function createLogger(level: string, stream?: DestinationStream) {
  const options: LoggerOptions = {
    level,
    // Level names (`"level":"info"`), not pino's numbers.
    formatters: { level: (label) => ({ level: label }) },
    redact: {
      paths: [
        'password', '*.password', 'token', '*.token', 'code', '*.code', 'sessionToken', '*.sessionToken',
        'req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'headers.cookie',
      ],
      censor: '[redacted]',
    },
    serializers: {
      req: (req: FastifyRequest) => ({ method: req.method, url: redactUrl(req.url), remoteAddress: req.ip }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      err: pino.stdSerializers.err,
    },
  };
  // On a terminal (and without a stream of the caller's), lines are pretty-printed by pino-pretty.
  if (!stream && process.stdout.isTTY) return pino({ ...options, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:standard' } } });
  return pino(options, stream);
}

const PURGE_INTERVAL_MS = 60 * 60 * 1000;

/**
 * The only composition root (DESIGN.md): opens and migrates the database, builds the domain services
 * and the Fastify server with every surface. Nothing is global: two apps in one process are independent.
 * @throws when the database cannot be opened or migrated
 */
export async function createApp(config: Config, options: AppOptions = {}): Promise<TesseraApp> {
  const clock = options.clock ?? systemClock;
  const logger = createLogger(config.logLevel, options.logStream);
  const database = openDatabase(config.databaseUrl, {
    onIdleError: (error) => logger.warn({ err: error }, 'idle database connection lost'),
    ...(options.countStatements ? { countStatements: true } : {}),
  });
  let limiters: RateLimiters | undefined;
  let connectors: Connectors | undefined;
  try {
    await migrateToLatest(database.db);
    const store = new KyselyStore(database);
    const hasher = new PasswordHasher(config.password.hashConcurrency);
    const policy = new PasswordPolicy(config.password);
    // Built in dependency order; every service gets its collaborators through its constructor.
    const sessions = new SessionService(store, config, clock);
    const reauthentication = new Reauthentication(store, clock);
    const subjectTokens = new SubjectTokenService(store, clock);
    // The event stream (DESIGN.md "Events"): audit entries and webhook deliveries written with each change.
    const audit = new AuditLog(store, clock);
    const events = new EventOutbox(store, audit, clock);
    // "End every session of a user" (password change, reset, suspension): first-party sessions, OIDC
    // sessions, grants and stored tokens, and unused impersonation tokens — sparing the acting session.
    const users = new UserService(store, hasher, policy, config, clock, [
      (userId, keep) => sessions.revokeAll(userId, keep.sessionId ?? undefined),
      (userId, keep) =>
        keep.grantId
          ? store.oidcPayloads.deleteByAccountExcept(userId, { grantId: keep.grantId, sessionUid: keep.oidcSessionUid ?? null })
          : store.oidcPayloads.deleteByAccount(userId),
      (userId) => subjectTokens.revokeForUser(userId),
    ], events);
    const guard = new SignInGuard(store, config.lockout, clock, (kind, raw) => users.normalize(kind, raw, true));
    const sdkStore = new KyselySdkStore(database.db);
    const factors = new SecondFactors(store);
    const securityLevel = new SecurityLevelService(sdkStore, factors);
    const credentials = new CredentialService(store, users, hasher, policy, guard, securityLevel, clock);
    const captcha = new CaptchaService(sdkStore, store.signInGuards, config.signIn.captchaAfterFailures, options.captchaAnswers ?? randomCaptchaAnswer, clock);
    const rateLimits = new RateLimiters(database, config.redisUrl);
    limiters = rateLimits;
    connectors = await createConnectors(config, logger);
    const { email, sms } = connectors;
    const verification = new VerificationService(
      store,
      { send: (channel, message) => (channel === 'email' ? email.send(message) : sms.send(message)) },
      {
        // A resend interval of 0 turns the throttle off (the hourly caps still apply).
        resend: await limiters.create(
          config.codes.resendIntervalSeconds > 0
            ? { name: 'code_resend', points: 1, durationSeconds: config.codes.resendIntervalSeconds }
            : { name: 'code_resend', points: Number.MAX_SAFE_INTEGER, durationSeconds: 1 },
        ),
        perIdentifier: await limiters.create({ name: 'code_identifier', points: config.codes.perIdentifierPerHour, durationSeconds: 3600 }),
        perIp: await limiters.create({ name: 'code_ip', points: config.codes.perIpPerHour, durationSeconds: 3600 }),
      },
      config,
      clock,
      (error, message) => logger.error({ err: error }, message),
    );
    const authLimiters = {
      signIn: await limiters.create({ name: 'sign_in', points: config.rateLimit.signInPerMinute, durationSeconds: 60 }),
      signUp: await limiters.create({ name: 'sign_up', points: config.rateLimit.signUpPerHour, durationSeconds: 3600 }),
    };
    // A flagged user's sign-in yields a reset token instead of a session (after MFA when they have it).
    const forcedResetGate = new ForcedResetGate(sdkStore, securityLevel, factors, clock);
    const issuer = new SessionIssuer(users, sessions, forcedResetGate, clock);
    const accountCenter = new AccountCenterService(store, clock);
    const preferences = new SignInPreferenceService(store, clock);
    const mfa = new MfaService(
      store, issuer, authLimiters.signIn, factors, guard, config, clock, hasher,
      async () => (await accountCenter.get()).webauthnRelatedOrigins,
      (userId) => preferences.asksToSkipMfa(userId),
    );
    // Every sign-in ends in auth.finishSignIn, which asks the MFA service for a second factor.
    const auth = new AuthService(users, sessions, hasher, guard, authLimiters, verification, credentials, captcha, issuer, mfa, forcedResetGate, config, clock,
      (error, message) => logger.error({ err: error }, message), audit);
    const applications = new ApplicationService(store, clock);
    const authorization = new AuthorizationService(store, clock, audit, events, [managementResourceOf(config)]);
    // Invitation emails carry the secret token as the code and, linked, the application's acceptance page
    // (default: the accept endpoint) with the invitation id and token (issue 18 item 4).
    const organizations = new OrganizationService(store, clock, audit, events, (m) => {
      const base = m.linkBase ?? `${config.publicUrl}/api/my-account/organization-invitations/${encodeURIComponent(m.invitationId)}/accept`;
      const link = `${base}${base.includes('?') ? '&' : '?'}invitationId=${encodeURIComponent(m.invitationId)}&token=${encodeURIComponent(m.token)}`;
      return email.send({ to: m.to, purpose: 'OrganizationInvitation', code: m.token, locale: m.locale, expiresInMinutes: m.expiresInMinutes, link });
    });
    const personalAccessTokens = new PersonalAccessTokenService(store, clock);
    const tokenExchange = new TokenExchangeService(store, personalAccessTokens, clock);
    const oidc = await OidcService.create({
      config, store, users, applications, authorization, tokenExchange, organizations, clock, auth, sessions, mfa, captcha, audit, logger: logger as FastifyBaseLogger,
    });
    const identities = new IdentityService(store, clock);
    const leancloudUsers = new LeanCloudUsers(store, users, auth, sessions, identities, verification, credentials, accountCenter, clock);
    const leancloudCodes = new LeanCloudCodes(users, auth, verification, config, accountCenter,
      await limiters.create({ name: 'code_guess', points: config.rateLimit.codeGuessesPerHour, durationSeconds: 3600 }));
    const account = new AccountService(store, users, identities, verification, credentials, clock, auth);
    const social = new SocialService(store, users, identities, auth, factors, config, clock);
    const customFields = new CustomFieldService(sdkStore, users, clock);
    const forcedReset = new ForcedResetService(sdkStore, users, auth, hasher, credentials, clock);
    const sdk: SdkServices = {
      self: new SelfService(users, account, auth, sessions, verification, credentials, customFields, accountCenter, reauthentication,
        config.signIn.requireOldIdentifierProof),
      securityLevel,
      customFields,
      forcedReset,
      sdkAuth: new SdkAuthService(auth, users, sessions, sdkStore,
        await limiters.create({ name: 'user_exists', points: config.rateLimit.userExistsPerMinute, durationSeconds: 60 }), config, reauthentication),
      captcha,
    };
    const addressPolicy = new AddressPolicy(config.webhooks.denyCidrs);
    const hooks = new HookService(store, async (url) => {
      try {
        await addressPolicy.assertAllowedUrl(url);
      } catch (error) {
        if (error instanceof WebhookSendError) throw new AppError(error.code === 'webhook.denied_address' ? 'hook.denied_address' : 'hook.invalid_url');
        throw error;
      }
    }, clock);
    const webhookTimeoutMs = config.webhooks.timeoutSeconds * 1000;
    const deliveries = new HookDeliveryWorker(store, audit, addressPolicy, {
      timeoutMs: webhookTimeoutMs,
      retryBaseMs: config.webhooks.retryBaseSeconds * 1000,
      pollIntervalMs: config.webhooks.pollIntervalSeconds * 1000,
      concurrency: config.webhooks.concurrency,
      retentionDays: config.auditLog.retentionDays,
    }, clock, { error: (error, message) => logger.error({ err: error }, message), warn: (fields, message) => logger.warn(fields, message) });
    const testHook: Services['testHook'] = (hook, list, endpoint) =>
      sendTestDeliveries(addressPolicy, { hookId: hook.id, signingKey: hook.signingKey, events: list, url: endpoint.url, headers: endpoint.headers, timeoutMs: webhookTimeoutMs, now: clock.now() });
    const services: Services = { store, hasher, policy, users, credentials, sessions, guard, verification, auth, applications, authorization, identities, accountCenter, account,
      personalAccessTokens, subjectTokens, tokenExchange, leancloudUsers, leancloudCodes, social, sdk, mfa, preferences, audit, hooks, deliveries, testHook, organizations };

    const server = Fastify({
      loggerInstance: logger as FastifyBaseLogger,
      bodyLimit: config.bodyLimitBytes,
      trustProxy: config.trustProxy,
      // An incoming X-Request-Id (a proxy's) is kept when it is a plain token; otherwise a random one.
      genReqId: (req) => {
        const given = req.headers['x-request-id'];
        return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
      },
      // Every route validates and serialises with zod. Given as the schema controller's compilers (rather than
      // through setValidatorCompiler/setSerializerCompiler), they also keep Fastify from loading its default
      // Ajv and fast-json-stringify compilers at start, which no route would use (issue 22 item 1: about 100
      // modules). Fastify's types name its Ajv compilers' signatures; zod's compilers are called the same way.
      schemaController: {
        compilersFactory: { buildValidator: () => validatorCompiler, buildSerializer: () => serializerCompiler } as unknown as NonNullable<
          NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']
        >,
      },
    }).withTypeProvider<ZodTypeProvider>();
    // The native API speaks JSON only; other bodies get 415 request.unsupported_media_type.
    server.removeContentTypeParser('text/plain');
    // JSON with Fastify's own parser (prototype-poisoning keys refused), except that an empty body is no
    // body (issue 16: what many clients send on DELETE and bodiless POST, and what Logto accepts), and a
    // body nested deeper than MAX_JSON_DEPTH is refused (issue 15).
    const parseJson = server.getDefaultJsonParser('error', 'error');
    server.removeContentTypeParser('application/json');
    server.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
      const text = typeof body === 'string' ? body : body.toString('utf8');
      if (text.trim() === '') {
        done(null, undefined);
        return;
      }
      parseJson(request, text, (error, parsed) => {
        if (error) return done(error, undefined);
        try {
          assertJsonDepth(parsed);
          done(null, parsed);
        } catch (refused) {
          done(refused as Error, undefined);
        }
      });
    });
    installErrorHandling(server, { defaultLocale: config.ui.defaultLocale });
    // NUL anywhere in params, query or JSON body → 400 request.invalid (PostgreSQL text cannot hold it).
    server.addHook('preValidation', refuseNul);

    // helmet's default security headers on every answer (routes that hijack the response, like
    // /oidc/*, set their own).
    // Every API answer is about one caller (accounts, sessions, tokens, codes): never stored by a cache
    // (RFC 6749 §5.1 for token answers; ASVS 5.0 V14.3). A route that wants caching sets its own header.
    const headers = { ...securityHeaders(), 'cache-control': 'no-store' };
    server.addHook('onRequest', (request, reply, done) => {
      reply.headers(headers);
      reply.header('x-request-id', request.id);
      // Where the changes of this request came from, for the events and audit entries they cause.
      const ua = request.headers['user-agent'];
      const activity = {
        ...emptyActivityContext(),
        ip: request.ip,
        userAgent: typeof ua === 'string' ? ua : null,
        method: request.method,
        // Never a secret: codes in LeanCloud paths and secret-named parameters are redacted.
        path: redactUrl(request.url.split('?')[0] ?? request.url),
        matchedRoute: request.routeOptions.url ?? null,
        params: Object.fromEntries(
          Object.entries((request.params ?? {}) as Record<string, string>).map(([k, v]) => [k, SECRET_PARAM_NAME.test(k) ? '[redacted]' : v]),
        ),
      };
      request.activity = activity;
      runWithActivityContext(activity, done);
    });
    // A request that queued deliveries wakes the worker once its changes are committed (the answer is sent).
    server.addHook('onResponse', (request, _reply, done) => {
      if (request.activity?.queued) deliveries.notify();
      done();
    });
    // While the server stops (SIGTERM), answers to requests still in flight close their connection, so
    // that closing does not wait for idle keep-alive connections until the shutdown deadline.
    let closing = false;
    server.addHook('preClose', (done) => {
      closing = true;
      done();
    });
    server.addHook('onSend', (_request, reply, payload, done) => {
      if (closing) reply.header('connection', 'close');
      done(null, payload);
    });
    const exposedHeaders = ['Retry-After', 'Total-Number', 'Link', 'X-Request-Id'];
    const authingOrigins = new Set(config.authing.corsOrigins);
    // Every API answers any origin without credentials, except the Authing surface: its SDK sends cookies
    // (axios `withCredentials`), so configured origins get themselves and credentials (AUTHING_CORS).
    await server.register(cors, {
      delegator: (request, done) => {
        const origin = request.headers.origin;
        const authingPath = /^\/(?:graphql\/v2|api\/v2\/)/.test(request.url);
        if (authingPath && typeof origin === 'string' && authingOrigins.has(origin)) {
          done(null, { origin, credentials: true, exposedHeaders, allowedHeaders: AUTHING_CORS_HEADERS, maxAge: 600 });
        } else {
          done(null, { origin: authingPath ? false : '*', exposedHeaders });
        }
      },
    });
    // prom-client (with @opentelemetry/api, about 90 modules) is loaded only when metrics are on.
    if (config.metricsToken) {
      const { metricsRoutes } = await import('./http/metrics.js');
      await server.register(metricsRoutes, { token: config.metricsToken, hasher, db: database.db });
    }
    await server.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'Tessera',
          version: '0.1.0',
          description: 'Self-hosted account service',
          license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
        },
        servers: [{ url: config.publicUrl }],
        components: {
          securitySchemes: {
            bearerAuth: { type: 'http', scheme: 'bearer' },
            managementToken: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'client_credentials token for resource <publicUrl>/api, scope all' },
          },
        },
      },
      transform: documentTransform,
      transformObject: jsonSchemaTransformObject,
    });
    await server.register(swaggerUi, {
      routePrefix: '/api/docs',
      // Tessera's name in the tab and the header (not the UI library's logo).
      theme: { title: 'Tessera API' },
      logo: { type: 'image/svg+xml', content: TESSERA_LOGO_SVG, href: '/api/docs' },
    });

    await server.register(systemRoutes, { prefix: '/api', store, db: database.db, pingRedis: () => rateLimits.ping() });
    await server.register(webauthnWellKnownRoutes, { origin: new URL(config.publicUrl).origin, relatedOrigins: async () => (await accountCenter.get()).webauthnRelatedOrigins });
    await server.register(authRoutes, { prefix: '/api/auth', auth, users, sessions, policy, sdk, authorization: services.authorization });
    await server.register(codeRoutes, { prefix: '/api/auth', auth, users, verification, config });
    await server.register(socialAuthRoutes, { prefix: '/api/auth', social });
    await server.register(mfaAuthRoutes, { prefix: '/api/auth', mfa });
    await server.register(uiAssetRoutes, { config });
    await server.register(oidcRoutes, { oidc, social, codes: { verification, sdkAuth: sdk.sdkAuth } });
    await server.register(accountCenterRoutes, { oidc, accountCenter });
    await server.register(managementRoutes, {
      prefix: '/api',
      authorize: managementAuthorizer({
        issuer: issuerOf(config),
        audience: managementAudiencesOf(config),
        getKey: oidc.verificationKey,
        keySetVersion: () => oidc.signingKeysVersion(),
        holdsManagementRole: (clientId) => applications.holdsManagementRole(clientId),
      }),
      // Leased: one store write per 10 requests of a client rather than per request (util/rate-limit.ts).
      limiter: await limiters.createLeased({
        name: 'management',
        points: config.rateLimit.managementPer10Seconds,
        durationSeconds: 10,
      }, 10),
      users,
      credentials,
      sessions,
      applications,
      authorization,
      organizations,
      identities,
      accountCenter,
      grants: account,
      personalAccessTokens,
      subjectTokens,
      social,
      customFields,
      mfa,
      preferences,
      audit,
      hooks: {
        hooks,
        logs: store.logs,
        now: () => clock.now(),
        sendTest: testHook,
      },
      publicUrl: config.publicUrl,
    });
    await server.register(accountOrganizationInvitationRoutes, {
      prefix: '/api',
      organizations,
      authorize: accountAuthorizer({ sessions, findUser: (id) => users.findById(id), findAccessToken: accountAccessTokens(store, clock) }),
      isThirdPartyClient: async (clientId) => actsAsThirdParty(await applications.find(clientId)),
      accountCenterEnabled: async () => (await accountCenter.get()).enabled,
    });
    await server.register(accountRoutes, {
      prefix: '/api',
      authorize: accountAuthorizer({
        sessions,
        findUser: (id) => users.findById(id),
        findAccessToken: accountAccessTokens(store, clock),
      }),
      accountCenter,
      account,
      sessions,
      identities,
      reauthentication,
      normalizePhone: (raw) => users.normalize('phone', raw),
      social,
      mfa,
      preferences,
      // Unknown clients count as third-party: they may read, never change.
      isThirdPartyClient: async (clientId) => actsAsThirdParty(await applications.find(clientId)),
    });
    const lc = config.leancloud;
    if (lc.appId && lc.appKey) {
      const keys = { appId: lc.appId, appKey: lc.appKey, masterKey: lc.masterKey, signatureSkewSeconds: lc.signatureSkewSeconds };
      // The vendor surfaces' adapters are loaded only when configured (start-up time; issue 22).
      const { leancloudRoutes } = await import('./http/leancloud/index.js');
      // X-LC-Sign timestamps come from the client's wall clock, so they are checked against the real one.
      await server.register(leancloudRoutes, { prefix: '/1.1', users: leancloudUsers, codes: leancloudCodes, keys, clock: systemClock, config });
    }
    const authing = config.authing;
    if (authing.appId && authing.secret) {
      const userPoolId = authing.userPoolId ?? authing.appId;
      const [{ authingRoutes }, { AuthingKeys }, { AuthingTokens }] = await Promise.all([
        import('./http/authing/index.js'),
        import('./http/authing/keys.js'),
        import('./http/authing/tokens.js'),
      ]);
      await server.register(authingRoutes, {
        auth, users, sessions, verification, policy, securityLevel,
        self: sdk.self,
        customFields: sdk.customFields,
        sdkAuth: sdk.sdkAuth,
        keys: new AuthingKeys(store.authingKeys, clock, { rotationDays: authing.keyRotationDays, graceSeconds: authing.keyGraceSeconds, rejectionKey: authing.secret }),
        tokens: new AuthingTokens(sessions, clock, { secret: authing.secret, appId: authing.appId, userPoolId, ttlSeconds: authing.tokenTtlSeconds, issuer: issuerOf(config) }),
        credentials,
        forcedReset: sdk.forcedReset,
        applications,
        roles: authorization,
        userPoolId,
        poolSecret: authing.secret,
      });
    }
    await server.ready();
    if (config.webhooks.worker) deliveries.start();

    const purge = setInterval(() => {
      sessions.purgeExpired().catch((error: unknown) => server.log.error({ err: error }, 'session purge failed'));
      verification.purgeExpired().catch((error: unknown) => server.log.error({ err: error }, 'verification purge failed'));
      oidc.purgeExpired().catch((error: unknown) => server.log.error({ err: error }, 'oidc purge failed'));
      subjectTokens.purgeExpired().catch((error: unknown) => server.log.error({ err: error }, 'subject token purge failed'));
      social.purgeExpired().catch((error: unknown) => server.log.error({ err: error }, 'social session purge failed'));
      mfa.purgeExpired().catch((error: unknown) => server.log.error({ err: error }, 'mfa purge failed'));
      forcedReset.purgeExpired().catch((error: unknown) => server.log.error({ err: error }, 'reset token and captcha purge failed'));
    }, PURGE_INTERVAL_MS);
    purge.unref();

    const rl = limiters;
    const conn = connectors;
    return {
      config,
      server,
      services,
      database,
      oidc,
      async listen() {
        return server.listen({ host: config.host, port: config.port });
      },
      async close() {
        clearInterval(purge);
        await server.close();
        await deliveries.stop();
        addressPolicy.close();
        await rl.close();
        await conn.email.close();
        await conn.sms.close();
        await database.close();
      },
    };
  } catch (error) {
    await connectors?.email.close();
    await connectors?.sms.close();
    await limiters?.close();
    await database.close();
    throw error;
  }
}
