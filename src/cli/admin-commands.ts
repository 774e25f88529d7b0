import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import type { Config } from '../config/index.js';
import type { TesseraApp } from '../app.js';
import type { UserRecord, UserSearchField } from '../storage/store.js';

// Loads only commander until a command runs (see cli/oidc.ts). The user and application commands build
// the app's own services (createApp, no listener), so a user created, suspended or given a password here
// goes through the same domain rules as through the Management API — one rule, one place.

/** Builds the app on the configured database (its logs go to stderr: stdout is the command's JSON), runs `work`, closes it. */
async function withApp<T>(config: Config, work: (app: TesseraApp) => Promise<T>): Promise<T> {
  const { createApp } = await import('../app.js');
  const app = await createApp(config, { logStream: process.stderr });
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

  program
    .command('config')
    .description('configuration commands')
    .command('check')
    .description('validate the configuration (exit 2 naming each bad key) and print the effective one with secrets masked')
    .action(async () => {
      printJson(maskConfig(await config()));
    });
}
