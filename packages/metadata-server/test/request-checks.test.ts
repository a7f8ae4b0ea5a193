import { describe, expect, it } from "vitest";
import { rawExchange, rawRequest, serverPerTest, type TestServer, waitFor } from "./helpers.js";

const TOKEN = "/computeMetadata/v1/instance/service-accounts/default/token";

const startServer = serverPerTest();

async function start(options: Parameters<typeof startServer>[0] = {}): Promise<TestServer> {
  const started = await startServer(options);
  await waitFor(() => started.server.ready);
  return started;
}

/** A raw GET of the token path with these header lines after Host and Metadata-Flavor. */
function tokenRequest(lines: string[], host = "127.0.0.1"): string {
  return `GET ${TOKEN} HTTP/1.1\r\nHost: ${host}\r\nMetadata-Flavor: Google\r\n${lines.map((line) => `${line}\r\n`).join("")}Connection: close\r\n\r\n`;
}

const fillers = (count: number) => Array.from({ length: count }, (_, index) => `X-Filler-${index}: ${index}`);

describe("request checks", () => {
  it("refuses /computeMetadata requests without exactly Metadata-Flavor: Google (403, header still on the response)", async () => {
    const { url, address } = await start();
    for (const headers of [{}, { "Metadata-Flavor": "google" }, { "X-Google-Metadata-Request": "True" }]) {
      const res = await rawRequest(url, TOKEN, { flavor: false, headers });
      expect(res.status).toBe(403);
      expect(res.headers["metadata-flavor"]).toBe("Google");
      expect(res.body).not.toContain("access-1");
    }
    const twice = await rawExchange(address.port!, tokenRequest(["Metadata-Flavor: Google"]));
    expect(twice).toMatch(/^HTTP\/1\.1 403 /);
  });

  it("refuses requests carrying X-Forwarded-For or Forwarded, in any letter case", async () => {
    const { url } = await start();
    for (const headers of [
      { "X-Forwarded-For": "203.0.113.9" },
      { Forwarded: "for=203.0.113.9" },
      { "x-FORWARDED-for": "203.0.113.9" },
    ]) {
      const res = await rawRequest(url, TOKEN, { headers });
      expect(res.status).toBe(403);
      expect(res.headers["metadata-flavor"]).toBe("Google");
      expect(res.body).not.toContain("access-1");
    }
  });

  it("refuses a request with more header lines than the limit (431), so filler cannot hide a forwarding header", async () => {
    const { address } = await start();
    const port = address.port!;
    // Below the limit (64 with Host, Metadata-Flavor and Connection): served.
    expect(await rawExchange(port, tokenRequest(fillers(61)))).toMatch(/^HTTP\/1\.1 200 /);
    for (const last of ["X-Forwarded-For: 203.0.113.9", "Forwarded: for=203.0.113.9", "X-Harmless: 1"]) {
      const answer = await rawExchange(port, tokenRequest([...fillers(62), last]));
      expect(answer).toMatch(/^HTTP\/1\.1 431 /);
      expect(answer).toContain("Metadata-Flavor: Google");
      expect(answer).not.toContain("access-1");
    }
  });

  it("answers 400 to a request with two Host headers, whichever comes first (RFC 9112)", async () => {
    const { address } = await start();
    for (const [first, second] of [
      ["127.0.0.1", "attacker.example"],
      ["attacker.example", "127.0.0.1"],
      ["127.0.0.1", "127.0.0.1"],
    ]) {
      const answer = await rawExchange(address.port!, tokenRequest([`host: ${second}`], first));
      expect(answer).toMatch(/^HTTP\/1\.1 400 /);
      expect(answer).not.toContain("access-1");
    }
  });

  it("checks Host against the allowlist (DNS rebinding): defaults and configured names, with or without the port", async () => {
    const { url, address } = await start({ allowedHosts: ["node.internal"] });
    const port = address.port!;
    for (const host of [
      "127.0.0.1",
      `127.0.0.1:${port}`,
      `localhost:${port}`,
      "LOCALHOST",
      "metadata.google.internal",
      "metadata.google.internal.",
      "169.254.169.254",
      `node.internal:${port}`,
      "node.internal",
    ]) {
      const res = await rawRequest(url, TOKEN, { headers: { Host: host } });
      expect({ host, status: res.status }).toEqual({ host, status: 200 });
    }
    for (const host of [
      "attacker.example",
      `attacker.example:${port}`,
      "127.0.0.1:1",
      "metadata.google.internal.evil",
    ]) {
      const res = await rawRequest(url, TOKEN, { headers: { Host: host } });
      expect({ host, status: res.status }).toEqual({ host, status: 403 });
      expect(res.body).not.toContain("access-1");
    }
  });

  it("serves only GET (405 with Allow)", async () => {
    const { url } = await start();
    for (const method of ["POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"]) {
      const res = await rawRequest(url, TOKEN, { method });
      expect({ method, status: res.status }).toEqual({ method, status: 405 });
      expect(res.headers.allow).toBe("GET");
      expect(res.headers["metadata-flavor"]).toBe("Google");
    }
  });

  it("refuses request bodies, oversized heads, oversized URLs and garbage", async () => {
    const { url, address } = await start();
    const port = address.port!;
    const withBody = await rawRequest(url, TOKEN, {
      body: "x".repeat(10),
      headers: { "Content-Length": "10" },
    });
    expect(withBody.status).toBe(413);
    const chunked = await rawExchange(
      port,
      `GET ${TOKEN} HTTP/1.1\r\nHost: 127.0.0.1\r\nMetadata-Flavor: Google\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n`,
    );
    expect(chunked).toMatch(/^HTTP\/1\.1 413 /);
    const bigHeader = await rawExchange(port, tokenRequest([`X-Padding: ${"a".repeat(20_000)}`]));
    expect(bigHeader).toMatch(/^HTTP\/1\.1 431 /);
    expect(bigHeader).toContain("Metadata-Flavor: Google");
    expect((await rawRequest(url, `${TOKEN}?scopes=${"a".repeat(5000)}`)).status).toBe(414);
    const garbage = await rawExchange(port, "NOT HTTP AT ALL\r\n\r\n");
    expect(garbage).toMatch(/^HTTP\/1\.1 400 /);
    expect(garbage).toContain("Metadata-Flavor: Google");
  });

  it("requires the bearer token on every route when one is configured", async () => {
    const { url, address } = await start({ bearerToken: "s3cret-bearer-value" });
    const missing = await rawRequest(url, TOKEN);
    expect(missing.status).toBe(401);
    expect(missing.headers["www-authenticate"]).toBe("Bearer");
    expect((await rawRequest(url, TOKEN, { headers: { Authorization: "Bearer nope" } })).status).toBe(401);
    expect((await rawRequest(url, "/", { headers: { Authorization: "Basic abc" } })).status).toBe(401);
    expect(
      (await rawRequest(url, TOKEN, { headers: { Authorization: "Bearer s3cret-bearer-value" } })).status,
    ).toBe(200);
    // Two Authorization lines are never taken as one of them.
    const twice = await rawExchange(
      address.port!,
      tokenRequest([
        "Authorization: Bearer s3cret-bearer-value",
        "Authorization: Bearer s3cret-bearer-value",
      ]),
    );
    expect(twice).toMatch(/^HTTP\/1\.1 401 /);
  });

  it("binds 127.0.0.1 on a free port by default and gives the GCE_METADATA_HOST value", async () => {
    const { address } = await start();
    expect(address.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(address.metadataHost).toBe(`127.0.0.1:${address.port}`);
  });
});
