import { describe, expect, it } from "vitest";
import { parseImpersonationUrl } from "./url.js";

describe("parseImpersonationUrl", () => {
  it("splits the URL gcloud writes into base URL and service account", () => {
    expect(
      parseImpersonationUrl(
        "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/reader@my-project.iam.gserviceaccount.com:generateAccessToken",
      ),
    ).toEqual({
      baseUrl: "https://iamcredentials.googleapis.com",
      serviceAccount: "reader@my-project.iam.gserviceaccount.com",
    });
  });

  it("keeps a loopback origin, a path prefix and decodes a percent-encoded email", () => {
    expect(
      parseImpersonationUrl(
        "http://127.0.0.1:41234/iam/v1/projects/-/serviceAccounts/reader%40p.iam.gserviceaccount.com:generateAccessToken",
      ),
    ).toEqual({ baseUrl: "http://127.0.0.1:41234/iam", serviceAccount: "reader@p.iam.gserviceaccount.com" });
  });

  it.each([
    [
      "a generateIdToken URL",
      "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/a@b.com:generateIdToken",
    ],
    [
      "no service account",
      "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/:generateAccessToken",
    ],
    [
      "not an email",
      "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/reader:generateAccessToken",
    ],
    [
      "another scheme",
      "ftp://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/a@b.com:generateAccessToken",
    ],
    ["not a URL", "iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/a@b.com:generateAccessToken"],
  ])("rejects %s naming service_account_impersonation_url", (_name, url) => {
    let caught: unknown;
    try {
      parseImpersonationUrl(url);
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ code: "ERR_WIF_INVALID_OPTION" });
    expect((caught as Error).message).toContain("service_account_impersonation_url");
  });
});
