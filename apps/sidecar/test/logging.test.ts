import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../src/logger.js";
import { LogCapture, rawRequest, startTestSidecar, type TestSidecar, waitFor } from "./helpers.js";

const V1 = "/computeMetadata/v1";

let running: TestSidecar | undefined;
afterEach(async () => {
  await running?.sidecar.close();
  running = undefined;
});

describe("logs", () => {
  it("never contain tokens or the bearer secret, even at trace level, through refreshes, failures and refusals", async () => {
    running = await startTestSidecar({ logLevel: "trace", bearerToken: "bearer-secret-value" });
    const { sidecar, source, clock, logs } = running;
    await waitFor(() => sidecar.ready);
    const auth = { Authorization: "Bearer bearer-secret-value" };
    const token = await rawRequest(sidecar.url, `${V1}/instance/service-accounts/default/token`, {
      headers: auth,
    });
    expect(JSON.parse(token.body).access_token).toBe("access-1");
    await rawRequest(sidecar.url, `${V1}/instance/service-accounts/default/identity?audience=a`, {
      headers: auth,
    });
    await rawRequest(sidecar.url, `${V1}/instance/service-accounts/default/token`, {
      headers: { Authorization: "Bearer wrong-guess-value" },
    });
    clock.advance(3600_000 - 60_000);
    source.failWith = new Error("upstream said: access-1 is bad");
    await rawRequest(sidecar.url, `${V1}/instance/service-accounts/default/token`, { headers: auth });
    await waitFor(() => logs.text.includes("could not obtain a token"));
    await sidecar.close();
    const text = logs.text;
    for (const secret of ["access-1", "id-1", "bearer-secret-value", "wrong-guess-value"]) {
      expect(text, secret).not.toContain(secret);
    }
    // The logs still say what happened.
    const messages = logs.lines().map((line) => line.msg);
    expect(messages).toContain("obtained a token from upstream");
    expect(messages).toContain("could not obtain a token from upstream");
    expect(messages).toContain("request");
    const failure = logs.lines().find((line) => line.msg === "could not obtain a token from upstream");
    expect(failure?.err).toEqual({ code: "ERR_WIF_SIDECAR_UPSTREAM", type: "Error" });
  });

  it("logs no line per request at the default level", async () => {
    running = await startTestSidecar();
    const { sidecar, logs } = running;
    await waitFor(() => sidecar.ready);
    const before = logs.lines().length;
    for (let index = 0; index < 20; index++) {
      await rawRequest(sidecar.url, `${V1}/instance/service-accounts/default/token`);
    }
    expect(logs.lines().length).toBe(before);
  });

  it("censors secret-looking fields a log call might pass", () => {
    const capture = new LogCapture();
    const logger = createLogger({ level: "info", destination: capture });
    logger.info(
      {
        token: "t1",
        access_token: "t2",
        headers: { authorization: "Bearer t3" },
        req: { headers: { authorization: "Bearer t4", cookie: "c" } },
        nested: { idToken: "t5", client_secret: "t6" },
      },
      "hello",
    );
    for (const secret of ["t1", "t2", "t3", "t4", "t5", "t6"])
      expect(capture.text).not.toContain(`"${secret}`);
    expect(capture.text).toContain("[REDACTED]");
  });
});
