import { SUBJECT_TOKEN_TYPES } from "@wifkit/core";
import { AuthClient as AuthClient10, GoogleAuth } from "google-auth-library";
import { AuthClient as AuthClient9 } from "google-auth-library-9";
import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fakeGoogle, sendJson, serve } from "../test/helpers.js";
import { createExternalAccountCredentials } from "./credentials.js";
import { toAuthClient } from "./google-auth.js";

afterEach(cleanup);

const AUDIENCE =
  "//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/pool/providers/oidc";

async function setup(
  accept: (authorization: string | undefined, hit: number) => boolean,
  quotaProjectId: string | null = "billing",
) {
  const google = await fakeGoogle();
  const credentials = createExternalAccountCredentials({
    audience: AUDIENCE,
    supplier: async () => ({ token: "subject", type: SUBJECT_TOKEN_TYPES.jwt }),
    tokenUrl: `${google.origin}/v1/token`,
    quotaProjectId: quotaProjectId ?? undefined,
  });
  const api = await serve((req, res, hit) =>
    accept(req.headers.authorization, hit)
      ? sendJson(res, 200, { name: "object.txt", userProject: req.headers["x-goog-user-project"] })
      : sendJson(res, 401, { error: { code: 401, message: "Invalid Credentials" } }),
  );
  return { google, credentials, api };
}

/** Both majors' request() and getRequestHeaders(), through one narrow type. */
interface AnyMajorClient {
  request(options: {
    url: string;
    method?: string;
    data?: unknown;
    headers?: unknown;
  }): Promise<{ data: unknown }>;
  getRequestHeaders(): Promise<unknown>;
  getAccessToken(): Promise<unknown>;
  quotaProjectId?: string | undefined;
}

describe.each([
  ["9", AuthClient9],
  ["10", AuthClient10],
] as const)("toAuthClient over google-auth-library %s's AuthClient", (_major, AuthClient) => {
  const wrap = (credentials: Parameters<typeof toAuthClient>[0]) =>
    toAuthClient(credentials, { AuthClient }) as unknown as AnyMajorClient;

  it("is an instance of that AuthClient whose requests carry the credential's token and quota project", async () => {
    const { credentials, api } = await setup((authorization) => authorization === "Bearer federated-1");
    const client = wrap(credentials);
    expect(client).toBeInstanceOf(AuthClient);
    expect(client.quotaProjectId).toBe("billing");
    const response = await client.request({ url: `${api.origin}/o/object.txt` });
    expect(response.data).toEqual({ name: "object.txt", userProject: "billing" });
    expect(await client.getAccessToken()).toEqual({ token: "federated-1", res: null });
  });

  it("hands out headers every major reads: a Headers whose entries are also plain properties", async () => {
    const { credentials } = await setup(() => true);
    const headers = await wrap(credentials).getRequestHeaders();
    // google-auth-library 10 and 11 read a Headers...
    expect(headers).toBeInstanceOf(Headers);
    expect((headers as Headers).get("authorization")).toBe("Bearer federated-1");
    expect((headers as Headers).get("x-goog-user-project")).toBe("billing");
    // ...9 merges with Object.assign, which copies own enumerable properties only.
    expect(Object.assign({}, headers)).toEqual({
      Authorization: "Bearer federated-1",
      "x-goog-user-project": "billing",
    });
  });

  it.each([
    ["a plain object", (h: Record<string, string>) => h],
    ["a Headers", (h: Record<string, string>) => new Headers(h)],
  ])(
    "keeps the caller's headers given as %s, setting the token and quota project over them",
    async (_shape, shape) => {
      const { credentials, api } = await setup(() => true);
      const callerHeaders = {
        "X-Custom": "kept",
        Authorization: "Bearer stale",
        "x-goog-user-project": "caller",
      };
      await wrap(credentials).request({
        url: `${api.origin}/o/object.txt`,
        method: "POST",
        data: { name: "object.txt" },
        headers: shape(callerHeaders),
      });
      const [sent] = api.requests;
      // gaxios 6 (google-auth-library 9) sets the JSON content type on a plain object, never on a Headers.
      expect(sent?.headers["content-type"]).toBe("application/json");
      expect(sent?.body).toBe('{"name":"object.txt"}');
      expect(sent?.headers["x-custom"]).toBe("kept");
      expect(sent?.headers.authorization).toBe("Bearer federated-1");
      // google-auth-library's clients let their own quota project win.
      expect(sent?.headers["x-goog-user-project"]).toBe("billing");
    },
  );

  it("leaves a caller's quota project alone when the credential has none", async () => {
    const { credentials, api } = await setup(() => true, null);
    await wrap(credentials).request({
      url: `${api.origin}/o/object.txt`,
      headers: { "x-goog-user-project": "caller" },
    });
    expect(api.requests[0]?.headers["x-goog-user-project"]).toBe("caller");
  });

  it("retries a 401 once with a fresh token", async () => {
    const { credentials, api, google } = await setup(
      (authorization) => authorization === "Bearer federated-2",
    );
    const response = await wrap(credentials).request({ url: `${api.origin}/o/object.txt` });
    expect(response.data).toMatchObject({ name: "object.txt" });
    expect(api.requests.map((r) => r.headers.authorization)).toEqual([
      "Bearer federated-1",
      "Bearer federated-2",
    ]);
    expect(google.calls("/v1/token")).toHaveLength(2);
  });
});

describe("toAuthClient with google-auth-library 10's own types", () => {
  it("works where the libraries take it: GoogleAuth({ authClient }), request() and fetch()", async () => {
    const { credentials, api } = await setup((authorization) => authorization === "Bearer federated-1");
    const client = toAuthClient(credentials, { AuthClient: AuthClient10 });
    const headers = await client.getRequestHeaders();
    expect(headers.get("authorization")).toBe("Bearer federated-1");
    const auth = new GoogleAuth({ authClient: client });
    const response = await auth.request<{ name: string }>({ url: `${api.origin}/o/object.txt` });
    expect(response.data.name).toBe("object.txt");
    const fetched = await client.fetch<{ name: string }>(`${api.origin}/o/object.txt`);
    expect(fetched.data.name).toBe("object.txt");
    expect((await auth.getAccessToken()) as string | null | undefined).toBe("federated-1");
  });
});
