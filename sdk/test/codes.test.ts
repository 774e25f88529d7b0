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

describe("the Management API's Logto dialect, read back by ManagementClient", () => {
  it('turns every Logto code the server sends back into the Tessera code it came from', async () => {
    const { LOGTO_MANAGEMENT_ERRORS } = await import('../../src/http/management/errors.js');
    const { AppError } = await import('../../src/errors/index.js');
    const { fromLogtoDialect } = await import('../src/logto-dialect.js');
    const { TesseraError } = await import('../src/errors.js');
    const paths: Record<string, string> = {
      'user.not_found': '/api/users/u1',
      'application.not_found': '/api/applications/a1',
      'personal_access_token.not_found': '/api/users/u1/personal-access-tokens/build',
      'hook.not_found': '/api/hooks/h1',
      'log.not_found': '/api/logs/l1',
      'role.not_held': '/api/users/u1/roles/r1',
    };
    const entries = Object.entries(LOGTO_MANAGEMENT_ERRORS);
    expect(entries.length).toBeGreaterThan(10);
    for (const [ours, entry] of entries) {
      const error = new AppError(ours as keyof typeof ERROR_CODES, ours === 'request.invalid' ? { data: { issues: [{ path: 'query.page', code: 'too_small', message: 'x' }] } } : {});
      const wire = typeof entry === 'function' ? entry({} as never, error) : entry!;
      const back = fromLogtoDialect(new TesseraError(wire.code as never, wire.status, wire.message ?? ''), paths[ours] ?? '/api/users') as InstanceType<typeof TesseraError>;
      // Logto's input refusals are one code for several of ours: the SDK reads them as `request.invalid`.
      const general = ['guard.invalid_input', 'request.invalid_input'].includes(wire.code) && ours !== 'request.invalid';
      expect(back.code, `${ours} → ${wire.code}`).toBe(general ? 'request.invalid' : ours);
      expect(back.status).toBe(wire.status);
    }
  });
});
