import { afterEach, describe, expect, it } from "vitest";
import { rawRequest, startTestSidecar, type TestSidecar, waitFor } from "./helpers.js";

const V1 = "/computeMetadata/v1";
const SA = "app@wifkit-test.iam.gserviceaccount.com";

let running: TestSidecar | undefined;
afterEach(async () => {
  await running?.sidecar.close();
  running = undefined;
});

async function start(options: Parameters<typeof startTestSidecar>[0] = {}): Promise<TestSidecar> {
  running = await startTestSidecar(options);
  return running;
}

describe("metadata routes", () => {
  it("answers GET / with 200 and Metadata-Flavor, without requiring the request header (Python's detection)", async () => {
    const { sidecar } = await start();
    const res = await rawRequest(sidecar.url, "/", { flavor: false });
    expect(res.status).toBe(200);
    expect(res.headers["metadata-flavor"]).toBe("Google");
  });

  it("redirects instance to instance/ (Node's detection) with Metadata-Flavor, keeping the query", async () => {
    const { sidecar } = await start();
    const res = await rawRequest(sidecar.url, `${V1}/instance?alt=json`);
    expect(res.status).toBe(301);
    expect(res.headers.location).toBe(`${V1}/instance/?alt=json`);
    expect(res.headers["metadata-flavor"]).toBe("Google");
    const followed = await rawRequest(sidecar.url, `${V1}/instance/`);
    expect(followed.status).toBe(200);
    expect(followed.body).toBe("id\nname\nservice-accounts/\nzone\n");
  });

  it("serves project, universe and instance values as text with an ETag", async () => {
    const { sidecar } = await start();
    const cases: [string, string][] = [
      ["project/project-id", "wifkit-test"],
      ["project/numeric-project-id", "123456789012"],
      ["universe/universe-domain", "googleapis.com"],
      ["instance/id", "4520031799277581759"],
      ["instance/name", "test-host"],
      ["instance/zone", "projects/123456789012/zones/unknown"],
      ["instance/service-accounts/default/email", SA],
      ["instance/service-accounts/default/aliases", "default\n"],
      ["instance/service-accounts/default/scopes", "https://www.googleapis.com/auth/cloud-platform\n"],
    ];
    for (const [path, body] of cases) {
      const res = await rawRequest(sidecar.url, `${V1}/${path}`);
      expect({ path, status: res.status, body: res.body }).toEqual({ path, status: 200, body });
      expect(res.headers["metadata-flavor"]).toBe("Google");
      expect(res.headers.etag).toMatch(/^[0-9a-f]{16}$/);
    }
  });

  it("lists directories with a trailing slash on subdirectories, default and the email both listed", async () => {
    const { sidecar } = await start();
    const accounts = await rawRequest(sidecar.url, `${V1}/instance/service-accounts/`);
    expect(accounts.body).toBe(`${SA}/\ndefault/\n`);
    const account = await rawRequest(sidecar.url, `${V1}/instance/service-accounts/default/`);
    expect(account.body).toBe("aliases\nemail\nidentity\nscopes\ntoken\n");
    const root = await rawRequest(sidecar.url, `${V1}/`);
    expect(root.body).toBe("instance/\nproject/\nuniverse/\n");
    const redirected = await rawRequest(sidecar.url, `${V1}/instance/service-accounts/default`);
    expect(redirected.status).toBe(301);
  });

  it("answers ?recursive=true with camelCase JSON that leaves out token routes, and alt=text as key value lines", async () => {
    const { sidecar } = await start();
    const res = await rawRequest(sidecar.url, `${V1}/instance/service-accounts/default/?recursive=true`);
    expect(res.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(res.body)).toEqual({
      aliases: ["default"],
      email: SA,
      scopes: ["https://www.googleapis.com/auth/cloud-platform"],
    });
    const project = await rawRequest(sidecar.url, `${V1}/project/?recursive=true`);
    expect(project.body).toBe('{"attributes":{},"numericProjectId":123456789012,"projectId":"wifkit-test"}');
    const text = await rawRequest(
      sidecar.url,
      `${V1}/instance/service-accounts/default/?recursive=true&alt=text`,
    );
    expect(text.body).toBe(
      `aliases default\nemail ${SA}\nscopes https://www.googleapis.com/auth/cloud-platform\n`,
    );
    const instance = await rawRequest(sidecar.url, `${V1}/instance/?recursive=true`);
    expect(Object.keys(JSON.parse(instance.body) as object)).toEqual([
      "id",
      "name",
      "serviceAccounts",
      "zone",
    ]);
  });

  it("honours alt=json on values and rejects an unknown alt with 400", async () => {
    const { sidecar } = await start();
    const json = await rawRequest(sidecar.url, `${V1}/project/project-id?alt=json`);
    expect(json.body).toBe('"wifkit-test"');
    expect(json.headers["content-type"]).toBe("application/json");
    const scopes = await rawRequest(sidecar.url, `${V1}/instance/service-accounts/default/scopes?alt=json`);
    expect(JSON.parse(scopes.body)).toEqual(["https://www.googleapis.com/auth/cloud-platform"]);
    const bad = await rawRequest(sidecar.url, `${V1}/project/project-id?alt=xml`);
    expect(bad.status).toBe(400);
    expect(bad.headers["metadata-flavor"]).toBe("Google");
  });

  it("answers 404 with Metadata-Flavor for unknown paths and for a value asked as a directory", async () => {
    const { sidecar } = await start();
    for (const path of [
      `${V1}/instance/hostname`,
      `${V1}/project/project-id/`,
      "/nothing",
      `${V1}/instance/id/x`,
    ]) {
      const res = await rawRequest(sidecar.url, path);
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
      expect(res.headers["metadata-flavor"]).toBe("Google");
    }
  });

  it("answers 404 for project-id when no project id is known", async () => {
    const { sidecar } = await start({
      metadata: {
        serviceAccountEmail: "default",
        universeDomain: "googleapis.com",
        instanceId: "1",
        instanceName: "h",
        zone: "projects/0/zones/unknown",
      },
    });
    expect((await rawRequest(sidecar.url, `${V1}/project/project-id`)).status).toBe(404);
    expect((await rawRequest(sidecar.url, `${V1}/project/`)).body).toBe("attributes/\n");
  });

  it("wait_for_change returns at once for a stale last_etag and after timeout_sec otherwise", async () => {
    const { sidecar } = await start();
    const first = await rawRequest(sidecar.url, `${V1}/project/project-id`);
    const stale = await rawRequest(
      sidecar.url,
      `${V1}/project/project-id?wait_for_change=true&last_etag=0000`,
    );
    expect(stale.status).toBe(200);
    expect(stale.body).toBe("wifkit-test");
    const started = Date.now();
    const waited = await rawRequest(
      sidecar.url,
      `${V1}/project/project-id?wait_for_change=true&last_etag=${first.headers.etag}&timeout_sec=1`,
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(waited.body).toBe("wifkit-test");
    expect(waited.headers.etag).toBe(first.headers.etag);
  });

  it("answers held long polls when shutting down", async () => {
    const { sidecar } = await start();
    const pending = rawRequest(sidecar.url, `${V1}/project/project-id?wait_for_change=true&timeout_sec=600`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await sidecar.close();
    expect((await pending).status).toBe(200);
  });
});

describe("token route", () => {
  it("serves {access_token, expires_in, token_type} for the default scopes and the email alias", async () => {
    const { sidecar, clock, source } = await start();
    await waitFor(() => sidecar.ready);
    clock.advance(10_500);
    const res = await rawRequest(sidecar.url, `${V1}/instance/service-accounts/default/token`);
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("application/json");
    expect(res.headers["metadata-flavor"]).toBe("Google");
    expect(JSON.parse(res.body)).toEqual({
      access_token: "access-1",
      expires_in: 3589,
      token_type: "Bearer",
    });
    const byEmail = await rawRequest(sidecar.url, `${V1}/instance/service-accounts/${SA}/token`);
    expect(JSON.parse(byEmail.body).access_token).toBe("access-1");
    expect(source.count("access")).toBe(1);
  });

  it("counts expires_in down as the clock moves, with the same token", async () => {
    const { sidecar, clock } = await start();
    await waitFor(() => sidecar.ready);
    const path = `${V1}/instance/service-accounts/default/token`;
    const first = JSON.parse((await rawRequest(sidecar.url, path)).body);
    clock.advance(61_000);
    const later = JSON.parse((await rawRequest(sidecar.url, path)).body);
    expect(later.access_token).toBe(first.access_token);
    expect(first.expires_in - later.expires_in).toBe(61);
  });

  it("keeps one token per scope set: order and duplicates do not matter, commas may be encoded", async () => {
    const { sidecar, source } = await start();
    await waitFor(() => sidecar.ready);
    const path = `${V1}/instance/service-accounts/default/token`;
    const a = JSON.parse((await rawRequest(sidecar.url, `${path}?scopes=s2,s1`)).body);
    const b = JSON.parse((await rawRequest(sidecar.url, `${path}?scopes=s1%2Cs2%2Cs1`)).body);
    const repeated = JSON.parse((await rawRequest(sidecar.url, `${path}?scopes=s1&scopes=s2`)).body);
    expect(repeated.access_token).toBe(a.access_token);
    const c = JSON.parse((await rawRequest(sidecar.url, `${path}?scopes=s1`)).body);
    expect(a.access_token).toBe(b.access_token);
    expect(c.access_token).not.toBe(a.access_token);
    const scopeCalls = source.calls.filter((call) => call.kind === "access").map((call) => call.scopes);
    expect(scopeCalls).toEqual([["https://www.googleapis.com/auth/cloud-platform"], ["s1", "s2"], ["s1"]]);
  });

  it("serves alt=text as key value lines", async () => {
    const { sidecar } = await start();
    await waitFor(() => sidecar.ready);
    const res = await rawRequest(sidecar.url, `${V1}/instance/service-accounts/default/token?alt=text`);
    expect(res.body).toMatch(/^access_token access-1\nexpires_in \d+\ntoken_type Bearer\n$/);
  });

  it("rejects malformed scopes and wait_for_change with 400", async () => {
    const { sidecar } = await start();
    const path = `${V1}/instance/service-accounts/default/token`;
    expect((await rawRequest(sidecar.url, `${path}?scopes=${"x".repeat(600)}`)).status).toBe(400);
    expect((await rawRequest(sidecar.url, `${path}?scopes=a%22b`)).status).toBe(400);
    expect((await rawRequest(sidecar.url, `${path}?wait_for_change=true`)).status).toBe(400);
  });
});

describe("identity route", () => {
  const path = `${V1}/instance/service-accounts/default/identity`;

  it("answers 400 without an audience", async () => {
    const { sidecar } = await start();
    const res = await rawRequest(sidecar.url, path);
    expect(res.status).toBe(400);
    expect(res.body).toContain("audience");
    expect(res.headers["metadata-flavor"]).toBe("Google");
  });

  it("returns the JWT as text; format=full asks for the email claim; tokens are cached per audience and format", async () => {
    const { sidecar, source } = await start();
    const full = await rawRequest(
      sidecar.url,
      `${path}?audience=https://svc.example&format=full&licenses=TRUE`,
    );
    expect(full.status).toBe(200);
    expect(full.body).toBe("id-1");
    expect(full.headers["content-type"]).toBe("application/text");
    const again = await rawRequest(sidecar.url, `${path}?format=full&audience=https%3A%2F%2Fsvc.example`);
    expect(again.body).toBe("id-1");
    const standard = await rawRequest(sidecar.url, `${path}?audience=https://svc.example`);
    expect(standard.body).not.toBe("id-1");
    const idCalls = source.calls.filter((call) => call.kind === "id");
    expect(idCalls.map((call) => [call.audience, call.includeEmail])).toEqual([
      ["https://svc.example", true],
      ["https://svc.example", false],
    ]);
  });

  it("rejects an unknown format", async () => {
    const { sidecar } = await start();
    expect((await rawRequest(sidecar.url, `${path}?audience=a&format=compact`)).status).toBe(400);
  });

  it("refreshes a cached ID token in the background near its expiry and never serves it expired", async () => {
    const { sidecar, clock, source } = await start();
    const first = await rawRequest(sidecar.url, `${path}?audience=aud`);
    expect(first.body).toBe("id-1");
    clock.advance(3600_000 - 30_000);
    // Still valid: served at once, while the credential's cache fetches the next one in the background.
    const near = await rawRequest(sidecar.url, `${path}?audience=aud`);
    expect(near.body).toBe("id-1");
    await waitFor(async () => (await rawRequest(sidecar.url, `${path}?audience=aud`)).body === "id-2");
    expect(source.count("id")).toBe(2);
    // Past the expiry of the second one with upstream held: the request waits for the third.
    source.hold();
    clock.advance(3600_000);
    const pending = rawRequest(sidecar.url, `${path}?audience=aud`);
    await waitFor(() => source.count("id") === 3);
    source.release();
    const third = await pending;
    expect(third.status).toBe(200);
    expect(third.body).toBe("id-3");
    expect(third.headers.etag).toMatch(/^[0-9a-f]{16}$/);
  });
});
