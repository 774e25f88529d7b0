import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../src/config/index.js';
import {
  type CodeChannel,
  type CodeDelivery,
  type OutgoingCode,
  type SendCodeInput,
  VerificationService,
  verificationKey,
} from '../src/domain/verification/index.js';
import { AppError, type ErrorCode } from '../src/errors/index.js';
import { type DatabaseHandle, migrateToLatest, openDatabase } from '../src/storage/database.js';
import { KyselyStore } from '../src/storage/kysely-store.js';
import type { UserRecord } from '../src/storage/store.js';
import { ManualClock } from '../src/util/clock.js';
import { sha256Hex } from '../src/util/crypto.js';
import { RateLimiters } from '../src/util/rate-limit.js';
import { testConfig } from './helpers.js';
import { userRecord } from './fixtures.js';

/** Our own `CodeDelivery` for tests: keeps every message, and fails the next send when told to. */
class RecordingDelivery implements CodeDelivery {
  readonly sent: Array<{ channel: CodeChannel; message: OutgoingCode }> = [];
  /** Thrown (once) by the next send. */
  failNext: unknown = undefined;

  async send(channel: CodeChannel, message: OutgoingCode): Promise<void> {
    if (this.failNext !== undefined) {
      const error = this.failNext;
      this.failNext = undefined;
      throw error;
    }
    this.sent.push({ channel, message });
  }

  get last(): OutgoingCode {
    const last = this.sent.at(-1);
    if (!last) throw new Error('nothing was sent');
    return last.message;
  }
}

interface Env {
  service: VerificationService;
  store: KyselyStore;
  delivery: RecordingDelivery;
  clock: ManualClock;
  config: Config;
  handle: DatabaseHandle;
}

const opened: Array<{ handle: DatabaseHandle; limiters: RateLimiters }> = [];
afterEach(async () => {
  for (const o of opened.splice(0)) {
    await o.limiters.close();
    await o.handle.close();
  }
});

/**
 * A VerificationService composed as in app.ts, on a private in-memory SQLite database.
 * `resendPoints` > 1 lets a test send several codes to one identifier and purpose within the interval.
 */
async function setup(options: { config?: Parameters<typeof testConfig>[0]; resendPoints?: number } = {}): Promise<Env> {
  const config = testConfig(options.config);
  const handle = openDatabase('sqlite::memory:');
  await migrateToLatest(handle.db);
  const limiters = new RateLimiters(handle);
  opened.push({ handle, limiters });
  const store = new KyselyStore(handle);
  const delivery = new RecordingDelivery();
  const clock = new ManualClock();
  const service = new VerificationService(
    store,
    delivery,
    {
      resend: await limiters.create({
        name: 'code_resend',
        points: options.resendPoints ?? 1,
        durationSeconds: Math.max(1, config.codes.resendIntervalSeconds),
      }),
      perIdentifier: await limiters.create({ name: 'code_identifier', points: config.codes.perIdentifierPerHour, durationSeconds: 3600 }),
      perIp: await limiters.create({ name: 'code_ip', points: config.codes.perIpPerHour, durationSeconds: 3600 }),
    },
    config,
    clock,
  );
  return { service, store, delivery, clock, config, handle };
}

/** Sends an email code and returns the record and the code that was delivered. */
async function sendEmail(env: Env, email: string, overrides: Partial<SendCodeInput> = {}) {
  const { handle, ...record } = await env.service.sendCode({ channel: 'email', identifier: email, purpose: 'SignIn', locale: 'en', ...overrides });
  // Only the SHA-256 of the handle the caller receives is stored (issue 15).
  expect(record.id).toBe(verificationKey(handle));
  expect(handle).toMatch(/^vrf_/);
  return { record, handle, code: env.delivery.last.code, message: env.delivery.last };
}

/** Awaits `p` and returns the AppError it rejected with, checking its code. */
async function rejection(p: Promise<unknown>, code: ErrorCode): Promise<AppError> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected AppError ${code}`).toBeInstanceOf(AppError);
  expect((error as AppError).code).toBe(code);
  return error as AppError;
}

/** A 6-digit code that is not `code`. */
const wrong = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, '0');

function user(id: string): UserRecord {
  return userRecord({ id, createdAt: 1, updatedAt: 1 });
}

describe('VerificationService.sendCode', () => {
  it('delivers a 6-digit code, different on every send, to the address as written', async () => {
    const env = await setup();
    const now = env.clock.now();
    const codes: string[] = [];
    for (let i = 0; i < 10; i++) {
      const { record, code, message } = await sendEmail(env, `Person${i}@Example.COM`, { ip: '198.51.100.4', locale: 'zh-CN' });
      expect(code).toMatch(/^\d{6}$/);
      expect(message).toStrictEqual({ to: `Person${i}@Example.COM`, purpose: 'SignIn', code, locale: 'zh-CN', expiresInMinutes: 10 });
      expect(env.delivery.sent.at(-1)?.channel).toBe('email');
      expect(record).toMatchObject({
        type: 'email_code',
        purpose: 'SignIn',
        identifierType: 'email',
        identifier: `person${i}@example.com`,
        userId: null,
        linkHash: null,
        attempts: 0,
        ip: '198.51.100.4',
        createdAt: now,
        expiresAt: now + 600_000,
        verifiedAt: null,
        consumedAt: null,
      });
      expect(await env.store.verifications.findById(record.id)).toStrictEqual(record);
      codes.push(code);
    }
    // Random 6-digit codes: two equal ones among ten are possible (p ≈ 5e-5), more are not plausible.
    expect(new Set(codes).size).toBeGreaterThanOrEqual(9);
  });

  it('stores only a keyed hash of the code, never the code nor its plain SHA-256', async () => {
    const env = await setup();
    const { record, code } = await sendEmail(env, 'hash@example.com');
    const row = await env.handle.db.selectFrom('verifications').selectAll().where('id', '=', record.id).executeTakeFirstOrThrow();
    expect(row.code_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(row.code_hash).not.toBe(code);
    expect(row.code_hash).not.toBe(sha256Hex(code));
    for (const [column, value] of Object.entries(row)) {
      if (typeof value === 'string') expect(value, column).not.toContain(code);
    }
    expect(record.codeHash).toBe(row.code_hash);
  });

  it('a new code replaces the previous one for the same identifier and purpose, and only that one', async () => {
    const env = await setup({ resendPoints: 10 });
    const first = await sendEmail(env, 'swap@example.com');
    const register = await sendEmail(env, 'swap@example.com', { purpose: 'Register' });
    const other = await sendEmail(env, 'other@example.com');
    const second = await sendEmail(env, 'SWAP@example.com');

    expect(await env.store.verifications.findById(first.record.id)).toBeUndefined();
    expect(await env.store.verifications.findById(second.record.id)).toStrictEqual(second.record);
    expect(await env.store.verifications.findById(register.record.id)).toStrictEqual(register.record);
    expect(await env.store.verifications.findById(other.record.id)).toStrictEqual(other.record);
    await rejection(
      env.service.verifyCode({ channel: 'email', identifier: 'swap@example.com', purpose: 'SignIn', code: first.code, verificationId: first.handle }),
      'verification.not_found',
    );
    const verified = await env.service.verifyCode({ channel: 'email', identifier: 'swap@example.com', purpose: 'SignIn', code: second.code });
    expect(verified.id).toBe(second.record.id);
  });

  it('throttles a resend to the same identifier and purpose (verification.resend_too_soon with retryAfterSeconds)', async () => {
    const env = await setup();
    const first = await sendEmail(env, 'Throttle@example.com');
    const error = await rejection(sendEmail(env, 'throttle@EXAMPLE.com'), 'verification.resend_too_soon');
    expect(error.status).toBe(429);
    expect(error.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(error.retryAfterSeconds).toBeLessThanOrEqual(60);
    expect(env.delivery.sent).toHaveLength(1);
    // The refused request changed nothing: the first code still works.
    expect(await env.store.verifications.findById(first.record.id)).toStrictEqual(first.record);
    // Another purpose or another identifier is not throttled.
    await sendEmail(env, 'throttle@example.com', { purpose: 'ForgotPassword' });
    await sendEmail(env, 'other-throttle@example.com');
    expect(env.delivery.sent).toHaveLength(3);
    const used = await env.service.useCode({ channel: 'email', identifier: 'throttle@example.com', purpose: 'SignIn', code: first.code });
    expect(used.id).toBe(first.record.id);
  });

  it('when delivery fails, deletes the record, reports connector.delivery_failed and releases the resend throttle', async () => {
    const env = await setup();
    env.delivery.failNext = new Error('SMTP is down');
    const error = await rejection(sendEmail(env, 'Fail@example.com'), 'connector.delivery_failed');
    expect(error.status).toBe(502);
    expect(env.delivery.sent).toHaveLength(0);
    const rows = await env.handle.db.selectFrom('verifications').selectAll().execute();
    expect(rows).toEqual([]);

    // An AppError from the connector passes through as it is.
    const own = new AppError('connector.delivery_failed', { message: 'webhook answered 500' });
    env.delivery.failNext = own;
    expect(await sendEmail(env, 'fail@example.com').catch((e: unknown) => e)).toBe(own);
    expect(await env.handle.db.selectFrom('verifications').selectAll().execute()).toEqual([]);

    // The throttle was released: an immediate retry goes out.
    const retry = await sendEmail(env, 'fail@example.com');
    expect(env.delivery.sent).toHaveLength(1);
    const verified = await env.service.verifyCode({ channel: 'email', identifier: 'fail@example.com', purpose: 'SignIn', code: retry.code });
    expect(verified.id).toBe(retry.record.id);
  });
});

describe('VerificationService.verifyCode', () => {
  it('matches email identifiers case-insensitively', async () => {
    const env = await setup();
    const { record, handle, code } = await sendEmail(env, 'Mixed.Case@Example.ORG');
    expect(record.identifier).toBe('mixed.case@example.org');
    const verified = await env.service.verifyCode({
      channel: 'email',
      identifier: 'mixed.case@example.org',
      purpose: 'SignIn',
      code,
      verificationId: handle,
    });
    expect(verified).toStrictEqual({ ...record, attempts: 1, verifiedAt: env.clock.now() });
    const used = await env.service.useCode({ channel: 'email', identifier: ' MIXED.CASE@EXAMPLE.ORG ', purpose: 'SignIn', code });
    expect(used.id).toBe(record.id);
  });

  it('matches phones written in any format', async () => {
    const env = await setup({ config: { defaultPhoneRegion: 'US' } });
    const { handle, ...record } = await env.service.sendCode({ channel: 'phone', identifier: '(415) 555-0123', purpose: 'SignIn', locale: 'en' });
    expect(env.delivery.sent.at(-1)?.channel).toBe('phone');
    expect(env.delivery.last.to).toBe('+14155550123');
    expect(record).toMatchObject({ type: 'phone_code', identifierType: 'phone', identifier: '+14155550123' });
    const code = env.delivery.last.code;
    const verified = await env.service.verifyCode({ channel: 'phone', identifier: '+1 415 555 0123', purpose: 'SignIn', code, verificationId: handle });
    expect(verified.id).toBe(record.id);
    const used = await env.service.useCode({ channel: 'phone', identifier: '415.555.0123', purpose: 'SignIn', code });
    expect(used.id).toBe(record.id);
    // The same record through the email channel is not found.
    await rejection(
      env.service.verifyCode({ channel: 'email', identifier: '+14155550123', purpose: 'SignIn', code, verificationId: handle }),
      'verification.not_found',
    );
  });

  it('refuses the verificationId of another identifier or purpose as verification.not_found, without counting an attempt', async () => {
    const env = await setup();
    const a = await sendEmail(env, 'a@example.com');
    const b = await sendEmail(env, 'b@example.com');
    const aRegister = await sendEmail(env, 'a@example.com', { purpose: 'Register' });
    await rejection(
      env.service.verifyCode({ channel: 'email', identifier: 'a@example.com', purpose: 'SignIn', code: b.code, verificationId: b.handle }),
      'verification.not_found',
    );
    await rejection(
      env.service.verifyCode({ channel: 'email', identifier: 'a@example.com', purpose: 'SignIn', code: aRegister.code, verificationId: aRegister.handle }),
      'verification.not_found',
    );
    await rejection(
      env.service.verifyCode({ channel: 'email', identifier: 'a@example.com', purpose: 'SignIn', code: a.code, verificationId: 'vrf_missing' }),
      'verification.not_found',
    );
    await rejection(
      env.service.verifyCode({ channel: 'email', identifier: 'not-an-email', purpose: 'SignIn', code: a.code }),
      'verification.not_found',
    );
    await rejection(
      env.service.verifyCode({ channel: 'email', identifier: 'nobody@example.com', purpose: 'SignIn', code: a.code }),
      'verification.not_found',
    );
    for (const r of [a, b, aRegister]) expect((await env.store.verifications.findById(r.record.id))?.attempts).toBe(0);
    expect((await env.service.verifyCode({ channel: 'email', identifier: 'b@example.com', purpose: 'SignIn', code: b.code })).id).toBe(b.record.id);
  });

  it('expires at exactly ttl', async () => {
    const env = await setup({ config: { codes: { ttlSeconds: 300 } } });
    const early = await sendEmail(env, 'early@example.com');
    expect(early.record.expiresAt).toBe(early.record.createdAt + 300_000);
    env.clock.advance(300_000 - 1);
    const verified = await env.service.verifyCode({ channel: 'email', identifier: 'early@example.com', purpose: 'SignIn', code: early.code });
    expect(verified.id).toBe(early.record.id);

    const late = await sendEmail(env, 'late@example.com');
    env.clock.advance(300_000);
    await rejection(
      env.service.verifyCode({ channel: 'email', identifier: 'late@example.com', purpose: 'SignIn', code: late.code, verificationId: late.handle }),
      'verification.code_expired',
    );
    // Without an id, an expired record is no live record.
    await rejection(
      env.service.verifyCode({ channel: 'email', identifier: 'late@example.com', purpose: 'SignIn', code: late.code }),
      'verification.not_found',
    );
    expect((await env.store.verifications.findById(late.record.id))?.attempts).toBe(0);
    expect(await env.service.purgeExpired()).toBe(2);
    expect(await env.store.verifications.findById(late.record.id)).toBeUndefined();
  });

  it('counts wrong guesses and dies after maxAttempts, even for the right code', async () => {
    const env = await setup({ config: { codes: { maxAttempts: 3 } } });
    const { record, handle, code } = await sendEmail(env, 'guess@example.com');
    const input = { channel: 'email' as const, identifier: 'guess@example.com', purpose: 'SignIn' as const };
    const first = await rejection(env.service.verifyCode({ ...input, code: wrong(code) }), 'verification.code_mismatch');
    expect(first.data).toEqual({ remainingAttempts: 2 });
    const second = await rejection(env.service.verifyCode({ ...input, code: 'abcdef' }), 'verification.code_mismatch');
    expect(second.data).toEqual({ remainingAttempts: 1 });
    await rejection(env.service.verifyCode({ ...input, code: wrong(code) }), 'verification.too_many_attempts');
    await rejection(env.service.verifyCode({ ...input, code, verificationId: handle }), 'verification.too_many_attempts');
    expect(await env.store.verifications.findById(record.id)).toStrictEqual({ ...record, attempts: 3 });

    // The right code on the last attempt still works.
    const other = await sendEmail(env, 'last-try@example.com');
    const otherInput = { channel: 'email' as const, identifier: 'last-try@example.com', purpose: 'SignIn' as const };
    await rejection(env.service.verifyCode({ ...otherInput, code: wrong(other.code) }), 'verification.code_mismatch');
    await rejection(env.service.verifyCode({ ...otherInput, code: wrong(other.code) }), 'verification.code_mismatch');
    const ok = await env.service.verifyCode({ ...otherInput, code: other.code });
    expect(ok).toStrictEqual({ ...other.record, attempts: 3, verifiedAt: env.clock.now() });
    expect(await env.store.verifications.findById(other.record.id)).toStrictEqual(ok);
  });

  it('is single use: a consumed record answers verification.already_used, and of concurrent uses one wins', async () => {
    const env = await setup();
    const { record, handle, code } = await sendEmail(env, 'once@example.com');
    const input = { channel: 'email' as const, identifier: 'once@example.com', purpose: 'SignIn' as const, code };
    expect((await env.service.useCode(input)).id).toBe(record.id);
    expect((await env.store.verifications.findById(record.id))?.consumedAt).toBe(env.clock.now());
    await rejection(env.service.useCode({ ...input, verificationId: handle }), 'verification.already_used');
    await rejection(env.service.useCode(input), 'verification.not_found');
    await rejection(env.service.consume(record.id), 'verification.already_used');

    const racy = await sendEmail(env, 'race@example.com');
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => env.service.consume(racy.record.id)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect((r.reason as AppError).code).toBe('verification.already_used');
  });
});

describe('VerificationService.recordProof', () => {
  it('stores a verified proof for the user, valid for ttl, that no code can use', async () => {
    const env = await setup();
    await env.store.users.insert(user('usr_proof'));
    const now = env.clock.now();
    const issued = await env.service.recordProof({ type: 'password', purpose: 'Identity', userId: 'usr_proof', ip: '192.0.2.1' });
    expect(issued).toStrictEqual({ verificationId: expect.stringMatching(/^vrf_/), expiresAt: now + 600_000 });
    expect(await env.store.verifications.findById(issued.verificationId)).toBeUndefined();
    expect(await env.store.verifications.findById(verificationKey(issued.verificationId))).toStrictEqual({
      id: verificationKey(issued.verificationId),
      type: 'password',
      purpose: 'Identity',
      identifierType: null,
      identifier: null,
      userId: 'usr_proof',
      codeHash: null,
      linkHash: null,
      attempts: 0,
      ip: '192.0.2.1',
      createdAt: now,
      expiresAt: now + 600_000,
      verifiedAt: now,
      consumedAt: null,
    });
    await rejection(
      env.service.verifyCode({ channel: 'email', identifier: 'x@example.com', purpose: 'SignIn', code: '000000', verificationId: issued.verificationId }),
      'verification.not_found',
    );
    // consume() takes the stored key (internal callers hold the record).
    await env.service.consume(verificationKey(issued.verificationId));
    await rejection(env.service.consume(verificationKey(issued.verificationId)), 'verification.already_used');
  });
});

describe('VerificationService.useLink', () => {
  const linkFor = (token: string) => `https://tessera.test/verify-email?token=${token}`;
  const tokenOf = (link: string | undefined) => new URL(link!).searchParams.get('token')!;

  it('consumes the record of a VerifyEmail link once', async () => {
    const env = await setup();
    const { record, handle, message, code } = await sendEmail(env, 'link@example.com', { purpose: 'VerifyEmail', linkFor });
    expect(message.link).toMatch(/^https:\/\/tessera\.test\/verify-email\?token=/);
    const token = tokenOf(message.link);
    expect(record.linkHash).toBe(sha256Hex(token));
    expect(JSON.stringify(await env.store.verifications.findById(record.id))).not.toContain(token);

    env.clock.advance(1000);
    expect((await env.service.useLink(token)).id).toBe(record.id);
    expect(await env.store.verifications.findById(record.id)).toStrictEqual({
      ...record,
      verifiedAt: env.clock.now(),
      consumedAt: env.clock.now(),
    });
    await rejection(env.service.useLink(token), 'verification.already_used');
    // The code of the same message is used up too.
    await rejection(
      env.service.useCode({ channel: 'email', identifier: 'link@example.com', purpose: 'VerifyEmail', code, verificationId: handle }),
      'verification.already_used',
    );
  });

  it('refuses unknown tokens and links of another purpose as verification.not_found', async () => {
    const env = await setup();
    const { record, message } = await sendEmail(env, 'purpose@example.com', { purpose: 'SignIn', linkFor });
    await rejection(env.service.useLink(tokenOf(message.link)), 'verification.not_found');
    expect(await env.store.verifications.findById(record.id)).toStrictEqual(record);
    await rejection(env.service.useLink('unknown-token'), 'verification.not_found');
    await rejection(env.service.useLink(''), 'verification.not_found');
  });

  it('refuses an expired link as verification.code_expired', async () => {
    const env = await setup();
    const { record, message } = await sendEmail(env, 'expired-link@example.com', { purpose: 'VerifyEmail', linkFor });
    env.clock.advance(600_000);
    await rejection(env.service.useLink(tokenOf(message.link)), 'verification.code_expired');
    expect(await env.store.verifications.findById(record.id)).toStrictEqual(record);
  });

  it('a newer message replaces the older link', async () => {
    const env = await setup({ resendPoints: 10 });
    const first = await sendEmail(env, 'relink@example.com', { purpose: 'VerifyEmail', linkFor });
    const second = await sendEmail(env, 'relink@example.com', { purpose: 'VerifyEmail', linkFor });
    await rejection(env.service.useLink(tokenOf(first.message.link)), 'verification.not_found');
    expect((await env.service.useLink(tokenOf(second.message.link))).id).toBe(second.record.id);
  });
});
