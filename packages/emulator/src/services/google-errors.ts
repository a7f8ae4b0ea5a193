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
    details: [errorInfo("IAM_PERMISSION_DENIED", "iam.googleapis.com", { permission })],
  });
}

/** 401 for a missing, unknown or expired bearer token. */
export function unauthenticated(): ServiceResponse {
  return googleApiError(401, undefined, {
    headers: { "www-authenticate": 'Bearer realm="https://accounts.google.com/", error="invalid_token"' },
  });
}

/** The Google API error `details` entry that says why: `google.rpc.ErrorInfo`. */
export function errorInfo(reason: string, domain: string, metadata: Record<string, string>) {
  return { "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason, domain, metadata };
}

/**
 * Why an API answers 403 SERVICE_DISABLED, as Google's front end words it: the message, and the details
 * (ErrorInfo with reason `SERVICE_DISABLED`, domain `googleapis.com` and metadata service / consumer /
 * activationUrl, then a LocalizedMessage and a Help link).
 */
export function serviceDisabledParts(service: string, title: string, projectNumber: string) {
  const activationUrl = `https://console.developers.google.com/apis/api/${service}/overview?project=${projectNumber}`;
  const message = `${title} has not been used in project ${projectNumber} before or it is disabled. Enable it by visiting ${activationUrl} then retry. If you enabled this API recently, wait a few minutes for the action to propagate to our systems and retry.`;
  const details = [
    errorInfo("SERVICE_DISABLED", "googleapis.com", {
      service,
      consumer: `projects/${projectNumber}`,
      activationUrl,
      serviceTitle: title,
      containerInfo: projectNumber,
    }),
    { "@type": "type.googleapis.com/google.rpc.LocalizedMessage", locale: "en-US", message },
    {
      "@type": "type.googleapis.com/google.rpc.Help",
      links: [{ description: "Google developers console API activation", url: activationUrl }],
    },
  ];
  return { message, details };
}
