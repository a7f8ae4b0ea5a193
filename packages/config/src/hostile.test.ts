/**
 * What a hostile or broken configuration cannot do: choose its own universe (and with it which hosts count
 * as Google), read kernel files as subject tokens, or make the loader read without bound. The shared corpus
 * in tooling/hostile runs these through every surface; these are the loader's and parser's own cases.
 */
import { symlink, truncate } from "node:fs/promises";
import type { WifError } from "@wifkit/core";
import { describe, expect, it } from "vitest";
import { ConfigError } from "./errors.js";
import { loadCredentialConfig } from "./load.js";
import { parseCredentialConfig } from "./parse.js";
import { scratchDirectory } from "./test-helpers.js";
import { validatedCredentialConfig } from "./validated.js";

const AUDIENCE =
  "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/my-pool/providers/my-provider";
const SA = "app@my-project.iam.gserviceaccount.com";
const valid = {
  type: "external_account",
  audience: AUDIENCE,
  subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
  token_url: "https://sts.googleapis.com/v1/token",
  credential_source: { file: "/var/run/token" },
};

/** A configuration on `universe` whose endpoints are that universe's own. */
function onUniverse(universe: string, sts = `sts.${universe}`) {
  return {
    ...valid,
    universe_domain: universe,
    token_url: `https://${sts}/v1/token`,
    service_account_impersonation_url: `https://iamcredentials.${universe}/v1/projects/-/serviceAccounts/${SA}:generateAccessToken`,
  };
}

function issuesOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).issues.map((issue) => `${issue.path}: ${issue.message}`);
  }
  return [];
}

const scratch = scratchDirectory("wifkit-config-hostile-");
const { file } = scratch;

async function loadError(options: Parameters<typeof loadCredentialConfig>[0]): Promise<WifError> {
  return loadCredentialConfig(options).then(
    () => {
      throw new Error("expected loadCredentialConfig to fail");
    },
    (error: WifError) => error,
  );
}

describe("universe_domain is the caller's to approve, never the file's", () => {
  it("refuses a universe nobody approved, naming the field and the three ways to approve it", () => {
    const issues = issuesOf(() => parseCredentialConfig(onUniverse("attacker.example")));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(/^universe_domain: "attacker.example" is not an approved universe/);
    expect(issues[0]).toContain("--universe-domain attacker.example");
    expect(issues[0]).toContain("WIF_UNIVERSE_DOMAIN=attacker.example");
    expect(issues[0]).toContain("allow.universeDomains");
  });

  it("accepts it once approved, with sts, sts.mtls and regional STS hosts of that universe", () => {
    const allow = { universeDomains: ["Sovereign.Example"] };
    for (const sts of [
      "sts.sovereign.example",
      "sts.mtls.sovereign.example",
      "sts.europe-west3.rep.sovereign.example",
    ]) {
      expect(issuesOf(() => parseCredentialConfig(onUniverse("sovereign.example", sts), { allow }))).toEqual(
        [],
      );
    }
    // Approval of a universe is not approval of other hosts.
    expect(
      issuesOf(() =>
        parseCredentialConfig(onUniverse("sovereign.example", "sts.attacker.example"), { allow }),
      ),
    ).toEqual([
      expect.stringMatching(/^token_url: https:\/\/sts.attacker.example is not a Google STS endpoint/),
    ]);
  });

  it("keeps googleapis.com endpoints for googleapis.com, whatever else is approved", () => {
    const allow = { universeDomains: ["sovereign.example"] };
    expect(issuesOf(() => parseCredentialConfig(onUniverse("googleapis.com"), { allow }))).toEqual([]);
    expect(
      issuesOf(() =>
        parseCredentialConfig({ ...valid, token_url: "https://sts.sovereign.example/v1/token" }, { allow }),
      ),
    ).toEqual([expect.stringMatching(/^token_url: /)]);
  });

  it("is approved by the environment's WIF_UNIVERSE_DOMAIN when the loader reads it, not by allow.origins", async () => {
    const path = await file("universe.json", JSON.stringify(onUniverse("sovereign.example")));
    const refused = await loadError({ path, env: {}, allow: { origins: ["https://sts.sovereign.example"] } });
    expect(refused.message).toContain("universe_domain:");
    const loaded = await loadCredentialConfig({
      path,
      env: { WIF_UNIVERSE_DOMAIN: "other.example, sovereign.example" },
    });
    expect(loaded.config.universe_domain).toBe("sovereign.example");
    // An explicit allow.universeDomains replaces the environment's.
    const replaced = await loadError({
      path,
      env: { WIF_UNIVERSE_DOMAIN: "sovereign.example" },
      allow: { universeDomains: [] },
    });
    expect(replaced.message).toContain("universe_domain:");
  });

  it("parses without reading process.env unless given an environment", () => {
    process.env.WIF_UNIVERSE_DOMAIN = "sovereign.example";
    try {
      expect(issuesOf(() => parseCredentialConfig(onUniverse("sovereign.example")))).toHaveLength(1);
      expect(
        issuesOf(() => parseCredentialConfig(onUniverse("sovereign.example"), { env: process.env })),
      ).toEqual([]);
    } finally {
      delete process.env.WIF_UNIVERSE_DOMAIN;
    }
  });

  it("applies to authorized user configurations too", () => {
    const issues = issuesOf(() =>
      parseCredentialConfig({
        type: "external_account_authorized_user",
        refresh_token: "refresh",
        client_id: "id",
        client_secret: "secret",
        universe_domain: "attacker.example",
        token_url: "https://sts.attacker.example/v1/oauthtoken",
      }),
    );
    expect(issues).toEqual([
      expect.stringMatching(/^universe_domain: "attacker.example" is not an approved universe/),
    ]);
  });
});

describe("credential_source.file", () => {
  it.each([
    "/proc/self/environ",
    "/proc/1/cmdline",
    "/sys/kernel/notes",
    "/dev/zero",
    "/dev/stdin",
    "/var/run/../../proc/self/environ",
  ])("refuses the kernel or device file %s", (path) => {
    const issues = issuesOf(() => parseCredentialConfig({ ...valid, credential_source: { file: path } }));
    expect(issues).toEqual([
      expect.stringMatching(/^credential_source.file: \/(proc|sys|dev)\/.* is a device or kernel file/),
    ]);
  });

  it("accepts ordinary and relative paths", () => {
    for (const path of ["/var/run/secrets/tokens/gcp", "token.jwt", "/devices/token", "/process/token"]) {
      expect(issuesOf(() => parseCredentialConfig({ ...valid, credential_source: { file: path } }))).toEqual(
        [],
      );
    }
  });
});

describe("a validated configuration", () => {
  it("is recognised, frozen, and cannot be imitated by JSON", async () => {
    const path = await file("branded.json", JSON.stringify(valid));
    const loaded = await loadCredentialConfig({ path, env: {} });
    expect(validatedCredentialConfig(loaded)).toBe(loaded);
    expect(validatedCredentialConfig(loaded.config)).toBe(loaded);
    expect(Object.isFrozen((loaded.config as { credential_source: object }).credential_source)).toBe(true);
    const lookalike = JSON.parse(JSON.stringify({ config: valid, warnings: [], path }));
    expect(validatedCredentialConfig(lookalike)).toBeUndefined();
    expect(validatedCredentialConfig(lookalike.config)).toBeUndefined();
    const parsed = parseCredentialConfig(valid);
    expect(validatedCredentialConfig(parsed.config)).toBe(parsed);
  });
});

describe("loadCredentialConfig reads within bounds", () => {
  it("refuses devices without reading them", async () => {
    for (const path of ["/dev/zero", "/dev/urandom"]) {
      const error = await loadError({ path });
      expect(error.code).toBe("ERR_WIF_CONFIG_UNREADABLE");
      expect(error.message).toBe(
        `Credential configuration ${path} is a character device, not a file; point at the JSON file.`,
      );
    }
  });

  it("refuses a symlink to a device, a symlink loop and a huge sparse file", async () => {
    const zero = scratch.path("zero.json");
    await symlink("/dev/zero", zero);
    expect((await loadError({ path: zero })).code).toBe("ERR_WIF_CONFIG_UNREADABLE");
    const loop = scratch.path("loop.json");
    await symlink(loop, loop);
    expect((await loadError({ path: loop })).message).toContain("symbolic link loop");
    const sparse = await file("sparse.json", "");
    await truncate(sparse, 4 * 1024 * 1024 * 1024);
    expect((await loadError({ path: sparse })).code).toBe("ERR_WIF_CONFIG_TOO_LARGE");
  });

  it("checks the cap on what an injected reader returns too", async () => {
    const error = await loadError({
      path: "/x.json",
      readFile: async () => Buffer.alloc(2 * 1024 * 1024, 32),
    });
    expect(error.code).toBe("ERR_WIF_CONFIG_TOO_LARGE");
  });

  it("reads through the readFile seam exactly once", async () => {
    const reads: string[] = [];
    const loaded = await loadCredentialConfig({
      path: "/etc/wif/config.json",
      env: {},
      readFile: async (path) => {
        reads.push(path);
        return `\uFEFF${JSON.stringify(valid)}`;
      },
    });
    expect(reads).toEqual(["/etc/wif/config.json"]);
    expect(loaded.config).toEqual(valid);
  });

  it("refuses JSON nested deeper than a configuration can be, valid or not, without exhausting the stack", async () => {
    for (const text of [
      `{"type":"external_account","x":${"[".repeat(100_000)}${"]".repeat(100_000)}}`,
      "[".repeat(500_000),
      `{"a":${'{"a":'.repeat(200_000)}`,
    ]) {
      const error = await loadError({ path: "/deep.json", readFile: async () => text });
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toMatch(/nested deeper than 64 levels/);
    }
  });
});

describe("duplicate keys", () => {
  it("are refused with their path, whichever order they come in", async () => {
    const google = '"token_url": "https://sts.googleapis.com/v1/token"';
    const evil = '"token_url": "https://evil.example/v1/token"';
    for (const pair of [`${google}, ${evil}`, `${evil}, ${google}`]) {
      const text = `{"type": "external_account", ${pair}, "audience": "${AUDIENCE}", "subject_token_type": "urn:ietf:params:oauth:token-type:jwt", "credential_source": {"file": "/t"}}`;
      const error = await loadError({ path: "/dup.json", env: {}, readFile: async () => text });
      expect((error as ConfigError).issues).toEqual([
        { path: "token_url", message: "appears more than once; keep one" },
      ]);
    }
    const nested = JSON.stringify(valid).replace(
      '"file":"/var/run/token"',
      '"file":"/a","format":{"type":"text"},"file":"/b"',
    );
    const error = await loadError({ path: "/dup.json", env: {}, readFile: async () => nested });
    expect((error as ConfigError).issues[0]?.path).toBe("credential_source.file");
  });

  it("are told apart from equal keys in different objects and equal values", async () => {
    const text = JSON.stringify({
      ...valid,
      credential_source: { file: "/t", format: { type: "text" } },
      x: { type: "a" },
    });
    await expect(
      loadCredentialConfig({ path: "/ok.json", env: {}, readFile: async () => text }),
    ).resolves.toBeDefined();
  });
});

describe("a URL source on a metadata server", () => {
  it.each([
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/role",
    "http://169.254.169.254/computeMetadata/v1/instance/service-accounts/default/token",
    "http://169.254.169.254/metadata/identity/oauth2/token/../../../latest/meta-data/",
    "http://2852039166/latest/meta-data/",
    "http://169.254.170.2/v2/credentials/task",
    "http://[fd00:ec2::254]/latest/api/token",
    "https://169.254.169.254/latest/meta-data/",
  ])("must be Azure's identity token path, not %s", (url) => {
    const issues = issuesOf(() => parseCredentialConfig({ ...valid, credential_source: { url } }));
    expect(issues).toEqual([
      expect.stringMatching(/^credential_source.url: .* is a metadata path that serves credentials/),
    ]);
  });

  it("accepts Azure's identity token path (what gcloud --azure writes)", () => {
    const url =
      "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=api://app";
    expect(
      issuesOf(() =>
        parseCredentialConfig({ ...valid, credential_source: { url, headers: { Metadata: "True" } } }),
      ),
    ).toEqual([]);
  });
});
