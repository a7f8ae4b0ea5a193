/** `wif id-token`: a Google-signed ID token for an audience, through service account impersonation. */
import { oneOf, type ParsedFlags, parseFlags, UsageError } from "../args.js";
import type { CommandContext } from "../context.js";
import { obtainTokenForFlags } from "../obtain.js";
import { ID_TOKEN_FLAGS, ID_TOKEN_FORMATS } from "../specs.js";
import { formatToken } from "../token-output.js";

export async function run(args: readonly string[], context: CommandContext): Promise<number> {
  // The entry parsed these flags already when it looked in the cache.
  const values =
    context.warm?.command === "id-token"
      ? (context.warm.values as ParsedFlags<typeof ID_TOKEN_FLAGS>["values"])
      : parseFlags("id-token", args, ID_TOKEN_FLAGS).values;
  const format = oneOf("id-token", "format", values.format, ID_TOKEN_FORMATS, "text");
  const audience = values.audience?.trim();
  if (!audience) throw new UsageError("missing --audience URL (the service the token is for)", "id-token");
  const token = await obtainTokenForFlags(
    values,
    { kind: "id_token", audience, includeEmail: values["include-email"] === true },
    context,
    "id-token",
  );
  context.io.out(formatToken(token, format));
  return 0;
}
