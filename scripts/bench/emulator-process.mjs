// Runs the emulator in its own process for benchmarks, so the CPU time a benchmark measures in its own process
// is the client's alone. Speaks over IPC: sends { ready } with URLs and a credential config, answers
// { counters } requests, and exits when the parent disconnects.
import { startEmulator } from "../../packages/emulator/dist/index.js";

const emulator = await startEmulator({ log: () => {} });
const config = emulator.credentialConfig({ source: "aws", imdsv2: true, serviceAccount: "wifkit-reader" });
process.send({
  type: "ready",
  config,
  allowOrigins: emulator.allowOrigins,
  awsEnv: emulator.awsEnv({ source: "imds" }),
  storage: emulator.urls.storage,
});
process.on("message", (message) => {
  if (message?.type === "counters") process.send({ type: "counters", counters: emulator.counters.all() });
  if (message?.type === "reset") {
    emulator.counters.reset();
    process.send({ type: "reset" });
  }
});
process.on("disconnect", async () => {
  await emulator.stop();
  process.exit(0);
});
