/** `wif token`: an access token on stdout. The entry answers warm-cache hits before this loads. */
import { oneOf, type ParsedFlags, parseFlags, UsageError } from "../args.js";
import type { CommandContext } from "../context.js";
import { obtainTokenForFlags } from "../obtain.js";
import { parseScopes, TOKEN_FLAGS, TOKEN_FORMATS } from "../specs.js";
import { formatToken } from "../token-output.js";

export async function run(args: readonly string[], context: CommandContext): Promise<number> {
  // The entry parsed these flags already when it looked in the cache.
  const values =
    context.warm?.command === "token"
      ? (context.warm.values as ParsedFlags<typeof TOKEN_FLAGS>["values"])
      : parseFlags("token", args, TOKEN_FLAGS).values;
  const format = oneOf("token", "format", values.format, TOKEN_FORMATS, "text");
  const scopes = parseScopes(values.scopes);
  if (scopes.length === 0) throw new UsageError("--scopes needs at least one scope", "token");
  const token = await obtainTokenForFlags(values, { kind: "access_token", scopes }, context, "token");
  context.io.out(formatToken(token, format));
  return 0;
}
