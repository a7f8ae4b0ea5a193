import { once } from "node:events";
import { readFileSync } from "node:fs";
import https from "node:https";
import type { AddressInfo } from "node:net";
import type { TLSSocket } from "node:tls";
import { afterEach, describe, expect, it } from "vitest";
import { startProxy } from "../../../tooling/test-proxy.js";
import { startServer, type TestServer } from "../../../tooling/test-server.js";
import { virtualTime } from "../../../tooling/virtual-time.js";
import { isLocalOnlyHost, noProxyMatcher, proxyResolver } from "./proxy.js";
import { httpRequest } from "./request.js";
import { createTransport } from "./transport.js";

const fixture = (name: string) =>
  readFileSync(new URL(`../../../tooling/fixtures/tls/${name}`, import.meta.url), "utf8");

const closers: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((item) => item.close()));
});
async function track<T extends { close(): Promise<void> }>(item: Promise<T>): Promise<T> {
  const value = await item;
  closers.push(value);
  return value;
}

const resolve = (env: Record<string, string>, url: string) =>
  proxyResolver({ env })(new URL(url))?.href ?? "direct";

describe("which proxy a request takes", () => {
  it("reads https_proxy before HTTPS_PROXY, by scheme, and accepts a bare host:port", () => {
    const env = { https_proxy: "http://lower:1", HTTPS_PROXY: "http://upper:2", HTTP_PROXY: "proxy:3" };
    expect(resolve(env, "https://sts.googleapis.com/v1/token")).toBe("http://lower:1/");
    expect(resolve(env, "http://example.com/")).toBe("http://proxy:3/");
    expect(resolve({}, "https://sts.googleapis.com/")).toBe("direct");
  });

  it("never proxies loopback or the link-local metadata addresses, whatever the settings", () => {
    for (const host of [
      "127.0.0.1",
      "127.9.9.9",
      "[::1]",
      "localhost",
      "169.254.169.254",
      "169.254.170.2",
      "[fd00:ec2::254]",
      "[fe80::1]",
      "[::ffff:169.254.169.254]",
      "metadata.google.internal",
    ]) {
      expect(isLocalOnlyHost(host), host).toBe(true);
      expect(proxyResolver({ proxy: "http://proxy:3128" })(new URL(`http://${host}/latest`))).toBeUndefined();
    }
    expect(isLocalOnlyHost("169.255.0.1")).toBe(false);
    expect(isLocalOnlyHost("sts.googleapis.com")).toBe(false);
  });

  it("honours NO_PROXY hosts, domains, ports, IPs, CIDRs and *", () => {
    const exempt = noProxyMatcher(".corp.example, internal.test:8443 10.0.0.0/8,fd00::/8, 192.0.2.7");
    const check = (url: string) => exempt(new URL(url));
    expect(check("https://corp.example/")).toBe(true);
    expect(check("https://api.corp.example/")).toBe(true);
    expect(check("https://notcorp.example/")).toBe(false);
    expect(check("https://internal.test:8443/")).toBe(true);
    expect(check("https://internal.test/")).toBe(false);
    expect(check("http://10.1.2.3/")).toBe(true);
    expect(check("http://11.1.2.3/")).toBe(false);
    expect(check("http://[fd12::1]/")).toBe(true);
    expect(check("http://192.0.2.7/")).toBe(true);
    expect(noProxyMatcher("*")(new URL("https://sts.googleapis.com/"))).toBe(true);
    expect(
      resolve({ HTTPS_PROXY: "http://p:1", NO_PROXY: "googleapis.com" }, "https://sts.googleapis.com/"),
    ).toBe("direct");
  });

  it("an explicit proxy wins over the environment, and false turns proxies off", () => {
    const env = { HTTPS_PROXY: "http://env:1" };
    expect(proxyResolver({ env, proxy: "http://flag:2" })(new URL("https://x.test/"))?.host).toBe("flag:2");
    expect(proxyResolver({ env, proxy: false })(new URL("https://x.test/"))).toBeUndefined();
  });

  it("refuses a malformed proxy naming the variable, never echoing its credentials", () => {
    expect(() => proxyResolver({ env: { HTTPS_PROXY: "socks5://u:secret@p:1" } })).toThrow(
      expect.objectContaining({ code: "ERR_WIF_INVALID_OPTION", field: "HTTPS_PROXY" }),
    );
    try {
      proxyResolver({ proxy: "http://u:secret@[bad" });
    } catch (error) {
      expect(String((error as Error).message)).not.toContain("secret");
    }
  });
});

describe("requests through a real CONNECT proxy", () => {
  async function target(): Promise<TestServer> {
    return track(startServer((_request, response) => response.end('{"ok":true}')));
  }

  it("tunnels a request through the proxy, with Basic credentials from the proxy URL", async () => {
    const server = await target();
    const port = Number(new URL(server.origin).port);
    const proxy = await track(
      startProxy({
        routes: { "sts.example.test:80": port },
        credentials: { username: "me", password: "p@ss" },
      }),
    );
    const proxyUrl = proxy.url.replace("://", "://me:p%40ss@");
    const transport = createTransport({ env: { HTTP_PROXY: proxyUrl } });
    const response = await httpRequest({ url: "http://sts.example.test/v1/token", transport, retry: false });
    expect(response.status).toBe(200);
    expect(response.proxy).toBe(proxy.url);
    expect(proxy.connects).toEqual([{ target: "sts.example.test:80", tunnelled: true }]);
    expect(server.requests[0]?.pathname).toBe("/v1/token");
  });

  it("goes direct for NO_PROXY and loopback targets: the proxy never sees them", async () => {
    const server = await target();
    const proxy = await track(startProxy());
    const transport = createTransport({ env: { HTTP_PROXY: proxy.url, NO_PROXY: "direct.test" } });
    expect((await httpRequest({ url: server.origin, transport })).status).toBe(200);
    expect(proxy.connects).toEqual([]);
  });

  /**
   * An HTTPS server with the Google host names' test certificate that asks for a client certificate and
   * records who presented one (`anonymous` if none, which only `allowAnonymous` lets through).
   */
  async function googleTlsServer(allowAnonymous = false): Promise<{ port: number; peers: string[] }> {
    const peers: string[] = [];
    const server = https.createServer(
      {
        cert: fixture("server.pem"),
        key: fixture("server.key"),
        ca: fixture("ca.pem"),
        requestCert: true,
        rejectUnauthorized: !allowAnonymous,
      },
      (request, response) => {
        const socket = request.socket as TLSSocket;
        peers.push(socket.authorized ? String(socket.getPeerCertificate().subject?.CN) : "anonymous");
        response.end("{}");
      },
    );
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    closers.push({ close: () => new Promise((done) => server.close(() => done())) });
    return { port: (server.address() as AddressInfo).port, peers };
  }

  it("speaks TLS and mutual TLS inside the tunnel, to a real Google host name", async () => {
    const { port, peers } = await googleTlsServer();
    const proxy = await track(startProxy({ routes: { "sts.mtls.googleapis.com:443": port } }));
    const transport = createTransport({ proxy: proxy.url });
    const response = await httpRequest({
      url: "https://sts.mtls.googleapis.com/v1/token",
      transport,
      tls: { cert: fixture("client.pem"), key: fixture("client.key"), ca: fixture("ca.pem") },
      retry: false,
    });
    expect(response.status).toBe(200);
    expect(peers).toEqual(["wifkit workload"]);
  });

  it("trusts the transport's own CA for every request, merged with a request's client certificate", async () => {
    const { port, peers } = await googleTlsServer(true);
    const proxy = await track(startProxy({ routes: { "sts.googleapis.com:443": port } }));
    const url = "https://sts.googleapis.com/v1/token";
    const untrusted = await httpRequest({
      url,
      transport: createTransport({ proxy: proxy.url }),
      retry: false,
    })
      .then(() => "connected")
      .catch((error: unknown) => (error as { code?: string }).code);
    // The tunnel is up; the target's certificate is what is not trusted.
    expect(untrusted).toBe("ERR_WIF_NETWORK");
    const transport = createTransport({ proxy: proxy.url, tls: { ca: fixture("ca.pem") } });
    expect((await httpRequest({ url, transport, retry: false })).status).toBe(200);
    const tls = { cert: fixture("client.pem"), key: fixture("client.key") };
    expect((await httpRequest({ url, transport, tls, retry: false })).status).toBe(200);
    expect(peers).toEqual(["anonymous", "wifkit workload"]);
  });

  it("reaches an https:// proxy", async () => {
    const server = await target();
    const proxy = await track(
      startProxy({
        routes: { "sts.example.test:80": Number(new URL(server.origin).port) },
        tls: { cert: fixture("server.pem"), key: fixture("server.key") },
      }),
    );
    const transport = createTransport({ proxy: proxy.url, proxyCa: fixture("ca.pem") });
    const response = await httpRequest({ url: "http://sts.example.test/", transport, retry: false });
    expect(response.status).toBe(200);
  });

  it.each([
    [407, "ERR_WIF_PROXY", /refused .* \(HTTP 407\); the proxy wants credentials/],
    [502, "ERR_WIF_PROXY", /refused .* \(HTTP 502\)/],
    ["reset", "ERR_WIF_PROXY", /through the proxy http:\/\/127\.0\.0\.1:\d+ failed: ECONNRESET/],
  ] as const)(
    "a proxy that answers %s gives a clear error naming it without its credentials",
    async (mode, code, message) => {
      const proxy = await track(
        mode === 407
          ? startProxy({ credentials: { username: "u", password: "right" } })
          : startProxy({ refuse: mode }),
      );
      const transport = createTransport({ proxy: proxy.url.replace("://", "://u:wrong-secret@") });
      const error = await httpRequest({
        url: "https://sts.googleapis.com/v1/token",
        transport,
        retry: false,
      }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code });
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).toContain(proxy.url);
      expect(JSON.stringify(error)).not.toContain("wrong-secret");
      expect(String((error as Error).stack)).not.toContain("wrong-secret");
    },
  );
});

it("a proxy that resets is asked once per attempt, never in a loop, and retried by the policy", async () => {
  const proxy = await track(startProxy({ refuse: "reset" }));
  const time = virtualTime();
  const transport = createTransport({ proxy: proxy.url });
  const error = await time
    .run(
      httpRequest({
        url: "https://sts.googleapis.com/v1/token",
        transport,
        retry: { retries: 2 },
        clock: time.clock,
        sleep: time.sleep,
      }),
      { below: 10_000 },
    )
    .catch((e: unknown) => e);
  expect(error).toMatchObject({ code: "ERR_WIF_PROXY", retryable: true });
  expect(proxy.connects).toHaveLength(3);
});
