import type { Env } from "@wifkit/core";
import { environmentOf, readEnv } from "./internal.js";

/** The AWS credential sources of the default chain, in the order it tries them. */
export type AwsSourceName = "env" | "web-identity" | "container" | "imds";

export const AWS_SOURCES: readonly AwsSourceName[] = Object.freeze([
  "env",
  "web-identity",
  "container",
  "imds",
]);

/** One source's verdict: whether the environment selects it, and what was looked at. */
export interface AwsSourceCheck {
  source: AwsSourceName;
  applies: boolean;
  /** "web identity: AWS_WEB_IDENTITY_TOKEN_FILE not set", for a CLI's explanation. */
  detail: string;
}

export interface AwsSourceDetection {
  /**
   * The first source the environment selects. `"imds"` when no variables point elsewhere: IMDS is the
   * remaining candidate, not yet known to answer (the chain probes it).
   */
  source: AwsSourceName | undefined;
  checks: AwsSourceCheck[];
}

/**
 * Tells which AWS credential source the environment selects, in the order the default chain tries them:
 * environment keys, EKS IRSA web identity, the ECS / EKS Pod Identity container endpoint, else EC2 instance
 * metadata (unless `AWS_EC2_METADATA_DISABLED=true`, when `source` is undefined). Reads only the environment
 * (no I/O), so a CLI can explain its choice before fetching anything.
 *
 * @example
 * const { source, checks } = detectAwsSource();
 */
export function detectAwsSource(options: { env?: Env } = {}): AwsSourceDetection {
  const env = environmentOf(options.env);
  // A source applies as soon as one of its variables is set: the chain then picks it, and reports what is missing.
  const anyOf = (source: AwsSourceName, label: string, names: string[]): AwsSourceCheck => {
    const present = names.filter((name) => readEnv(env, name) !== undefined);
    return {
      source,
      applies: present.length > 0,
      detail: `${label}: ${present.length > 0 ? `${present.join(", ")} set` : `${names.join(", ")} not set`}`,
    };
  };
  const imdsDisabled = readEnv(env, "AWS_EC2_METADATA_DISABLED")?.toLowerCase() === "true";
  const checks: AwsSourceCheck[] = [
    anyOf("env", "environment keys", ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]),
    anyOf("web-identity", "EKS IRSA web identity", ["AWS_WEB_IDENTITY_TOKEN_FILE"]),
    anyOf("container", "ECS / EKS Pod Identity", [
      "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
      "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ]),
    {
      source: "imds",
      applies: !imdsDisabled,
      detail: imdsDisabled
        ? "EC2 instance metadata: turned off by AWS_EC2_METADATA_DISABLED"
        : "EC2 instance metadata (the fallback; answers only on EC2)",
    },
  ];
  return { source: checks.find((check) => check.applies)?.source, checks };
}
