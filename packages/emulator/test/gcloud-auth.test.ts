/**
 * The installed gcloud (Python google-auth inside) authenticates against the emulator with credential
 * configs written by @wifkit/config's builder (through `emulator.writeCredentialConfig`): what Google's own
 * client sends (Python's AWS subject token serialization, `"delegates": null`, its IMDSv2 session) must be
 * accepted. AWS credentials come from the emulator's IMDS through the config's URLs.
 */
import { execFile } from "node:child_process";
import { existsSync, realpathSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { decodeJwt } from "@wifkit/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CredentialConfigOptions, type Emulator, startEmulator } from "../src/index.js";
import { GCLOUD, GCLOUD_TEST_TIMEOUT_MS, gcloud, gcloudMissing, gcloudOk } from "./gcloud.js";
import { bearer, call } from "./helpers.js";

/**
 * Verifies an ID token the way a Python service does: google-auth's `jwt.decode` with the certificates
 * Google serves at /oauth2/v1/certs, and once more with its pure-Python RSA backend (which reads only
 * X.509 certificates). Runs gcloud's bundled Python and google-auth.
 */
const VERIFY_ID_TOKEN_PY = `
import base64, json, sys, urllib.request
from google.auth import crypt, jwt
from google.auth.crypt import _python_rsa
token, certs_url, audience = sys.argv[1:4]
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
certs = json.loads(opener.open(certs_url).read())
claims = jwt.decode(token, certs=certs, audience=audience)
head, body, signature = token.split(".")
pure = crypt.verify_signature((head + "." + body).encode(), base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)), list(certs.values()), verifier_cls=_python_rsa.RSAVerifier)
print(json.dumps({"claims": claims, "pure": pure}))
`;

function bundledPython(): { python: string; path: string } | undefined {
  if (!GCLOUD) return undefined;
  const sdk = dirname(dirname(realpathSync(GCLOUD)));
  const python = join(sdk, "platform/bundledpythonunix/bin/python3");
  const path = join(sdk, "lib/third_party");
  return existsSync(python) && existsSync(path) ? { python, path } : undefined;
}

function verifyWithPythonGoogleAuth(token: string, certsUrl: string, audience: string) {
  const runtime = bundledPython();
  if (!runtime) throw new Error("gcloud's bundled Python is missing");
  return new Promise<{ claims: Record<string, unknown>; pure: boolean }>((resolve, reject) => {
    execFile(
      runtime.python,
      ["-c", VERIFY_ID_TOKEN_PY, token, certsUrl, audience],
      { env: { PATH: process.env.PATH ?? "", PYTHONPATH: runtime.path }, timeout: 60_000 },
      (error, stdout, stderr) => (error ? reject(new Error(stderr)) : resolve(JSON.parse(stdout))),
    );
  });
}

describe.skipIf(gcloudMissing("gcloud auth"))(
  "gcloud authenticates with wif-written credential configs",
  { timeout: GCLOUD_TEST_TIMEOUT_MS },
  () => {
    let emulator: Emulator;

    beforeAll(async () => {
      emulator = await startEmulator();
    });
    afterAll(() => emulator.stop());

    /** gcloud's environment without the admin token, in its own config directory (tests run at once). */
    async function loggedIn(options: CredentialConfigOptions) {
      const { CLOUDSDK_AUTH_ACCESS_TOKEN: _admin, ...env } = emulator.gcloudEnv({
        configDir: await mkdtemp(join(tmpdir(), "wif-gcloud-")),
      });
      const file = emulator.writeCredentialConfig(options);
      const login = await gcloud(["auth", "login", `--cred-file=${file}`], env);
      expect(login.code, login.stderr).toBe(0);
      return { env, login: login.stderr };
    }

    async function readObject(token: string) {
      const reply = await call(`${emulator.urls.storage}/storage/v1/b/wifkit-bucket/o/hello.txt?alt=media`, {
        headers: bearer(token),
      });
      return reply.text;
    }

    it.concurrent("AWS through IMDSv2 with impersonation: login, print-access-token, read the object", async () => {
      const { env, login } = await loggedIn({ source: "aws", imdsv2: true, serviceAccount: "wifkit-reader" });
      expect(login).toContain(
        "Authenticated with external account credentials for: [wifkit-reader@wifkit-demo.iam.gserviceaccount.com]",
      );
      const token = (await gcloudOk(["auth", "print-access-token"], env)).trim();
      expect(token).toMatch(/^ya29\.c\.emu\./);
      expect(await readObject(token)).toBe("hello from wifkit\n");
      expect(emulator.counters.get("aws.imds.token")).toBeGreaterThan(0);
    });

    it.concurrent("AWS without impersonation: the account is the federated principal", async () => {
      const { env, login } = await loggedIn({ source: "aws" });
      expect(login).toContain(
        "for: [principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/wifkit-pool/subject/arn:aws:sts::111122223333:assumed-role/wifkit-ec2-role/i-0a1b2c3d4e5f60718]",
      );
      const token = (await gcloudOk(["auth", "print-access-token"], env)).trim();
      expect(token).toMatch(/^ya29\.d\.emu\./);
      expect(await readObject(token)).toBe("hello from wifkit\n");
    });

    it.concurrent("Azure IMDS with impersonation: login and print-access-token", async () => {
      const { env } = await loggedIn({ source: "azure", serviceAccount: "wifkit-admin" });
      const token = (await gcloudOk(["auth", "print-access-token"], env)).trim();
      expect(token).toMatch(/^ya29\.c\.emu\./);
      const introspection = await call(`${emulator.urls.sts}/v1/introspect`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ token }).toString(),
      });
      expect(introspection.json()).toMatchObject({
        active: true,
        sub: "wifkit-admin@wifkit-demo.iam.gserviceaccount.com",
      });
    });

    it.concurrent("print-identity-token: refused for an external account; minted through --impersonate-service-account", async () => {
      const { env } = await loggedIn({ source: "aws" });
      // gcloud documents ID tokens only for service accounts, impersonated ones and GCE.
      const plain = await gcloud(["auth", "print-identity-token"], env);
      expect(plain.code).not.toBe(0);
      expect(plain.stderr).toContain("No identity token can be obtained from the current credentials.");
      const withAudience = await gcloud(
        ["auth", "print-identity-token", "--audiences=https://run.example"],
        env,
      );
      expect(withAudience.stderr).toContain(
        "Invalid account type for `--audiences`. Requires valid service account.",
      );

      const admin = emulator.serviceAccountEmail("wifkit-admin");
      const minted = await gcloudOk(
        [
          "auth",
          "print-identity-token",
          `--impersonate-service-account=${admin}`,
          "--audiences=https://run.example",
          "--include-email",
        ],
        env,
      );
      const idToken = minted.trim();
      expect(decodeJwt(idToken).claims).toMatchObject({
        iss: "https://accounts.google.com",
        aud: "https://run.example",
        email: admin,
        email_verified: true,
      });
      const verified = await verifyWithPythonGoogleAuth(
        idToken,
        `${emulator.urls.googleCerts}/oauth2/v1/certs`,
        "https://run.example",
      );
      expect(verified).toMatchObject({ pure: true, claims: { email: admin, aud: "https://run.example" } });
    });
  },
);
