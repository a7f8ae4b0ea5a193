/**
 * "Not here" is not here: at the IMDS address, a metadata server that does not answer as Azure's does (EC2's
 * IMDS, say), or nothing at all, is a `SourceUnavailableError` found with one short probe and remembered,
 * never a round of token-request retries and a hard error.
 */
import { isSourceUnavailable } from "@wifkit/core";
import { type Emulator, startEmulator } from "@wifkit/emulator";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startBlackHole } from "../../../tooling/test-server.js";
import { virtualTime } from "../../../tooling/virtual-time.js";
import { fromAzure } from "../src/index.js";

const RESOURCE = "api://wifkit-test";
let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => {
  await emulator.stop();
});
afterEach(() => {
  emulator.reconfigure({ aws: { imds: { v2Only: false } } });
});

describe("Azure first on AWS: EC2's IMDS answers at the metadata address", () => {
  for (const v2Only of [false, true]) {
    it(`is 'not on Azure' after one probe, with no token request (IMDSv2 ${v2Only ? "required" : "optional"})`, async () => {
      emulator.reconfigure({ aws: { imds: { v2Only } } });
      emulator.counters.reset();
      const supplier = fromAzure({ resource: RESOURCE, env: { AZURE_IMDS_ENDPOINT: emulator.urls.awsImds } });
      const error = await supplier().catch((caught: unknown) => caught);
      expect(isSourceUnavailable(error)).toBe(true);
      expect(error).toMatchObject({
        code: "ERR_WIF_AZURE_NOT_ON_AZURE",
        message: expect.stringContaining(
          `answered HTTP ${v2Only ? 401 : 404} to a request without the Metadata header`,
        ),
      });
      expect(emulator.counters.get("aws.imds.notFound")).toBe(1);
      // Remembered: asking again does not probe again.
      await expect(supplier()).rejects.toMatchObject({ code: "ERR_WIF_AZURE_NOT_ON_AZURE" });
      expect(emulator.counters.get("aws.imds.notFound")).toBe(1);
    });
  }
});

describe("a black-holed IMDS address", () => {
  it("costs one probe timeout per process: later calls answer 'not on Azure' without connecting again", async () => {
    const hole = await startBlackHole();
    try {
      const time = virtualTime();
      const supplier = fromAzure({
        resource: RESOURCE,
        env: { AZURE_IMDS_ENDPOINT: hole.origin },
        clock: time.clock,
        sleep: time.sleep,
      });
      const first = await time.run(supplier().catch((caught: unknown) => caught));
      expect(first).toMatchObject({
        code: "ERR_WIF_AZURE_NOT_ON_AZURE",
        message: expect.stringContaining("no answer within 1000 ms"),
      });
      expect(hole.connections()).toBe(1);
      // Past the token cache's failure backoff the supplier looks again, and the verdict answers from memory.
      for (const wait of [2_000, 5_000]) {
        await time.advance(wait);
        expect(isSourceUnavailable(await supplier().catch((caught: unknown) => caught))).toBe(true);
      }
      expect(hole.connections()).toBe(1);
    } finally {
      await hole.close();
    }
  });
});
