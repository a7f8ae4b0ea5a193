import { constants as fsConstants } from "node:fs";
import { open } from "node:fs/promises";
import path from "node:path";
import type { Clock } from "@wifkit/core";
import { WifError } from "@wifkit/core";
import { describeUrl } from "@wifkit/http";
import { AZURE_ERROR_CODES } from "./errors.js";
import type { ResolvedInit } from "./options.js";
import {
  ARC_API_VERSION,
  ARC_KEY_FILE_MAX_BYTES,
  configError,
  defaultArcKeyDirectory,
  parseEndpoint,
} from "./options.js";
import { isOk, sendTokenRequest } from "./request.js";
import type { AzureToken, ResponseContext } from "./response.js";
import { parseTokenResponse, responseError, upstreamOf } from "./response.js";

const OPERATION = "Azure Arc managed identity token request";

/**
 * Fetches a token from the Azure Connected Machine agent. Its endpoint answers the first request with
 * 401 and `WWW-Authenticate: Basic realm=PATH`, where PATH is a key file only local administrators (and
 * the `himds` group) can read; presenting its content proves the caller runs on this machine.
 */
export async function fetchArcToken(
  resolved: ResolvedInit,
  endpoint: string,
  clock: Clock,
  signal: AbortSignal | undefined,
): Promise<AzureToken> {
  if (resolved.identity) {
    throw configError(
      `Azure Arc offers only the machine's system-assigned identity; remove ${resolved.identity.kind} (it selects a user-assigned identity).`,
    );
  }
  const url = parseEndpoint(endpoint, "IDENTITY_ENDPOINT");
  url.searchParams.set("api-version", ARC_API_VERSION);
  url.searchParams.set("resource", resolved.resource);
  const where = describeUrl(url);
  const context = (): ResponseContext => ({
    source: "arc",
    operation: OPERATION,
    url,
    resource: resolved.resource,
    now: clock.now(),
  });

  const challenge = await sendTokenRequest(
    resolved,
    { url, headers: { Metadata: "true" }, operation: OPERATION },
    signal,
  );
  if (isOk(challenge)) return parseTokenResponse(challenge, context());
  if (challenge.status !== 401) throw responseError(upstreamOf(challenge), context());

  const header = challenge.headers["www-authenticate"];
  const realm = /Basic\s+realm\s*=\s*"?([^"]+?)"?\s*$/i.exec(
    Array.isArray(header) ? (header[0] ?? "") : (header ?? ""),
  );
  if (!realm?.[1]) {
    throw new WifError(
      `${OPERATION} at ${where} answered 401 without a "WWW-Authenticate: Basic realm=PATH" challenge; this does not look like the Azure Connected Machine agent.`,
      { code: AZURE_ERROR_CODES.arcKeyFile, status: 401, url: where },
    );
  }
  const directory = resolved.init.arcKeyDirectory ?? defaultArcKeyDirectory(process.platform, resolved.env);
  if (directory === undefined) {
    throw new WifError(
      `${OPERATION}: Azure Arc keys are only read on Linux and Windows; pass arcKeyDirectory to name the agent's token directory on ${process.platform}.`,
      { code: AZURE_ERROR_CODES.arcKeyFile, url: where },
    );
  }
  const key = await readArcKeyFile(realm[1], directory, signal);

  const response = await sendTokenRequest(
    resolved,
    { url, headers: { Metadata: "true", Authorization: `Basic ${key}` }, operation: OPERATION },
    signal,
  );
  if (isOk(response)) return parseTokenResponse(response, context());
  if (response.status === 401) {
    throw new WifError(
      `${OPERATION} at ${where} refused the key from the challenge file ${realm[1]} (HTTP 401). The agent rotates its keys: retry, and check that the himds service is running (azcmagent show).`,
      { code: AZURE_ERROR_CODES.arcKeyFile, status: 401, url: where },
    );
  }
  throw responseError(upstreamOf(response, [key]), context());
}

/**
 * Reads the key an Arc challenge points at, after checking that the path is a `.key` file directly in the
 * agent's token directory, not a link, and at most `ARC_KEY_FILE_MAX_BYTES`. The challenge comes over plain
 * HTTP from whatever listens on the endpoint, so without these checks it could make us send any local
 * file's content as a header.
 */
export async function readArcKeyFile(
  challengePath: string,
  allowedDirectory: string,
  signal?: AbortSignal,
): Promise<string> {
  const refuse = (reason: string, cause?: unknown) =>
    new WifError(`Refusing the Azure Arc challenge file ${challengePath}: ${reason}.`, {
      code: AZURE_ERROR_CODES.arcKeyFile,
      cause,
    });
  if (!path.isAbsolute(challengePath)) throw refuse("it is not an absolute path");
  const resolved = path.resolve(challengePath);
  const allowed = path.resolve(allowedDirectory);
  const sameDirectory =
    process.platform === "win32"
      ? path.dirname(resolved).toLowerCase() === allowed.toLowerCase()
      : path.dirname(resolved) === allowed;
  if (!sameDirectory) throw refuse(`it is not directly inside the Arc agent's token directory ${allowed}`);
  if (path.extname(resolved).toLowerCase() !== ".key") throw refuse('its name does not end in ".key"');

  // O_NOFOLLOW plus fstat on the opened handle: the checks apply to the file actually read, not to
  // whatever the path pointed at a moment earlier.
  const flags = fsConstants.O_RDONLY | (fsConstants.O_NOFOLLOW ?? 0);
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(resolved, flags);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === "ELOOP") throw refuse("it is a symbolic link", cause);
    if (code === "ENOENT") throw refuse("it does not exist", cause);
    if (code === "EACCES" || code === "EPERM") {
      throw refuse(
        "this process may not read it; on Linux add the user to the himds group (sudo usermod -a -G himds USER), on Windows run as an administrator or a member of Hybrid agent extension applications",
        cause,
      );
    }
    throw refuse(`it cannot be opened (${code ?? "unknown error"})`, cause);
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw refuse("it is not a regular file");
    if (stats.size === 0) throw refuse("it is empty");
    if (stats.size > ARC_KEY_FILE_MAX_BYTES) {
      throw refuse(`it is ${stats.size} bytes, more than the ${ARC_KEY_FILE_MAX_BYTES} an Arc key can be`);
    }
    signal?.throwIfAborted();
    const key = (await handle.readFile({ encoding: "utf8" })).trim();
    if (key === "") throw refuse("it is empty");
    return key;
  } finally {
    await handle.close();
  }
}
