/**
 * A real Tessera server for the SDK suites: started in-process on 127.0.0.1 with the root test
 * helpers, with a real SMTP sink and a real SMS webhook receiver (test/peers.ts) for the code flows,
 * and an admin m2m application for the ManagementClient.
 */
import { expect } from 'vitest';
import type { AppOptions } from '../../src/app.js';
import { type DatabaseFactory, type RunningApp, startAppWithPublicUrl } from '../../test/helpers.js';
import { extractCode, type SmsWebhookPeer, type SmtpSink, startSmsWebhook, startSmtpSink } from '../../test/peers.js';
import { TesseraError, type TesseraErrorCode } from '../src/index.js';

export const ADMIN_ID = 'sdk-test-admin';
export const ADMIN_SECRET = 'sdk-test-admin-secret-0123456789';

/** The server and its peers. */
export interface SdkServer {
  t: RunningApp;
  smtp: SmtpSink;
  sms: SmsWebhookPeer;
  /** The 6-digit code of the next SMS to `phone` sent after `before` (an index into `sms.requests`). */
  smsCode(phone: string, before: number): Promise<{ code: string; purpose: string }>;
  /** The 6-digit code of the next mail to `email` sent after `before` (an index into `smtp.messages`). */
  mailCode(email: string, before: number): Promise<string>;
  close(): Promise<void>;
}

/** Starts a server on a fresh database of `database`, with config overrides. */
export async function startSdkServer(database: DatabaseFactory, overrides: Record<string, unknown> = {}, options: AppOptions = {}): Promise<SdkServer> {
  const smtp = await startSmtpSink();
  const sms = await startSmsWebhook();
  const db = await database();
  const t = await startAppWithPublicUrl(
    {
      databaseUrl: db.url,
      adminClientId: ADMIN_ID,
      adminClientSecret: ADMIN_SECRET,
      email: { smtpUrl: smtp.url, from: 'Tessera SDK Test <auth@tessera.test>' },
      sms: { webhookUrl: sms.url, timeoutSeconds: 2 },
      codes: { resendIntervalSeconds: 0, perIdentifierPerHour: 1000, perIpPerHour: 100_000 },
      ...overrides,
    } as never,
    options,
  );
  return {
    t,
    smtp,
    sms,
    async smsCode(phone, before) {
      const req = await sms.waitFor((r, i) => i >= before && r.json?.to === phone, 5000);
      return { code: String(req.json.code), purpose: String(req.json.purpose) };
    },
    async mailCode(email, before) {
      const mail = await smtp.waitFor((m, i) => i >= before && m.to === email.toLowerCase(), 5000);
      return extractCode(mail.text);
    },
    async close() {
      await t.close();
      await smtp.close();
      await sms.close();
      await db.drop();
    },
  };
}

let seq = 0;
/** A unique lower-case name. */
export const uniq = (prefix = 'sdk') => `${prefix}${Date.now().toString(36)}${(seq++).toString(36)}`;
/** A unique, valid US number in the fictional 555-01xx range (100 per suite). */
let phoneSeq = 0;
export const nextPhone = () => `+1415555${String(100 + (phoneSeq++ % 100)).padStart(4, '0')}`;
/** A password the default policy accepts. */
export const PW = 'violet-harbor-7-lantern';

/** A Map-backed `localStorage` stand-in (the Storage interface's three methods). */
export class MemoryStorage {
  readonly map = new Map<string, string>();
  getItem(key: string): string | null {
    return this.map.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.map.set(key, String(value));
  }
  removeItem(key: string): void {
    this.map.delete(key);
  }
}

/** `fetch` that records the method and path of every request it passes on to the real `fetch`. */
export function recordingFetch(): { fetch: typeof fetch; calls: Array<{ method: string; path: string }> } {
  const calls: Array<{ method: string; path: string }> = [];
  return {
    calls,
    fetch: (input, init) => {
      const url = new URL(String(input));
      calls.push({ method: init?.method ?? 'GET', path: url.pathname + url.search });
      return fetch(input, init);
    },
  };
}

/** Awaits `promise`, expecting a TesseraError with this code (and status, when given); returns it. */
export async function fails(promise: Promise<unknown>, code: TesseraErrorCode, status?: number): Promise<TesseraError> {
  const error = await promise.then(
    () => {
      throw new Error(`expected ${code}, but the call succeeded`);
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TesseraError);
  const te = error as TesseraError;
  expect({ code: te.code, ...(status !== undefined ? { status: te.status } : {}) }).toEqual({ code, ...(status !== undefined ? { status } : {}) });
  return te;
}
