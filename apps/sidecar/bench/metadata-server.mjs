// The candidate: @wifkit/metadata-server (the sidecar's metadata port) over a fixed credential that hands out
// the same ~1 KB access token for an hour, so every request takes the cached-token route. Prints its port and
// the token on stdout. The sidecar's own metrics hooks are plain `{ value }` counters, as here.
import { createMetadataServer } from "@wifkit/metadata-server";

const TOKEN_LENGTH = Number(process.env.BENCH_TOKEN_LENGTH ?? 960);
// A Google access token is `ya29.` and base64url characters; any fixed string of that shape will do.
const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const value = `ya29.${Array.from({ length: TOKEN_LENGTH - 5 }, (_, index) => alphabet[(index * 7919) % 64]).join("")}`;
const expiresAt = new Date(Date.now() + 3600_000);
const token = { value, expiresAt, type: "access_token" };
const credentials = {
  getAccessToken: async () => token,
  getIdToken: async () => ({ ...token, type: "id_token" }),
};

const server = createMetadataServer({ credentials });
const address = await server.listen({ host: "127.0.0.1", port: 0 });
process.stdout.write(`${JSON.stringify({ port: address.port, token: value })}\n`);
process.on("SIGTERM", () => server.close().then(() => process.exit(0)));
