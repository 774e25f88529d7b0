// Load generator thread for the benchmarks (bench/lib.ts `loadInWorker`). Plain JavaScript so that it
// runs in a worker thread without a TypeScript loader.
//
// Input (workerData): { url, method, headers, bodies: string[] | null, concurrency, seconds, expected }
// Runs `concurrency` keep-alive connections in a closed loop for `seconds` (send a request, read the
// whole answer, send the next; bodies are used in turn), then posts
// { ok, errors: [[outcome, count]…], latencies: number[] (ms, ascending), elapsed (s) }.
//
// The client is a minimal HTTP/1.1 client over `node:net` (one request at a time per connection, no
// pipelining), in the manner of wrk: each request's bytes are encoded once up front, and an answer is
// read only as far as its status line, its framing headers (Content-Length, Transfer-Encoding:
// chunked, Connection: close) and the end of its body. It uses less than half the CPU per request of a
// `node:http` keep-alive agent (65–73 µs against 165 µs per client_credentials request in bench:m2m on
// this project's 2-vCPU machines), and the CPUs are shared with the server under test. Anything it cannot parse counts as an error, never as a success.
import net from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';

const { url, method, headers, bodies, concurrency, seconds, expected } = workerData;
const target = new URL(url);
if (target.protocol !== 'http:') throw new Error(`load worker: only http: URLs, got ${url}`);
const port = Number(target.port || 80);
const host = target.hostname;

/** The request's bytes for each body (or the one body-less request). */
const requests = (bodies ?? [undefined]).map((body) => {
  let head = `${method} ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\n`;
  for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
  if (body !== undefined) head += `Content-Length: ${Buffer.byteLength(body)}\r\n`;
  return Buffer.from(`${head}\r\n${body ?? ''}`, 'utf8');
});

const CRLF_CRLF = Buffer.from('\r\n\r\n');
const CRLF = Buffer.from('\r\n');

/**
 * Where the body of a chunked answer ends in `buffer` (index after the final CRLF), starting at the
 * first chunk-size line at `from`; -1 while incomplete.
 * @throws Error on a malformed chunk-size line
 */
function chunkedEnd(buffer, from) {
  let at = from;
  for (;;) {
    const lineEnd = buffer.indexOf(CRLF, at);
    if (lineEnd === -1) return -1;
    const size = Number.parseInt(buffer.toString('latin1', at, lineEnd).split(';')[0], 16);
    if (!Number.isFinite(size) || size < 0) throw new Error('malformed chunk size');
    if (size === 0) {
      // Optional trailers, then an empty line.
      const end = buffer.indexOf(CRLF_CRLF, lineEnd);
      if (end === lineEnd) return end + 4;
      const empty = buffer.indexOf(CRLF, lineEnd + 2);
      if (empty === lineEnd + 2) return empty + 2;
      return end === -1 ? -1 : end + 4;
    }
    at = lineEnd + 2 + size + 2;
    if (at > buffer.length) return -1;
  }
}

/** One keep-alive connection; `send(bytes)` resolves to the answer's status once it is read whole. */
class Connection {
  constructor() {
    this.socket = undefined;
    this.buffer = Buffer.alloc(0);
    this.pending = undefined;
    this.headEnd = -1;
    this.status = 0;
    this.bodyEnd = -1;
    this.chunked = false;
    this.close = false;
  }

  open() {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port, noDelay: true }, () => resolve());
      socket.once('error', reject);
      socket.on('data', (chunk) => this.onData(chunk));
      socket.on('error', (error) => this.fail(error));
      socket.on('close', () => {
        this.socket = undefined;
        this.fail(new Error('connection closed before the answer was complete'));
      });
      this.socket = socket;
    });
  }

  fail(error) {
    const pending = this.pending;
    this.pending = undefined;
    this.socket?.destroy();
    this.socket = undefined;
    pending?.reject(error);
  }

  async send(bytes) {
    if (!this.socket) await this.open();
    this.buffer = Buffer.alloc(0);
    this.headEnd = -1;
    this.bodyEnd = -1;
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.socket.write(bytes);
    });
  }

  onData(chunk) {
    if (!this.pending) {
      this.fail(new Error('data received with no request in flight'));
      return;
    }
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    try {
      if (this.headEnd === -1) {
        const end = this.buffer.indexOf(CRLF_CRLF);
        if (end === -1) return;
        this.headEnd = end + 4;
        const head = this.buffer.toString('latin1', 0, end).toLowerCase();
        if (!head.startsWith('http/1.1 ')) throw new Error('not an HTTP/1.1 answer');
        this.status = Number(head.slice(9, 12));
        this.close = /\r\nconnection: *close\r\n/.test(`${head}\r\n`);
        this.chunked = /\r\ntransfer-encoding:[^\r\n]*chunked/.test(head);
        const length = /\r\ncontent-length: *(\d+)/.exec(head);
        if (method === 'HEAD' || this.status === 204 || this.status === 304) this.bodyEnd = this.headEnd;
        else if (!this.chunked && length) this.bodyEnd = this.headEnd + Number(length[1]);
        else if (!this.chunked) throw new Error('answer without Content-Length or chunked framing');
      }
      let end = this.bodyEnd;
      if (this.chunked && end === -1) end = chunkedEnd(this.buffer, this.headEnd);
      if (end === -1 || this.buffer.length < end) return;
      if (this.buffer.length > end) throw new Error('more bytes than the answer announced');
      const pending = this.pending;
      this.pending = undefined;
      if (this.close) {
        this.socket?.destroy();
        this.socket = undefined;
      }
      pending.resolve(this.status);
    } catch (error) {
      this.fail(error);
    }
  }
}

let next = 0;
const errors = new Map();
const latencies = [];
let ok = 0;
const start = performance.now();
const deadline = start + seconds * 1000;
let lastEnd = start;
const connections = [];
async function worker() {
  const connection = new Connection();
  connections.push(connection);
  while (performance.now() < deadline) {
    const bytes = requests[next++ % requests.length];
    const t0 = performance.now();
    let outcome;
    try {
      const status = await connection.send(bytes);
      outcome = status === expected ? 'ok' : `HTTP ${status}`;
    } catch (error) {
      outcome = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    }
    const t1 = performance.now();
    lastEnd = Math.max(lastEnd, t1);
    if (outcome === 'ok') {
      ok++;
      latencies.push(t1 - t0);
    } else {
      errors.set(outcome, (errors.get(outcome) ?? 0) + 1);
    }
  }
}
await Promise.all(Array.from({ length: concurrency }, worker));
for (const connection of connections) {
  connection.socket?.removeAllListeners('close');
  connection.socket?.destroy();
}
latencies.sort((a, b) => a - b);
parentPort.postMessage({ ok, errors: [...errors], latencies, elapsed: (lastEnd - start) / 1000 });
