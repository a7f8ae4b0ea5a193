/**
 * The hostile corpus (tooling/hostile) through `wif validate`, `wif token` and `fromConfig()`: every entry
 * is refused by each, with a line naming the field (or the token file), no stack trace, and no request to
 * the emulator. apps/sidecar/test/hostile.test.ts runs the same corpus through `wif-sidecar`.
 */
import { fromConfig } from "@wifkit/credentials";
import { type Emulator, startEmulator } from "@wifkit/emulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type HostileCase, materializeCorpus } from "../../../tooling/hostile/corpus.js";
import { runWif, scratch } from "./helpers.js";

let emulator: Emulator;
let corpus: ReturnType<typeof materializeCorpus>;
const dir = scratch("wif-hostile-");
let env: Record<string, string>;

beforeAll(async () => {
  emulator = await startEmulator();
  corpus = materializeCorpus({
    directory: dir.dir,
    sts: emulator.urls.sts,
    audience: emulator.providerAudience("oidc-provider"),
  });
  env = {
    WIF_ALLOW_ORIGINS: emulator.allowOrigins.join(","),
    AWS_EC2_METADATA_DISABLED: "true",
  };
});
afterAll(async () => {
  corpus.close();
  await emulator.stop();
  dir.cleanup();
});

/** Runs `task` over `items`, `limit` at a time. */
async function eachLimited<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>) {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: limit }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await task(item);
    }),
  );
}

const STACK_LINE = /^\s+at .+:\d+:\d+\)?$/m;

function expectRefusal(surface: string, entry: HostileCase, output: string): void {
  const where = `${entry.name} (${entry.what}) via ${surface}:\n${output}`;
  expect(
    output.split("\n").some((line) => line.includes(entry.names)),
    where,
  ).toBe(true);
  if (entry.says !== undefined) expect(output, where).toContain(entry.says);
  expect(output, where).not.toMatch(STACK_LINE);
}

describe("the hostile corpus", () => {
  it("holds at least 40 entries", () => {
    expect(corpus.cases.length).toBeGreaterThanOrEqual(40);
  });

  it("is refused by wif validate and wif token, with no request", { timeout: 600_000 }, async () => {
    await eachLimited(corpus.cases, 3, async (entry) => {
      const validate = await runWif(["validate", "--config", entry.configPath], { env, timeoutMs: 30_000 });
      expect(validate.code, `${entry.name}: validate exit`).toBe(1);
      expectRefusal("wif validate", entry, validate.stderr);
      const token = await runWif(["token", "--config", entry.configPath], { env, timeoutMs: 30_000 });
      expect(token.code, `${entry.name}: token exit`).toBe(1);
      expect(token.stdout).toBe("");
      expectRefusal("wif token", entry, token.stderr);
    });
    expect(emulator.counters.all()).toEqual({});
  });

  it("is refused by fromConfig() (and the credential it builds), with no request", async () => {
    for (const entry of corpus.cases) {
      const error = await fromConfig(entry.configPath, {
        allow: { origins: emulator.allowOrigins },
        env: { AWS_EC2_METADATA_DISABLED: "true" },
        retry: false,
      })
        .then((credentials) => credentials.getAccessToken())
        .then(
          (): Error & { code?: string } => new Error(`${entry.name} was not refused`),
          (e: unknown) => e as Error & { code?: string },
        );
      expect(error.code, `${entry.name}: ${error.message}`).toMatch(/^ERR_WIF_/);
      expectRefusal("fromConfig", entry, error.message);
    }
    expect(emulator.counters.all()).toEqual({});
  });
});
