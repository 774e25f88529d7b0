import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';

/** One request a {@link Receiver} got. */
export interface Received {
  headers: IncomingHttpHeaders;
  /** The raw body as sent (what the signature covers). */
  raw: string;
  body: any;
  at: number;
}

/**
 * A real HTTP endpoint on 127.0.0.1 for webhook tests: records every request; `answer` decides the status
 * of each (by the request's number, from 1) or `'hang'` to never answer.
 */
export class Receiver {
  readonly received: Received[] = [];
  answer: (n: number, request: Received) => number | 'hang' = () => 200;
  private server!: Server;
  private waiters: Array<() => void> = [];
  url = '';

  static async start(): Promise<Receiver> {
    const r = new Receiver();
    r.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        let body: unknown;
        try {
          body = JSON.parse(raw);
        } catch {
          body = raw;
        }
        const got: Received = { headers: req.headers, raw, body, at: Date.now() };
        r.received.push(got);
        const status = r.answer(r.received.length, got);
        for (const w of r.waiters.splice(0)) w();
        if (status === 'hang') return;
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: status < 300 }));
      });
    });
    await new Promise<void>((resolve) => r.server.listen(0, '127.0.0.1', resolve));
    const address = r.server.address();
    r.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hook`;
    return r;
  }

  /** Bodies received so far whose event is `event`. */
  of(event: string): any[] {
    return this.received.filter((r) => r.body?.event === event).map((r) => r.body);
  }

  /** Waits until `done()` holds (checked on every request), or fails after `timeoutMs`. */
  async until(done: () => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`receiver: condition not met within ${timeoutMs} ms; got ${this.received.map((r) => r.body?.event).join(', ')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** What a receiver does with Logto's signature: HMAC-SHA256 of the raw body with the signing key, compared in constant time. */
export function verifySignature(signingKey: string, raw: string, header: string | string[] | undefined): boolean {
  if (typeof header !== 'string') return false;
  const expected = Buffer.from(createHmac('sha256', signingKey).update(raw).digest('hex'));
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
