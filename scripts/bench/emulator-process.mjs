// Runs the emulator in its own process for benchmarks, so the CPU time a benchmark measures in its own process
// is the client's alone. Its options come as one JSON argument ({ accessTokenLength }). Speaks over IPC:
// sends { ready } with URLs, credential configs and environments, answers { counters }, { reset } and
// { fault } requests, and exits when the parent disconnects.
import { startEmulator } from "../../packages/emulator/dist/index.js";

const options = JSON.parse(process.argv[2] ?? "{}");
const emulator = await startEmulator({ log: () => {}, accessTokenLength: options.accessTokenLength });
const aws = (imdsv2) => emulator.credentialConfig({ source: "aws", imdsv2, serviceAccount: "wifkit-reader" });
process.send({
  type: "ready",
  pid: process.pid,
  // IMDSv1 (no imdsv2_session_token_url): wifkit and google-auth-library make the same requests per token.
  config: aws(false),
  // IMDSv2: google-auth-library fetches a session token for every lookup, wifkit reuses one for 5 minutes.
  configImdsv2: aws(true),
  allowOrigins: emulator.allowOrigins,
  awsEnv: emulator.awsEnv({ source: "imds" }),
  // For many processes at once: IMDS probes time out after 1 s, too short on a loaded 2-core machine.
  awsEnvStatic: emulator.awsEnv({ source: "static" }),
  urls: emulator.urls,
});
process.on("message", (message) => {
  const reply = (body) => process.send({ id: message.id, ...body });
  if (message?.type === "counters") reply({ counters: emulator.counters.all() });
  if (message?.type === "reset") {
    emulator.counters.reset();
    emulator.faults.clear();
    reply({});
  }
  if (message?.type === "fault") {
    emulator.faults.inject(message.route, message.fault);
    reply({});
  }
});
process.on("disconnect", async () => {
  await emulator.stop();
  process.exit(0);
});
