import { AppError } from '../../errors/index.js';
import { decodeValue, isForbiddenKey, isPlainObject } from './objects.js';

/** Platform names inside authData (the `_<platform>_unionid` entries are the server's own). */
const PLATFORM = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** One `authData.<platform>` entry, with its identity key worked out (shared/specs/leancloud.md §5). */
export interface AuthDataEntry {
  platform: string;
  /** The entry's stored data (typed values decoded and checked). */
  data: Record<string, unknown>;
  /** The identity key: see {@link authDataEntry}. */
  subject: string;
  /** UnionID fields (shared/specs/leancloud.md §5). */
  union?: { platform: string; id: string; main: boolean };
}

/** The provider name under which a UnionID is kept (`_weixin_unionid`). */
export function unionProvider(platform: string): string {
  return `_${platform}_unionid`;
}

/**
 * Works out the identity key of an `authData.<platform>` entry: `id` for `anonymous`, else `uid`, else
 * `openid`, else `id` (numbers are accepted as their decimal text). Used by the `/1.1` adapter for
 * request bodies and by the LeanCloud import for exported rows.
 * @throws AppError `object.invalid_key` (bad platform name), `identity.invalid` (no id, or not an object)
 */
export function authDataEntry(platform: string, value: unknown): AuthDataEntry {
  if (!PLATFORM.test(platform) || isForbiddenKey(platform)) throw new AppError('object.invalid_key', { message: `Invalid authData platform: ${platform.slice(0, 64)}` });
  if (!isPlainObject(value)) throw new AppError('identity.invalid', { message: `authData.${platform} must be an object.` });
  const data = decodeValue(value) as Record<string, unknown>;
  const raw = platform === 'anonymous' ? data.id : (data.uid ?? data.openid ?? data.id);
  const subject = typeof raw === 'number' && Number.isFinite(raw) ? String(raw) : raw;
  if (typeof subject !== 'string' || subject.length === 0 || subject.length > 512) throw new AppError('identity.invalid');
  const entry: AuthDataEntry = { platform, data, subject };
  if (typeof data.unionid === 'string' && data.unionid && typeof data.platform === 'string' && PLATFORM.test(data.platform)) {
    entry.union = { platform: data.platform, id: data.unionid, main: data.main_account === true || data.main_account === 'true' };
  }
  return entry;
}
