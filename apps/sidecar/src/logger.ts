/**
 * Structured JSON logs through pino. Redaction is the second line of defence: the sidecar never passes a
 * token to the logger, and these paths censor any field that could carry one if a future log call did.
 */
import { type DestinationStream, type LevelWithSilent, type Logger, pino } from "pino";
import { describeError } from "./hooks.js";

export const LOG_LEVELS: readonly LevelWithSilent[] = [
  "fatal",
  "error",
  "warn",
  "info",
  "debug",
  "trace",
  "silent",
];
export const DEFAULT_LOG_LEVEL: LevelWithSilent = "info";

const SECRET_FIELDS = [
  "token",
  "accessToken",
  "access_token",
  "idToken",
  "id_token",
  "refreshToken",
  "refresh_token",
  "subjectToken",
  "subject_token",
  "bearerToken",
  "authorization",
  "Authorization",
  "cookie",
  "clientSecret",
  "client_secret",
  "secret",
  "password",
  "secretAccessKey",
  "sessionToken",
];

/** Every path pino censors: the field at the top level, one level down, and in request/response headers. */
export const REDACTED_PATHS: readonly string[] = [
  ...SECRET_FIELDS,
  ...SECRET_FIELDS.map((field) => `*.${field}`),
  ...SECRET_FIELDS.map((field) => `*.headers.${field}`),
  "headers.authorization",
];

export interface LoggerOptions {
  level?: LevelWithSilent;
  /** Where lines go (stdout by default); tests pass a stream that collects them. */
  destination?: DestinationStream;
}

/** Creates the sidecar's logger. */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? DEFAULT_LOG_LEVEL,
      base: { service: "wif-sidecar", pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: [...REDACTED_PATHS], censor: "[REDACTED]" },
      serializers: { err: describeError },
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}
