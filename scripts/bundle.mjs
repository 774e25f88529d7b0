// Bundles the compiled server (dist/cli/main.js, tsc's output) and the pure-JavaScript libraries it
// imports into one CommonJS file, dist/bundle/tessera.cjs, which bin/tessera.js runs (issue 22 item 1).
//
// Why: on Node 20 a start resolves, reads and compiles about 1 300 modules one file at a time (a stat
// and a package.json lookup per import, a URL per ES module). Alternated starts of `node bin/tessera.js
// start` on a SQLite file (the note of 2026-12-06 on issue 22): 1 696 ms to the first answer unbundled,
// 1 213 ms as ES module chunks (median of 6 each); then, median of 10 alternated rounds another time,
// 1 644 ms as ES module chunks, 1 529 ms as this one CommonJS file, and 1 350 ms with its V8 code cache,
// which Node 20 keeps only for scripts compiled through `vm.Script` (bin/tessera.js; ES modules have none).
//
// What stays a separate file loaded from node_modules at run time:
// - native addons and the packages that load them (better-sqlite3, @node-rs/*, pg-native);
// - packages required through `createRequire(import.meta.url)(name)` in src/ (pg, ioredis, nodemailer,
//   libphonenumber-js, @zxcvbn-ts/*): esbuild leaves such calls alone, and they resolve from
//   dist/bundle/ up to the same node_modules;
// - @fastify/swagger-ui and @fastify/static, which serve files from their own folders;
// - the libraries src/ imports only when first needed (svg-captcha, qrcode, @simplewebauthn/server,
//   prom-client), so that a start does not parse them: their `import()` becomes a `require()` at that
//   first use;
// - Fastify's default schema compilers (ajv, fast-json-stringify and their wrappers): Fastify requires
//   them only when a route has no compiler of its own, which no Tessera route lacks (app.ts).
// test/start-lazy-modules.test.ts checks that none of these is loaded at start.
// An external package is required at run time from dist/bundle/, so the build checks that it resolves
// there to the same file as from the module that imports it (one copy in node_modules, no nested version).
// Tessera's own modules that src/ imports with `import()` (the CLI's commands, the surfaces' optional
// parts) are in the file but run only when first imported.
//
// node_modules stays where it is (the bundle is not a standalone artefact), so a bundled CommonJS module
// that reads its own files (`__dirname`, `__filename`: pino's worker, swagger's package.json) is given its
// original location, computed at run time from the bundle's own folder and the path from dist/bundle/ to
// the module's folder; a Docker image that copies dist/ and node_modules/ side by side keeps the relation.
// `import.meta.url` (src/ uses it only for createRequire) becomes the bundle's own URL.
//
// Also writes dist/bundle/meta.json (esbuild's metafile: which modules the bundle holds, read by
// test/start-lazy-modules.test.ts) and dist/bundle/tessera.cjs.sha256 (the bundle's SHA-256, which names
// its code cache: V8 itself checks only the source's length).
import { createHash } from 'node:crypto';
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
  'svg-captcha',
  'qrcode',
  '@simplewebauthn/server',
  'prom-client',
];

/** The bundle, relative to the checkout. */
export const BUNDLE = 'dist/bundle/tessera.cjs';

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
 * Bundles `${root}dist/cli/main.js` into `${root}${BUNDLE}`, with meta.json and the SHA-256 beside it.
 * @param root the checkout's folder, with a trailing slash
 * @param esbuild the esbuild module (its `build` function)
 * @returns the bundle's SHA-256 (hex)
 * @throws esbuild's error when an import cannot be resolved or a file does not parse; Error when the
 *   output holds a raw U+2028/U+2029
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
    outfile: `${root}${BUNDLE}`,
    bundle: true,
    format: 'cjs',
    charset: 'ascii',
    platform: 'node',
    target: 'node20.19',
    // `import('x')` of an external package becomes `require('x')` when first run.
    supported: { 'dynamic-import': false },
    define: { 'import.meta.url': '__tesseraImportMetaUrl' },
    // The bundle's own folder and URL, for ownLocation and import.meta.url.
    banner: {
      js:
        "const __tesseraBundlePath = require('node:path');\n" +
        'const __tesseraBundleDir = __dirname;\n' +
        "const __tesseraImportMetaUrl = require('node:url').pathToFileURL(__filename).href;",
    },
    plugins: [externals, ownLocation],
    // No source maps, as tsc writes none for dist/: each module in the bundle starts with a comment naming
    // its file (`// dist/domain/sign-in/auth.js`), and names are kept (nothing is minified).
    sourcemap: false,
    metafile: true,
    logLevel: 'warning',
  });
  // esbuild escapes non-ASCII characters in code (`charset: 'ascii'`) but keeps the comments it keeps as
  // they are. One such character makes V8 hold the whole source as a two-byte string, and Node decode
  // it the slow way (a 3.5 MB file: 24–27 ms instead of 10–11 ms). They are escaped here as UTF-16 code
  // units, which means the same thing should one ever be in code.
  const path = `${root}${BUNDLE}`;
  let text = await readFile(path, 'utf8');
  // A line or paragraph separator ends a `//` comment: escaped, it would no longer.
  if (/[\u2028\u2029]/.test(text)) throw new Error(`${BUNDLE}: a raw U+2028 or U+2029 that escaping could change the meaning of`);
  text = text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  await writeFile(path, text);
  const sha256 = createHash('sha256').update(text).digest('hex');
  await writeFile(`${path}.sha256`, `${sha256}\n`);
  await writeFile(`${outdir}/meta.json`, JSON.stringify(result.metafile));
  return sha256;
}
