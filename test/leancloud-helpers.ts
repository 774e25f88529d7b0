import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Config, ConfigInput } from '../src/config/index.js';
import { testConfig } from './helpers.js';

/** The real LeanCloud JS SDK (CommonJS), loaded once per test file. */
export const AV = createRequire(import.meta.url)('leancloud-storage') as typeof import('leancloud-storage');

/** The app credentials every LeanCloud suite uses. The id must not end in `-MdYXbMMI` (international apps). */
export const LC_KEYS = { appId: 'tessera-lc-test', appKey: 'lc-app-key-0123456789', masterKey: 'lc-master-key-0123456789' } as const;

export { type DatabaseFactory, dialects } from './helpers.js';

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

/** {@link testConfig} with the `/1.1` surface on and code throttles out of the way. */
export function lcConfig(overrides: DeepPartial<ConfigInput> = {}): Config {
  return testConfig({
    ...overrides,
    leancloud: { ...LC_KEYS, ...(overrides.leancloud ?? {}) },
    codes: { resendIntervalSeconds: 0, perIdentifierPerHour: 1000, perIpPerHour: 100_000, ...(overrides.codes ?? {}) },
  });
}

let seq = 0;
/** A unique name for this run. */
export const uniq = (p = 'u') => `${p}${Date.now().toString(36)}${(seq++).toString(36)}`;
/** A valid, unused Chinese mobile number (E.164). */
export const cnPhone = () => `+86138${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;
/** A password the default policy accepts. */
export const PW = 'violet-harbor-7-lantern';

/** Options of {@link lcFetch}. */
export interface LcFetchOptions {
  body?: unknown;
  /** Use the master key (`X-LC-Key: <master>,master`). */
  master?: boolean;
  /** Sign with X-LC-Sign instead of sending X-LC-Key. */
  sign?: boolean;
  session?: string;
  /** Replaces the credential headers entirely. */
  headers?: Record<string, string>;
}

/** An answer of the `/1.1` API. */
export interface LcAnswer {
  status: number;
  headers: Headers;
  text: string;
  body: any;
}

/** The credential headers the SDK or curl would send. */
export function lcHeaders(options: { master?: boolean; sign?: boolean; session?: string } = {}): Record<string, string> {
  const h: Record<string, string> = { 'x-lc-id': LC_KEYS.appId };
  const key = options.master ? LC_KEYS.masterKey : LC_KEYS.appKey;
  if (options.sign) {
    const ts = String(Date.now());
    h['x-lc-sign'] = `${createHash('md5').update(ts + key).digest('hex')},${ts}${options.master ? ',master' : ''}`;
  } else {
    h['x-lc-key'] = options.master ? `${key},master` : key;
  }
  if (options.session) h['x-lc-session'] = options.session;
  return h;
}

/** Calls `base + path` with LeanCloud headers and a JSON body; parses JSON answers. */
export async function lcFetch(base: string, method: string, path: string, options: LcFetchOptions = {}): Promise<LcAnswer> {
  const headers: Record<string, string> = { ...(options.headers ?? lcHeaders(options)) };
  let payload: string | undefined;
  if (options.body !== undefined) {
    payload = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(base + path, { method, headers, body: payload });
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status: res.status, headers: res.headers, text, body };
}
