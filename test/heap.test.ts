import { spawnSync } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/index.js';
import { limitHeapGrowth } from '../src/util/heap.js';

// Issue 22 item 5: `tessera start` caps V8's heap growing factor (util/heap.ts). The effect is measured in
// child processes running the same workload: a 50 MiB live set whose entries are promoted to the old
// generation and then die, as a busy server's request objects do.

const dir = mkdtempSync(join(tmpdir(), 'tessera-heap-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const script = join(dir, 'churn.mjs');
writeFileSync(
  script,
  `import v8 from 'node:v8';
const { limitHeapGrowth } = await import(process.env.HEAP_MODULE);
const applied = limitHeapGrowth(Number(process.env.PERCENT));
const ring = new Array(150000);
let peak = 0;
for (let i = 0; i < 1500000; i++) {
  ring[i % ring.length] = { i, a: new Array(20).fill(i), s: 'entry ' + i };
  if (i % 2000 === 0) { peak = Math.max(peak, v8.getHeapStatistics().total_heap_size); await new Promise((r) => setImmediate(r)); }
}
process.stdout.write(JSON.stringify({ applied, peakMiB: peak / 2 ** 20 }));
`,
);

function churn(percent: number, execArgv: string[] = []): { applied: boolean; peakMiB: number } {
  const r = spawnSync(process.execPath, [...execArgv, '--import', 'tsx', script], {
    env: { ...process.env, PERCENT: String(percent), HEAP_MODULE: new URL('../src/util/heap.ts', import.meta.url).href },
    encoding: 'utf8',
  });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { applied: boolean; peakMiB: number };
}

describe('heap growth limit (TESSERA_HEAP_GROWING_PERCENT)', () => {
  it('defaults to 50 and accepts 0 (V8 decides); refuses negative values', () => {
    expect(parseConfig({}).heapGrowingPercent).toBe(50);
    expect(parseConfig({ heapGrowingPercent: 0 }).heapGrowingPercent).toBe(0);
    expect(() => parseConfig({ heapGrowingPercent: -1 })).toThrow();
  });

  it('is not applied for 0 or when the process was started with its own --heap-growing-percent', () => {
    expect(limitHeapGrowth(0)).toBe(false);
    expect(limitHeapGrowth(50, ['--heap-growing-percent=20'])).toBe(false);
    expect(limitHeapGrowth(50, ['--heap_growing_percent', '20'])).toBe(false);
  });

  it('keeps the heap of a process promoting short-lived objects well below what V8 grows it to by itself', () => {
    const own = churn(0);
    const limited = churn(50);
    expect(own.applied).toBe(false);
    expect(limited.applied).toBe(true);
    expect(limited.peakMiB).toBeLessThan(own.peakMiB * 0.75);
  }, 60_000);
});
