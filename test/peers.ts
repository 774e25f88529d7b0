/**
 * Real network peers for the test suites (no mocks): an SMTP server that keeps every mail it receives,
 * an HTTP endpoint standing in for an SMS provider's webhook receiver, and small helpers.
 * Every peer listens on 127.0.0.1 on a free port and must be closed by the suite that started it.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer as createNetServer } from 'node:net';
import { type AddressObject, type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/** Predicate of `waitFor`: the item and its index in arrival order. */
export type Match<T> = (item: T, index: number) => boolean;

interface Waiter<T> {
  predicate: Match<T>;
  resolve: (item: T) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/** An append-only list whose `waitFor` resolves with the first item (present or future) that matches. */
class Recorder<T> {
  readonly items: T[] = [];
  readonly #waiters = new Set<Waiter<T>>();

  constructor(private readonly what: string) {}

  push(item: T): void {
    const index = this.items.push(item) - 1;
    for (const waiter of [...this.#waiters]) {
      let hit: boolean;
      try {
        hit = waiter.predicate(item, index);
      } catch (error) {
        this.#settle(waiter);
        waiter.reject(error as Error);
        continue;
      }
      if (hit) {
        this.#settle(waiter);
        waiter.resolve(item);
      }
    }
  }

  waitFor(predicate: Match<T> = () => true, timeoutMs = 5000): Promise<T> {
    const found = this.items.findIndex((item, i) => predicate(item, i));
    if (found >= 0) return Promise.resolve(this.items[found]!);
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter<T> = {
        predicate,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#waiters.delete(waiter);
          reject(new Error(`waitFor: no matching ${this.what} within ${timeoutMs} ms (${this.items.length} received)`));
        }, timeoutMs),
      };
      this.#waiters.add(waiter);
    });
  }

  /** Rejects pending waiters (the peer is closing). */
  abandon(): void {
    for (const waiter of [...this.#waiters]) {
      this.#settle(waiter);
      waiter.reject(new Error(`waitFor: the ${this.what} peer was closed`));
    }
  }

  #settle(waiter: Waiter<T>): void {
    clearTimeout(waiter.timer);
    this.#waiters.delete(waiter);
  }
}

// ---------------------------------------------------------------------------------------------------
// SMTP sink

/** One mail received by {@link startSmtpSink}, parsed by mailparser. */
export interface SinkMessage {
  /** SMTP envelope: `MAIL FROM` and the `RCPT TO` addresses. */
  envelope: { from: string; to: string[] };
  /** The From header as text, e.g. `Tessera <no-reply@example.com>`. */
  from: string;
  /** The address of the From header. */
  fromAddress: string;
  /** The To header's bare addresses, joined with `, ` (one recipient: just the address). */
  to: string;
  subject: string;
  /** Plain-text body ('' when absent). */
  text: string;
  /** HTML body ('' when absent). */
  html: string;
  /** Header map from mailparser (lowercase keys). */
  headers: ParsedMail['headers'];
  /** The whole mailparser result. */
  parsed: ParsedMail;
  /** The raw RFC 5322 message. */
  raw: Buffer;
  /** Arrival time, Unix ms. */
  receivedAt: number;
}

/** A running SMTP sink. */
export interface SmtpSink {
  /** `smtp://127.0.0.1:<port>` — use as `email.smtpUrl`. */
  url: string;
  port: number;
  /** Every mail received, in arrival order. */
  messages: SinkMessage[];
  /** Resolves with the first mail (already received or future) matching `predicate`; rejects after `timeoutMs`. */
  waitFor(predicate?: Match<SinkMessage>, timeoutMs?: number): Promise<SinkMessage>;
  close(): Promise<void>;
}

function addresses(field: AddressObject | AddressObject[] | undefined): string[] {
  const list = field === undefined ? [] : Array.isArray(field) ? field : [field];
  return list.flatMap((a) => a.value.map((v) => v.address ?? '')).filter(Boolean);
}

/**
 * Starts a real SMTP server (smtp-server) on 127.0.0.1, any free port, without TLS or authentication
 * (`authOptional`, STARTTLS disabled), that parses each mail with mailparser and keeps it.
 * @param options.rejectRecipients addresses answered with `550` at `RCPT TO` (to test refusals)
 */
export async function startSmtpSink(options: { rejectRecipients?: string[] } = {}): Promise<SmtpSink> {
  const recorder = new Recorder<SinkMessage>('mail');
  const rejected = new Set((options.rejectRecipients ?? []).map((a) => a.toLowerCase()));
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    closeTimeout: 1000,
    onRcptTo(address, _session, callback) {
      if (rejected.has(address.address.toLowerCase())) {
        callback(Object.assign(new Error('5.1.1 Mailbox unavailable'), { responseCode: 550 }));
        return;
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', (error) => callback(error));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        simpleParser(raw)
          .then((parsed) => {
            recorder.push({
              envelope: {
                from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
                to: session.envelope.rcptTo.map((r) => r.address),
              },
              from: parsed.from?.text ?? '',
              fromAddress: addresses(parsed.from)[0] ?? '',
              to: addresses(parsed.to).join(', '),
              subject: parsed.subject ?? '',
              text: parsed.text ?? '',
              html: parsed.html || '',
              headers: parsed.headers,
              parsed,
              raw,
              receivedAt: Date.now(),
            });
            callback();
          })
          .catch((error: Error) => callback(error));
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.server.address() as AddressInfo).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    messages: recorder.items,
    waitFor: (predicate, timeoutMs) => recorder.waitFor(predicate, timeoutMs),
    close: () =>
      new Promise<void>((resolve) => {
        recorder.abandon();
        server.close(() => resolve());
      }),
  };
}

// ---------------------------------------------------------------------------------------------------
// SMS webhook receiver

/** One request received by {@link startSmsWebhook}. */
export interface WebhookRequest {
  method: string;
  /** Path and query. */
  url: string;
  /** Request headers (lowercase names). */
  headers: IncomingHttpHeaders;
  /** The body exactly as received (UTF-8), for signature checks. */
  rawBody: string;
  /** The parsed JSON body, or null when the body is not JSON. */
  json: any;
  /** Arrival time, Unix ms. */
  receivedAt: number;
}

/** How the webhook answers. */
export interface WebhookBehaviour {
  /** HTTP status of the answer (default 200). */
  status?: number;
  /** Milliseconds to wait before answering (default 0). */
  delayMs?: number;
}

/** A running SMS webhook receiver. */
export interface SmsWebhookPeer {
  /** `http://127.0.0.1:<port>/sms` — use as `sms.webhookUrl`. */
  url: string;
  /** Every request received (recorded as soon as its body has arrived, before any delay), in order. */
  requests: WebhookRequest[];
  /** Current answer status. */
  readonly status: number;
  /** Current answer delay, ms. */
  readonly delayMs: number;
  /** Changes how later requests are answered (unset fields go back to 200 / 0 ms). */
  respondWith(behaviour: WebhookBehaviour): void;
  /** Resolves with the first request (already received or future) matching `predicate`; rejects after `timeoutMs`. */
  waitFor(predicate?: Match<WebhookRequest>, timeoutMs?: number): Promise<WebhookRequest>;
  close(): Promise<void>;
}

/**
 * Starts a real HTTP server (node:http) on 127.0.0.1, any free port, that records every request and
 * answers `{"ok":true}` with the configured status after the configured delay.
 */
export async function startSmsWebhook(behaviour: WebhookBehaviour = {}): Promise<SmsWebhookPeer> {
  const recorder = new Recorder<WebhookRequest>('webhook request');
  let status = behaviour.status ?? 200;
  let delayMs = behaviour.delayMs ?? 0;
  const timers = new Set<NodeJS.Timeout>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      let json: unknown = null;
      try {
        json = JSON.parse(rawBody);
      } catch {
        json = null;
      }
      recorder.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawBody, json, receivedAt: Date.now() });
      const answer = status;
      const respond = () => {
        if (res.destroyed) return;
        res.writeHead(answer, { 'content-type': 'application/json' });
        res.end(JSON.stringify(answer >= 200 && answer < 300 ? { ok: true } : { ok: false, error: 'provider error' }));
      };
      if (delayMs > 0) {
        const timer = setTimeout(() => {
          timers.delete(timer);
          respond();
        }, delayMs);
        timers.add(timer);
      } else {
        respond();
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/sms`,
    requests: recorder.items,
    get status() {
      return status;
    },
    get delayMs() {
      return delayMs;
    },
    respondWith(next) {
      status = next.status ?? 200;
      delayMs = next.delayMs ?? 0;
    },
    waitFor: (predicate, timeoutMs) => recorder.waitFor(predicate, timeoutMs),
    close: () =>
      new Promise<void>((resolve) => {
        recorder.abandon();
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

// ---------------------------------------------------------------------------------------------------
// Helpers

/**
 * The first 6-digit number in `text` (not part of a longer run of digits), e.g. the code of a message.
 * @throws Error when there is none
 */
export function extractCode(text: string): string {
  const match = /(?<!\d)(\d{6})(?!\d)/.exec(text);
  if (!match) throw new Error(`no 6-digit code in: ${text.slice(0, 200)}`);
  return match[1]!;
}

/** A TCP port on 127.0.0.1 that nothing listens on right now (bound, then released). */
export async function unusedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
