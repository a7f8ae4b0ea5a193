/**
 * The baseline of bench/startup.mjs: the same access token as `wif token`, through google-auth-library's
 * ExternalAccountClient, in a fresh process (it has no cache between processes).
 */
import { readFileSync } from "node:fs";
import { ExternalAccountClient } from "google-auth-library";

const client = ExternalAccountClient.fromJSON(JSON.parse(readFileSync(process.argv[2], "utf8")));
const { token } = await client.getAccessToken();
process.stdout.write(`${token}\n`);
