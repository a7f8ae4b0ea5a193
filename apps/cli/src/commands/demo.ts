import { WifError } from "@wifkit/core";
import type { CommandContext } from "../context.js";

export async function run(_args: readonly string[], _context: CommandContext): Promise<number> {
  throw new WifError("wif demo is not available yet.", { code: "ERR_WIF_NOT_IMPLEMENTED" });
}
