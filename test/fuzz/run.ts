/**
 * `npm run fuzz [-- --runs N --seed S --pg URL]`: the OpenAPI fuzzer of test/fuzz/openapi-fuzz.ts for
 * longer than the test suite runs it; prints the answers by HTTP status and every 5xx. Exit code 1 when
 * any request answered 5xx. SQLite in memory unless `--pg` names a PostgreSQL server (a fresh database
 * is created on it and dropped).
 */
import { parseArgs } from 'node:util';
import { freshPgDatabase } from '../helpers.js';
import { fuzz, startFuzzTarget } from './openapi-fuzz.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '20000' }, seed: { type: 'string' }, pg: { type: 'string' } } });
const runs = Number(values.runs);
const seed = values.seed !== undefined ? Number(values.seed) : Date.now() % 2 ** 31;
const db = values.pg ? await freshPgDatabase(values.pg) : { url: 'sqlite::memory:', drop: async () => {} };
const t = await startFuzzTarget(db.url);
const started = Date.now();
try {
  const report = await fuzz(t, runs, seed);
  console.log(`Tessera OpenAPI fuzz: ${report.requests} requests on ${values.pg ? 'postgres' : 'sqlite'}, seed ${seed}, ${((Date.now() - started) / 1000).toFixed(1)} s`);
  for (const [status, count] of Object.entries(report.statuses).sort()) console.log(`  ${status}: ${count}`);
  console.log(`  5xx: ${report.failures.length}`);
  for (const f of report.failures.slice(0, 20)) console.log(`  ${f.status} ${f.method} ${f.url} body=${JSON.stringify(f.body)} → ${f.answer}`);
  process.exitCode = report.failures.length > 0 ? 1 : 0;
} finally {
  await t.close();
  await db.drop();
}
