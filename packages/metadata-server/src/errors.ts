/**
 * The codes this package throws, and how a failure is described to a client or a log line: a credential's
 * error may quote what upstream answered, and upstream may have echoed what it was sent (a signed AWS
 * request, a session token, a subject token, URL-encoded or not). Quoted text is scrubbed here again,
 * whatever the layer below did, because the server is what puts it on the wire.
 */
import { isWifError, redactSecrets } from "@wifkit/core";

/** Every code `@wifkit/metadata-server` throws. */
export const METADATA_SERVER_ERROR_CODES = Object.freeze({
  /** `listen({ path })`: another server answers on that Unix socket. */
  socketInUse: "ERR_WIF_METADATA_SOCKET_IN_USE",
  /** `listen({ path })`: something that is not a socket exists at the path. */
  socketPathTaken: "ERR_WIF_METADATA_SOCKET_PATH_TAKEN",
  /** `listen()` on a server that is already listening or was closed. */
  notIdle: "ERR_WIF_METADATA_SERVER_NOT_IDLE",
} as const);

export type MetadataServerErrorCode =
  (typeof METADATA_SERVER_ERROR_CODES)[keyof typeof METADATA_SERVER_ERROR_CODES];

const REDACTED = "[redacted]";
/** 32 or more characters of base64, hex or percent escapes: a key, a signature, an encoded token. */
const OPAQUE_OR_ENCODED_RUN = /(?:[A-Za-z0-9+/=_.-]|%[0-9A-Fa-f]{2}){32,}/g;

/** Text a server answered: everything opaque goes, URL-encoded or not. */
function redactQuoted(text: string): string {
  return redactSecrets(text.replace(OPAQUE_OR_ENCODED_RUN, REDACTED), [], { opaqueRuns: true });
}

/** What may be shown of a failure: in a 503 body, in a log line. */
export interface FailureDescription {
  code: string;
  message: string;
  status?: number;
  upstreamError?: string;
}

/**
 * Describes a `WifError` for a response body or a log line: its code and message, with the parts it quotes
 * from upstream (`upstreamDescription`, `upstreamError`) stripped of anything opaque, and the rest of the
 * message of anything token-shaped. Returns undefined for any other error, whose text is not written to be
 * shown.
 *
 * @example
 * const failure = describeFailure(error);
 * logger.warn({ err: failure ?? { type: typeof error } }, "could not obtain a token");
 */
export function describeFailure(error: unknown): FailureDescription | undefined {
  if (!isWifError(error)) return undefined;
  let message = error.message;
  for (const quoted of [error.upstreamDescription, error.upstreamError]) {
    if (quoted !== undefined && quoted.length > 0) message = message.split(quoted).join(redactQuoted(quoted));
  }
  return {
    code: error.code,
    message: redactSecrets(message),
    ...(error.status === undefined ? {} : { status: error.status }),
    ...(error.upstreamError === undefined ? {} : { upstreamError: redactQuoted(error.upstreamError) }),
  };
}
