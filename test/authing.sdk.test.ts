import { AuthenticationClient } from 'authing-js-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DatabaseFactory, dialects, type RunningApp, startAppWithPublicUrl } from './helpers.js';
import { extractCode, type SmsWebhookPeer, type SmtpSink, startSmsWebhook, startSmtpSink } from './peers.js';

/**
 * Issue 17: the real `authing-js-sdk` (4.23.55, unmodified) against a listening Tessera, only `appHost`
 * changed. Codes come from a real SMTP sink and the SMS webhook.
 */

const APP_ID = 'tessera-authing-app';
const SECRET = 'authing-pool-secret-0123456789';
const PW = 'violet-harbor-7-lantern';
let seq = 0;
const uniq = (p: string) => `${p}${Date.now().toString(36)}${(seq++).toString(36)}`;

/** Awaits `promise`, expecting the SDK's thrown `{code, message, data}` with this Authing code. */
async function authingError(promise: Promise<unknown>, code: number): Promise<{ code: number; message: string; data: unknown }> {
  const error = await promise.then(
    () => new Error(`expected Authing error ${code}, the call succeeded`),
    (e: unknown) => e,
  );
  expect(error).not.toBeInstanceOf(Error);
  expect((error as { code: number }).code).toBe(code);
  return error as { code: number; message: string; data: unknown };
}

describe.each(dialects)('authing-js-sdk AuthenticationClient on %s', (_name, database) => {
  let t: RunningApp;
  let db: Awaited<ReturnType<DatabaseFactory>>;
  let smtp: SmtpSink;
  let sms: SmsWebhookPeer;

  beforeAll(async () => {
    smtp = await startSmtpSink();
    sms = await startSmsWebhook();
    db = await database();
    t = await startAppWithPublicUrl({
      databaseUrl: db.url,
      authing: { appId: APP_ID, secret: SECRET },
      email: { smtpUrl: smtp.url, from: 'Tessera Test <auth@tessera.test>' },
      sms: { webhookUrl: sms.url, webhookSecret: 'a-very-long-webhook-secret', timeoutSeconds: 2 },
      codes: { resendIntervalSeconds: 0, perIdentifierPerHour: 1000, perIpPerHour: 100_000 },
      rateLimit: { signInPerMinute: 1000, signUpPerHour: 1000 },
      defaultPhoneRegion: 'CN',
    });
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
    await smtp.close();
    await sms.close();
  });

  const client = (options: Record<string, unknown> = {}) => new AuthenticationClient({ appId: APP_ID, appHost: t.base, ...options });

  it('registers by email and username, logs in, reads and updates the profile, checks the login status, logs out', async () => {
    const email = `${uniq('ada')}@example.com`;
    const a = client();
    const registered = await a.registerByEmail(email, PW);
    expect(registered).toMatchObject({ email, emailVerified: false, password: null, token: null, status: 'Activated' });
    await authingError(client().registerByEmail(email, PW), 2026);

    const username = uniq('grace');
    const byName = await client().registerByUsername(username, PW, {}, { generateToken: true });
    expect(byName.username).toBe(username);
    expect(typeof byName.token).toBe('string');
    await authingError(client().registerByUsername(username, PW), 2034);

    await authingError(a.loginByEmail(email, 'not-the-password-1'), 2333);
    const user = await a.loginByEmail(email, PW);
    expect(user).toMatchObject({ id: registered.id, email, password: null });
    expect(user.token).toMatch(/^ey/);
    const current = await a.getCurrentUser();
    expect(current?.id).toBe(registered.id);

    const updated = await a.updateProfile({ nickname: 'Ada', name: 'Ada Lovelace', photo: 'https://img.example/ada.png' });
    expect(updated).toMatchObject({ nickname: 'Ada', name: 'Ada Lovelace', photo: 'https://img.example/ada.png' });

    const status = await a.checkLoginStatus();
    expect(status).toMatchObject({ code: 200, status: true, data: { id: registered.id } });
    const refreshed = await a.refreshToken();
    expect(refreshed.token).toMatch(/^ey/);

    const token = (await a.getCurrentUser())!.token!;
    await a.logout();
    expect(await a.getCurrentUser()).toBeNull();
    const after = await client().checkLoginStatus(token);
    expect(after).toMatchObject({ code: 2206, status: false });
    const forged = await client().checkLoginStatus(`${token.slice(0, -4)}AAAA`);
    expect(forged).toMatchObject({ code: 2207, status: false });
  });

  it('logs in by username and by phone with a password and with an SMS code; wrong codes are 2001', async () => {
    const username = uniq('lin');
    await client().registerByUsername(username, PW);
    expect((await client().loginByUsername(username, PW)).username).toBe(username);

    const phone = `139${String(Date.now()).slice(-8)}`;
    const before = sms.requests.length;
    await client().sendSmsCode(phone);
    const req = await sms.waitFor((r, i) => i >= before && r.json.to === `+86${phone}`, 5000);
    const code = req.json.code as string;
    await authingError(client().registerByPhoneCode(phone, code === '000000' ? '111111' : '000000', PW), 2001);
    const byPhone = await client().registerByPhoneCode(phone, code, PW, {}, { generateToken: true });
    expect(byPhone).toMatchObject({ phone, phoneCountryCode: '+86', phoneVerified: true });
    expect((await client().loginByPhonePassword(phone, PW)).id).toBe(byPhone.id);

    const before2 = sms.requests.length;
    await client().sendSmsCode(phone);
    const req2 = await sms.waitFor((r, i) => i >= before2 && r.json.to === `+86${phone}`, 5000);
    const signedIn = await client().loginByPhoneCode(phone, req2.json.code as string);
    expect(signedIn.id).toBe(byPhone.id);
  });

  it('changes and resets the password; the old token ends with the change', async () => {
    const email = `${uniq('pw')}@example.com`;
    const a = client();
    await a.registerByEmail(email, PW);
    await a.loginByEmail(email, PW);
    await authingError(a.updatePassword('amber-canyon-4-whistle', 'not-the-password-1'), 2203);
    const changed = await a.updatePassword('amber-canyon-4-whistle', PW);
    expect(changed.email).toBe(email);
    await authingError(client().loginByEmail(email, PW), 2333);
    expect((await client().loginByEmail(email, 'amber-canyon-4-whistle')).email).toBe(email);

    const before = smtp.messages.length;
    const sent = await client().sendEmail(email, 'RESET_PASSWORD' as never);
    expect(sent).toMatchObject({ code: 200 });
    const mail = await smtp.waitFor((m, i) => i >= before && m.to.toLowerCase() === email, 5000);
    const reset = await client().resetPasswordByEmailCode(email, extractCode(mail.text), 'copper-meadow-42-quiver');
    expect(reset).toMatchObject({ code: 200 });
    expect((await client().loginByEmail(email, 'copper-meadow-42-quiver')).email).toBe(email);
  });

  it('checks password strength; answers English with lang en-US; a garbage ciphertext is a wrong password', async () => {
    const weak = await client().checkPasswordStrength('123');
    expect(weak.valid).toBe(false);
    expect((await client().checkPasswordStrength(PW)).valid).toBe(true);
    const email = `${uniq('en')}@example.com`;
    await client().registerByEmail(email, PW);
    const e = await authingError(client({ lang: 'en-US' }).loginByEmail(email, 'wrong-password-9'), 2333);
    expect(e.message).toBe('Incorrect username or password');
    // A client that sends the password unencrypted: the bytes are no PKCS#1 block → a wrong password.
    await authingError(client({ encryptFunction: async (p: string) => Buffer.from(p).toString('base64') }).loginByEmail(email, PW), 2333);
  });
});
