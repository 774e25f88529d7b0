import { type Command, Option } from 'commander';
import type { Config } from '../config/index.js';
import { APPLICATION_TYPES, ApplicationService, type ApplicationType } from '../domain/applications/index.js';
import type { KyselyStore } from '../storage/kysely-store.js';

// The command definitions load only commander: each action imports what it runs (storage, keys,
// domain services) when it runs, so `tessera --help` starts in a few tens of milliseconds. The one
// domain module loaded up front (for the list of application types) needs only the error table and
// node:crypto.

/** Opens and migrates the configured database, runs `work` with a store, and closes it. */
async function withStore<T>(config: Config, work: (store: KyselyStore) => Promise<T>): Promise<T> {
  const { migrateToLatest, openDatabase } = await import('../storage/database.js');
  const { KyselyStore } = await import('../storage/kysely-store.js');
  const handle = openDatabase(config.databaseUrl);
  try {
    await migrateToLatest(handle.db);
    return await work(new KyselyStore(handle));
  } finally {
    await handle.close();
  }
}

const collect = (value: string, previous: string[]) => [...previous, value];

/** Writes one JSON document and a newline to stdout. */
function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/**
 * Adds the OAuth / OIDC commands to the `tessera` program:
 * - `tessera apps create --type <traditional|spa|native|m2m> --name NAME [--management]
 *   [--redirect-uri URI]… [--post-logout-redirect-uri URI]… [--cors-origin ORIGIN]…` prints
 *   `{"id", "secret"}` (the secret is shown this once; null for SPA and native apps);
 * - `tessera apps rotate-secret ID` prints `{"id", "secret"}` with a new secret (the old one stops working);
 * - `tessera apps list` prints every application (no secrets); `tessera apps delete ID` deletes one with
 *   every grant, session entry and stored token issued to it and prints `{"deleted": id}`;
 * - `tessera keys rotate` makes a new ES256 + RS256 signing pair and prints `{"created": [kid…],
 *   "retired": [kid…]}`; retired keys stay in the JWKS for an hour (until their tokens expire), and
 *   running servers switch to the new keys within 10 seconds.
 * Each command migrates the database first, like `tessera start`. Errors exit with status 1.
 * @param config reads the configuration lazily (so `--help` works without a valid configuration)
 */
export function registerOidcCommands(program: Command, config: () => Promise<Config>): void {
  const apps = program.command('apps').description('manage applications (OAuth clients)');

  apps
    .command('create')
    .description('register an application and print {id, secret} as JSON (the secret is shown once)')
    .addOption(new Option('--type <type>', 'application type').choices([...APPLICATION_TYPES]).makeOptionMandatory())
    .requiredOption('--name <name>', 'display name')
    .option('--management', 'hold the management role (machine-to-machine apps only)', false)
    .option('--redirect-uri <uri>', 'allowed redirect URI (repeatable)', collect, [] as string[])
    .option('--post-logout-redirect-uri <uri>', 'allowed post-logout redirect URI (repeatable)', collect, [] as string[])
    .option('--cors-origin <origin>', 'origin allowed to call the token endpoint from a browser (repeatable)', collect, [] as string[])
    .action(async (options: { type: ApplicationType; name: string; management: boolean; redirectUri: string[]; postLogoutRedirectUri: string[]; corsOrigin: string[] }) => {
      const { systemClock } = await import('../util/clock.js');
      const issued = await withStore(await config(), (store) =>
        new ApplicationService(store, systemClock).create({
          name: options.name,
          type: options.type,
          isManagement: options.management,
          redirectUris: options.redirectUri,
          postLogoutRedirectUris: options.postLogoutRedirectUri,
          corsOrigins: options.corsOrigin,
        }),
      );
      printJson({ id: issued.application.id, secret: issued.secret });
    });

  apps
    .command('rotate-secret')
    .description('replace the client secret of an application and print {id, secret} as JSON')
    .argument('<id>', 'application (client) id')
    .action(async (id: string) => {
      const { systemClock } = await import('../util/clock.js');
      const issued = await withStore(await config(), (store) => new ApplicationService(store, systemClock).rotateSecret(id));
      printJson({ id: issued.application.id, secret: issued.secret });
    });

  apps
    .command('list')
    .description('print every application as JSON (no secrets)')
    .action(async () => {
      const { systemClock } = await import('../util/clock.js');
      const { items } = await withStore(await config(), (store) => new ApplicationService(store, systemClock).list({ offset: 0, limit: 100_000 }));
      printJson(
        items.map((a) => ({
          id: a.id, name: a.name, type: a.type, isManagement: a.isManagement, isThirdParty: a.isThirdParty,
          redirectUris: a.redirectUris, createdAt: new Date(a.createdAt).toISOString(),
        })),
      );
    });

  apps
    .command('delete')
    .description('delete an application with every grant and token issued to it; print {deleted: id}')
    .argument('<id>', 'application (client) id')
    .action(async (id: string) => {
      const { systemClock } = await import('../util/clock.js');
      const deleted = await withStore(await config(), (store) => new ApplicationService(store, systemClock).delete(id));
      if (!deleted) throw new Error(`No application ${id}.`);
      printJson({ deleted: id });
    });

  const keys = program.command('keys').description('manage the OIDC signing keys and the Authing password-encryption key');
  keys
    .command('rotate')
    .description('create new signing keys (they sign from now on; old keys stay in the JWKS until their tokens expire)')
    .action(async () => {
      const { OidcKeyService } = await import('../oidc/keys.js');
      const { systemClock } = await import('../util/clock.js');
      const result = await withStore(await config(), async (store) => {
        const keys = new OidcKeyService(store, systemClock);
        await keys.ensure();
        return keys.rotate();
      });
      printJson(result);
    });

  keys
    .command('rotate-authing')
    .description("replace the Authing surface's RSA key now (the old one keeps decrypting for TESSERA_AUTHING_KEY_GRACE_SECONDS)")
    .action(async () => {
      const { AuthingKeys } = await import('../http/authing/keys.js');
      const { systemClock } = await import('../util/clock.js');
      const c = await config();
      const secret = c.authing.secret;
      if (!secret) throw new Error('The Authing surface is not configured (TESSERA_AUTHING_SECRET).');
      const id = await withStore(c, (store) =>
        new AuthingKeys(store.authingKeys, systemClock, { rotationDays: c.authing.keyRotationDays, graceSeconds: c.authing.keyGraceSeconds, rejectionKey: secret }).rotate(),
      );
      printJson({ rotated: true, keyId: id });
    });
}
