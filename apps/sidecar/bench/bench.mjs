#!/usr/bin/env node
// Cached-token route of the metadata server (what the sidecar serves on its metadata port) against a bare
// node:http server returning the same bytes: a ~1 KB token response, 64 keep-alive connections, load from wrk.
//
// - The candidate is @wifkit/metadata-server over a fixed credential (bench/metadata-server.mjs): every request
//   takes the cached-token route, which is what this measures. The baseline (bench/bare-server.mjs) gets the
//   candidate's exact body and headers.
// - Both servers run pinned to one CPU and wrk to another (taskset), so the load generator never competes with
//   the server it measures. Both servers are up for the whole run; only one is loaded at a time.
// - Rounds are paired and alternate (A B, B A, A B...): each ratio is candidate / baseline within one pair, and
//   min / median / max over the pairs are reported. Ratios are the only targets; absolute figures vary with the
//   machine and what else runs on it.
// - Throughput runs: wrk closed loop; the figure is requests per second. CPU per request: the server's own
//   user + system time (from /proc) divided by the requests it answered in the run.
// - Latency runs: the same connections paced by wrk (a fixed pause after each response), so both servers get
//   the same offered load, about half what the baseline sustains; the figure is wrk's p99.
// - Every response of every run is checked by wrk's script: a 200 whose body carries the token. Any other
//   answer fails the benchmark.
//
//   pnpm --filter @wifkit/sidecar bench [-- --json]    (after pnpm build; the root `pnpm bench` builds first)
//   BENCH_SECONDS=5 BENCH_ROUNDS=6 BENCH_CONNECTIONS=64 BENCH_SERVER_CPU=1 BENCH_LOAD_CPU=0
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const SERVER_CPU = process.env.BENCH_SERVER_CPU ?? "1";
const LOAD_CPU = process.env.BENCH_LOAD_CPU ?? "0";
const JSON_OUTPUT = process.argv.includes("--json");
const TOKEN_PATH = "/computeMetadata/v1/instance/service-accounts/default/token";
const TARGETS = { throughput: 0.95, cpuPerRequest: 1.05, p99: 1.1 };
const CLOCK_TICKS_PER_SECOND = 100;

const here = (name) => fileURLToPath(new URL(name, import.meta.url));
const which = (name) =>
  ["/usr/bin", "/usr/local/bin", "/bin"].map((dir) => `${dir}/${name}`).find(existsSync);
const WRK = which("wrk");
const TASKSET = availableParallelism() >= 2 ? which("taskset") : undefined;
const children = [];

/** Runs `argv` pinned to `cpu` when taskset is available (taskset execs it: the pid is the program's). */
function pinned(cpu, argv, options) {
  return TASKSET === undefined
    ? spawn(argv[0], argv.slice(1), options)
    : spawn(TASKSET, ["-c", cpu, ...argv], options);
}

/** Starts a server script and resolves with its pid and the JSON line it prints first. */
function startServer(script, env) {
  const child = pinned(SERVER_CPU, [process.execPath, here(script)], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start within 20 s`)), 20_000);
    createInterface({ input: child.stdout }).once("line", (line) => {
      clearTimeout(timer);
      resolve({ pid: child.pid, ...JSON.parse(line) });
    });
    child.once("exit", (code) => reject(new Error(`${script} exited with ${code}`)));
  });
}

/** CPU seconds (user + system) a process has used, from /proc/PID/stat. */
function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

/** One wrk run against `port`; `pauseMs` > 0 paces each connection. Fails on any wrong answer. */
function wrk(server, token, seconds, pauseMs = 0) {
  const cpuBefore = cpuSeconds(server.pid);
  const args = [
    "-t1",
    `-c${CONNECTIONS}`,
    `-d${seconds}s`,
    "-H",
    "Metadata-Flavor: Google",
    "-s",
    here("wrk.lua"),
  ];
  const url = `http://127.0.0.1:${server.port}${TOKEN_PATH}`;
  const argv = [WRK, ...args, url, "--", token, String(pauseMs)];
  const output = execFileSync(TASKSET ?? argv[0], TASKSET ? ["-c", LOAD_CPU, ...argv] : argv.slice(1), {
    encoding: "utf8",
  });
  const cpu = cpuSeconds(server.pid) - cpuBefore;
  const line = output.split("\n").find((candidate) => candidate.startsWith("WRK "));
  if (line === undefined) throw new Error(`wrk printed no summary:\n${output}`);
  const result = JSON.parse(line.slice(4));
  if (result.bad > 0 || result.errors > 0 || result.ok !== result.requests || result.requests === 0) {
    throw new Error(
      `${server.name}: ${result.bad} wrong answers and ${result.errors} errors in ${result.requests} requests`,
    );
  }
  return {
    rps: result.requests / (result.durationUs / 1e6),
    cpuUsPerRequest: (cpu * 1e6) / result.requests,
    p50Ms: result.p50Us / 1000,
    p99Ms: result.p99Us / 1000,
    requests: result.requests,
  };
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const spread = (values) => ({ min: Math.min(...values), median: median(values), max: Math.max(...values) });

/** Paired rounds in alternating order; `measure` runs one server, `ratio` compares a pair. */
function pairedRounds(candidate, baseline, measure) {
  const pairs = [];
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? [baseline, candidate] : [candidate, baseline];
    const results = new Map(order.map((server) => [server.name, measure(server)]));
    pairs.push({ candidate: results.get(candidate.name), baseline: results.get(baseline.name) });
  }
  return pairs;
}

async function main() {
  if (WRK === undefined) {
    console.log("skipped: the sidecar benchmark needs wrk (apt-get install -y wrk)");
    return;
  }
  const metadata = await startServer("metadata-server.mjs", {});
  const sample = await fetch(`http://127.0.0.1:${metadata.port}${TOKEN_PATH}`, {
    headers: { "Metadata-Flavor": "Google" },
  });
  const body = Buffer.from(await sample.arrayBuffer());
  if (sample.status !== 200 || !body.includes(metadata.token))
    throw new Error(`sample answer ${sample.status}`);
  // The baseline sends the same headers (Date, Connection and Keep-Alive come from node:http on both sides).
  const headers = [];
  for (const [name, value] of sample.headers) {
    if (!["date", "connection", "keep-alive"].includes(name)) headers.push(name, value);
  }
  const bare = await startServer("bare-server.mjs", {
    BENCH_BODY: body.toString("base64"),
    BENCH_HEADERS: JSON.stringify(headers),
  });
  const candidate = { ...metadata, name: "metadata server" };
  const baseline = { ...bare, name: "bare node:http" };
  const token = metadata.token;

  // Warm-up (JIT, connections), not counted.
  for (const server of [baseline, candidate]) wrk(server, token, 1);
  const throughput = pairedRounds(candidate, baseline, (server) => wrk(server, token, SECONDS));
  // Paced: both servers get the same offered load, about half what the baseline sustained.
  const bareRps = median(throughput.map((pair) => pair.baseline.rps));
  const pauseMs = Math.max(1, Math.round((CONNECTIONS * 1000) / (bareRps / 2)));
  const latency = pairedRounds(candidate, baseline, (server) => wrk(server, token, SECONDS, pauseMs));

  const ratios = {
    throughput: spread(throughput.map((pair) => pair.candidate.rps / pair.baseline.rps)),
    cpuPerRequest: spread(
      throughput.map((pair) => pair.candidate.cpuUsPerRequest / pair.baseline.cpuUsPerRequest),
    ),
    p99: spread(latency.map((pair) => pair.candidate.p99Ms / pair.baseline.p99Ms)),
  };
  const summary = {
    loadGenerator: "wrk",
    pinned: TASKSET === undefined ? false : { servers: SERVER_CPU, loadGenerator: LOAD_CPU },
    node: process.version,
    connections: CONNECTIONS,
    seconds: SECONDS,
    rounds: ROUNDS,
    responseBytes: body.length,
    offeredRate: Math.round((CONNECTIONS * 1000) / pauseMs),
    targets: TARGETS,
    ratios,
    runs: { throughput, latency },
  };
  if (JSON_OUTPUT) {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    return;
  }
  const fixed = (value, digits = 2) => value.toFixed(digits);
  console.log(
    `cached-token route, ${CONNECTIONS} connections, ${body.length}-byte body, wrk, ${ROUNDS} paired rounds of ${SECONDS} s ` +
      `(alternating), node ${process.version}${TASKSET ? `, servers on CPU ${SERVER_CPU}, wrk on CPU ${LOAD_CPU}` : ", not pinned (no taskset)"}`,
  );
  console.log(
    "\nround  req/s bare  req/s metadata  CPU us/req bare  CPU us/req metadata  p99 ms bare  p99 ms metadata",
  );
  throughput.forEach((pair, index) => {
    const paced = latency[index];
    console.log(
      `${String(index + 1).padStart(5)} ${fixed(pair.baseline.rps, 0).padStart(11)} ${fixed(pair.candidate.rps, 0).padStart(15)} ` +
        `${fixed(pair.baseline.cpuUsPerRequest).padStart(16)} ${fixed(pair.candidate.cpuUsPerRequest).padStart(20)} ` +
        `${fixed(paced.baseline.p99Ms).padStart(12)} ${fixed(paced.candidate.p99Ms).padStart(16)}`,
    );
  });
  console.log(`\nratio metadata / bare (min / median / max over ${ROUNDS} pairs)   target`);
  const row = (label, value, target, better) =>
    console.log(
      `  ${label.padEnd(38)} ${fixed(value.min, 3)} / ${fixed(value.median, 3)} / ${fixed(value.max, 3)}   ${better} ${target}`,
    );
  row("requests per second", ratios.throughput, TARGETS.throughput, ">=");
  row("CPU per request", ratios.cpuPerRequest, TARGETS.cpuPerRequest, "<=");
  row(`p99 at ${summary.offeredRate} req/s offered`, ratios.p99, TARGETS.p99, "<=");
  console.log(
    `every response checked: a 200 carrying the token (${throughput.length + latency.length} runs per server)`,
  );
}

main()
  .catch((error) => {
    console.error(`bench failed: ${error instanceof Error ? error.message : error}`);
    process.exitCode = 1;
  })
  .finally(() => {
    for (const child of children) child.kill("SIGTERM");
  });
