/**
 * Configurations this copy of the package validated, so that `fromConfig` can take a loaded configuration
 * as it is instead of reading and validating it again. A WeakMap, not a field: a JSON file cannot claim to
 * be validated, and a frozen object cannot be changed after it was.
 */
import type { CredentialConfig } from "./types.js";

/** A validated configuration with what deserves a look, and where it was read from. */
export interface ValidatedCredentialConfig<T extends CredentialConfig = CredentialConfig> {
  config: T;
  /** Things that do not stop the configuration from working but deserve a look, with their JSON paths. */
  warnings: string[];
  /** The absolute path it was read from, when it came from a file. */
  path?: string | undefined;
}

const validated = new WeakMap<object, ValidatedCredentialConfig>();

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

/** Freezes `result` and its config and remembers both as validated. */
export function markValidated<T extends ValidatedCredentialConfig>(result: T): T {
  deepFreeze(result.config);
  Object.freeze(result.warnings);
  validated.set(result, result);
  validated.set(result.config, result);
  return result;
}

/**
 * What `loadCredentialConfig` or `parseCredentialConfig` returned, when `value` is that result or its
 * `config`; undefined for anything else (an object from elsewhere, which must be parsed).
 *
 * @example
 * const loaded = await loadCredentialConfig({ path });
 * validatedCredentialConfig(loaded.config)?.path === loaded.path; // true
 */
export function validatedCredentialConfig(value: unknown): ValidatedCredentialConfig | undefined {
  return typeof value === "object" && value !== null ? validated.get(value) : undefined;
}
