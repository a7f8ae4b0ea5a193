import { decodeClaims, trimSlash } from "../oidc.js";
import { applicationFor, mintEntraToken, mintKubernetesToken, type Runtime, SECONDS } from "../runtime.js";
import { json, type ServiceDefinition, type ServiceRequest, type ServiceResponse, text } from "../server.js";
import { jwksDocument, randomUuid } from "../signing.js";
import { resourceNotFound } from "./azure.js";

const JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/** Entra access tokens from the client-credentials grant last about an hour. */
const CLIENT_CREDENTIALS_LIFETIME_SECONDS = 3599;

/** Entra's error document: the AADSTS code is in the description and in `error_codes`. */
function entraError(
  runtime: Runtime,
  status: number,
  error: string,
  code: number,
  description: string,
): ServiceResponse {
  const now = new Date(runtime.clock.now());
  const timestamp = now
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d{3}Z$/, "Z");
  const traceId = randomUuid();
  const correlationId = randomUuid();
  return json(status, {
    error,
    error_description: `AADSTS${code}: ${description} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
    error_codes: [code],
    timestamp,
    trace_id: traceId,
    correlation_id: correlationId,
    error_uri: `https://login.microsoftonline.com/error?code=${code}`,
  });
}

/**
 * Entra ID: the token endpoint for the AKS workload identity exchange (client credentials with a
 * Kubernetes-issued client assertion), and the tenant's v1/v2 discovery documents and JWKS.
 */
export function entraService(runtime: Runtime): ServiceDefinition {
  return {
    name: "entra",
    prefix: "entra",
    routes: [
      {
        name: "entra.token",
        methods: ["POST"],
        path: /^\/(?<tenant>[^/]+)\/oauth2\/v2\.0\/token$/,
        handle: (request, params) => clientCredentials(runtime, request, params.tenant ?? ""),
      },
      {
        name: "entra.discovery",
        methods: ["GET"],
        path: /^\/(?<tenant>[^/]+)(?<v2>\/v2\.0)?\/\.well-known\/openid-configuration$/,
        handle: (_request, params) => {
          const tenant = params.tenant === "common" ? runtime.state.azure.tenantId : params.tenant;
          if (tenant !== runtime.state.azure.tenantId) {
            return entraError(runtime, 400, "invalid_tenant", 90002, `Tenant '${tenant}' not found.`);
          }
          const base = runtime.urls.entra;
          const v2 = params.v2 !== undefined;
          return json(200, {
            issuer: v2 ? runtime.state.azure.issuerV2 : runtime.state.azure.issuer,
            token_endpoint: `${base}/${tenant}/oauth2/${v2 ? "v2.0/" : ""}token`,
            jwks_uri: v2 ? `${base}/${tenant}/discovery/v2.0/keys` : `${base}/common/discovery/keys`,
            response_types_supported: ["code", "id_token", "code id_token", "token id_token", "token"],
            subject_types_supported: ["pairwise"],
            id_token_signing_alg_values_supported: ["RS256"],
            tenant_region_scope: "EU",
          });
        },
      },
      {
        name: "entra.jwks",
        methods: ["GET"],
        path: /^\/(?<tenant>[^/]+)\/discovery(?:\/v2\.0)?\/keys$/,
        handle: () => json(200, jwksDocument([runtime.keys.entra])),
      },
    ],
    notFound: () => entraError(runtime, 404, "not_found", 900561, "The endpoint only accepts POST requests."),
    faultResponse: (status) =>
      status === 429
        ? entraError(runtime, 429, "temporarily_unavailable", 90033, "Too many requests. Retry later.")
        : entraError(
            runtime,
            status,
            status >= 500 ? "temporarily_unavailable" : "invalid_request",
            90033,
            `HTTP ${status}.`,
          ),
  };
}

async function clientCredentials(
  runtime: Runtime,
  request: ServiceRequest,
  tenant: string,
): Promise<ServiceResponse> {
  const { state } = runtime;
  if (tenant !== state.azure.tenantId) {
    return entraError(
      runtime,
      400,
      "invalid_request",
      90002,
      `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID.`,
    );
  }
  const form = new URLSearchParams(request.text());
  if (form.get("grant_type") !== "client_credentials") {
    return entraError(
      runtime,
      400,
      "unsupported_grant_type",
      70003,
      "The app requested an unsupported grant type.",
    );
  }
  const clientId = (form.get("client_id") ?? "").toLowerCase();
  if (!clientId)
    return entraError(
      runtime,
      400,
      "invalid_request",
      900144,
      "The request body must contain the following parameter: 'client_id'.",
    );
  const identity = Object.values(state.azure.identities).find((candidate) => candidate.clientId === clientId);
  if (!identity) {
    return entraError(
      runtime,
      400,
      "unauthorized_client",
      700016,
      `Application with identifier '${clientId}' was not found in the directory '${tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.`,
    );
  }
  const scope = form.get("scope") ?? "";
  if (!scope.endsWith("/.default")) {
    return entraError(
      runtime,
      400,
      "invalid_scope",
      1002012,
      `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
    );
  }
  const resource = scope.slice(0, -"/.default".length);
  const application = applicationFor(state, resource);
  if (!application)
    return entraError(
      runtime,
      400,
      "invalid_resource",
      500011,
      resourceNotFound(state, resource).replace(/^AADSTS500011: /, ""),
    );

  if (form.get("client_assertion_type") !== JWT_BEARER || !form.get("client_assertion")) {
    return entraError(
      runtime,
      401,
      "invalid_client",
      7000218,
      "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
    );
  }
  const assertion = form.get("client_assertion")!;
  const claims = decodeClaims(assertion);
  if (!claims) return entraError(runtime, 400, "invalid_client", 50027, "JWT token is invalid or malformed.");
  const audiences =
    typeof claims.aud === "string" ? [claims.aud] : Array.isArray(claims.aud) ? claims.aud.map(String) : [];
  const credential = identity.federatedCredentials.find(
    (candidate) =>
      trimSlash(candidate.issuer) === trimSlash(String(claims.iss ?? "")) &&
      candidate.subject === claims.sub &&
      audiences.some((aud) => candidate.audiences.includes(aud)),
  );
  if (!credential) {
    return entraError(
      runtime,
      400,
      "invalid_request",
      70021,
      `No matching federated identity record found for presented assertion. Assertion Issuer: '${String(claims.iss)}'. Assertion Subject: '${String(claims.sub)}'. Assertion Audience: '${audiences.join(",")}'.`,
    );
  }
  const verified = await runtime.oidc.verify(assertion, {
    issuer: credential.issuer,
    acceptAudience: (given) => given.some((aud) => credential.audiences.includes(aud)),
  });
  if (!verified.ok) {
    if (verified.reason === "expired" || verified.reason === "notYetValid") {
      const nbf = Number(claims.nbf ?? claims.iat ?? 0) * SECONDS;
      const exp = Number(claims.exp ?? 0) * SECONDS;
      return entraError(
        runtime,
        401,
        "invalid_client",
        700024,
        `Client assertion is not within its valid time range. Current time: ${new Date(runtime.clock.now()).toISOString()}, assertion valid from ${new Date(nbf).toISOString()}, expiry time of assertion ${new Date(exp).toISOString()}.`,
      );
    }
    if (verified.reason === "discovery") {
      return entraError(
        runtime,
        400,
        "invalid_request",
        50166,
        `Request to External OIDC endpoint failed. Issuer: '${credential.issuer}'.`,
      );
    }
    return entraError(
      runtime,
      401,
      "invalid_client",
      5002738,
      "Invalid JWT token: the signature of the client assertion could not be validated.",
    );
  }
  const minted = mintEntraToken(runtime, identity, {
    resource,
    lifetimeSeconds: CLIENT_CREDENTIALS_LIFETIME_SECONDS,
  });
  return json(200, {
    token_type: "Bearer",
    expires_in: CLIENT_CREDENTIALS_LIFETIME_SECONDS,
    ext_expires_in: CLIENT_CREDENTIALS_LIFETIME_SECONDS,
    access_token: minted.token,
  });
}

/**
 * The Kubernetes cluster's service-account issuer (EKS IRSA, AKS workload identity): discovery and JWKS
 * like `https://oidc.eks.REGION.amazonaws.com/id/X`, plus `GET /token` (an emulator extension) that mints a
 * fresh projected token, handy as a URL credential source.
 */
export function kubernetesService(runtime: Runtime): ServiceDefinition {
  return {
    name: "kubernetes",
    prefix: "kubernetes",
    routes: [
      {
        name: "kubernetes.discovery",
        methods: ["GET"],
        path: /^\/\.well-known\/openid-configuration$/,
        handle: () =>
          json(200, {
            issuer: runtime.state.kubernetes.issuer,
            jwks_uri: `${runtime.urls.kubernetes}/openid/v1/jwks`,
            response_types_supported: ["id_token"],
            subject_types_supported: ["public"],
            id_token_signing_alg_values_supported: ["RS256"],
          }),
      },
      {
        name: "kubernetes.jwks",
        methods: ["GET"],
        path: /^\/openid\/v1\/jwks$/,
        handle: () => json(200, jwksDocument([runtime.keys.kubernetes])),
      },
      {
        name: "kubernetes.token",
        methods: ["GET"],
        path: /^\/token$/,
        handle: (request) => {
          const query = request.url.searchParams;
          const lifetime = query.get("lifetimeSeconds");
          const minted = mintKubernetesToken(runtime, {
            ...(query.get("audience") ? { audience: query.get("audience")! } : {}),
            ...(query.get("namespace") ? { namespace: query.get("namespace")! } : {}),
            ...(query.get("serviceAccount") ? { serviceAccount: query.get("serviceAccount")! } : {}),
            ...(lifetime && /^\d+$/.test(lifetime) ? { lifetimeSeconds: Number(lifetime) } : {}),
          });
          return query.get("format") === "json"
            ? json(200, { token: minted.token, expires_at: Math.floor(minted.expiresAt / SECONDS) })
            : text(200, minted.token);
        },
      },
    ],
    notFound: () =>
      json(404, { kind: "Status", apiVersion: "v1", status: "Failure", reason: "NotFound", code: 404 }),
    faultResponse: (status) =>
      json(status, { kind: "Status", apiVersion: "v1", status: "Failure", code: status }),
  };
}
