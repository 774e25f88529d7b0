/**
 * A source of "now", injected everywhere time matters (expiry, lockout, sessions) so tests can move
 * time without fake timers. All values are **milliseconds since the Unix epoch**.
 */
export interface Clock {
  /** Current time in milliseconds since the Unix epoch. */
  now(): number;
}

/** The real wall clock (`Date.now()`). */
export const systemClock: Clock = { now: () => Date.now() };

/**
 * A clock that only moves when told to, for tests.
 * @example const clock = new ManualClock(); clock.advance(15 * 60_000);
 */
export class ManualClock implements Clock {
  constructor(private current = Date.UTC(2026, 0, 1)) {}
  now(): number {
    return this.current;
  }
  /** Moves the clock forward by `ms` milliseconds. */
  advance(ms: number): void {
    this.current += ms;
  }
  /** Sets the clock to `ms` milliseconds since the epoch. */
  set(ms: number): void {
    this.current = ms;
  }
}
