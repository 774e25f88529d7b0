import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/errors/codes.js';

describe('the SDK error-code union', () => {
  // sdk/src/codes.ts is generated from src/errors/codes.ts (sdk/scripts/gen-codes.mjs); this fails while it is stale.
  it('is exactly the server table (run `npm run gen:codes -w sdk` after adding a code)', () => {
    const text = readFileSync(new URL('../src/codes.ts', import.meta.url), 'utf8');
    const sdk = [...text.matchAll(/\|\s*\/\*\s*(\d{3})\s*\*\/\s*'([^']+)'/g)].map((m) => [m[2]!, Number(m[1])] as const);
    const server = Object.entries(ERROR_CODES).map(([code, { status }]) => [code, status] as const);
    expect(sdk.length).toBeGreaterThan(50);
    expect([...sdk].sort()).toEqual([...server].sort());
  });
});
