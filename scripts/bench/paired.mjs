// What every comparison in `pnpm bench` shares: paired rounds in alternating order, the spread of the
// per-round ratio, the machine's load, and one JSON document per benchmark with `--json`.
//
// Why paired and alternating: on a shared machine the load changes from second to second. Measuring A and B
// back to back in one round, and swapping who goes first every round (A B, B A, A B, ...), puts both under
// the same load and leaves neither the first slot nor the other's garbage to one side only. Each round gives
// one ratio A / B; min / median / max over the rounds is what is reported, and only ratios are targets.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { availableParallelism, cpus, loadavg } from "node:os";

/** Rounds for a benchmark: BENCH_ROUNDS when set (to raise them), else the benchmark's modest default. */
export function roundsFrom(defaultRounds) {
  const fromEnv = Number(process.env.BENCH_ROUNDS);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : defaultRounds;
}

/** True when the benchmark should print one JSON document instead of text. */
export const JSON_OUTPUT = process.argv.includes("--json");

/**
 * `rounds` paired rounds: each runs `measure(a)` and `measure(b)` back to back, `a` first in even rounds and
 * `b` first in odd ones. Returns [{ a, b }] per round, with whatever `measure` returned.
 */
export async function pairedRounds(rounds, a, b, measure) {
  const pairs = [];
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? [a, b] : [b, a];
    const results = new Map();
    for (const side of order) results.set(side, await measure(side, round));
    pairs.push({ a: results.get(a), b: results.get(b) });
  }
  return pairs;
}

/** { min, median, max } of numbers (the median of an even count is the mean of the middle two). */
export function spread(values) {
  const sorted = [...values].sort((x, y) => x - y);
  if (sorted.length === 0) return { min: Number.NaN, median: Number.NaN, max: Number.NaN };
  const middle = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  return { min: sorted[0], median, max: sorted[sorted.length - 1] };
}

/** The spread of a / b over paired rounds, `value` picking the figure from each side's result. */
export function ratioSpread(pairs, value) {
  return spread(pairs.map((pair) => value(pair.a) / value(pair.b)));
}

/** "0.312 / 0.330 / 0.351" */
export function formatSpread(s, digits = 3) {
  return `${s.min.toFixed(digits)} / ${s.median.toFixed(digits)} / ${s.max.toFixed(digits)}`;
}

/** "met" or "NOT met" for a median against a target (`atMost`: lower is better). */
export function verdict(s, target, atMost = true) {
  return (atMost ? s.median <= target : s.median >= target) ? "met" : "NOT met";
}

/** How busy the machine is: CPUs and load averages, taken before and after a benchmark. */
export function machineLoad() {
  const [one, five, fifteen] = loadavg();
  return {
    // Not availableParallelism(): that shrinks to 1 once this process is pinned.
    cpus: cpus().length,
    loadavg: [one, five, fifteen].map((value) => Number(value.toFixed(2))),
  };
}

/** Prints `summary` as one JSON line with --json; otherwise runs `printText(summary)`. */
export function emit(summary, printText) {
  if (JSON_OUTPUT) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else printText(summary);
}

const TASKSET = ["/usr/bin/taskset", "/bin/taskset"].find((path) => existsSync(path));

/** Whether processes can be pinned to CPUs here (Linux with taskset and at least 2 CPUs). */
export const CAN_PIN = TASKSET !== undefined && availableParallelism() >= 2;

/** Pins every thread of process `pid` to `cpu` (taskset -a -p); false when pinning is not possible. */
export function pinProcess(pid, cpu) {
  if (!CAN_PIN) return false;
  execFileSync(TASKSET, ["-a", "-p", "-c", String(cpu), String(pid)], { stdio: "ignore" });
  return true;
}

/** `argv` prefixed to run pinned to `cpu` when possible (taskset execs it: the pid is the program's). */
export function pinnedArgv(cpu, argv) {
  return CAN_PIN ? [TASKSET, "-c", String(cpu), ...argv] : argv;
}
