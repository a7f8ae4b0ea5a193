/**
 * The sidecar's request safety, end to end through `startSidecar` (the metadata protocol's own checks are
 * tested in @wifkit/metadata-server): header-count padding, duplicate Host, the admin port's Host check, the
 * Unix socket's mode under any umask, and upstream text quoted back in 503 bodies and logs.
 */
import { chmod, mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  echoedSecretsError,
  rawExchange,
  rawRequest,
  recordSocketExposures,
  startTestSidecar,
  type TestSidecar,
  waitFor,
  widerThan,
} from "./helpers.js";

const TOKEN = "/computeMetadata/v1/instance/service-accounts/default/token";

let running: TestSidecar | undefined;
afterEach(async () => {
  await running?.sidecar.close();
  running = undefined;
});

async function start(options: Parameters<typeof startTestSidecar>[0] = {}): Promise<TestSidecar> {
  running = await startTestSidecar(options);
  await waitFor(() => running!.sidecar.ready);
  return running;
}

function get(path: string, lines: string[], host = "127.0.0.1"): string {
  return `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n${lines.map((line) => `${line}\r\n`).join("")}Connection: close\r\n\r\n`;
}

function port(url: string): number {
  return Number(new URL(url).port);
}

describe("metadata port", () => {
  it("refuses a request padded past the header limit instead of dropping the forwarding header at its end", async () => {
    const { sidecar } = await start();
    const filler = Array.from({ length: 62 }, (_, index) => `X-Filler-${index}: ${index}`);
    for (const last of ["X-Forwarded-For: 203.0.113.9", "Forwarded: for=203.0.113.9"]) {
      const answer = await rawExchange(
        sidecar.port!,
        get(TOKEN, ["Metadata-Flavor: Google", ...filler, last]),
      );
      expect(answer).toMatch(/^HTTP\/1\.1 431 /);
      expect(answer).not.toContain("access-1");
    }
  });

  it("answers 400 to two Host headers", async () => {
    const { sidecar } = await start();
    const answer = await rawExchange(
      sidecar.port!,
      get(TOKEN, ["Metadata-Flavor: Google", "Host: attacker.example"]),
    );
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer).not.toContain("access-1");
  });

  it("binds 127.0.0.1 by default, the admin server too", async () => {
    const { sidecar } = await start();
    expect(sidecar.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(sidecar.adminUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });
});

describe("admin port", () => {
  it("refuses /metrics to a Host name that is not allowed (DNS rebinding); IP literals and allowed names pass", async () => {
    const { sidecar } = await start({ allowedHosts: ["node.internal"] });
    const admin = port(sidecar.adminUrl!);
    for (const host of ["attacker.example", `attacker.example:${admin}`, "metadata.google.internal.evil"]) {
      const answer = await rawExchange(admin, get("/metrics", [], host));
      expect({ host, answer: answer.slice(0, 12) }).toEqual({ host, answer: "HTTP/1.1 403" });
      expect(answer).not.toContain("wif_sidecar_");
    }
    for (const host of [
      "127.0.0.1",
      `10.0.0.5:${admin}`,
      `[::1]:${admin}`,
      "localhost",
      "node.internal",
      `node.internal:${admin}`,
    ]) {
      const answer = await rawExchange(admin, get("/metrics", [], host));
      expect({ host, answer: answer.slice(0, 12) }).toEqual({ host, answer: "HTTP/1.1 200" });
    }
    expect(await rawExchange(admin, get("/metrics", ["Host: attacker.example"]))).toMatch(/^HTTP\/1\.1 400 /);
  });
});

describe("Unix socket", () => {
  it("is never wider than --socket-mode, even for an instant under umask 000, and replaces a stale socket", async () => {
    const dir = await mkdtemp(join(tmpdir(), "wif-sidecar-"));
    // A directory others may enter, like /run or /tmp: only the socket's own mode keeps them out.
    await chmod(dir, 0o755);
    const socketPath = join(dir, "metadata.sock");
    const recorder = recordSocketExposures();
    const previous = process.umask(0);
    try {
      const first = await startTestSidecar({ socketPath, socketMode: 0o600, adminPort: null });
      expect(recorder.exposures.filter((exposure) => widerThan(exposure, 0o600))).toEqual([]);
      expect((await stat(socketPath)).mode & 0o777).toBe(0o600);
      await waitFor(() => first.sidecar.ready);
      const res = await rawRequest({ socketPath }, TOKEN, { headers: { Host: "localhost" } });
      expect(JSON.parse(res.body).access_token).toBe("access-1");
      await expect(startTestSidecar({ socketPath, adminPort: null })).rejects.toThrow(/in use/);
      await first.sidecar.close();
      running = await startTestSidecar({ socketPath, adminPort: null });
      expect((await stat(socketPath)).mode & 0o777).toBe(0o660);
      expect(recorder.exposures.filter((exposure) => widerThan(exposure, 0o660))).toEqual([]);
    } finally {
      process.umask(previous);
      recorder.restore();
      await running?.sidecar.close();
      running = undefined;
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("upstream text quoted back", () => {
  it("never reaches a 503 body or a log line with the secrets upstream echoed, URL-encoded or not", async () => {
    const { sidecar, source, logs } = await start({ keepWarmIntervalMs: 3600_000 });
    const echoed = echoedSecretsError();
    source.failWith = echoed.error;
    const res = await rawRequest(sidecar.url, `${TOKEN}?scopes=s1`);
    expect(res.status).toBe(503);
    expect(res.body).toContain("ERR_WIF_STS_INVALID_SUBJECT_TOKEN");
    expect(res.body).toContain(echoed.shown);
    await waitFor(() => logs.text.includes("could not obtain a token"));
    for (const secret of echoed.secrets) {
      expect(res.body).not.toContain(secret);
      expect(logs.text).not.toContain(secret);
    }
  });
});
