import { describe, expect, it } from "vitest";
import { azureOptionsFromImdsUrl } from "./imds-url.js";

describe("azureOptionsFromImdsUrl", () => {
  it("reads the URL gcloud writes for --azure, leaving the standard IMDS address to detection", () => {
    expect(
      azureOptionsFromImdsUrl(
        "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=api://my-app",
      ),
    ).toEqual({ resource: "api://my-app" });
  });

  it("keeps a non-standard endpoint and user-assigned identity selectors", () => {
    expect(
      azureOptionsFromImdsUrl(
        "http://127.0.0.1:4000/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fapp.example.com&client_id=c1",
      ),
    ).toEqual({
      resource: "https://app.example.com",
      imdsEndpoint: "http://127.0.0.1:4000/metadata/identity/oauth2/token",
      clientId: "c1",
    });
  });

  it("ignores URLs that are not an Azure IMDS token URL", () => {
    expect(
      azureOptionsFromImdsUrl("https://token.actions.githubusercontent.com/?audience=x"),
    ).toBeUndefined();
    expect(azureOptionsFromImdsUrl("http://169.254.169.254/metadata/identity/oauth2/token")).toBeUndefined();
    expect(azureOptionsFromImdsUrl("not a url")).toBeUndefined();
  });
});
