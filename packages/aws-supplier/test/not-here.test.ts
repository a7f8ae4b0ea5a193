/**
 * "Not here" is not here: a metadata address where another cloud's metadata server answers, or nothing does,
 * is a `SourceUnavailableError` (a larger chain moves on), found with one short probe and remembered, never a
 * hard "no role" error or a round of retries.
 */
import { isSourceUnavailable } from "@wifkit/core";
import { type Emulator, startEmulator } from "@wifkit/emulator";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type BlackHole, startBlackHole } from "../../../tooling/test-server.js";
import { virtualTime } from "../../../tooling/virtual-time.js";
import { defaultAwsCredentials, fromAws, fromInstanceMetadata } from "../src/index.js";

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => {
  await emulator.stop();
});

let hole: BlackHole | undefined;
afterEach(async () => {
  await hole?.close();
  hole = undefined;
});

describe("AWS first on Azure: the Azure IMDS answers at the metadata address", () => {
  it("is 'not here' at once (a 404 on /latest/*), with no retries and no 'no role' error", async () => {
    emulator.counters.reset();
    const error = await defaultAwsCredentials({
      env: { AWS_EC2_METADATA_SERVICE_ENDPOINT: emulator.urls.azureImds },
    })().catch((caught: unknown) => caught);
    expect(isSourceUnavailable(error)).toBe(true);
    expect(error).toMatchObject({
      code: "ERR_WIF_AWS_NO_CREDENTIALS",
      cause: { code: "ERR_WIF_AWS_NOT_IMDS", status: 404 },
    });
    expect((error as Error).message).toContain("HTTP 404 at /latest/meta-data/iam/security-credentials");
    // The token PUT (404: v1 is allowed, so one v1 GET) and that GET (404): nothing more.
    expect(emulator.counters.get("azure.imds.notFound")).toBe(2);
  });

  it("with IMDSv2 required (the config's imdsv2_session_token_url), stops at the token PUT", async () => {
    emulator.counters.reset();
    const imds = emulator.urls.azureImds;
    const supplier = fromAws({
      audience: emulator.providerAudience("aws-provider"),
      credentialSource: {
        environment_id: "aws1",
        url: `${imds}/latest/meta-data/iam/security-credentials`,
        region_url: `${imds}/latest/meta-data/placement/availability-zone`,
        imdsv2_session_token_url: `${imds}/latest/api/token`,
      },
      env: {},
    });
    const error = await supplier().catch((caught: unknown) => caught);
    expect(error).toMatchObject({
      code: "ERR_WIF_AWS_NO_CREDENTIALS",
      cause: { code: "ERR_WIF_AWS_NOT_IMDS" },
    });
    expect(emulator.counters.get("azure.imds.notFound")).toBe(1);
  });
});

describe("something else answers at the metadata address", () => {
  it("a server that answers 200 with a web page to everything is not IMDS", async () => {
    const page = "<html>\n<body>Welcome</body>\n</html>";
    const error = await fromInstanceMetadata({
      endpoint: "http://127.0.0.1:9",
      env: {},
      // The transport seam answers every request: no server needed.
      transport: async () => ({
        status: 200,
        headers: { "content-type": "text/html" },
        body: Buffer.from(page),
      }),
    })().catch((caught: unknown) => caught);
    expect(isSourceUnavailable(error)).toBe(true);
    expect(error).toMatchObject({ code: "ERR_WIF_AWS_NOT_IMDS", status: 200 });
  });
});

describe("a black-holed metadata address", () => {
  it("costs one probe timeout per process: later calls answer 'not here' without connecting again", async () => {
    const silent = await startBlackHole();
    hole = silent;
    const time = virtualTime();
    const credentials = defaultAwsCredentials({
      env: { AWS_EC2_METADATA_SERVICE_ENDPOINT: silent.origin },
      clock: time.clock,
      sleep: time.sleep,
    });
    const first = await time.run(credentials().catch((caught: unknown) => caught));
    expect(first).toMatchObject({
      code: "ERR_WIF_AWS_NO_CREDENTIALS",
      message: expect.stringContaining("timed out after 1000 ms"),
    });
    expect(silent.connections()).toBe(1);
    // Past the credential cache's failure backoff the chain runs again, and IMDS answers from memory.
    for (const wait of [2_000, 5_000]) {
      await time.advance(wait);
      const again = await credentials().catch((caught: unknown) => caught);
      expect(isSourceUnavailable(again)).toBe(true);
    }
    expect(silent.connections()).toBe(1);
  });
});
