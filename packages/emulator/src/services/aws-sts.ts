import type { Runtime } from "../runtime.js";
import { type ServiceDefinition, type ServiceRequest, type ServiceResponse, xml } from "../server.js";
import { randomUuid } from "../signing.js";
import { verifySigV4 } from "../sigv4.js";
import { awsTimestamp } from "./aws-imds.js";

const NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/";
const AWS_STS_HOST = /^sts(?:\.([a-z0-9-]+))?\.amazonaws\.com(?:\.cn)?(?::\d+)?$/;

export function escapeXml(value: string): string {
  return value.replace(
    /[<>&'"]/g,
    (char) => `&${{ "<": "lt", ">": "gt", "&": "amp", "'": "apos", '"': "quot" }[char]};`,
  );
}

/** AWS's query-API error document. */
export function awsError(
  status: number,
  code: string,
  message: string,
  type: "Sender" | "Receiver" = "Sender",
): ServiceResponse {
  return xml(
    status,
    `<ErrorResponse xmlns="${NAMESPACE}">
  <Error>
    <Type>${type}</Type>
    <Code>${escapeXml(code)}</Code>
    <Message>${escapeXml(message)}</Message>
  </Error>
  <RequestId>${randomUuid()}</RequestId>
</ErrorResponse>
`,
  );
}

function success(action: string, result: string): ServiceResponse {
  return xml(
    200,
    `<${action}Response xmlns="${NAMESPACE}">
  <${action}Result>
${result}
  </${action}Result>
  <ResponseMetadata>
    <RequestId>${randomUuid()}</RequestId>
  </ResponseMetadata>
</${action}Response>
`,
  );
}

/** Query parameters and form body together, as the AWS query protocol reads them. */
function actionParams(request: ServiceRequest): URLSearchParams {
  const params = new URLSearchParams(request.url.search);
  const contentType = request.header("content-type") ?? "";
  if (
    request.method === "POST" &&
    (contentType === "" || contentType.includes("application/x-www-form-urlencoded"))
  ) {
    for (const [key, value] of new URLSearchParams(request.text())) params.set(key, value);
  }
  return params;
}

const ACTION_ROUTES: Record<string, string> = {
  GetCallerIdentity: "aws.sts.getCallerIdentity",
  AssumeRoleWithWebIdentity: "aws.sts.assumeRoleWithWebIdentity",
};

/** AWS STS (query protocol, `POST /`): GetCallerIdentity (SigV4-verified) and AssumeRoleWithWebIdentity. */
export function awsStsService(runtime: Runtime): ServiceDefinition {
  return {
    name: "awsSts",
    prefix: "aws.sts",
    routes: [
      {
        name: "aws.sts.unknownAction",
        methods: ["POST", "GET"],
        path: /^\/$/,
        nameFor: (request) =>
          ACTION_ROUTES[actionParams(request).get("Action") ?? ""] ?? "aws.sts.unknownAction",
        handle: (request) => {
          const params = actionParams(request);
          const action = params.get("Action") ?? "";
          if (action === "GetCallerIdentity") return getCallerIdentity(runtime, request);
          if (action === "AssumeRoleWithWebIdentity") return assumeRoleWithWebIdentity(runtime, params);
          return awsError(400, "InvalidAction", `Could not find operation ${action} for version 2011-06-15`);
        },
      },
    ],
    notFound: () => awsError(404, "UnknownOperationException", "Unknown operation."),
    faultResponse: (status) =>
      status >= 500
        ? awsError(status, "ServiceUnavailable", "Service is unable to handle request.", "Receiver")
        : status === 429 || status === 400
          ? awsError(status, "Throttling", "Rate exceeded")
          : awsError(status, "AccessDenied", `HTTP ${status}`),
  };
}

function getCallerIdentity(runtime: Runtime, request: ServiceRequest): ServiceResponse {
  const host = request.header("host") ?? "";
  // A request that names a real regional STS host must be signed for that region; loopback accepts any.
  const hostMatch = AWS_STS_HOST.exec(host);
  const verified = verifySigV4(
    { method: request.method, url: request.url, headers: request.headerPairs, body: request.body },
    {
      lookupKey: (id) => runtime.awsKeys.lookup(id),
      now: runtime.clock.now(),
      service: "sts",
      region: hostMatch ? (hostMatch[1] ?? "us-east-1") : undefined,
    },
  );
  if (!verified.ok) return awsError(verified.status, verified.code, verified.message);
  const { key } = verified;
  return success(
    "GetCallerIdentity",
    `    <Arn>${escapeXml(key.arn)}</Arn>
    <UserId>${escapeXml(key.userId)}</UserId>
    <Account>${escapeXml(key.account)}</Account>`,
  );
}

async function assumeRoleWithWebIdentity(
  runtime: Runtime,
  params: URLSearchParams,
): Promise<ServiceResponse> {
  const required = ["RoleArn", "RoleSessionName", "WebIdentityToken"] as const;
  const missing = required.filter((name) => !params.get(name));
  if (missing.length > 0) {
    const details = missing
      .map(
        (name) =>
          `Value null at '${name[0]!.toLowerCase()}${name.slice(1)}' failed to satisfy constraint: Member must not be null`,
      )
      .join("; ");
    return awsError(
      400,
      "ValidationError",
      `${missing.length} validation error${missing.length > 1 ? "s" : ""} detected: ${details}`,
    );
  }
  const roleArn = params.get("RoleArn")!;
  const sessionName = params.get("RoleSessionName")!;
  const token = params.get("WebIdentityToken")!;
  if (!/^[\w+=,.@-]{2,64}$/.test(sessionName)) {
    return awsError(
      400,
      "ValidationError",
      `1 validation error detected: Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`,
    );
  }
  const role = Object.values(runtime.state.aws.roles).find((candidate) => candidate.arn === roleArn);
  const durationText = params.get("DurationSeconds");
  const duration = durationText === null ? 3600 : Number(durationText);
  if (!Number.isInteger(duration) || duration < 900) {
    return awsError(
      400,
      "ValidationError",
      `1 validation error detected: Value '${durationText}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900`,
    );
  }
  const trust = role?.webIdentity;
  if (!role || !trust)
    return awsError(403, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity");
  if (duration > role.maxSessionDurationSeconds) {
    return awsError(
      400,
      "ValidationError",
      "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
    );
  }

  const result = await runtime.oidc.verify(token, {
    issuer: trust.issuer,
    acceptAudience: (audiences) =>
      trust.audiences.length === 0 || audiences.some((aud) => trust.audiences.includes(aud)),
  });
  if (!result.ok) {
    switch (result.reason) {
      case "malformed":
        return awsError(
          400,
          "InvalidIdentityToken",
          "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)",
        );
      case "issuer":
        return awsError(
          400,
          "InvalidIdentityToken",
          `No OpenIDConnect provider found in your account for ${String(result.claims?.iss ?? "")}`,
        );
      case "discovery":
        return awsError(
          400,
          "IDPCommunicationError",
          "Couldn't retrieve verification key from your identity provider, please reference AssumeRoleWithWebIdentity documentation for requirements",
        );
      case "signature":
        return awsError(
          400,
          "InvalidIdentityToken",
          "The web identity token that was passed could not be validated by AWS. Get a new identity token from the identity provider and then retry the request.",
        );
      case "audience":
        return awsError(400, "InvalidIdentityToken", "Incorrect token audience");
      case "expired":
      case "notYetValid": {
        const exp = typeof result.claims?.exp === "number" ? result.claims.exp * 1000 : 0;
        return awsError(
          400,
          "ExpiredTokenException",
          `Token expired: current date/time ${Math.floor(runtime.clock.now() / 1000)} must be before the expiration date/time ${Math.floor(exp / 1000)}`,
        );
      }
    }
  }
  const subject = typeof result.claims.sub === "string" ? result.claims.sub : "";
  if (trust.subjects.length > 0 && !trust.subjects.includes(subject)) {
    return awsError(403, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity");
  }

  const now = runtime.clock.now();
  const assumedRoleArn = `arn:aws:sts::${runtime.state.aws.accountId}:assumed-role/${role.name}/${sessionName}`;
  const assumedRoleId = `${role.roleId}:${sessionName}`;
  const key = runtime.awsKeys.issueTemporary({
    arn: assumedRoleArn,
    account: runtime.state.aws.accountId,
    userId: assumedRoleId,
    expiresAt: now + duration * 1000,
    source: "web-identity",
  });
  const audience = Array.isArray(result.claims.aud)
    ? String(result.claims.aud[0] ?? "")
    : String(result.claims.aud ?? "");
  return success(
    "AssumeRoleWithWebIdentity",
    `    <Audience>${escapeXml(audience)}</Audience>
    <AssumedRoleUser>
      <AssumedRoleId>${escapeXml(assumedRoleId)}</AssumedRoleId>
      <Arn>${escapeXml(assumedRoleArn)}</Arn>
    </AssumedRoleUser>
    <Provider>${escapeXml(trust.issuer.replace(/^https?:\/\//, ""))}</Provider>
    <Credentials>
      <AccessKeyId>${key.accessKeyId}</AccessKeyId>
      <SecretAccessKey>${escapeXml(key.secretAccessKey)}</SecretAccessKey>
      <SessionToken>${escapeXml(key.sessionToken ?? "")}</SessionToken>
      <Expiration>${awsTimestamp(key.expiresAt ?? now)}</Expiration>
    </Credentials>
    <SubjectFromWebIdentityToken>${escapeXml(subject)}</SubjectFromWebIdentityToken>`,
  );
}
