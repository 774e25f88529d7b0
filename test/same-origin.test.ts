import { describe, expect, it } from 'vitest';
import { isSameOriginPost } from '../src/util/same-origin.js';

const ME = 'https://id.example.com';

describe('isSameOriginPost (the origin check behind the sign-in forms’ CSRF tokens)', () => {
  it.each([
    // [origin, sec-fetch-site, accepted]
    [ME, 'same-origin', true],
    ['null', 'same-origin', true], // our page with Referrer-Policy: no-referrer (Chromium sends Origin: null)
    [undefined, 'same-origin', true],
    [ME, 'same-site', false], // Sec-Fetch-Site wins over a forged-looking Origin
    ['null', 'same-site', false], // a sibling subdomain's no-referrer page
    ['https://evil.example', 'cross-site', false],
    ['null', 'cross-site', false],
    ['null', 'none', false],
    [ME, undefined, true], // plain-HTTP deployments: browsers omit Fetch Metadata
    [undefined, undefined, true], // non-browser clients
    ['null', undefined, false], // cannot be told apart from a sandboxed attacker page
    ['https://evil.example', undefined, false],
    ['https://id.example.com:444', undefined, false],
  ] as const)('Origin %s, Sec-Fetch-Site %s → %s', (origin, site, accepted) => {
    const headers: Record<string, string> = {};
    if (origin !== undefined) headers.origin = origin;
    if (site !== undefined) headers['sec-fetch-site'] = site;
    expect(isSameOriginPost(headers, ME)).toBe(accepted);
  });
});
