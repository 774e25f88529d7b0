import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';

/**
 * Debian's Chromium (`apt-get install -y chromium`; `.ci/run` installs it when missing). Never a browser
 * build downloaded by Playwright: this machine reaches only the npm registry and Debian's packages.
 */
export const CHROMIUM_PATH = process.env.TESSERA_CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Whether the browser suites run: when Chromium is installed. `TESSERA_REQUIRE_BROWSER=1` (set by
 * `.ci/run`) turns a missing Chromium into a failure instead of a skip, so CI never passes without them.
 */
export const HAVE_CHROMIUM = existsSync(CHROMIUM_PATH);
if (!HAVE_CHROMIUM) {
  if (process.env.TESSERA_REQUIRE_BROWSER === '1') throw new Error(`Chromium not found at ${CHROMIUM_PATH} (apt-get install -y chromium)`);
  console.warn(`NOTICE: Chromium not found at ${CHROMIUM_PATH}; the browser suites are skipped (apt-get install -y chromium)`);
}

/**
 * Launches headless Chromium with the flags this workplace needs (no sandbox as root, no GPU, no
 * background networking: outbound connections are refused here). `locale` is the browser's UI language
 * (it sets `Accept-Language`).
 */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}

/** A small HTTP server on 127.0.0.1 standing in for another site (a relying party or an attacker). */
export interface Site {
  server: Server;
  port: number;
  close(): Promise<void>;
}

/** Starts `handler` on an ephemeral port of 127.0.0.1. */
export async function startSite(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Site> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
