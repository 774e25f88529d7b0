import type { Migration, MigrationProvider } from 'kysely';
import { migration as m0001 } from './0001_foundation.js';
import { migration as m0002 } from './0002_verification.js';
import { migration as m0003 } from './0003_oidc.js';
import { migration as m0004 } from './0004_leancloud.js';
import { migration as m0005 } from './0005_tokens.js';
import { migration as m0006 } from './0006_account_center.js';
import { migration as m0007 } from './0007_user_count.js';
import { migration as m0008 } from './0008_account_audit.js';
import { migration as m0009 } from './0009_mfa.js';
import { migration as m0010 } from './0010_social.js';
import { migration as m0011 } from './0011_sdk.js';
import { migration as m0012 } from './0012_third_party_apps.js';
import { migration as m0013 } from './0013_identity_verified.js';
import { migration as m0014 } from './0014_mfa_limits.js';
import { migration as m0015 } from './0015_application_description.js';
import { migration as m0016 } from './0016_account_center_settings.js';
import { migration as m0017 } from './0017_sign_in_preferences.js';
import { migration as m0018 } from './0018_authing_keys.js';
import { migration as m0019 } from './0019_user_search.js';
import { migration as m0020 } from './0020_user_exact_search.js';
import { migration as m0021 } from './0021_social_token_sets.js';
import { migration as m0022 } from './0022_hooks_and_logs.js';
import { migration as m0023 } from './0023_authorization.js';
import { migration as m0024 } from './0024_organizations.js';
import { migration as m0025 } from './0025_passkey_challenges.js';
import { migration as m0026 } from './0026_organization_jit_roles_branding.js';
import { migration as m0027 } from './0027_log_count.js';
import { migration as m0028 } from './0028_authorization_version.js';
import { migration as m0029 } from './0029_delivery_indexes.js';
import { migration as m0030 } from './0030_user_search_document.js';
import { migration as m0031 } from './0031_sqlite_exact_search.js';

/**
 * Versioned migrations, applied in name order by `tessera migrate` and at start. One file per
 * migration; never edit a migration that has shipped, add a new one. Every migration runs on SQLite
 * and PostgreSQL (use only portable column types: varchar, text, integer, bigint).
 */
const migrations: Record<string, Migration> = {
  '0001_foundation': m0001,
  '0002_verification': m0002,
  '0003_oidc': m0003,
  '0004_leancloud': m0004,
  '0005_tokens': m0005,
  '0006_account_center': m0006,
  '0007_user_count': m0007,
  '0008_account_audit': m0008,
  '0009_mfa': m0009,
  '0010_social': m0010,
  '0011_sdk': m0011,
  '0012_third_party_apps': m0012,
  '0013_identity_verified': m0013,
  '0014_mfa_limits': m0014,
  '0015_application_description': m0015,
  '0016_account_center_settings': m0016,
  '0017_sign_in_preferences': m0017,
  '0018_authing_keys': m0018,
  '0019_user_search': m0019,
  '0020_user_exact_search': m0020,
  '0021_social_token_sets': m0021,
  '0022_hooks_and_logs': m0022,
  '0023_authorization': m0023,
  '0024_organizations': m0024,
  '0025_passkey_challenges': m0025,
  '0026_organization_jit_roles_branding': m0026,
  '0027_log_count': m0027,
  '0028_authorization_version': m0028,
  '0029_delivery_indexes': m0029,
  '0030_user_search_document': m0030,
  '0031_sqlite_exact_search': m0031,
};

/** Supplies the in-code migrations to Kysely's `Migrator`. */
export const migrationProvider: MigrationProvider = {
  async getMigrations() {
    return migrations;
  },
};
