/**
 * Google's error bodies, read rather than guessed: Google APIs answer `{ error: { code, message, status,
 * details } }` where `details` may hold a `google.rpc.ErrorInfo` whose `reason` (`SERVICE_DISABLED`,
 * `IAM_PERMISSION_DENIED`, ...) and `metadata` (the service, the consumer project, an activation URL) say
 * exactly what is wrong; OAuth endpoints such as STS answer `{ error, error_description }`.
 */
import type { HttpResponse } from "./transport.js";

const ERROR_INFO_TYPE = "type.googleapis.com/google.rpc.ErrorInfo";

/** What a Google error response says, as far as it says it. */
export interface GoogleErrorDetails {
  /** Google API `error.status` (`PERMISSION_DENIED`) or OAuth `error` (`invalid_grant`). */
  error?: string | undefined;
  /** Google API `error.message` or OAuth `error_description`. Upstream text: redact before quoting. */
  message?: string | undefined;
  /** `ErrorInfo.reason`, e.g. `SERVICE_DISABLED`. */
  reason?: string | undefined;
  /** `ErrorInfo.domain`, e.g. `googleapis.com`. */
  domain?: string | undefined;
  /** `ErrorInfo.metadata`, e.g. `{ service: "iamcredentials.googleapis.com", consumer: "projects/123" }`. */
  metadata?: Readonly<Record<string, string>> | undefined;
}

/**
 * Reads the error a Google endpoint answered with; `{}` when the body is not one of Google's error shapes.
 *
 * @example
 * const { reason, metadata } = readGoogleError(response);
 * if (reason === "SERVICE_DISABLED") console.error(`enable ${metadata?.service}`);
 */
export function readGoogleError(response: HttpResponse): GoogleErrorDetails {
  let body: unknown;
  try {
    body = JSON.parse(response.body.toString("utf8"));
  } catch {
    return {};
  }
  if (!isObject(body)) return {};
  const error = body.error;
  if (typeof error === "string") {
    return { error, message: text(body.error_description) };
  }
  if (!isObject(error)) return {};
  const details = Array.isArray(error.details) ? error.details : [];
  const info = details.find((detail) => isObject(detail) && detail["@type"] === ERROR_INFO_TYPE) as
    | Record<string, unknown>
    | undefined;
  const metadata = info && isObject(info.metadata) ? stringValues(info.metadata) : undefined;
  return {
    error: text(error.status),
    message: text(error.message),
    reason: text(info?.reason),
    domain: text(info?.domain),
    metadata,
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function text(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

function stringValues(record: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(record).filter((entry): entry is [string, string] => typeof entry[1] === "string"),
  );
}

/** What a `SERVICE_DISABLED` answer says to do: which API to enable in which project, and the command. */
export interface DisabledService {
  /** The API, e.g. `iamcredentials.googleapis.com`. */
  service: string;
  /** Its name as Google titles it (`IAM Service Account Credentials API`), else the service. */
  title: string;
  /** The consumer project (a number, as Google reports it), when the error names it. */
  project: string | undefined;
  /** `gcloud services enable SERVICE --project=PROJECT`. */
  command: string;
}

/**
 * The API a 403 `SERVICE_DISABLED` error is about, read from its ErrorInfo metadata (`service`, `consumer`
 * `projects/N`, `serviceTitle`); undefined for any other error. Callers word their own message around it.
 *
 * @example
 * const disabled = disabledService(readGoogleError(response));
 * if (disabled) console.error(`${disabled.title} is disabled: ${disabled.command}`);
 */
export function disabledService(details: GoogleErrorDetails): DisabledService | undefined {
  const service = details.metadata?.service;
  if (details.reason !== "SERVICE_DISABLED" || service === undefined) return undefined;
  const consumer = details.metadata?.consumer ?? "";
  const project = /^projects\/([^/]+)$/.exec(consumer)?.[1] ?? details.metadata?.containerInfo;
  return {
    service,
    title: details.metadata?.serviceTitle ?? service,
    project,
    command: `gcloud services enable ${service}${project === undefined ? "" : ` --project=${project}`}`,
  };
}
