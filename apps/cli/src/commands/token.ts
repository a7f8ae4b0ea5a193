/** `wif token`: an access token on stdout. The entry answers warm-cache hits before this loads. */
import { allowedOrigins, oneOf, parseFlags, UsageError } from "../args.js";
import type { CommandContext } from "../context.js";
import { obtainToken } from "../obtain.js";
import { parseScopes, TOKEN_FLAGS, TOKEN_FORMATS } from "../specs.js";
import { formatToken } from "../token-output.js";

export async function run(args: readonly string[], context: CommandContext): Promise<number> {
  const { values } = parseFlags("token", args, TOKEN_FLAGS);
  const format = oneOf("token", "format", values.format, TOKEN_FORMATS, "text");
  const scopes = parseScopes(values.scopes);
  if (scopes.length === 0) throw new UsageError("--scopes needs at least one scope", "token");
  const token = await obtainToken(
    {
      configPath: values.config,
      request: { kind: "access_token", scopes },
      allowOrigins: allowedOrigins(values["allow-origin"], context.env),
      cacheDir: values["cache-dir"],
      noCache: values["no-cache"] === true,
    },
    context,
  );
  context.io.out(formatToken(token, format));
  return 0;
}
