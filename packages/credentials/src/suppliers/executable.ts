import { type ChildProcess, spawn } from "node:child_process";
import {
  type Clock,
  CORE_ERROR_CODES,
  redactSecrets,
  type Sleep,
  SUBJECT_TOKEN_TYPES,
  type SubjectToken,
  type SubjectTokenSupplier,
  type SubjectTokenType,
  systemClock,
  unrefSleep,
  WifError,
} from "@wifkit/core";
import { CREDENTIALS_ERROR_CODES } from "../errors.js";
import { asText, defaultReadFile, type Env, type ReadFile } from "../io.js";

// The reason a finished operation's own timer is cancelled with: aborting without one builds a
// DOMException, stack and all, every time.
const SETTLED = Symbol("settled");

/** What Google's libraries use when `timeout_millis` is not set: 30 s. */
export const DEFAULT_EXECUTABLE_TIMEOUT_MS = 30_000;
/** The most stdout an executable may print before it is stopped: 1 MiB. */
export const DEFAULT_MAX_EXECUTABLE_OUTPUT_BYTES = 1024 * 1024;
/** Executables run only when this environment variable is `1`, as in every Google library. */
export const ALLOW_EXECUTABLES_ENV = "GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES";
/** The only executable response version there is. */
export const EXECUTABLE_RESPONSE_VERSION = 1;

/** How long a stopped executable's process group has between SIGTERM and SIGKILL. */
export const EXECUTABLE_KILL_GRACE_MS = 2_000;
const MAX_STDERR_BYTES = 64 * 1024;

export interface FromExecutableInit {
  /** Absolute path of the executable and its arguments, split the way Google's libraries split it. */
  command: string;
  /** Kills the executable after this long; default 30 s (`credential_source.executable.timeout_millis`). */
  timeoutMs?: number | undefined;
  /** Where the executable caches its response; a valid unexpired response there is used without running it. */
  outputFile?: string | undefined;
  /** The workload identity provider audience, passed as `GOOGLE_EXTERNAL_ACCOUNT_AUDIENCE`. */
  audience: string;
  /** The token type the config expects, passed as `GOOGLE_EXTERNAL_ACCOUNT_TOKEN_TYPE`; default jwt. */
  subjectTokenType?: SubjectTokenType | undefined;
  /** The impersonated service account, passed as `GOOGLE_EXTERNAL_ACCOUNT_IMPERSONATED_EMAIL`. */
  serviceAccountEmail?: string | undefined;
  /** Environment seam: read for the allow switch and handed to the executable. Default `process.env`. */
  env?: Env | undefined;
  /** Decides whether a response has expired. */
  clock?: Clock | undefined;
  /** Reads the output file. */
  readFile?: ReadFile | undefined;
  maxOutputBytes?: number | undefined;
  /**
   * Waits out `timeoutMs` and the SIGTERM-to-SIGKILL grace; tests pass one they control instead of waiting
   * real seconds. Default: an unref'd `setTimeout`.
   */
  sleep?: Sleep | undefined;
}

/**
 * A subject token supplier that runs an executable (Google's "pluggable auth"): it only runs when
 * `GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES=1`, without a shell, with the `GOOGLE_EXTERNAL_ACCOUNT_*`
 * variables set, in a process group of its own that does not outlive the call: at `timeoutMs`, on abort, and
 * once the executable exits, whatever it left running in its group gets SIGTERM, then SIGKILL after
 * `EXECUTABLE_KILL_GRACE_MS`, and its pipes are closed, so a helper that backgrounds a process cannot keep
 * the caller waiting. Its stdout must be a version 1 response; a cached response in
 * `outputFile` is used while it is unexpired. A `success: false` response becomes
 * `ERR_WIF_EXECUTABLE_UNSUCCESSFUL` carrying the executable's own code and message.
 *
 * @example
 * const supplier = fromExecutable({
 *   command: "/usr/local/bin/fetch-oidc-token --audience=gcp",
 *   audience: "//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/p/providers/x",
 * });
 */
export function fromExecutable(init: FromExecutableInit): SubjectTokenSupplier {
  const argv = splitCommand(init.command);
  const clock = init.clock ?? systemClock;
  const readFile = init.readFile ?? defaultReadFile;
  const timeoutMs = init.timeoutMs ?? DEFAULT_EXECUTABLE_TIMEOUT_MS;
  const program = argv[0] as string;
  return async (options): Promise<SubjectToken> => {
    const env = init.env ?? process.env;
    if (env[ALLOW_EXECUTABLES_ENV] !== "1") {
      throw new WifError(
        `The credential config runs an executable (${program}), and executables run only when the ` +
          `environment variable ${ALLOW_EXECUTABLES_ENV}=1 is set. Set it if you trust this config.`,
        { code: CREDENTIALS_ERROR_CODES.executablesNotAllowed },
      );
    }
    options?.signal?.throwIfAborted();
    if (init.outputFile) {
      const cached = await readCachedResponse(init.outputFile, readFile, clock);
      if (cached) return cached;
    }
    const childEnv: Record<string, string> = {};
    for (const [name, value] of Object.entries(env)) if (value !== undefined) childEnv[name] = value;
    childEnv.GOOGLE_EXTERNAL_ACCOUNT_AUDIENCE = init.audience;
    childEnv.GOOGLE_EXTERNAL_ACCOUNT_TOKEN_TYPE = init.subjectTokenType ?? SUBJECT_TOKEN_TYPES.jwt;
    childEnv.GOOGLE_EXTERNAL_ACCOUNT_INTERACTIVE = "0";
    if (init.serviceAccountEmail)
      childEnv.GOOGLE_EXTERNAL_ACCOUNT_IMPERSONATED_EMAIL = init.serviceAccountEmail;
    if (init.outputFile) childEnv.GOOGLE_EXTERNAL_ACCOUNT_OUTPUT_FILE = init.outputFile;

    const run = await runExecutable(argv, childEnv, {
      timeoutMs,
      maxOutputBytes: init.maxOutputBytes ?? DEFAULT_MAX_EXECUTABLE_OUTPUT_BYTES,
      signal: options?.signal,
      sleep: init.sleep ?? unrefSleep,
    });
    const response = parseExecutableOutput(run, program);
    const result = checkResponse(response, `The executable ${program}`);
    if (result.kind === "failure") {
      throw new WifError(`The executable ${program} reported failure: ${result.code}: ${result.message}`, {
        code: CREDENTIALS_ERROR_CODES.executableUnsuccessful,
        upstreamError: result.code,
        upstreamDescription: result.message,
      });
    }
    if (run.exitCode !== 0) {
      throw new WifError(
        `The executable ${program} printed a token but exited with code ${run.exitCode}; ` +
          `a successful executable exits with 0.`,
        { code: CREDENTIALS_ERROR_CODES.executableFailed },
      );
    }
    if (init.outputFile && result.expiresAt === undefined) {
      throw new WifError(
        `The executable ${program} returned no expiration_time; it is required when ` +
          `credential_source.executable.output_file is set.`,
        { code: CREDENTIALS_ERROR_CODES.executableResponseInvalid },
      );
    }
    if (result.expiresAt !== undefined && result.expiresAt.getTime() <= clock.now()) {
      throw new WifError(
        `The executable ${program} returned a token that expired at ${result.expiresAt.toISOString()}.`,
        { code: CREDENTIALS_ERROR_CODES.executableResponseExpired },
      );
    }
    return { token: result.token, type: result.type, expiresAt: result.expiresAt };
  };
}

/**
 * Splits a command line into argv the way Google's libraries do: on whitespace, except inside double
 * quotes; an argument that starts and ends with a quote loses those two quotes. There is no shell, so no
 * globbing, variables or escapes.
 *
 * @example
 * splitCommand('/opt/bin/tool --name "my token" --x=1'); // ["/opt/bin/tool", "--name", "my token", "--x=1"]
 */
export function splitCommand(command: string): string[] {
  const parts: string[] = [];
  let index = 0;
  while (index < command.length) {
    while (index < command.length && /\s/.test(command[index] as string)) index++;
    if (index >= command.length) break;
    let part = "";
    while (index < command.length && !/\s/.test(command[index] as string)) {
      if (command[index] === '"') {
        const close = command.indexOf('"', index + 1);
        if (close === -1) {
          throw new WifError(
            "credential_source.executable.command has an unterminated double quote. Close the quote.",
            { code: CREDENTIALS_ERROR_CODES.executableCommandInvalid },
          );
        }
        part += command.slice(index, close + 1);
        index = close + 1;
      } else {
        part += command[index];
        index++;
      }
    }
    parts.push(part.length >= 2 && part.startsWith('"') && part.endsWith('"') ? part.slice(1, -1) : part);
  }
  if (parts.length === 0 || parts[0] === "") {
    throw new WifError("credential_source.executable.command is empty. Set the executable's absolute path.", {
      code: CREDENTIALS_ERROR_CODES.executableCommandInvalid,
    });
  }
  return parts;
}

interface ExecutableRun {
  stdout: string;
  stderr: string;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}

interface RunOptions {
  timeoutMs: number;
  maxOutputBytes: number;
  signal: AbortSignal | undefined;
  sleep: Sleep;
}

function runExecutable(
  argv: string[],
  env: Record<string, string>,
  options: RunOptions,
): Promise<ExecutableRun> {
  const program = argv[0] as string;
  return new Promise((resolve, reject) => {
    // A process group of its own (POSIX), so everything the executable starts can be signalled at once.
    const child = spawn(program, argv.slice(1), {
      env,
      stdio: ["ignore", "pipe", "pipe"],
      shell: false,
      detached: process.platform !== "win32",
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let stdoutBytes = 0;
    let stderrBytes = 0;
    let settled = false;
    let terminated = false;
    const timerDone = new AbortController();

    // SIGTERM to the whole group, SIGKILL after the grace; at most once per run.
    const terminateGroup = () => {
      if (terminated) return;
      terminated = true;
      // Nothing was left to signal: no SIGKILL later to a group id the system may have handed out again.
      if (!signalGroup(child, "SIGTERM")) return;
      options.sleep(EXECUTABLE_KILL_GRACE_MS, new AbortController().signal).then(
        () => signalGroup(child, "SIGKILL"),
        () => {},
      );
    };
    const finish = () => {
      settled = true;
      timerDone.abort(SETTLED);
      options.signal?.removeEventListener("abort", onAbort);
    };
    const stop = (error: WifError) => {
      if (settled) return;
      finish();
      terminateGroup();
      // Whatever still holds the other ends of the pipes must not keep this process waiting.
      child.stdout.destroy();
      child.stderr.destroy();
      reject(error);
    };
    const onAbort = () =>
      stop(
        new WifError(`Running the executable ${program} was aborted by the caller.`, {
          code: CORE_ERROR_CODES.aborted,
          cause: options.signal?.reason,
        }),
      );
    options.sleep(options.timeoutMs, timerDone.signal).then(
      () =>
        stop(
          new WifError(
            `The executable ${program} did not finish within ${options.timeoutMs} ms and was stopped. ` +
              `Raise credential_source.executable.timeout_millis or make it faster.`,
            { code: CREDENTIALS_ERROR_CODES.executableTimeout, retryable: true },
          ),
        ),
      () => {},
    );
    options.signal?.addEventListener("abort", onAbort, { once: true });

    child.stdout.on("data", (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      if (stdoutBytes > options.maxOutputBytes) {
        stop(
          new WifError(
            `The executable ${program} printed more than ${options.maxOutputBytes} bytes; a response is small. ` +
              `It was stopped.`,
            { code: CREDENTIALS_ERROR_CODES.executableOutputTooLarge },
          ),
        );
        return;
      }
      stdout.push(chunk);
    });
    child.stderr.on("data", (chunk: Buffer) => {
      if (stderrBytes < MAX_STDERR_BYTES) stderr.push(chunk);
      stderrBytes += chunk.length;
    });
    child.once("error", (error: NodeJS.ErrnoException) => {
      stop(
        new WifError(
          `Could not start the executable ${program}: ${error.code ?? error.message}. ` +
            `Check that credential_source.executable.command names an executable file by its absolute path.`,
          { code: CREDENTIALS_ERROR_CODES.executableFailed, cause: error },
        ),
      );
    });
    // An executable is one-shot: what it leaves running in its group (and holding its pipes) goes with it.
    child.once("exit", terminateGroup);
    child.once("close", (exitCode, signal) => {
      if (settled) return;
      finish();
      resolve({
        stdout: Buffer.concat(stdout).toString("utf8"),
        stderr: Buffer.concat(stderr).toString("utf8"),
        exitCode,
        signal,
      });
    });
  });
}

/**
 * Signals the executable's process group (its own process on Windows); false when there was nothing left
 * to signal.
 */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): boolean {
  if (child.pid === undefined) return false;
  try {
    if (process.platform === "win32") return child.kill(signal);
    process.kill(-child.pid, signal);
    return true;
  } catch {
    // ESRCH: nothing left in the group.
    return false;
  }
}

function parseExecutableOutput(run: ExecutableRun, program: string): unknown {
  try {
    return JSON.parse(run.stdout);
  } catch {
    if (run.exitCode !== 0) {
      const detail = redactSecrets(run.stderr, [], { opaqueRuns: true, maxLength: 300 });
      throw new WifError(
        `The executable ${program} ${run.exitCode === null ? `was killed by ${run.signal}` : `exited with code ${run.exitCode}`}` +
          `${detail ? `; stderr: ${detail}` : ""}.`,
        { code: CREDENTIALS_ERROR_CODES.executableFailed },
      );
    }
    throw new WifError(
      `The executable ${program} did not print a JSON response on stdout. It must print ` +
        `{"version": 1, "success": true, ...}.`,
      { code: CREDENTIALS_ERROR_CODES.executableResponseInvalid },
    );
  }
}

type CheckedResponse =
  | { kind: "success"; token: string; type: SubjectTokenType; expiresAt: Date | undefined }
  | { kind: "failure"; code: string; message: string };

const OIDC_TYPES: readonly string[] = [SUBJECT_TOKEN_TYPES.idToken, SUBJECT_TOKEN_TYPES.jwt];

/** Validates a version 1 executable response; `source` says whose it is for messages. */
function checkResponse(response: unknown, source: string): CheckedResponse {
  const invalid = (problem: string) =>
    new WifError(`${source} returned an invalid response: ${problem}.`, {
      code: CREDENTIALS_ERROR_CODES.executableResponseInvalid,
    });
  if (response === null || typeof response !== "object" || Array.isArray(response)) {
    throw invalid("it is not a JSON object");
  }
  const r = response as Record<string, unknown>;
  if (r.version === undefined) throw invalid('"version" is missing');
  if (r.version !== EXECUTABLE_RESPONSE_VERSION) {
    throw new WifError(
      `${source} returned response version ${JSON.stringify(r.version)}; only version 1 is supported.`,
      { code: CREDENTIALS_ERROR_CODES.executableResponseInvalid },
    );
  }
  if (typeof r.success !== "boolean") throw invalid('"success" must be true or false');
  if (!r.success) {
    if (typeof r.code !== "string" || r.code === "")
      throw invalid('"code" is required when success is false');
    if (typeof r.message !== "string" || r.message === "") {
      throw invalid('"message" is required when success is false');
    }
    return { kind: "failure", code: r.code, message: r.message };
  }
  const type = r.token_type;
  let token: unknown;
  if (type === SUBJECT_TOKEN_TYPES.saml2) {
    token = r.saml_response;
    if (typeof token !== "string" || token === "") throw invalid(`"saml_response" is required for ${type}`);
  } else if (typeof type === "string" && OIDC_TYPES.includes(type)) {
    token = r.id_token;
    if (typeof token !== "string" || token === "") throw invalid(`"id_token" is required for ${type}`);
  } else {
    throw invalid(`"token_type" must be one of ${[...OIDC_TYPES, SUBJECT_TOKEN_TYPES.saml2].join(", ")}`);
  }
  let expiresAt: Date | undefined;
  if (r.expiration_time !== undefined) {
    if (typeof r.expiration_time !== "number" || !Number.isFinite(r.expiration_time)) {
      throw invalid('"expiration_time" must be a number of seconds since the epoch');
    }
    expiresAt = new Date(r.expiration_time * 1000);
  }
  return { kind: "success", token, type: type as SubjectTokenType, expiresAt };
}

/** A usable cached response from the output file, or undefined (missing, unreadable, invalid, expired). */
async function readCachedResponse(
  outputFile: string,
  readFile: ReadFile,
  clock: Clock,
): Promise<SubjectToken | undefined> {
  let text: string;
  try {
    text = asText(await readFile(outputFile));
  } catch {
    return undefined;
  }
  if (text.trim() === "") return undefined;
  try {
    const result = checkResponse(JSON.parse(text), `The output file ${outputFile}`);
    // Only a successful response with a known, future expiry is safe to reuse without running the executable.
    if (result.kind !== "success" || result.expiresAt === undefined) return undefined;
    if (result.expiresAt.getTime() <= clock.now()) return undefined;
    return { token: result.token, type: result.type, expiresAt: result.expiresAt };
  } catch {
    // A corrupt cache is the executable's to rewrite; running it is the way to recover.
    return undefined;
  }
}
