import { INTERACTION_EVENTS } from '../domain/events/index.js';
import { AppError } from '../errors/index.js';
import { type AddressPolicy, sendWebhook, WebhookSendError } from './sender.js';

/**
 * Logto's test payload of an event (logto-io/logto `packages/core/src/libraries/hook/utils.ts`
 * `generateHookTestPayload`): obviously fake data, so a receiver can tell a test from a real event.
 */
export function testPayload(event: string, hookId: string, now: number): Record<string, unknown> {
  const base = { event, hookId, createdAt: new Date(now).toISOString(), userAgent: 'fake-user-agent' };
  if ((INTERACTION_EVENTS as readonly string[]).includes(event)) {
    return {
      ...base,
      sessionId: 'fake-session-id',
      userIp: 'fake-user-ip',
      userId: 'fake-id',
      user: {
        id: 'fake-id',
        username: 'fake-user',
        primaryEmail: 'fake-user@fake-service.com',
        primaryPhone: '1234567890',
        name: 'Fake User',
        avatar: 'https://fake-service.com/avatars/fake-user.png',
        customData: { theme: 'light' },
        identities: { google: { userId: 'fake-google-user-id' } },
        profile: {},
        applicationId: 'fake-application-id',
        isSuspended: false,
        lastSignInAt: now,
        createdAt: now,
        updatedAt: now,
      },
      application: { id: 'fake-spa-application-id', type: 'SPA', name: 'Fake Application', description: 'Fake application data for testing' },
    };
  }
  return { ...base, path: '/fake-path/:id', method: 'POST', status: 200, params: { id: 'fake-id' }, data: { result: 'success' } };
}

/**
 * Sends one test delivery per event to `config.url`, signed with the hook's key, in parallel (Logto's
 * `POST /hooks/:id/test`). Writes no delivery log, as Logto.
 * @throws AppError `hook.endpoint_error` (422, `data: {responseStatus, responseBody}`) when an answer is not
 *   2xx; `hook.test_failed` (422, `data: {reason}`) when a request could not be made; `hook.denied_address`
 *   (422) for an endpoint in a denied range
 */
export async function sendTestDeliveries(
  policy: AddressPolicy,
  input: { hookId: string; signingKey: string; events: readonly string[]; url: string; headers: Record<string, string>; timeoutMs: number; now: number },
): Promise<void> {
  const answers = await Promise.all(
    input.events.map(async (event) => {
      try {
        const response = await sendWebhook(policy, {
          url: input.url,
          body: JSON.stringify(testPayload(event, input.hookId, input.now)),
          headers: input.headers,
          signingKey: input.signingKey,
          timeoutMs: input.timeoutMs,
        });
        return { response };
      } catch (error) {
        return { error: error instanceof WebhookSendError ? error : new WebhookSendError('webhook.network', String(error)) };
      }
    }),
  );
  for (const answer of answers) {
    if ('error' in answer && answer.error) {
      if (answer.error.code === 'webhook.denied_address') throw new AppError('hook.denied_address');
      if (answer.error.code === 'webhook.invalid_url') throw new AppError('hook.invalid_url');
      throw new AppError('hook.test_failed', { message: `Failed to send test payload: ${answer.error.message}`, data: { reason: answer.error.code } });
    }
    const { statusCode, body } = answer.response!;
    if (statusCode < 200 || statusCode >= 300) throw new AppError('hook.endpoint_error', { data: { responseStatus: statusCode, responseBody: body } });
  }
}
