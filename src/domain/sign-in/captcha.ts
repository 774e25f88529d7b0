import { randomInt } from 'node:crypto';
import { AppError, isAppError } from '../../errors/index.js';
import type { SdkStore } from '../../storage/sdk-store.js';
import type { SignInGuardStore } from '../../storage/store.js';
import type { Clock } from '../../util/clock.js';
import { constantTimeEqual, newSecret, sha256Hex } from '../../util/crypto.js';

/** Characters a captcha answer is made of (no look-alikes such as 0/O, 1/I, 2/Z, 5/S, 8/B). */
export const CAPTCHA_ALPHABET = 'ACEFHKLMNPRTUVWXY3479';

/** Answer length of generated captchas. */
export const CAPTCHA_LENGTH = 5;

/** Lifetime of a captcha: 5 minutes, in milliseconds. */
export const CAPTCHA_TTL_MS = 5 * 60 * 1000;

/** Window in which failed sign-ins of one IP are counted: 15 minutes, in milliseconds. */
export const CAPTCHA_WINDOW_MS = 15 * 60 * 1000;

/** A failure count never reached (the per-IP counter only counts; it never locks). Fits PostgreSQL's `integer`. */
const NEVER_LOCK = 1_000_000_000;

/**
 * Sign-in attempts one IP may have in flight at once, beyond the failure threshold, before a captcha is
 * asked (see {@link CaptchaService.protect}): room for many honest users behind one address, and the
 * most a concurrent burst of wrong passwords can get checked without a captcha (threshold + 32).
 */
export const CAPTCHA_CONCURRENCY_ALLOWANCE = 32;

/** Source of captcha answers (tests inject a known sequence, like a ManualClock). */
export type CaptchaAnswerSource = () => string;

/** Production answers: {@link CAPTCHA_LENGTH} characters of {@link CAPTCHA_ALPHABET} from the CSPRNG. */
export const randomCaptchaAnswer: CaptchaAnswerSource = () =>
  Array.from({ length: CAPTCHA_LENGTH }, () => CAPTCHA_ALPHABET[randomInt(CAPTCHA_ALPHABET.length)]).join('');

/** A captcha as `POST /api/auth/captcha` returns it. */
export interface IssuedCaptcha {
  id: string;
  /** `data:image/svg+xml;base64,…` */
  image: string;
  /** ms since the epoch. */
  expiresAt: number;
}

/**
 * Stroke font of the alphabet on a 4 × 6 grid (x right, y down): each glyph is a list of polylines.
 * Drawn as paths, so the SVG holds no text and no answer.
 */
const GLYPHS: Record<string, number[][][]> = {
  A: [[[0, 6], [2, 0], [4, 6]], [[1, 3.5], [3, 3.5]]],
  C: [[[4, 1], [3, 0], [1, 0], [0, 1], [0, 5], [1, 6], [3, 6], [4, 5]]],
  E: [[[4, 0], [0, 0], [0, 6], [4, 6]], [[0, 3], [3, 3]]],
  F: [[[4, 0], [0, 0], [0, 6]], [[0, 3], [3, 3]]],
  H: [[[0, 0], [0, 6]], [[4, 0], [4, 6]], [[0, 3], [4, 3]]],
  K: [[[0, 0], [0, 6]], [[4, 0], [0, 4]], [[1.5, 2.5], [4, 6]]],
  L: [[[0, 0], [0, 6], [4, 6]]],
  M: [[[0, 6], [0, 0], [2, 3], [4, 0], [4, 6]]],
  N: [[[0, 6], [0, 0], [4, 6], [4, 0]]],
  P: [[[0, 6], [0, 0], [3, 0], [4, 1], [4, 2], [3, 3], [0, 3]]],
  R: [[[0, 6], [0, 0], [3, 0], [4, 1], [4, 2], [3, 3], [0, 3]], [[2, 3], [4, 6]]],
  T: [[[0, 0], [4, 0]], [[2, 0], [2, 6]]],
  U: [[[0, 0], [0, 5], [1, 6], [3, 6], [4, 5], [4, 0]]],
  V: [[[0, 0], [2, 6], [4, 0]]],
  W: [[[0, 0], [1, 6], [2, 3], [3, 6], [4, 0]]],
  X: [[[0, 0], [4, 6]], [[4, 0], [0, 6]]],
  Y: [[[0, 0], [2, 3], [4, 0]], [[2, 3], [2, 6]]],
  '3': [[[0, 0], [4, 0], [2, 2.5], [3, 2.5], [4, 3.5], [4, 5], [3, 6], [1, 6], [0, 5]]],
  '4': [[[3, 6], [3, 0], [0, 4], [4, 4]]],
  '7': [[[0, 0], [4, 0], [1.5, 6]]],
  '9': [[[4, 3], [1, 3], [0, 2], [0, 1], [1, 0], [3, 0], [4, 1], [4, 5], [3, 6], [1, 6]]],
};

/** A uniform random number in [min, max) from the CSPRNG (geometry jitter). */
function jitter(min: number, max: number): number {
  return min + (randomInt(1_000_000) / 1_000_000) * (max - min);
}

const fmt = (n: number) => n.toFixed(1);

/**
 * Draws `answer` as an SVG: every glyph's strokes with each point jittered, the glyph scaled, rotated
 * and shifted at random, plus noise curves in the same stroke style. No `<text>`, no answer in the markup.
 */
export function renderCaptchaSvg(answer: string): string {
  const width = 40 + answer.length * 32;
  const height = 60;
  const parts: string[] = [];
  [...answer].forEach((ch, i) => {
    const glyph = GLYPHS[ch];
    if (!glyph) throw new Error(`captcha: no glyph for ${JSON.stringify(ch)}`);
    const scale = jitter(4.5, 5.5);
    const angle = jitter(-0.35, 0.35);
    const cx = 24 + i * 32 + jitter(-3, 3);
    const cy = height / 2 + jitter(-5, 5);
    const cos = Math.cos(angle);
    const sin = Math.sin(angle);
    for (const line of glyph) {
      const points = line.map(([gx, gy]) => {
        const x = (gx! - 2 + jitter(-0.25, 0.25)) * scale;
        const y = (gy! - 3 + jitter(-0.25, 0.25)) * scale;
        return [cx + x * cos - y * sin, cy + x * sin + y * cos];
      });
      const d = points.map(([x, y], k) => `${k === 0 ? 'M' : 'L'}${fmt(x!)} ${fmt(y!)}`).join(' ');
      parts.push(`<path d="${d}" stroke="#223" stroke-width="${fmt(jitter(2, 3))}" fill="none" stroke-linecap="round" stroke-linejoin="round"/>`);
    }
  });
  for (let k = 0; k < 5; k++) {
    const d = `M${fmt(jitter(0, width / 3))} ${fmt(jitter(0, height))} Q${fmt(jitter(0, width))} ${fmt(jitter(0, height))} ${fmt(jitter((2 * width) / 3, width))} ${fmt(jitter(0, height))}`;
    parts.push(`<path d="${d}" stroke="#889" stroke-width="${fmt(jitter(1, 1.6))}" fill="none"/>`);
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}"><rect width="100%" height="100%" fill="#f4f4f0"/>${parts.join('')}</svg>`;
}

/** The form answers are compared in: upper case, without spaces. */
function normalizeAnswer(answer: string): string {
  return answer.replace(/\s+/g, '').toUpperCase();
}

function answerHash(id: string, answer: string): string {
  return sha256Hex(`${id}:${normalizeAnswer(answer)}`);
}

/**
 * Sign-in captcha after repeated failures per client IP (issue 6, seed 003: Authing answers code 2000
 * "captcha required" after several failed logins from one IP). After `threshold` failed password
 * sign-ins from one IP within 15 minutes, sign-in requires a solved captcha until that window ends (a
 * success does not clear the count: an attacker could otherwise reset it with an account of their
 * own). Captchas are SVG images (see {@link renderCaptchaSvg}), answers stored as SHA-256 keyed by the
 * captcha id, single use (any attempt, right or wrong, uses it up) and valid 5 minutes.
 *
 * Honest limits: a built-in SVG captcha slows scripted guessing down (each attempt costs a fetch and a
 * solve) but is no match for a targeted solver (OCR, a model, or a human farm). The per-identifier
 * lockout and the per-IP rate limit stay the real defences.
 */
export class CaptchaService {
  constructor(
    private readonly store: SdkStore,
    private readonly guards: SignInGuardStore,
    /** Failed sign-ins per IP in 15 minutes after which a captcha is required; 0 turns captchas off. */
    private readonly threshold: number,
    private readonly answers: CaptchaAnswerSource,
    private readonly clock: Clock,
  ) {}

  /** Creates a captcha for a client. @throws Error when the answer source returns characters without a glyph */
  async create(ip: string | null): Promise<IssuedCaptcha> {
    const answer = normalizeAnswer(this.answers());
    const image = renderCaptchaSvg(answer);
    const id = newSecret('cap_', 16);
    const now = this.clock.now();
    const expiresAt = now + CAPTCHA_TTL_MS;
    // Stored under the SHA-256 of its id, like every other handle (issue 15).
    await this.store.insertCaptcha({ id: sha256Hex(id), answerHash: answerHash(id, answer), ip, createdAt: now, expiresAt, consumedAt: null });
    return { id, image: `data:image/svg+xml;base64,${Buffer.from(image).toString('base64')}`, expiresAt };
  }

  /**
   * Uses up a captcha and checks its answer.
   * @throws AppError `auth.captcha_invalid` (401: unknown, expired, used, or wrong answer)
   */
  async solve(id: string, answer: string): Promise<void> {
    const key = sha256Hex(id);
    const record = await this.store.findCaptcha(key);
    const now = this.clock.now();
    if (!record || !(await this.store.consumeCaptcha(key, now))) throw new AppError('auth.captcha_invalid');
    if (!constantTimeEqual(answerHash(id, answer), record.answerHash)) throw new AppError('auth.captcha_invalid');
  }

  /**
   * Runs a password sign-in under the captcha rule, with two counters per IP, so that neither a burst
   * nor many honest sign-ins behind one address (a NAT, a carrier's CGNAT) are judged wrongly:
   * - **failures**: completed wrong passwords in the window; once `threshold` are reached every attempt
   *   needs a captcha;
   * - **in flight**: attempts started and not yet answered on this node, raised before `run` and lowered
   *   when it ends, whatever the outcome. An attempt is also refused without a captcha when
   *   failures + attempts in flight exceed `threshold` + {@link CAPTCHA_CONCURRENCY_ALLOWANCE}: a
   *   concurrent burst of wrong passwords gets at most that many checked (issue 15), while up to that
   *   many sign-ins from one address may be in flight at once (issue 16: counting in-flight successes
   *   as failures asked a captcha of the 6th concurrent honest user).
   * A given captcha is checked first and used up. Only `auth.invalid_credentials` counts as a failure.
   * @throws AppError `auth.captcha_required` (401), `auth.captcha_invalid` (401), and whatever `run` throws
   */
  async protect<T>(ip: string | null, captcha: { id: string; answer: string } | undefined, run: () => Promise<T>): Promise<T> {
    if (this.threshold <= 0) return run();
    if (captcha) await this.solve(captcha.id, captcha.answer);
    const failuresKey = this.key('failures', ip);
    const now = this.clock.now();
    const done = await this.guards.get(failuresKey);
    const shared = done && done.windowStartedAt > now - CAPTCHA_WINDOW_MS ? done.failures : 0;
    // Admission is decided in one synchronous step on this node's counters (failures seen here and
    // attempts in flight here), so a concurrent burst cannot slip between a read and a write: every
    // admitted attempt stays counted — in flight, then as a failure or gone on success — so at most
    // threshold + allowance wrong passwords are checked per node. The shared count (every node, and
    // what survives restarts) also refuses once it reaches the threshold.
    const local = this.local(failuresKey, this.clock.now());
    const failures = Math.max(shared, local.failures);
    if (!captcha && (failures >= this.threshold || local.failures + local.inFlight + 1 > this.threshold + CAPTCHA_CONCURRENCY_ALLOWANCE)) {
      throw new AppError('auth.captcha_required');
    }
    local.inFlight++;
    let failed = false;
    try {
      return await run();
    } catch (error) {
      failed = isAppError(error, 'auth.invalid_credentials');
      throw error;
    } finally {
      local.inFlight--;
      if (failed) {
        local.failures++;
        await this.guards.reserveAttempt(failuresKey, this.clock.now(), CAPTCHA_WINDOW_MS, NEVER_LOCK, 0);
      }
      if (local.inFlight === 0 && local.failures === 0) this.counters.delete(failuresKey);
    }
  }

  /** This node's counters of an IP key, the failures restarting with the window. */
  private local(key: string, now: number): { failures: number; inFlight: number; windowStartedAt: number } {
    // Bounded memory: past 10 000 addresses, forget those whose window is over and that are idle.
    if (this.counters.size > 10_000) {
      for (const [k, e] of this.counters) if (e.inFlight === 0 && e.windowStartedAt <= now - CAPTCHA_WINDOW_MS) this.counters.delete(k);
    }
    let entry = this.counters.get(key);
    if (!entry) {
      entry = { failures: 0, inFlight: 0, windowStartedAt: now };
      this.counters.set(key, entry);
    } else if (entry.windowStartedAt <= now - CAPTCHA_WINDOW_MS) {
      entry.failures = 0;
      entry.windowStartedAt = now;
    }
    return entry;
  }

  /** This node's failures and attempts in flight, by IP key (see {@link protect}). */
  private readonly counters = new Map<string, { failures: number; inFlight: number; windowStartedAt: number }>();

  private key(counter: 'failures', ip: string | null): string {
    return sha256Hex(`captcha_ip_${counter}:${ip ?? 'unknown'}`);
  }
}
