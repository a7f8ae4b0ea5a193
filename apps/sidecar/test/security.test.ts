import { mkdtemp, rm, stat } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { rawRequest, startTestSidecar, type TestSidecar, waitFor } from "./helpers.js";

const TOKEN = "/computeMetadata/v1/instance/service-accounts/default/token";

let running: TestSidecar | undefined;
afterEach(async () => {
  await running?.sidecar.close();
  running = undefined;
});

async function start(options: Parameters<typeof startTestSidecar>[0] = {}): Promise<TestSidecar> {
  running = await startTestSidecar(options);
  await waitFor(() => running!.sidecar.ready);
  return running;
}

/** Sends raw bytes and returns what the server answered before closing. */
function rawExchange(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port }, () => socket.write(bytes));
    let answer = "";
    socket.on("data", (chunk) => {
      answer += chunk.toString();
    });
    socket.on("end", () => resolve(answer));
    socket.on("close", () => resolve(answer));
    socket.on("error", reject);
  });
}

describe("request checks", () => {
  it("refuses /computeMetadata requests without Metadata-Flavor: Google (403, header still on the response)", async () => {
    const { sidecar } = await start();
    for (const headers of [{}, { "Metadata-Flavor": "google" }, { "X-Google-Metadata-Request": "True" }]) {
      const res = await rawRequest(sidecar.url, TOKEN, { flavor: false, headers });
      expect(res.status).toBe(403);
      expect(res.headers["metadata-flavor"]).toBe("Google");
      expect(res.body).not.toContain("access-1");
    }
  });

  it("refuses requests carrying X-Forwarded-For or Forwarded", async () => {
    const { sidecar } = await start();
    for (const headers of [{ "X-Forwarded-For": "203.0.113.9" }, { Forwarded: "for=203.0.113.9" }]) {
      const res = await rawRequest(sidecar.url, TOKEN, { headers });
      expect(res.status).toBe(403);
      expect(res.headers["metadata-flavor"]).toBe("Google");
      expect(res.body).not.toContain("access-1");
    }
  });

  it("checks Host against the allowlist (DNS rebinding), defaults and configured names with or without the port", async () => {
    const { sidecar } = await start({ allowedHosts: ["node.internal"] });
    const port = sidecar.port!;
    const allowed = [
      "127.0.0.1",
      `127.0.0.1:${port}`,
      `localhost:${port}`,
      "LOCALHOST",
      "metadata.google.internal",
      "metadata.google.internal.",
      "169.254.169.254",
      `node.internal:${port}`,
      "node.internal",
    ];
    for (const host of allowed) {
      const res = await rawRequest(sidecar.url, TOKEN, { headers: { Host: host } });
      expect({ host, status: res.status }).toEqual({ host, status: 200 });
    }
    for (const host of [
      "attacker.example",
      `attacker.example:${port}`,
      "127.0.0.1:1",
      "metadata.google.internal.evil",
    ]) {
      const res = await rawRequest(sidecar.url, TOKEN, { headers: { Host: host } });
      expect({ host, status: res.status }).toEqual({ host, status: 403 });
      expect(res.body).not.toContain("access-1");
    }
  });

  it("serves only GET (405 with Allow)", async () => {
    const { sidecar } = await start();
    for (const method of ["POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"]) {
      const res = await rawRequest(sidecar.url, TOKEN, { method });
      expect({ method, status: res.status }).toEqual({ method, status: 405 });
      expect(res.headers.allow).toBe("GET");
      expect(res.headers["metadata-flavor"]).toBe("Google");
    }
  });

  it("refuses request bodies, oversized headers and oversized URLs", async () => {
    const { sidecar } = await start();
    const withBody = await rawRequest(sidecar.url, TOKEN, {
      body: "x".repeat(10),
      headers: { "Content-Length": "10" },
    });
    expect(withBody.status).toBe(413);
    const chunked = await rawExchange(
      sidecar.port!,
      `GET ${TOKEN} HTTP/1.1\r\nHost: 127.0.0.1\r\nMetadata-Flavor: Google\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n`,
    );
    expect(chunked).toMatch(/^HTTP\/1\.1 413 /);
    const bigHeader = await rawExchange(
      sidecar.port!,
      `GET ${TOKEN} HTTP/1.1\r\nHost: 127.0.0.1\r\nMetadata-Flavor: Google\r\nX-Padding: ${"a".repeat(20_000)}\r\n\r\n`,
    );
    expect(bigHeader).toMatch(/^HTTP\/1\.1 431 /);
    expect(bigHeader).toContain("Metadata-Flavor: Google");
    const longUrl = await rawRequest(sidecar.url, `${TOKEN}?scopes=${"a".repeat(5000)}`);
    expect(longUrl.status).toBe(414);
    const garbage = await rawExchange(sidecar.port!, "NOT HTTP AT ALL\r\n\r\n");
    expect(garbage).toMatch(/^HTTP\/1\.1 400 /);
    expect(garbage).toContain("Metadata-Flavor: Google");
  });

  it("requires the bearer token on every route when one is configured", async () => {
    const { sidecar } = await start({ bearerToken: "s3cret-bearer" });
    const missing = await rawRequest(sidecar.url, TOKEN);
    expect(missing.status).toBe(401);
    expect(missing.headers["www-authenticate"]).toBe("Bearer");
    const wrong = await rawRequest(sidecar.url, TOKEN, { headers: { Authorization: "Bearer nope" } });
    expect(wrong.status).toBe(401);
    const root = await rawRequest(sidecar.url, "/", { headers: { Authorization: "Basic abc" } });
    expect(root.status).toBe(401);
    const ok = await rawRequest(sidecar.url, TOKEN, { headers: { Authorization: "Bearer s3cret-bearer" } });
    expect(ok.status).toBe(200);
  });

  it("binds 127.0.0.1 by default", async () => {
    const { sidecar } = await start();
    expect(sidecar.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(sidecar.adminUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it("listens on a Unix socket with the configured file mode, replacing a stale socket file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "wif-sidecar-"));
    const socketPath = join(dir, "metadata.sock");
    try {
      const first = await startTestSidecar({ socketPath, socketMode: 0o600, adminPort: null });
      await waitFor(() => first.sidecar.ready);
      expect((await stat(socketPath)).mode & 0o777).toBe(0o600);
      const res = await rawRequest({ socketPath }, TOKEN, { headers: { Host: "localhost" } });
      expect(JSON.parse(res.body).access_token).toBe("access-1");
      await expect(startTestSidecar({ socketPath, adminPort: null })).rejects.toThrow(/in use/);
      await first.sidecar.close();
      running = await startTestSidecar({ socketPath, adminPort: null });
      await waitFor(() => running!.sidecar.ready);
      expect((await stat(socketPath)).mode & 0o777).toBe(0o660);
    } finally {
      await running?.sidecar.close();
      running = undefined;
      await rm(dir, { recursive: true, force: true });
    }
  });
});
