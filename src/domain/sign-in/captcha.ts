import { randomInt } from 'node:crypto';
import type svgCaptcha from 'svg-captcha';
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
 * The picture is drawn by svg-captcha, not a proof-of-work such as ALTCHA: the captcha is an image in
 * `POST /api/auth/captcha`'s answer, which the SDK and the hosted no-JavaScript sign-in form both show;
 * a proof-of-work needs client script and would change that API.
 * svg-captcha's main export draws a given text; its typings declare only `create()` (random text).
 */
type DrawCaptcha = (text: string, options: NonNullable<Parameters<typeof svgCaptcha.create>[0]>) => string;

/**
 * Draws `answer` as an SVG with svg-captcha: each character a filled path of its font's outline
 * (slightly jittered) in dark grey, among 5 grey noise curves, 200 × 60 px, on an opaque light
 * background (svg-captcha's own `background` option would switch to random, often pale, colours).
 * No `<text>`, no font reference, no answer in the markup.
 * @returns the SVG markup
 */
export async function renderCaptchaSvg(answer: string): Promise<string> {
  // Loaded at the first captcha, not at start: svg-captcha reads and parses its font when loaded (issue 22
  // item 1; `tessera start` imported its modules 50–70 ms sooner without it). Later imports are cached.
  const { default: draw } = await import('svg-captcha');
  const svg = (draw as unknown as DrawCaptcha)(answer, { width: 200, height: 60, fontSize: 60, noise: 5, color: false });
  return svg.replace('>', '><rect width="100%" height="100%" fill="#f4f4f0"/>');
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
 * Honest limits: an SVG captcha slows scripted guessing down (each attempt costs a fetch and a solve)
 * but is no match for a targeted solver (OCR, a model, a human farm, or, since svg-captcha's glyphs are
 * its font's outlines barely jittered, matching the paths against that font). The per-identifier
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

  /** Creates a captcha for a client (the answer from the injected {@link CaptchaAnswerSource}, drawn by {@link renderCaptchaSvg}). */
  async create(ip: string | null): Promise<IssuedCaptcha> {
    const answer = normalizeAnswer(this.answers());
    const image = await renderCaptchaSvg(answer);
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
