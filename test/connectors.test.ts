import { createHmac } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/app.js';
import { ConfigError } from '../src/config/index.js';
import {
  type CodeMessage,
  ConsoleEmailConnector,
  ConsoleSmsConnector,
  createConnectors,
  DEFAULT_TEMPLATES,
  type Locale,
  LOCALES,
  loadTemplates,
  MESSAGE_PURPOSES,
  type MessagePurpose,
  pickLocale,
  signWebhookBody,
  SmtpEmailConnector,
  verifyWebhookSignature,
  WebhookSmsConnector,
} from '../src/connectors/index.js';
import { AppError } from '../src/errors/index.js';
import { LogCapture, testConfig } from './helpers.js';
import { extractCode, type SmsWebhookPeer, type SmtpSink, startSmsWebhook, startSmtpSink, unusedPort } from './peers.js';

const SECRET = 'whsec-0123456789abcdef-test';
const FROM = 'Tessera Test <auth@tessera.test>';

const message = (over: Partial<CodeMessage> = {}): CodeMessage => ({
  to: 'ada@example.com',
  purpose: 'SignIn',
  code: '493817',
  locale: 'en',
  expiresInMinutes: 10,
  ...over,
});

/** Awaits `promise` and returns the AppError it rejects with (fails the test when it resolves or throws something else). */
async function appErrorOf(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'expected an AppError').toBeInstanceOf(AppError);
  return error as AppError;
}

async function errorOf(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'expected a rejection').toBeInstanceOf(Error);
  return error as Error;
}

/** A pino logger with the app's real configuration (redaction included) writing into a capture. */
function capturedLogger() {
  const capture = new LogCapture();
  return { capture, logger: createLogger('info', capture), lines: () => capture.lines.map((l) => JSON.parse(l) as Record<string, any>) };
}

const tempDirs: string[] = [];
async function templatesDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tessera-templates-'));
  tempDirs.push(dir);
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
  return dir;
}
afterAll(async () => {
  for (const dir of tempDirs) await rm(dir, { recursive: true, force: true });
});

describe('pickLocale', () => {
  it.each<[string | undefined, string | undefined, Locale]>([
    [undefined, undefined, 'en'],
    ['', undefined, 'en'],
    ['zh-CN', undefined, 'zh-CN'],
    ['zh', undefined, 'zh-CN'],
    ['ZH-cn', undefined, 'zh-CN'],
    ['zh-Hans', undefined, 'zh-CN'],
    ['zh-Hans-CN,zh;q=0.9', undefined, 'zh-CN'],
    ['en-US,en;q=0.9,zh-CN;q=0.8', undefined, 'en'],
    ['en;q=0.5, zh-CN', undefined, 'zh-CN'],
    ['fr-FR, de;q=0.9, zh;q=0.3, en;q=0.2', undefined, 'zh-CN'],
    ['zh-TW, zh-Hant;q=0.9', undefined, 'en'],
    ['zh-CN;q=0, en;q=0.1', undefined, 'en'],
    ['zh-CN;q=abc, fr', undefined, 'en'],
    ['*', undefined, 'en'],
    ['fr, *;q=0.5', undefined, 'en'],
    ['zh-CN', 'en', 'en'],
    ['en', 'zh-CN', 'zh-CN'],
    ['en', 'zh', 'zh-CN'],
    ['zh-CN', 'fr', 'zh-CN'],
    [undefined, 'xx-invalid', 'en'],
  ])('Accept-Language %j, explicit %j → %s', (header, explicit, expected) => {
    expect(pickLocale(header, explicit)).toBe(expected);
  });
});

describe('templates', () => {
  it.each(MESSAGE_PURPOSES.flatMap((p) => LOCALES.map((l) => [p, l] as [MessagePurpose, Locale])))(
    '%s in %s renders code and minutes in every part, with no placeholder left',
    async (purpose, locale) => {
      const templates = await loadTemplates();
      const m = message({ purpose, locale, code: '602417', expiresInMinutes: 7 });
      const email = templates.renderEmail(m);
      const sms = templates.renderSms(m);
      for (const part of [email.text, email.html, sms]) {
        expect(part).toContain('602417');
        expect(part).toContain('7');
      }
      for (const part of [email.subject, email.text, email.html, sms]) expect(part).not.toMatch(/\{\{|\}\}/);
      expect(email.subject).not.toMatch(/[\r\n]/);
      expect(email.html).toContain(`lang="${locale}"`);
      const chinese = /[\u4e00-\u9fff]/;
      expect(chinese.test(email.subject)).toBe(locale === 'zh-CN');
      expect(chinese.test(sms)).toBe(locale === 'zh-CN');
    },
  );

  it('shows the VerifyEmail link (escaped in HTML) only when there is one', async () => {
    const templates = await loadTemplates();
    const link = 'https://id.example.com/verify?token=a&b="<x>';
    const withLink = templates.renderEmail(message({ purpose: 'VerifyEmail', link }));
    expect(withLink.text).toContain(link);
    expect(withLink.html).toContain('href="https://id.example.com/verify?token=a&amp;b=&quot;&lt;x&gt;"');
    expect(withLink.html).not.toContain('"<x>');
    const without = templates.renderEmail(message({ purpose: 'VerifyEmail' }));
    expect(without.html).not.toContain('href=');
    expect(without.text).not.toContain('http');
    expect(() => templates.renderEmail(message({ purpose: 'VerifyEmail', link: 'javascript:alert(1)' }))).toThrow(/http/);
  });

  it('escapes the values, not the template, in HTML', async () => {
    const templates = await loadTemplates();
    const email = templates.renderEmail(message({ code: '<b>1</b>&' }));
    expect(email.html).toContain('&lt;b&gt;1&lt;/b&gt;&amp;');
    expect(email.html).toContain('<p');
    expect(email.text).toContain('<b>1</b>&');
  });

  it('applies override files field by field, per purpose and locale', async () => {
    const dir = await templatesDir({
      'SignIn.en.json': JSON.stringify({ subject: 'Acme sign-in', sms: 'Acme: {{code}} ({{minutes}} min)' }),
      'VerifyEmail.zh-CN.json': JSON.stringify({ text: '请打开 {{link}}' }),
      'README.md': 'not a template; ignored',
    });
    const templates = await loadTemplates(dir);
    expect(templates.overrideFiles).toEqual([join(dir, 'SignIn.en.json'), join(dir, 'VerifyEmail.zh-CN.json')]);
    const en = templates.renderEmail(message());
    expect(en.subject).toBe('Acme sign-in');
    expect(en.text).toBe(DEFAULT_TEMPLATES.SignIn.en.text.replaceAll('{{code}}', '493817').replaceAll('{{minutes}}', '10'));
    expect(templates.renderSms(message())).toBe('Acme: 493817 (10 min)');
    // other locales and purposes keep the built-in texts
    expect(templates.renderEmail(message({ locale: 'zh-CN' })).subject).toBe(DEFAULT_TEMPLATES.SignIn['zh-CN'].subject);
    expect(templates.get('Register', 'en')).toEqual(DEFAULT_TEMPLATES.Register.en);
    expect(templates.renderEmail(message({ purpose: 'VerifyEmail', locale: 'zh-CN', link: 'https://x.test/v?t=1' })).text).toBe(
      '请打开 https://x.test/v?t=1',
    );
  });

  it.each([
    ['SignIn.en.json', '{"subject": "unterminated', /invalid JSON/],
    ['SignIn.en.json', '{"subject": 5}', /subject/],
    ['SignIn.en.json', '{"body": "{{code}}"}', /body/],
    ['SignIn.en.json', '{"sms": "Your code: {{otp}}"}', /unknown placeholder \{\{otp\}\}/],
    ['SignIn.en.json', '{"sms": "Hello without the code"}', /must contain \{\{code\}\}/],
    ['SignIn.en.json', '{"text": "{{code}} {{link}}"}', /only available in VerifyEmail/],
    ['VerifyEmail.en.json', '{"html": "{{#link}}<a href=\\"{{link}}\\">go</a> {{code}}"}', /not closed/],
    ['ForgotPassword.en.json', '{"subject": "a\\nBcc: x@evil.test"}', /single line/],
    ['SignIn.fr.json', '{}', /file name must be <Purpose>\.<locale>\.json/],
    ['Login.en.json', '{}', /file name must be/],
  ])('rejects %s containing %s, naming the file', async (name, content, problem) => {
    const dir = await templatesDir({ [name]: content });
    const error = await errorOf(loadTemplates(dir));
    expect(error).toBeInstanceOf(ConfigError);
    const issues = (error as ConfigError).issues;
    expect(issues.some((issue) => issue.startsWith(join(dir, name)) && problem.test(issue)), issues.join('\n')).toBe(true);
    expect(error.message).toContain(join(dir, name));
  });

  it('reports every bad file at once, and a missing folder', async () => {
    const dir = await templatesDir({ 'SignIn.en.json': '[', 'Register.zh-CN.json': '{"sms": "x"}', 'Generic.en.json': '{"subject": "ok"}' });
    const error = (await errorOf(loadTemplates(dir))) as ConfigError;
    expect(error.issues.some((i) => i.includes('SignIn.en.json'))).toBe(true);
    expect(error.issues.some((i) => i.includes('Register.zh-CN.json'))).toBe(true);
    expect(error.issues.some((i) => i.includes('Generic.en.json'))).toBe(false);
    const missing = join(dir, 'does-not-exist');
    const notFound = await errorOf(loadTemplates(missing));
    expect(notFound).toBeInstanceOf(ConfigError);
    expect(notFound.message).toContain(missing);
  });
});

describe('SMTP email connector against a real SMTP server', () => {
  let sink: SmtpSink;
  let connector: SmtpEmailConnector;
  beforeAll(async () => {
    sink = await startSmtpSink({ rejectRecipients: ['gone@example.com'] });
    connector = new SmtpEmailConnector({ smtpUrl: sink.url, from: FROM, templates: await loadTemplates() });
  });
  afterAll(async () => {
    await connector.close();
    await sink.close();
  });

  it('delivers one mail with From, To, subject, and text and HTML bodies carrying the code', async () => {
    expect(connector.kind).toBe('smtp');
    await connector.send(message({ to: 'Ada.Lovelace@Example.com', code: '135790' }));
    // nodemailer lowercases the (case-insensitive) domain and keeps the local part as written
    const mail = await sink.waitFor((m) => m.to === 'Ada.Lovelace@example.com', 5000);
    expect(mail.fromAddress).toBe('auth@tessera.test');
    expect(mail.from).toContain('Tessera Test');
    expect(mail.envelope).toEqual({ from: 'auth@tessera.test', to: ['Ada.Lovelace@example.com'] });
    expect(mail.subject).toBe(DEFAULT_TEMPLATES.SignIn.en.subject);
    expect(extractCode(mail.text)).toBe('135790');
    expect(mail.text).toContain('10 minutes');
    expect(mail.html).toContain('135790');
    expect(mail.html).toMatch(/^<!doctype html>/i);
    expect(mail.headers.get('auto-submitted')).toBe('auto-generated');
  });

  it('selects the Simplified Chinese template by locale', async () => {
    await connector.send(message({ to: 'li.lei@example.cn', purpose: 'ForgotPassword', locale: 'zh-CN', code: '246801', expiresInMinutes: 5 }));
    const mail = await sink.waitFor((m) => m.to === 'li.lei@example.cn', 5000);
    expect(mail.subject).toBe('重置密码验证码');
    expect(mail.text).toContain('您正在重置密码');
    expect(mail.text).toContain('5 分钟内有效');
    expect(extractCode(mail.text)).toBe('246801');
    expect(mail.html).toContain('lang="zh-CN"');
  });

  it('sends VerifyEmail with a clickable link', async () => {
    const link = 'http://127.0.0.1:3000/api/auth/verify-email?token=tok_abc&x=1';
    await connector.send(message({ to: 'verify@example.com', purpose: 'VerifyEmail', link }));
    const mail = await sink.waitFor((m) => m.to === 'verify@example.com', 5000);
    expect(mail.text).toContain(link);
    expect(mail.html).toContain(`href="${link.replace('&', '&amp;')}"`);
  });

  it('refuses a recipient that would be read as several addresses, sending nothing', async () => {
    const before = sink.messages.length;
    for (const to of ['a@example.com, b@evil.test', 'Name <a@example.com>', 'a@example.com\r\nBcc: b@evil.test', 'no-at-sign']) {
      const error = await appErrorOf(connector.send(message({ to })));
      expect(error.code).toBe('user.invalid_email');
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(sink.messages.length).toBe(before);
  });

  it('fails with connector.delivery_failed when the server refuses the recipient', async () => {
    const error = await appErrorOf(connector.send(message({ to: 'gone@example.com' })));
    expect(error.code).toBe('connector.delivery_failed');
    expect(error.status).toBe(502);
    expect(error.message).not.toMatch(/550|mailbox/i);
    expect(error.cause).toBeInstanceOf(Error);
  });

  it('fails with connector.delivery_failed, without leaking the SMTP error, when the server is down', async () => {
    const port = await unusedPort();
    const logs = capturedLogger();
    const down = new SmtpEmailConnector({ smtpUrl: `smtp://127.0.0.1:${port}`, from: FROM, templates: await loadTemplates(), logger: logs.logger });
    const error = await appErrorOf(down.send(message({ code: '777111' })));
    expect(error.code).toBe('connector.delivery_failed');
    expect(error.message).toBe('The message could not be delivered; try again later.');
    expect(error.message).not.toContain('ECONNREFUSED');
    expect(String((error.cause as NodeJS.ErrnoException).code)).toMatch(/ECONNREFUSED|ESOCKET|ECONNECTION/);
    const failure = logs.lines().find((l) => l.msg === 'email delivery failed');
    expect(failure?.level).toBe('error');
    expect(logs.capture.text).not.toContain('777111');
    await down.close();
  });
});

describe('SMS webhook connector against a real HTTP receiver', () => {
  let hook: SmsWebhookPeer;
  beforeAll(async () => {
    hook = await startSmsWebhook();
  });
  afterAll(async () => {
    await hook.close();
  });
  const connector = async (over: { secret?: string; timeoutSeconds?: number; now?: () => number; url?: string } = {}) =>
    new WebhookSmsConnector({ url: over.url ?? hook.url, secret: over.secret, timeoutSeconds: over.timeoutSeconds ?? 2, templates: await loadTemplates(), ...(over.now ? { now: over.now } : {}) });

  it('POSTs the exact JSON with a valid Stripe-style signature', async () => {
    hook.respondWith({ status: 200 });
    const nowMs = 1_767_225_600_123;
    const sms = await connector({ secret: SECRET, now: () => nowMs });
    expect(sms.kind).toBe('webhook');
    await sms.send(message({ to: '+8613800138000', code: '864209', locale: 'zh-CN', purpose: 'Register' }));
    const req = await hook.waitFor((r) => r.json?.to === '+8613800138000', 5000);
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/sms');
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.json).toEqual({
      to: '+8613800138000',
      text: '您的注册验证码是 864209，10 分钟内有效。请勿将验证码告诉他人。',
      code: '864209',
      purpose: 'Register',
      locale: 'zh-CN',
    });
    expect(Object.keys(req.json)).toEqual(['to', 'text', 'code', 'purpose', 'locale']);
    const header = req.headers['x-tessera-signature'];
    expect(typeof header).toBe('string');
    expect(header).toMatch(/^t=1767225600,v1=[0-9a-f]{64}$/);
    const signature = header as string;
    const now = 1_767_225_600;
    // independently of our helpers: v1 = hex HMAC-SHA256(secret, "<t>.<raw body>")
    const independent = createHmac('sha256', SECRET).update(`${now}.${req.rawBody}`).digest('hex');
    expect(signature).toBe(`t=${now},v1=${independent}`);
    expect(verifyWebhookSignature(SECRET, signature, req.rawBody, now)).toBe(true);
    expect(verifyWebhookSignature(SECRET, signature, Buffer.from(req.rawBody, 'utf8'), now + 299)).toBe(true);
    // a tampered body, another secret, a stale or future timestamp, or a forged header all fail
    expect(verifyWebhookSignature(SECRET, signature, req.rawBody.replace('864209', '000000'), now)).toBe(false);
    expect(verifyWebhookSignature(`${SECRET}x`, signature, req.rawBody, now)).toBe(false);
    expect(verifyWebhookSignature(SECRET, signature, req.rawBody, now + 301)).toBe(false);
    expect(verifyWebhookSignature(SECRET, signature, req.rawBody, now - 301)).toBe(false);
    expect(verifyWebhookSignature(SECRET, signature, req.rawBody, now + 1000, 3600)).toBe(true);
    expect(verifyWebhookSignature(SECRET, signature.replace('t=1767225600', 't=1767225601'), req.rawBody, now)).toBe(false);
    expect(signWebhookBody(SECRET, req.rawBody, now)).toBe(signature);
  });

  it('verifyWebhookSignature rejects malformed headers and accepts any matching v1 (rotation)', () => {
    const body = '{"a":1}';
    const good = signWebhookBody(SECRET, body, 1000);
    const v1 = good.split('v1=')[1]!;
    expect(verifyWebhookSignature(SECRET, `t=1000,v1=${'0'.repeat(64)},v1=${v1}`, body, 1000)).toBe(true);
    for (const header of [undefined, null, '', 'garbage', `v1=${v1}`, 't=1000', `t=abc,v1=${v1}`, `t=1000,v1=${v1.slice(2)}`, `t=1000,t=1000,v1=${v1}`, `t=1000,v0=${v1}`]) {
      expect(verifyWebhookSignature(SECRET, header, body, 1000)).toBe(false);
    }
  });

  it('sends no signature header without a secret', async () => {
    hook.respondWith({ status: 204 });
    await (await connector()).send(message({ to: '+14155550111', code: '111222' }));
    const req = await hook.waitFor((r) => r.json?.to === '+14155550111', 5000);
    expect(req.headers['x-tessera-signature']).toBeUndefined();
    expect(req.json.text).toBe('Your sign-in code is 111222. It expires in 10 minutes. Never share it with anyone.');
  });

  it('fails with connector.delivery_failed on HTTP 500', async () => {
    hook.respondWith({ status: 500 });
    const error = await appErrorOf((await connector({ secret: SECRET })).send(message({ to: '+14155550112' })));
    expect(error.code).toBe('connector.delivery_failed');
    expect(error.message).not.toContain('500');
    expect(hook.requests.some((r) => r.json?.to === '+14155550112')).toBe(true);
  });

  it('fails with connector.delivery_failed on a redirect (the signed body is not re-sent elsewhere)', async () => {
    hook.respondWith({ status: 307 });
    const error = await appErrorOf((await connector({ secret: SECRET })).send(message({ to: '+14155550116' })));
    expect(error.code).toBe('connector.delivery_failed');
  });

  it('fails with connector.delivery_failed when the webhook is slower than timeoutSeconds', async () => {
    hook.respondWith({ status: 200, delayMs: 3000 });
    const started = Date.now();
    const error = await appErrorOf((await connector({ timeoutSeconds: 0.3 })).send(message({ to: '+14155550113' })));
    const elapsed = Date.now() - started;
    expect(error.code).toBe('connector.delivery_failed');
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(2000);
    // the same delay within a longer deadline succeeds: seconds, not milliseconds
    hook.respondWith({ status: 200, delayMs: 400 });
    await (await connector({ timeoutSeconds: 2 })).send(message({ to: '+14155550114' }));
    hook.respondWith({ status: 200 });
  });

  it('fails with connector.delivery_failed when nothing listens, and after close()', async () => {
    const port = await unusedPort();
    const down = await connector({ url: `http://127.0.0.1:${port}/sms` });
    expect((await appErrorOf(down.send(message({ to: '+14155550115' })))).code).toBe('connector.delivery_failed');
    const closed = await connector();
    await closed.close();
    expect((await appErrorOf(closed.send(message({ to: '+14155550117' })))).code).toBe('connector.delivery_failed');
  });

  it('refuses a recipient that is not E.164, sending nothing', async () => {
    const before = hook.requests.length;
    for (const to of ['13800138000', '+0123456789', '+1 415 555 0100', 'ada@example.com']) {
      expect((await appErrorOf((await connector()).send(message({ to })))).code).toBe('user.invalid_phone');
    }
    expect(hook.requests.length).toBe(before);
  });
});

describe('console connectors and createConnectors', () => {
  it('fall back to the console with one startup warning each, and log the message under the DEVELOPMENT marker', async () => {
    const logs = capturedLogger();
    const connectors = await createConnectors(testConfig({ logLevel: 'info' }), logs.logger);
    expect(connectors.email.kind).toBe('console');
    expect(connectors.sms.kind).toBe('console');
    expect(connectors.email).toBeInstanceOf(ConsoleEmailConnector);
    expect(connectors.sms).toBeInstanceOf(ConsoleSmsConnector);
    const startup = logs.lines();
    expect(startup).toHaveLength(2);
    expect(startup.map((l) => [l.level, l.connector])).toEqual([
      ['warn', 'email'],
      ['warn', 'sms'],
    ]);
    for (const line of startup) expect(line.msg).toMatch(/^DEVELOPMENT ONLY: .* not set/);

    await connectors.email.send(message({ to: 'dev@example.com', code: '314159' }));
    await connectors.sms.send(message({ to: '+14155550100', code: '271828', locale: 'zh-CN' }));
    const [emailLine, smsLine] = logs.lines().slice(2);
    expect(emailLine).toMatchObject({ level: 'warn', msg: 'DEVELOPMENT ONLY: email not sent, console connector', email: { to: 'dev@example.com', purpose: 'SignIn' } });
    expect(emailLine!.email.text).toContain('314159');
    expect(smsLine).toMatchObject({ level: 'warn', msg: 'DEVELOPMENT ONLY: SMS not sent, console connector', sms: { to: '+14155550100', locale: 'zh-CN' } });
    expect(smsLine!.sms.text).toContain('271828');
    expect(logs.capture.text).not.toContain('[redacted]');
    expect((await appErrorOf(connectors.email.send(message({ to: 'x@y.test, z@w.test' })))).code).toBe('user.invalid_email');
    expect((await appErrorOf(connectors.sms.send(message({ to: '12345' })))).code).toBe('user.invalid_phone');
    await connectors.email.close();
    await connectors.sms.close();
  });

  it('builds the SMTP and webhook connectors from config, with the templatesDir overrides', async () => {
    const sink = await startSmtpSink();
    const hook = await startSmsWebhook();
    const dir = await templatesDir({
      'SignIn.en.json': JSON.stringify({ subject: 'Acme: your code', sms: 'Acme code {{code}}' }),
    });
    const logs = capturedLogger();
    const connectors = await createConnectors(
      testConfig({
        email: { smtpUrl: sink.url, from: FROM },
        sms: { webhookUrl: hook.url, webhookSecret: SECRET, timeoutSeconds: 2 },
        templatesDir: dir,
      }),
      logs.logger,
    );
    try {
      expect(connectors.email.kind).toBe('smtp');
      expect(connectors.sms.kind).toBe('webhook');
      expect(logs.capture.lines).toHaveLength(0);
      await connectors.email.send(message({ to: 'cfg@example.com', code: '909090' }));
      const mail = await sink.waitFor((m) => m.to === 'cfg@example.com', 5000);
      expect(mail.subject).toBe('Acme: your code');
      expect(mail.fromAddress).toBe('auth@tessera.test');
      await connectors.sms.send(message({ to: '+14155550199', code: '808080' }));
      const req = await hook.waitFor((r) => r.json?.to === '+14155550199', 5000);
      expect(req.json.text).toBe('Acme code 808080');
      expect(verifyWebhookSignature(SECRET, req.headers['x-tessera-signature'] as string, req.rawBody, Date.now() / 1000)).toBe(true);
    } finally {
      await connectors.email.close();
      await connectors.sms.close();
      await sink.close();
      await hook.close();
    }
  });

  it('refuses to start with a bad template file, naming it', async () => {
    const dir = await templatesDir({ 'Register.en.json': '{"subject": ' });
    const error = await errorOf(createConnectors(testConfig({ templatesDir: dir }), capturedLogger().logger));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain(join(dir, 'Register.en.json'));
  });
});
