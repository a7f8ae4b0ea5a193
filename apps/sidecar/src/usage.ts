/** A mistake in the command line or environment: printed without a stack trace, exit status 2. */
export class UsageError extends Error {
  override name = "UsageError";
}
