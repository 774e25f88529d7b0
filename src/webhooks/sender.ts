import { createHmac } from 'node:crypto';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { BlockList, isIP } from 'node:net';
import { parseCidr } from '../config/index.js';

/**
 * Sending one webhook request, as Logto sends it (logto-io/logto `packages/core/src/libraries/hook/utils.ts`
 * `sendWebhookRequest`, `packages/core/src/utils/sign.ts`): `POST`, JSON body, `user-agent: Logto
 * (https://logto.io/)` (a hook's own headers may replace it), the hook's headers, and
 * `logto-signature-sha-256`: the lowercase hex HMAC-SHA256 of the exact body bytes, keyed with the hook's
 * signing key (set last, so no custom header can replace it).
 *
 * Outgoing requests go only to http(s) URLs whose **resolved** address is outside the denied ranges
 * (`webhooks.denyCidrs`): the check runs inside the connection's own DNS lookup, so the address checked
 * is the address connected to (no DNS rebinding between check and use).
 */

/** The user agent Logto sends (receivers may filter on it). */
export const WEBHOOK_USER_AGENT = 'Logto (https://logto.io/)';

/** The signature header: hex HMAC-SHA256 of the body (Logto's `logto-signature-sha-256`). */
export const SIGNATURE_HEADER = 'logto-signature-sha-256';

/**
 * The signature of a body: lowercase hex HMAC-SHA256 keyed with `signingKey` (Logto's `sign`).
 * @param body the exact bytes sent (a JSON string)
 */
export function signBody(signingKey: string, body: string): string {
  return createHmac('sha256', signingKey).update(body).digest('hex');
}

/** The answer of an endpoint. `body` is at most 4 KiB of the response text. */
export interface WebhookResponse {
  statusCode: number;
  body: string;
}

/** A refused or failed request: `code` is stable (`webhook.denied_address`, `webhook.timeout`, `webhook.network`, `webhook.invalid_url`). */
export class WebhookSendError extends Error {
  constructor(
    readonly code: 'webhook.denied_address' | 'webhook.timeout' | 'webhook.network' | 'webhook.invalid_url',
    message: string,
  ) {
    super(message);
    this.name = 'WebhookSendError';
  }
}

/** The denied address ranges, as one `net.BlockList`. */
export class AddressPolicy {
  private readonly blocked = new BlockList();
  /**
   * Keep-alive connection pools for deliveries: a connection is checked once, when it is opened (its
   * address comes from {@link lookup}), and then reused, so a busy receiver costs one TCP (and TLS)
   * handshake per connection rather than per delivery.
   */
  readonly agents = { http: new HttpAgent({ keepAlive: true, maxSockets: 32 }), https: new HttpsAgent({ keepAlive: true, maxSockets: 32 }) };

  /** @param cidrs ranges in CIDR notation (validated by the configuration schema) */
  constructor(readonly cidrs: readonly string[]) {
    for (const range of cidrs) {
      const parsed = parseCidr(range);
      if (parsed) this.blocked.addSubnet(parsed.network, parsed.prefix, parsed.family);
    }
  }

  /** True when `address` (an IPv4 or IPv6 literal) lies in a denied range; IPv4-mapped IPv6 is checked as IPv4. */
  denies(address: string): boolean {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    if (mapped) return this.blocked.check(mapped[1]!, 'ipv4');
    const version = isIP(address);
    if (version === 0) return true;
    return this.blocked.check(address, version === 4 ? 'ipv4' : 'ipv6');
  }

  /**
   * Checks a hook URL before it is saved: http(s) only, and neither its literal address nor any address
   * its host name resolves to now may be denied (a name that does not resolve yet is accepted; every
   * delivery checks again).
   * @throws WebhookSendError `webhook.invalid_url`, `webhook.denied_address`
   */
  async assertAllowedUrl(raw: string): Promise<URL> {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new WebhookSendError('webhook.invalid_url', 'The URL is not valid.');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new WebhookSendError('webhook.invalid_url', 'Only http and https URLs are allowed.');
    if (url.username || url.password) throw new WebhookSendError('webhook.invalid_url', 'The URL must not carry credentials.');
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host)) {
      if (this.denies(host)) throw new WebhookSendError('webhook.denied_address', 'The URL points at a denied address range.');
      return url;
    }
    const addresses = await new Promise<LookupAddress[]>((resolve) => {
      dnsLookup(host, { all: true }, (error, found) => resolve(error ? [] : found));
    });
    if (addresses.some((a) => this.denies(a.address))) throw new WebhookSendError('webhook.denied_address', 'The URL points at a denied address range.');
    return url;
  }

  /** Closes the idle pooled connections (when the server stops). */
  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  /** A `lookup` for `http.request` that fails the connection when the resolved address is denied. */
  lookup(): (hostname: string, options: object, callback: (error: Error | null, address: string | LookupAddress[], family?: number) => void) => void {
    return (hostname, options, callback) => {
      dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
        if (error) return callback(error, []);
        const allowed = addresses.filter((a) => !this.denies(a.address));
        if (allowed.length === 0 || allowed.length !== addresses.length) {
          return callback(new WebhookSendError('webhook.denied_address', 'The endpoint resolves to a denied address range.'), []);
        }
        if ((options as { all?: boolean }).all) return callback(null, allowed);
        return callback(null, allowed[0]!.address, allowed[0]!.family);
      });
    };
  }
}

/** One request to send. */
export interface WebhookRequest {
  url: string;
  /** The JSON body, exactly as signed and sent. */
  body: string;
  headers: Record<string, string>;
  signingKey: string;
  /** Give up after this many milliseconds. */
  timeoutMs: number;
}

/**
 * Sends one webhook request and reads the answer (any status: the caller decides what counts as success).
 * @throws WebhookSendError `webhook.invalid_url`, `webhook.denied_address` (literal or resolved address),
 *   `webhook.timeout`, `webhook.network`
 */
export function sendWebhook(policy: AddressPolicy, req: WebhookRequest): Promise<WebhookResponse> {
  return new Promise((resolve, reject) => {
    let url: URL;
    try {
      url = new URL(req.url);
    } catch {
      return reject(new WebhookSendError('webhook.invalid_url', 'The URL is not valid.'));
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return reject(new WebhookSendError('webhook.invalid_url', 'Only http and https URLs are allowed.'));
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) && policy.denies(host)) return reject(new WebhookSendError('webhook.denied_address', 'The endpoint is in a denied address range.'));
    const headers: Record<string, string> = {
      'user-agent': WEBHOOK_USER_AGENT,
      'content-type': 'application/json',
      ...req.headers,
      'content-length': String(Buffer.byteLength(req.body)),
      ...(req.signingKey ? { [SIGNATURE_HEADER]: signBody(req.signingKey, req.body) } : {}),
    };
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
    };
    const agent = url.protocol === 'https:' ? policy.agents.https : policy.agents.http;
    const outgoing = send(url, { method: 'POST', headers, lookup: policy.lookup() as never, agent }, (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        if (size < 4096) chunks.push(chunk);
        size += chunk.length;
      });
      response.on('end', () =>
        finish(() => resolve({ statusCode: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8').slice(0, 4096) })),
      );
      response.on('error', (error) => finish(() => reject(new WebhookSendError('webhook.network', error.message))));
    });
    const timer = setTimeout(() => {
      outgoing.destroy();
      finish(() => reject(new WebhookSendError('webhook.timeout', `No answer within ${req.timeoutMs} ms.`)));
    }, req.timeoutMs);
    outgoing.on('error', (error) =>
      finish(() => reject(error instanceof WebhookSendError ? error : new WebhookSendError('webhook.network', error.message))),
    );
    outgoing.end(req.body);
  });
}
