import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Interaction } from 'oidc-provider';
import { SOCIAL_AMR, type SocialService } from '../domain/social/index.js';
import { AppError } from '../errors/index.js';
import { requestMeta } from '../http/request-meta.js';
import type { OidcService } from './index.js';
import { OIDC_PREFIX } from './provider.js';
import { errorPage, type ErrorPageKind } from './pages.js';
import { brandFor, pageContext, sendPage } from '../ui/http.js';
import { errorMessage } from '../i18n/index.js';

/** The fixed redirect URI to register at every identity provider for the sign-in page: `<publicUrl>/oidc/social/callback`. */
export const SOCIAL_CALLBACK_PATH = `${OIDC_PREFIX}/social/callback`;

/** The "Continue with …" links of an interaction's sign-in page. */
export async function socialButtons(social: SocialService, uid: string): Promise<Array<{ href: string; name: string }>> {
  return (await social.enabledConnectors()).map((c) => ({
    href: `${OIDC_PREFIX}/interaction/${encodeURIComponent(uid)}/social/${encodeURIComponent(c.id)}`,
    name: c.name,
  }));
}

/**
 * Social sign-in on the OIDC sign-in page (issue 7 §5):
 * - `GET /oidc/interaction/:uid/social/:connectorId` starts an authorization bound to this interaction
 *   (the interaction cookie must name `uid`) and redirects (303) to the provider, whose redirect URI is
 *   the fixed {@link SOCIAL_CALLBACK_PATH};
 * - `GET /oidc/social/callback?code&state` finds the attempt by `state` and bounces the browser (303)
 *   to `/oidc/interaction/<its uid>/social/callback` (the interaction cookie is scoped to that path);
 * - `GET /oidc/interaction/:uid/social/callback` checks that the attempt belongs to this interaction,
 *   uses it up, exchanges the code, resolves the user (sign in / link by verified email / sign up,
 *   {@link SocialService.signInWith}) and completes the login prompt with `amr` ["fed"] (RFC 8176).
 * Failures show the error page (or, for user-facing refusals, the reason) — never a 500.
 */
export async function socialInteractionRoutes(
  app: FastifyInstance,
  oidc: OidcService,
  social: SocialService,
  /** Shows the second-factor step of the sign-in page for a pending sign-in (users with MFA). */
  mfaStep?: (request: FastifyRequest, reply: FastifyReply, interaction: Interaction, pendingSignInId: string) => Promise<FastifyReply>,
  /** Shows the TOTP enrolment step for a pending sign-in (MFA policy `required`, user without factor). */
  enrollStep?: (request: FastifyRequest, reply: FastifyReply, interaction: Interaction, pendingSignInId: string) => Promise<FastifyReply>,
): Promise<void> {
  const { sessions, config } = oidc.deps;
  const callbackUri = `${config.publicUrl.replace(/\/$/, '')}${SOCIAL_CALLBACK_PATH}`;

  /** A friendly error page (no raw protocol fields) in the request's language. */
  const page = (request: FastifyRequest, reply: FastifyReply, status: number, kind: ErrorPageKind, message?: string) =>
    sendPage(reply, status, errorPage(pageContext(request, config), kind, message), brandFor(config));

  const expired = (request: FastifyRequest, reply: FastifyReply) => page(request, reply, 400, 'expired');

  const details = async (request: FastifyRequest<{ Params: { uid: string } }>, reply: FastifyReply): Promise<Interaction | undefined> => {
    try {
      const interaction = await (await oidc.current()).interactionDetails(request.raw, reply.raw);
      return interaction.uid === request.params.uid ? interaction : undefined;
    } catch {
      return undefined;
    }
  };

  const refusal = (request: FastifyRequest, reply: FastifyReply, error: unknown) => {
    // Provider trouble (502) is shown; anything else server-side goes to the error handler.
    if (!(error instanceof AppError) || (error.status >= 500 && error.code !== 'connector.idp_unreachable' && error.code !== 'connector.invalid_response')) throw error;
    const { locale } = pageContext(request, config);
    return page(request, reply, error.status, 'invalidRequest', locale === 'en' ? error.message : errorMessage(error.code, locale));
  };

  app.get<{ Params: { uid: string; connectorId: string } }>(
    `${OIDC_PREFIX}/interaction/:uid/social/:connectorId`,
    { schema: { hide: true } },
    async (request, reply) => {
      const interaction = await details(request, reply);
      if (!interaction || (interaction.prompt.name !== 'login' && interaction.prompt.name !== 'create')) return expired(request, reply);
      try {
        const started = await social.startInteraction(request.params.connectorId, callbackUri, interaction.uid, requestMeta(request));
        return reply.header('cache-control', 'no-store').redirect(started.authorizationUri, 303);
      } catch (error) {
        return refusal(request, reply, error);
      }
    },
  );

  app.get<{ Querystring: Record<string, string> }>(SOCIAL_CALLBACK_PATH, { schema: { hide: true } }, async (request, reply) => {
    const state = typeof request.query.state === 'string' ? request.query.state : '';
    try {
      const session = await social.findByState('interaction', state);
      const query = new URLSearchParams(request.query).toString();
      return reply.header('cache-control', 'no-store').redirect(`${OIDC_PREFIX}/interaction/${encodeURIComponent(session.interactionUid ?? '')}/social/callback?${query}`, 303);
    } catch (error) {
      return refusal(request, reply, error);
    }
  });

  app.get<{ Params: { uid: string }; Querystring: Record<string, string> }>(
    `${OIDC_PREFIX}/interaction/:uid/social/callback`,
    { schema: { hide: true } },
    async (request, reply) => {
      const interaction = await details(request, reply);
      if (!interaction || (interaction.prompt.name !== 'login' && interaction.prompt.name !== 'create')) return expired(request, reply);
      const state = typeof request.query.state === 'string' ? request.query.state : '';
      let accountId: string;
      try {
        const session = await social.findByState('interaction', state);
        if (session.interactionUid !== interaction.uid) throw new AppError('connector.state_mismatch');
        const identity = await social.complete(session, session.connectorId, state, { ...request.query });
        const { user, issued } = await social.signInWith(identity, requestMeta(request));
        // As for password sign-in on this page: the provider keeps its own session; the first-party
        // session token is never handed out.
        await sessions.revokeForUser(user.id, issued.session.id);
        accountId = user.id;
      } catch (error) {
        // A user with a second factor continues on the page's MFA step (amr then ["fed", "otp", "mfa"]…).
        if (mfaStep && error instanceof AppError && error.code === 'auth.mfa_required') {
          return mfaStep(request, reply, interaction, (error.data as { pendingSignInId: string }).pendingSignInId);
        }
        if (enrollStep && error instanceof AppError && error.code === 'auth.mfa_enrollment_required') {
          return enrollStep(request, reply, interaction, (error.data as { pendingSignInId: string }).pendingSignInId);
        }
        return refusal(request, reply, error);
      }
      const returnTo = await (await oidc.current()).interactionResult(
        request.raw,
        reply.raw,
        { login: { accountId, amr: SOCIAL_AMR, remember: true }, ...(interaction.prompt.name === 'create' ? { create: {} } : {}) },
        { mergeWithLastSubmission: false },
      );
      return reply.header('cache-control', 'no-store').redirect(returnTo, 303);
    },
  );
}
