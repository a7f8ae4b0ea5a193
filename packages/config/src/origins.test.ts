import { describe, expect, it } from "vitest";
import { ORIGINS_ERROR_CODES, parseAllowedOrigins } from "./origins.js";
import { parseCredentialConfig } from "./parse.js";

const NO_ENV = {};

function failure(run: () => unknown): { code: unknown; message: string } {
  try {
    run();
  } catch (error) {
    return { code: (error as { code?: unknown }).code, message: (error as Error).message };
  }
  throw new Error("expected an error");
}

describe("parseAllowedOrigins", () => {
  it("reads repeated flags, each a comma or space separated list, normalised and deduplicated", () => {
    expect(
      parseAllowedOrigins(
        [
          "http://127.0.0.1:8080/",
          "HTTP://LOCALHOST:9000, https://sts.example.com:443",
          "http://[::1]:1 http://127.0.0.1:8080",
        ],
        NO_ENV,
      ),
    ).toEqual([
      "http://127.0.0.1:8080",
      "http://localhost:9000",
      "https://sts.example.com",
      "http://[::1]:1",
    ]);
  });

  it("reads WIF_ALLOW_ORIGINS when no flag is given, and a flag replaces it", () => {
    const env = { WIF_ALLOW_ORIGINS: " http://127.0.0.1:1,http://127.0.0.1:2 " };
    expect(parseAllowedOrigins(undefined, env)).toEqual(["http://127.0.0.1:1", "http://127.0.0.1:2"]);
    expect(parseAllowedOrigins([], env)).toEqual(["http://127.0.0.1:1", "http://127.0.0.1:2"]);
    expect(parseAllowedOrigins(["http://127.0.0.1:3"], env)).toEqual(["http://127.0.0.1:3"]);
    expect(parseAllowedOrigins(undefined, { WIF_ALLOW_ORIGINS: " , " })).toEqual([]);
    expect(parseAllowedOrigins(undefined, NO_ENV)).toEqual([]);
  });

  it("takes the first set variable of envNames, and names the flag it was given", () => {
    const env = { WIF_SIDECAR_ALLOW_ORIGINS: "", WIF_ALLOW_ORIGINS: "http://127.0.0.1:5/x" };
    const options = { flag: "--allow-origin", envNames: ["WIF_SIDECAR_ALLOW_ORIGINS", "WIF_ALLOW_ORIGINS"] };
    expect(failure(() => parseAllowedOrigins(undefined, env, options)).message).toBe(
      "WIF_ALLOW_ORIGINS: 'http://127.0.0.1:5/x' is not an origin; give scheme, host and port only, e.g. http://127.0.0.1:8080",
    );
    expect(
      parseAllowedOrigins(undefined, { ...env, WIF_SIDECAR_ALLOW_ORIGINS: "http://127.0.0.1:6" }, options),
    ).toEqual(["http://127.0.0.1:6"]);
  });

  it.each([
    ["127.0.0.1:8080"],
    ["localhost:8080"],
    ["http://127.0.0.1:8080/v1/token"],
    ["http://127.0.0.1:8080?x=1"],
    ["http://127.0.0.1:8080#"],
    ["ftp://127.0.0.1"],
    ["http://127.0.0.1:99999"],
  ])("refuses %s, naming the flag and the entry", (entry) => {
    expect(failure(() => parseAllowedOrigins([`http://127.0.0.1:1,${entry}`], NO_ENV))).toEqual({
      code: ORIGINS_ERROR_CODES.invalidOrigin,
      message: `--allow-origin: '${entry}' is not an origin; give scheme, host and port only, e.g. http://127.0.0.1:8080`,
    });
  });

  it("refuses plain http off this machine, which the endpoint policy would ignore", () => {
    expect(
      failure(() => parseAllowedOrigins(undefined, { WIF_ALLOW_ORIGINS: "http://10.0.0.5:8080" })),
    ).toEqual({
      code: "ERR_WIF_ALLOW_ORIGIN_INVALID",
      message:
        "WIF_ALLOW_ORIGINS: 'http://10.0.0.5:8080' is plain http on a host other than this machine, which is never allowed; use https, or a loopback origin such as http://127.0.0.1:8080",
    });
  });

  it("never repeats an entry holding user info (it may be a password)", () => {
    const { message } = failure(() => parseAllowedOrigins(["https://user:s3cret@proxy.example"], NO_ENV));
    expect(message).not.toContain("s3cret");
    expect(message).toBe(
      "--allow-origin: an origin must not contain a user name or password; give scheme, host and port, e.g. http://127.0.0.1:8080",
    );
  });

  it("returns what the endpoint policy accepts", () => {
    const origins = parseAllowedOrigins(["HTTP://127.0.0.1:41234/"], NO_ENV);
    const config = {
      type: "external_account",
      audience:
        "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/my-pool/providers/my-provider",
      subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
      token_url: "http://127.0.0.1:41234/v1/token",
      credential_source: { file: "/t" },
    };
    expect(parseCredentialConfig(config, { allow: { origins } }).config.token_url).toBe(
      "http://127.0.0.1:41234/v1/token",
    );
  });
});
