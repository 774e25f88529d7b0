// `npm run build` (also run by `npm ci` / `npm install` through `prepare`): compiles src/ to dist/ with
// tsc (tsconfig.build.json), bundles the result into dist/bundle/ with esbuild (scripts/bundle.mjs: what
// bin/tessera.js runs, because it starts sooner), then writes dist/.build-stamp, which bin/tessera.js
// compares with the sources. Without TypeScript installed (`npm ci --omit=dev`) it builds nothing and
// says so: the executable then runs the sources through tsx, a runtime dependency.
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { bundle } from './bundle.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  process.stderr.write('tessera build: TypeScript is not installed (dev dependencies omitted); dist/ not built, bin/tessera.js will run src/ through tsx\n');
  process.exit(0);
}
rmSync(`${root}dist`, { recursive: true, force: true });
const result = spawnSync(process.execPath, [tsc, '-p', `${root}tsconfig.build.json`], { stdio: 'inherit' });
if (result.status !== 0) process.exit(result.status ?? 1);
// esbuild comes with tsx (a runtime dependency) and is a dev dependency of its own.
const esbuild = await import('esbuild');
await bundle(root, esbuild);
writeFileSync(`${root}dist/.build-stamp`, `${new Date().toISOString()}\n`);
