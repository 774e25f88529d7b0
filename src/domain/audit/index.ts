import type { Store } from '../../storage/store.js';
import type { LogRecord } from '../../storage/hook-store.js';
import type { Clock } from '../../util/clock.js';
import { newId } from '../../util/crypto.js';
import { activityContext } from '../events/context.js';

/**
 * The audit log (issue 20): one table every surface writes, read by the Management API's `/api/logs`.
 * Keys are Logto's log keys (logto-io/logto `packages/schemas/src/types/log/`): `Interaction.SignIn.Submit`,
 * `Interaction.Register.Submit`, `Interaction.ForgotPassword.Submit`, `ExchangeTokenBy.<grant>`,
 * `TriggerHook.<event>`; changes of records that Logto reports only as hook events are logged under the
 * event's name (`User.Created`, `User.Data.Updated`, …). A payload never holds a secret value (passwords,
 * codes, tokens): only who, what, when, from where and the error code.
 */

/** What {@link AuditLog.record} is told; the request's IP, user agent and client come from the activity context. */
export interface AuditEntry {
  key: string;
  result?: 'Success' | 'Error';
  userId?: string | null;
  /** Overrides the client of the activity context (e.g. the client of a token request). */
  applicationId?: string | null;
  hookId?: string | null;
  /** For `result: 'Error'`: the stable error code and its message. */
  error?: { code: string; message: string } | string;
  /** Further context (no secrets). */
  details?: Record<string, unknown>;
}

/** The log key of the flow an interaction event ends. */
export const INTERACTION_LOG_KEY: Record<string, string> = {
  PostSignIn: 'Interaction.SignIn.Submit',
  PostRegister: 'Interaction.Register.Submit',
  PostResetPassword: 'Interaction.ForgotPassword.Submit',
};

/** Writes and prunes the audit log. */
export class AuditLog {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  /**
   * Appends one entry (joins the ambient transaction when there is one): {@link prepare} then {@link append}.
   * @returns the stored entry
   */
  async record(entry: AuditEntry): Promise<LogRecord> {
    const record = this.prepare(entry);
    await this.append([record]);
    return record;
  }

  /**
   * Builds the stored form of an entry now (its id and time, and the IP, user agent and client of the
   * activity context), without writing it. The payload holds `key`, `result`, `userId`, `applicationId`,
   * `ip`, `userAgent`, `error` and `details`, Logto's `LogContextPayload` fields.
   */
  prepare(entry: AuditEntry): LogRecord {
    const context = activityContext();
    const now = this.clock.now();
    const result = entry.result ?? 'Success';
    const applicationId = entry.applicationId !== undefined ? entry.applicationId : context.applicationId;
    const payload: Record<string, unknown> = {
      ...entry.details,
      key: entry.key,
      result,
      ...(entry.userId ? { userId: entry.userId } : {}),
      ...(applicationId ? { applicationId } : {}),
      ...(entry.hookId ? { hookId: entry.hookId } : {}),
      ...(context.ip ? { ip: context.ip } : {}),
      ...(context.userAgent ? { userAgent: context.userAgent } : {}),
      ...(entry.error ? { error: entry.error } : {}),
    };
    const record: LogRecord = {
      id: newId(now),
      key: entry.key,
      result,
      // A delivery's user and application stay in the payload (see LogRecord): `/api/logs?userId=` lists
      // what the user did, and a hook's deliveries are read by hook.
      userId: entry.hookId ? null : (entry.userId ?? null),
      applicationId: entry.hookId ? null : (applicationId ?? null),
      hookId: entry.hookId ?? null,
      payload,
      createdAt: now,
    };
    return record;
  }

  /** Writes entries built by {@link prepare} together (joins the ambient transaction when there is one). */
  async append(records: readonly LogRecord[]): Promise<void> {
    await this.store.logs.insertMany(records);
  }

  /**
   * Deletes entries older than `retentionDays` days (0: keeps everything).
   * @returns how many were deleted
   */
  prune(retentionDays: number): Promise<number> {
    if (retentionDays <= 0) return Promise.resolve(0);
    return this.store.logs.deleteOlderThan(this.clock.now() - retentionDays * 86_400_000);
  }
}
