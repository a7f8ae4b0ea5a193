import { WifError } from "@wifkit/core";

/** Every code @wifkit/config throws. */
export const CONFIG_ERROR_CODES = Object.freeze({
  /** No path given, or no such file. */
  notFound: "ERR_WIF_CONFIG_NOT_FOUND",
  /** A directory, a device, a pipe that never ends, no permission. */
  unreadable: "ERR_WIF_CONFIG_UNREADABLE",
  /** Over `MAX_CONFIG_BYTES`. */
  tooLarge: "ERR_WIF_CONFIG_TOO_LARGE",
  /** A `ConfigError`: empty, not JSON, or failing the schema, a rule or the endpoint policy. */
  invalid: "ERR_WIF_CONFIG_INVALID",
  /** The caller's signal aborted the load. */
  aborted: "ERR_WIF_ABORTED",
} as const);

export type ConfigErrorCode = (typeof CONFIG_ERROR_CODES)[keyof typeof CONFIG_ERROR_CODES];

/** One problem in a credential configuration, located by its JSON path (`credential_source.format.type`). */
export interface ConfigIssue {
  path: string;
  message: string;
}

/**
 * A credential configuration that cannot be used. `issues` lists every problem found, each with its JSON
 * path; the message lists them too, one per line, so printing the error is enough.
 */
export class ConfigError extends WifError {
  override name = "ConfigError";
  readonly issues: readonly ConfigIssue[];
  readonly source: string | undefined;

  constructor(issues: readonly ConfigIssue[], options: { source?: string | undefined; code?: string } = {}) {
    const where = options.source
      ? `Credential configuration ${options.source}`
      : "The credential configuration";
    const lines = issues.map((issue) => `  - ${issue.path ? `${issue.path}: ` : ""}${issue.message}`);
    const count = issues.length === 1 ? "a problem" : `${issues.length} problems`;
    super(`${where} has ${count}:\n${lines.join("\n")}`, {
      code: options.code ?? CONFIG_ERROR_CODES.invalid,
    });
    this.issues = issues;
    this.source = options.source;
  }
}
