#!/usr/bin/env node
// Cached-token throughput of the built sidecar, side by side with a bare node:http server that returns the
// same bytes, at 64 connections. The sidecar is backed by the emulator (STS + IAM Credentials) through a real
// credential config. Prints requests per second, p50/p99 latency, the ratio, and the sidecar's memory.
//
// Two kinds of runs, alternating between the two servers (in ABBA order):
// - throughput: every connection sends its next request as soon as the answer arrives (closed loop). This
//   gives the req/s ratio; its latency is mostly queueing (64 connections / req/s), not service time.
// - paced: the same 64 connections at a fixed offered rate both servers sustain (BENCH_RATE, default half of
//   the bare server's throughput, at most 2000/s), timed per request with a microsecond clock (autocannon's
//   latency histogram counts whole milliseconds). Its p50/p99 is the latency a client sees under load.
// The machine is shared, so runs alternate and the ratio is the median of the per-round ratios; the servers'
// own CPU time per request (from /proc) is printed too, as it does not depend on what else runs.
//
//   pnpm --filter @wifkit/sidecar bench            (after pnpm build; the root `pnpm bench` builds first)
//   BENCH_SECONDS=10 BENCH_ROUNDS=3 pnpm --filter @wifkit/sidecar bench
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { Agent, get } from "node:http";
import { availableParallelism } from "node:os";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { startEmulator } from "@wifkit/emulator";
import autocannon from "autocannon";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const RATE = process.env.BENCH_RATE === undefined ? undefined : Number(process.env.BENCH_RATE);
const TOKEN_PATH = "/computeMetadata/v1/instance/service-accounts/default/token";
const main = fileURLToPath(new URL("../dist/main.js", import.meta.url));
const children = [];
// BENCH_PIN=1 (Linux, taskset, 2+ CPUs): the load generator runs on CPU 0 and both servers on CPU 1, so the
// servers get the same core in turn and autocannon cannot steal it. Off by default: on a machine shared with
// other work, pinning makes each run more exposed to whatever else lands on those cores.
const PIN = process.env.BENCH_PIN === "1" && availableParallelism() >= 2 && existsSync("/usr/bin/taskset");
if (PIN) execFileSync("/usr/bin/taskset", ["-p", "-c", "0", String(process.pid)], { stdio: "ignore" });

function start(command, args, env) {
  const argv = [process.execPath, command, ...args];
  // taskset execs the command, so the child's pid is the server's (read for its CPU time below).
  const child = spawn(PIN ? "/usr/bin/taskset" : argv[0], PIN ? ["-c", "1", ...argv] : argv.slice(1), {
    env: { PATH: process.env.PATH, ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.push(child);
  return child;
}

/** Resolves with the first stdout line for which `pick` returns a value (bounded wait). */
function firstLine(child, pick, what) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), 20_000);
    const lines = createInterface({ input: child.stdout });
    lines.on("line", (line) => {
      const value = pick(line);
      if (value !== undefined) {
        clearTimeout(timer);
        resolve(value);
      }
    });
    child.on("exit", (code) => reject(new Error(`${what}: process exited with ${code}`)));
  });
}

async function waitReady(adminUrl) {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const response = await fetch(`${adminUrl}/readyz`).catch(() => undefined);
    if (response?.status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error("the sidecar did not become ready within 20 s");
}

function load(url, seconds, overallRate) {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url,
        connections: CONNECTIONS,
        duration: seconds,
        headers: { "Metadata-Flavor": "Google" },
        ...(overallRate === undefined ? {} : { overallRate }),
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
  });
}

/** CPU seconds (user + system) a process used so far, from /proc (Linux); undefined elsewhere. */
function cpuSecondsOf(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** Latency of requests sent at a fixed total rate over `CONNECTIONS` keep-alive connections. */
async function pacedLatency(url, rate, seconds) {
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const intervalMs = (CONNECTIONS / rate) * 1000;
  const deadline = performance.now() + seconds * 1000;
  const samples = [];
  let failures = 0;
  const once = () =>
    new Promise((resolve) => {
      const request = get(url, { agent, headers: { "Metadata-Flavor": "Google" } }, (response) => {
        if (response.statusCode !== 200) failures++;
        response.resume();
        response.on("end", resolve);
      });
      request.on("error", () => {
        failures++;
        resolve();
      });
    });
  const connection = async (index) => {
    let next = performance.now() + (index / CONNECTIONS) * intervalMs;
    while (next < deadline) {
      const wait = next - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const started = performance.now();
      await once();
      samples.push(performance.now() - started);
      next += intervalMs;
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, (_, index) => connection(index)));
  agent.destroy();
  if (failures > 0) throw new Error(`${failures} paced requests failed`);
  samples.sort((a, b) => a - b);
  const at = (q) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))];
  return { count: samples.length, p50: at(0.5), p99: at(0.99) };
}

function rssOf(pid) {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

const mib = (bytes) => (bytes === undefined ? "n/a" : `${(bytes / 1024 / 1024).toFixed(1)} MiB`);

async function run() {
  const emulator = await startEmulator();
  try {
    const configPath = emulator.writeCredentialConfig({ source: "url", serviceAccount: "wifkit-reader" });
    const sidecar = start(
      main,
      ["--credential-config", configPath, "--port", "0", "--admin-port", "0", "--log-level", "info"],
      { WIF_SIDECAR_ALLOW_ORIGINS: emulator.allowOrigins.join(",") },
    );
    const { url, adminUrl } = await firstLine(
      sidecar,
      (line) => {
        try {
          const entry = JSON.parse(line);
          return entry.msg === "wif-sidecar listening" ? entry : undefined;
        } catch {
          return undefined;
        }
      },
      "the sidecar to listen",
    );
    await waitReady(adminUrl);
    const sample = await fetch(`${url}${TOKEN_PATH}`, { headers: { "Metadata-Flavor": "Google" } });
    const body = Buffer.from(await sample.arrayBuffer());
    if (sample.status !== 200) throw new Error(`the sidecar answered ${sample.status}: ${body}`);
    // The baseline sends the same headers the sidecar sends (Date, Connection and Keep-Alive come from node).
    const headers = [];
    for (const [name, value] of sample.headers) {
      if (!["date", "connection", "keep-alive"].includes(name)) headers.push(name, value);
    }
    const bare = start(fileURLToPath(new URL("./bare-server.mjs", import.meta.url)), [], {
      BENCH_BODY: body.toString("base64"),
      BENCH_HEADERS: JSON.stringify(headers),
    });
    const barePort = await firstLine(
      bare,
      (line) => (/^\d+$/.test(line) ? Number(line) : undefined),
      "the bare server",
    );
    const targets = [
      {
        name: "bare node:http",
        pid: bare.pid,
        url: `http://127.0.0.1:${barePort}${TOKEN_PATH}`,
        runs: [],
        paced: [],
      },
      { name: "wif-sidecar", pid: sidecar.pid, url: `${url}${TOKEN_PATH}`, runs: [], paced: [] },
    ];
    console.log(
      `cached-token requests, ${CONNECTIONS} connections, ${SECONDS} s per run, ${ROUNDS} rounds (alternating), ` +
        `node ${process.version}, response ${body.length} bytes${PIN ? ", servers pinned to CPU 1 and the load generator to CPU 0" : ""}`,
    );
    const measure = async (target) => {
      const cpuBefore = cpuSecondsOf(target.pid);
      const result = await load(target.url, SECONDS);
      const cpuAfter = cpuSecondsOf(target.pid);
      if (result.non2xx > 0 || result.errors > 0) {
        throw new Error(`${target.name}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
      }
      const cpuUs =
        cpuBefore === undefined || cpuAfter === undefined
          ? Number.NaN
          : ((cpuAfter - cpuBefore) * 1e6) / result.requests.total;
      return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, cpuUs };
    };
    for (const target of targets) await load(target.url, 1); // warm-up (JIT, connection setup)
    // ABBA order: each server runs first in half of the rounds, so neither gains from going second.
    const inOrder = (round) => (round % 2 === 0 ? targets : [...targets].reverse());
    for (let round = 0; round < ROUNDS; round++) {
      for (const target of inOrder(round)) target.runs.push(await measure(target));
    }
    const mean = (runs, field) => runs.reduce((sum, run) => sum + run[field], 0) / runs.length;
    const median = (values) => {
      const sorted = [...values].sort((a, b) => a - b);
      const middle = Math.floor(sorted.length / 2);
      return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    };
    const rate = RATE ?? Math.min(2000, Math.round(mean(targets[0].runs, "rps") / 2 / 100) * 100);
    for (let round = 0; round < Math.min(ROUNDS, 2); round++) {
      for (const target of inOrder(round)) target.paced.push(await pacedLatency(target.url, rate, SECONDS));
    }
    const summary = targets.map((target) => ({
      name: target.name,
      rps: mean(target.runs, "rps"),
      p50: mean(target.runs, "p50"),
      p99: mean(target.runs, "p99"),
      cpuUsPerRequest: median(target.runs.map((run) => run.cpuUs)),
      runs: target.runs.map((run) => Math.round(run.rps)),
      pacedRate: rate,
      pacedP50: mean(target.paced, "p50"),
      pacedP99: mean(target.paced, "p99"),
    }));
    const metrics = await (await fetch(`${adminUrl}/metrics`)).text();
    const reportedRss = Number(/^process_resident_memory_bytes (\d+)$/m.exec(metrics)?.[1]);
    const stsExchanges = emulator.counters.get("sts.token");
    console.log("");
    const fixed = (value, width) => value.toFixed(2).padStart(width);
    console.log("throughput (closed loop; latency here is mostly queueing)");
    console.log("  target            req/s (mean)   p50 ms   p99 ms   CPU us/req   runs (req/s)");
    for (const row of summary) {
      console.log(
        `  ${row.name.padEnd(17)} ${row.rps.toFixed(0).padStart(12)} ${fixed(row.p50, 8)} ${fixed(row.p99, 8)} ${fixed(row.cpuUsPerRequest, 12)}   ${row.runs.join(", ")}`,
      );
    }
    console.log(`latency at a fixed ${rate} req/s offered over the same ${CONNECTIONS} connections`);
    console.log("  target            p50 ms   p99 ms");
    for (const row of summary) {
      console.log(`  ${row.name.padEnd(17)} ${fixed(row.pacedP50, 6)} ${fixed(row.pacedP99, 8)}`);
    }
    const [baseline, candidate] = summary;
    const ratio = median(candidate.runs.map((rps, index) => rps / baseline.runs[index]));
    console.log("");
    console.log(
      `sidecar / bare throughput: ${ratio.toFixed(3)} (median of ${ROUNDS} paired rounds; target >= 0.9)`,
    );
    console.log(
      `sidecar / bare CPU per request: ${(candidate.cpuUsPerRequest / baseline.cpuUsPerRequest).toFixed(3)}`,
    );
    console.log(`sidecar p99 at ${rate} req/s: ${candidate.pacedP99.toFixed(2)} ms (target < 2 ms)`);
    console.log(`sidecar RSS after the run: ${mib(reportedRss)} (bare server: ${mib(rssOf(bare.pid))})`);
    console.log(`STS exchanges during the whole run: ${stsExchanges}`);
    console.log(
      `BENCH_JSON ${JSON.stringify({ connections: CONNECTIONS, seconds: SECONDS, rounds: ROUNDS, summary, ratio, sidecarRssBytes: reportedRss, stsExchanges })}`,
    );
  } finally {
    for (const child of children) child.kill("SIGTERM");
    await emulator.stop();
  }
}

run().catch((error) => {
  for (const child of children) child.kill("SIGKILL");
  console.error(`bench failed: ${error instanceof Error ? error.message : error}`);
  process.exit(1);
});
