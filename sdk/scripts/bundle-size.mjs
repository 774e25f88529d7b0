// Prints the size of the browser bundle (esbuild, ESM, minified, gzipped) of each entry of the SDK after a
// build, and fails when one is over the 15 KB budget (issue 21). The passkey entry's figure includes
// @simplewebauthn/browser, which it imports (an optional peer dependency), as a browser app ships it.
// esbuild comes from the repository's node_modules (a dependency of tsx).
import { gzipSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const BUDGET_BYTES = 15 * 1024;
const here = dirname(fileURLToPath(import.meta.url));
const entries = [
  ['@tessera/sdk', 'index.ts'],
  ['@tessera/sdk/passkey', 'passkey.ts'],
];
let over = false;
for (const [name, file] of entries) {
  const result = await build({
    entryPoints: [join(here, '..', 'src', file)],
    bundle: true,
    format: 'esm',
    minify: true,
    write: false,
    platform: 'browser',
  });
  const bytes = result.outputFiles[0].contents;
  const gz = gzipSync(bytes).length;
  console.log(`browser bundle of ${name}: ${bytes.length} bytes minified, ${gz} bytes gzipped (${(gz / 1024).toFixed(1)} KiB)`);
  if (gz > BUDGET_BYTES) {
    console.error(`the gzipped browser bundle of ${name} is over the 15 KB budget`);
    over = true;
  }
}
if (over) process.exit(1);
