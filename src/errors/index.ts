import { ERROR_CODES, type ErrorCode, type ErrorData } from './codes.js';

export { ERROR_CODES, type ErrorCode, type ErrorData, type ErrorDataMap } from './codes.js';

/** Options of an {@link AppError} with code `C`. */
export interface AppErrorOptions<C extends ErrorCode = ErrorCode> {
  /** Overrides the table's default message (never include secrets). */
  message?: string;
  /**
   * Extra machine-readable payload returned as `data`, of the shape {@link ErrorDataMap} gives for `C`
   * (absent for a code the map does not list).
   */
  data?: ErrorData<C>;
  /** Seconds the caller should wait; becomes the `Retry-After` header (RFC 9110 §10.2.3). */
  retryAfterSeconds?: number;
  /** The underlying error, logged server-side only. */
  cause?: unknown;
}

/**
 * The one error type of the domain. Its HTTP status comes from the code table
 * ({@link ERROR_CODES}); each surface maps it to its own wire format (native `{code, message, data}`,
 * LeanCloud `{code:<int>, error}`, OAuth `{error, error_description}`).
 */
export class AppError<C extends ErrorCode = ErrorCode> extends Error {
  readonly code: C;
  readonly status: number;
  readonly data: ErrorData<C> | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(code: C, options: AppErrorOptions<NoInfer<C>> = {}) {
    const entry = ERROR_CODES[code];
    super(options.message ?? entry.message, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = entry.status;
    this.data = options.data;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** True when `error` is an {@link AppError} (optionally with the given code). */
export function isAppError(error: unknown, code?: ErrorCode): error is AppError {
  return error instanceof AppError && (code === undefined || error.code === code);
}
