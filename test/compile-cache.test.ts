import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import module from 'node:module';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, startTesseraProcess } from './helpers.js';

// Issue 22 item 1: on Node 20 `tessera start` compiles the bundle with the V8 code cache of the previous
// start (bin/tessera.js). A code cache is code the server runs, so it is kept only where no other user
// can write: a folder and a file that belong to the server's user, the file mode 0600. Node 22.1+ keeps
// the bundle's compiled code in its own compile cache instead (module.enableCompileCache), where these
// rules are Node's.

/** Starts `bin/tessera.js start` with NODE_COMPILE_CACHE=`cache`, waits for the first answer, stops it. */
async function startOnce(cache: string, database: string): Promise<void> {
  const server = await startTesseraProcess(await freePort(), { NODE_COMPILE_CACHE: cache, TESSERA_DATABASE_URL: `sqlite:${database}` });
  // The cache is written just after the server starts listening.
  await new Promise((r) => setTimeout(r, 500));
  await server.stop();
}

const OWN_CACHE = typeof process.getuid === 'function' && !(module as { enableCompileCache?: unknown }).enableCompileCache;

describe.runIf(OWN_CACHE)('the code cache of the bundle (Node 20)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-compile-cache-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is written to a private folder it makes, as a file only its user may read and write', async () => {
    const cache = join(dir, 'private');
    await startOnce(cache, join(dir, 'a.db'));
    expect(statSync(cache).mode & 0o777).toBe(0o700);
    const files = readdirSync(cache);
    expect(files).toHaveLength(1);
    expect(statSync(join(cache, files[0]!)).mode & 0o777).toBe(0o600);
  }, 60_000);

  it('is not used, nor replaced, when its file may be written by other users', async () => {
    const cache = join(dir, 'private');
    const [file] = readdirSync(cache);
    // Were it read, V8 would refuse this and the start would write a new cache over it.
    writeFileSync(join(cache, file!), 'not a code cache');
    chmodSync(join(cache, file!), 0o666);
    const before = statSync(join(cache, file!)).mtimeMs;
    await startOnce(cache, join(dir, 'a.db'));
    expect(readdirSync(cache)).toEqual([file]);
    expect(statSync(join(cache, file!)).mtimeMs).toBe(before);
    expect(statSync(join(cache, file!)).mode & 0o777).toBe(0o666);
  }, 60_000);

  it('is not used in a folder other users may write: nothing is written there', async () => {
    const cache = join(dir, 'shared');
    mkdirSync(cache);
    chmodSync(cache, 0o777);
    await startOnce(cache, join(dir, 'b.db'));
    expect(existsSync(cache) && readdirSync(cache)).toEqual([]);
  }, 60_000);
});
