import { createCipheriv, createDecipheriv, createHash, randomBytes, randomInt } from 'node:crypto';
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { createGuardrails, generateSecret, generateURI, verify as verifyOtp } from 'otplib';
import type { Config } from '../../config/index.js';
import { AppError } from '../../errors/index.js';
import type { MfaFactorRecord, MfaPendingSignInRecord } from '../../storage/mfa-store.js';
import type { Store, UserRecord } from '../../storage/store.js';
import type { Clock } from '../../util/clock.js';
import { newId, newSecret, sha256Hex } from '../../util/crypto.js';
import type { RequestMeta, SecondFactorGate, SignedIn } from '../sign-in/types.js';
import type { SessionIssuer } from '../sessions/issuer.js';
import type { Limiter } from '../../util/rate-limit.js';
import type { PasswordHasher } from '../credentials/passwords.js';
import type { SignInGuard } from '../sign-in/lockout.js';

/**
 * @simplewebauthn/server, loaded at the first passkey operation: with its ASN.1 and X.509 dependencies it
 * is about 250 modules, a fifth of what the server would otherwise load at start-up (issue 22).
 */
const webauthn = () => import('@simplewebauthn/server');

/** How long a pending MFA sign-in lives, ms (5 minutes). */
export const PENDING_SIGN_IN_TTL_MS = 5 * 60_000;
/** Wrong second-factor attempts after which a pending sign-in is dead. */
export const PENDING_SIGN_IN_MAX_ATTEMPTS = 5;
/** Lifetime of a WebAuthn registration record (as Logto's verification records), ms. */
export const REGISTRATION_TTL_MS = 10 * 60_000;
/** Lifetime of a WebAuthn authentication challenge, ms. */
export const AUTHENTICATION_TTL_MS = 5 * 60_000;
/** Lifetime of a usernameless passkey sign-in challenge ({@link MfaService.passkeySignInOptions}), ms (5 minutes). */
export const PASSKEY_SIGN_IN_TTL_MS = 5 * 60_000;
/**
 * RFC 8176 `amr` of a passkey sign-in ({@link MfaService.signInWithPasskey}): `hwk` (proof of possession
 * of a key held by an authenticator, as the passkey second factor), `user` (the authenticator tested the
 * user: the UV flag is required) and `mfa` (a user-verified passkey is a multi-factor cryptographic
 * authenticator, NIST SP 800-63B-4), so no other factor is asked.
 */
export const PASSKEY_SIGN_IN_AMR: readonly string[] = Object.freeze(['hwk', 'user', 'mfa']);
/** RFC 6238 parameters: SHA-1, 6 digits, 30-second steps, ±1 step accepted. */
export const TOTP_PERIOD_SECONDS = 30;
/** Backup codes per set and their length (Logto: 10 codes of 10 characters of `0-9a-f`). */
export const BACKUP_CODE_COUNT = 10;
export const BACKUP_CODE_LENGTH = 10;
const BACKUP_CODE_ALPHABET = '0123456789abcdef';
/** Logto's backup-code format (kept for compatibility): 10 lower-case hex characters, 40 bits. */
const BACKUP_CODE = /^[0-9a-f]{10}$/;

/** Logto's base32 TOTP secrets: 16 to 32 characters (spec logto.md §1.5 route 17). */
const TOTP_SECRET = /^[A-Z2-7]{16,32}$/;
/** Accept secrets of 80 bits and up (a 16-character base32 secret), as Logto does. */
const TOTP_GUARDRAILS = createGuardrails({ MIN_SECRET_BYTES: 10 });

/** The factor names of the sign-in MFA step (`data.factors` of `auth.mfa_required`). */
export type SignInFactor = 'totp' | 'backup_code' | 'webauthn';

/**
 * A factor as a user or an administrator may see it: never a secret. Times in ms since the epoch. The
 * Logto surfaces render it with their own type names (`http/mfa-schemas.ts`).
 */
export interface MfaFactorSummary {
  id: string;
  kind: MfaFactorRecord['type'];
  createdAt: number;
  lastUsedAt: number | null;
  /** WebAuthn: the display name, when the user gave one. */
  name: string | null;
  /** WebAuthn: the User-Agent at enrolment. */
  agent: string | null;
  /** Backup codes: how many are unused (null for other kinds). */
  remainingCodes: number | null;
}

/** The proof sent to complete a pending sign-in. */
export type SecondFactorProof =
  | { type: 'totp'; code: string }
  | { type: 'backup_code'; code: string }
  | { type: 'webauthn'; response: AuthenticationResponseJSON };

/** A factor the sign-in MFA step accepts (every stored kind is one: TOTP, WebAuthn, backup codes). */
const isSecondFactor = (factor: Pick<MfaFactorRecord, 'type'>): boolean => factor.type in SIGN_IN_FACTOR;

const SIGN_IN_FACTOR: Record<MfaFactorRecord['type'], SignInFactor> = { totp: 'totp', backup_codes: 'backup_code', webauthn: 'webauthn' };
/** RFC 8176 `amr` values each factor adds (besides `mfa`): TOTP `otp`, WebAuthn `hwk`, a backup code only `mfa`. */
const FACTOR_AMR: Record<SecondFactorProof['type'], string[]> = { totp: ['otp', 'mfa'], backup_code: ['mfa'], webauthn: ['hwk', 'mfa'] };

const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
/**
 * The WebAuthn user handle of a user (`user.id` of the creation options, returned as `userHandle` by a
 * discoverable credential): the UTF-8 bytes of the user id.
 */
const webAuthnUserId = (userId: string): Uint8Array<ArrayBuffer> => new Uint8Array(Buffer.from(userId, 'utf8'));

/**
 * The one "has a second factor" rule (issue 16), a store query shared by the MFA step, the forced
 * reset, social sign-in and the security level (which are built before the MFA service).
 */
export class SecondFactors {
  constructor(private readonly store: Store) {}

  /**
   * The user enrolled a factor the sign-in MFA step accepts — TOTP, a passkey, or backup codes (which
   * may outlive the factor they backed up). Such a user's sign-in always passes the MFA step
   * ({@link MfaService.check}); the forced-reset token and linking a social identity by email wait for
   * it. One query.
   */
  async hasSecondFactor(userId: string): Promise<boolean> {
    return (await this.store.mfa.listFactors(userId)).some(isSecondFactor);
  }

  /**
   * Whether the user has an authenticator besides backup codes (TOTP or passkey): Authing's "MFA bound"
   * of the security level, where a list of codes alone does not count.
   */
  async hasAuthenticator(userId: string): Promise<boolean> {
    return (await this.store.mfa.listFactors(userId)).some((f) => isSecondFactor(f) && f.type !== 'backup_codes');
  }
}

/**
 * Multi-factor authentication (issue 7 §4): TOTP (RFC 6238 with otplib), backup codes and WebAuthn
 * passkeys (@simplewebauthn/server, W3C WebAuthn Level 2), their enrolment and removal (Account API,
 * Logto's routes, spec logto.md §1.5/§2.2), the admin view (Management API) and the sign-in step.
 *
 * Sign-in: {@link AuthService.finishSignIn} asks this service ({@link check}) whether the user needs a
 * second factor. If so a pending sign-in is stored (its id is a 256-bit secret kept only as SHA-256,
 * 5 minutes, single use, at most 5 verifications) and `auth.mfa_required` is thrown; the client
 * completes it with {@link completeSignIn}. Every verification is paid for BEFORE the factor is checked
 * (so parallel guesses cannot race past the limits): one attempt of the pending sign-in is reserved by
 * a conditional update, one failure is counted on the user's time-boxed MFA lockout ({@link SignInGuard},
 * key `mfa:<userId>`) and one on the user's consecutive-failure counter (hard cap
 * `mfa.maxConsecutiveFailures`, default 100, NIST SP 800-63B-4 §3.2.2; beyond it `auth.mfa_locked` until
 * an admin removes a factor). A correct factor clears both counters. With the per-IP sign-in rate limit
 * this stops TOTP and backup-code brute force (ASVS 6.6.3).
 *
 * Passkey sign-in (issue 14 §2): a user-verified passkey is also accepted as the first and only factor,
 * with no identifier typed ({@link passkeySignInOptions}, {@link signInWithPasskey}); it shares the
 * assertion rule of the passkey second factor ({@link verifyAssertion}) and never asks for another factor.
 *
 * Secrets: TOTP secrets are shown once (generation) and never returned afterwards; backup codes are
 * stored as argon2id hashes through {@link PasswordHasher} (ASVS 6.5.2: 40-bit look-up secrets need an
 * approved password hash) and single use (ASVS 6.5.1); a TOTP code is accepted only by an update
 * raising the factor's last accepted time step, so it cannot be replayed.
 */
export class MfaService implements SecondFactorGate {
  private readonly rpId: string;
  private readonly origin: string;
  /** AES-256-GCM key for TOTP secrets at rest (`mfa.secretKey`), or null. */
  private readonly secretKey: Buffer | null;

  constructor(
    private readonly store: Store,
    /** Issues the session once every factor is proven (no dependency on AuthService: it asks this service). */
    private readonly issuer: SessionIssuer,
    /** The per-IP sign-in budget (`rateLimit.signInPerMinute`), spent by every second-factor attempt. */
    private readonly signInLimiter: Limiter,
    private readonly factors: SecondFactors,
    private readonly guard: SignInGuard,
    private readonly config: Config,
    private readonly clock: Clock,
    /** argon2id for backup codes (bounded concurrency). */
    private readonly hasher: PasswordHasher,
    /**
     * Other origins whose pages may use this server's passkeys (the account center's
     * `webauthnRelatedOrigins`, WebAuthn Level 3 §5.11 related origins); checked with the public URL's
     * origin on every registration and assertion.
     */
    private readonly relatedOrigins: () => Promise<readonly string[]> = async () => [],
    /**
     * Whether the user asks not to be asked for a second factor at sign-in (their `skipMfaOnSignIn`
     * preference); honoured only when `mfa.allowUserSkip` is on and the policy is `optional`.
     */
    private readonly asksToSkipMfa: (userId: string) => Promise<boolean> = async () => false,
  ) {
    const url = new URL(config.publicUrl);
    this.rpId = url.hostname;
    this.origin = url.origin;
    this.secretKey = config.mfa.secretKey ? createHash('sha256').update(config.mfa.secretKey, 'utf8').digest() : null;
  }

  // ---------------------------------------------------------------- sign-in

  /** The one "has a second factor" rule ({@link SecondFactors.hasSecondFactor}). */
  hasSecondFactor(userId: string): Promise<boolean> {
    return this.factors.hasSecondFactor(userId);
  }

  /**
   * The {@link SecondFactorGate} of {@link AuthService.finishSignIn}: returns when the user has no
   * factor and the policy is `optional`, or — only when the operator allows it (`mfa.allowUserSkip`,
   * policy `optional`) — when the user asked to skip the second factor at sign-in.
   * @throws AppError `auth.mfa_required` (`data: {pendingSignInId, factors}`: the sign-in factors the
   *   user enrolled) or, under policy `required` for a user without factor,
   *   `auth.mfa_enrollment_required` (`data: {pendingSignInId, factors: ['totp']}`; complete with
   *   {@link enrollTotpAndSignIn})
   */
  async check(user: UserRecord, _meta: RequestMeta, amr: string[]): Promise<void> {
    const factors = await this.store.mfa.listFactors(user.id);
    if (!factors.some(isSecondFactor)) {
      if (this.config.mfa.policy !== 'required') return;
      const pendingSignInId = await this.createPending(user.id, 'enroll', amr);
      throw new AppError('auth.mfa_enrollment_required', { data: { pendingSignInId, factors: ['totp'] } });
    }
    if (this.config.mfa.allowUserSkip && this.config.mfa.policy === 'optional' && (await this.asksToSkipMfa(user.id))) return;
    const pendingSignInId = await this.createPending(user.id, 'verify', amr);
    const enrolled = new Set(factors.map((f) => SIGN_IN_FACTOR[f.type]));
    const kinds = (['totp', 'webauthn', 'backup_code'] as const).filter((k) => enrolled.has(k));
    throw new AppError('auth.mfa_required', { data: { pendingSignInId, factors: kinds } });
  }

  /**
   * Completes a pending sign-in with a second factor and issues the session (`amr` = the first
   * factor's plus `otp`+`mfa` for TOTP, `mfa` for a backup code, `hwk`+`mfa` for WebAuthn; RFC 8176).
   * @throws AppError `request.rate_limited`, `auth.mfa_sign_in_expired` (unknown, expired, used or dead
   *   pending sign-in), `auth.too_many_failures` (429, time-boxed MFA lockout of the user),
   *   `auth.mfa_locked` (423, `mfa.maxConsecutiveFailures` consecutive wrong factors), `auth.user_suspended`,
   *   `session.mfa.invalid_totp_code`, `session.mfa.invalid_backup_code`,
   *   `session.mfa.webauthn_verification_failed`
   */
  async completeSignIn(pendingSignInId: string, proof: SecondFactorProof, meta: RequestMeta): Promise<SignedIn> {
    const { user, amr } = await this.verifySignIn(pendingSignInId, proof, meta);
    return this.issuer.issueSignedIn(user, meta, amr);
  }

  /**
   * Checks the second factor of a pending sign-in and consumes it, without issuing a session (the OIDC
   * sign-in page hands the result to the provider instead). Same rules and errors as
   * {@link completeSignIn}. @returns the user and the combined RFC 8176 `amr`
   */
  async verifySignIn(pendingSignInId: string, proof: SecondFactorProof, meta: RequestMeta): Promise<{ user: UserRecord; amr: string[] }> {
    await this.signInLimiter.consume(meta.ip ?? 'unknown');
    const { pending, idHash, user } = await this.livePending(pendingSignInId, 'verify');
    const key = await this.reserveAttempt(idHash, user.id, true);
    // A wrong factor throws here; its failure is already counted.
    if (proof.type === 'totp') await this.checkTotp(user.id, proof.code);
    else if (proof.type === 'backup_code') await this.checkBackupCode(user.id, proof.code);
    else await this.checkWebAuthn(user.id, idHash, proof.response);
    if (!(await this.store.mfa.consumePending(idHash, this.clock.now()))) throw new AppError('auth.mfa_sign_in_expired');
    await this.succeeded(user.id, key);
    return { user, amr: [...new Set([...pending.amr, ...FACTOR_AMR[proof.type]])] };
  }

  /**
   * The sign-in factors (`totp`, `webauthn`, `backup_code`, in that order) the user of a live pending
   * sign-in can answer with, for the OIDC page's MFA step to show only what applies (two queries; only
   * called when that page is rendered). @returns `[]` when the pending sign-in is unknown, expired, used
   * or its user is suspended (never throws an AppError).
   */
  async pendingSignInFactors(pendingSignInId: string): Promise<SignInFactor[]> {
    let userId: string;
    try {
      userId = (await this.livePending(pendingSignInId, 'verify')).user.id;
    } catch (error) {
      if (error instanceof AppError) return [];
      throw error;
    }
    const enrolled = new Set((await this.store.mfa.listFactors(userId)).map((f) => SIGN_IN_FACTOR[f.type]));
    return (['totp', 'webauthn', 'backup_code'] as const).filter((k) => enrolled.has(k));
  }

  /**
   * `POST /api/auth/sign-in/mfa/webauthn-options`: WebAuthn authentication options
   * (PublicKeyCredentialRequestOptionsJSON) for the user's passkeys; the challenge is stored
   * server-side for 5 minutes, single use, and a new call replaces the previous one.
   * @throws AppError `auth.mfa_sign_in_expired`, `session.mfa.webauthn_verification_failed` (no passkey)
   */
  async webAuthnSignInOptions(pendingSignInId: string): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const { idHash, user } = await this.livePending(pendingSignInId, 'verify');
    const passkeys = (await this.store.mfa.listFactors(user.id)).filter((f) => f.type === 'webauthn');
    if (passkeys.length === 0) throw new AppError('session.mfa.webauthn_verification_failed', { message: 'No passkey is registered.' });
    const { generateAuthenticationOptions } = await webauthn();
    const options = await generateAuthenticationOptions({
      rpID: this.rpId,
      allowCredentials: passkeys.map((f) => ({ id: f.credentialId!, ...(f.transports ? { transports: f.transports } : {}) })),
      userVerification: 'preferred',
    });
    const now = this.clock.now();
    await this.store.mfa.deleteChallenge(idHash);
    await this.store.mfa.insertChallenge({
      id: idHash, userId: user.id, kind: 'authentication', challenge: options.challenge, pendingIdHash: idHash,
      result: null, createdAt: now, expiresAt: now + AUTHENTICATION_TTL_MS, verifiedAt: null, consumedAt: null,
    });
    return options;
  }

  // ---------------------------------------------------------------- passkey sign-in (first and only factor)

  /**
   * Starts a usernameless passkey sign-in (issue 14 §2): WebAuthn request options
   * (PublicKeyCredentialRequestOptionsJSON) with rpID = the public URL's host, user verification
   * `required` and NO `allowCredentials`, so the browser offers the discoverable credentials (passkeys)
   * it holds for this site and nobody types an identifier (nothing to enumerate). The challenge is
   * stored server-side under the SHA-256 of `challengeId` (a 256-bit bearer secret, `pkc_` + base64url,
   * never stored), for {@link PASSKEY_SIGN_IN_TTL_MS} (5 minutes), single use. Anyone may call this:
   * the route should be rate-limited per IP; expired challenges go with {@link purgeExpired}.
   * @returns `challengeId` (give it back to {@link signInWithPasskey}) and the options for
   *   `navigator.credentials.get()` / `startAuthentication()`
   */
  async passkeySignInOptions(): Promise<{ challengeId: string; options: PublicKeyCredentialRequestOptionsJSON }> {
    const { generateAuthenticationOptions } = await webauthn();
    const options = await generateAuthenticationOptions({ rpID: this.rpId, userVerification: 'required' });
    const challengeId = newSecret('pkc_');
    const now = this.clock.now();
    await this.store.mfa.insertPasskeyChallenge({
      idHash: sha256Hex(challengeId), challenge: options.challenge, createdAt: now, expiresAt: now + PASSKEY_SIGN_IN_TTL_MS, consumedAt: null,
    });
    return { challengeId, options };
  }

  /**
   * Signs in with a passkey as the first and only factor (issue 14 §2), without issuing a session: the
   * caller completes the sign-in (the OIDC page: `AuthService.completeWithoutSession(user, amr)`, which
   * sets `lastSignInAt` and emits `PostSignIn`, logged as `Interaction.SignIn.Submit`). In order:
   * 1. one unit of the per-IP sign-in budget (`rateLimit.signInPerMinute`, as every password attempt);
   * 2. the challenge of `challengeId` is consumed (one conditional update: single use, unexpired);
   * 3. the passkey is found by its credential id (`response.id`, unique index, any user) and the
   *    assertion's `userHandle` must be its user's WebAuthn user id (WebAuthn L2 §7.2 step 6 for an
   *    empty allowCredentials);
   * 4. the assertion is verified by the one rule of second-factor passkeys ({@link verifyAssertion}) with
   *    user verification REQUIRED (UV flag), and the counter stored compare-and-set;
   * 5. a suspended user is refused — only after the proof, as a right password is.
   * No per-user lockout: an assertion cannot be guessed, and counting failures on a user found by a
   * credential id would let anyone holding the id lock its owner out.
   * The MFA gate is NOT asked: a user-verified passkey is a multi-factor cryptographic authenticator
   * (NIST SP 800-63B-4; AAL2 on its own), so `amr` is {@link PASSKEY_SIGN_IN_AMR}.
   * @param challengeId from {@link passkeySignInOptions}
   * @param response the browser's AuthenticationResponseJSON (`startAuthentication()`)
   * @returns the user and `amr` = `["hwk", "user", "mfa"]` (RFC 8176: proof of possession of a
   *   hardware-secured key, a user test, multiple factors)
   * @throws AppError `request.rate_limited` (429), `session.mfa.webauthn_verification_failed` (400; the
   *   same code and message for an unknown, used or expired challenge, an unknown credential, a bad
   *   signature, origin or rpID, a missing UV flag, a counter that does not grow — nothing tells whether
   *   the credential exists), `auth.user_suspended` (403, after a valid assertion)
   */
  async signInWithPasskey(challengeId: string, response: AuthenticationResponseJSON, meta: RequestMeta): Promise<{ user: UserRecord; amr: string[] }> {
    await this.signInLimiter.consume(meta.ip ?? 'unknown');
    const failed = () => new AppError('session.mfa.webauthn_verification_failed');
    const challenge = typeof challengeId === 'string' && challengeId.length > 0 && challengeId.length <= 256
      ? await this.store.mfa.consumePasskeyChallenge(sha256Hex(challengeId), this.clock.now())
      : undefined;
    if (!challenge) throw failed();
    const credentialId = typeof response?.id === 'string' && response.id.length <= 1024 ? response.id : '';
    const factor = credentialId ? await this.store.mfa.findByCredentialId(credentialId) : undefined;
    const userHandle = response?.response?.userHandle;
    if (!factor || factor.type !== 'webauthn' || typeof userHandle !== 'string' || !Buffer.from(userHandle, 'base64url').equals(webAuthnUserId(factor.userId))) {
      throw failed();
    }
    await this.verifyAssertion(factor, challenge, response, true);
    const user = await this.store.users.findById(factor.userId);
    if (!user) throw failed();
    if (user.isSuspended) throw new AppError('auth.user_suspended');
    return { user, amr: [...PASSKEY_SIGN_IN_AMR] };
  }

  /**
   * `POST /api/auth/sign-in/mfa/totp-secret` under policy `required`: a new TOTP secret for a user who
   * must enrol before signing in (nothing is stored; the client sends it back with a code).
   * @throws AppError `auth.mfa_sign_in_expired`
   */
  async enrollmentTotpSecret(pendingSignInId: string): Promise<{ secret: string; secretQrCode: string }> {
    const { user } = await this.livePending(pendingSignInId, 'enroll');
    return this.generateTotpSecret(user);
  }

  /**
   * The otpauth:// URI (Key Uri Format, as {@link generateTotpSecret}) of a secret already shown for a
   * live `enroll` pending sign-in: the OIDC sign-in page's enrolment step shows it again after a wrong
   * code. Stores nothing; the caller must have checked that the secret was issued for this pending
   * sign-in (src/oidc/routes.ts binds it with an HMAC).
   * @throws AppError `auth.mfa_sign_in_expired`, `auth.user_suspended`, `user.totp_secret_invalid`
   */
  async enrollmentTotpUri(pendingSignInId: string, secret: string): Promise<string> {
    const { user } = await this.livePending(pendingSignInId, 'enroll');
    const normalized = this.normalizeSecret(secret);
    const label = user.username ?? user.primaryEmail ?? user.primaryPhone ?? user.id;
    return generateURI({ issuer: this.config.mfa.issuer, label, secret: normalized, period: TOTP_PERIOD_SECONDS });
  }

  /**
   * Completes an `auth.mfa_enrollment_required` sign-in: enrols the TOTP `secret` (the `code` must
   * match it) and issues the session (`amr` gains `otp`, `mfa`).
   * @throws AppError `request.rate_limited`, `auth.mfa_sign_in_expired`, `auth.too_many_failures`,
   *   `user.totp_secret_invalid`, `session.mfa.invalid_totp_code`, `user.totp_already_in_use`
   */
  async enrollTotpAndSignIn(pendingSignInId: string, secret: string, code: string, meta: RequestMeta): Promise<SignedIn> {
    await this.signInLimiter.consume(meta.ip ?? 'unknown');
    const { pending, idHash, user } = await this.livePending(pendingSignInId, 'enroll');
    const normalized = this.normalizeSecret(secret);
    // The client chose the secret, so a wrong code guesses nothing: no consecutive-failure cap here
    // (it could not be reset either, the user has no factor to remove); attempts and lockout still count.
    const key = await this.reserveAttempt(idHash, user.id, false);
    const step = await this.matchTotp(normalized, code);
    if (step === null) throw new AppError('session.mfa.invalid_totp_code');
    if (!(await this.store.mfa.consumePending(idHash, this.clock.now()))) throw new AppError('auth.mfa_sign_in_expired');
    await this.insertTotp(user.id, normalized, step);
    await this.succeeded(user.id, key);
    return this.issuer.issueSignedIn(user, meta, [...new Set([...pending.amr, 'otp', 'mfa'])]);
  }

  /** The origins a WebAuthn response may come from: the public URL's, then the related ones. */
  private async expectedOrigins(): Promise<string[]> {
    return [this.origin, ...(await this.relatedOrigins()).filter((o) => o !== this.origin)];
  }

  // ---------------------------------------------------------------- factors (Account / Management API)

  /** The user's factors (Logto route 16 shows them): no secret; backup codes with how many are unused. */
  async listFactors(userId: string): Promise<MfaFactorSummary[]> {
    const factors = await this.store.mfa.listFactors(userId);
    const out: MfaFactorSummary[] = [];
    for (const f of factors) {
      const webauthn = f.type === 'webauthn';
      out.push({
        id: f.id,
        kind: f.type,
        createdAt: f.createdAt,
        lastUsedAt: f.lastUsedAt,
        name: webauthn ? f.name : null,
        agent: webauthn ? f.agent : null,
        remainingCodes: f.type === 'backup_codes' ? (await this.store.mfa.listBackupCodes(f.id)).filter((c) => c.usedAt === null).length : null,
      });
    }
    return out;
  }

  /**
   * A new TOTP secret (20 random bytes, base32: 32 characters, RFC 4226 §4 R6) and its otpauth:// URI
   * for a QR code (Key Uri Format; issuer = `mfa.issuer`). Nothing is stored (Logto route 19).
   */
  generateTotpSecret(user: UserRecord): { secret: string; secretQrCode: string } {
    const secret = generateSecret({ length: 20 });
    const label = user.username ?? user.primaryEmail ?? user.primaryPhone ?? user.id;
    return { secret, secretQrCode: generateURI({ issuer: this.config.mfa.issuer, label, secret, period: TOTP_PERIOD_SECONDS }) };
  }

  /**
   * Enrols a TOTP authenticator (Logto route 17 `{type:'Totp', secret, code?}`). When `code` is given it
   * must match the secret (±1 step) and its step counts as used.
   * @throws AppError `user.totp_already_in_use` (422), `user.totp_secret_invalid` (400),
   *   `session.mfa.invalid_totp_code` (400)
   */
  async addTotp(userId: string, secret: string, code?: string): Promise<void> {
    const normalized = this.normalizeSecret(secret);
    const factors = await this.store.mfa.listFactors(userId);
    if (factors.some((f) => f.type === 'totp')) throw new AppError('user.totp_already_in_use');
    let step: number | null = null;
    if (code !== undefined) {
      step = await this.matchTotp(normalized, code);
      if (step === null) throw new AppError('session.mfa.invalid_totp_code');
    }
    await this.insertTotp(userId, normalized, step);
  }

  /**
   * Replaces the user's TOTP authenticator by a new one, or enrols it when there is none (Logto route 18,
   * `PUT /my-account/mfa-verifications/totp {secret, code}`). The code is mandatory: it must match the
   * new secret (±1 step) and its step counts as used. One statement overwrites the old factor (the
   * new one gets a new id), so concurrent replacements leave exactly one TOTP factor: the last one.
   * @throws AppError `user.totp_secret_invalid` (400), `session.mfa.invalid_totp_code` (400)
   */
  async replaceTotp(userId: string, secret: string, code: string): Promise<void> {
    const normalized = this.normalizeSecret(secret);
    const step = await this.matchTotp(normalized, code);
    if (step === null) throw new AppError('session.mfa.invalid_totp_code');
    const now = this.clock.now();
    await this.store.mfa.replaceTotp({ ...this.newFactor(userId, 'totp', now), secret: this.sealSecret(normalized), lastTotpStep: step, lastUsedAt: now });
  }

  /**
   * Renames one of the user's WebAuthn factors (Logto route 22, `PATCH
   * /my-account/mfa-verifications/:verificationId/name`). `name` is 1–256 characters (the route checks).
   * @throws AppError `verification_record.not_found` (400) when the user has no WebAuthn factor `id`
   *   (another user's factor, or a TOTP / backup-code factor, is not found either)
   */
  async renameWebAuthn(userId: string, id: string, name: string): Promise<void> {
    if (!(await this.store.mfa.renameWebAuthn(userId, id, name))) throw new AppError('verification_record.not_found');
  }

  /** Ten new backup codes of 10 characters from `0-9a-f` (40 bits each, CSPRNG). Nothing is stored (Logto route 20). */
  generateBackupCodes(): string[] {
    const codes = new Set<string>();
    while (codes.size < BACKUP_CODE_COUNT) {
      let code = '';
      for (let i = 0; i < BACKUP_CODE_LENGTH; i++) code += BACKUP_CODE_ALPHABET[randomInt(BACKUP_CODE_ALPHABET.length)];
      codes.add(code);
    }
    return [...codes];
  }

  /**
   * Stores a backup-code set (Logto route 17 `{type:'BackupCode', codes}`): exactly 10 distinct codes
   * matching `^[0-9a-f]{10}$` (case-insensitive), each stored only as an argon2id hash
   * ({@link PasswordHasher}, ASVS 6.5.2). A used-up set is replaced; a set with unused codes must be
   * deleted first.
   * @throws AppError `user.wrong_backup_code_format` (422), `user.backup_code_already_in_use` (422),
   *   `session.mfa.backup_code_can_not_be_alone` (422: no TOTP or passkey yet)
   */
  async addBackupCodes(userId: string, codes: string[]): Promise<void> {
    const normalized = codes.map((c) => c.trim().toLowerCase());
    if (normalized.length !== BACKUP_CODE_COUNT || new Set(normalized).size !== BACKUP_CODE_COUNT || !normalized.every((c) => BACKUP_CODE.test(c))) {
      throw new AppError('user.wrong_backup_code_format');
    }
    const factors = await this.store.mfa.listFactors(userId);
    for (const f of factors.filter((x) => x.type === 'backup_codes')) {
      if ((await this.store.mfa.listBackupCodes(f.id)).some((c) => c.usedAt === null)) throw new AppError('user.backup_code_already_in_use');
    }
    if (!factors.some((f) => f.type !== 'backup_codes')) throw new AppError('session.mfa.backup_code_can_not_be_alone');
    const now = this.clock.now();
    const factor = this.newFactor(userId, 'backup_codes', now);
    // Hashed one after another: ten argon2id hashes must not take every hashing slot from sign-ins.
    const hashes: string[] = [];
    for (const c of normalized) hashes.push(await this.hasher.hash(c));
    await this.store.mfa.replaceBackupCodes(factor, hashes);
  }

  /**
   * The state of the user's backup codes (Logto route 21): one entry per code with `usedAt` (ms since
   * the epoch, or null), and how many are unused. The codes themselves are stored hashed and cannot be shown again (divergence from Logto,
   * which returns them).
   * @throws AppError `entity.not_found` (404) when the user has no backup codes
   */
  async backupCodeStatus(userId: string): Promise<{ codes: Array<{ usedAt: number | null }>; remaining: number }> {
    const factor = (await this.store.mfa.listFactors(userId)).find((f) => f.type === 'backup_codes');
    if (!factor) throw new AppError('entity.not_found', { message: 'No backup codes.' });
    const codes = await this.store.mfa.listBackupCodes(factor.id);
    return {
      codes: codes.map((c) => ({ usedAt: c.usedAt })),
      remaining: codes.filter((c) => c.usedAt === null).length,
    };
  }

  /**
   * Starts a WebAuthn registration (Verification API `POST /verifications/web-authn/registration`):
   * creation options for rpID = the public URL's host, attestation `none`, the user's passkeys
   * excluded. The challenge is stored server-side as a registration record (10 minutes, single use).
   * @returns the record's id, the creation options, and when the record expires (ms since the epoch)
   */
  async startRegistration(user: UserRecord): Promise<{ recordId: string; registrationOptions: PublicKeyCredentialCreationOptionsJSON; expiresAt: number }> {
    const passkeys = (await this.store.mfa.listFactors(user.id)).filter((f) => f.type === 'webauthn');
    const { generateRegistrationOptions } = await webauthn();
    const registrationOptions = await generateRegistrationOptions({
      rpName: this.config.mfa.issuer,
      rpID: this.rpId,
      userName: user.username ?? user.primaryEmail ?? user.primaryPhone ?? user.id,
      userID: webAuthnUserId(user.id),
      attestationType: 'none',
      excludeCredentials: passkeys.map((f) => ({ id: f.credentialId!, ...(f.transports ? { transports: f.transports } : {}) })),
      authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
    });
    const now = this.clock.now();
    const id = newId(now);
    await this.store.mfa.insertChallenge({
      id, userId: user.id, kind: 'registration', challenge: registrationOptions.challenge, pendingIdHash: null,
      result: null, createdAt: now, expiresAt: now + REGISTRATION_TTL_MS, verifiedAt: null, consumedAt: null,
    });
    return { recordId: id, registrationOptions, expiresAt: now + REGISTRATION_TTL_MS };
  }

  /**
   * Verifies the attestation of a registration record (`POST /verifications/web-authn/registration/verify`)
   * against the stored challenge, the public origin and rpID, and marks the record verified.
   * @throws AppError `verification_record.not_found` (not the caller's, expired, used or already
   *   verified), `session.mfa.webauthn_verification_failed`
   */
  async verifyRegistration(user: UserRecord, recordId: string, payload: RegistrationResponseJSON): Promise<{ verificationRecordId: string }> {
    const record = await this.store.mfa.findChallenge(recordId);
    const now = this.clock.now();
    if (!record || record.kind !== 'registration' || record.userId !== user.id || record.expiresAt <= now || record.consumedAt !== null || record.verifiedAt !== null) {
      throw new AppError('verification_record.not_found');
    }
    const { verifyRegistrationResponse } = await webauthn();
    let verified;
    try {
      verified = await verifyRegistrationResponse({
        response: payload,
        expectedChallenge: record.challenge,
        expectedOrigin: await this.expectedOrigins(),
        expectedRPID: this.rpId,
        requireUserVerification: false,
      });
    } catch (error) {
      throw new AppError('session.mfa.webauthn_verification_failed', { cause: error });
    }
    if (!verified.verified) throw new AppError('session.mfa.webauthn_verification_failed');
    const { credential } = verified.registrationInfo;
    const result = JSON.stringify({
      credentialId: credential.id,
      publicKey: b64url(credential.publicKey),
      counter: credential.counter,
      transports: credential.transports ?? payload.response.transports ?? [],
    });
    if (!(await this.store.mfa.markChallengeVerified(record.id, result, now))) throw new AppError('verification_record.not_found');
    return { verificationRecordId: record.id };
  }

  /**
   * Binds the passkey of a verified registration record (Logto route 17 `{type:'WebAuthn',
   * newIdentifierVerificationRecordId, name?}`); the record is consumed.
   * @param agent the User-Agent of the enrolling client (shown in the factor list)
   * @throws AppError `verification_record.not_found`, `session.mfa.webauthn_verification_failed`
   *   (the credential is already registered)
   */
  async addWebAuthn(userId: string, recordId: string, name: string | undefined, agent: string | null): Promise<void> {
    const record = await this.store.mfa.findChallenge(recordId);
    const now = this.clock.now();
    if (!record || record.kind !== 'registration' || record.userId !== userId || record.expiresAt <= now || record.verifiedAt === null || record.consumedAt !== null || !record.result) {
      throw new AppError('verification_record.not_found');
    }
    const cred = JSON.parse(record.result) as { credentialId: string; publicKey: string; counter: number; transports: string[] };
    if (await this.store.mfa.findByCredentialId(cred.credentialId)) throw new AppError('session.mfa.webauthn_verification_failed', { message: 'This passkey is already registered.' });
    if (!(await this.store.mfa.consumeChallenge(record.id, now))) throw new AppError('verification_record.not_found');
    const inserted = await this.store.mfa.insertFactor({
      ...this.newFactor(userId, 'webauthn', now),
      name: name ?? null,
      credentialId: cred.credentialId,
      publicKey: cred.publicKey,
      counter: cred.counter,
      transports: cred.transports,
      agent: agent ? agent.slice(0, 512) : null,
    });
    if (!inserted) throw new AppError('session.mfa.webauthn_verification_failed', { message: 'This passkey is already registered.' });
  }

  /** The factor `id` of the user, or undefined (another user's factor is not found). */
  async findFactor(userId: string, id: string): Promise<MfaFactorSummary | undefined> {
    return (await this.listFactors(userId)).find((f) => f.id === id);
  }

  /**
   * Removes a factor of the user (Account route 23; Management API reset). A removal also forgets the
   * user's consecutive second-factor failures, so it is the admin reset of `auth.mfa_locked` (the
   * Account API route needs a signed-in session, which a locked user cannot get).
   * @returns false when the user has no factor with this id
   */
  async deleteFactor(userId: string, id: string): Promise<boolean> {
    if (!(await this.store.mfa.deleteFactor(userId, id))) return false;
    await this.store.mfa.clearFailures(userId);
    return true;
  }

  /** Deletes expired pending sign-ins and WebAuthn challenges. @returns how many */
  purgeExpired(): Promise<number> {
    return this.store.mfa.deleteExpired(this.clock.now());
  }

  // ---------------------------------------------------------------- internals

  private async createPending(userId: string, kind: MfaPendingSignInRecord['kind'], amr: string[]): Promise<string> {
    const id = newSecret('mfa_');
    const now = this.clock.now();
    await this.store.mfa.insertPending({
      idHash: sha256Hex(id), userId, kind, amr, attempts: 0, createdAt: now, expiresAt: now + PENDING_SIGN_IN_TTL_MS, consumedAt: null,
    });
    return id;
  }

  /**
   * Pays for one second-factor verification before it happens, so N parallel guesses cannot all pass
   * the checks: reserves one attempt on the user's MFA lockout ({@link SignInGuard.reserve}, the same
   * mechanism as passwords), one attempt of the pending sign-in (conditional update; at most
   * {@link PENDING_SIGN_IN_MAX_ATTEMPTS}) and, when `capped`, one consecutive failure of the user (at most
   * `mfa.maxConsecutiveFailures`, NIST SP 800-63B-4 §3.2.2). {@link succeeded} takes the failures back
   * after a correct factor.
   * @param capped whether the attempt verifies an enrolled factor (counts towards the hard cap)
   * @returns the user's lockout key
   * @throws AppError `auth.too_many_failures` (429), `auth.mfa_sign_in_expired` (400: used, expired or
   *   out of attempts), `auth.mfa_locked` (423)
   */
  private async reserveAttempt(idHash: string, userId: string, capped: boolean): Promise<string> {
    const key = this.guard.key('mfa', userId);
    await this.guard.reserve(key);
    const now = this.clock.now();
    if (!(await this.store.mfa.reservePendingAttempt(idHash, now, PENDING_SIGN_IN_MAX_ATTEMPTS))) throw new AppError('auth.mfa_sign_in_expired');
    if (capped && !(await this.store.mfa.reserveFailure(userId, this.config.mfa.maxConsecutiveFailures, now))) throw new AppError('auth.mfa_locked');
    return key;
  }

  /** After a correct second factor: resets the user's consecutive failures and clears the MFA lockout. */
  private async succeeded(userId: string, key: string): Promise<void> {
    await this.store.mfa.resetFailures(userId, this.clock.now());
    await this.guard.clear(key);
  }

  /** The live pending sign-in of that kind, its hash and its (unsuspended) user. */
  private async livePending(pendingSignInId: string, kind: MfaPendingSignInRecord['kind']) {
    const idHash = sha256Hex(pendingSignInId);
    const pending = await this.store.mfa.findPending(idHash);
    if (!pending || pending.kind !== kind || pending.consumedAt !== null || pending.expiresAt <= this.clock.now() || pending.attempts >= PENDING_SIGN_IN_MAX_ATTEMPTS) {
      throw new AppError('auth.mfa_sign_in_expired');
    }
    const user = await this.store.users.findById(pending.userId);
    if (!user) throw new AppError('auth.mfa_sign_in_expired');
    if (user.isSuspended) throw new AppError('auth.user_suspended');
    return { pending, idHash, user };
  }

  /** @throws AppError `user.totp_secret_invalid` */
  private normalizeSecret(secret: string): string {
    const normalized = secret.replace(/\s+/g, '').toUpperCase();
    if (!TOTP_SECRET.test(normalized)) throw new AppError('user.totp_secret_invalid');
    return normalized;
  }

  /** The RFC 6238 time step `code` belongs to (±1 step of now), or null. */
  private async matchTotp(secret: string, code: string): Promise<number | null> {
    if (!/^\d{6}$/.test(code)) return null;
    const result = await verifyOtp({
      secret,
      token: code,
      epoch: Math.floor(this.clock.now() / 1000),
      period: TOTP_PERIOD_SECONDS,
      epochTolerance: TOTP_PERIOD_SECONDS,
      guardrails: TOTP_GUARDRAILS,
    });
    return result.valid && 'timeStep' in result ? result.timeStep : null;
  }

  /** @throws AppError `session.mfa.invalid_totp_code` (wrong, outside ±1 step, or replayed) */
  private async checkTotp(userId: string, code: string): Promise<void> {
    const factor = (await this.store.mfa.listFactors(userId)).find((f) => f.type === 'totp');
    const step = factor?.secret ? await this.matchTotp(this.openSecret(factor.secret), code) : null;
    if (!factor || step === null || !(await this.store.mfa.acceptTotpStep(factor.id, step, this.clock.now()))) {
      throw new AppError('session.mfa.invalid_totp_code');
    }
  }

  /**
   * Verifies `code` against the unused codes of the user's backup-code sets (argon2id, one after
   * another, stopping at the first match) and marks the match used in one conditional update, so a
   * code works once even under concurrent use. Stored hashes that are not argon2id (the former salted
   * SHA-256 format) never match. A code not in Logto's format is refused without hashing.
   * @throws AppError `session.mfa.invalid_backup_code` (wrong or already used)
   */
  private async checkBackupCode(userId: string, code: string): Promise<void> {
    const normalized = code.trim().toLowerCase();
    if (BACKUP_CODE.test(normalized)) {
      for (const factor of (await this.store.mfa.listFactors(userId)).filter((f) => f.type === 'backup_codes')) {
        for (const stored of await this.store.mfa.listBackupCodes(factor.id)) {
          if (stored.usedAt !== null || !stored.codeHash.startsWith('$argon2id$')) continue;
          if (!(await this.hasher.verify(stored.codeHash, normalized)).ok) continue;
          if (await this.store.mfa.useBackupCode(factor.id, stored.codeHash, this.clock.now())) return;
          throw new AppError('session.mfa.invalid_backup_code');
        }
      }
    }
    throw new AppError('session.mfa.invalid_backup_code');
  }

  /**
   * Verifies a WebAuthn assertion against the pending sign-in's stored challenge (consumed first, so
   * it is single use) and one of the user's passkeys ({@link verifyAssertion}; user verification not
   * required: the passkey is a second factor here).
   * @throws AppError `session.mfa.webauthn_verification_failed`
   */
  private async checkWebAuthn(userId: string, idHash: string, response: AuthenticationResponseJSON): Promise<void> {
    const now = this.clock.now();
    const challenge = await this.store.mfa.findChallenge(idHash);
    if (!challenge || challenge.kind !== 'authentication' || challenge.pendingIdHash !== idHash || challenge.expiresAt <= now || !(await this.store.mfa.consumeChallenge(challenge.id, now))) {
      throw new AppError('session.mfa.webauthn_verification_failed', { message: 'Request passkey options first.' });
    }
    const factor = (await this.store.mfa.listFactors(userId)).find((f) => f.type === 'webauthn' && f.credentialId === response.id);
    if (!factor) throw new AppError('session.mfa.webauthn_verification_failed');
    await this.verifyAssertion(factor, challenge.challenge, response, false);
  }

  /**
   * The one WebAuthn assertion rule (W3C WebAuthn Level 2 §7.2, @simplewebauthn/server), shared by the
   * second factor ({@link checkWebAuthn}) and passkey sign-in ({@link signInWithPasskey}): the signature
   * over `expectedChallenge` by the passkey's public key, the client data's origin (public URL or a
   * related origin) and the rpID hash, user presence, user verification when required, and a signature
   * counter that grows (a cloned authenticator shows as one that does not; 0 stays allowed for
   * authenticators without a counter). The new counter is stored compare-and-set on the old one, so of
   * two concurrent uses of one assertion at most one passes.
   * @throws AppError `session.mfa.webauthn_verification_failed` (one message for every cause)
   */
  private async verifyAssertion(factor: MfaFactorRecord, expectedChallenge: string, response: AuthenticationResponseJSON, requireUserVerification: boolean): Promise<void> {
    if (factor.type !== 'webauthn' || !factor.publicKey || !factor.credentialId) throw new AppError('session.mfa.webauthn_verification_failed');
    const { verifyAuthenticationResponse } = await webauthn();
    let result;
    try {
      result = await verifyAuthenticationResponse({
        response,
        expectedChallenge,
        expectedOrigin: await this.expectedOrigins(),
        expectedRPID: this.rpId,
        credential: {
          id: factor.credentialId,
          publicKey: new Uint8Array(Buffer.from(factor.publicKey, 'base64url')),
          counter: factor.counter,
          ...(factor.transports ? { transports: factor.transports as never } : {}),
        },
        requireUserVerification,
      });
    } catch (error) {
      throw new AppError('session.mfa.webauthn_verification_failed', { cause: error });
    }
    if (!result.verified || !(await this.store.mfa.updateWebAuthnCounter(factor.id, factor.counter, result.authenticationInfo.newCounter, this.clock.now()))) {
      throw new AppError('session.mfa.webauthn_verification_failed');
    }
  }

  /** @throws AppError `user.totp_already_in_use` (a concurrent enrolment won) */
  private async insertTotp(userId: string, secret: string, usedStep: number | null): Promise<void> {
    const now = this.clock.now();
    const inserted = await this.store.mfa.insertFactor({ ...this.newFactor(userId, 'totp', now), secret: this.sealSecret(secret), lastTotpStep: usedStep, lastUsedAt: usedStep === null ? null : now });
    if (!inserted) throw new AppError('user.totp_already_in_use');
  }

  private newFactor(userId: string, type: MfaFactorRecord['type'], now: number): MfaFactorRecord {
    return {
      id: newId(now), userId, type, name: null, secret: null, lastTotpStep: null, credentialId: null, publicKey: null,
      counter: 0, transports: null, agent: null, createdAt: now, lastUsedAt: null,
    };
  }

  /** The TOTP secret as stored: `gcm1:<iv>:<ciphertext>:<tag>` (base64url) with `mfa.secretKey`, else as is. */
  private sealSecret(secret: string): string {
    if (!this.secretKey) return secret;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.secretKey, iv);
    const ct = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return ['gcm1', iv.toString('base64url'), ct.toString('base64url'), cipher.getAuthTag().toString('base64url')].join(':');
  }

  /**
   * The base32 TOTP secret of a stored value (see {@link sealSecret}).
   * @throws Error when the value is encrypted and no (or another) key is configured — a configuration fault
   */
  private openSecret(stored: string): string {
    if (!stored.startsWith('gcm1:')) return stored;
    if (!this.secretKey) throw new Error('TOTP secrets are encrypted but mfa.secretKey is not set');
    const [, iv, ct, tag] = stored.split(':');
    const decipher = createDecipheriv('aes-256-gcm', this.secretKey, Buffer.from(iv!, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag!, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ct!, 'base64url')), decipher.final()]).toString('utf8');
  }
}
