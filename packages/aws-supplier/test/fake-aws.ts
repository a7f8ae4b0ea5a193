import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";

/** What the fake AWS endpoints do; tests change it between calls. */
export interface FakeAwsState {
  /** "optional": v1 and v2 both work; "required": GET without a token is 401; "v1-only": PUT answers `tokenPutStatus`; "disabled": 403 everywhere. */
  imdsMode: "optional" | "required" | "v1-only" | "disabled";
  tokenPutStatus: number;
  roleName: string | undefined;
  region: string | undefined;
  availabilityZone: string;
  expiration: string;
  /** Answer the next N credential GETs with 401 although the token is valid (token expired server-side). */
  rejectNextTokens: number;
  containerToken: string | undefined;
  containerStatus: number;
  stsStatus: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface FakeAws {
  url: string;
  state: FakeAwsState;
  requests: RecordedRequest[];
  count(method: string, pathPrefix: string): number;
  stop(): Promise<void>;
}

export const IMDS_CREDENTIALS = {
  accessKeyId: "ASIAIMDSEXAMPLE00001",
  secretAccessKey: "imds/secret/key/EXAMPLEKEYEXAMPLEKEY01",
  sessionToken: "imds-session-token-example",
};
export const CONTAINER_CREDENTIALS = {
  accessKeyId: "ASIACONTAINEREXAMPL1",
  secretAccessKey: "container/secret/EXAMPLEKEYEXAMPLEKEY1",
  sessionToken: "container-session-token-example",
};
export const STS_CREDENTIALS = {
  accessKeyId: "ASIAIRSAEXAMPLE00001",
  secretAccessKey: "irsa/secret/key&EXAMPLEKEYEXAMPLEKEY01",
  sessionToken: "irsa-session-token+example=",
};

/** A fake of IMDS, the container credential endpoint and AWS STS on 127.0.0.1 port 0. */
export async function startFakeAws(overrides: Partial<FakeAwsState> = {}): Promise<FakeAws> {
  const state: FakeAwsState = {
    imdsMode: "optional",
    tokenPutStatus: 404,
    roleName: "wifkit-instance-role",
    region: "us-east-2",
    availabilityZone: "us-east-2b",
    expiration: new Date(Date.now() + 6 * 3600_000).toISOString(),
    rejectNextTokens: 0,
    containerToken: undefined,
    containerStatus: 200,
    stsStatus: 200,
    ...overrides,
  };
  const requests: RecordedRequest[] = [];
  const issuedTokens = new Set<string>();
  let tokenCounter = 0;

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const path = req.url ?? "/";
      const body = Buffer.concat(chunks).toString("utf8");
      requests.push({ method: req.method ?? "", path, headers: req.headers, body });
      const send = (status: number, text: string, type = "text/plain") => {
        res.writeHead(status, { "content-type": type });
        res.end(text);
      };

      if (path.startsWith("/latest/")) {
        if (state.imdsMode === "disabled") return send(403, "Forbidden");
        if (path === "/latest/api/token") {
          if (req.method !== "PUT") return send(405, "Method Not Allowed");
          if (state.imdsMode === "v1-only") return send(state.tokenPutStatus, "");
          const ttl = Number(req.headers["x-aws-ec2-metadata-token-ttl-seconds"]);
          if (!(ttl >= 1 && ttl <= 21600)) return send(400, "Bad Request");
          const token = `imds-token-${++tokenCounter}`;
          issuedTokens.add(token);
          return send(200, token);
        }
        const token = req.headers["x-aws-ec2-metadata-token"];
        if (typeof token === "string") {
          if (!issuedTokens.has(token) || state.rejectNextTokens > 0) {
            state.rejectNextTokens = Math.max(0, state.rejectNextTokens - 1);
            issuedTokens.delete(token);
            return send(401, "Unauthorized");
          }
        } else if (state.imdsMode === "required") {
          return send(401, "Unauthorized");
        }
        const credentialsPath = "/latest/meta-data/iam/security-credentials";
        if (path === credentialsPath || path === `${credentialsPath}/`) {
          return state.roleName ? send(200, state.roleName) : send(404, "Not Found");
        }
        if (state.roleName && path === `${credentialsPath}/${state.roleName}`) {
          return send(
            200,
            JSON.stringify({
              Code: "Success",
              LastUpdated: new Date().toISOString(),
              Type: "AWS-HMAC",
              AccessKeyId: IMDS_CREDENTIALS.accessKeyId,
              SecretAccessKey: IMDS_CREDENTIALS.secretAccessKey,
              Token: IMDS_CREDENTIALS.sessionToken,
              Expiration: state.expiration,
            }),
          );
        }
        if (path === "/latest/meta-data/placement/region") {
          return state.region ? send(200, state.region) : send(404, "Not Found");
        }
        if (path === "/latest/meta-data/placement/availability-zone")
          return send(200, state.availabilityZone);
        return send(404, "Not Found");
      }

      if (path.startsWith("/container/")) {
        if (state.containerToken !== undefined && req.headers.authorization !== state.containerToken) {
          return send(
            401,
            JSON.stringify({ code: "AccessDenied", message: "bad token" }),
            "application/json",
          );
        }
        if (state.containerStatus !== 200) {
          return send(state.containerStatus, JSON.stringify({ code: "Unavailable", message: "agent busy" }));
        }
        return send(
          200,
          JSON.stringify({
            AccessKeyId: CONTAINER_CREDENTIALS.accessKeyId,
            SecretAccessKey: CONTAINER_CREDENTIALS.secretAccessKey,
            Token: CONTAINER_CREDENTIALS.sessionToken,
            Expiration: state.expiration,
            RoleArn: "arn:aws:iam::111122223333:role/task-role",
          }),
          "application/json",
        );
      }

      if (path === "/" && req.method === "POST") {
        const form = new URLSearchParams(body);
        if (form.get("Action") !== "AssumeRoleWithWebIdentity" || state.stsStatus !== 200) {
          return send(
            state.stsStatus === 200 ? 400 : state.stsStatus,
            `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>` +
              `<Code>InvalidIdentityToken</Code><Message>Token &amp; issuer not trusted</Message></Error>` +
              `<RequestId>r-1</RequestId></ErrorResponse>`,
            "text/xml",
          );
        }
        const xmlEscape = (text: string) => text.replaceAll("&", "&amp;").replaceAll("<", "&lt;");
        return send(
          200,
          `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>system:serviceaccount:default:app</SubjectFromWebIdentityToken>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::111122223333:assumed-role/irsa-role/${xmlEscape(form.get("RoleSessionName") ?? "")}</Arn>
      <AssumedRoleId>AROAEXAMPLE:${xmlEscape(form.get("RoleSessionName") ?? "")}</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <SessionToken>${xmlEscape(STS_CREDENTIALS.sessionToken)}</SessionToken>
      <SecretAccessKey>${xmlEscape(STS_CREDENTIALS.secretAccessKey)}</SecretAccessKey>
      <Expiration>${state.expiration}</Expiration>
      <AccessKeyId>${STS_CREDENTIALS.accessKeyId}</AccessKeyId>
    </Credentials>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata><RequestId>r-2</RequestId></ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>`,
          "text/xml",
        );
      }
      send(404, "Not Found");
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    state,
    requests,
    count: (method, pathPrefix) =>
      requests.filter((request) => request.method === method && request.path.startsWith(pathPrefix)).length,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A loopback URL on which nothing listens: connections are refused at once, like IMDS off EC2 behind a firewall. */
export async function closedLoopbackUrl(): Promise<string> {
  const server = http.createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
