import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { helpText, OPTIONS, parseCommandLine, type SidecarConfig, UsageError } from "../src/config.js";
import { createSidecarMetrics } from "../src/metrics.js";

function run(argv: string[], env: Record<string, string> = {}): SidecarConfig {
  const command = parseCommandLine(argv, env);
  if (command.kind !== "run") throw new Error(`expected run, got ${command.kind}`);
  return command.config;
}

function usage(argv: string[], env: Record<string, string> = {}): string {
  try {
    parseCommandLine(argv, env);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error("expected a UsageError");
}

describe("command line", () => {
  it("uses documented defaults: loopback, ports 8954/8955, cloud-platform, info", () => {
    const config = run(["--credential-config", "wif.json"]);
    expect(config).toMatchObject({
      credentialConfigPath: "wif.json",
      host: "127.0.0.1",
      port: 8954,
      adminHost: "127.0.0.1",
      adminPort: 8955,
      scopes: ["https://www.googleapis.com/auth/cloud-platform"],
      logLevel: "info",
      allowedHosts: [],
      allowOrigins: [],
      shutdownTimeoutMs: 10_000,
      socketMode: 0o660,
    });
  });

  it("reads every option from its environment variable, and a flag wins over it", () => {
    const env = {
      GOOGLE_APPLICATION_CREDENTIALS: "/etc/gac.json",
      WIF_SIDECAR_PORT: "9000",
      WIF_SIDECAR_ADMIN_PORT: "9001",
      WIF_SIDECAR_ALLOWED_HOSTS: "a.internal, b.internal:9000",
      WIF_SIDECAR_SCOPES: "s2,s1",
      WIF_SIDECAR_PROJECT_ID: "my-project",
      WIF_SIDECAR_PROJECT_NUMBER: "42",
      WIF_SIDECAR_LOG_LEVEL: "DEBUG",
      WIF_SIDECAR_ALLOW_ORIGINS: "http://127.0.0.1:41234/",
      WIF_SIDECAR_SOCKET_MODE: "0600",
      WIF_SIDECAR_BEARER_TOKEN_FILE: "/run/secret",
    };
    const config = run([], env);
    expect(config).toMatchObject({
      credentialConfigPath: "/etc/gac.json",
      port: 9000,
      adminPort: 9001,
      allowedHosts: ["a.internal", "b.internal:9000"],
      scopes: ["s1", "s2"],
      projectId: "my-project",
      projectNumber: "42",
      logLevel: "debug",
      allowOrigins: ["http://127.0.0.1:41234"],
      socketMode: 0o600,
      bearerTokenFile: "/run/secret",
    });
    const flagged = run(
      ["--credential-config", "x.json", "--port", "7000", "--allowed-host", "c", "--allowed-host", "d"],
      { ...env, WIF_SIDECAR_CREDENTIAL_CONFIG: "y.json" },
    );
    expect(flagged).toMatchObject({ credentialConfigPath: "x.json", port: 7000, allowedHosts: ["c", "d"] });
    // The sidecar's own variable wins over GOOGLE_APPLICATION_CREDENTIALS.
    expect(run([], { ...env, WIF_SIDECAR_CREDENTIAL_CONFIG: "y.json" }).credentialConfigPath).toBe("y.json");
  });

  it("explains each invalid value naming its flag or variable", () => {
    expect(usage([])).toMatch(/--credential-config PATH or set WIF_SIDECAR_CREDENTIAL_CONFIG/);
    expect(usage(["--credential-config", "c", "--port", "70000"])).toMatch(/^--port must be a port number/);
    expect(usage(["--credential-config", "c"], { WIF_SIDECAR_ADMIN_PORT: "x" })).toMatch(
      /^WIF_SIDECAR_ADMIN_PORT/,
    );
    expect(usage(["--credential-config", "c", "--port", "8955"])).toMatch(/must differ/);
    expect(usage(["--credential-config", "c", "--log-level", "loud"])).toMatch(/--log-level must be one of/);
    expect(usage(["--credential-config", "c", "--project-id", "Bad_Project"])).toMatch(
      /--project-id must be a project ID/,
    );
    expect(usage(["--credential-config", "c", "--project-number", "12a"])).toMatch(/--project-number/);
    expect(usage(["--credential-config", "c", "--allowed-host", "a b"])).toMatch(/--allowed-host/);
    expect(usage(["--credential-config", "c", "--allow-origin", "http://x/path"])).toMatch(
      /is not an origin; give scheme, host and port only/,
    );
    expect(usage(["--credential-config", "c", "--socket-mode", "999"])).toMatch(/octal/);
    expect(usage(["--credential-config", "c", "--scopes", ","])).toMatch(/at least one scope/);
    expect(usage(["--credential-config", "c", "--host", "not a host"])).toMatch(
      /--host must be an IP address/,
    );
    expect(usage(["--credential-config", "c", "--shutdown-timeout-ms", "-1"])).toMatch(
      /--shutdown-timeout-ms/,
    );
    expect(usage(["--nope"])).toMatch(/nope/);
    expect(usage(["positional"])).toMatch(/positional/);
  });

  it("takes extra origins as wif does: comma lists, WIF_ALLOW_ORIGINS below the sidecar's own variable", () => {
    const flags = run([
      "--credential-config",
      "c",
      "--allow-origin",
      "http://127.0.0.1:1,https://emu.example:8443/",
      "--allow-origin",
      "http://[::1]:2",
    ]);
    expect(flags.allowOrigins).toEqual(["http://127.0.0.1:1", "https://emu.example:8443", "http://[::1]:2"]);
    const cli = { WIF_ALLOW_ORIGINS: "http://127.0.0.1:3 http://127.0.0.1:4,http://127.0.0.1:5" };
    expect(run(["--credential-config", "c"], cli).allowOrigins).toEqual([
      "http://127.0.0.1:3",
      "http://127.0.0.1:4",
      "http://127.0.0.1:5",
    ]);
    expect(
      run(["--credential-config", "c"], { ...cli, WIF_SIDECAR_ALLOW_ORIGINS: "http://127.0.0.1:6" })
        .allowOrigins,
    ).toEqual(["http://127.0.0.1:6"]);
    expect(
      run(["--credential-config", "c", "--allow-origin", "http://127.0.0.1:7"], cli).allowOrigins,
    ).toEqual(["http://127.0.0.1:7"]);
  });

  it("refuses a malformed origin with a usage error naming where it came from", () => {
    for (const origin of [
      "127.0.0.1:1",
      "ftp://h",
      "http://h/path",
      "http://h?q=1",
      "http://u:p@h",
      "http://h#x",
    ]) {
      const message = usage(["--credential-config", "c", "--allow-origin", `http://127.0.0.1:1,${origin}`]);
      expect(message.startsWith("--allow-origin: "), message).toBe(true);
      // An entry with user information is never repeated: it may hold a password.
      if (origin.includes("@")) expect(message).toMatch(/must not contain a user name or password/);
      else expect(message).toContain(`'${origin}' is not an origin`);
    }
    expect(usage(["--credential-config", "c"], { WIF_ALLOW_ORIGINS: "not-a-url" })).toMatch(
      /^WIF_ALLOW_ORIGINS: 'not-a-url' is not an origin/,
    );
    expect(usage(["--credential-config", "c", "--allow-origin", "http://ok:1"])).toMatch(
      /plain http on a host other than this machine/,
    );
  });

  it("builds the probe target from the admin address, mapping a wildcard bind to loopback", () => {
    expect(parseCommandLine(["--probe"], {})).toEqual({
      kind: "probe",
      adminUrl: "http://127.0.0.1:8955",
      timeoutMs: 2000,
    });
    expect(
      parseCommandLine(["--probe"], { WIF_SIDECAR_ADMIN_HOST: "0.0.0.0", WIF_SIDECAR_ADMIN_PORT: "9" }),
    ).toMatchObject({
      adminUrl: "http://127.0.0.1:9",
    });
    expect(parseCommandLine(["--probe", "--admin-host", "::"], {})).toMatchObject({
      adminUrl: "http://[::1]:8955",
    });
  });

  it("documents every option with its environment variables in --help", () => {
    const help = helpText();
    for (const option of OPTIONS) {
      expect(help).toContain(`--${option.flag}`);
      for (const name of option.env) expect(help).toContain(name);
    }
    expect(parseCommandLine(["--help"], {})).toEqual({ kind: "help" });
  });
});

describe("README", () => {
  it("documents every flag, environment variable and metric", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    for (const option of OPTIONS) {
      expect(readme, option.flag).toContain(`--${option.flag} ${option.value}`);
      for (const name of option.env) expect(readme, name).toContain(`\`${name}\``);
    }
    const names = [
      ...createSidecarMetrics()
        .registry.render()
        .matchAll(/^# TYPE (\S+)/gm),
    ].map((match) => match[1]);
    expect(names.length).toBeGreaterThan(5);
    for (const name of names) expect(readme, name).toContain(`\`${name}\``);
  });
});
