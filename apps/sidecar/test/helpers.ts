/**
 * Test seams: the metadata server's (a clock the test moves, a token source the test controls, a raw HTTP
 * client), a log capture, and a sidecar started on port 0 with the test source wired as `main.ts` wires a
 * credential.
 */
import { Writable } from "node:stream";
import {
  type CacheTiming,
  TEST_METADATA,
  TestClock,
  TestSource,
} from "../../../packages/metadata-server/test/helpers.js";
import { tokenHooks } from "../src/hooks.js";
import { createLogger } from "../src/logger.js";
import { createSidecarMetrics } from "../src/metrics.js";
import { type Sidecar, type SidecarOptions, startSidecar } from "../src/sidecar.js";

export {
  concurrentRequests,
  echoedSecretsError,
  type RawResponse,
  rawExchange,
  rawRequest,
  recordSocketExposures,
  TEST_METADATA,
  TestClock,
  TestSource,
  upstreamUnavailable,
  waitFor,
  widerThan,
} from "../../../packages/metadata-server/test/helpers.js";

/** Collects log lines. */
export class LogCapture extends Writable {
  text = "";
  override _write(chunk: Buffer, _encoding: string, callback: () => void): void {
    this.text += chunk.toString();
    callback();
  }
  lines(): Record<string, unknown>[] {
    return this.text
      .split("\n")
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }
}

export interface TestSidecar {
  sidecar: Sidecar;
  source: TestSource;
  clock: TestClock;
  logs: LogCapture;
}

/**
 * Starts a sidecar on 127.0.0.1 port 0 with a test source (its hooks feeding the sidecar's metrics, as
 * `main.ts` wires a credential) and clock; close it in afterEach.
 */
export async function startTestSidecar(
  options: Partial<SidecarOptions> & {
    logLevel?: "debug" | "info" | "trace";
    holdFirstToken?: boolean;
    cache?: CacheTiming;
  } = {},
): Promise<TestSidecar> {
  const clock = new TestClock();
  const logs = new LogCapture();
  const { logLevel, holdFirstToken, cache, ...rest } = options;
  const logger = createLogger({ level: logLevel ?? "info", destination: logs });
  const metrics = createSidecarMetrics();
  const source = new TestSource(clock, tokenHooks(metrics, logger), cache);
  if (holdFirstToken === true) source.hold();
  const sidecar = await startSidecar({
    source,
    metrics,
    clock,
    metadata: TEST_METADATA,
    port: 0,
    adminPort: 0,
    logger,
    keepWarmIntervalMs: 20,
    shutdownTimeoutMs: 2_000,
    ...rest,
  });
  return { sidecar, source, clock, logs };
}
