#!/usr/bin/env node
/**
 * `wif-sidecar`: parse flags and environment, build the credential from its config, serve, and stop cleanly
 * on SIGTERM/SIGINT. Usage errors exit 2 with one line and no stack trace; `--probe` exits 0 when a running
 * sidecar is ready.
 */
import { readFile } from "node:fs/promises";
import { isWifError } from "@wifkit/core";
import { formatHttpTraceEvent, httpRequest, subscribeHttpTrace } from "@wifkit/http";
import packageJson from "../package.json" with { type: "json" };
import {
  type Command,
  type Env,
  helpText,
  parseCommandLine,
  type SidecarConfig,
  UsageError,
} from "./config.js";
import { createLogger } from "./logger.js";
import { startSidecar } from "./sidecar.js";

interface Output {
  out(text: string): void;
  err(text: string): void;
}

const processOutput: Output = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/** Codes of configuration problems: the operator's to fix, reported like usage errors (exit 2). */
const CONFIG_ERROR = /^ERR_WIF_(CONFIG|CREDENTIALS)_/;

async function probe(command: Extract<Command, { kind: "probe" }>, output: Output): Promise<number> {
  try {
    const response = await httpRequest({
      url: `${command.adminUrl}/readyz`,
      timeoutMs: command.timeoutMs,
      retry: false,
      operation: "wif-sidecar --probe",
    });
    const text = response.body.toString().trim();
    if (response.status === 200) {
      output.out(`${text}\n`);
      return 0;
    }
    output.err(`wif-sidecar: ${text || `not ready (HTTP ${response.status})`}\n`);
    return 1;
  } catch (error) {
    output.err(
      `wif-sidecar: no sidecar answers at ${command.adminUrl}/readyz (${isWifError(error) ? error.code : "error"}).\n`,
    );
    return 1;
  }
}

async function readBearerToken(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new UsageError(
      `Cannot read the bearer token file ${path} (${(error as NodeJS.ErrnoException).code ?? "error"}).`,
    );
  }
  const token = text.trim();
  if (token.length < 16 || /\s/.test(token)) {
    throw new UsageError(`The bearer token file ${path} must hold one token of at least 16 characters.`);
  }
  return token;
}

async function run(config: SidecarConfig, env: Env): Promise<number> {
  // Loaded here, not at the top: --probe (run by the kubelet every few seconds) and --help stay fast.
  const [
    { fromConfig },
    { DEFAULT_MAX_TOKEN_KEYS, metadataValues },
    { createSidecarMetrics },
    { tokenHooks },
  ] = await Promise.all([
    import("@wifkit/credentials-all"),
    import("@wifkit/metadata-server"),
    import("./metrics.js"),
    import("./hooks.js"),
  ]);
  const logger = createLogger({ level: config.logLevel });
  // Every HTTP request, response and retry at debug level: events carry no header, body or query string.
  if (logger.isLevelEnabled("debug")) {
    subscribeHttpTrace((event) => logger.debug({ http: event }, formatHttpTraceEvent(event)));
  }
  const bearerToken =
    config.bearerTokenFile === undefined ? undefined : await readBearerToken(config.bearerTokenFile);
  // The credential's caches decide when tokens are refreshed; their hooks feed the sidecar's metrics.
  const metrics = createSidecarMetrics();
  let credentials: Awaited<ReturnType<typeof fromConfig>>;
  try {
    credentials = await fromConfig(config.credentialConfigPath, {
      scopes: config.scopes,
      env,
      ...(config.proxy === undefined ? {} : { proxy: config.proxy }),
      maxCachedTokens: DEFAULT_MAX_TOKEN_KEYS,
      ...tokenHooks(metrics, logger),
      allow: {
        ...(config.allowOrigins.length > 0 ? { origins: config.allowOrigins } : {}),
        ...(config.universeDomain === undefined ? {} : { universeDomains: [config.universeDomain] }),
      },
    });
  } catch (error) {
    if (isWifError(error) && CONFIG_ERROR.test(error.code)) {
      throw new UsageError(error.message);
    }
    throw error;
  }
  for (const warning of credentials.warnings) logger.warn({ warning }, "credential configuration warning");
  const sidecar = await startSidecar({
    source: credentials,
    metrics,
    metadata: metadataValues(credentials, config),
    defaultScopes: config.scopes,
    host: config.host,
    port: config.port,
    ...(config.socketPath === undefined
      ? {}
      : { socketPath: config.socketPath, socketMode: config.socketMode }),
    adminHost: config.adminHost,
    adminPort: config.adminPort,
    allowedHosts: config.allowedHosts,
    bearerToken,
    logger,
    shutdownTimeoutMs: config.shutdownTimeoutMs,
  });
  logger.info({ principal: credentials.principal.description }, "serving credentials");
  const loopback = /^(127\.|::1$|localhost$)/.test(config.host);
  if (config.socketPath === undefined && !loopback && bearerToken === undefined) {
    logger.warn(
      { host: config.host },
      "listening on a non-loopback address without --bearer-token-file: every client that can reach it gets tokens",
    );
  }
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      logger.info({ signal }, "signal received");
      void sidecar.close().then(resolve);
    };
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  });
  return 0;
}

/** Runs the command line and resolves with the exit status (for `run`, after a signal stopped the server). */
async function main(argv: readonly string[], env: Env, output: Output = processOutput): Promise<number> {
  try {
    const command = parseCommandLine(argv, env);
    switch (command.kind) {
      case "help":
        output.out(helpText());
        return 0;
      case "version":
        output.out(`wif-sidecar ${packageJson.version}\n`);
        return 0;
      case "probe":
        return await probe(command, output);
      case "run":
        return await run(command.config, env);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      output.err(`wif-sidecar: ${error.message}\nRun wif-sidecar --help for the options.\n`);
      return 2;
    }
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE" || code === "EACCES" || code === "EADDRNOTAVAIL") {
      output.err(
        `wif-sidecar: cannot listen: ${(error as Error).message}. Pick another --port/--admin-port or --host.\n`,
      );
      return 1;
    }
    output.err(`wif-sidecar: ${isWifError(error) ? `${error.message} (${error.code})` : String(error)}\n`);
    return 1;
  }
}

// Exit explicitly: keep-alive sockets of the credential's HTTP pools would otherwise hold the process open.
main(process.argv.slice(2), process.env).then((code) => process.exit(code));
