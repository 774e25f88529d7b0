import { type Kysely, sql } from 'kysely';
import type { Database } from './schema.js';

/**
 * Which trigrams most users' searchable columns hold, from a sample of users, so that a substring search
 * asks its trigram index only for the selective part of a pattern (issue 22 item 4).
 *
 * Why: a trigram index answers `%user_4242%` by intersecting the posting lists of the pattern's trigrams.
 * Among a million users named `user_<n>`, `use` and `ser` are held by every user: measured on 1 000 000
 * seeded users, PostgreSQL's GIN scan for the whole pattern read 688 buffers in 8.2 ms, against 10 buffers
 * in 0.3–0.5 ms for `%4242%` alone, with the same 622 candidates; SQLite's FTS5 query `"user" AND "4242"`
 * took 1.7 ms against 0.46 ms for `"4242"`, and the whole search statement 2.5–4.1 ms against 0.9–1.2 ms.
 * Leaving such trigrams out widens the candidates at most by what those trigrams excluded, which is
 * little when they are common; the exact per-column condition still decides every row, so results never
 * change, only how quickly they are found.
 *
 * This is the statistics a query planner keeps, at the level the trigram indexes work on: each store reads
 * a sample of at most {@link SAMPLE_ROWS} users (every user when there are no more) and counts, per
 * trigram, the sampled users that hold it in one of the five searchable columns (lower-cased, code points,
 * windows within one column as FTS5's trigram tokenizer makes them). A trigram held by at least
 * {@link COMMON_TRIGRAM_SHARE} of them is common. The sample is read again when it is older than
 * {@link SAMPLE_MAX_AGE_MS}; each process keeps its own, and nodes that disagree still answer alike.
 */

/** Share of sampled users (0–1) at which a trigram counts as common and is not looked up. */
export const COMMON_TRIGRAM_SHARE = 0.5;

/** Most users a sample reads. */
export const SAMPLE_ROWS = 512;

/** Age in milliseconds after which the next search reads a new sample (10 minutes). */
export const SAMPLE_MAX_AGE_MS = 10 * 60_000;

/** SQLite: the sample is read as this many runs of consecutive rowids, each one B-tree seek. */
const SQLITE_SAMPLE_RUNS = 16;

/** Fewest characters a trigram index can look up (pg_trgm and FTS5's trigram tokenizer alike). */
export const TRIGRAM = 3;

/** The searchable columns of a sampled user, as read. */
interface SampledUser {
  id: string | null;
  username: string | null;
  primary_email: string | null;
  primary_phone: string | null;
  name: string | null;
}

/** Text of ASCII characters only. */
const ASCII = /^[\x00-\x7f]*$/;

/** The code points of `text`, each lower-cased alone (so indexes stay aligned with the original's). */
function lowerCodePoints(text: string): string[] {
  const points: string[] = [];
  for (const c of text) points.push(c.toLowerCase());
  return points;
}

/**
 * The trigrams held by at least `share` of `users` (lower-cased, within one column).
 * @param users the sampled users' searchable columns
 * @param share 0–1
 */
export function commonTrigrams(users: readonly SampledUser[], share = COMMON_TRIGRAM_SHARE): Set<string> {
  const held = new Map<string, number>();
  for (const user of users) {
    const own = new Set<string>();
    for (const value of [user.id, user.username, user.primary_email, user.primary_phone, user.name]) {
      if (!value) continue;
      if (ASCII.test(value)) {
        // One code unit per code point, and lower-casing the whole string is lower-casing each: no arrays.
        // The count runs on the event loop; for 512 users of the benchmark's shape it took 30–35 ms cold
        // this way against 45–66 ms through lowerCodePoints (2026-12-06, separate processes).
        const lower = value.toLowerCase();
        for (let i = 0; i + TRIGRAM <= lower.length; i++) own.add(lower.slice(i, i + TRIGRAM));
        continue;
      }
      const points = lowerCodePoints(value);
      for (let i = 0; i + TRIGRAM <= points.length; i++) own.add(points[i]! + points[i + 1]! + points[i + 2]!);
    }
    for (const trigram of own) held.set(trigram, (held.get(trigram) ?? 0) + 1);
  }
  const common = new Set<string>();
  if (users.length === 0) return common;
  for (const [trigram, n] of held) if (n >= share * users.length) common.add(trigram);
  return common;
}

/**
 * The parts of `runs` worth asking a trigram index for: each run (a literal that every match contains, at
 * least {@link TRIGRAM} code points) is cut where its trigrams are common, and each stretch of uncommon
 * trigrams becomes one substring (so also contained in every match). `runs` unchanged when every trigram
 * of every run is common (the index's intersection is then the best it can do) or `common` is empty.
 * Trigrams are compared lower-cased; the substrings keep the runs' own case.
 * @example selectiveSubstrings(['user', '4242'], new Set(['use', 'ser'])) // ['4242']
 * @example selectiveSubstrings(['user_4242'], new Set(['use', 'ser', 'er_'])) // ['r_4242']
 */
export function selectiveSubstrings(runs: readonly string[], common: ReadonlySet<string>): string[] {
  if (common.size === 0) return [...runs];
  const selective: string[] = [];
  for (const run of runs) {
    const original = [...run];
    const points = lowerCodePoints(run);
    let start = -1;
    for (let i = 0; i + TRIGRAM <= points.length; i++) {
      if (!common.has(points[i]! + points[i + 1]! + points[i + 2]!)) {
        if (start < 0) start = i;
      } else if (start >= 0) {
        // Trigrams start … i − 1 are uncommon: characters start … i + 1.
        selective.push(original.slice(start, i + TRIGRAM - 1).join(''));
        start = -1;
      }
    }
    if (start >= 0) selective.push(original.slice(start).join(''));
  }
  return selective.length > 0 ? selective : [...runs];
}

/** One database's sample, read when first needed and again when stale (one per database: user-list.ts `trigramStatistics`). */
export class TrigramStatistics {
  private common: Set<string> | undefined;
  private readAt = 0;
  private reading: Promise<Set<string>> | undefined;

  /**
   * @param countUsers the number of users (user-list.ts `countUsers`: the trigger-kept counter)
   * @param now clock in milliseconds (tests move it)
   */
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: 'sqlite' | 'postgres',
    private readonly countUsers: () => Promise<number>,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The common trigrams ({@link commonTrigrams}) of a sample at most {@link SAMPLE_MAX_AGE_MS} old. The
   * first call reads the sample; later ones answer from memory, and a stale sample is replaced by one read
   * (concurrent callers share it). Never throws: if the sample cannot be read, no trigram is common.
   */
  async commonTrigrams(): Promise<ReadonlySet<string>> {
    if (this.common && this.now() - this.readAt < SAMPLE_MAX_AGE_MS) return this.common;
    this.reading ??= this.sample()
      .then((users) => commonTrigrams(users))
      .catch(() => new Set<string>())
      .then((common) => {
        this.common = common;
        this.readAt = this.now();
        this.reading = undefined;
        return common;
      });
    return this.reading;
  }

  /** At most {@link SAMPLE_ROWS} users' searchable columns, spread over the table. */
  private async sample(): Promise<SampledUser[]> {
    const columns = ['id', 'username', 'primary_email', 'primary_phone', 'name'] as const;
    const total = await this.countUsers();
    if (total <= SAMPLE_ROWS) return this.db.selectFrom('users').select(columns).limit(SAMPLE_ROWS).execute();
    if (this.dialect === 'postgres') {
      // Random pages (TABLESAMPLE SYSTEM reads only those): twice the rows wanted, on average.
      const percent = Math.min(100, (200 * SAMPLE_ROWS) / total);
      const r = await sql<SampledUser>`select id, username, primary_email, primary_phone, name from users tablesample system (${sql.lit(percent)}) limit ${SAMPLE_ROWS}`.execute(this.db);
      return r.rows;
    }
    // SQLite: a few runs of consecutive rowids from random starting points, one B-tree seek each (1 000
    // random single rows took 40–58 ms from a cold million-user file).
    // Two subqueries: SQLite reads a lone min() or max() off the B-tree's edge, but scans the whole table
    // for both in one SELECT (204 ms at a million users).
    const bounds = await sql<{ lo: number; hi: number }>`select (select min(rowid) from users) as lo, (select max(rowid) from users) as hi`.execute(this.db);
    const { lo, hi } = bounds.rows[0]!;
    const perRun = Math.ceil(SAMPLE_ROWS / SQLITE_SAMPLE_RUNS);
    const starts = Array.from({ length: SQLITE_SAMPLE_RUNS }, () => Number(lo) + Math.floor(Math.random() * (Number(hi) - Number(lo) + 1)));
    const runs = await Promise.all(
      starts.map((start) => sql<SampledUser>`select id, username, primary_email, primary_phone, name from users where rowid >= ${start} order by rowid limit ${perRun}`.execute(this.db)),
    );
    return runs.flatMap((r) => r.rows);
  }
}
