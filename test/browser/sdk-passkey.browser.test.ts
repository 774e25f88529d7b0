import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAVE_CHROMIUM, launchChromium } from './chromium.js';
import { type LocalhostApp, openSameOriginPage, passkeyUser, startAppOnLocalhost } from './passkey.js';

/**
 * Issue 21: the SDK's passkey step in real Chromium with a virtual authenticator. The SDK's two entries
 * (`@tessera/sdk` and `@tessera/sdk/passkey`, with @simplewebauthn/browser) are bundled for the browser
 * with esbuild and run on a page of the server's origin: password sign-in → `auth.mfa_required` →
 * `signInWithPasskey` → a signed-in client.
 */
const PW = 'amber-quarry-51-willow';

/** What the bundle puts on `window.TesseraSdk`. */
type Sdk = Pick<typeof import('../../sdk/src/index.js'), 'AuthenticationClient' | 'isMfaRequired' | 'isTesseraError'> &
  Pick<typeof import('../../sdk/src/passkey.js'), 'browserSupportsWebAuthn' | 'signInWithPasskey'>;

/** The SDK for a classic script: `window.TesseraSdk = {AuthenticationClient, isMfaRequired, isTesseraError, signInWithPasskey}`. */
async function sdkBundle(): Promise<string> {
  const result = await build({
    stdin: {
      contents: `import { AuthenticationClient, isMfaRequired, isTesseraError } from './src/index.ts';
import { browserSupportsWebAuthn, signInWithPasskey } from './src/passkey.ts';
window.TesseraSdk = { AuthenticationClient, isMfaRequired, isTesseraError, browserSupportsWebAuthn, signInWithPasskey };`,
      resolveDir: fileURLToPath(new URL('../../sdk/', import.meta.url)),
      loader: 'ts',
    },
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    write: false,
  });
  return result.outputFiles[0]!.text;
}

describe.skipIf(!HAVE_CHROMIUM)('SDK passkey sign-in in Chromium', () => {
  let t: LocalhostApp;
  let browser: Browser;
  let sdk: string;

  beforeAll(async () => {
    t = await startAppOnLocalhost();
    await t.app.services.accountCenter.update({ enabled: true, fields: { mfa: 'Edit' } });
    sdk = await sdkBundle();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('password sign-in → auth.mfa_required → signInWithPasskey → signed in; a wrong mfaToken is a TesseraError', async () => {
    const user = await passkeyUser(browser, t, `sdkpasskey${Date.now().toString(36)}`, PW);
    const { page, username } = user;
    try {
      await openSameOriginPage(page, t.origin, 'sdk', [{ path: '/__test/sdk.js', source: sdk }]);
      const result = await page.evaluate(
        async ({ username, password }) => {
          const { AuthenticationClient, isMfaRequired, isTesseraError, browserSupportsWebAuthn, signInWithPasskey } = (window as unknown as { TesseraSdk: Sdk }).TesseraSdk;
          const auth = new AuthenticationClient({ appHost: location.origin });
          let pending: { pendingSignInId: string; factors: string[] } | undefined;
          try {
            await auth.loginByUsername(username, password);
          } catch (e) {
            if (!isMfaRequired(e)) throw e;
            pending = e.data;
          }
          if (!pending) throw new Error('no auth.mfa_required');
          let wrongToken: unknown;
          try {
            await signInWithPasskey(auth, { mfaToken: 'mfa_not-a-pending-sign-in' });
          } catch (e) {
            wrongToken = isTesseraError(e) ? { code: e.code, status: e.status } : String(e);
          }
          const tokenBefore = auth.getToken();
          const signedIn = await signInWithPasskey(auth, { mfaToken: pending.pendingSignInId });
          const me = await auth.getCurrentUser();
          return {
            supported: browserSupportsWebAuthn(),
            factors: pending.factors,
            wrongToken,
            tokenBefore,
            signedIn: { id: signedIn.id, username: signedIn.username, hasToken: typeof signedIn.token === 'string' && signedIn.token.length > 0 },
            clientToken: auth.getToken() === signedIn.token,
            me: me && { id: me.id, username: me.username },
          };
        },
        { username, password: PW },
      );
      expect(result).toEqual({
        supported: true,
        factors: ['webauthn'],
        wrongToken: { code: 'auth.mfa_sign_in_expired', status: 400 },
        tokenBefore: null,
        signedIn: { id: user.id, username, hasToken: true },
        clientToken: true,
        me: { id: user.id, username },
      });
      await expect(user.signCount()).resolves.toBeGreaterThan(0);
      expect(user.seen).toEqual({ violations: [], errors: [] });
    } finally {
      await user.context.close();
    }
  }, 60_000);
});
