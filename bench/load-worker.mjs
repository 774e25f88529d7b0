// Load generator thread for the benchmarks (bench/lib.ts `loadInWorker`). Plain JavaScript so that it
// runs in a worker thread without a TypeScript loader.
//
// Input (workerData): { url, method, headers, bodies: string[] | null, concurrency, seconds, expected }
// Runs `concurrency` keep-alive requests in a closed loop for `seconds` (send, read the whole answer,
// send the next; bodies are used in turn), then posts
// { ok, errors: [[outcome, count]…], latencies: number[] (ms, ascending), elapsed (s) }.
import http from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';

const { url, method, headers, bodies, concurrency, seconds, expected } = workerData;
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });

function send(body) {
  return new Promise((resolve, reject) => {
    const h = body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) };
    const request = http.request(url, { method, agent, headers: h }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(body);
  });
}

let next = 0;
const errors = new Map();
const latencies = [];
let ok = 0;
const start = performance.now();
const deadline = start + seconds * 1000;
let lastEnd = start;
async function worker() {
  while (performance.now() < deadline) {
    const body = bodies ? bodies[next++ % bodies.length] : undefined;
    const t0 = performance.now();
    let outcome;
    try {
      const status = await send(body);
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
agent.destroy();
latencies.sort((a, b) => a - b);
parentPort.postMessage({ ok, errors: [...errors], latencies, elapsed: (lastEnd - start) / 1000 });
