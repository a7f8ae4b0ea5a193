import { type EmulatorConfig, EmulatorConfigError } from "../config.js";
import type { Runtime } from "../runtime.js";
import type { ServiceResponse } from "../server.js";
import { googleApiError } from "./google-errors.js";

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
