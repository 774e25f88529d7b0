import { AppError } from '../errors/index.js';
import type { ApplicationRecord, ApplicationService } from '../domain/applications/index.js';
import { ACCOUNT_CENTER_CLIENT_ID } from './client.js';

/**
 * Makes sure the account center's built-in OIDC client exists in the state it needs (idempotent; run at
 * every start, like the configured admin app): id `tessera-account-center`, a first-party public client
 * (`spa`: PKCE, `token_endpoint_auth_method: none`, grant types authorization_code and refresh_token),
 * redirect URI `<publicUrl>/account/callback`, post-logout redirect `<publicUrl>/account`. An existing
 * app with this id is converged (URIs set, first-party); another node creating it at the same time is fine.
 * @returns the application
 * @throws AppError `application.invalid_metadata` when an application with this id exists and is not a
 *   public browser client (`spa`), or the public URL gives invalid URIs
 */
export async function ensureAccountCenterApplication(applications: ApplicationService, publicUrl: string): Promise<ApplicationRecord> {
  const redirectUris = [`${publicUrl}/account/callback`];
  const postLogoutRedirectUris = [`${publicUrl}/account`];
  const existing = await applications.find(ACCOUNT_CENTER_CLIENT_ID);
  if (!existing) {
    try {
      return (
        await applications.create({
          id: ACCOUNT_CENTER_CLIENT_ID,
          name: 'Account center',
          type: 'spa',
          redirectUris,
          postLogoutRedirectUris,
          isThirdParty: false,
          description: 'Built in: the account center at /account (Tessera itself).',
        })
      ).application;
    } catch (error) {
      if (!(error instanceof AppError && error.code === 'application.id_taken')) throw error;
    }
  }
  const app = await applications.require(ACCOUNT_CENTER_CLIENT_ID);
  if (app.type !== 'spa') {
    throw new AppError('application.invalid_metadata', { message: `id: the application "${ACCOUNT_CENTER_CLIENT_ID}" exists and is not a single-page application.` });
  }
  const same = (a: string[], b: string[]) => a.length === b.length && a.every((v, i) => v === b[i]);
  if (same(app.redirectUris, redirectUris) && same(app.postLogoutRedirectUris, postLogoutRedirectUris) && !app.isThirdParty && !app.allowTokenExchange) return app;
  return applications.update(ACCOUNT_CENTER_CLIENT_ID, { redirectUris, postLogoutRedirectUris, isThirdParty: false, allowTokenExchange: false });
}
