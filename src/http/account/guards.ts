import { AppError } from '../../errors/index.js';
import type { AccountCaller } from '../principal.js';

/** Per-route token checks of the Account API (logto.md §1.3, §1.5), shared by its route files. */
export interface AccountGuards {
  /**
   * The token must carry `scope`: `auth.unauthorized` with 401, or with 400 (`auth.scope_missing`, sent
   * as `auth.unauthorized`) on the routes where Logto answers 400. Session callers hold every scope.
   * @throws AppError `auth.unauthorized` (401) or `auth.scope_missing` (400)
   */
  requireScope(caller: AccountCaller, scope: string, code?: 'auth.unauthorized' | 'auth.scope_missing'): void;
  /**
   * First-party guard: an OIDC token of a third-party (or unknown) client may read but not change.
   * @throws AppError `auth.third_party_application_forbidden` (403)
   */
  requireFirstParty(caller: AccountCaller): Promise<void>;
}

/** Logto's scope for the sessions and grants routes. */
export const SESSIONS_SCOPE = 'urn:logto:scope:sessions';

/** Logto's scope for identities and MFA factors. */
export const IDENTITIES_SCOPE = 'identities';

/**
 * The {@link AccountGuards} of one app.
 * @param isThirdPartyClient whether an OAuth client is third-party; unknown clients must answer true
 */
export function accountGuards(isThirdPartyClient: (clientId: string) => Promise<boolean>): AccountGuards {
  return {
    requireScope(caller, scope, code = 'auth.unauthorized') {
      if (!caller.scopes.has(scope)) throw new AppError(code);
    },
    async requireFirstParty(caller) {
      if (caller.kind === 'oidc' && (caller.clientId === null || (await isThirdPartyClient(caller.clientId)))) {
        throw new AppError('auth.third_party_application_forbidden');
      }
    },
  };
}
