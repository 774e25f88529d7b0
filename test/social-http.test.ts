import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callProvider, MAX_PROVIDER_BODY_BYTES } from '../src/connectors/social/http.js';
import { isAppError } from '../src/errors/index.js';

describe('calls to identity providers', () => {
  let server: http.Server;
  let base: string;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (req.url === '/small') {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ sub: 'abc' }));
      } else if (req.url === '/declared-huge') {
        // Declares a body over the cap (and sends a little of it).
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(MAX_PROVIDER_BODY_BYTES + 1) });
        res.write('{"a":"');
        setTimeout(() => res.destroy(), 50);
      } else {
        // Chunked, no length: grows past the cap.
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"padding":"');
        const chunk = 'x'.repeat(64 * 1024);
        let sent = 0;
        const pump = () => {
          while (sent < MAX_PROVIDER_BODY_BYTES * 2) {
            sent += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          res.end('"}');
        };
        pump();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const refusal = async (path: string) => {
    const error = await callProvider(`${base}${path}`, { timeoutSeconds: 5, refusal: 'response' }).catch((e: unknown) => e);
    expect(isAppError(error, 'connector.invalid_response')).toBe(true);
  };

  it('reads a JSON answer', async () => {
    expect(await callProvider(`${base}/small`, { timeoutSeconds: 5, refusal: 'response' })).toEqual({ sub: 'abc' });
  });

  it('refuses answers larger than 1 MiB, declared or streamed, with connector.invalid_response', async () => {
    await refusal('/declared-huge');
    await refusal('/streamed-huge');
  });
});
