// Bundles the compiled server (dist/cli/main.js, tsc's output) and the pure-JavaScript libraries it
// imports into ES module chunks under dist/bundle/, which bin/tessera.js runs (issue 22 item 1).
//
// Why: on Node 20 a start resolves, reads and compiles about 1 300 modules one file at a time (a stat
// and a package.json lookup per import, a URL per ES module). The bundle is a few dozen files: at the
// time of writing `node bin/tessera.js start` answered its first request in a median 1 333 ms against
// 2 089 ms unbundled (6 alternated starts each, SQLite; /work/prof style A/B in the issue note).
//
// What stays a separate file loaded from node_modules at run time:
// - native addons and the packages that load them (better-sqlite3, @node-rs/*, pg-native);
// - packages required through `createRequire(import.meta.url)(name)` in src/ (pg, ioredis, nodemailer,
//   libphonenumber-js, @zxcvbn-ts/*): esbuild leaves such calls alone, and they resolve from
//   dist/bundle/ up to the same node_modules;
// - @fastify/swagger-ui and @fastify/static, which serve files from their own folders;
// - Fastify's default schema compilers (ajv, fast-json-stringify and their wrappers): Fastify requires
//   them only when a route has no compiler of its own, which no Tessera route lacks (app.ts); bundled,
//   they would sit in the chunk that start loads (test/start-lazy-modules.test.ts).
// An external package is required at run time from dist/bundle/, so the build checks that it resolves
// there to the same file as from the module that imports it (one copy in node_modules, no nested version).
// A dynamic `import('x')` becomes its own chunk, loaded only when the import runs (lazy modules stay lazy).
//
// node_modules stays where it is (the bundle is not a standalone artefact), so a bundled CommonJS module
// that reads its own files (`__dirname`, `__filename`: svg-captcha's font, pino's worker, swagger's
// package.json) is given its original location, computed at run time from the chunk's own URL and the
// path from dist/bundle/ to the module's folder; a Docker image that copies dist/ and node_modules/ side by
// side keeps the relation.
//
// Writes dist/bundle/meta.json (esbuild's metafile: which inputs each chunk holds), read by
// test/start-lazy-modules.test.ts.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';

/** Packages never bundled (see above); `scope/*` stands for every package of a scope. */
export const EXTERNAL = [
  'better-sqlite3',
  '@node-rs/*',
  'pg-native',
  '@fastify/swagger-ui',
  '@fastify/static',
  'ajv',
  'ajv-formats',
  '@fastify/ajv-compiler',
  '@fastify/fast-json-stringify-compiler',
  'fast-json-stringify',
];

/** The package an import specifier names (`@scope/name` or `name`), or undefined for a relative path or builtin. */
function packageName(specifier) {
  if (/^(\.|\/|node:)/.test(specifier)) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** Whether `name` is one of {@link EXTERNAL}. */
function isExternal(name) {
  return EXTERNAL.some((pattern) => (pattern.endsWith('/*') ? name.startsWith(pattern.slice(0, -1)) : name === pattern));
}

/**
 * Bundles `${root}dist/cli/main.js` into `${root}dist/bundle/`.
 * @param root the checkout's folder, with a trailing slash
 * @param esbuild the esbuild module (its `build` function)
 * @returns the output files' names (relative to dist/bundle/)
 * @throws esbuild's error when an import cannot be resolved or a file does not parse
 */
export async function bundle(root, esbuild) {
  const outdir = `${root}dist/bundle`;
  await rm(outdir, { recursive: true, force: true });
  // Defines a module's original __dirname and __filename where its source names them.
  const ownLocation = {
    name: 'tessera-own-location',
    setup(build) {
      build.onLoad({ filter: /[\\/]node_modules[\\/].*\.(c?js)$/ }, async (args) => {
        const source = await readFile(args.path, 'utf8');
        if (!/\b__(dirname|filename)\b/.test(source)) return undefined;
        const folder = relative(outdir, dirname(args.path)).split('\\').join('/');
        const file = relative(outdir, args.path).split('\\').join('/');
        const prelude =
          `var __dirname = __tesseraBundlePath.join(__tesseraBundleDir, ${JSON.stringify(folder)}), ` +
          `__filename = __tesseraBundlePath.join(__tesseraBundleDir, ${JSON.stringify(file)});`;
        // One line, so that the module's own line numbers stay as they are in its file.
        return { contents: `${prelude}${source}`, loader: 'js', resolveDir: dirname(args.path) };
      });
    },
  };
  // Leaves the EXTERNAL packages out, after checking that dist/bundle/ reaches the same copy of each.
  const externals = {
    name: 'tessera-externals',
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, (args) => {
        const name = packageName(args.path);
        if (name === undefined || !isExternal(name)) return undefined;
        const resolve = (from) => {
          try {
            return createRequire(join(from, 'x.js')).resolve(args.path);
          } catch {
            return undefined;
          }
        };
        const wanted = resolve(args.resolveDir);
        const reached = resolve(outdir);
        if (wanted !== undefined && wanted !== reached) {
          return { errors: [{ text: `${args.path} would resolve to ${reached ?? 'nothing'} from dist/bundle/, not to ${wanted} as from ${args.importer}` }] };
        }
        return { path: args.path, external: true };
      });
    },
  };
  const result = await esbuild.build({
    absWorkingDir: root.replace(/[\\/]$/, ''),
    entryPoints: [`${root}dist/cli/main.js`],
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    charset: 'ascii',
    platform: 'node',
    target: 'node20.19',
    // CommonJS modules inside an ES module chunk reach Node's builtins and external packages through this
    // `require`; the two others locate a module's own files (ownLocation).
    banner: {
      js:
        "import { createRequire as __tesseraCreateRequire } from 'node:module';\n" +
        "import __tesseraBundlePath from 'node:path';\n" +
        "import { fileURLToPath as __tesseraFileURLToPath } from 'node:url';\n" +
        'const require = __tesseraCreateRequire(import.meta.url);\n' +
        'const __tesseraBundleDir = __tesseraBundlePath.dirname(__tesseraFileURLToPath(import.meta.url));',
    },
    plugins: [externals, ownLocation],
    // No source maps, as tsc writes none for dist/: each module in a chunk starts with a comment naming
    // its file (`// dist/domain/sign-in/auth.js`), and names are kept (nothing is minified).
    sourcemap: false,
    metafile: true,
    logLevel: 'warning',
  });
  // esbuild escapes non-ASCII characters in code (`charset: 'ascii'`) but keeps the comments it keeps as
  // they are. One such character makes Node decode the whole chunk the slow way and V8 hold its source
  // as a two-byte string: the 3.5 MB chunk start loads took 24–27 ms to decode instead of 10–11 ms. They
  // are escaped here as UTF-16 code units, which means the same thing should one ever be in code.
  for (const file of Object.keys(result.metafile.outputs)) {
    const path = join(root, file);
    const text = await readFile(path, 'utf8');
    if (/[^\x00-\x7f]/.test(text)) await writeFile(path, text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
  }
  await writeFile(`${outdir}/meta.json`, JSON.stringify(result.metafile));
  return Object.keys(result.metafile.outputs).map((file) => relative(outdir, `${root}${file}`));
}
