/**
 * Mutual TLS end to end: a real https server on 127.0.0.1 port 0 that demands a client certificate signed by
 * the test CA, as sts.mtls.googleapis.com does for the X.509 credential source. The fixtures are throwaway
 * test certificates (P-256, test CA), used nowhere else.
 */
import { once } from "node:events";
import { readFileSync } from "node:fs";
import https from "node:https";
import type { AddressInfo } from "node:net";
import type { TLSSocket } from "node:tls";
import { afterEach, expect, it } from "vitest";
import { exchangeToken } from "../src/index.js";

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8");
const ca = fixture("ca.pem");

let server: https.Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

it("presents the client certificate to an mTLS STS endpoint", async () => {
  const peers: string[] = [];
  server = https.createServer(
    {
      cert: fixture("server.pem"),
      key: fixture("server.key"),
      ca,
      requestCert: true,
      rejectUnauthorized: true,
    },
    (req, res) => {
      const socket = req.socket as TLSSocket;
      peers.push(String(socket.getPeerCertificate().subject?.CN));
      req.resume();
      req.on("end", () => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ access_token: "ya29.mtls", token_type: "Bearer", expires_in: 3600 }));
      });
    },
  );
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;

  const result = await exchangeToken({
    tokenUrl: `https://127.0.0.1:${port}/v1/token`,
    audience: "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/x509",
    subjectToken: JSON.stringify([fixture("client.pem").replace(/-----[^-]+-----|\s/g, "")]),
    subjectTokenType: "urn:ietf:params:oauth:token-type:mtls",
    tls: { cert: fixture("client.pem"), key: fixture("client.key"), ca },
    retry: false,
  });
  expect(result.accessToken).toBe("ya29.mtls");
  expect(peers).toEqual(["wifkit workload"]);
});

it("cannot reach the mTLS endpoint without a client certificate", async () => {
  server = https.createServer(
    {
      cert: fixture("server.pem"),
      key: fixture("server.key"),
      ca,
      requestCert: true,
      rejectUnauthorized: true,
    },
    (_req, res) => res.end("{}"),
  );
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  const error = await exchangeToken({
    tokenUrl: `https://127.0.0.1:${port}/v1/token`,
    audience: "aud",
    subjectToken: "[]",
    subjectTokenType: "urn:ietf:params:oauth:token-type:mtls",
    retry: false,
  }).then(
    () => undefined,
    (e: unknown) => e as { code?: string },
  );
  // Without our CA the server certificate is untrusted too; either way no token is issued.
  expect(error?.code).toBe("ERR_WIF_NETWORK");
});
