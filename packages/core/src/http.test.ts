import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WifError } from "./errors.js";
import { httpRequest, parseRetryAfter } from "./http.js";

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, hit: number) => void;

const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

/** A real server on 127.0.0.1 port 0 that runs `handler` with the 1-based request count. */
async function serve(handler: Handler): Promise<{ url: string; hits: () => number }> {
  let hits = 0;
  const server = http.createServer((req, res) => handler(req, res, ++hits));
  servers.push(server);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/v1/token`, hits: () => hits };
}

const fast = { baseDelayMs: 1, maxDelayMs: 5 };

describe("httpRequest", () => {
  it("retries 503 and 429 and returns the first success", async () => {
    const server = await serve((_req, res, hit) => {
      res.statusCode = hit === 1 ? 503 : hit === 2 ? 429 : 200;
      res.end(hit === 3 ? '{"ok":true}' : "busy");
    });
    const response = await httpRequest({ url: server.url, retry: fast });
    expect(response.status).toBe(200);
    expect(response.body.toString()).toBe('{"ok":true}');
    expect(server.hits()).toBe(3);
  });

  it("never retries a 400 and hands it back to the caller", async () => {
    const server = await serve((_req, res) => {
      res.statusCode = 400;
      res.end('{"error":"invalid_request"}');
    });
    const response = await httpRequest({ url: server.url, method: "POST", body: "a=b", retry: fast });
    expect(response.status).toBe(400);
    expect(server.hits()).toBe(1);
  });

  it("never retries 400, 401 or 403, even when a custom policy asks to", async () => {
    const server = await serve((_req, res) => {
      res.statusCode = 403;
      res.end();
    });
    const response = await httpRequest({ url: server.url, retry: { ...fast, retryOnStatus: () => true } });
    expect(response.status).toBe(403);
    expect(server.hits()).toBe(1);
  });

  it("returns the last transient response once the retry budget is spent", async () => {
    const server = await serve((_req, res) => {
      res.statusCode = 502;
      res.end();
    });
    const response = await httpRequest({ url: server.url, retry: { ...fast, retries: 2 } });
    expect(response.status).toBe(502);
    expect(server.hits()).toBe(3);
  });

  it("waits at least as long as Retry-After says", async () => {
    const server = await serve((_req, res, hit) => {
      res.statusCode = hit === 1 ? 429 : 200;
      if (hit === 1) res.setHeader("retry-after", "1");
      res.end();
    });
    const started = Date.now();
    const response = await httpRequest({ url: server.url, retry: fast });
    expect(response.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it("gives up instead of waiting past its total time budget", async () => {
    const server = await serve((_req, res) => {
      res.statusCode = 429;
      res.setHeader("retry-after", "120");
      res.end();
    });
    const response = await httpRequest({ url: server.url, retry: { ...fast, totalTimeoutMs: 2_000 } });
    expect(response.status).toBe(429);
    expect(server.hits()).toBe(1);
  });

  it("times out a hanging server with ERR_WIF_TIMEOUT after retrying", async () => {
    const server = await serve(() => {
      /* never answers */
    });
    const error = await httpRequest({
      url: server.url,
      timeoutMs: 100,
      retry: { ...fast, retries: 1 },
      operation: "Google STS token exchange",
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WifError);
    expect((error as WifError).code).toBe("ERR_WIF_TIMEOUT");
    expect((error as WifError).message).toContain("Google STS token exchange");
    expect((error as WifError).message).toContain("timed out after 100 ms");
    expect(server.hits()).toBe(2);
  });

  it("cuts the last attempt short at the total time budget", async () => {
    const server = await serve(() => {
      /* never answers */
    });
    const error = await httpRequest({
      url: server.url,
      timeoutMs: 10_000,
      retry: { ...fast, totalTimeoutMs: 300 },
    }).catch((e: unknown) => e);
    expect((error as WifError).code).toBe("ERR_WIF_TIMEOUT");
    expect((error as WifError).message).toMatch(/timed out after (2\d\d|300) ms/);
  });

  it("retries a reset connection", async () => {
    const server = await serve((req, res, hit) => {
      if (hit === 1) req.socket.destroy();
      else res.end("ok");
    });
    const response = await httpRequest({ url: server.url, retry: fast });
    expect(response.body.toString()).toBe("ok");
    expect(server.hits()).toBe(2);
  });

  it("stops at once when the caller aborts", async () => {
    const server = await serve(() => {
      /* never answers */
    });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const error = await httpRequest({ url: server.url, signal: controller.signal, timeoutMs: 5_000 }).catch(
      (e) => e,
    );
    expect((error as WifError).code).toBe("ERR_WIF_ABORTED");
    expect(server.hits()).toBe(1);
  });

  it("refuses a response larger than the cap", async () => {
    const server = await serve((_req, res) => {
      res.end("x".repeat(4096));
    });
    const error = await httpRequest({ url: server.url, maxResponseBytes: 1024 }).catch((e) => e);
    expect((error as WifError).code).toBe("ERR_WIF_RESPONSE_TOO_LARGE");
  });

  it("keeps the query string and credentials out of error messages", async () => {
    const error = await httpRequest({
      url: "http://user:hunter2@127.0.0.1:1/path?token=secret",
      retry: false,
      timeoutMs: 500,
    }).catch((e) => e);
    expect((error as WifError).code).toBe("ERR_WIF_NETWORK");
    expect((error as WifError).message).not.toMatch(/hunter2|secret/);
    expect((error as WifError).message).toContain("http://127.0.0.1:1/path");
  });

  it("sends the body with its length and the caller's headers", async () => {
    let seen: { body: string; type: string | undefined; length: string | undefined } | undefined;
    const server = await serve((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        seen = {
          body: Buffer.concat(chunks).toString(),
          type: req.headers["content-type"],
          length: req.headers["content-length"],
        };
        res.end();
      });
    });
    await httpRequest({
      url: server.url,
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "grant_type=x&scope=a+b",
    });
    expect(seen).toEqual({
      body: "grant_type=x&scope=a+b",
      type: "application/x-www-form-urlencoded",
      length: "22",
    });
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
