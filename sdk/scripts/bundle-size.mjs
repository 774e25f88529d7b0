// Prints the size of the browser bundle (esbuild, ESM, minified, gzipped) of the SDK after a build.
// esbuild comes from the repository's node_modules (a dependency of tsx).
import { gzipSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const result = await build({
  entryPoints: [join(here, '..', 'src', 'index.ts')],
  bundle: true,
  format: 'esm',
  minify: true,
  write: false,
  platform: 'browser',
});
const bytes = result.outputFiles[0].contents;
const gz = gzipSync(bytes).length;
console.log(`browser bundle: ${bytes.length} bytes minified, ${gz} bytes gzipped (${(gz / 1024).toFixed(1)} KiB)`);
if (gz > 15 * 1024) {
  console.error('the gzipped browser bundle is over the 15 KB budget');
  process.exit(1);
}
