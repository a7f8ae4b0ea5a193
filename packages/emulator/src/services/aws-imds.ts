import type { Runtime } from "../runtime.js";
import { json, type ServiceDefinition, type ServiceRequest, type ServiceResponse, text } from "../server.js";
import { randomToken } from "../signing.js";
import type { AwsSession } from "../stores.js";

const MAX_SESSION_TTL_SECONDS = 21600;

/** IMDS answers errors with a small XHTML page. */
export function imdsStatusPage(status: number, title: string): ServiceResponse {
  const body = `<?xml version="1.0" encoding="iso-8859-1"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"
	"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">
 <head>
  <title>${status} - ${title}</title>
 </head>
 <body>
  <h1>${status} - ${title}</h1>
 </body>
</html>
`;
  return { status, headers: { "content-type": "text/html" }, body };
}

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

function page(status: number): ServiceResponse {
  return imdsStatusPage(status, TITLES[status] ?? "Error");
}

/** Format AWS uses in credential documents: seconds precision, `Z`. */
export function awsTimestamp(time: number): string {
  return new Date(Math.floor(time / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

export function credentialDocument(session: AwsSession) {
  return {
    Code: "Success",
    LastUpdated: awsTimestamp(session.issuedAt),
    Type: "AWS-HMAC",
    AccessKeyId: session.key.accessKeyId,
    SecretAccessKey: session.key.secretAccessKey,
    Token: session.key.sessionToken ?? "",
    Expiration: awsTimestamp(session.key.expiresAt ?? 0),
  };
}

/**
 * EC2 instance metadata: IMDSv2 session tokens (`PUT /latest/api/token`), IMDSv1 unless `aws.imds.v2Only`,
 * the instance role's name and rotating credentials, placement, and the instance id.
 */
export function awsImdsService(runtime: Runtime): ServiceDefinition {
  const sessions = new Map<string, number>();

  /** Applies IMDS's access rules; undefined means go ahead. */
  const guard = (request: ServiceRequest): ServiceResponse | undefined => {
    const imds = runtime.state.aws.imds;
    if (!imds.enabled) return page(403);
    const token = request.header("x-aws-ec2-metadata-token");
    if (token !== undefined) {
      const expiresAt = sessions.get(token);
      if (expiresAt === undefined || expiresAt <= runtime.clock.now()) return page(401);
      return undefined;
    }
    return imds.v2Only ? page(401) : undefined;
  };
  const guarded =
    (handler: (request: ServiceRequest, params: Record<string, string>) => ServiceResponse) =>
    (request: ServiceRequest, params: Record<string, string>) =>
      guard(request) ?? handler(request, params);

  const metadata: Record<string, () => string> = {
    "placement/availability-zone": () => runtime.state.aws.availabilityZone,
    "placement/region": () => runtime.state.aws.region,
    "placement/": () => "availability-zone\nregion",
    "instance-id": () => runtime.state.aws.instance.id,
    "iam/": () => "info\nsecurity-credentials/",
    "iam/info": () =>
      JSON.stringify({
        Code: "Success",
        LastUpdated: awsTimestamp(runtime.clock.now()),
        InstanceProfileArn: `arn:aws:iam::${runtime.state.aws.accountId}:instance-profile/${runtime.state.aws.instance.roleName}`,
        InstanceProfileId: runtime.state.aws.instance.roleId.replace(/^AROA/, "AIPA"),
      }),
    "": () => "iam/\ninstance-id\nplacement/",
  };

  return {
    name: "awsImds",
    prefix: "aws.imds",
    routes: [
      {
        name: "aws.imds.token",
        methods: ["PUT"],
        path: /^\/latest\/api\/token$/,
        handle: (request) => {
          if (!runtime.state.aws.imds.enabled) return page(403);
          if (request.header("x-forwarded-for") !== undefined) return page(403);
          const ttlHeader = request.header("x-aws-ec2-metadata-token-ttl-seconds");
          const ttl =
            ttlHeader !== undefined && /^\d+$/.test(ttlHeader.trim()) ? Number(ttlHeader) : Number.NaN;
          if (!(ttl >= 1 && ttl <= MAX_SESSION_TTL_SECONDS)) return page(400);
          const token = `AQAEA${randomToken(40)}==`;
          const now = runtime.clock.now();
          if (sessions.size >= 1000) {
            for (const [known, expiresAt] of sessions) if (expiresAt <= now) sessions.delete(known);
          }
          sessions.set(token, now + ttl * 1000);
          return text(200, token, { "x-aws-ec2-metadata-token-ttl-seconds": String(ttl) });
        },
      },
      {
        name: "aws.imds.roleName",
        methods: ["GET"],
        path: /^\/latest\/meta-data\/iam\/security-credentials\/?$/,
        // The role name, without a trailing newline: clients append it to the URL as it is.
        handle: guarded(() => text(200, runtime.state.aws.instance.roleName)),
      },
      {
        name: "aws.imds.credentials",
        methods: ["GET"],
        path: /^\/latest\/meta-data\/iam\/security-credentials\/(?<role>[^/]+)$/,
        handle: guarded((_request, params) => {
          if (params.role !== runtime.state.aws.instance.roleName) return page(404);
          return json(200, credentialDocument(runtime.awsSessions.instance()));
        }),
      },
      {
        name: "aws.imds.metadata",
        methods: ["GET"],
        path: /^\/latest\/meta-data(?:\/(?<item>.*))?$/,
        handle: guarded((_request, params) => {
          const value = metadata[params.item ?? ""];
          return value ? text(200, value()) : page(404);
        }),
      },
    ],
    notFound: (request) => guard(request) ?? page(404),
    methodNotAllowed: () => page(405),
    faultResponse: (status) => page(status),
  };
}

/**
 * ECS / EKS Pod Identity container credentials (`/v1/credentials`, `/v2/credentials/ID`): requires the
 * `Authorization` token the workload reads from its environment.
 */
export function awsContainerService(runtime: Runtime): ServiceDefinition {
  return {
    name: "awsContainer",
    prefix: "aws.container",
    routes: [
      {
        name: "aws.container.credentials",
        methods: ["GET"],
        path: /^\/(?:v1\/credentials|v2\/credentials\/[^/]+)$/,
        handle: (request) => {
          const container = runtime.state.aws.container;
          if (!container.enabled)
            return json(404, { code: "NotFound", message: "No credentials are available here." });
          if (request.header("authorization") !== container.authorizationToken) {
            return json(401, {
              code: "AccessDenied",
              message: "The Authorization header is missing or does not match.",
            });
          }
          const session = runtime.awsSessions.container();
          const document = credentialDocument(session);
          return json(200, {
            AccessKeyId: document.AccessKeyId,
            SecretAccessKey: document.SecretAccessKey,
            Token: document.Token,
            AccountId: runtime.state.aws.accountId,
            Expiration: document.Expiration,
            RoleArn: container.roleArn,
          });
        },
      },
    ],
    notFound: () => json(404, { code: "NotFound", message: "Not found." }),
    faultResponse: (status) =>
      json(status, { code: status >= 500 ? "ServiceUnavailable" : "Throttling", message: `HTTP ${status}` }),
  };
}
