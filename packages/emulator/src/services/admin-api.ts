import { type EmulatorConfig, EmulatorConfigError } from "../config.js";
import type { Runtime } from "../runtime.js";
import type { Route, ServiceRequest, ServiceResponse } from "../server.js";
import { googleCaller, isOwnProject } from "./google-auth.js";
import { errorInfo, googleApiError, unauthenticated } from "./google-errors.js";

/** What the admin APIs (IAM, Service Usage, Resource Manager) share: the gate, routes, errors, changes. */

export type AdminHandler = (request: ServiceRequest, params: Record<string, string>) => ServiceResponse;

/** 400 INVALID_ARGUMENT with `message`, as the IAM API refuses a request. */
export function invalidArgument(message: string): ServiceResponse {
  return googleApiError(400, message);
}

/**
 * Applies an admin API change to the emulator's one store. The store re-validates everything with
 * Google's rules (IDs, lengths, audiences, mapping and condition), so a refused change answers
 * 400 INVALID_ARGUMENT with the rule's wording and leaves the state as it was. Undefined means applied.
 */
export function applyChange(
  runtime: Runtime,
  change: (config: EmulatorConfig) => void,
): ServiceResponse | undefined {
  try {
    runtime.store.update(change);
    return undefined;
  } catch (error) {
    if (error instanceof EmulatorConfigError) return invalidArgument(error.problem);
    throw error;
  }
}

/**
 * The gate of every admin API call: 401 without a live token the emulator issued, 403 for a project other
 * than the emulated one. Any live token may administer the project (project-level IAM is not emulated).
 */
export function adminGate(
  runtime: Runtime,
  request: ServiceRequest,
  project: string,
): ServiceResponse | undefined {
  if (!googleCaller(runtime, request)) return unauthenticated();
  if (project !== "-" && !isOwnProject(runtime, project)) {
    return googleApiError(403, `Permission denied on resource project ${project}.`, {
      details: [errorInfo("CONSUMER_INVALID", "googleapis.com", { consumer: `projects/${project}` })],
    });
  }
  return undefined;
}

/**
 * An admin API route: one method on an anchored path pattern whose `project` group is checked by
 * {@link adminGate} before `handle` runs.
 */
export function adminRoute(
  runtime: Runtime,
  name: string,
  method: string,
  path: string,
  handle: AdminHandler,
): Route {
  return {
    name,
    methods: [method],
    path: new RegExp(`${path}$`),
    handle: (request, params) => adminGate(runtime, request, params.project ?? "") ?? handle(request, params),
  };
}
