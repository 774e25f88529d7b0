import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';

/**
 * A software WebAuthn authenticator for tests (ES256, attestation "none", W3C WebAuthn Level 2 §6.1
 * authenticator data, §6.5.4 none attestation): it makes real registration and assertion responses,
 * signed with its own P-256 key, that @simplewebauthn/server verifies like a browser's. It can act as
 * a discoverable credential (it returns the `userHandle` of the registration options) and can leave out
 * the UV flag. Used by test/mfa-webauthn.test.ts (second factor) and test/passkey-sign-in.test.ts.
 */

type Cbor = number | string | Uint8Array | Map<Cbor, Cbor> | { [key: string]: Cbor };

function head(major: number, n: number): Buffer {
  if (n < 24) return Buffer.from([(major << 5) | n]);
  if (n < 0x100) return Buffer.from([(major << 5) | 24, n]);
  if (n < 0x10000) {
    const b = Buffer.alloc(3);
    b[0] = (major << 5) | 25;
    b.writeUInt16BE(n, 1);
    return b;
  }
  const b = Buffer.alloc(5);
  b[0] = (major << 5) | 26;
  b.writeUInt32BE(n, 1);
  return b;
}

/** Encodes integers, text, byte strings and maps (all a WebAuthn attestation needs; RFC 8949). */
function cbor(value: Cbor): Buffer {
  if (typeof value === 'number') return value >= 0 ? head(0, value) : head(1, -1 - value);
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    return Buffer.concat([head(3, bytes.length), bytes]);
  }
  if (value instanceof Uint8Array) return Buffer.concat([head(2, value.length), Buffer.from(value)]);
  const entries = value instanceof Map ? [...value.entries()] : Object.entries(value);
  return Buffer.concat([head(5, entries.length), ...entries.flatMap(([k, v]) => [cbor(k), cbor(v)])]);
}

const b64url = (b: Uint8Array | string) => Buffer.from(b).toString('base64url');
const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest();

/** Authenticator data flags (WebAuthn L2 §6.1). */
const UP = 0x01;
const UV = 0x04;
const AT = 0x40;

/** Options of one assertion. */
export interface AssertOptions {
  /** The signature counter to report (default: the previous one + 1). */
  counter?: number;
  /** Sign with this key instead of the authenticator's. */
  key?: KeyObject;
  /** The origin in the client data (default: the authenticator's). */
  origin?: string;
  /** Whether the UV flag is set (default true). */
  userVerified?: boolean;
  /** The `userHandle` to return (default: the user id of the registration; null: none). */
  userHandle?: string | null;
  /** The credential id to claim (default: the authenticator's own). */
  credentialId?: string;
}

/** A software authenticator holding one credential for `origin`'s host (the rpID). */
export class SoftAuthenticator {
  readonly credentialId = randomBytes(16);
  private readonly privateKey: KeyObject;
  private readonly publicJwk: { x: string; y: string };
  /** The WebAuthn user handle (base64url) of the registration, returned by discoverable assertions. */
  userHandle: string | null = null;
  counter = 0;

  constructor(readonly origin: string) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.privateKey = privateKey;
    this.publicJwk = publicKey.export({ format: 'jwk' }) as { x: string; y: string };
  }

  /** The credential id, base64url (the `id` of its responses). */
  get id(): string {
    return b64url(this.credentialId);
  }

  private get rpIdHash() {
    return sha256(new URL(this.origin).hostname);
  }

  /**
   * navigator.credentials.create(): a RegistrationResponseJSON for `options` (a resident credential:
   * it keeps `options.user.id` as its user handle).
   * @throws Error when the options name another rpID than the origin's host
   */
  register(options: { challenge: string; rp: { id?: string }; user?: { id: string } }) {
    if (options.rp.id !== new URL(this.origin).hostname) throw new Error(`rp.id ${options.rp.id} is not ${new URL(this.origin).hostname}`);
    this.userHandle = options.user?.id ?? null;
    const coseKey = new Map<Cbor, Cbor>([
      [1, 2], // kty: EC2
      [3, -7], // alg: ES256
      [-1, 1], // crv: P-256
      [-2, Buffer.from(this.publicJwk.x, 'base64url')],
      [-3, Buffer.from(this.publicJwk.y, 'base64url')],
    ]);
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(this.credentialId.length);
    const authData = Buffer.concat([this.rpIdHash, Buffer.from([UP | UV | AT]), Buffer.alloc(4), Buffer.alloc(16), idLength, this.credentialId, cbor(coseKey)]);
    const clientDataJSON = JSON.stringify({ type: 'webauthn.create', challenge: options.challenge, origin: this.origin, crossOrigin: false });
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key' as const,
      response: {
        clientDataJSON: b64url(clientDataJSON),
        attestationObject: b64url(cbor({ fmt: 'none', attStmt: {}, authData })),
        transports: ['internal' as const],
      },
      clientExtensionResults: {},
    };
  }

  /** navigator.credentials.get(): an AuthenticationResponseJSON for `challenge` (see {@link AssertOptions}). */
  assert(challenge: string, options: AssertOptions = {}) {
    this.counter = options.counter ?? this.counter + 1;
    const signCount = Buffer.alloc(4);
    signCount.writeUInt32BE(this.counter);
    const flags = UP | (options.userVerified === false ? 0 : UV);
    const authData = Buffer.concat([this.rpIdHash, Buffer.from([flags]), signCount]);
    const clientDataJSON = JSON.stringify({ type: 'webauthn.get', challenge, origin: options.origin ?? this.origin, crossOrigin: false });
    const signature = sign('sha256', Buffer.concat([authData, sha256(clientDataJSON)]), options.key ?? this.privateKey);
    const userHandle = options.userHandle === undefined ? this.userHandle : options.userHandle;
    const id = options.credentialId ?? this.id;
    return {
      id,
      rawId: id,
      type: 'public-key' as const,
      response: {
        clientDataJSON: b64url(clientDataJSON),
        authenticatorData: b64url(authData),
        signature: b64url(signature),
        ...(userHandle !== null ? { userHandle } : {}),
      },
      clientExtensionResults: {},
    };
  }
}
