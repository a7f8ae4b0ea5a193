/**
 * The codes `wif` itself reports; every other code comes from the package that failed (the credential, STS,
 * IAM Credentials, a supplier, the configuration) and is listed in that package's README.
 */
export const CLI_ERROR_CODES = Object.freeze({
  /** `--cache-dir` / `WIF_CACHE_DIR` names something that is not, and cannot become, a directory. */
  cacheDirectoryUnusable: "ERR_WIF_CACHE_DIR_UNUSABLE",
  /** `create-cred-config --output-file` names a directory. */
  outputIsDirectory: "ERR_WIF_OUTPUT_IS_DIRECTORY",
  /** `create-cred-config` could not write its output file. */
  outputUnwritable: "ERR_WIF_OUTPUT_UNWRITABLE",
  /** `inspect` or `mapping eval` was given a configuration without a subject token to look at. */
  nothingToInspect: "ERR_WIF_NOTHING_TO_INSPECT",
  /** `mapping eval --assertion`: the file cannot be read. */
  assertionUnreadable: "ERR_WIF_ASSERTION_UNREADABLE",
  /** `mapping eval --assertion`: the assertion is not a JSON object (nor a JWT). */
  assertionInvalid: "ERR_WIF_ASSERTION_INVALID",
  /** `wif emulator` could not start (a port in use, an unusable configuration). */
  emulatorStart: "ERR_WIF_EMULATOR_START",
  /** `wif demo`: the emulated bucket refused a token the demo expected it to accept. */
  demoStorageDenied: "ERR_WIF_DEMO_STORAGE_DENIED",
  /** `wif demo`: a step answered what the demo does not expect. */
  demoUnexpected: "ERR_WIF_DEMO_UNEXPECTED",
} as const);

export type CliErrorCode = (typeof CLI_ERROR_CODES)[keyof typeof CLI_ERROR_CODES];
