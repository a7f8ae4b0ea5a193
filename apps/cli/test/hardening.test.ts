/**
 * `wif` against the findings of the hardening review: a universe the caller did not approve, a cache entry
 * served to another subject token, reads without bound, and cache directories that are not directories.
 */
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  closeSync,
  constants,
  openSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { type Emulator, startEmulator } from "@wifkit/emulator";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { runProcess, runWif, scratch, WIF } from "./helpers.js";

let emulator: Emulator;
const dir = scratch();
let env: Record<string, string>;

function write(name: string, content: string | object): string {
  const path = join(dir.dir, name);
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content, null, 2));
  return path;
}

beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => {
  await emulator.stop();
  dir.cleanup();
});
beforeEach((context) => {
  env = {
    WIF_CACHE_DIR: join(dir.dir, "cache", context.task.id),
    WIF_ALLOW_ORIGINS: emulator.allowOrigins.join(","),
  };
  emulator.counters.reset();
});

/** A Kubernetes service account token for `serviceAccount`, as the emulator's OIDC provider accepts it. */
function mint(serviceAccount: string): string {
  return emulator.mintKubernetesToken({
    serviceAccount,
    audience: emulator.providerAudience("oidc-provider"),
  });
}

async function subjectOf(accessToken: string): Promise<unknown> {
  const response = await fetch(`${emulator.urls.sts}/v1/introspect`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token: accessToken }),
  });
  return ((await response.json()) as { sub?: unknown }).sub;
}

describe("the token cache is bound to the subject token", () => {
  it("answers job B's token, not job A's, when B writes its OIDC token where A's was", async () => {
    const tokenPath = join(dir.dir, "shared-oidc-token");
    const config = write("file.json", emulator.credentialConfig({ source: "file", file: tokenPath }));
    const token = () => runWif(["token", "--config", config], { env });

    const subjectA = mint("tenant-a");
    writeFileSync(tokenPath, subjectA);
    const a = await token();
    expect(a).toMatchObject({ code: 0, stderr: "" });
    expect(await subjectOf(a.stdout.trim())).toBe("system:serviceaccount:default:tenant-a");
    expect((await token()).stdout).toBe(a.stdout); // warm: the same subject token, the same Google token
    expect(emulator.counters.get("sts.token")).toBe(1);

    const subjectB = mint("tenant-b");
    writeFileSync(tokenPath, subjectB);
    const b = await token();
    expect(b).toMatchObject({ code: 0, stderr: "" });
    expect(b.stdout).not.toBe(a.stdout);
    expect(await subjectOf(b.stdout.trim())).toBe("system:serviceaccount:default:tenant-b");
    expect(emulator.counters.get("sts.token")).toBe(2);
    // Both Google tokens are cached; neither subject token is kept anywhere in the cache.
    const cacheDir = env.WIF_CACHE_DIR as string;
    const stored = readdirSync(cacheDir).map((name) => readFileSync(join(cacheDir, name), "utf8"));
    expect(stored).toHaveLength(2);
    for (const text of stored) {
      for (const subject of [subjectA, subjectB]) {
        expect(text).not.toContain(subject);
        expect(text).not.toContain(subject.split(".")[1]);
      }
    }
  });

  it("binds a URL source's entry to the subject token the URL gave", async () => {
    const tokenServer = await import("node:http").then(({ createServer }) => {
      let current = mint("tenant-a");
      const server = createServer((_request, response) => response.end(current));
      return new Promise<{ url: string; set: (t: string) => void; close: () => void }>((resolve) =>
        server.listen(0, "127.0.0.1", () => {
          const { port } = server.address() as { port: number };
          resolve({
            url: `http://127.0.0.1:${port}/token`,
            set: (token) => {
              current = token;
            },
            close: () => server.close(),
          });
        }),
      );
    });
    try {
      const config = write("url.json", emulator.credentialConfig({ source: "url", url: tokenServer.url }));
      const token = () => runWif(["token", "--config", config], { env });
      const a = await token();
      expect(a).toMatchObject({ code: 0, stderr: "" });
      expect((await token()).stdout).toBe(a.stdout);
      expect(emulator.counters.get("sts.token")).toBe(1);
      tokenServer.set(mint("tenant-b"));
      const b = await token();
      expect(await subjectOf(b.stdout.trim())).toBe("system:serviceaccount:default:tenant-b");
      expect(emulator.counters.get("sts.token")).toBe(2);
    } finally {
      tokenServer.close();
    }
  });

  it("binds an executable source's entry to the subject token the program printed", async () => {
    const tokenPath = join(dir.dir, "executable-token");
    const script = write(
      "print-token.sh",
      `#!/bin/sh\nprintf '{"version":1,"success":true,"token_type":"urn:ietf:params:oauth:token-type:jwt","id_token":"%s","expiration_time":%s}' "$(cat ${tokenPath})" $(( $(date +%s) + 3600 ))\n`,
    );
    chmodSync(script, 0o755);
    const config = write("executable.json", {
      ...emulator.credentialConfig({ source: "file", file: tokenPath }),
      credential_source: { executable: { command: script, timeout_millis: 5000 } },
    });
    const token = () =>
      runWif(["token", "--config", config], {
        env: { ...env, GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES: "1" },
      });
    writeFileSync(tokenPath, mint("tenant-a"));
    const a = await token();
    expect(a).toMatchObject({ code: 0, stderr: "" });
    expect((await token()).stdout).toBe(a.stdout);
    expect(emulator.counters.get("sts.token")).toBe(1);
    writeFileSync(tokenPath, mint("tenant-b"));
    const b = await token();
    expect(await subjectOf(b.stdout.trim())).toBe("system:serviceaccount:default:tenant-b");
    expect(emulator.counters.get("sts.token")).toBe(2);
  });

  it("reads a configuration given as a pipe once (--config <(cat config))", async () => {
    const tokenPath = write("pipe-token", mint("tenant-a"));
    const config = write("pipe.json", emulator.credentialConfig({ source: "file", file: tokenPath }));
    const result = await runProcess(
      "bash",
      ["-c", 'exec "$0" "$1" token --config <(cat "$2")', process.execPath, WIF, config],
      { env },
    );
    expect(result).toMatchObject({ code: 0, stderr: "" });
    expect(result.stdout).toMatch(/^\S+\n$/);
    const validate = await runProcess(
      "bash",
      ["-c", 'exec "$0" "$1" validate --offline --config <(cat "$2")', process.execPath, WIF, config],
      { env },
    );
    expect(validate.code).toBe(0);
  });
});

describe("universe_domain", () => {
  const attacker = () =>
    write("attacker-universe.json", {
      ...emulator.credentialConfig({ source: "file", file: join(dir.dir, "absent-token") }),
      universe_domain: "attacker.example",
      token_url: "https://sts.attacker.example/v1/token",
    });

  it("is refused unless the caller approves it, by validate and token alike, with no request", async () => {
    const config = attacker();
    for (const args of [
      ["validate", "--config", config],
      ["token", "--config", config],
    ]) {
      const result = await runWif(args, { env });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/universe_domain: "attacker.example" is not an approved universe/);
      expect(result.stderr).toContain("--universe-domain attacker.example");
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
    expect(emulator.counters.all()).toEqual({});
  });

  it("is accepted with --universe-domain or WIF_UNIVERSE_DOMAIN", async () => {
    const config = attacker();
    const flag = await runWif(
      ["validate", "--offline", "--config", config, "--universe-domain", "attacker.example"],
      {
        env,
      },
    );
    expect(flag.code).toBe(0);
    const variable = await runWif(["validate", "--offline", "--config", config], {
      env: { ...env, WIF_UNIVERSE_DOMAIN: "attacker.example" },
    });
    expect(variable.code).toBe(0);
  });
});

describe("reads are bounded", () => {
  it("refuses /dev/zero as the configuration at once, and as the token file behind a symlink", async () => {
    const validate = await runWif(["validate", "--config", "/dev/zero"], { env, timeoutMs: 10_000 });
    expect(validate).toMatchObject({ code: 1, signal: null });
    expect(validate.stderr).toBe(
      "error [ERR_WIF_CONFIG_UNREADABLE]: Credential configuration /dev/zero is a character device, not a file; point at the JSON file.\n",
    );
    const link = join(dir.dir, "zero-token");
    symlinkSync("/dev/zero", link);
    const config = write("zero.json", emulator.credentialConfig({ source: "file", file: link }));
    const token = await runWif(["token", "--config", config], { env, timeoutMs: 10_000 });
    expect(token).toMatchObject({ code: 1, signal: null, stdout: "" });
    expect(token.stderr).toMatch(
      /^error \[ERR_WIF_SUBJECT_TOKEN_FILE_UNREADABLE\]: .*resolves to \/dev\/zero/,
    );
    expect(emulator.counters.all()).toEqual({});
  });

  it("gives up on a configuration pipe whose writer stays open (real time: the 5 s bound)", async () => {
    const fifo = join(dir.dir, "config.fifo");
    execFileSync("mkfifo", [fifo]);
    const writer = openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK);
    try {
      const result = await runWif(["validate", "--config", fifo], { env, timeoutMs: 15_000 });
      expect(result).toMatchObject({ code: 1, signal: null });
      expect(result.stderr).toBe(
        `error [ERR_WIF_CONFIG_UNREADABLE]: Credential configuration ${fifo} is a pipe that did not deliver the whole file within 5 s.\n`,
      );
    } finally {
      closeSync(writer);
    }
  });
});

describe("the cache directory", () => {
  it.each([
    ["under /proc", "/proc/self/wif-cache"],
    ["below a file", "/etc/hostname/wif-cache"],
  ])("fails fast %s, before any request", async (_what, cacheDir) => {
    const tokenPath = write("cache-dir-token", mint("tenant-a"));
    const config = write("cache-dir.json", emulator.credentialConfig({ source: "file", file: tokenPath }));
    const result = await runWif(["token", "--config", config, "--cache-dir", cacheDir], {
      env,
      timeoutMs: 10_000,
    });
    const { code, stderr } = result;
    expect(code).toBe(1);
    expect(stderr).toMatch(
      /^error \[ERR_WIF_CACHE_DIR_UNUSABLE\]: The token cache directory .* cannot be used: /,
    );
    expect(stderr).toContain("--no-cache");
    expect(emulator.counters.all()).toEqual({});
  });
});
