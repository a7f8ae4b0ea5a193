import { chmod, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createMetadataServer, type MetadataServer, metadataEnv } from "../src/index.js";
import {
  rawRequest,
  recordSocketExposures,
  TEST_METADATA,
  TestClock,
  TestSource,
  widerThan,
} from "./helpers.js";

const TOKEN = "/computeMetadata/v1/instance/service-accounts/default/token";

let dir: string;
const servers: MetadataServer[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "wif-metadata-socket-"));
});
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
  await rm(dir, { recursive: true, force: true });
});

function server(): MetadataServer {
  const created = createMetadataServer({
    credentials: new TestSource(new TestClock()),
    metadata: TEST_METADATA,
  });
  servers.push(created);
  return created;
}

describe("Unix socket", () => {
  it("serves on the socket with the requested mode, and removes it on close", async () => {
    const path = join(dir, "metadata.sock");
    const metadata = server();
    const address = await metadata.listen({ path, mode: 0o600 });
    expect(address).toEqual({ url: `unix:${path}`, metadataHost: undefined, port: undefined, path });
    expect(metadataEnv(address)).toEqual({});
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const res = await rawRequest({ socketPath: path }, TOKEN, { headers: { Host: "localhost" } });
    expect(JSON.parse(res.body).access_token).toBe("access-1");
    await metadata.close();
    expect(await readdir(dir)).toEqual([]);
  });

  it("is never wider than its mode, even for an instant under umask 000", async () => {
    // A directory others may enter, like /run or /tmp: only the socket's own mode keeps them out.
    await chmod(dir, 0o755);
    const recorder = recordSocketExposures();
    const previous = process.umask(0);
    try {
      const path = join(dir, "metadata.sock");
      await server().listen({ path, mode: 0o600 });
      expect(recorder.exposures).toHaveLength(1);
      expect(recorder.exposures.filter((exposure) => widerThan(exposure, 0o600))).toEqual([]);
      expect((await stat(path)).mode & 0o777).toBe(0o600);
    } finally {
      process.umask(previous);
      recorder.restore();
    }
  });

  it("replaces a stale socket file, and refuses a live socket or a path that is not a socket", async () => {
    const path = join(dir, "metadata.sock");
    const first = server();
    await first.listen({ path });
    await expect(server().listen({ path })).rejects.toMatchObject({ code: "ERR_WIF_METADATA_SOCKET_IN_USE" });
    // A socket file nobody answers on (its server died without removing it).
    await first.httpServer.close();
    const second = server();
    await second.listen({ path, mode: 0o660 });
    expect((await stat(path)).mode & 0o777).toBe(0o660);
    const file = join(dir, "plain-file");
    await writeFile(file, "x");
    await expect(server().listen({ path: file })).rejects.toMatchObject({
      code: "ERR_WIF_METADATA_SOCKET_PATH_TAKEN",
    });
  });

  it("refuses a second listen", async () => {
    const metadata = server();
    await metadata.listen();
    await expect(metadata.listen()).rejects.toMatchObject({ code: "ERR_WIF_METADATA_SERVER_NOT_IDLE" });
  });
});
