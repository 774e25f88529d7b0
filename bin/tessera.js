#!/usr/bin/env node
// The `tessera` executable. It runs the compiled JavaScript in dist/, which `npm ci` / `npm install`
// build through the `prepare` script (`npm run build`): the bundle in dist/bundle/ (scripts/bundle.mjs;
// it starts sooner), else tsc's modules in dist/cli/. When dist/ is missing, or a file under src/ is
// newer than the last build (a checkout being edited), it runs the TypeScript sources through tsx
// instead and says so on stderr, so it never runs stale code.
import { existsSync, readdirSync, statSync } from 'node:fs';
import module from 'node:module';
import { fileURLToPath } from 'node:url';

// Node 22.1+ keeps compiled code of loaded modules on disk between starts (os.tmpdir()); Node 20 has no
// such cache and skips this.
module.enableCompileCache?.();

const root = fileURLToPath(new URL('..', import.meta.url));
const stamp = `${root}dist/.build-stamp`;

/** The newest modification time (ms) of the files under `dir`, or 0 when it does not exist. */
function newest(dir) {
  let latest = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const file = `${dir}/${entry.name}`;
    latest = Math.max(latest, entry.isDirectory() ? newest(file) : statSync(file).mtimeMs);
  }
  return latest;
}

const built = existsSync(stamp) ? statSync(stamp).mtimeMs : 0;
if (built > 0 && newest(`${root}src`) <= built) {
  await import(existsSync(`${root}dist/bundle/main.js`) ? '../dist/bundle/main.js' : '../dist/cli/main.js');
} else {
  process.stderr.write(
    `tessera: running the TypeScript sources through tsx (dist/ is ${built > 0 ? 'older than src/' : 'missing'}; \`npm run build\` compiles it)\n`,
  );
  const { register } = await import('tsx/esm/api');
  // The checkout's tsconfig.json (JSX through Preact…), wherever the command is run from.
  register({ tsconfig: `${root}tsconfig.json` });
  await import('../src/cli/main.ts');
}
