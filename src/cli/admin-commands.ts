import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import type { Config } from '../config/index.js';
import type { TesseraApp } from '../app.js';
import type { UserRecord, UserSearchField } from '../storage/store.js';
import type { LogRecord } from '../storage/hook-store.js';

// Loads only commander until a command runs (see cli/oidc.ts). The user and application commands build
// the app's own services (createApp, no listener), so a user created, suspended or given a password here
// goes through the same domain rules as through the Management API — one rule, one place.

/** Builds the app on the configured database (its logs go to stderr: stdout is the command's JSON), runs `work`, closes it. */
async function withApp<T>(config: Config, work: (app: TesseraApp) => Promise<T>): Promise<T> {
  const { createApp } = await import('../app.js');
  // No delivery worker here: what a command queues is sent by the running server's worker.
  const app = await createApp({ ...config, webhooks: { ...config.webhooks, worker: false } }, { logStream: process.stderr });
  try {
    return await work(app);
  } finally {
    await app.close();
  }
}

/** Writes one JSON document and a newline to stdout. */
function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/** The whole of standard input without one trailing newline (a password piped or typed, never an argument: `ps` shows arguments). */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** What the commands print of a user: identifiers and state, never a hash. */
function userView(user: UserRecord) {
  return {
    id: user.id,
    username: user.username,
    primaryEmail: user.primaryEmail,
    primaryPhone: user.primaryPhone,
    name: user.name,
    isSuspended: user.isSuspended,
    hasPassword: user.passwordHash !== null,
    passwordResetRequired: user.passwordResetRequired === true,
    createdAt: new Date(user.createdAt).toISOString(),
    lastSignInAt: user.lastSignInAt === null ? null : new Date(user.lastSignInAt).toISOString(),
  };
}

const SEARCH_FIELDS: UserSearchField[] = ['id', 'username', 'primaryEmail', 'primaryPhone', 'name'];

/** A generated password: 20 characters of base64url (120 bits). */
const generatedPassword = () => randomBytes(15).toString('base64url');

/**
 * Keys whose string values are secrets in the configuration (client and pool secrets, keys, passwords,
 * tokens); URLs are shown with their password masked.
 */
const SECRET_KEY = /secret|password|token|key$|keys$|masterkey|appkey/i;

/**
 * The configuration with every secret masked (`"***"`), for `tessera config check`: string values under
 * secret-looking keys, and the password part of URLs (`postgres://user:***@host/db`).
 */
export function maskConfig(value: unknown, key = ''): unknown {
  if (typeof value === 'string') {
    if (SECRET_KEY.test(key)) return value === '' ? '' : '***';
    try {
      const url = new URL(value);
      if (url.password) {
        url.password = '***';
        return url.toString();
      }
    } catch {
      // not a URL
    }
    return value;
  }
  if (Array.isArray(value)) return value.map((v) => maskConfig(v, key));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskConfig(v, k)]));
  return value;
}

/**
 * Adds the operator's commands (issue 21 item 4); each prints one JSON document, errors exit with status 1
 * (with the error code), an invalid configuration with 2:
 * - `tessera users list [--search TEXT] [--limit N] [--offset N]` → `{total, users: [...]}` (newest first;
 *   TEXT is a case-insensitive substring of id, username, email, phone or name);
 * - `tessera users create [--username U] [--email E] [--phone P] [--name N] [--password-stdin | --generate-password]
 *   [--require-password-change]` → the user (and `password` when generated, shown this once);
 * - `tessera users suspend ID [--lift]` → the user (suspending ends every session, as the Management API);
 * - `tessera users reset-password ID (--password-stdin | --generate-password) [--require-change]` → the user;
 *   ends every session (CredentialService.setPassword, authority admin);
 * - `tessera config check` → the effective configuration with secrets masked.
 * @param config reads the configuration lazily (so `--help` works without a valid configuration)
 */
export function registerAdminCommands(program: Command, config: () => Promise<Config>): void {
  const users = program.command('users').description('manage users');

  users
    .command('list')
    .description('print {total, users} as JSON, newest first')
    .option('--search <text>', 'case-insensitive substring of id, username, email, phone or name')
    .option('--limit <n>', 'users to print (1–1000)', '50')
    .option('--offset <n>', 'users to skip', '0')
    .action(async (opts: { search?: string; limit: string; offset: string }) => {
      const limit = Math.min(1000, Math.max(1, Math.floor(Number(opts.limit)) || 50));
      const offset = Math.max(0, Math.floor(Number(opts.offset)) || 0);
      // The search is a LIKE pattern: the text's own % and _ are taken literally by escaping nothing —
      // they simply act as wildcards, as in the Management API's `search=%…%`.
      const terms = opts.search ? [{ fields: SEARCH_FIELDS, values: [`%${opts.search}%`], mode: 'like' as const }] : [];
      const page = await withApp(await config(), (app) => app.services.users.list({ terms, joint: 'or', caseSensitive: false, offset, limit }));
      printJson({ total: page.total, users: page.users.map(userView) });
    });

  users
    .command('create')
    .description('create a user (at least one of --username, --email, --phone) and print it as JSON')
    .option('--username <username>')
    .option('--email <email>')
    .option('--phone <phone>', 'E.164, or national in TESSERA_DEFAULT_PHONE_REGION')
    .option('--name <name>')
    .option('--password-stdin', 'read the password from standard input', false)
    .option('--generate-password', 'generate a password and print it once', false)
    .option('--require-password-change', 'the first password sign-in must set a new password', false)
    .action(async (opts: { username?: string; email?: string; phone?: string; name?: string; passwordStdin: boolean; generatePassword: boolean; requirePasswordChange: boolean }) => {
      if (opts.passwordStdin && opts.generatePassword) throw new Error('Give --password-stdin or --generate-password, not both.');
      const password = opts.passwordStdin ? await readStdin() : opts.generatePassword ? generatedPassword() : undefined;
      const user = await withApp(await config(), (app) =>
        app.services.users.createByAdministrator(
          {
            username: opts.username ?? null,
            email: opts.email ?? null,
            phone: opts.phone ?? null,
            name: opts.name ?? null,
            ...(password !== undefined ? { password } : {}),
            passwordResetRequired: opts.requirePasswordChange,
          },
          // As the Management API: the operator chose the password, so only its length bounds apply.
          { requireIdentifier: true },
        ),
      );
      printJson({ ...userView(user), ...(opts.generatePassword ? { password } : {}) });
    });

  users
    .command('suspend')
    .description('suspend a user (every session ends) and print the user; --lift lifts the suspension')
    .argument('<id>', 'user id')
    .option('--lift', 'lift the suspension instead', false)
    .action(async (id: string, opts: { lift: boolean }) => {
      const user = await withApp(await config(), (app) => app.services.users.setSuspended(id, !opts.lift));
      printJson(userView(user));
    });

  users
    .command('reset-password')
    .description("set a user's password (every session ends) and print the user")
    .argument('<id>', 'user id')
    .option('--password-stdin', 'read the new password from standard input', false)
    .option('--generate-password', 'generate a password and print it once', false)
    .option('--require-change', 'the next password sign-in must set a new password', false)
    .action(async (id: string, opts: { passwordStdin: boolean; generatePassword: boolean; requireChange: boolean }) => {
      if (opts.passwordStdin === opts.generatePassword) throw new Error('Give exactly one of --password-stdin and --generate-password.');
      const password = opts.passwordStdin ? await readStdin() : generatedPassword();
      const user = await withApp(await config(), async (app) => {
        const { users: service, credentials } = app.services;
        let updated = await credentials.setPassword({
          user: await service.require(id),
          newPassword: password,
          authority: 'admin',
          audit: { action: 'admin_set_password', ip: null, clientId: 'tessera-cli' },
        });
        if (opts.requireChange) updated = await service.adminUpdate(id, { passwordResetRequired: true });
        return updated;
      });
      printJson({ ...userView(user), ...(opts.generatePassword ? { password } : {}) });
    });

  const hooks = program.command('hooks').description('webhooks (issue 20)');

  hooks
    .command('list')
    .description('print every webhook as JSON, newest first (signing keys masked)')
    .action(async () => {
      const list = await withApp(await config(), (app) => app.services.hooks.list());
      printJson(
        list.map((h) => ({
          id: h.id,
          name: h.name,
          events: h.events,
          url: h.url,
          retries: h.retries,
          enabled: h.enabled,
          signingKey: `***${h.signingKey.slice(-4)}`,
          createdAt: new Date(h.createdAt).toISOString(),
        })),
      );
    });

  hooks
    .command('test')
    .description("send Logto's test payload of each of the hook's events (or --event) to its URL, signed; exit 1 when the endpoint refuses")
    .argument('<id>', 'hook id')
    .option('--event <event>', 'one event instead of all of the hook\'s')
    .action(async (id: string, opts: { event?: string }) => {
      const sent = await withApp(await config(), async (app) => {
        const hook = await app.services.hooks.require(id);
        const events = app.services.hooks.events(opts.event ? [opts.event] : hook.events);
        await app.services.testHook(hook, events, { url: hook.url, headers: hook.headers });
        return events;
      });
      printJson({ id, sent });
    });

  program
    .command('logs')
    .description('the audit log (issue 20)')
    .command('tail')
    .description('print the newest audit log entries as JSON lines, oldest of them first; --follow keeps printing new ones')
    .option('--limit <n>', 'entries to print first (1–1000)', '20')
    .option('--user <id>', 'only entries of this user')
    .option('--key <key>', 'only entries with this log key (e.g. Interaction.SignIn.Submit)')
    .option('--follow', 'keep printing new entries (polls every second; Ctrl-C ends)', false)
    .action(async (opts: { limit: string; user?: string; key?: string; follow: boolean }) => {
      const limit = Math.min(1000, Math.max(1, Math.floor(Number(opts.limit)) || 20));
      const filter = { ...(opts.user ? { userId: opts.user } : {}), ...(opts.key ? { key: opts.key } : {}) };
      await withApp(await config(), async (app) => {
        const seen = new Set<string>();
        let since = 0;
        const print = (entries: readonly LogRecord[]) => {
          for (const entry of [...entries].reverse()) {
            if (seen.has(entry.id)) continue;
            seen.add(entry.id);
            since = Math.max(since, entry.createdAt);
            printJson({ id: entry.id, key: entry.key, createdAt: new Date(entry.createdAt).toISOString(), payload: entry.payload });
          }
        };
        print((await app.services.store.logs.list({ ...filter, offset: 0, limit })).logs);
        if (!opts.follow) return;
        let stopped = false;
        const stop = () => {
          stopped = true;
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        while (!stopped) {
          await new Promise((resolve) => setTimeout(resolve, 1000));
          // Entries of the last printed millisecond are read again; `seen` drops the repeats.
          print((await app.services.store.logs.list({ ...filter, since, offset: 0, limit: 1000 })).logs);
        }
      });
    });

  program
    .command('config')
    .description('configuration commands')
    .command('check')
    .description('validate the configuration (exit 2 naming each bad key) and print the effective one with secrets masked')
    .action(async () => {
      printJson(maskConfig(await config()));
    });
}
