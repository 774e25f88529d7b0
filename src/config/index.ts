import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { z } from 'zod';

/** An address range in CIDR notation (`169.254.0.0/16`, `fe80::/10`), as `net.BlockList` reads it. */
const cidr = z.string().refine((v) => parseCidr(v) !== undefined, 'must be an IPv4 or IPv6 range in CIDR notation, e.g. 10.0.0.0/8');

/** Splits a CIDR range into its network address, prefix length and family, or undefined when malformed. */
export function parseCidr(value: string): { network: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const match = /^([^/]+)\/(\d{1,3})$/.exec(value.trim());
  if (!match) return undefined;
  const version = isIP(match[1]!);
  const prefix = Number(match[2]);
  if (version === 0 || prefix > (version === 4 ? 32 : 128)) return undefined;
  return { network: match[1]!, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** A token-vault key: base64 (or base64url) of exactly 32 bytes (AES-256), e.g. `openssl rand -base64 32`. */
const vaultKey = z
  .string()
  .refine((v) => /^[A-Za-z0-9+/_-]+={0,2}$/.test(v) && Buffer.from(v, 'base64').length === 32, 'must be base64 of 32 bytes (openssl rand -base64 32)');

/**
 * Tessera's configuration: one zod schema. Values come from, in increasing precedence:
 * the defaults below ← an optional JSON file (`tessera.config.json` in the working directory, or the
 * path in `TESSERA_CONFIG`) ← `TESSERA_*` environment variables ({@link ENV_VARS}).
 * Durations are in **seconds** unless the key says otherwise.
 */
export const configSchema = z
  .object({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.coerce.number().int().min(0).max(65535).default(3000),
    /** Public base URL of this server, without trailing slash; the OIDC issuer is `${publicUrl}/oidc`. */
    publicUrl: z
      .url({ protocol: /^https?$/ })
      .transform((u) => u.replace(/\/+$/, ''))
      .default('http://127.0.0.1:3000'),
    /** `sqlite:<path>` (or `sqlite::memory:`) or `postgres://…`. */
    databaseUrl: z
      .string()
      .refine((v) => /^sqlite:/.test(v) || /^postgres(ql)?:\/\//.test(v), {
        message: 'must start with sqlite: or postgres://',
      })
      .default('sqlite:./data/tessera.db'),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /**
     * Server processes `tessera start` runs (node:cluster; 1 = no cluster). More than one needs a
     * database file or PostgreSQL; each worker then gets `CPUs ÷ workers` argon2id slots unless
     * `password.hashConcurrency` is set.
     */
    workers: z.coerce.number().int().min(1).max(256).default(1),
    /** Redis URL for rate-limit counters shared by several nodes (optional). */
    redisUrl: z.string().url().optional(),
    /** Largest accepted request body, in bytes (default 1 MiB). */
    bodyLimitBytes: z.coerce.number().int().positive().default(1_048_576),
    /** Trust `X-Forwarded-For` from a reverse proxy when computing the client IP. */
    trustProxy: z.boolean().default(false),
    /**
     * Seconds a stopping server (SIGTERM/SIGINT) waits for requests in flight before it exits anyway
     * (exit status 1 when the deadline passed).
     */
    shutdownTimeoutSeconds: z.coerce.number().min(0).max(600).default(10),
    /**
     * How far the server's JavaScript heap may grow between full garbage collections, as V8's growing
     * factor `1 + heapGrowingPercent / 100` (util/heap.ts); 0 keeps V8's own factor (up to 4).
     */
    heapGrowingPercent: z.coerce.number().int().min(0).max(300).default(50),
    /**
     * Bearer token that opens `GET /metrics` (Prometheus text format); without it the route does not exist.
     * At least 16 characters.
     */
    metricsToken: z.string().min(16).optional(),
    /** Region used to read phone numbers written without a leading `+` (ISO 3166-1 alpha-2, e.g. CN). */
    defaultPhoneRegion: z.string().length(2).toUpperCase().optional(),
    password: z
      .object({
        /** Minimum length in Unicode code points (NIST 800-63B-4 §3.1.1.2: ≥ 8; 15 when password-only). */
        minLength: z.coerce.number().int().min(1).default(8),
        /** Maximum length in code points (NIST: allow ≥ 64). */
        maxLength: z.coerce.number().int().min(8).max(4096).default(256),
        /** Reject the zxcvbn-ts common-password dictionary. */
        rejectCommon: z.boolean().default(true),
        /** Reject passwords that contain the username or the email local part. */
        rejectUserInfo: z.boolean().default(true),
        /**
         * Optional character-class rule, Authing's levels: 0 any; 1 ≥ 6 chars; 2 ≥ 6 chars with two of
         * letters/digits/symbols; 3 ≥ 6 chars with all three. NIST discourages composition rules: default 0.
         */
        characterLevel: z.coerce.number().int().min(0).max(3).default(0),
        /** Concurrent argon2id computations allowed (each holds 19 MiB). Default: CPU count. */
        hashConcurrency: z.coerce.number().int().min(1).default(availableParallelism()),
      })
      .prefault({}),
    session: z
      .object({
        /** Absolute lifetime of a session, seconds (default 30 days). */
        absoluteTtlSeconds: z.coerce.number().int().positive().default(30 * 86_400),
        /** Idle timeout: a session unused this long ends, seconds (default 14 days). */
        idleTtlSeconds: z.coerce.number().int().positive().default(14 * 86_400),
      })
      .prefault({}),
    lockout: z
      .object({
        /** Failed sign-ins per identifier that lock it (LeanCloud: 6). */
        maxFailures: z.coerce.number().int().min(1).default(6),
        /** Window in which failures are counted, seconds (default 15 min). */
        windowSeconds: z.coerce.number().int().positive().default(900),
        /** Lock duration counted from the last failure, seconds (default 15 min). */
        durationSeconds: z.coerce.number().int().positive().default(900),
      })
      .prefault({}),
    rateLimit: z
      .object({
        /** Sign-in attempts per client IP per minute. */
        signInPerMinute: z.coerce.number().int().min(1).default(30),
        /** Sign-ups per client IP per hour. */
        signUpPerHour: z.coerce.number().int().min(1).default(30),
        /** Management API requests per M2M client per 10 seconds. */
        managementPer10Seconds: z.coerce.number().int().min(1).default(200),
        /** `POST /api/auth/user-exists` checks per client IP per minute (issue 6). */
        userExistsPerMinute: z.coerce.number().int().min(1).default(10),
        /**
         * Wrong guesses per client IP per hour at the `/1.1` routes that match an SMS code by the code
         * alone (LeanCloud's `verifyMobilePhone(code)`, `resetPasswordBySmsCode(code, pw)`), where no
         * per-code attempt count can apply.
         */
        codeGuessesPerHour: z.coerce.number().int().min(1).default(10),
      })
      .prefault({}),
    /** Outgoing email (issue 3). Without `smtpUrl` mail goes to the log (development only). */
    email: z
      .object({
        /** `smtp://user:pass@host:port` or `smtps://…`; unset → the console connector. */
        smtpUrl: z.url({ protocol: /^smtps?$/ }).optional(),
        /** RFC 5322 From header. */
        from: z.string().min(3).default('Tessera <no-reply@localhost>'),
      })
      .prefault({}),
    /** Outgoing SMS (issue 3). Without `webhookUrl` messages go to the log (development only). */
    sms: z
      .object({
        /** Receives POST JSON {to, text, code, purpose, locale}. */
        webhookUrl: z.url({ protocol: /^https?$/ }).optional(),
        /** When set, requests carry `X-Tessera-Signature: t=<unix s>,v1=<hex HMAC-SHA256 of "t.body">`. */
        webhookSecret: z.string().min(16).optional(),
        /** Give up on the webhook after this many seconds. */
        timeoutSeconds: z.coerce.number().positive().default(10),
      })
      .prefault({}),
    /** Folder with template overrides `<Purpose>.<locale>.json` (see README). */
    templatesDir: z.string().min(1).optional(),
    /** One-time codes (NIST 800-63B-4 §3.1.3, ASVS 6.5/6.6). */
    codes: z
      .object({
        /** Lifetime of a code and of its verification record, seconds (≤ 10 min per NIST). */
        ttlSeconds: z.coerce.number().int().positive().max(600).default(600),
        /** Wrong guesses after which a code is dead. */
        maxAttempts: z.coerce.number().int().min(1).default(5),
        /** Minimum seconds between two codes to one identifier for one purpose. */
        resendIntervalSeconds: z.coerce.number().int().min(0).default(60),
        /** Codes sent to one identifier per hour. */
        perIdentifierPerHour: z.coerce.number().int().min(1).default(10),
        /** Codes requested by one client IP per hour. */
        perIpPerHour: z.coerce.number().int().min(1).default(30),
      })
      .prefault({}),
    /** Sign-up and sign-in rules. */
    signIn: z
      .object({
        /** Send a VerifyEmail message (code + link) after sign-up with an email. */
        sendVerifyEmail: z.boolean().default(true),
        /** Refuse password sign-in until the email is verified (`auth.email_not_verified`). */
        requireVerifiedEmail: z.boolean().default(false),
        /** Failed password sign-ins from one IP within 15 min after which `/api/auth/sign-in` needs a captcha; 0 = off (issue 6). */
        captchaAfterFailures: z.coerce.number().int().min(0).default(5),
        /** Allow `POST /api/auth/user-exists` (Authing isUserExists): deliberate user enumeration, off by default (issue 6). */
        allowUserExistsCheck: z.boolean().default(false),
        /**
         * Changing an email or phone that is already bound (`POST /api/auth/me/email|phone`) always needs a code sent to
         * the current one, whatever the client asks (Authing's "verify the old email/phone" switch; issue 6). On by
         * default: a stolen session alone must not be able to move the account's recovery address (security review).
         */
        requireOldIdentifierProof: z.boolean().default(true),
      })
      .prefault({}),
    /**
     * The LeanCloud-compatible `/1.1` API (issue 5): enabled when `appId` and `appKey` are set. Clients
     * authenticate with `X-LC-Id` + `X-LC-Key` or `X-LC-Sign`; `masterKey` (optional) unlocks queries and
     * writes on any user. `signatureSkewSeconds` bounds the clock difference accepted in `X-LC-Sign`.
     */
    leancloud: z
      .object({
        appId: z.string().min(1).optional(),
        appKey: z.string().min(8).optional(),
        masterKey: z.string().min(8).optional(),
        signatureSkewSeconds: z.coerce.number().int().positive().default(900),
        /**
         * Answer the code and reset requests of an unknown account (`requestPasswordReset`, …BySmsCode,
         * `requestLoginSmsCode`, `requestEmailVerify`) as if it existed, instead of LeanCloud's 205/213:
         * no enumeration by code nor by timing (issue 15). Off by default (LeanCloud's documented codes).
         */
        hideUnknownAccounts: z.boolean().default(false),
      })
      .prefault({}),
    /**
     * The Authing surface (`/graphql/v2`, `/api/v2`, issue 17): on when `appId` and `secret` are set.
     * `secret` (the user pool secret, ≥ 16 characters) signs the HS256 user tokens; `userPoolId` is the
     * pool id the tokens and answers name (default: the app id); `tokenTtlSeconds` bounds a token (it also
     * dies with its session); the RSA key that encrypts passwords rotates every `keyRotationDays` and a
     * retired key keeps decrypting for `keyGraceSeconds` (the SDK caches the public key);
     * `corsOrigins` may call it from a browser with credentials.
     */
    authing: z
      .object({
        appId: z.string().min(1).optional(),
        userPoolId: z.string().min(1).optional(),
        secret: z.string().min(16).optional(),
        tokenTtlSeconds: z.coerce.number().int().min(60).max(31_536_000).default(1_209_600),
        keyRotationDays: z.coerce.number().int().min(1).max(3650).default(90),
        keyGraceSeconds: z.coerce.number().int().min(0).max(31_536_000).default(604_800),
        corsOrigins: z
          .preprocess((v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v), z.array(z.url()))
          .default([]),
      })
      .prefault({}),
    /**
     * Social sign-in (issue 7): `linkByVerifiedEmail` links a new external identity to the existing
     * account with the same email only when the identity provider says the email is verified;
     * `redirectUris` is the allow-list of first-party redirect URIs (besides applications' registered
     * ones; comma-separated in the environment); `timeoutSeconds` bounds each call to a provider.
     * `tokenVaultKey` (base64 of 32 random bytes) is the key-encryption key of the provider token sets kept
     * for connectors with token storage on (domain/social/token-vault.ts); `tokenVaultOldKeys` (comma-
     * separated) still decrypt what earlier keys sealed, so the key can be rotated.
     */
    /** Webhooks (issue 20): Logto's hooks, delivered from the outbox by a background worker. */
    webhooks: z
      .object({
        /**
         * Address ranges (CIDR) no hook may be delivered to: checked when a hook is saved and again on the
         * resolved address of every delivery (SSRF through DNS). Default: link-local, where cloud metadata
         * services live. Add your private ranges (`10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7`, and
         * `127.0.0.0/8,::1/128` when nothing on the host should be reachable).
         */
        denyCidrs: z
          .preprocess((v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v), z.array(cidr))
          .default(['169.254.0.0/16', 'fe80::/10']),
        /** Give up on one delivery attempt after this many seconds. */
        timeoutSeconds: z.coerce.number().positive().max(60).default(10),
        /** Delay before the first retry, seconds; each further retry waits twice as long (capped at 1 h). */
        retryBaseSeconds: z.coerce.number().positive().max(3600).default(10),
        /** How often an idle worker looks for due deliveries, seconds. */
        pollIntervalSeconds: z.coerce.number().positive().max(60).default(1),
        /** Deliveries in flight at once per server process (one hook holds at most half of them). */
        concurrency: z.coerce.number().int().min(1).max(256).default(32),
        /** Run the delivery worker in this process (turn off on nodes that should only serve requests). */
        worker: z.boolean().default(true),
      })
      .prefault({}),
    /** The audit log (`/api/logs`, issue 20). */
    auditLog: z
      .object({
        /** Entries older than this many days are deleted (0 keeps them forever). */
        retentionDays: z.coerce.number().int().min(0).default(90),
      })
      .prefault({}),
    social: z
      .object({
        linkByVerifiedEmail: z.boolean().default(false),
        redirectUris: z
          .preprocess((v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v), z.array(z.url()))
          .default([]),
        timeoutSeconds: z.coerce.number().int().min(1).max(120).default(10),
        tokenVaultKey: vaultKey.optional(),
        tokenVaultOldKeys: z
          .preprocess((v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v), z.array(vaultKey))
          .default([]),
      })
      .prefault({}),
    /**
     * Multi-factor authentication (issue 7, domain/mfa/index.ts): `policy` `optional` asks for a second factor
     * only from users who enrolled one; `required` also stops users without a factor at sign-in
     * (`auth.mfa_enrollment_required`) until they enrol one. `issuer` names the account in
     * authenticator apps (the `issuer` of otpauth:// URIs); `secretKey` encrypts TOTP secrets at rest.
     */
    mfa: z
      .object({
        policy: z.enum(['optional', 'required']).default('optional'),
        issuer: z.string().min(1).max(64).default('Tessera'),
        /**
         * Optional key (≥ 32 characters) that encrypts TOTP secrets at rest (AES-256-GCM, key = SHA-256 of
         * this value). Without it they are stored as they are. Changing it breaks enrolled TOTP factors.
         */
        secretKey: z.string().min(32).optional(),
        /**
         * Consecutive wrong second factors (across pending sign-ins) after which a user's second-factor
         * sign-ins are refused with `auth.mfa_locked` (423) until an admin removes one of the user's
         * factors (Management API). A correct second factor resets the count. NIST SP 800-63B-4 §3.2.2:
         * at most 100.
         */
        maxConsecutiveFailures: z.coerce.number().int().min(1).max(100).default(100),
        /**
         * Whether a user may turn off the second factor at their own sign-ins (Logto's `skipMfaOnSignIn`,
         * `PATCH /api/my-account/mfa-settings`). Off by default: the preference is kept but not honoured.
         * Never honoured under policy `required`.
         */
        allowUserSkip: z.boolean().default(false),
      })
      .prefault({}),
    /**
     * The hosted pages (/oidc sign-in, /account, message-link pages): branding and language (issue 14 §4–5).
     */
    ui: z
      .object({
        /** Product name in page titles, headers and the footer. */
        productName: z.string().trim().min(1).max(60).default('Tessera'),
        /** Logo shown above every page's heading: an https (or http) URL, or a path on this server. */
        logoUrl: z
          .string()
          .max(2048)
          .refine((v) => /^\/[^/\\]/.test(v) || /^https?:\/\/[^\s"'<>]+$/.test(v), { message: 'must be an http(s) URL or a path starting with /' })
          .optional(),
        /** Primary colour (buttons, links, focus ring), `#rrggbb`; the button text colour is chosen for contrast. */
        primaryColor: z
          .string()
          .regex(/^#[0-9a-fA-F]{6}$/, { message: 'must be a #rrggbb colour' })
          .default('#2456d3'),
        /** "Help" link in every page's footer: an http(s) or mailto: URL. */
        supportUrl: z
          .string()
          .max(2048)
          .refine((v) => /^(https?:\/\/|mailto:)[^\s"'<>]+$/.test(v), { message: 'must be an http(s) or mailto: URL' })
          .optional(),
        /** Language when neither `ui_locales` nor `Accept-Language` names a supported one (`en` or `zh-CN`). */
        defaultLocale: z.enum(['en', 'zh-CN']).default('en'),
      })
      .prefault({}),
    /** An M2M app with these credentials and the management role is ensured at start (issue 4). */
    adminClientId: z.string().min(1).optional(),
    adminClientSecret: z.string().min(16).optional(),
  })
  .strict();

/** The validated, frozen configuration object. */
export type Config = z.infer<typeof configSchema>;
/** What callers may pass in: every key optional, nested objects partial. */
export type ConfigInput = z.input<typeof configSchema>;

/**
 * Environment variables and the config key each one sets. Documented in README ("Configuration").
 */
export const ENV_VARS: Record<string, string> = {
  TESSERA_HOST: 'host',
  TESSERA_PORT: 'port',
  TESSERA_PUBLIC_URL: 'publicUrl',
  TESSERA_DATABASE_URL: 'databaseUrl',
  TESSERA_LOG_LEVEL: 'logLevel',
  TESSERA_WORKERS: 'workers',
  TESSERA_REDIS_URL: 'redisUrl',
  TESSERA_BODY_LIMIT_BYTES: 'bodyLimitBytes',
  TESSERA_TRUST_PROXY: 'trustProxy',
  TESSERA_SHUTDOWN_TIMEOUT_SECONDS: 'shutdownTimeoutSeconds',
  TESSERA_HEAP_GROWING_PERCENT: 'heapGrowingPercent',
  TESSERA_METRICS_TOKEN: 'metricsToken',
  TESSERA_DEFAULT_PHONE_REGION: 'defaultPhoneRegion',
  TESSERA_PASSWORD_MIN_LENGTH: 'password.minLength',
  TESSERA_PASSWORD_MAX_LENGTH: 'password.maxLength',
  TESSERA_PASSWORD_REJECT_COMMON: 'password.rejectCommon',
  TESSERA_PASSWORD_REJECT_USER_INFO: 'password.rejectUserInfo',
  TESSERA_PASSWORD_CHARACTER_LEVEL: 'password.characterLevel',
  TESSERA_HASH_CONCURRENCY: 'password.hashConcurrency',
  TESSERA_SESSION_TTL_SECONDS: 'session.absoluteTtlSeconds',
  TESSERA_SESSION_IDLE_TTL_SECONDS: 'session.idleTtlSeconds',
  TESSERA_LOCKOUT_MAX_FAILURES: 'lockout.maxFailures',
  TESSERA_LOCKOUT_WINDOW_SECONDS: 'lockout.windowSeconds',
  TESSERA_LOCKOUT_DURATION_SECONDS: 'lockout.durationSeconds',
  TESSERA_RATE_LIMIT_SIGN_IN_PER_MINUTE: 'rateLimit.signInPerMinute',
  TESSERA_RATE_LIMIT_SIGN_UP_PER_HOUR: 'rateLimit.signUpPerHour',
  TESSERA_RATE_LIMIT_MANAGEMENT_PER_10_SECONDS: 'rateLimit.managementPer10Seconds',
  TESSERA_RATE_LIMIT_USER_EXISTS_PER_MINUTE: 'rateLimit.userExistsPerMinute',
  TESSERA_RATE_LIMIT_CODE_GUESSES_PER_HOUR: 'rateLimit.codeGuessesPerHour',
  TESSERA_SMTP_URL: 'email.smtpUrl',
  TESSERA_EMAIL_FROM: 'email.from',
  TESSERA_SMS_WEBHOOK_URL: 'sms.webhookUrl',
  TESSERA_SMS_WEBHOOK_SECRET: 'sms.webhookSecret',
  TESSERA_SMS_WEBHOOK_TIMEOUT_SECONDS: 'sms.timeoutSeconds',
  TESSERA_TEMPLATES_DIR: 'templatesDir',
  TESSERA_CODE_TTL_SECONDS: 'codes.ttlSeconds',
  TESSERA_CODE_MAX_ATTEMPTS: 'codes.maxAttempts',
  TESSERA_CODE_RESEND_INTERVAL_SECONDS: 'codes.resendIntervalSeconds',
  TESSERA_CODE_PER_IDENTIFIER_PER_HOUR: 'codes.perIdentifierPerHour',
  TESSERA_CODE_PER_IP_PER_HOUR: 'codes.perIpPerHour',
  TESSERA_SEND_VERIFY_EMAIL: 'signIn.sendVerifyEmail',
  TESSERA_REQUIRE_VERIFIED_EMAIL_TO_SIGN_IN: 'signIn.requireVerifiedEmail',
  TESSERA_SIGN_IN_CAPTCHA_AFTER_FAILURES: 'signIn.captchaAfterFailures',
  TESSERA_SIGN_IN_ALLOW_USER_EXISTS_CHECK: 'signIn.allowUserExistsCheck',
  TESSERA_REQUIRE_OLD_IDENTIFIER_PROOF: 'signIn.requireOldIdentifierProof',
  TESSERA_LC_APP_ID: 'leancloud.appId',
  TESSERA_LC_APP_KEY: 'leancloud.appKey',
  TESSERA_LC_MASTER_KEY: 'leancloud.masterKey',
  TESSERA_LC_SIGNATURE_SKEW_SECONDS: 'leancloud.signatureSkewSeconds',
  TESSERA_LC_HIDE_UNKNOWN_ACCOUNTS: 'leancloud.hideUnknownAccounts',
  TESSERA_AUTHING_APP_ID: 'authing.appId',
  TESSERA_AUTHING_USER_POOL_ID: 'authing.userPoolId',
  TESSERA_AUTHING_SECRET: 'authing.secret',
  TESSERA_AUTHING_TOKEN_TTL_SECONDS: 'authing.tokenTtlSeconds',
  TESSERA_AUTHING_KEY_ROTATION_DAYS: 'authing.keyRotationDays',
  TESSERA_AUTHING_KEY_GRACE_SECONDS: 'authing.keyGraceSeconds',
  TESSERA_AUTHING_CORS_ORIGINS: 'authing.corsOrigins',
  TESSERA_SOCIAL_LINK_BY_VERIFIED_EMAIL: 'social.linkByVerifiedEmail',
  TESSERA_SOCIAL_REDIRECT_URIS: 'social.redirectUris',
  TESSERA_SOCIAL_TIMEOUT_SECONDS: 'social.timeoutSeconds',
  TESSERA_SOCIAL_TOKEN_VAULT_KEY: 'social.tokenVaultKey',
  TESSERA_SOCIAL_TOKEN_VAULT_OLD_KEYS: 'social.tokenVaultOldKeys',
  TESSERA_MFA_POLICY: 'mfa.policy',
  TESSERA_MFA_ISSUER: 'mfa.issuer',
  TESSERA_MFA_SECRET_KEY: 'mfa.secretKey',
  TESSERA_MFA_MAX_CONSECUTIVE_FAILURES: 'mfa.maxConsecutiveFailures',
  TESSERA_MFA_ALLOW_USER_SKIP: 'mfa.allowUserSkip',
  TESSERA_WEBHOOK_DENY_CIDRS: 'webhooks.denyCidrs',
  TESSERA_WEBHOOK_TIMEOUT_SECONDS: 'webhooks.timeoutSeconds',
  TESSERA_WEBHOOK_RETRY_BASE_SECONDS: 'webhooks.retryBaseSeconds',
  TESSERA_WEBHOOK_WORKER: 'webhooks.worker',
  TESSERA_WEBHOOK_CONCURRENCY: 'webhooks.concurrency',
  TESSERA_WEBHOOK_POLL_INTERVAL_SECONDS: 'webhooks.pollIntervalSeconds',
  TESSERA_AUDIT_LOG_RETENTION_DAYS: 'auditLog.retentionDays',
  TESSERA_UI_PRODUCT_NAME: 'ui.productName',
  TESSERA_UI_LOGO_URL: 'ui.logoUrl',
  TESSERA_UI_PRIMARY_COLOR: 'ui.primaryColor',
  TESSERA_UI_SUPPORT_URL: 'ui.supportUrl',
  TESSERA_DEFAULT_LOCALE: 'ui.defaultLocale',
  TESSERA_ADMIN_CLIENT_ID: 'adminClientId',
  TESSERA_ADMIN_CLIENT_SECRET: 'adminClientSecret',
};

/** Raised when configuration is invalid; `issues` names each bad key and why. */
export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`Invalid configuration:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Tree = Record<string, unknown>;

function setPath(target: Tree, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (typeof next !== 'object' || next === null) node[part] = {};
    node = node[part] as Tree;
  }
  node[parts[parts.length - 1]!] = value;
}

function deepMerge(base: Tree, over: Tree): Tree {
  const out: Tree = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b)
        ? deepMerge(b as Tree, v as Tree)
        : v;
  }
  return out;
}

/** Boolean env values: accepts true/false/1/0/yes/no. */
function envValue(raw: string): unknown {
  if (/^(true|yes|on)$/i.test(raw)) return true;
  if (/^(false|no|off)$/i.test(raw)) return false;
  return raw;
}

/**
 * Builds the configuration from defaults ← file ← environment.
 * @param env the environment to read (default `process.env`)
 * @param cwd directory in which to look for `tessera.config.json`
 * @throws ConfigError naming each bad key (by its environment variable name when it came from there)
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  let fromFile: Tree = {};
  const file = env.TESSERA_CONFIG ?? `${cwd}/tessera.config.json`;
  if (env.TESSERA_CONFIG !== undefined || existsSync(file)) {
    try {
      fromFile = JSON.parse(readFileSync(file, 'utf8')) as Tree;
    } catch (error) {
      throw new ConfigError([`${file}: ${(error as Error).message}`]);
    }
  }
  const fromEnv: Tree = {};
  const envNameOf: Record<string, string> = {};
  for (const [name, path] of Object.entries(ENV_VARS)) {
    const raw = env[name];
    if (raw !== undefined && raw !== '') {
      setPath(fromEnv, path, envValue(raw));
      envNameOf[path] = name;
    }
  }
  return parseConfig(deepMerge(fromFile, fromEnv), envNameOf);
}

/**
 * Validates a configuration object (defaults fill what is missing) and freezes it.
 * @throws ConfigError listing every invalid key
 */
export function parseConfig(input: unknown, envNameOf: Record<string, string> = {}): Config {
  const result = configSchema.safeParse(input);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => {
        const path = issue.path.join('.');
        const key = envNameOf[path] ? `${envNameOf[path]} (${path})` : path || '(root)';
        return `${key}: ${issue.message}`;
      }),
    );
  }
  const config = result.data;
  if (config.workers > 1 && config.databaseUrl === 'sqlite::memory:') {
    throw new ConfigError([`${envNameOf['workers'] ? 'TESSERA_WORKERS (workers)' : 'workers'}: more than 1 worker needs a database file or PostgreSQL, not sqlite::memory:`]);
  }
  // Several workers share the CPUs' argon2id slots unless the operator chose a number.
  const given = (input as { password?: { hashConcurrency?: unknown } } | undefined)?.password?.hashConcurrency;
  if (config.workers > 1 && given === undefined) {
    config.password.hashConcurrency = Math.max(1, Math.floor(availableParallelism() / config.workers));
  }
  return deepFreeze(config);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
