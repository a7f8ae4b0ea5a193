/**
 * Flags and environment variables. Each option has a flag and an environment variable; the flag wins.
 * Everything is validated before anything starts, and a problem is a `UsageError` (exit status 2) whose
 * message names the flag or variable and what it accepts.
 */
import { isIP } from "node:net";
import { parseArgs } from "node:util";
import { UNIVERSE_DOMAIN_ENV } from "@wifkit/config";
import { type Env, isDomainName } from "@wifkit/core";
import { proxyResolver } from "@wifkit/http";
import { BadRequestError, parseScopes } from "@wifkit/metadata-server";
import type { LevelWithSilent } from "pino";
import { DEFAULT_LOG_LEVEL, LOG_LEVELS } from "./logger.js";
import { ALLOW_ORIGINS_ENV, allowedOrigins, SIDECAR_ALLOW_ORIGINS_ENV } from "./origins.js";
import {
  DEFAULT_ADMIN_PORT,
  DEFAULT_HOST,
  DEFAULT_METADATA_SCOPES,
  DEFAULT_PORT,
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  DEFAULT_SOCKET_MODE,
} from "./sidecar.js";
import { UsageError } from "./usage.js";

export type { Env };
export { UsageError };

/** Everything `wif-sidecar` runs with, after defaults and validation. */
export interface SidecarConfig {
  credentialConfigPath: string;
  host: string;
  port: number;
  socketPath: string | undefined;
  socketMode: number;
  adminHost: string;
  adminPort: number;
  allowedHosts: string[];
  scopes: string[];
  projectId: string | undefined;
  projectNumber: string | undefined;
  serviceAccountEmail: string | undefined;
  instanceName: string | undefined;
  instanceId: string | undefined;
  zone: string | undefined;
  bearerTokenFile: string | undefined;
  allowOrigins: string[];
  /** `--universe-domain`/`WIF_SIDECAR_UNIVERSE_DOMAIN`/`WIF_UNIVERSE_DOMAIN`: a universe the config may name besides googleapis.com. */
  universeDomain: string | undefined;
  /** `--proxy`/`WIF_SIDECAR_PROXY`; undefined: the environment's `HTTPS_PROXY`/`HTTP_PROXY` (with `NO_PROXY`). */
  proxy: string | undefined;
  logLevel: LevelWithSilent;
  shutdownTimeoutMs: number;
}

export type Command =
  | { kind: "run"; config: SidecarConfig }
  | { kind: "probe"; adminUrl: string; timeoutMs: number }
  | { kind: "help" }
  | { kind: "version" };

interface OptionSpec {
  flag: string;
  env: readonly string[];
  value: string;
  help: string;
  multiple?: boolean;
}

/** The option table: parsing, the help text and the README's table all come from here. */
export const OPTIONS: readonly OptionSpec[] = [
  {
    flag: "credential-config",
    env: ["WIF_SIDECAR_CREDENTIAL_CONFIG", "GOOGLE_APPLICATION_CREDENTIALS"],
    value: "PATH",
    help: "Credential configuration file (external_account JSON from gcloud iam workload-identity-pools create-cred-config). Required.",
  },
  {
    flag: "host",
    env: ["WIF_SIDECAR_HOST"],
    value: "ADDR",
    help: `Address to listen on (default ${DEFAULT_HOST}).`,
  },
  {
    flag: "port",
    env: ["WIF_SIDECAR_PORT"],
    value: "N",
    help: `Metadata port (default ${DEFAULT_PORT}; 0 picks one).`,
  },
  {
    flag: "socket",
    env: ["WIF_SIDECAR_SOCKET"],
    value: "PATH",
    help: "Listen on this Unix socket instead of TCP.",
  },
  {
    flag: "socket-mode",
    env: ["WIF_SIDECAR_SOCKET_MODE"],
    value: "OCTAL",
    help: `File mode of the Unix socket (default ${DEFAULT_SOCKET_MODE.toString(8).padStart(4, "0")}).`,
  },
  {
    flag: "admin-host",
    env: ["WIF_SIDECAR_ADMIN_HOST"],
    value: "ADDR",
    help: `Address of the admin server: /healthz, /readyz, /metrics (default ${DEFAULT_HOST}).`,
  },
  {
    flag: "admin-port",
    env: ["WIF_SIDECAR_ADMIN_PORT"],
    value: "N",
    help: `Admin port (default ${DEFAULT_ADMIN_PORT}).`,
  },
  {
    flag: "allowed-host",
    env: ["WIF_SIDECAR_ALLOWED_HOSTS"],
    value: "NAME",
    multiple: true,
    help: "Extra Host header value to accept, with or without the port (repeat, or comma-separate). Loopback and the GCE metadata names are always accepted.",
  },
  {
    flag: "scopes",
    env: ["WIF_SIDECAR_SCOPES"],
    value: "LIST",
    help: `Scopes of the default token, comma-separated (default ${DEFAULT_METADATA_SCOPES.join(",")}).`,
  },
  {
    flag: "project-id",
    env: ["WIF_SIDECAR_PROJECT_ID", "GOOGLE_CLOUD_PROJECT"],
    value: "ID",
    help: "Served as project/project-id (default: the service account's project, else the config's quota_project_id).",
  },
  {
    flag: "project-number",
    env: ["WIF_SIDECAR_PROJECT_NUMBER"],
    value: "N",
    help: "Served as project/numeric-project-id (default: the project number in a workload pool audience).",
  },
  {
    flag: "service-account-email",
    env: ["WIF_SIDECAR_SERVICE_ACCOUNT_EMAIL"],
    value: "EMAIL",
    help: "Served as the default service account's email (default: the impersonated service account, else PROJECT_ID.svc.id.goog).",
  },
  {
    flag: "instance-name",
    env: ["WIF_SIDECAR_INSTANCE_NAME"],
    value: "NAME",
    help: "Served as instance/name (default: the host name).",
  },
  {
    flag: "instance-id",
    env: ["WIF_SIDECAR_INSTANCE_ID"],
    value: "N",
    help: "Served as instance/id (default: a number derived from the host name).",
  },
  {
    flag: "zone",
    env: ["WIF_SIDECAR_ZONE"],
    value: "ZONE",
    help: "Zone name served in instance/zone as projects/N/zones/ZONE (default: unknown).",
  },
  {
    flag: "bearer-token-file",
    env: ["WIF_SIDECAR_BEARER_TOKEN_FILE"],
    value: "PATH",
    help: "Require Authorization: Bearer <the file's content> on every request (shared deployments).",
  },
  {
    flag: "allow-origin",
    env: [SIDECAR_ALLOW_ORIGINS_ENV, ALLOW_ORIGINS_ENV],
    value: "ORIGIN",
    multiple: true,
    help: "Extra origin the credential config may point at, e.g. a local emulator (repeat, or comma-separate).",
  },
  {
    flag: "universe-domain",
    env: ["WIF_SIDECAR_UNIVERSE_DOMAIN", UNIVERSE_DOMAIN_ENV],
    value: "DOMAIN",
    help: "Accept this universe_domain (not googleapis.com) in the credential config; the file cannot approve its own (default: googleapis.com only).",
  },
  {
    flag: "proxy",
    env: ["WIF_SIDECAR_PROXY"],
    value: "URL",
    help: "Send requests to Google, AWS and Azure through this proxy: http://[USER:PASSWORD@]HOST:PORT or https://... (default: HTTPS_PROXY, HTTP_PROXY; NO_PROXY applies; metadata servers and loopback are always direct).",
  },
  {
    flag: "log-level",
    env: ["WIF_SIDECAR_LOG_LEVEL"],
    value: "LEVEL",
    help: `One of ${LOG_LEVELS.join(", ")} (default ${DEFAULT_LOG_LEVEL}).`,
  },
  {
    flag: "shutdown-timeout-ms",
    env: ["WIF_SIDECAR_SHUTDOWN_TIMEOUT_MS"],
    value: "MS",
    help: `Time in-flight requests get to finish after SIGTERM/SIGINT (default ${DEFAULT_SHUTDOWN_TIMEOUT_MS}).`,
  },
];

/** How long `--probe` waits for the admin server. */
export const PROBE_TIMEOUT_MS = 2_000;

export function helpText(): string {
  const rows = OPTIONS.map((option) => {
    const left = `  --${option.flag} ${option.value}`;
    return `${left.padEnd(34)}${option.help}\n${" ".repeat(34)}env: ${option.env.join(", ")}`;
  });
  return [
    "Usage: wif-sidecar [options]",
    "       wif-sidecar --probe      exit 0 when the sidecar at the configured admin address is ready",
    "",
    "A GCE metadata server backed by Workload Identity Federation: point GCE_METADATA_HOST at it.",
    "",
    "Options (a flag wins over its environment variable):",
    ...rows,
    `  --probe${" ".repeat(27)}Check readiness of a running sidecar (uses --admin-host/--admin-port).`,
    `  --help, --version`,
    "",
  ].join("\n");
}

function pick(
  values: Record<string, string | boolean | (string | boolean)[] | undefined>,
  env: Env,
  option: OptionSpec,
): { value: string; source: string } | undefined {
  const flag = values[option.flag];
  if (typeof flag === "string") return { value: flag, source: `--${option.flag}` };
  for (const name of option.env) {
    const value = env[name];
    if (value !== undefined && value !== "") return { value, source: name };
  }
  return undefined;
}

function list(
  values: Record<string, string | boolean | (string | boolean)[] | undefined>,
  env: Env,
  option: OptionSpec,
): { items: string[]; source: string } {
  const flag = values[option.flag];
  const raw = Array.isArray(flag)
    ? { texts: flag.filter((item): item is string => typeof item === "string"), source: `--${option.flag}` }
    : undefined;
  const fromEnv = option.env.map((name) => ({ name, value: env[name] })).find((entry) => entry.value);
  const chosen =
    raw ?? (fromEnv === undefined ? undefined : { texts: [fromEnv.value!], source: fromEnv.name });
  if (chosen === undefined) return { items: [], source: `--${option.flag}` };
  const items = chosen.texts
    // Flags take comma lists; variables also white space, as wif reads WIF_ALLOW_ORIGINS.
    .flatMap((text) => text.split(chosen.source.startsWith("--") ? "," : /[\s,]+/))
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
  return { items, source: chosen.source };
}

function port(text: string, source: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) {
    throw new UsageError(`${source} must be a port number from 0 to 65535, got "${text}".`);
  }
  return Number(text);
}

function address(text: string, source: string): string {
  const bare = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  if (isIP(bare) === 0 && !/^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,251}[a-zA-Z0-9])?$/.test(bare)) {
    throw new UsageError(`${source} must be an IP address or host name, got "${text}".`);
  }
  return bare;
}

const SPEC = (flag: string): OptionSpec => OPTIONS.find((option) => option.flag === flag)!;

/**
 * Parses `argv` (without `node` and the script) and the environment into a command. Throws `UsageError`.
 *
 * @example
 * const command = parseCommandLine(["--credential-config", "wif.json", "--port", "8954"], process.env);
 */
export function parseCommandLine(argv: readonly string[], env: Env): Command {
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  try {
    const parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        ...Object.fromEntries(
          OPTIONS.map((option) => [
            option.flag,
            { type: "string" as const, multiple: option.multiple ?? false },
          ]),
        ),
        probe: { type: "boolean" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean" },
      },
    });
    values = parsed.values;
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help === true) return { kind: "help" };
  if (values.version === true) return { kind: "version" };

  const get = (flag: string) => pick(values, env, SPEC(flag));
  const adminHostPick = get("admin-host");
  const adminHost =
    adminHostPick === undefined ? DEFAULT_HOST : address(adminHostPick.value, adminHostPick.source);
  const adminPortPick = get("admin-port");
  const adminPort =
    adminPortPick === undefined ? DEFAULT_ADMIN_PORT : port(adminPortPick.value, adminPortPick.source);

  if (values.probe === true) {
    if (adminPort === 0) throw new UsageError("--probe needs a fixed --admin-port (0 picks a random one).");
    const host = adminHost === "0.0.0.0" ? "127.0.0.1" : adminHost === "::" ? "::1" : adminHost;
    return {
      kind: "probe",
      adminUrl: `http://${host.includes(":") ? `[${host}]` : host}:${adminPort}`,
      timeoutMs: PROBE_TIMEOUT_MS,
    };
  }

  const credential = get("credential-config");
  if (credential === undefined) {
    throw new UsageError(
      "No credential configuration: pass --credential-config PATH or set WIF_SIDECAR_CREDENTIAL_CONFIG or GOOGLE_APPLICATION_CREDENTIALS.",
    );
  }
  const hostPick = get("host");
  const host = hostPick === undefined ? DEFAULT_HOST : address(hostPick.value, hostPick.source);
  const portPick = get("port");
  const metadataPort = portPick === undefined ? DEFAULT_PORT : port(portPick.value, portPick.source);
  const socket = get("socket");
  const socketModePick = get("socket-mode");
  let socketMode = DEFAULT_SOCKET_MODE;
  if (socketModePick !== undefined) {
    if (!/^0?[0-7]{3}$/.test(socketModePick.value)) {
      throw new UsageError(
        `${socketModePick.source} must be an octal file mode such as 0660, got "${socketModePick.value}".`,
      );
    }
    socketMode = Number.parseInt(socketModePick.value, 8);
  }
  if (socket === undefined && metadataPort !== 0 && metadataPort === adminPort) {
    throw new UsageError(`The metadata port and the admin port must differ (both are ${metadataPort}).`);
  }

  const allowed = list(values, env, SPEC("allowed-host"));
  for (const name of allowed.items) {
    if (!/^(\[[0-9a-fA-F:.]+\]|[a-zA-Z0-9.-]+)(:\d{1,5})?$/.test(name)) {
      throw new UsageError(`${allowed.source}: "${name}" is not a host name, IP address or [IPv6] address.`);
    }
  }

  const scopesPick = get("scopes");
  let scopes = [...DEFAULT_METADATA_SCOPES];
  if (scopesPick !== undefined) {
    try {
      scopes = parseScopes(scopesPick.value);
    } catch (error) {
      throw new UsageError(
        `${scopesPick.source}: ${error instanceof BadRequestError ? error.message : String(error)}.`,
      );
    }
    if (scopes.length === 0) throw new UsageError(`${scopesPick.source} must list at least one scope.`);
  }

  const projectId = get("project-id");
  if (projectId !== undefined && !/^([a-z0-9.-]+:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$/.test(projectId.value)) {
    throw new UsageError(
      `${projectId.source} must be a project ID (6-30 lowercase letters, digits and hyphens), got "${projectId.value}".`,
    );
  }
  const projectNumber = get("project-number");
  if (projectNumber !== undefined && !/^\d{1,20}$/.test(projectNumber.value)) {
    throw new UsageError(
      `${projectNumber.source} must be a project number (digits), got "${projectNumber.value}".`,
    );
  }
  const email = get("service-account-email");
  if (email !== undefined && !/^[^\s@/]+@[^\s@/]+$/.test(email.value)) {
    throw new UsageError(`${email.source} must be an email address, got "${email.value}".`);
  }
  const instanceId = get("instance-id");
  if (instanceId !== undefined && !/^\d{1,20}$/.test(instanceId.value)) {
    throw new UsageError(`${instanceId.source} must be digits, got "${instanceId.value}".`);
  }
  const instanceName = get("instance-name");
  if (instanceName !== undefined && !/^[a-zA-Z0-9][a-zA-Z0-9.-]{0,252}$/.test(instanceName.value)) {
    throw new UsageError(
      `${instanceName.source} must be a host-name-like value, got "${instanceName.value}".`,
    );
  }
  const zone = get("zone");
  if (zone !== undefined && !/^[a-z0-9-]{1,63}$/.test(zone.value)) {
    throw new UsageError(`${zone.source} must be a zone name such as us-central1-a, got "${zone.value}".`);
  }

  const allowOrigins = allowedOrigins(values["allow-origin"], env);

  const universe = get("universe-domain");
  if (universe !== undefined && !isDomainName(universe.value.toLowerCase())) {
    throw new UsageError(
      `${universe.source} must be a domain such as googleapis.com (one universe), got "${universe.value}".`,
    );
  }

  const proxyPick = get("proxy");
  if (proxyPick !== undefined) {
    // A typo is a usage error at start-up; the value is not repeated (it may hold a password).
    try {
      proxyResolver({ proxy: proxyPick.value, env: {} });
    } catch (error) {
      throw new UsageError(`${proxyPick.source} ${(error as Error).message.replace(/^Option proxy /, "")}`);
    }
  }

  const levelPick = get("log-level");
  let logLevel = DEFAULT_LOG_LEVEL;
  if (levelPick !== undefined) {
    const level = levelPick.value.toLowerCase() as LevelWithSilent;
    if (!LOG_LEVELS.includes(level)) {
      throw new UsageError(
        `${levelPick.source} must be one of ${LOG_LEVELS.join(", ")}, got "${levelPick.value}".`,
      );
    }
    logLevel = level;
  }

  const shutdownPick = get("shutdown-timeout-ms");
  let shutdownTimeoutMs = DEFAULT_SHUTDOWN_TIMEOUT_MS;
  if (shutdownPick !== undefined) {
    if (!/^\d{1,7}$/.test(shutdownPick.value) || Number(shutdownPick.value) > 600_000) {
      throw new UsageError(
        `${shutdownPick.source} must be milliseconds from 0 to 600000, got "${shutdownPick.value}".`,
      );
    }
    shutdownTimeoutMs = Number(shutdownPick.value);
  }

  return {
    kind: "run",
    config: {
      credentialConfigPath: credential.value,
      host,
      port: metadataPort,
      socketPath: socket?.value,
      socketMode,
      adminHost,
      adminPort,
      allowedHosts: allowed.items,
      scopes,
      projectId: projectId?.value,
      projectNumber: projectNumber?.value,
      serviceAccountEmail: email?.value,
      instanceName: instanceName?.value,
      instanceId: instanceId?.value,
      zone: zone?.value,
      bearerTokenFile: get("bearer-token-file")?.value,
      allowOrigins,
      universeDomain: universe?.value.toLowerCase(),
      proxy: proxyPick?.value,
      logLevel,
      shutdownTimeoutMs,
    },
  };
}
