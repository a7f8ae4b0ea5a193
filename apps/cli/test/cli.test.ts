import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { runWif } from "./helpers.js";

const packageJson = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
  version: string;
};
const COMMANDS = [
  "token",
  "id-token",
  "exec",
  "create-cred-config",
  "validate",
  "inspect",
  "mapping eval",
  "emulator",
  "demo",
];
const ESC = "\u001b[";

describe("wif, whatever the command", () => {
  it("prints its version", async () => {
    for (const flag of ["--version", "-V"]) {
      const result = await runWif([flag]);
      expect(result).toMatchObject({ code: 0, stdout: `${packageJson.version}\n`, stderr: "" });
    }
  });

  it("lists every command in its help, with an example", async () => {
    const result = await runWif(["--help"]);
    expect(result.code).toBe(0);
    for (const command of COMMANDS) expect(result.stdout).toContain(`  ${command} `);
    expect(result.stdout).toContain("Example:");
  });

  it("without a command prints the help on stderr and exits 2", async () => {
    const result = await runWif([]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain("Usage: wif COMMAND");
  });

  it.each(COMMANDS)("has help with a usage line and an example: %s", async (command) => {
    const result = await runWif([...command.split(" "), "--help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Usage: wif ${command}`);
    expect(result.stdout).toMatch(/Examples?:\n {2}\$ .*\bwif \w/);
    expect(result.stderr).toBe("");
  });

  it("refuses an unknown command with one line and the usage, exit 2", async () => {
    const result = await runWif(["frobnicate"]);
    expect(result.code).toBe(2);
    expect(result.stderr.split("\n")[0]).toBe("error: unknown command 'frobnicate'");
    expect(result.stderr).toContain("Usage: wif COMMAND");
    expect(result.stdout).toBe("");
  });

  it.each([
    [["token", "--frobnicate"], "error: wif token: unknown option --frobnicate"],
    [["token", "--config"], "error: wif token: option --config needs a value"],
    [["token", "--format", "xml"], "error: wif token: --format must be one of text, json, env (got 'xml')"],
    [["token", "extra"], "error: wif token: unexpected argument 'extra'"],
    [["id-token"], "error: wif id-token: missing --audience URL (the service the token is for)"],
    [["exec", "--config", "x.json"], "error: wif exec: missing the command to run after --"],
    [
      ["mapping", "eval", "--mapping", "google.subject=assertion.sub"],
      "error: wif mapping eval: missing --assertion FILE|- (or --config PATH to take it from this environment)",
    ],
    [["mapping", "frob"], "error: unknown command 'mapping frob' (did you mean 'mapping eval'?)"],
    [["validate", "--no-such-flag=1"], "error: wif validate: unknown option --no-such-flag"],
    [
      ["emulator", "--port-base", "http"],
      "error: wif emulator: --port-base must be a port number from 1 to 65521",
    ],
    [["emulator", "--bogus"], "error: wif emulator: unknown option --bogus"],
    [["emulator", "--debug", "--config"], "error: wif emulator: option --config needs a value"],
  ])("usage error %j: one line, the usage, exit 2", async (args, line) => {
    const result = await runWif(args);
    expect(result.code).toBe(2);
    const lines = result.stderr.split("\n");
    expect(lines[0]).toBe(line);
    expect(lines[1]).toMatch(/^Usage: wif /);
    expect(result.stdout).toBe("");
  });

  it("reports a failure with its code and exit 1, and a stack trace only with --debug", async () => {
    const plain = await runWif(["token", "--config", "/nonexistent/wif.json"]);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toBe(
      "error [ERR_WIF_CONFIG_NOT_FOUND]: Credential configuration /nonexistent/wif.json does not exist.\n",
    );
    expect(plain.stdout).toBe("");

    const debug = await runWif(["token", "--debug", "--config", "/nonexistent/wif.json"]);
    expect(debug.code).toBe(1);
    expect(debug.stderr).toContain("ERR_WIF_CONFIG_NOT_FOUND");
    expect(debug.stderr).toMatch(/\n\s+at /);
  });

  it("says where to find the configuration when there is none", async () => {
    const result = await runWif(["token"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^error \[ERR_WIF_CONFIG_NOT_FOUND\]: No credential configuration given: pass its path \(--config\) or set GOOGLE_APPLICATION_CREDENTIALS/,
    );
  });

  it("writes no colour when stderr is not a terminal, and none with NO_COLOR", async () => {
    for (const env of [{}, { NO_COLOR: "1" }]) {
      const result = await runWif(["token", "--bogus"], { env });
      expect(result.stderr).not.toContain(ESC);
    }
  });
});
