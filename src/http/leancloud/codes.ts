import type { FastifyPluginAsync } from 'fastify';
import type { LeanCloudCodes } from '../../domain/leancloud/codes.js';
import type { LcRequests } from './requests.js';

/** What the SMS and email routes need. */
export interface CodeRoutesOptions {
  codes: LeanCloudCodes;
  requests: LcRequests;
}

type CodeParams = { code: string };

/**
 * LeanCloud's SMS and email endpoints (shared/specs/leancloud.md §3.1 rows 12–22). Requests answer
 * `{}`; the code itself only ever goes to the SMS webhook or the mailbox.
 */
export const codeRoutes: FastifyPluginAsync<CodeRoutesOptions> = async (app, { codes, requests }) => {
  const summary = (s: string) => ({ schema: { tags: ['leancloud'], summary: s } });

  app.post('/requestSmsCode', summary('Send an SMS code to a number'), async (request) => {
    await codes.requestSmsCode(requests.body(request), requests.meta(request));
    return {};
  });
  app.post<{ Params: CodeParams }>('/verifySmsCode/:code', summary('Check (and use) a requestSmsCode code'), async (request) => {
    await codes.verifySmsCode(request.params.code, requests.body(request), requests.meta(request));
    return {};
  });
  app.post('/requestMobilePhoneVerify', summary("Send a code to verify a user's number"), async (request) => {
    await codes.requestMobilePhoneVerify(requests.body(request), requests.meta(request));
    return {};
  });
  app.post<{ Params: CodeParams }>('/verifyMobilePhone/:code', summary('Mark the number verified'), async (request) => {
    const caller = await requests.caller(request);
    return codes.verifyMobilePhone(request.params.code, requests.body(request), caller.session?.user, requests.meta(request));
  });
  app.post('/requestLoginSmsCode', summary('Send a login code to a user’s number'), async (request) => {
    await codes.requestLoginSmsCode(requests.body(request), requests.meta(request));
    return {};
  });
  app.post('/requestPasswordResetBySmsCode', summary('Send a password-reset code to a user’s number'), async (request) => {
    await codes.requestPasswordResetBySmsCode(requests.body(request), requests.meta(request));
    return {};
  });
  app.put<{ Params: CodeParams }>('/resetPasswordBySmsCode/:code', summary('Set a new password with the SMS code; ends every session'), async (request) => {
    await codes.resetPasswordBySmsCode(request.params.code, requests.body(request), requests.meta(request));
    return {};
  });
  app.post('/requestChangePhoneNumber', summary('Send a code to a new number for the signed-in user'), async (request) => {
    const caller = await requests.caller(request);
    await codes.requestChangePhoneNumber(caller.session?.user, requests.body(request), requests.meta(request));
    return {};
  });
  app.post('/changePhoneNumber', summary("Change the signed-in user's number with the code"), async (request) => {
    const caller = await requests.caller(request);
    return codes.changePhoneNumber(caller.session?.user, requests.body(request), requests.meta(request));
  });
  app.post('/requestPasswordReset', summary('Mail a password-reset code (entered on GET /1.1/resetPassword)'), async (request) => {
    await codes.requestPasswordReset(requests.body(request), requests.meta(request));
    return {};
  });
  app.post('/requestEmailVerify', summary('Mail an email-verification link'), async (request) => {
    await codes.requestEmailVerify(requests.body(request), requests.meta(request));
    return {};
  });
};
