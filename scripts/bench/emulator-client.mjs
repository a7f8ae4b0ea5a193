// Starts the benchmarks' helper processes (the emulator, the proxy) and talks to them over IPC.
import { fork } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

/**
 * `fromConfig` with every supplier registered, from the build: the batteries-included entry where the
 * repository has one (`@wifkit/credentials-all`, or `@wifkit/credentials/all`), else `@wifkit/credentials`.
 */
export async function loadFromConfig() {
  const entry = `${root}packages/credentials-all/dist/index.js`;
  if (!existsSync(entry)) throw new Error("@wifkit/credentials-all is not built; run pnpm build first");
  return (await import(entry)).fromConfig;
}

/** Starts the emulator in a child process; `options` go to startEmulator (e.g. { accessTokenLength }). */
export function startEmulatorProcess(options = {}) {
  return startBenchProcess("emulator-process.mjs", options);
}

/**
 * Starts a helper script of this directory in a child process with `options` as its one JSON argument, and
 * waits for its { ready } message. The helper answers requests by `id`; `stop()` disconnects it (it exits).
 */
export async function startBenchProcess(script, options = {}) {
  const child = fork(new URL(`./${script}`, import.meta.url), [JSON.stringify(options)], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    // Whatever the benchmark runs with (--cpu-prof, --expose-gc) is not the helper's business.
    execArgv: [],
  });
  const [ready] = await Promise.race([
    once(child, "message"),
    once(child, "exit").then(([code]) => {
      throw new Error(`${script} exited with ${code} before it was ready; run pnpm build first`);
    }),
  ]);
  let nextId = 0;
  const ask = (type, body = {}) =>
    new Promise((resolve) => {
      const id = ++nextId;
      const onMessage = (message) => {
        if (message?.id !== id) return;
        child.off("message", onMessage);
        resolve(message);
      };
      child.on("message", onMessage);
      child.send({ type, id, ...body });
    });
  return {
    ...ready,
    ask,
    counters: async () => (await ask("counters")).counters,
    /** Zeroes the counters and clears every fault (emulator). */
    resetCounters: () => ask("reset"),
    fault: (route, fault) => ask("fault", { route, fault }),
    stop: async () => {
      child.disconnect();
      await once(child, "exit");
    },
  };
}

/** Environment for google-auth-library: it reads AWS_* and proxy variables from process.env directly. */
export function isolateProcessEnv() {
  for (const key of Object.keys(process.env)) {
    if (key.startsWith("AWS_") || /^(https?|all|no)_proxy$/i.test(key)) delete process.env[key];
  }
  process.env.NO_PROXY = "127.0.0.1,localhost";
}

/** The requests the emulator saw, as "route: count" sorted by route, for printing. */
export function describeCounters(counters) {
  return Object.keys(counters)
    .sort()
    .map((route) => `${route} ${counters[route]}`)
    .join(", ");
}
