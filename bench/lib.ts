/** Small helpers shared by the benchmarks under bench/. */

/**
 * A positive number from a command-line flag, else an environment variable, else `fallback`.
 * @throws Error naming the variable when the value is not a positive number
 */
export function numberOption(flag: string | undefined, envName: string, fallback: number): number {
  const raw = flag ?? process.env[envName];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${envName}/--option must be a positive number, got ${raw}`);
  return value;
}

/** The `q`-quantile (0..1) of ascending `sorted`, nearest-rank; NaN when empty. */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
