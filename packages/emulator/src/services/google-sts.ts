import { AttributeMappingError } from "@wifkit/attribute-mapping";
import { SUBJECT_TOKEN_TYPES } from "@wifkit/core";
import type { ProviderState } from "../config.js";
import { trimSlash } from "../oidc.js";
import type { Runtime } from "../runtime.js";
import { json, type ServiceDefinition, type ServiceRequest, type ServiceResponse } from "../server.js";
import { verifySigV4 } from "../sigv4.js";
import type { FederatedTokenIdentity } from "../stores.js";
import { googleApiError } from "./google-errors.js";
import { serviceDisabled } from "./service-usage.js";

export const TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange";
const {
  accessToken: ACCESS_TOKEN_TYPE,
  aws4Request: AWS_TOKEN_TYPE,
  jwt: JWT_TOKEN_TYPE,
  idToken: ID_TOKEN_TYPE,
} = SUBJECT_TOKEN_TYPES;
export const CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform";
const KNOWN_SUBJECT_TOKEN_TYPES = new Set([
  JWT_TOKEN_TYPE,
  ID_TOKEN_TYPE,
  AWS_TOKEN_TYPE,
  "urn:ietf:params:oauth:token-type:saml2",
  "urn:ietf:params:oauth:token-type:access_token",
  "urn:ietf:params:oauth:token-type:mtls",
]);
/** Google caps federated tokens at one hour, and never past the subject credential's own expiry. */
const MAX_FEDERATED_LIFETIME_SECONDS = 3600;

/** Google STS's texts, verbatim where Google's wording is known (WIRE.md section 2). */
export const STS_ERRORS = {
  audienceFormat:
    'Invalid value for "audience". This value should be the full resource name of the Identity Provider. See https://cloud.google.com/iam/docs/reference/sts/rest/v1/TopLevel/token for the list of possible formats.',
  invalidTarget:
    'The target service indicated by the "audience" parameters is invalid. This might either be because the pool or provider is disabled or deleted or because it doesn\'t exist.',
  conditionRejected: "The given credential is rejected by the attribute condition.",
  issuerUnreachable: "Error connecting to the given credential's issuer.",
  awsInvalidFormat: "AWS request has invalid format.",
} as const;

type Form = Record<string, string>;

function oauthError(error: string, description: string): ServiceResponse {
  return json(400, { error, error_description: description });
}

/** Google STS: `POST /v1/token` (RFC 8693 token exchange) and `POST /v1/introspect`. */
export function googleStsService(runtime: Runtime): ServiceDefinition {
  return {
    name: "sts",
    prefix: "sts",
    routes: [
      {
        name: "sts.token",
        methods: ["POST"],
        path: /^\/v1\/token$/,
        handle: (request) => exchangeToken(runtime, request),
      },
      {
        name: "sts.introspect",
        methods: ["POST"],
        path: /^\/v1\/introspect$/,
        handle: (request) => introspect(runtime, request),
      },
    ],
    notFound: (request) =>
      googleApiError(404, `The requested URL ${request.path} was not found on this server.`),
    faultResponse: (status) => googleApiError(status),
  };
}

const CAMEL_TO_SNAKE: Record<string, string> = {
  grantType: "grant_type",
  requestedTokenType: "requested_token_type",
  subjectToken: "subject_token",
  subjectTokenType: "subject_token_type",
  actorToken: "actor_token",
  actorTokenType: "actor_token_type",
};

/**
 * Reads a form or JSON body (camelCase or snake_case keys) into snake_case fields. JSON is recognised by
 * any `json` content type (`application/json`, `text/json`) or, without a content type, by its first
 * character; everything else is read as a form.
 */
export function readTokenRequest(request: ServiceRequest): Form | undefined {
  const contentType = request.header("content-type") ?? "";
  const form: Form = {};
  const isJson =
    /json/i.test(contentType) || (contentType === "" && request.text().trimStart().startsWith("{"));
  if (isJson) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(request.text());
    } catch {
      return undefined;
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return undefined;
    for (const [key, value] of Object.entries(parsed)) {
      const name = CAMEL_TO_SNAKE[key] ?? key;
      if (typeof value === "string") form[name] = value;
      else if (Array.isArray(value) && name === "scope")
        form[name] = value.filter((s) => typeof s === "string").join(" ");
      else if (typeof value === "object" && value !== null && name === "options")
        form[name] = JSON.stringify(value);
    }
    return form;
  }
  for (const [key, value] of new URLSearchParams(request.text())) form[key] = value;
  return form;
}

async function exchangeToken(runtime: Runtime, request: ServiceRequest): Promise<ServiceResponse> {
  const form = readTokenRequest(request);
  if (!form) return oauthError("invalid_request", "Invalid JSON payload received.");
  if (form.grant_type !== TOKEN_EXCHANGE_GRANT) {
    return oauthError(
      form.grant_type ? "unsupported_grant_type" : "invalid_request",
      `Invalid value for "grant_type". Supported: ${TOKEN_EXCHANGE_GRANT}.`,
    );
  }
  if (form.requested_token_type !== undefined && form.requested_token_type !== ACCESS_TOKEN_TYPE) {
    return oauthError(
      "invalid_request",
      `Invalid value for "requested_token_type". Supported: ${ACCESS_TOKEN_TYPE}.`,
    );
  }
  const subjectTokenType = form.subject_token_type;
  if (!subjectTokenType || !KNOWN_SUBJECT_TOKEN_TYPES.has(subjectTokenType)) {
    return oauthError("invalid_request", 'Invalid value for "subject_token_type".');
  }
  const subjectToken = form.subject_token;
  if (!subjectToken) return oauthError("invalid_request", 'Missing required parameter: "subject_token".');
  if (form.options !== undefined && parseOptions(form.options) === undefined) {
    return oauthError(
      "invalid_request",
      'Invalid value for "options". It must be a JSON object such as {"userProject": "PROJECT"}.',
    );
  }

  const target = resolveAudience(runtime, form.audience ?? "");
  if (target.kind === "error") return target.response;
  const provider = target.provider;

  let assertion: Record<string, unknown>;
  let subjectExpiresAt: number | undefined;
  if (provider.type === "aws") {
    if (subjectTokenType !== AWS_TOKEN_TYPE) {
      return oauthError("invalid_request", `AWS providers accept only subject_token_type ${AWS_TOKEN_TYPE}.`);
    }
    const result = verifyAwsSubjectToken(runtime, provider, subjectToken);
    if (!result.ok) return result.response;
    assertion = result.assertion;
    subjectExpiresAt = result.expiresAt;
  } else {
    if (subjectTokenType !== JWT_TOKEN_TYPE && subjectTokenType !== ID_TOKEN_TYPE) {
      return oauthError(
        "invalid_request",
        `OIDC providers accept subject_token_type ${JWT_TOKEN_TYPE} or ${ID_TOKEN_TYPE}.`,
      );
    }
    const result = await verifyOidcSubjectToken(runtime, provider, subjectToken);
    if (!result.ok) return result.response;
    assertion = result.assertion;
    subjectExpiresAt = result.expiresAt;
  }

  let identity: FederatedTokenIdentity;
  try {
    const mapped = runtime.rules(provider).evaluate(assertion);
    identity = {
      projectNumber: runtime.state.projectNumber,
      poolId: provider.poolId,
      providerId: provider.id,
      subject: mapped.subject,
      groups: mapped.groups,
      attributes: mapped.attributes,
    };
  } catch (error) {
    if (error instanceof AttributeMappingError)
      return oauthError(error.stsError ?? "invalid_request", error.message);
    throw error;
  }

  const now = runtime.clock.now();
  const remaining =
    subjectExpiresAt === undefined
      ? MAX_FEDERATED_LIFETIME_SECONDS
      : Math.floor((subjectExpiresAt - now) / 1000);
  const expiresIn = Math.min(MAX_FEDERATED_LIFETIME_SECONDS, remaining);
  if (expiresIn <= 0) return oauthError("invalid_grant", "The subject token has expired.");
  const scopes = (form.scope ?? "").split(/\s+/).filter((scope) => scope !== "");
  const record = runtime.googleTokens.issue({
    kind: "federated",
    identity,
    scopes: scopes.length > 0 ? scopes : [CLOUD_PLATFORM_SCOPE],
    lifetimeMs: expiresIn * 1000,
  });
  return json(200, {
    access_token: record.token,
    issued_token_type: ACCESS_TOKEN_TYPE,
    token_type: "Bearer",
    expires_in: expiresIn,
  });
}

/** The `options` parameter: JSON, or JSON that one client URL-quotes before form-encoding. */
function parseOptions(value: string): Record<string, unknown> | undefined {
  for (const candidate of [value, safeDecode(value)]) {
    if (candidate === undefined) continue;
    try {
      const parsed = JSON.parse(candidate) as unknown;
      if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed))
        return parsed as Record<string, unknown>;
    } catch {
      // try the next form
    }
  }
  return undefined;
}

function safeDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

const WORKLOAD_AUDIENCE =
  /^(?:\/\/|https:\/\/)iam\.googleapis\.com\/projects\/([^/]+)\/locations\/([^/]+)\/workloadIdentityPools\/([^/]+)\/providers\/([^/]+)$/;
const WORKFORCE_AUDIENCE =
  /^(?:\/\/|https:\/\/)iam\.googleapis\.com\/locations\/[^/]+\/workforcePools\/[^/]+\/providers\/[^/]+$/;

type AudienceResult =
  | { kind: "provider"; provider: ProviderState }
  | { kind: "error"; response: ServiceResponse };

function resolveAudience(runtime: Runtime, audience: string): AudienceResult {
  const invalidTarget = {
    kind: "error",
    response: oauthError("invalid_target", STS_ERRORS.invalidTarget),
  } as const;
  if (WORKFORCE_AUDIENCE.test(audience)) return invalidTarget;
  const match = WORKLOAD_AUDIENCE.exec(audience);
  if (!match) return { kind: "error", response: oauthError("invalid_request", STS_ERRORS.audienceFormat) };
  const [, project, location, poolId, providerId] = match;
  const { state } = runtime;
  if (project !== state.projectNumber || location !== "global") return invalidTarget;
  // The consumer of a token exchange is the project of the audience.
  const disabled = serviceDisabled(runtime, "sts.googleapis.com");
  if (disabled) return { kind: "error", response: disabled };
  const pool = state.pools[poolId!];
  const provider = pool?.providers[providerId!];
  const usable = (resource: { disabled: boolean; deleteTime: string | undefined } | undefined) =>
    resource !== undefined && !resource.disabled && resource.deleteTime === undefined;
  if (!usable(pool) || !usable(provider)) return invalidTarget;
  return { kind: "provider", provider: provider! };
}

type SubjectResult =
  | { ok: true; assertion: Record<string, unknown>; expiresAt: number | undefined }
  | { ok: false; response: ServiceResponse };

interface SerializedAwsRequest {
  url: URL;
  method: string;
  headers: Array<[string, string]>;
  body: string;
}

const AWS_STS_HOST = /^sts(?:\.([a-z0-9-]+))?\.amazonaws\.com(?:\.cn)?$/;

/** Decodes the serialized GetCallerIdentity request (form rules: `+` is a space) and checks its shape. */
export function parseAwsSubjectToken(subjectToken: string): SerializedAwsRequest | undefined {
  let jsonText: string;
  if (subjectToken.trimStart().startsWith("{")) jsonText = subjectToken;
  else {
    try {
      jsonText = decodeURIComponent(subjectToken.replace(/\+/g, " "));
    } catch {
      return undefined;
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(jsonText);
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null) return undefined;
  const { url, method, headers, body } = parsed as Record<string, unknown>;
  if (typeof url !== "string" || typeof method !== "string" || !Array.isArray(headers)) return undefined;
  if (body !== undefined && typeof body !== "string") return undefined;
  const pairs: Array<[string, string]> = [];
  for (const header of headers) {
    if (typeof header !== "object" || header === null) return undefined;
    const { key, value } = header as Record<string, unknown>;
    if (typeof key !== "string" || typeof value !== "string") return undefined;
    pairs.push([key.toLowerCase(), value]);
  }
  let parsedUrl: URL;
  try {
    parsedUrl = new URL(url);
  } catch {
    return undefined;
  }
  return { url: parsedUrl, method: method.toUpperCase(), headers: pairs, body: body ?? "" };
}

function verifyAwsSubjectToken(
  runtime: Runtime,
  provider: ProviderState,
  subjectToken: string,
): SubjectResult {
  const invalidFormat = {
    ok: false,
    response: oauthError("invalid_grant", STS_ERRORS.awsInvalidFormat),
  } as const;
  const request = parseAwsSubjectToken(subjectToken);
  if (!request) return invalidFormat;
  const hostMatch = AWS_STS_HOST.exec(request.url.hostname);
  const params = new URLSearchParams(request.url.search);
  if (request.method === "POST" && request.body !== "") {
    for (const [key, value] of new URLSearchParams(request.body)) params.set(key, value);
  }
  const isGetCallerIdentity =
    request.url.protocol === "https:" &&
    hostMatch !== null &&
    (request.url.pathname === "/" || request.url.pathname === "") &&
    (request.method === "POST" || request.method === "GET") &&
    params.get("Action") === "GetCallerIdentity" &&
    params.get("Version") === "2011-06-15";
  const headerNames = new Set(request.headers.map(([name]) => name));
  if (!isGetCallerIdentity || !headerNames.has("authorization")) return invalidFormat;

  const targetResource = request.headers.find(([name]) => name === "x-goog-cloud-target-resource")?.[1];
  if (targetResource === undefined) {
    return {
      ok: false,
      response: oauthError(
        "invalid_grant",
        'The AWS request is missing the "x-goog-cloud-target-resource" header.',
      ),
    };
  }
  const normalizedTarget = targetResource.replace(/^https:\/\//, "//");
  if (normalizedTarget !== provider.audience) {
    return {
      ok: false,
      response: oauthError(
        "invalid_grant",
        `The "x-goog-cloud-target-resource" header of the AWS request does not match the audience ${provider.audience}.`,
      ),
    };
  }
  // Without an explicit host header, AWS would have seen the URL's host.
  const headers = headerNames.has("host")
    ? request.headers
    : [["host", request.url.host] as [string, string], ...request.headers];
  const region = hostMatch?.[1] ?? "us-east-1";
  const verified = verifySigV4(
    { method: request.method, url: request.url, headers, body: request.body },
    { lookupKey: (id) => runtime.awsKeys.lookup(id), now: runtime.clock.now(), service: "sts", region },
  );
  if (!verified.ok) {
    return {
      ok: false,
      response: oauthError(
        "invalid_grant",
        `Received invalid AWS response of type ${verified.code} with error message: ${verified.message}`,
      ),
    };
  }
  const key = verified.key;
  if (key.account !== provider.awsAccountId) {
    return {
      ok: false,
      response: oauthError(
        "invalid_grant",
        `The AWS account ${key.account} of the given credential does not match the AWS account ${provider.awsAccountId} of the provider.`,
      ),
    };
  }
  return {
    ok: true,
    assertion: { arn: key.arn, account: key.account, userid: key.userId },
    expiresAt: key.expiresAt,
  };
}

async function verifyOidcSubjectToken(
  runtime: Runtime,
  provider: ProviderState,
  token: string,
): Promise<SubjectResult> {
  const issuer = provider.issuerUri ?? "";
  const ownNames = [provider.audience, `https:${provider.audience}`];
  const allowed = provider.allowedAudiences.length > 0 ? provider.allowedAudiences : ownNames;
  const result = await runtime.oidc.verify(token, {
    issuer,
    acceptAudience: (audiences) => audiences.some((aud) => allowed.includes(aud)),
  });
  if (result.ok) return { ok: true, assertion: result.claims, expiresAt: result.expiresAt };
  const claims = result.claims ?? {};
  const description = (() => {
    switch (result.reason) {
      case "malformed":
        return "Unable to parse the ID Token.";
      case "issuer":
        return `The issuer in ID Token ${String(claims.iss)} does not match the expected ones: ${trimSlash(issuer)}.`;
      case "discovery":
        return STS_ERRORS.issuerUnreachable;
      case "signature":
        return "Invalid ID Token signature.";
      case "audience": {
        const aud = Array.isArray(claims.aud) ? claims.aud.join(", ") : String(claims.aud);
        return `The audience in ID Token [${aud}] does not match the expected audience.`;
      }
      case "expired":
        return `ID Token issued at ${String(claims.iat ?? claims.exp)} is stale to sign-in.`;
      case "notYetValid":
        return "The ID Token is not yet valid (nbf is in the future).";
    }
  })();
  return { ok: false, response: oauthError("invalid_grant", description) };
}

function introspect(runtime: Runtime, request: ServiceRequest): ServiceResponse {
  const form = readTokenRequest(request);
  const token = form?.token;
  if (!token) return oauthError("invalid_request", 'Missing required parameter: "token".');
  const record = runtime.googleTokens.lookup(token);
  if (!record) return json(200, { active: false });
  const base = {
    active: true,
    scope: record.scopes.join(" "),
    exp: Math.floor(record.expiresAt / 1000),
    iat: Math.floor(record.issuedAt / 1000),
  };
  if (record.kind !== "federated") {
    return json(200, {
      ...base,
      client_id: record.email,
      sub: record.email,
      username: record.kind === "serviceAccount" ? `serviceAccount:${record.email}` : record.email,
    });
  }
  const { identity } = record;
  const principal = `principal://iam.googleapis.com/projects/${identity.projectNumber}/locations/global/workloadIdentityPools/${identity.poolId}/subject/${identity.subject}`;
  return json(200, {
    ...base,
    sub: identity.subject,
    username: principal,
    iss: `https://sts.googleapis.com`,
  });
}
