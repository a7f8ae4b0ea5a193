import { describe, expect, it } from "vitest";
import { serverPerTest } from "../../../tooling/test-server.js";
import { tick, virtualTime } from "../../../tooling/virtual-time.js";
import { httpRequest, parseRetryAfter } from "./request.js";
import type { HttpResponse, HttpTransport, TransportRequest } from "./transport.js";

const serve = serverPerTest();

/** A transport that answers from a script, and hangs (until its signal aborts) where the script says so. */
function scripted(steps: Array<Partial<HttpResponse> | "hang" | Error>) {
  const seen: TransportRequest[] = [];
  const transport: HttpTransport = (request) => {
    seen.push(request);
    const step = steps[seen.length - 1] ?? "hang";
    if (step === "hang") {
      return new Promise((_, reject) => {
        request.signal.addEventListener("abort", () => reject(request.signal.reason), { once: true });
      });
    }
    if (step instanceof Error) return Promise.reject(step);
    return Promise.resolve({ status: 200, headers: {}, body: Buffer.alloc(0), ...step });
  };
  return { transport, seen };
}

const seams = (time: ReturnType<typeof virtualTime>) => ({ clock: time.clock, sleep: time.sleep });

const reset = Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" });
/** Backoff draws the largest delay, so the schedule is exact. */
const maxJitter = () => 0.999_999;

/** Polls (bounded) until `condition` holds: for a real server to have received a request. */
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(condition()).toBe(true);
}

describe("httpRequest retries (virtual time)", () => {
  it("retries 503 and 429 with doubling, jittered backoff and returns the first success", async () => {
    const time = virtualTime();
    const { transport, seen } = scripted([{ status: 503 }, { status: 429 }, { status: 200 }]);
    const response = await time.run(
      httpRequest({
        url: "https://sts.googleapis.com/v1/token",
        transport,
        ...seams(time),
        random: maxJitter,
      }),
    );
    expect(response.status).toBe(200);
    expect(seen).toHaveLength(3);
    // Each attempt arms a 10 s timer; between attempts the backoff doubles from 100 ms.
    expect(time.sleeps.filter((ms) => ms !== 10_000).map(Math.round)).toEqual([100, 200]);
  });

  it("never retries 400, 401 or 403, even when a custom policy asks to", async () => {
    for (const status of [400, 401, 403]) {
      const { transport, seen } = scripted([{ status }, { status: 200 }]);
      const response = await httpRequest({
        url: "https://sts.googleapis.com/v1/token",
        transport,
        retry: { retryOnStatus: () => true },
      });
      expect(response.status).toBe(status);
      expect(seen).toHaveLength(1);
    }
  });

  it("returns the last transient response once the retries are spent", async () => {
    const time = virtualTime();
    const { transport, seen } = scripted([{ status: 502 }, { status: 502 }, { status: 502 }]);
    const response = await time.run(
      httpRequest({ url: "https://x.test/", transport, retry: { retries: 2 }, ...seams(time) }),
    );
    expect(response.status).toBe(502);
    expect(seen).toHaveLength(3);
  });

  it("waits at least as long as Retry-After says, in seconds or as a date", async () => {
    const time = virtualTime();
    const date = new Date(time.now() + 9_000).toUTCString();
    const { transport } = scripted([
      { status: 429, headers: { "retry-after": "7" } },
      { status: 503, headers: { "retry-after": date } },
      { status: 200 },
    ]);
    const response = await time.run(httpRequest({ url: "https://x.test/", transport, ...seams(time) }));
    expect(response.status).toBe(200);
    const waits = time.sleeps.filter((ms) => ms !== 10_000);
    expect(waits[0]).toBe(7_000);
    // The date is 9 s after the start; the first wait already took 7 s of it.
    expect(waits[1]).toBeGreaterThanOrEqual(2_000);
  });

  it("gives up instead of waiting past its total time budget", async () => {
    const time = virtualTime();
    const { transport, seen } = scripted([{ status: 429, headers: { "retry-after": "120" } }]);
    const response = await time.run(
      httpRequest({ url: "https://x.test/", transport, retry: { totalTimeoutMs: 30_000 }, ...seams(time) }),
    );
    expect(response.status).toBe(429);
    expect(seen).toHaveLength(1);
  });

  it("times out each hanging attempt after timeoutMs, retries, and ends within the total budget", async () => {
    const time = virtualTime();
    const start = time.now();
    const { transport, seen } = scripted(["hang", "hang", "hang", "hang"]);
    const error = await time
      .run(
        httpRequest({
          url: "https://sts.googleapis.com/v1/token",
          transport,
          operation: "Google STS token exchange",
          random: () => 0.5,
          ...seams(time),
        }),
      )
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ERR_WIF_TIMEOUT", retryable: true });
    expect((error as Error).message).toContain("Google STS token exchange");
    // Three 10 s attempts and two waits reach the 30 s budget: the third is cut short to fit, no fourth.
    expect(seen).toHaveLength(3);
    expect(seen.every((request) => request.signal.aborted)).toBe(true);
    expect(time.now() - start).toBe(30_000);
    expect((error as Error).message).toContain("timed out after 9850 ms");
  });

  it("bounds an attempt even when the transport ignores its signal", async () => {
    const time = virtualTime();
    const ignoring: HttpTransport = () => new Promise(() => {});
    const error = await time
      .run(
        httpRequest({
          url: "https://x.test/",
          transport: ignoring,
          retry: false,
          timeoutMs: 5_000,
          ...seams(time),
        }),
      )
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ERR_WIF_TIMEOUT" });
  });

  it("retries a reset connection and refused connections, but not an unknown scheme", async () => {
    const time = virtualTime();
    const { transport, seen } = scripted([reset, { status: 200 }]);
    const response = await time.run(httpRequest({ url: "https://x.test/", transport, ...seams(time) }));
    expect(response.status).toBe(200);
    expect(seen).toHaveLength(2);
    const error = await httpRequest({ url: "ftp://x.test/", retry: false }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ERR_WIF_NETWORK", retryable: false });
  });

  it("stops at once when the caller aborts, during an attempt or a backoff wait", async () => {
    const time = virtualTime();
    const controller = new AbortController();
    const { transport } = scripted(["hang"]);
    const pending = httpRequest({
      url: "https://x.test/",
      transport,
      signal: controller.signal,
      ...seams(time),
    });
    await tick();
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: "ERR_WIF_ABORTED" });

    const waiting = new AbortController();
    const { transport: busy } = scripted([{ status: 503 }, { status: 200 }]);
    const retrying = httpRequest({
      url: "https://x.test/",
      transport: busy,
      signal: waiting.signal,
      ...seams(time),
    });
    await tick();
    expect(time.pending()).toHaveLength(1); // the backoff wait
    waiting.abort();
    await expect(retrying).rejects.toMatchObject({ code: "ERR_WIF_ABORTED" });
  });
});

describe("httpRequest over real sockets", () => {
  it("retries a 503 from a real server after a virtual backoff, keeping the caller's headers and body", async () => {
    const time = virtualTime();
    const server = await serve((_request, response, hit) => {
      response.statusCode = hit === 1 ? 503 : 200;
      response.end(hit === 1 ? "busy" : '{"ok":true}');
    });
    const response = await time.run(
      httpRequest({
        url: `${server.origin}/v1/token`,
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "grant_type=x&scope=a+b",
        ...seams(time),
      }),
      { below: 10_000 },
    );
    expect(response.status).toBe(200);
    expect(server.requests).toHaveLength(2);
    expect(server.requests[1]).toMatchObject({
      body: "grant_type=x&scope=a+b",
      headers: { "content-type": "application/x-www-form-urlencoded", "content-length": "22" },
    });
  });

  it("times out a real server that never answers (virtual timeout), and retries it", async () => {
    const time = virtualTime();
    const server = await serve(() => {
      /* never answers */
    });
    const pending = httpRequest({ url: `${server.origin}/v1/token`, retry: { retries: 1 }, ...seams(time) });
    pending.catch(() => {});
    await until(() => server.requests.length === 1);
    await time.advance(10_000);
    await time.next(); // the backoff
    await until(() => server.requests.length === 2);
    await time.advance(10_000);
    await expect(pending).rejects.toMatchObject({ code: "ERR_WIF_TIMEOUT" });
  });

  it("real-time smoke test: the per-attempt timeout fires on a real timer", async () => {
    const server = await serve(() => {
      /* never answers */
    });
    // On Node 20 AbortSignal.any over AbortSignal.timeout could be collected and never fire; this must end.
    const error = await httpRequest({ url: server.origin, timeoutMs: 200, retry: false }).catch((e) => e);
    expect(error).toMatchObject({ code: "ERR_WIF_TIMEOUT" });
  });

  it("refuses a response larger than the cap", async () => {
    const server = await serve((_request, response) => response.end("x".repeat(4096)));
    const error = await httpRequest({ url: server.origin, maxResponseBytes: 1024 }).catch((e) => e);
    expect(error).toMatchObject({ code: "ERR_WIF_RESPONSE_TOO_LARGE" });
  });

  it("keeps the query string and credentials out of error messages", async () => {
    const error = await httpRequest({
      url: "http://user:hunter2@127.0.0.1:1/path?token=secret",
      retry: false,
      timeoutMs: 2_000,
    }).catch((e) => e);
    expect(error).toMatchObject({ code: "ERR_WIF_NETWORK" });
    expect((error as Error).message).not.toMatch(/hunter2|secret/);
    expect((error as Error).message).toContain("http://127.0.0.1:1/path");
  });
});

describe("parseRetryAfter", () => {
  it("reads delta seconds and HTTP dates", () => {
    expect(parseRetryAfter("3")).toBe(3000);
    expect(
      parseRetryAfter("Wed, 21 Oct 2015 07:28:05 GMT", Date.parse("Wed, 21 Oct 2015 07:28:00 GMT")),
    ).toBe(5000);
    expect(parseRetryAfter("soon")).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});
