// Starts scripts/bench/emulator-process.mjs and offers its state and counters to a benchmark.
import { fork } from "node:child_process";
import { once } from "node:events";

export async function startEmulatorProcess() {
  const child = fork(new URL("./emulator-process.mjs", import.meta.url), {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const [ready] = await Promise.race([
    once(child, "message"),
    once(child, "exit").then(([code]) => {
      throw new Error(`the emulator process exited with ${code} before it was ready; run pnpm build first`);
    }),
  ]);
  const ask = async (type) => {
    child.send({ type });
    for (;;) {
      const [message] = await once(child, "message");
      if (message.type === type) return message;
    }
  };
  return {
    ...ready,
    counters: async () => (await ask("counters")).counters,
    resetCounters: () => ask("reset"),
    stop: async () => {
      child.disconnect();
      await once(child, "exit");
    },
  };
}

/** Environment for google-auth-library: it reads AWS_* and proxy variables from process.env directly. */
export function isolateProcessEnv() {
  for (const key of Object.keys(process.env)) {
    if (key.startsWith("AWS_") || /^(https?|all)_proxy$/i.test(key)) delete process.env[key];
  }
  process.env.NO_PROXY = "127.0.0.1,localhost";
}
