import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { constantTimeEqual } from '../../util/crypto.js';

/** The app credentials of the `/1.1` surface (from `config.leancloud`). */
export interface LcAppKeys {
  appId: string;
  appKey: string;
  masterKey?: string | undefined;
  /** Largest accepted difference between an `X-LC-Sign` timestamp and now, in seconds. */
  signatureSkewSeconds: number;
}

/** Who the app credentials say is calling. */
export interface LcAppAuth {
  /** True when the master key was presented. */
  master: boolean;
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** LeanCloud's request signature: lowercase hex MD5 of `timestamp + key`. */
export function lcSignature(timestamp: string, key: string): string {
  return createHash('md5').update(timestamp + key, 'utf8').digest('hex');
}

/**
 * Checks the app credentials of a `/1.1` request (shared/specs/leancloud.md §1.2): `X-LC-Id` must be the
 * app id, plus either `X-LC-Sign: md5(ts+key),ts[,master]` (what the SDK sends; `ts` in ms within the
 * allowed skew) or `X-LC-Key: appKey` / `X-LC-Key: masterKey,master`.
 * @returns the caller's app-level rights, or undefined when the credentials are missing or wrong
 */
export function checkAppAuth(headers: IncomingHttpHeaders, keys: LcAppKeys, nowMs: number): LcAppAuth | undefined {
  const id = header(headers, 'x-lc-id');
  if (!id || !constantTimeEqual(id, keys.appId)) return undefined;
  const sign = header(headers, 'x-lc-sign');
  if (sign !== undefined) {
    const [digest = '', ts = '', flag, ...extra] = sign.split(',').map((p) => p.trim());
    if (extra.length > 0 || (flag !== undefined && flag !== 'master') || !/^\d{1,16}$/.test(ts)) return undefined;
    const master = flag === 'master';
    const key = master ? keys.masterKey : keys.appKey;
    if (!key || Math.abs(nowMs - Number(ts)) > keys.signatureSkewSeconds * 1000) return undefined;
    return constantTimeEqual(digest.toLowerCase(), lcSignature(ts, key)) ? { master } : undefined;
  }
  const key = header(headers, 'x-lc-key');
  if (key === undefined) return undefined;
  if (key.endsWith(',master')) {
    const given = key.slice(0, -',master'.length);
    return keys.masterKey && constantTimeEqual(given, keys.masterKey) ? { master: true } : undefined;
  }
  return constantTimeEqual(key, keys.appKey) ? { master: false } : undefined;
}
