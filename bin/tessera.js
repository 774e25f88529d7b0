#!/usr/bin/env node
// The `tessera` executable. It runs the compiled JavaScript in dist/, which `npm ci` / `npm install`
// build through the `prepare` script (`npm run build`): `tessera start` runs the bundle
// dist/bundle/tessera.cjs (scripts/bundle.mjs; the server answers sooner), every other command tsc's
// modules from dist/cli/ (a command loads only the modules it runs: `tessera --help` reads commander and
// the command list, not the 6 MB bundle). When dist/ is missing, or a file under src/ is newer than the
// last build (a checkout being edited), it runs the TypeScript sources through tsx instead and says so on
// stderr, so it never runs stale code.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import module from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

// Node 22.1+ keeps compiled code of loaded modules on disk between starts (os.tmpdir(), or
// NODE_COMPILE_CACHE); Node 20 has no such cache and skips this (see runBundle).
module.enableCompileCache?.();

/**
 * Where src/util/compile-cache.ts finds the writer of the bundle's V8 code cache that {@link runBundle}
 * leaves on `process` (Node 20 only).
 */
const WRITE_COMPILE_CACHE = Symbol.for('tessera.compileCache.write');

/**
 * Whether `path` belongs to user `uid` and no other user may write it (always true where there are no
 * POSIX users, `uid` undefined).
 */
function ownedAndPrivate(path, uid) {
  if (uid === undefined) return true;
  const stats = statSync(path);
  return stats.uid === uid && (stats.mode & 0o022) === 0;
}

/**
 * Runs the bundle (a CommonJS file). Node 22.1+ requires it, and its compile cache (enabled above) keeps
 * the compiled code. Node 20 keeps compiled code only for what is compiled through `vm.Script`, so it is
 * compiled here as Node compiles a CommonJS module, with the V8 code cache of an earlier start when there
 * is one: a file under NODE_COMPILE_CACHE, else os.tmpdir()/tessera-compile-cache-<uid>, named after the
 * bundle's SHA-256 (written by the build: V8 checks only the source's length, its own version and its
 * flags), the Node version and the architecture. A missing or refused cache costs nothing but the
 * compilation; when there was none, or V8 refused it, a writer is left on `process` for `tessera start`
 * to call once it serves (then the cache also holds the functions start compiled), before anything
 * changes V8's flags.
 * A code cache is code this process runs: it is used only from a folder (mode 0700 when made here) and a
 * file that belong to this process's user and that no other user may write, so that another account on
 * the machine cannot plant one in a shared temp folder.
 * @param file the bundle's path
 */
function runBundle(file) {
  if (module.enableCompileCache) {
    module.createRequire(import.meta.url)(file);
    return;
  }
  const source = readFileSync(file, 'utf8');
  let cacheFile;
  let cached;
  try {
    const sha256 = readFileSync(`${file}.sha256`, 'utf8').trim();
    const uid = process.getuid?.();
    const folder = process.env.NODE_COMPILE_CACHE || join(tmpdir(), `tessera-compile-cache-${uid ?? 'user'}`);
    mkdirSync(folder, { recursive: true, mode: 0o700 });
    if (ownedAndPrivate(folder, uid)) {
      const key = createHash('sha256').update(`${sha256}\0${process.version}\0${process.arch}`).digest('hex').slice(0, 32);
      const candidate = join(folder, `${key}.v8`);
      if (!existsSync(candidate)) cacheFile = candidate;
      else if (ownedAndPrivate(candidate, uid)) {
        cacheFile = candidate;
        cached = readFileSync(candidate);
      }
    }
  } catch {
    cacheFile = undefined;
  }
  const script = new vm.Script(module.wrap(source), {
    filename: file,
    cachedData: cached,
    importModuleDynamically: vm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  if (cacheFile && (cached === undefined || script.cachedDataRejected)) {
    process[WRITE_COMPILE_CACHE] = () => {
      delete process[WRITE_COMPILE_CACHE];
      try {
        mkdirSync(dirname(cacheFile), { recursive: true });
        const partial = `${cacheFile}.${process.pid}`;
        writeFileSync(partial, script.createCachedData(), { mode: 0o600 });
        renameSync(partial, cacheFile);
      } catch {
        // A cache that cannot be written (a read-only temp folder) only means the next start compiles again.
      }
    };
  }
  const bundle = new module(file, undefined);
  bundle.filename = file;
  bundle.paths = module._nodeModulePaths(dirname(file));
  script.runInThisContext().call(bundle.exports, bundle.exports, module.createRequire(file), bundle, file, dirname(file));
  bundle.loaded = true;
}

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
  const bundle = `${root}dist/bundle/tessera.cjs`;
  if (process.argv[2] === 'start' && existsSync(bundle)) runBundle(bundle);
  else await import('../dist/cli/main.js');
} else {
  process.stderr.write(
    `tessera: running the TypeScript sources through tsx (dist/ is ${built > 0 ? 'older than src/' : 'missing'}; \`npm run build\` compiles it)\n`,
  );
  const { register } = await import('tsx/esm/api');
  // The checkout's tsconfig.json (JSX through Preact…), wherever the command is run from.
  register({ tsconfig: `${root}tsconfig.json` });
  await import('../src/cli/main.ts');
}
