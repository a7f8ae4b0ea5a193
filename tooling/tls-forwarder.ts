/**
 * A small HTTPS server on 127.0.0.1 port 0 that stands in for Google's hosts: it presents
 * `fixtures/tls/server.pem` (valid for sts, iamcredentials and storage .googleapis.com, the regional
 * `sts.us-east1.rep.googleapis.com` and their mtls. hosts, signed by `fixtures/tls/ca.pem`) and forwards
 * each request, by its Host header, to a plain-http local origin (the emulator's ports). With the test
 * proxy (`test-proxy.ts`) routing `sts.googleapis.com:443` here, a client that trusts the test CA reaches
 * "https://sts.googleapis.com" through a real CONNECT tunnel and real TLS, and the emulator answers. Shared
 * by the packages' tests (imported by relative path; it is not published).
 */
import { once } from "node:events";
import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import type { AddressInfo, Socket } from "node:net";

const fixture = (name: string) => readFileSync(new URL(`fixtures/tls/${name}`, import.meta.url), "utf8");

/** The test CA (PEM) that signs the forwarder's certificate: trust it to reach the forwarder. */
export const TEST_CA_PEM = fixture("ca.pem");
/** The path of the test CA, for a child process's `NODE_EXTRA_CA_CERTS`. */
export const TEST_CA_PATH = new URL("fixtures/tls/ca.pem", import.meta.url).pathname;

export interface TlsForwarder {
  /** The local port: what the test proxy's routes send `host:443` to. */
  port: number;
  /**
   * Every forwarded request: Host header (without port), method, path (query included), and the request
   * and response bodies (so tests can look for the secrets that crossed the wire elsewhere).
   */
  requests: Array<{ host: string; method: string; path: string; body: string; response: string }>;
  close(): Promise<void>;
}

/**
 * Starts the forwarder. `origins` maps a host name (`sts.googleapis.com`) to the local origin
 * (`http://127.0.0.1:PORT`) that serves it; any other host gets 421 Misdirected Request.
 */
export async function startTlsForwarder(origins: Record<string, string>): Promise<TlsForwarder> {
  const requests: TlsForwarder["requests"] = [];
  const server = https.createServer(
    { cert: fixture("server.pem"), key: fixture("server.key") },
    (request, response) => {
      const host = (request.headers.host ?? "").replace(/:\d+$/, "").toLowerCase();
      const record = {
        host,
        method: request.method ?? "GET",
        path: request.url ?? "/",
        body: "",
        response: "",
      };
      requests.push(record);
      const origin = origins[host];
      if (origin === undefined) {
        response.writeHead(421).end();
        return;
      }
      const upstream = http.request(
        new URL(record.path, origin),
        { method: request.method, headers: request.headers },
        (answer) => {
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.setEncoding("utf8").on("data", (chunk: string) => {
            record.response += chunk;
            response.write(chunk);
          });
          answer.on("end", () => response.end());
        },
      );
      upstream.on("error", () => response.destroy());
      request.setEncoding("utf8").on("data", (chunk: string) => {
        record.body += chunk;
        upstream.write(chunk);
      });
      request.on("end", () => upstream.end());
    },
  );
  // Every socket, handshakes included (a client that refuses the certificate leaves one half open).
  const sockets = new Set<Socket>();
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** The Google hosts the forwarder's certificate covers and the tests put behind the proxy. */
export const GOOGLE_HOSTS = {
  sts: "sts.googleapis.com",
  regionalSts: "sts.us-east1.rep.googleapis.com",
  iamCredentials: "iamcredentials.googleapis.com",
} as const;

/** A forwarder serving the Google hosts from the emulator's STS and IAM Credentials ports. */
export function startGoogleForwarder(urls: { sts: string; iamCredentials: string }): Promise<TlsForwarder> {
  return startTlsForwarder({
    [GOOGLE_HOSTS.sts]: urls.sts,
    [GOOGLE_HOSTS.regionalSts]: urls.sts,
    [GOOGLE_HOSTS.iamCredentials]: urls.iamCredentials,
  });
}

/** The test proxy's routes that tunnel the Google hosts (port 443) to `forwarder`. */
export function googleRoutes(forwarder: TlsForwarder): Record<string, number> {
  return Object.fromEntries(Object.values(GOOGLE_HOSTS).map((host) => [`${host}:443`, forwarder.port]));
}

/**
 * An emulator credential config that names the real Google endpoints (`token_url`, default the global
 * STS, and the IAM Credentials host of the impersonation URL), its subject token source left as it is.
 */
export function withGoogleEndpoints<
  T extends { token_url?: string | undefined; service_account_impersonation_url?: string | undefined },
>(config: T, tokenUrl = `https://${GOOGLE_HOSTS.sts}/v1/token`): T {
  const impersonation = config.service_account_impersonation_url;
  return {
    ...config,
    token_url: tokenUrl,
    ...(impersonation
      ? {
          service_account_impersonation_url: `https://${GOOGLE_HOSTS.iamCredentials}${new URL(impersonation).pathname}`,
        }
      : {}),
  };
}

/**
 * Every secret of an AWS flow with impersonation, by name, for tests that grep logs and traces: what crossed
 * the forwarder in the last STS exchange (the serialized subject token, the SigV4 signature and session
 * token inside it, the federated token STS answered) and what the test knows besides (`known`: the AWS
 * secret key, the access token, a proxy password...).
 */
export function awsFlowSecrets(
  forwarder: TlsForwarder,
  known: Record<string, string>,
): Record<string, string> {
  const exchange = forwarder.requests.findLast((request) => request.path === "/v1/token");
  const subjectToken = new URLSearchParams(exchange?.body).get("subject_token") ?? "";
  const signed = JSON.parse(decodeURIComponent(subjectToken) || "{}") as {
    headers?: Array<{ key: string; value: string }>;
  };
  const header = (name: string) =>
    signed.headers?.find((entry) => entry.key.toLowerCase() === name)?.value ?? "";
  return {
    "SigV4 signature": /Signature=([0-9a-f]+)/.exec(header("authorization"))?.[1] ?? "",
    "AWS session token": header("x-amz-security-token"),
    "subject token": subjectToken,
    "federated token":
      (JSON.parse(exchange?.response || "{}") as { access_token?: string }).access_token ?? "",
    ...known,
  };
}

/** The names of the `secrets` found in `text`, as they are or URL-encoded; a secret too short to search counts as found. */
export function leakedSecrets(text: string, secrets: Record<string, string>): string[] {
  return Object.entries(secrets)
    .filter(
      ([, value]) => value.length < 16 || text.includes(value) || text.includes(encodeURIComponent(value)),
    )
    .map(([name]) => name);
}
