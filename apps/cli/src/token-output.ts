/** How `wif token` and `wif id-token` print a token: the only things `wif` ever writes to stdout. */
import type { TokenFormat } from "./specs.js";

/** Who a token acts as, kept beside it in the cache so a warm `--format json` can still say. */
export interface TokenPrincipal {
  kind: "service_account" | "federated" | "authorized_user";
  serviceAccount?: string | undefined;
  audience?: string | undefined;
}

/** What the CLI stores in the token cache. */
export interface CachedToken {
  value: string;
  expiresAt: Date;
  type: "access_token" | "id_token";
  principal?: TokenPrincipal | undefined;
}

/** The environment variables `wif exec` and `wif token --format env` set. */
export const TOKEN_ENV_NAMES = ["CLOUDSDK_AUTH_ACCESS_TOKEN", "GOOGLE_OAUTH_ACCESS_TOKEN"] as const;

function principalJson(principal: TokenPrincipal | undefined): Record<string, string> | null {
  if (!principal) return null;
  if (principal.kind === "service_account" && principal.serviceAccount) {
    return { type: "service_account", email: principal.serviceAccount };
  }
  return { type: principal.kind, ...(principal.audience ? { audience: principal.audience } : {}) };
}

function shellQuote(value: string): string {
  return /^[A-Za-z0-9._~+/=-]+$/.test(value) ? value : `'${value.replaceAll("'", "'\\''")}'`;
}

/** The stdout text for `token` in `format` (`env` only for access tokens), newline terminated. */
export function formatToken(token: CachedToken, format: TokenFormat): string {
  if (format === "json") {
    const body =
      token.type === "access_token"
        ? {
            access_token: token.value,
            expires_at: token.expiresAt.toISOString(),
            token_type: "Bearer",
            principal: principalJson(token.principal),
          }
        : {
            id_token: token.value,
            expires_at: token.expiresAt.toISOString(),
            principal: principalJson(token.principal),
          };
    return `${JSON.stringify(body, null, 2)}\n`;
  }
  if (format === "env") {
    return TOKEN_ENV_NAMES.map((name) => `export ${name}=${shellQuote(token.value)}\n`).join("");
  }
  return `${token.value}\n`;
}
