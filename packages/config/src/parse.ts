/**
 * Parsing follows one pipeline: check the file's shape against the schema, then the rules that relate fields
 * to each other, then the endpoint policy, collecting every problem with its JSON path so one run tells the
 * user everything to fix. Unknown fields are warnings, not errors: newer gcloud versions add fields.
 */
import { posix } from "node:path";
import { DEFAULT_UNIVERSE_DOMAIN, isDomainName } from "@wifkit/core";
import { decodePathSegment, isServiceAccountEmail, parseAudience } from "./audience.js";
import { ConfigError, type ConfigIssue } from "./errors.js";
import {
  type AllowOptions,
  approvedUniverseDomains,
  checkAwsMetadataUrl,
  checkAwsVerificationUrl,
  checkGoogleEndpoint,
  checkSubjectTokenUrl,
} from "./policy.js";
import {
  checkProperties,
  definition,
  isObject,
  propertiesOf,
  SOURCE_KEYS,
  type SourceKind,
  typeName,
} from "./shape.js";
import type {
  AuthorizedUserConfig,
  CredentialConfig,
  CredentialSource,
  ExternalAccountConfig,
  UrlCredentialSource,
} from "./types.js";
import { markValidated } from "./validated.js";

export interface ParseOptions {
  /** Extra origins the endpoint policy accepts (emulators, test servers). */
  allow?: AllowOptions | undefined;
  /** Names the configuration in error messages, e.g. its file path. */
  source?: string | undefined;
  /**
   * Environment to read `WIF_UNIVERSE_DOMAIN` from when `allow.universeDomains` is unset. Default: none
   * (parsing reads no environment unless given one; `loadCredentialConfig` passes `process.env`).
   */
  env?: Readonly<Record<string, string | undefined>> | undefined;
}

export interface ParsedCredentialConfig<T extends CredentialConfig = CredentialConfig> {
  config: T;
  /** Things that do not stop the configuration from working but deserve a look, with their JSON paths. */
  warnings: string[];
}

export const EXECUTABLE_TIMEOUT_RANGE = { min: 5_000, max: 120_000 } as const;
/** `interactive_timeout_millis` bounds, as gcloud checks `--executable-interactive-timeout-millis` (30 s to 30 min). */
export const EXECUTABLE_INTERACTIVE_TIMEOUT_RANGE = { min: 30_000, max: 1_800_000 } as const;
export const TOKEN_LIFETIME_RANGE = { min: 600, max: 43_200 } as const;

type Json = Record<string, unknown>;

/**
 * Validates a parsed credential configuration (`external_account` or `external_account_authorized_user`)
 * and returns it typed (and frozen), with warnings. Throws `ConfigError` (`ERR_WIF_CONFIG_INVALID`) listing
 * every problem with its JSON path. `fromConfig` (@wifkit/credentials) takes the result, or its `config`,
 * as it is, without validating it again.
 *
 * @example
 * const { config, warnings } = parseCredentialConfig(JSON.parse(text), { allow: { origins: [emulatorUrl] } });
 */
export function parseCredentialConfig(input: unknown, options: ParseOptions = {}): ParsedCredentialConfig {
  const issues: ConfigIssue[] = [];
  const warnings: string[] = [];
  if (!isObject(input)) {
    throw new ConfigError([{ path: "", message: "must be a JSON object" }], { source: options.source });
  }
  let config: CredentialConfig | undefined;
  const policy: Policy = {
    allow: options.allow,
    universes: approvedUniverseDomains(options.allow, options.env),
  };
  if (input.type === "external_account") {
    config = parseExternalAccount(input, policy, issues, warnings);
  } else if (input.type === "external_account_authorized_user") {
    config = parseAuthorizedUser(input, policy, issues, warnings);
  } else if (input.type === "service_account" || input.type === "authorized_user") {
    issues.push({
      path: "type",
      message: `"${input.type}" is a ${input.type === "service_account" ? "service account key" : "user credential"} file, not a workload identity federation configuration; create one with wif create-cred-config or gcloud iam workload-identity-pools create-cred-config`,
    });
  } else {
    issues.push({
      path: "type",
      message:
        input.type === undefined
          ? 'required; must be "external_account" or "external_account_authorized_user"'
          : 'must be "external_account" or "external_account_authorized_user"',
    });
  }
  if (issues.length > 0 || !config) throw new ConfigError(issues, { source: options.source });
  return markValidated({ config, warnings });
}

/** What the endpoint policy accepts beyond Google's own: the caller's origins and approved universes. */
interface Policy {
  allow: AllowOptions | undefined;
  universes: readonly string[];
}

function parseExternalAccount(input: Json, policy: Policy, issues: ConfigIssue[], warnings: string[]) {
  const schema = definition("ExternalAccountConfig");
  warnUnknownKeys(input, Object.keys(propertiesOf(schema) ?? {}), "", warnings);
  const topResult = checkProperties(input, schema, "", issues, { credential_source: true });

  const source = selectSource(input.credential_source, issues, warnings);
  if (!topResult || !source) return undefined;
  const config = { ...topResult, credential_source: source.value } as ExternalAccountConfig;
  checkExternalAccountRules(config, source.kind, policy, issues, warnings);
  // Endpoints are judged against the universe domain, so only once that is known to be usable.
  if (!issues.some((issue) => issue.path === "universe_domain")) {
    checkExternalAccountEndpoints(config, source.kind, policy.allow, issues);
  }
  return config;
}

function parseAuthorizedUser(input: Json, policy: Policy, issues: ConfigIssue[], warnings: string[]) {
  const schema = definition("AuthorizedUserConfig");
  warnUnknownKeys(input, Object.keys(propertiesOf(schema) ?? {}), "", warnings);
  const config = checkProperties(input, schema, "", issues) as AuthorizedUserConfig | undefined;
  if (!config) return undefined;
  const universe = config.universe_domain ?? DEFAULT_UNIVERSE_DOMAIN;
  checkUniverseDomain(config.universe_domain, policy, issues);
  if (config.audience !== undefined && parseAudience(config.audience)?.kind !== "workforce") {
    issues.push({
      path: "audience",
      message:
        "must be a workforce pool provider: //iam.googleapis.com/locations/global/workforcePools/POOL/providers/PROVIDER",
    });
  }
  for (const field of ["token_url", "token_info_url", "revoke_url"] as const) {
    const value = config[field];
    if (value !== undefined && !issues.some((issue) => issue.path === "universe_domain"))
      checkGoogleEndpoint(field, value, "sts", universe, policy.allow, issues);
  }
  return config;
}

function warnUnknownKeys(value: Json, known: readonly string[], prefix: string, warnings: string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) warnings.push(`${prefix}${key}: unknown field, ignored`);
  }
}

const ALL_SOURCE_KEYS = SOURCE_KEYS.map((variant) => variant.key);

function selectSource(
  raw: unknown,
  issues: ConfigIssue[],
  warnings: string[],
): { kind: SourceKind; value: CredentialSource } | undefined {
  if (raw === undefined) {
    issues.push({ path: "credential_source", message: "required" });
    return undefined;
  }
  if (!isObject(raw)) {
    issues.push({ path: "credential_source", message: `must be an object, not ${typeName(raw)}` });
    return undefined;
  }
  // The first identifying key wins (an AWS source also has a `url`); any other source's key is a conflict.
  const variant = SOURCE_KEYS.find((candidate) => raw[candidate.key] !== undefined);
  if (!variant) {
    issues.push({
      path: "credential_source",
      message: `must name one source: ${ALL_SOURCE_KEYS.join(", ")}`,
    });
    return undefined;
  }
  const schema = definition(variant.definition);
  const shape = propertiesOf(schema) ?? {};
  const conflicts = ALL_SOURCE_KEYS.filter((key) => raw[key] !== undefined && !(key in shape));
  if (conflicts.length > 0) {
    issues.push({
      path: "credential_source",
      message: `names more than one source (${[variant.key, ...conflicts].join(" and ")}); keep exactly one`,
    });
    return undefined;
  }
  warnUnknownKeys(raw, Object.keys(shape), "credential_source.", warnings);
  const value = checkProperties(raw, schema, "credential_source", issues);
  if (!value) return undefined;
  for (const nested of ["executable", "certificate", "format"] as const) {
    const inner = raw[nested];
    const innerShape = shape[nested] && propertiesOf(shape[nested]);
    if (isObject(inner) && innerShape) {
      warnUnknownKeys(inner, Object.keys(innerShape), `credential_source.${nested}.`, warnings);
    }
  }
  return { kind: variant.kind, value: value as unknown as CredentialSource };
}

const ID = /^[a-z0-9-]{4,32}$/;

function checkAudience(audience: string, issues: ConfigIssue[]): void {
  const parsed = parseAudience(audience);
  const example =
    "//iam.googleapis.com/projects/PROJECT_NUMBER/locations/global/workloadIdentityPools/POOL_ID/providers/PROVIDER_ID";
  if (!parsed) {
    const hint =
      audience.startsWith("projects/") || audience.startsWith("locations/")
        ? ' (prefix it with "//iam.googleapis.com/")'
        : "";
    issues.push({
      path: "audience",
      message: `must be the full resource name of a workload or workforce identity pool provider${hint}, e.g. ${example}`,
    });
    return;
  }
  if (parsed.kind === "workload" && !/^\d+$/.test(parsed.projectNumber)) {
    issues.push({
      path: "audience",
      message: `names project "${parsed.projectNumber}"; use the project NUMBER, not the project id (gcloud projects describe PROJECT --format='value(projectNumber)')`,
    });
  }
  if (parsed.kind === "workload" && parsed.location !== "global") {
    issues.push({ path: "audience", message: 'workload identity pools live in location "global"' });
  }
  for (const [what, id] of [
    ["pool id", parsed.poolId],
    ["provider id", parsed.providerId],
  ] as const) {
    if (!ID.test(id)) {
      issues.push({
        path: "audience",
        message: `${what} "${id}" must be 4 to 32 characters of a-z, 0-9 and -`,
      });
    }
  }
}

function checkUniverseDomain(universe: string | undefined, policy: Policy, issues: ConfigIssue[]): void {
  if (universe === undefined || universe === DEFAULT_UNIVERSE_DOMAIN) return;
  if (!isDomainName(universe)) {
    issues.push({ path: "universe_domain", message: "must be a domain name such as googleapis.com" });
  } else if (!policy.universes.includes(universe)) {
    // The endpoint policy trusts every Google host of the universe: the file must not pick it.
    issues.push({
      path: "universe_domain",
      message: `"${universe}" is not an approved universe (a configuration cannot choose its own, since its endpoints are trusted by it); if it is your Google Cloud universe, approve it with --universe-domain ${universe} (wif, wif-sidecar), WIF_UNIVERSE_DOMAIN=${universe} (environment) or allow.universeDomains (library)`,
    });
  }
}

// Kernel pseudo-files: /proc/self/environ would send this process's secrets to STS as a "token".
const PSEUDO_FILE_ROOTS = ["/proc/", "/sys/", "/dev/"];

function checkSubjectTokenPath(path: string, issues: ConfigIssue[]): void {
  if (!path.startsWith("/")) return;
  const normalized = posix.normalize(path);
  if (PSEUDO_FILE_ROOTS.some((root) => normalized.startsWith(root))) {
    issues.push({
      path: "credential_source.file",
      message: `${normalized} is a device or kernel file, not a token file; point at the file your platform writes the subject token to`,
    });
  }
}

const SOURCE_TOKEN_TYPES: Record<SourceKind, readonly string[]> = {
  aws: ["urn:ietf:params:aws:token-type:aws4_request"],
  certificate: ["urn:ietf:params:oauth:token-type:mtls"],
  executable: [
    "urn:ietf:params:oauth:token-type:jwt",
    "urn:ietf:params:oauth:token-type:id_token",
    "urn:ietf:params:oauth:token-type:saml2",
  ],
  file: [
    "urn:ietf:params:oauth:token-type:jwt",
    "urn:ietf:params:oauth:token-type:id_token",
    "urn:ietf:params:oauth:token-type:saml2",
    "urn:ietf:params:oauth:token-type:access_token",
  ],
  url: [
    "urn:ietf:params:oauth:token-type:jwt",
    "urn:ietf:params:oauth:token-type:id_token",
    "urn:ietf:params:oauth:token-type:saml2",
    "urn:ietf:params:oauth:token-type:access_token",
  ],
};

function checkExternalAccountRules(
  config: ExternalAccountConfig,
  kind: SourceKind,
  policy: Policy,
  issues: ConfigIssue[],
  warnings: string[],
): void {
  checkAudience(config.audience, issues);
  checkUniverseDomain(config.universe_domain, policy, issues);

  const allowed = SOURCE_TOKEN_TYPES[kind];
  if (!allowed.includes(config.subject_token_type)) {
    issues.push({
      path: "subject_token_type",
      message: `does not fit a ${kind} credential source; use ${allowed.map((t) => `"${t}"`).join(" or ")}`,
    });
  }

  if (
    config.workforce_pool_user_project !== undefined &&
    parseAudience(config.audience)?.kind !== "workforce"
  ) {
    issues.push({
      path: "workforce_pool_user_project",
      message:
        "is only valid with a workforce pool audience (//iam.googleapis.com/locations/global/workforcePools/...)",
    });
  }
  if (config.client_secret !== undefined && config.client_id === undefined) {
    issues.push({ path: "client_secret", message: "needs client_id beside it" });
  }

  const impersonation = config.service_account_impersonation_url;
  if (impersonation !== undefined) {
    const path = (() => {
      try {
        return new URL(impersonation).pathname;
      } catch {
        return undefined;
      }
    })();
    const match =
      path === undefined ? null : /^\/v1\/projects\/-\/serviceAccounts\/([^/:]+)(:[A-Za-z]+)?$/.exec(path);
    if (!match) {
      issues.push({
        path: "service_account_impersonation_url",
        message:
          "must be https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/SERVICE_ACCOUNT_EMAIL:generateAccessToken",
      });
    } else if (!isServiceAccountEmail(decodePathSegment(match[1] ?? "") ?? "")) {
      issues.push({
        path: "service_account_impersonation_url",
        message: "must name a service account email",
      });
    } else if (match[2] !== ":generateAccessToken") {
      issues.push({
        path: "service_account_impersonation_url",
        message: `must end with the :generateAccessToken method${match[2] ? `, not ${match[2]}` : ""}`,
      });
    }
  }
  const lifetime = config.service_account_impersonation?.token_lifetime_seconds;
  if (
    lifetime !== undefined &&
    (lifetime < TOKEN_LIFETIME_RANGE.min || lifetime > TOKEN_LIFETIME_RANGE.max)
  ) {
    issues.push({
      path: "service_account_impersonation.token_lifetime_seconds",
      message: `must be between ${TOKEN_LIFETIME_RANGE.min} and ${TOKEN_LIFETIME_RANGE.max} seconds (10 minutes to 12 hours)`,
    });
  }
  if (config.service_account_impersonation !== undefined && impersonation === undefined) {
    warnings.push("service_account_impersonation: has no effect without service_account_impersonation_url");
  }

  const source = config.credential_source;
  if ("file" in source) checkSubjectTokenPath(source.file, issues);
  if ("environment_id" in source) {
    const version = /^aws(\d+)$/.exec(source.environment_id)?.[1];
    if (version === undefined) {
      issues.push({ path: "credential_source.environment_id", message: 'must be "aws1"' });
    } else if (version !== "1") {
      issues.push({
        path: "credential_source.environment_id",
        message: `aws version ${version} is not supported; only "aws1" exists`,
      });
    }
  } else if ("certificate" in source) {
    const { use_default_certificate_config: useDefault, certificate_config_location: location } =
      source.certificate;
    if (useDefault === true && location !== undefined) {
      issues.push({
        path: "credential_source.certificate",
        message: "set either use_default_certificate_config or certificate_config_location, not both",
      });
    } else if (useDefault !== true && location === undefined) {
      issues.push({
        path: "credential_source.certificate",
        message: "needs use_default_certificate_config: true or a certificate_config_location",
      });
    }
  } else if ("executable" in source) {
    const { command } = source.executable;
    const program = command.trim().split(/\s+/)[0] ?? "";
    if (!program.startsWith("/") && !/^[A-Za-z]:[\\/]/.test(program)) {
      issues.push({
        path: "credential_source.executable.command",
        message: "must start with the absolute path of the program (e.g. /usr/local/bin/get-token --flag)",
      });
    }
    const bounded = [
      ["timeout_millis", EXECUTABLE_TIMEOUT_RANGE],
      ["interactive_timeout_millis", EXECUTABLE_INTERACTIVE_TIMEOUT_RANGE],
    ] as const;
    for (const [field, range] of bounded) {
      const value = source.executable[field];
      if (value !== undefined && (value < range.min || value > range.max)) {
        issues.push({
          path: `credential_source.executable.${field}`,
          message: `must be between ${range.min} and ${range.max}`,
        });
      }
    }
  }
  if (
    "format" in source &&
    source.format?.type === "json" &&
    source.format.subject_token_field_name === undefined
  ) {
    issues.push({
      path: "credential_source.format.subject_token_field_name",
      message: 'required when format.type is "json"',
    });
  }
}

function checkExternalAccountEndpoints(
  config: ExternalAccountConfig,
  kind: SourceKind,
  allow: AllowOptions | undefined,
  issues: ConfigIssue[],
): void {
  const universe = config.universe_domain ?? DEFAULT_UNIVERSE_DOMAIN;
  if (config.token_url !== undefined)
    checkGoogleEndpoint("token_url", config.token_url, "sts", universe, allow, issues);
  if (config.token_info_url !== undefined) {
    checkGoogleEndpoint("token_info_url", config.token_info_url, "sts", universe, allow, issues);
  }
  if (config.service_account_impersonation_url !== undefined) {
    checkGoogleEndpoint(
      "service_account_impersonation_url",
      config.service_account_impersonation_url,
      "iamcredentials",
      universe,
      allow,
      issues,
    );
  }
  const source = config.credential_source;
  if (kind === "aws" && "environment_id" in source) {
    for (const field of ["region_url", "url", "imdsv2_session_token_url"] as const) {
      const value = source[field];
      if (value !== undefined) checkAwsMetadataUrl(`credential_source.${field}`, value, allow, issues);
    }
    checkAwsVerificationUrl(
      "credential_source.regional_cred_verification_url",
      source.regional_cred_verification_url,
      allow,
      issues,
    );
  } else if (kind === "url") {
    checkSubjectTokenUrl("credential_source.url", (source as UrlCredentialSource).url, allow, issues);
  }
}
