// The other side of the proxy benchmark, in its own process so its CPU is not the client's: two TLS fronts
// on 127.0.0.1 (the tooling/fixtures/tls server certificate, valid for sts.googleapis.com,
// iamcredentials.googleapis.com and 127.0.0.1) that pass each connection through to the emulator's STS and
// IAM Credentials, and tooling/test-proxy.ts, the CONNECT proxy the tests use, routing the two Google hosts
// to the fronts. Its options are one JSON argument ({ sts, iamCredentials }: the emulator's ports). Speaks over
// IPC: sends { ready } with the proxy URL and the fronts' origins, answers { connects } with the number of
// tunnels made so far, and exits when the parent disconnects.
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));
const fixture = (name) => readFileSync(join(root, "tooling/fixtures/tls", name), "utf8");
const ports = JSON.parse(process.argv[2]);

/** tooling/test-proxy.ts, compiled with the esbuild that tsup brings (Node 20 does not run TypeScript). */
async function loadTestProxy() {
  const esbuild = createRequire(createRequire(join(root, "package.json")).resolve("tsup"))("esbuild");
  const { code } = await esbuild.transform(readFileSync(join(root, "tooling/test-proxy.ts"), "utf8"), {
    loader: "ts",
    format: "esm",
  });
  const dir = mkdtempSync(join(tmpdir(), "wif-bench-proxy-"));
  const file = join(dir, "test-proxy.mjs");
  writeFileSync(file, code);
  try {
    return await import(pathToFileURL(file).href);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function front(port) {
  const server = tls.createServer({ cert: fixture("server.pem"), key: fixture("server.key") }, (socket) => {
    const upstream = net.connect(port, "127.0.0.1");
    socket.pipe(upstream).pipe(socket);
    upstream.on("error", () => socket.destroy());
    socket.on("error", () => upstream.destroy());
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { server, port: server.address().port };
}

const { startProxy } = await loadTestProxy();
const sts = await front(ports.sts);
const iam = await front(ports.iamCredentials);
const proxy = await startProxy({
  routes: { "sts.googleapis.com:443": sts.port, "iamcredentials.googleapis.com:443": iam.port },
});
process.send({
  type: "ready",
  pid: process.pid,
  proxy: proxy.url,
  sts: `https://127.0.0.1:${sts.port}`,
  iamCredentials: `https://127.0.0.1:${iam.port}`,
});
process.on("message", (message) => {
  if (message?.type === "connects") {
    process.send({ id: message.id, connects: proxy.connects.filter((c) => c.tunnelled).length });
  }
});
process.on("disconnect", async () => {
  await proxy.close();
  sts.server.close();
  iam.server.close();
  process.exit(0);
});
