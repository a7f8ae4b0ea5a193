import { afterEach, describe, expect, it } from "vitest";
import { startServer, type TestServer } from "../../../tooling/test-server.js";
import { virtualTime } from "../../../tooling/virtual-time.js";
import { httpRequest } from "./request.js";
import { formatHttpTraceEvent, type HttpTraceEvent, subscribeHttpTrace } from "./trace.js";

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
});

describe("HTTP tracing on diagnostics_channel", () => {
  it("publishes each attempt, response and retry, and nothing of the query, headers or body", async () => {
    const secrets = ["subject-token-SECRET", "Bearer ya29.SECRET", "query-SECRET"];
    server = await startServer((_request, response, hit) => {
      response.statusCode = hit === 1 ? 503 : 200;
      response.end(`{"access_token":"ya29.SECRET-from-server"}`);
    });
    const events: HttpTraceEvent[] = [];
    const stop = subscribeHttpTrace((event) => events.push(event));
    const time = virtualTime();
    try {
      await time.run(
        httpRequest({
          url: `${server.origin}/v1/token?key=${secrets[2]}`,
          method: "POST",
          headers: { authorization: secrets[1] as string },
          body: `subject_token=${secrets[0]}`,
          operation: "Google STS token exchange",
          clock: time.clock,
          sleep: time.sleep,
          random: () => 0.5,
        }),
        { below: 10_000 },
      );
    } finally {
      stop();
    }
    expect(events.map((event) => event.phase)).toEqual([
      "request",
      "response",
      "retry",
      "request",
      "response",
    ]);
    expect(events[1]).toMatchObject({ status: 503, attempt: 1, url: `${server.origin}/v1/token` });
    expect(events[2]).toMatchObject({ reason: "HTTP 503", delayMs: 50 });
    const lines = events.map(formatHttpTraceEvent);
    expect(lines[0]).toBe(`--> POST ${server.origin}/v1/token (Google STS token exchange, attempt 1)`);
    expect(lines[2]).toBe(`... retrying POST ${server.origin}/v1/token in 50 ms after HTTP 503 (attempt 1)`);
    const everything = JSON.stringify(events) + lines.join("\n");
    for (const secret of [...secrets, "SECRET"]) expect(everything).not.toContain(secret);
  });

  it("stops delivering after unsubscribing", async () => {
    server = await startServer((_request, response) => response.end());
    const events: HttpTraceEvent[] = [];
    subscribeHttpTrace((event) => events.push(event))();
    await httpRequest({ url: server.origin });
    expect(events).toEqual([]);
  });
});
