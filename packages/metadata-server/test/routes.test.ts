import { describe, expect, it } from "vitest";
import { rawRequest, serverPerTest, TEST_METADATA, waitFor } from "./helpers.js";

const V1 = "/computeMetadata/v1";
const SA = TEST_METADATA.serviceAccountEmail;

const start = serverPerTest();

describe("detection", () => {
  it("answers GET / with 200 and Metadata-Flavor, with or without the request header (Python's, Java's and Go's pings)", async () => {
    const { url } = await start();
    for (const flavor of [true, false]) {
      const res = await rawRequest(url, "/", { flavor });
      expect(res.status).toBe(200);
      expect(res.headers["metadata-flavor"]).toBe("Google");
      expect(res.body).toBe("computeMetadata/\n");
    }
  });

  it("redirects instance to instance/ (Node's detection) with Metadata-Flavor, keeping the query", async () => {
    const { url } = await start();
    const res = await rawRequest(url, `${V1}/instance?alt=json`);
    expect(res.status).toBe(301);
    expect(res.headers.location).toBe(`${V1}/instance/?alt=json`);
    expect(res.headers["metadata-flavor"]).toBe("Google");
    const followed = await rawRequest(url, `${V1}/instance/`);
    expect(followed.status).toBe(200);
    expect(followed.body).toBe("attributes/\nhostname\nid\nname\nservice-accounts/\nzone\n");
  });

  it("answers /computeMetadata/ with the versions and redirects /computeMetadata/v1", async () => {
    const { url } = await start();
    expect((await rawRequest(url, "/computeMetadata/")).body).toBe("v1/\n");
    expect((await rawRequest(url, V1)).headers.location).toBe(`${V1}/`);
    expect((await rawRequest(url, `${V1}/`)).body).toBe("instance/\nproject/\nuniverse/\n");
  });
});

describe("values", () => {
  it("serves project, universe and instance values as application/text with an ETag", async () => {
    const { url } = await start();
    const cases: [string, string][] = [
      ["project/project-id", "wifkit-test"],
      ["project/numeric-project-id", "123456789012"],
      ["universe/universe-domain", "googleapis.com"],
      ["instance/id", "4520031799277581759"],
      ["instance/name", "test-host"],
      ["instance/hostname", "test-host"],
      ["instance/zone", "projects/123456789012/zones/unknown"],
      ["instance/service-accounts/default/email", SA],
      [`instance/service-accounts/${SA}/email`, SA],
      ["instance/service-accounts/default/aliases", "default\n"],
      ["instance/service-accounts/default/scopes", "https://www.googleapis.com/auth/cloud-platform\n"],
      ["instance/attributes/", ""],
      ["project/attributes/", ""],
    ];
    for (const [path, body] of cases) {
      const res = await rawRequest(url, `${V1}/${path}`);
      expect({ path, status: res.status, body: res.body }).toEqual({ path, status: 200, body });
      expect(res.headers["metadata-flavor"]).toBe("Google");
      expect(res.headers["content-type"]).toBe("application/text");
      expect(res.headers.etag).toMatch(/^[0-9a-f]{16}$/);
    }
  });

  it("honours alt=json on values and rejects an unknown alt with 400", async () => {
    const { url } = await start();
    const json = await rawRequest(url, `${V1}/project/project-id?alt=json`);
    expect(json.body).toBe('"wifkit-test"');
    expect(json.headers["content-type"]).toBe("application/json");
    const scopes = await rawRequest(url, `${V1}/instance/service-accounts/default/scopes?alt=json`);
    expect(JSON.parse(scopes.body)).toEqual(["https://www.googleapis.com/auth/cloud-platform"]);
    const listing = await rawRequest(url, `${V1}/instance/service-accounts/?alt=json`);
    expect(JSON.parse(listing.body)).toEqual([`${SA}/`, "default/"]);
    const bad = await rawRequest(url, `${V1}/project/project-id?alt=xml`);
    expect(bad.status).toBe(400);
    expect(bad.headers["metadata-flavor"]).toBe("Google");
  });

  it("answers 404 with Metadata-Flavor for unknown paths, unset attributes and a value asked as a directory", async () => {
    const { url } = await start();
    for (const path of [
      `${V1}/instance/attributes/cluster-name`,
      `${V1}/project/attributes/enable-oslogin`,
      `${V1}/instance/network-interfaces/0/ip`,
      `${V1}/instance/service-accounts/other@wifkit-test.iam.gserviceaccount.com/token`,
      `${V1}/project/project-id/`,
      "/nothing",
      `${V1}/instance/id/x`,
    ]) {
      const res = await rawRequest(url, path);
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
      expect(res.headers["metadata-flavor"]).toBe("Google");
    }
  });

  it("answers 404 for project-id when no project id is known", async () => {
    const { url } = await start({
      metadata: { ...TEST_METADATA, projectId: undefined, numericProjectId: undefined },
    });
    expect((await rawRequest(url, `${V1}/project/project-id`)).status).toBe(404);
    expect((await rawRequest(url, `${V1}/project/`)).body).toBe("attributes/\n");
  });
});

describe("directories", () => {
  it("lists subdirectories with a trailing slash, the account as default/ and under its email", async () => {
    const { url } = await start();
    expect((await rawRequest(url, `${V1}/instance/service-accounts/`)).body).toBe(`${SA}/\ndefault/\n`);
    expect((await rawRequest(url, `${V1}/instance/service-accounts/default/`)).body).toBe(
      "aliases\nemail\nidentity\nscopes\ntoken\n",
    );
    expect((await rawRequest(url, `${V1}/instance/service-accounts/default`)).status).toBe(301);
  });

  it("recursive JSON camel-cases schema keys and keeps service account emails verbatim (Java reads default.email)", async () => {
    const { url } = await start();
    const accounts = await rawRequest(url, `${V1}/instance/service-accounts/?recursive=true`);
    expect(accounts.headers["content-type"]).toBe("application/json");
    const account = {
      aliases: ["default"],
      email: SA,
      scopes: ["https://www.googleapis.com/auth/cloud-platform"],
    };
    expect(JSON.parse(accounts.body)).toEqual({ [SA]: account, default: account });
    const instance = JSON.parse((await rawRequest(url, `${V1}/instance/?recursive=true`)).body) as Record<
      string,
      unknown
    >;
    expect(Object.keys(instance)).toEqual([
      "attributes",
      "hostname",
      "id",
      "name",
      "serviceAccounts",
      "zone",
    ]);
    expect(instance.attributes).toEqual({});
    expect(Object.keys(instance.serviceAccounts as object)).toEqual([SA, "default"]);
    const project = await rawRequest(url, `${V1}/project/?recursive=true`);
    // The id stays the 12-digit number as written; a 19-digit instance id would not survive a JS number.
    expect(project.body).toBe('{"attributes":{},"numericProjectId":123456789012,"projectId":"wifkit-test"}');
    expect((await rawRequest(url, `${V1}/instance/?recursive=true`)).body).toContain(
      '"id":4520031799277581759,',
    );
  });

  it("recursive alt=text gives key value lines, token routes left out", async () => {
    const { url } = await start();
    const text = await rawRequest(url, `${V1}/instance/service-accounts/default/?recursive=true&alt=text`);
    expect(text.body).toBe(
      `aliases default\nemail ${SA}\nscopes https://www.googleapis.com/auth/cloud-platform\n`,
    );
  });
});

describe("wait_for_change", () => {
  it("answers at once for a stale last_etag, and holds a current one until the server closes", async () => {
    const { url, server } = await start();
    const first = await rawRequest(url, `${V1}/project/project-id`);
    const stale = await rawRequest(url, `${V1}/project/project-id?wait_for_change=true&last_etag=0000`);
    expect(stale.status).toBe(200);
    expect(stale.body).toBe("wifkit-test");
    let answered = false;
    const held = rawRequest(
      url,
      `${V1}/project/project-id?wait_for_change=true&last_etag=${first.headers.etag}&timeout_sec=600`,
    ).then((res) => {
      answered = true;
      return res;
    });
    // Another request is answered meanwhile; the long poll still is not.
    expect((await rawRequest(url, `${V1}/project/project-id`)).status).toBe(200);
    expect(answered).toBe(false);
    await server.close();
    const res = await held;
    expect(res.status).toBe(200);
    expect(res.body).toBe("wifkit-test");
    expect(res.headers.etag).toBe(first.headers.etag);
  });

  it("answers a long poll with the same value when timeout_sec passes", async () => {
    const { url } = await start();
    const res = await rawRequest(url, `${V1}/project/project-id?wait_for_change=true&timeout_sec=1`);
    expect(res.status).toBe(200);
    expect(res.body).toBe("wifkit-test");
  });

  it("refuses more long polls than maxWaiters with 429", async () => {
    const { url, server } = await start({ maxWaiters: 1 });
    const held = rawRequest(url, `${V1}/project/project-id?wait_for_change=true&timeout_sec=600`);
    await waitFor(async () => {
      const res = await rawRequest(url, `${V1}/project/project-id?wait_for_change=true&timeout_sec=600`);
      return res.status === 429;
    });
    await server.close();
    expect((await held).status).toBe(200);
  });
});
