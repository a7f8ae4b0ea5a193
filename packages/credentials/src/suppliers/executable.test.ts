import { readFileSync } from "node:fs";
import { chmod, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { SUBJECT_TOKEN_TYPES } from "@wifkit/core";
import { afterEach, describe, expect, it } from "vitest";
import { virtualTime } from "../../../../tooling/virtual-time.js";
import { cleanup, fakeJwt, tempDir } from "../../test/helpers.js";
import { EXECUTABLE_KILL_GRACE_MS, fromExecutable, splitCommand } from "./executable.js";

afterEach(cleanup);

const AUDIENCE = "//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/p/providers/x";
const allowed = { ...process.env, GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES: "1" };
const nowSeconds = () => Math.floor(Date.now() / 1000);

/**
 * Writes an executable node script into `dir`. The script appends its argv and GOOGLE_EXTERNAL_ACCOUNT_*
 * environment to `runs.jsonl` (so tests can count runs and see what it received), then runs `body`.
 */
async function script(dir: string, body: string, name = "token-tool"): Promise<string> {
  const path = join(dir, name);
  await writeFile(
    path,
    `#!${process.execPath}
const fs = require("node:fs");
const seen = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith("GOOGLE_EXTERNAL_ACCOUNT_")));
fs.appendFileSync(${JSON.stringify(join(dir, "runs.jsonl"))}, JSON.stringify({ argv: process.argv.slice(2), env: seen, pid: process.pid }) + "\\n");
${body}
`,
  );
  await chmod(path, 0o755);
  return path;
}

async function runs(
  dir: string,
): Promise<Array<{ argv: string[]; env: Record<string, string>; pid: number }>> {
  try {
    const text = await readFile(join(dir, "runs.jsonl"), "utf8");
    return text
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
  } catch {
    return [];
  }
}

/** Writes an executable /bin/sh script into `dir`: fast to start, and can background processes. */
async function shellScript(dir: string, body: string): Promise<string> {
  const path = join(dir, "helper.sh");
  await writeFile(path, `#!/bin/sh\n${body}\n`);
  await chmod(path, 0o755);
  return path;
}

/** Polls (bounded) until the script has written a pid to `file`. */
async function readPid(file: string): Promise<number> {
  for (let i = 0; i < 500; i++) {
    const text = await readFile(file, "utf8").catch(() => "");
    if (/^\d+\s*$/.test(text)) return Number(text);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`no pid in ${file}`);
}

/** Alive and not a zombie (an exited process nobody has reaped yet counts as gone). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = readFileSync(`/proc/${pid}/stat`, { encoding: "utf8", flag: "r" });
  return !/^\d+ \(.*\) Z/.test(stat);
}

/** Signal delivery is asynchronous: polls, bounded, until the process is gone. */
async function expectGone(pid: number): Promise<void> {
  await expect.poll(() => isAlive(pid), { timeout: 5_000, interval: 20 }).toBe(false);
}

const TIMEOUT_MS = 30_000;

const success = (token: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    version: 1,
    success: true,
    token_type: SUBJECT_TOKEN_TYPES.idToken,
    id_token: token,
    expiration_time: nowSeconds() + 3600,
    ...extra,
  });

describe("fromExecutable", () => {
  it("refuses to run unless GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES=1, and says so", async () => {
    const dir = await tempDir();
    const command = await script(dir, `process.stdout.write(${JSON.stringify(success("t"))});`);
    const error = await fromExecutable({ command, audience: AUDIENCE, env: { ...process.env } })().catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: "ERR_WIF_EXECUTABLES_NOT_ALLOWED" });
    expect((error as Error).message).toContain("GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES=1");
    expect(await runs(dir)).toEqual([]);
  });

  it("runs the command without a shell, with Google's environment variables, and returns its token", async () => {
    const dir = await tempDir();
    const token = fakeJwt();
    const expiration = nowSeconds() + 600;
    const command = await script(
      dir,
      `process.stdout.write(${JSON.stringify(success(token, { expiration_time: expiration }))});`,
      "token tool",
    );
    const outputFile = join(dir, "cache.json");
    const supplier = fromExecutable({
      command: `"${command}" --flag "two words" $HOME;echo`,
      audience: AUDIENCE,
      subjectTokenType: SUBJECT_TOKEN_TYPES.idToken,
      serviceAccountEmail: "sa@p.iam.gserviceaccount.com",
      outputFile,
      env: allowed,
    });
    await expect(supplier()).resolves.toEqual({
      token,
      type: SUBJECT_TOKEN_TYPES.idToken,
      expiresAt: new Date(expiration * 1000),
    });
    const [run] = await runs(dir);
    expect(run?.argv).toEqual(["--flag", "two words", "$HOME;echo"]);
    expect(run?.env).toEqual({
      GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES: "1",
      GOOGLE_EXTERNAL_ACCOUNT_AUDIENCE: AUDIENCE,
      GOOGLE_EXTERNAL_ACCOUNT_TOKEN_TYPE: SUBJECT_TOKEN_TYPES.idToken,
      GOOGLE_EXTERNAL_ACCOUNT_INTERACTIVE: "0",
      GOOGLE_EXTERNAL_ACCOUNT_IMPERSONATED_EMAIL: "sa@p.iam.gserviceaccount.com",
      GOOGLE_EXTERNAL_ACCOUNT_OUTPUT_FILE: outputFile,
    });
  });

  it("uses an unexpired response in the output file without running the executable", async () => {
    const dir = await tempDir();
    const outputFile = join(dir, "cache.json");
    const command = await script(dir, `process.stdout.write(${JSON.stringify(success("fresh-token"))});`);
    await writeFile(outputFile, success("cached-token"));
    const supplier = fromExecutable({ command, audience: AUDIENCE, outputFile, env: allowed });
    await expect(supplier()).resolves.toMatchObject({ token: "cached-token" });
    expect(await runs(dir)).toHaveLength(0);

    await writeFile(outputFile, success("stale-token", { expiration_time: nowSeconds() - 10 }));
    await expect(supplier()).resolves.toMatchObject({ token: "fresh-token" });
    await writeFile(outputFile, "{ corrupt");
    await expect(supplier()).resolves.toMatchObject({ token: "fresh-token" });
    expect(await runs(dir)).toHaveLength(2);
  });

  it("judges the output file's expiry by the injected clock", async () => {
    const dir = await tempDir();
    const outputFile = join(dir, "cache.json");
    const command = await script(dir, `process.stdout.write(${JSON.stringify(success("fresh-token"))});`);
    await writeFile(outputFile, success("cached-token", { expiration_time: 2_000 }));
    const supplier = fromExecutable({
      command,
      audience: AUDIENCE,
      outputFile,
      env: allowed,
      clock: { now: () => 1_000_000 },
    });
    await expect(supplier()).resolves.toMatchObject({ token: "cached-token" });
  });

  it("turns success: false into an error carrying the executable's code and message", async () => {
    const dir = await tempDir();
    const command = await script(
      dir,
      `process.stdout.write(JSON.stringify({ version: 1, success: false, code: "401", message: "Caller not authorized." })); process.exit(1);`,
    );
    const error = await fromExecutable({ command, audience: AUDIENCE, env: allowed })().catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({
      code: "ERR_WIF_EXECUTABLE_UNSUCCESSFUL",
      upstreamError: "401",
      upstreamDescription: "Caller not authorized.",
    });
    expect((error as Error).message).toContain("401: Caller not authorized.");
  });

  it("stops a slow executable's whole process group at a real, short timeout (smoke test)", async () => {
    const dir = await tempDir();
    const command = await shellScript(dir, 'sleep 600 &\necho $! > "$1"\nwait');
    const error = await fromExecutable({
      command: `${command} ${join(dir, "background.pid")}`,
      audience: AUDIENCE,
      env: allowed,
      // Enough for sh to start and fork on a loaded machine; the virtual-time tests below cover the rest.
      timeoutMs: 1_000,
    })().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ERR_WIF_EXECUTABLE_TIMEOUT" });
    expect((error as Error).message).toContain("1000 ms");
    await expectGone(await readPid(join(dir, "background.pid")));
  });
  it.each([
    ["an unsupported version", { version: 2, success: true }, "only version 1"],
    ["a missing version", { success: true }, '"version" is missing'],
    ["a missing success field", { version: 1 }, '"success"'],
    [
      "an unknown token type",
      { version: 1, success: true, token_type: "urn:x", id_token: "t" },
      '"token_type" must be one of',
    ],
    [
      "a SAML type without saml_response",
      { version: 1, success: true, token_type: SUBJECT_TOKEN_TYPES.saml2, id_token: "t" },
      '"saml_response" is required',
    ],
    ["a failure without a message", { version: 1, success: false, code: "1" }, '"message" is required'],
  ])("rejects %s", async (_name, response, expected) => {
    const dir = await tempDir();
    const command = await script(dir, `process.stdout.write(${JSON.stringify(JSON.stringify(response))});`);
    const error = await fromExecutable({ command, audience: AUDIENCE, env: allowed })().catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: "ERR_WIF_EXECUTABLE_RESPONSE_INVALID" });
    expect((error as Error).message).toContain(expected);
  });

  it("accepts a SAML response", async () => {
    const dir = await tempDir();
    const saml = Buffer.from("<samlp:Response/>").toString("base64");
    const command = await script(
      dir,
      `process.stdout.write(${JSON.stringify(JSON.stringify({ version: 1, success: true, token_type: SUBJECT_TOKEN_TYPES.saml2, saml_response: saml }))});`,
    );
    await expect(fromExecutable({ command, audience: AUDIENCE, env: allowed })()).resolves.toEqual({
      token: saml,
      type: SUBJECT_TOKEN_TYPES.saml2,
      expiresAt: undefined,
    });
  });

  it("requires expiration_time when an output file is configured", async () => {
    const dir = await tempDir();
    const command = await script(
      dir,
      `process.stdout.write(${JSON.stringify(JSON.stringify({ version: 1, success: true, token_type: SUBJECT_TOKEN_TYPES.jwt, id_token: "t" }))});`,
    );
    const error = await fromExecutable({
      command,
      audience: AUDIENCE,
      env: allowed,
      outputFile: join(dir, "out.json"),
    })().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ERR_WIF_EXECUTABLE_RESPONSE_INVALID" });
    expect((error as Error).message).toContain("expiration_time");
  });

  it("rejects an already expired token", async () => {
    const dir = await tempDir();
    const command = await script(
      dir,
      `process.stdout.write(${JSON.stringify(success("t", { expiration_time: nowSeconds() - 5 }))});`,
    );
    const error = await fromExecutable({ command, audience: AUDIENCE, env: allowed })().catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: "ERR_WIF_EXECUTABLE_RESPONSE_EXPIRED" });
  });

  it("stops an executable that prints too much", async () => {
    const dir = await tempDir();
    const command = await script(
      dir,
      `process.stdout.write("x".repeat(64 * 1024)); setTimeout(() => {}, 5000);`,
    );
    const error = await fromExecutable({
      command,
      audience: AUDIENCE,
      env: allowed,
      maxOutputBytes: 1024,
    })().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ERR_WIF_EXECUTABLE_OUTPUT_TOO_LARGE" });
  });

  it("reports a failing exit code with its stderr, redacting anything token-shaped", async () => {
    const dir = await tempDir();
    const secret = fakeJwt({ sub: "leaked" });
    const command = await script(
      dir,
      `console.error("refresh failed for ${secret}: login required"); process.exit(3);`,
    );
    const error = await fromExecutable({ command, audience: AUDIENCE, env: allowed })().catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: "ERR_WIF_EXECUTABLE_FAILED" });
    expect((error as Error).message).toContain("exited with code 3");
    expect((error as Error).message).toContain("login required");
    expect((error as Error).message).not.toContain(secret);
  });

  it("reports an executable that does not exist", async () => {
    const dir = await tempDir();
    const error = await fromExecutable({
      command: join(dir, "missing"),
      audience: AUDIENCE,
      env: allowed,
    })().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ERR_WIF_EXECUTABLE_FAILED" });
    expect((error as Error).message).toContain("ENOENT");
  });

  it("reports output that is not JSON without quoting it", async () => {
    const dir = await tempDir();
    const command = await script(dir, `process.stdout.write("${fakeJwt()}");`);
    const error = await fromExecutable({ command, audience: AUDIENCE, env: allowed })().catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: "ERR_WIF_EXECUTABLE_RESPONSE_INVALID" });
    expect((error as Error).message).not.toMatch(/eyJ/);
  });
});

describe("fromExecutable process groups", () => {
  // Backgrounds a long sleep that inherits stdout and stderr, records its pid, then does `rest`.
  const backgrounding = (rest: string) => `sleep 600 &\necho $! > "$1"\n${rest}`;

  async function start(body: string, extra: Partial<Parameters<typeof fromExecutable>[0]> = {}) {
    const dir = await tempDir();
    const pidFile = join(dir, "background.pid");
    const command = await shellScript(dir, body);
    const timer = virtualTime();
    const call = fromExecutable({
      command: `${command} ${pidFile}`,
      audience: AUDIENCE,
      env: allowed,
      timeoutMs: TIMEOUT_MS,
      sleep: timer.sleep,
      ...extra,
    })().then(
      (value) => ({ value, error: undefined }),
      (error: unknown) => ({ value: undefined, error }),
    );
    return { call, timer, pid: await readPid(pidFile) };
  }

  it("at the timeout, stops the executable and what it started, and closes the pipes", async () => {
    const { call, timer, pid } = await start(backgrounding("wait"));
    await timer.advance(TIMEOUT_MS);
    expect((await call).error).toMatchObject({ code: "ERR_WIF_EXECUTABLE_TIMEOUT" });
    await expectGone(pid);
  });

  it("on abort, stops the executable and what it started", async () => {
    const controller = new AbortController();
    const dir = await tempDir();
    const pidFile = join(dir, "background.pid");
    const command = await shellScript(dir, backgrounding("wait"));
    const call = fromExecutable({
      command: `${command} ${pidFile}`,
      audience: AUDIENCE,
      env: allowed,
      sleep: virtualTime().sleep,
    })({ signal: controller.signal }).catch((e: unknown) => e);
    const pid = await readPid(pidFile);
    controller.abort();
    expect(await call).toMatchObject({ code: "ERR_WIF_ABORTED" });
    await expectGone(pid);
  });

  it("kills a group that ignores SIGTERM once the grace period is over", async () => {
    // An ignored signal stays ignored across fork and exec: the background sleep ignores SIGTERM too.
    const { call, timer, pid } = await start(`trap '' TERM\n${backgrounding("while :; do sleep 1; done")}`);
    await timer.advance(TIMEOUT_MS);
    expect((await call).error).toMatchObject({ code: "ERR_WIF_EXECUTABLE_TIMEOUT" });
    expect(isAlive(pid)).toBe(true);
    expect(timer.pending()).toContain(EXECUTABLE_KILL_GRACE_MS);
    await timer.advance(EXECUTABLE_KILL_GRACE_MS);
    await expectGone(pid);
  });

  it("returns as soon as a successful executable exits, though it left a process holding its stdout", async () => {
    const response = success("token-from-helper");
    const { call, timer, pid } = await start(backgrounding(`printf '%s' '${response}'\nexit 0`));
    expect(await call).toMatchObject({ value: { token: "token-from-helper" } });
    expect(timer.pending()).not.toContain(TIMEOUT_MS);
    // What it left behind goes with it: nothing accumulates across runs.
    await expectGone(pid);
  });
});

describe("splitCommand", () => {
  it("splits like Google's libraries: whitespace outside double quotes, outer quotes removed", () => {
    expect(splitCommand("/bin/tool  --a=1\t--b")).toEqual(["/bin/tool", "--a=1", "--b"]);
    expect(splitCommand('"/opt/my tools/t" --name "a b"')).toEqual(["/opt/my tools/t", "--name", "a b"]);
    expect(splitCommand('--x="a b"')).toEqual(['--x="a b"']);
    expect(splitCommand("echo '$HOME' | cat")).toEqual(["echo", "'$HOME'", "|", "cat"]);
  });

  it("rejects an empty command and an unterminated quote", () => {
    expect(() => splitCommand("   ")).toThrow(
      expect.objectContaining({ code: "ERR_WIF_EXECUTABLE_COMMAND_INVALID" }),
    );
    expect(() => splitCommand('/bin/t "open')).toThrow(/unterminated/);
  });
});
