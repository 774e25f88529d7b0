import module from 'node:module';

/** Where bin/tessera.js leaves the writer of the bundle's V8 code cache on `process` (Node 20). */
const WRITE_COMPILE_CACHE = Symbol.for('tessera.compileCache.write');

/**
 * Saves the compiled code of the running bundle for the next start (issue 22 item 1: start-up), once
 * `tessera start` serves, so that the cache also holds the functions start-up compiled. Call it before
 * anything changes V8's flags (util/heap.ts): V8 refuses a code cache made under other flags.
 * - Node 20: runs the writer bin/tessera.js left on `process` when it compiled the bundle without a
 *   usable cache (none when the cache was used, or when the server runs from src/ or tsc's dist/).
 * - Node 22.10+: `module.flushCompileCache()`, which writes what Node's own compile cache (enabled by
 *   bin/tessera.js) has gathered so far.
 * Never throws: a cache that cannot be written only means the next start compiles again.
 */
export function writeCompileCache(): void {
  const slots = process as unknown as Record<symbol, (() => void) | undefined>;
  const write = slots[WRITE_COMPILE_CACHE];
  try {
    if (write) write();
    else (module as unknown as { flushCompileCache?: () => void }).flushCompileCache?.();
  } catch {
    // See above.
  }
}
