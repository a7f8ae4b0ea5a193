import { json, type ServiceResponse } from "../server.js";

const STATUS_NAMES: Record<number, string> = {
  400: "INVALID_ARGUMENT",
  401: "UNAUTHENTICATED",
  403: "PERMISSION_DENIED",
  404: "NOT_FOUND",
  409: "ABORTED",
  429: "RESOURCE_EXHAUSTED",
  500: "INTERNAL",
  501: "NOT_IMPLEMENTED",
  503: "UNAVAILABLE",
  504: "DEADLINE_EXCEEDED",
};

const DEFAULT_MESSAGES: Record<number, string> = {
  401: "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
  404: "Requested entity was not found.",
  429: "Quota exceeded for quota metric 'Requests' and limit 'Requests per minute' of service.",
  500: "Internal error encountered.",
  503: "The service is currently unavailable.",
  504: "The request was aborted because it exceeded its deadline.",
};

/** Google's API error shape: `{"error": {"code", "message", "status", "details"?}}`. */
export function googleApiError(
  code: number,
  message?: string,
  options: { status?: string; details?: unknown[]; headers?: Record<string, string> } = {},
): ServiceResponse {
  const status =
    options.status ?? STATUS_NAMES[code] ?? (code >= 500 ? "UNAVAILABLE" : "FAILED_PRECONDITION");
  const error: Record<string, unknown> = {
    code,
    message: message ?? DEFAULT_MESSAGES[code] ?? `HTTP ${code}`,
    status,
  };
  if (options.details) error.details = options.details;
  return json(code, { error }, options.headers);
}

/** 403 PERMISSION_DENIED naming `permission`, exactly as IAM Credentials words it. */
export function permissionDenied(permission: string): ServiceResponse {
  return googleApiError(403, `Permission '${permission}' denied on resource (or it may not exist).`, {
    details: [
      {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        reason: "IAM_PERMISSION_DENIED",
        domain: "iam.googleapis.com",
        metadata: { permission },
      },
    ],
  });
}

/** 401 for a missing, unknown or expired bearer token. */
export function unauthenticated(): ServiceResponse {
  return googleApiError(401, undefined, {
    headers: { "www-authenticate": 'Bearer realm="https://accounts.google.com/", error="invalid_token"' },
  });
}

/** The bearer token of an `Authorization: Bearer X` header. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  return match?.[1];
}
