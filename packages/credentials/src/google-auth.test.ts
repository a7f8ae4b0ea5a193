import { SUBJECT_TOKEN_TYPES } from "@wifkit/core";
import { AuthClient, GoogleAuth } from "google-auth-library";
import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fakeGoogle, sendJson, serve } from "../test/helpers.js";
import { createExternalAccountCredentials } from "./credentials.js";
import { toAuthClient } from "./google-auth.js";

afterEach(cleanup);

const AUDIENCE =
  "//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/pool/providers/oidc";

async function setup(accept: (authorization: string | undefined, hit: number) => boolean) {
  const google = await fakeGoogle();
  const credentials = createExternalAccountCredentials({
    audience: AUDIENCE,
    supplier: async () => ({ token: "subject", type: SUBJECT_TOKEN_TYPES.jwt }),
    tokenUrl: `${google.origin}/v1/token`,
    quotaProjectId: "billing",
  });
  const api = await serve((req, res, hit) =>
    accept(req.headers.authorization, hit)
      ? sendJson(res, 200, { name: "object.txt", userProject: req.headers["x-goog-user-project"] })
      : sendJson(res, 401, { error: { code: 401, message: "Invalid Credentials" } }),
  );
  return { google, credentials, api };
}

describe("toAuthClient", () => {
  it("is a google-auth-library AuthClient whose requests carry the credential's token and quota project", async () => {
    const { credentials, api } = await setup((authorization) => authorization === "Bearer federated-1");
    const client = toAuthClient(credentials, { AuthClient });
    expect(client).toBeInstanceOf(AuthClient);
    expect(client.quotaProjectId).toBe("billing");

    const response = await client.request<{ name: string; userProject: string }>({
      url: `${api.origin}/o/object.txt`,
    });
    expect(response.data).toEqual({ name: "object.txt", userProject: "billing" });
    expect(await client.getAccessToken()).toEqual({ token: "federated-1", res: null });
    const headers = await client.getRequestHeaders();
    expect(headers.get("authorization")).toBe("Bearer federated-1");
    expect(headers.get("x-goog-user-project")).toBe("billing");
  });

  it("works where the libraries take it: GoogleAuth({ authClient })", async () => {
    const { credentials, api } = await setup((authorization) => authorization === "Bearer federated-1");
    const auth = new GoogleAuth({ authClient: toAuthClient(credentials, { AuthClient }) });
    const response = await auth.request<{ name: string }>({ url: `${api.origin}/o/object.txt` });
    expect(response.data.name).toBe("object.txt");
    expect((await auth.getAccessToken()) as string | null | undefined).toBe("federated-1");
  });

  it("retries a 401 once with a fresh token", async () => {
    const { credentials, api, google } = await setup(
      (authorization) => authorization === "Bearer federated-2",
    );
    const client = toAuthClient(credentials, { AuthClient });
    const response = await client.request<{ name: string }>({ url: `${api.origin}/o/object.txt` });
    expect(response.data.name).toBe("object.txt");
    expect(api.requests.map((r) => r.headers.authorization)).toEqual([
      "Bearer federated-1",
      "Bearer federated-2",
    ]);
    expect(google.calls("/v1/token")).toHaveLength(2);
  });
});
