import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AccountService } from '../../domain/account/index.js';
import type { AccountCenterService } from '../../domain/account/center.js';
import type { MfaService } from '../../domain/mfa/index.js';
import type { SessionService } from '../../domain/sessions/index.js';
import type { Reauthentication } from '../../domain/sessions/reauthentication.js';
import type { SocialService } from '../../domain/social/index.js';
import type { IdentityService } from '../../domain/social/identities.js';
import type { SignInPreferenceService } from '../../domain/account/preferences.js';
import { AppError } from '../../errors/index.js';
import { installErrorDialect } from '../errors.js';
import { logtoPhoneIn } from '../logto-phones.js';
import type { AccountAuthorizer } from '../principal.js';
import type { AccountRouteDeps } from './deps.js';
import { LOGTO_ACCOUNT_ERRORS } from './errors.js';
import { accountIdentifierRoutes } from './identifiers.js';
import { accountMeRoutes } from './me.js';
import { accountMfaRoutes } from './mfa.js';
import { accountPasswordRoutes } from './password.js';
import { type AccountContext, accountPolicy } from './policy.js';
import { accountSessionRoutes } from './sessions.js';
import { accountSocialRoutes } from './social.js';
import { accountVerificationRoutes } from './verifications.js';

export { VERIFICATION_HEADER } from './policy.js';

/** What the Account API and Verification API routes need. */
export interface AccountRoutesOptions {
  authorize: AccountAuthorizer;
  accountCenter: AccountCenterService;
  account: AccountService;
  sessions: SessionService;
  /** Linked third-party accounts, shown in the account view. */
  identities: Pick<IdentityService, 'list'>;
  /** Identity proofs (`logto-verification-id`). */
  reauthentication: Reauthentication;
  /** The domain's phone normaliser (E.164), for reading Logto's digits-only phones. */
  normalizePhone: (raw: string) => string;
  /** Social identities (routes in ./social.ts); without it the social routes are absent. */
  social?: SocialService;
  /** MFA factors (routes in ./mfa.ts); without it the MFA routes are absent. */
  mfa?: MfaService;
  /** Users' sign-in preferences (`/my-account/mfa-settings`, `/my-account/logto-configs`, in ./mfa.ts). */
  preferences?: SignInPreferenceService;
  /**
   * Whether an OAuth client is a third-party application (or unknown): such clients' tokens may read
   * but not change anything (first-party guard, logto.md §1.3).
   */
  isThirdPartyClient: (clientId: string) => Promise<boolean>;
}

/**
 * The end-user Account API (`/api/my-account…`) and Verification API (`/api/verifications…`), Logto's
 * paths and shapes (seed 000, spec logto.md §1–§2). Every route first resolves the caller
 * ({@link AccountAuthorizer}: opaque OIDC access token or first-party session token) and refuses with
 * 400 `account_center.not_enabled` while the account center is off; then runs its **policy**, an ordered
 * list of named guard steps declared with the route (policy.ts: field mode, scope, first-party, identity
 * proof; the names are in the route's `config.policy`), then its handler. One file per resource:
 * me.ts (the account, profile, custom data), password.ts, identifiers.ts (primary email/phone),
 * sessions.ts (sessions and grants), verifications.ts, social.ts, mfa.ts. Errors leave in Logto's
 * dialect (errors.ts).
 */
export const accountRoutes: FastifyPluginAsyncZod<AccountRoutesOptions> = async (app, { authorize, accountCenter, account, sessions, identities, reauthentication, normalizePhone, social, mfa, preferences, isThirdPartyClient }) => {
  installErrorDialect(app, LOGTO_ACCOUNT_ERRORS);
  const contexts = new WeakMap<FastifyRequest, AccountContext>();
  app.addHook('onRequest', async (request) => {
    const caller = await authorize(request);
    const settings = await accountCenter.get();
    if (!settings.enabled) throw new AppError('account_center.not_enabled');
    contexts.set(request, { caller, settings });
  });

  const policy = accountPolicy(contexts, reauthentication, isThirdPartyClient);
  const deps: AccountRouteDeps = {
    account,
    sessions,
    identities,
    policy,
    phoneInput: (value) => logtoPhoneIn(value, normalizePhone),
    audit: (request, action, fields) => {
      const { caller } = policy.context(request);
      return account.audit(caller.user.id, action, fields, { ip: request.ip, clientId: caller.clientId });
    },
  };
  await app.register(accountMeRoutes, deps);
  await app.register(accountPasswordRoutes, deps);
  await app.register(accountIdentifierRoutes, deps);
  await app.register(accountSessionRoutes, deps);
  await app.register(accountVerificationRoutes, deps);
  // Social identities (seed 000): POST /verifications/social(/verify), POST/DELETE /my-account/identities.
  if (social) await app.register(accountSocialRoutes, { social, account, policy });
  // MFA (issue 7 §4): /my-account/mfa-verifications…, /verifications/web-authn/registration(/verify).
  if (mfa) await app.register(accountMfaRoutes, { mfa, account, policy, ...(preferences ? { preferences } : {}) });
};
