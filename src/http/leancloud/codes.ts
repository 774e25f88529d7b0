import type { FastifyPluginAsync } from 'fastify';
import { AppError } from '../../errors/index.js';
import type { LeanCloudCodes } from '../../domain/leancloud/codes.js';
import type { LcRequests } from './requests.js';
import { codeField, lcUpdated, optionalPhone, requiredEmail, requiredPhone } from './wire.js';

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
    await codes.requestSmsCode(requiredPhone(requests.body(request)), requests.meta(request));
    return {};
  });
  app.post<{ Params: CodeParams }>('/verifySmsCode/:code', summary('Check (and use) a requestSmsCode code'), async (request) => {
    await codes.verifySmsCode(request.params.code, requiredPhone(requests.body(request)), requests.meta(request));
    return {};
  });
  app.post('/requestMobilePhoneVerify', summary("Send a code to verify a user's number"), async (request) => {
    await codes.requestMobilePhoneVerify(requiredPhone(requests.body(request)), requests.meta(request));
    return {};
  });
  app.post<{ Params: CodeParams }>('/verifyMobilePhone/:code', summary('Mark the number verified'), async (request) => {
    const caller = await requests.caller(request);
    return lcUpdated(await codes.verifyMobilePhone(request.params.code, optionalPhone(requests.body(request)), caller.session?.user, requests.meta(request)));
  });
  app.post('/requestLoginSmsCode', summary('Send a login code to a user’s number'), async (request) => {
    await codes.requestLoginSmsCode(requiredPhone(requests.body(request)), requests.meta(request));
    return {};
  });
  app.post('/requestPasswordResetBySmsCode', summary('Send a password-reset code to a user’s number'), async (request) => {
    await codes.requestPasswordResetBySmsCode(requiredPhone(requests.body(request)), requests.meta(request));
    return {};
  });
  app.put<{ Params: CodeParams }>('/resetPasswordBySmsCode/:code', summary('Set a new password with the SMS code; ends every session'), async (request) => {
    const body = requests.body(request);
    if (typeof body.password !== 'string' || body.password === '') throw new AppError('user.password_required');
    await codes.resetPasswordBySmsCode(request.params.code, { password: body.password, phone: optionalPhone(body) }, requests.meta(request));
    return {};
  });
  app.post('/requestChangePhoneNumber', summary('Send a code to a new number for the signed-in user'), async (request) => {
    const caller = await requests.caller(request);
    await codes.requestChangePhoneNumber(caller.session?.user, requiredPhone(requests.body(request)), requests.meta(request));
    return {};
  });
  app.post('/changePhoneNumber', summary("Change the signed-in user's number with the code"), async (request) => {
    const caller = await requests.caller(request);
    const body = requests.body(request);
    const user = await codes.changePhoneNumber(caller.session?.user, { phone: requiredPhone(body), code: codeField(body.code) }, requests.meta(request));
    return { ...lcUpdated(user), mobilePhoneNumber: user.primaryPhone };
  });
  app.post('/requestPasswordReset', summary('Mail a password-reset code (entered on GET /1.1/resetPassword)'), async (request) => {
    await codes.requestPasswordReset(requiredEmail(requests.body(request)), requests.meta(request));
    return {};
  });
  app.post('/requestEmailVerify', summary('Mail an email-verification link'), async (request) => {
    await codes.requestEmailVerify(requiredEmail(requests.body(request)), requests.meta(request));
    return {};
  });
};
