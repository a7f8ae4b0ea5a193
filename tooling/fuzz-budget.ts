/**
 * The fuzz tests' budget: a short run in `pnpm test` (each run is a new random seed, so CI keeps exploring),
 * a long one on demand, from a package directory:
 * `WIF_FUZZ_RUNS=50000 pnpm exec vitest run --config ../../tooling/vitest.config.ts --testTimeout 0 fuzz`.
 * A failure prints its seed and path; replay it with fast-check's `seed`/`path` options.
 */
const requested = Number(process.env.WIF_FUZZ_RUNS);
const scale = Number.isSafeInteger(requested) && requested > 0 ? requested : undefined;

export function fuzzBudget(numRuns: number, timeLimitMs: number) {
  return scale === undefined
    ? { numRuns, interruptAfterTimeLimit: timeLimitMs, markInterruptAsFailure: false }
    : { numRuns: scale, markInterruptAsFailure: false };
}
