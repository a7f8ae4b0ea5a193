import { WifError } from "@wifkit/core";

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
    super(`${where} has ${count}:\n${lines.join("\n")}`, { code: options.code ?? "ERR_WIF_CONFIG_INVALID" });
    this.issues = issues;
    this.source = options.source;
  }
}
