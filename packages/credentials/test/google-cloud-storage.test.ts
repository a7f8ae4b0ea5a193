/**
 * `toAuthClient` with the Google client libraries users install, against the emulator: the real
 * `@google-cloud/storage` 7 (google-auth-library 9 inside, what npm installs on Node 20) reads the guarded
 * object, and so do google-auth-library 9's and 10's own `GoogleAuth` (10 is what the newest libraries are
 * built on; storage 8 and google-auth-library 11 require Node 22 and cannot be installed here). Requests pass
 * through a loopback recorder so each test sees the headers the emulator received.
 */
import { Storage } from "@google-cloud/storage";
import { type Emulator, startEmulator } from "@wifkit/emulator";
import { AuthClient as AuthClient10, GoogleAuth as GoogleAuth10 } from "google-auth-library";
import { AuthClient as AuthClient9, GoogleAuth as GoogleAuth9 } from "google-auth-library-9";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type Credentials, fromConfig, toAuthClient } from "../src/index.js";
import { BUCKET_OBJECT, emulatorClock, OBJECT_CONTENT } from "./emulator-helpers.js";
import { cleanup, type RecordedRequest, serve } from "./helpers.js";

const QUOTA_PROJECT = "wifkit-billing";
const PROJECT_ID = "wifkit-demo";

let emulator: Emulator;
let recorder: { origin: string; requests: RecordedRequest[] };
let credentials: Credentials;

beforeAll(async () => {
  emulator = await startEmulator();
});
beforeEach(async () => {
  recorder = await recordInFrontOf(emulator.urls.storage);
  credentials = await fromConfig(
    emulator.credentialConfig({ source: "file", serviceAccount: "wifkit-reader" }),
    {
      allow: { origins: emulator.allowOrigins },
      clock: emulatorClock(emulator),
      quotaProjectId: QUOTA_PROJECT,
    },
  );
  emulator.counters.reset();
});
afterEach(cleanup);
afterAll(() => emulator.stop());

/** A pass-through to the emulator's storage on loopback that records what each request carried. */
function recordInFrontOf(target: string) {
  return serve(async (request, response) => {
    const { host: _, connection: __, ...headers } = request.headers;
    const upstream = await fetch(`${target}${request.path}`, {
      method: request.method,
      headers: Object.entries(headers).map(([name, value]) => [name, String(value)]),
    });
    response.writeHead(upstream.status, { "content-type": upstream.headers.get("content-type") ?? "" });
    response.end(Buffer.from(await upstream.arrayBuffer()));
  });
}

/** What the emulator's storage received: the read, with the credential's token and quota project. */
function expectOneAuthorizedRead(): void {
  expect(recorder.requests.map((r) => r.pathname)).toEqual([new URL(BUCKET_OBJECT, "http://x").pathname]);
  const [read] = recorder.requests;
  const token = credentials.peekAccessToken();
  expect(token?.value).toBeTruthy();
  expect(read?.headers.authorization).toBe(`Bearer ${token?.value}`);
  expect(read?.headers["x-goog-user-project"]).toBe(QUOTA_PROJECT);
  expect(emulator.counters.get("storage.get")).toBe(1);
  expect(emulator.counters.get("sts.token")).toBe(1);
}

function storage7(authClient?: AuthClient9) {
  return new Storage({
    apiEndpoint: recorder.origin,
    projectId: PROJECT_ID,
    ...(authClient ? { authClient, useAuthWithCustomEndpoint: true } : {}),
  });
}

function wrap<C extends typeof AuthClient9 | typeof AuthClient10>(AuthClient: C) {
  return toAuthClient(credentials, { AuthClient });
}

async function download(storage: Storage): Promise<string> {
  const [content] = await storage.bucket("wifkit-bucket").file("hello.txt").download();
  return content.toString("utf8");
}

describe("@google-cloud/storage 7 (google-auth-library 9 inside)", () => {
  it("is refused without credentials: the emulator does not serve the object anonymously", async () => {
    await expect(download(storage7())).rejects.toMatchObject({ code: 401 });
    expect(recorder.requests).toHaveLength(1);
    expect(recorder.requests[0]?.headers.authorization).toBeUndefined();
  });

  it("reads the guarded object with google-auth-library 9's AuthClient", async () => {
    const authClient = toAuthClient(credentials, { AuthClient: AuthClient9 });
    expect(authClient).toBeInstanceOf(AuthClient9);
    expect(await download(storage7(authClient))).toBe(OBJECT_CONTENT);
    expectOneAuthorizedRead();
  });

  it("reads it too with google-auth-library 10's AuthClient (JavaScript over a mixed install)", async () => {
    // What `npm install @google-cloud/storage google-auth-library` gives on Node 20: storage 7.22 with its own
    // google-auth-library 9, and 10 at the top. TypeScript refuses the pairing (TS2322); at run time it works.
    const authClient = toAuthClient(credentials, { AuthClient: AuthClient10 }) as unknown as AuthClient9;
    expect(await download(storage7(authClient))).toBe(OBJECT_CONTENT);
    expectOneAuthorizedRead();
  });
});

// The mixed pairs are JavaScript over two installed majors: TypeScript refuses them, the run time does not.
describe.each([
  ["9's GoogleAuth, given 9's AuthClient", () => new GoogleAuth9({ authClient: wrap(AuthClient9) })],
  ["10's GoogleAuth, given 10's AuthClient", () => new GoogleAuth10({ authClient: wrap(AuthClient10) })],
  [
    "9's GoogleAuth, given 10's AuthClient",
    () => new GoogleAuth9({ authClient: wrap(AuthClient10) as never }),
  ],
  [
    "10's GoogleAuth, given 9's AuthClient",
    () => new GoogleAuth10({ authClient: wrap(AuthClient9) as never }),
  ],
] as const)("google-auth-library %s", (_pair, googleAuth) => {
  it("reads the guarded object with request()", async () => {
    const response = await googleAuth().request<string>({
      url: `${recorder.origin}${BUCKET_OBJECT}`,
      responseType: "text",
    });
    expect(response.data).toBe(OBJECT_CONTENT);
    expectOneAuthorizedRead();
  });

  it("authorizes a request it sends itself: authorizeRequest() keeps the caller's headers", async () => {
    const authorized = await googleAuth().authorizeRequest({ headers: { "x-custom": "kept" } });
    // google-auth-library 9's GoogleAuth leaves a plain object, 10's a Headers.
    const headers = new Headers(authorized.headers as ConstructorParameters<typeof Headers>[0]);
    expect(Object.fromEntries(headers)).toEqual({
      authorization: `Bearer ${credentials.peekAccessToken()?.value}`,
      "x-custom": "kept",
      "x-goog-user-project": QUOTA_PROJECT,
    });
  });
});
