import { X509Certificate } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { chain, SourceUnavailableError, SUBJECT_TOKEN_TYPES } from "@wifkit/core";
import { afterEach, describe, expect, it } from "vitest";
import { cleanup, tempDir } from "../../test/helpers.js";
import { defaultCertificateConfigPath, fromCertificate } from "./certificate.js";

afterEach(cleanup);

const fixtures = new URL("../../test/fixtures/certs/", import.meta.url);
const fixture = (name: string) => readFile(new URL(name, fixtures), "utf8");
const der = async (name: string) => new X509Certificate(await fixture(name)).raw.toString("base64");

/** Writes a certificate config pointing at copies of the fixture workload certificate and key. */
async function certificateConfig(dir: string, name = "certificate_config.json"): Promise<string> {
  await writeFile(join(dir, "workload.pem"), await fixture("workload.pem"));
  await writeFile(join(dir, "workload.key"), await fixture("workload.key"));
  const path = join(dir, name);
  await writeFile(
    path,
    JSON.stringify({
      cert_configs: {
        workload: { cert_path: join(dir, "workload.pem"), key_path: join(dir, "workload.key") },
      },
    }),
  );
  return path;
}

describe("fromCertificate", () => {
  it("returns the leaf certificate as a one-element JSON array and the TLS material", async () => {
    const dir = await tempDir();
    const path = await certificateConfig(dir);
    const token = await fromCertificate({ certificateConfigLocation: path })();
    expect(token.type).toBe(SUBJECT_TOKEN_TYPES.mtls);
    expect(JSON.parse(token.token)).toEqual([await der("workload.pem")]);
    expect(token.tls.cert?.toString()).toBe(await fixture("workload.pem"));
    expect(token.tls.key?.toString()).toBe(await fixture("workload.key"));
  });

  it("prepends the leaf to a trust chain that does not contain it", async () => {
    const dir = await tempDir();
    const path = await certificateConfig(dir);
    const chainPath = join(dir, "chain.pem");
    await writeFile(chainPath, `${await fixture("intermediate.pem")}${await fixture("ca.pem")}`);
    const token = await fromCertificate({ certificateConfigLocation: path, trustChainPath: chainPath })();
    expect(JSON.parse(token.token)).toEqual([
      await der("workload.pem"),
      await der("intermediate.pem"),
      await der("ca.pem"),
    ]);
  });

  it("keeps a trust chain that starts with the leaf as it is", async () => {
    const dir = await tempDir();
    const path = await certificateConfig(dir);
    const chainPath = join(dir, "chain.pem");
    await writeFile(chainPath, `${await fixture("workload.pem")}\n${await fixture("intermediate.pem")}`);
    const token = await fromCertificate({ certificateConfigLocation: path, trustChainPath: chainPath })();
    expect(JSON.parse(token.token)).toEqual([await der("workload.pem"), await der("intermediate.pem")]);
  });

  it("rejects a trust chain with the leaf anywhere but first", async () => {
    const dir = await tempDir();
    const path = await certificateConfig(dir);
    const chainPath = join(dir, "chain.pem");
    await writeFile(chainPath, `${await fixture("intermediate.pem")}${await fixture("workload.pem")}`);
    const error = await fromCertificate({
      certificateConfigLocation: path,
      trustChainPath: chainPath,
    })().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ERR_WIF_CERTIFICATE_CHAIN_INVALID" });
    expect((error as Error).message).toContain("position 1");
  });

  it("finds the config through GOOGLE_API_CERTIFICATE_CONFIG, then CLOUDSDK_CONFIG, then ~/.config/gcloud", async () => {
    const dir = await tempDir();
    const viaEnv = await certificateConfig(dir, "from-env.json");
    const leaf = [await der("workload.pem")];
    const fromEnv = fromCertificate({
      useDefaultCertificateConfig: true,
      env: { GOOGLE_API_CERTIFICATE_CONFIG: viaEnv },
    });
    expect(JSON.parse((await fromEnv()).token)).toEqual(leaf);

    const sdkDir = join(dir, "sdk");
    await mkdir(sdkDir);
    await certificateConfig(sdkDir);
    const fromSdk = fromCertificate({ useDefaultCertificateConfig: true, env: { CLOUDSDK_CONFIG: sdkDir } });
    expect(JSON.parse((await fromSdk()).token)).toEqual(leaf);

    const home = join(dir, "home");
    await mkdir(join(home, ".config", "gcloud"), { recursive: true });
    await certificateConfig(join(home, ".config", "gcloud"));
    const fromHome = fromCertificate({ useDefaultCertificateConfig: true, env: {}, homeDir: home });
    expect(JSON.parse((await fromHome()).token)).toEqual(leaf);
    expect(defaultCertificateConfigPath({}, home)).toBe(
      join(home, ".config", "gcloud", "certificate_config.json"),
    );
  });

  it("says no certificate config was found as a source that does not apply", async () => {
    const dir = await tempDir();
    const supplier = fromCertificate({ useDefaultCertificateConfig: true, env: {}, homeDir: dir });
    const error = await supplier().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SourceUnavailableError);
    expect(error).toMatchObject({ code: "ERR_WIF_CERTIFICATE_CONFIG_NOT_FOUND" });
    expect((error as Error).message).toContain(join(dir, ".config", "gcloud", "certificate_config.json"));
    await expect(
      chain(supplier, async () => ({
        token: "next",
        type: SUBJECT_TOKEN_TYPES.mtls,
        tls: { cert: "", key: "" },
      }))(),
    ).resolves.toMatchObject({ token: "next" });
  });

  it("names the missing workload paths in the config", async () => {
    const dir = await tempDir();
    const path = join(dir, "config.json");
    await writeFile(path, JSON.stringify({ cert_configs: { workload: { cert_path: "/x.pem" } } }));
    const error = await fromCertificate({ certificateConfigLocation: path })().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ERR_WIF_CERTIFICATE_CONFIG_INVALID" });
    expect((error as Error).message).toContain("cert_configs.workload.key_path");
  });

  it("reports unreadable and invalid key material without quoting it", async () => {
    const dir = await tempDir();
    const path = await certificateConfig(dir);
    await writeFile(
      join(dir, "workload.key"),
      "-----BEGIN PRIVATE KEY-----\nnot-a-key-secretish\n-----END PRIVATE KEY-----\n",
    );
    const error = await fromCertificate({ certificateConfigLocation: path })().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ERR_WIF_CERTIFICATE_INVALID" });
    expect((error as Error).message).not.toContain("secretish");

    const missing = join(dir, "other.json");
    await writeFile(
      missing,
      JSON.stringify({ cert_configs: { workload: { cert_path: join(dir, "nope.pem"), key_path: "/k" } } }),
    );
    const unreadable = await fromCertificate({ certificateConfigLocation: missing })().catch(
      (e: unknown) => e,
    );
    expect(unreadable).toMatchObject({ code: "ERR_WIF_CERTIFICATE_UNREADABLE" });
    expect((unreadable as Error).message).toContain("nope.pem");
  });

  it("needs exactly one way to find the certificate config", () => {
    expect(() => fromCertificate({})).toThrow(
      expect.objectContaining({ code: "ERR_WIF_CERTIFICATE_CONFIG_INVALID" }),
    );
    expect(() =>
      fromCertificate({ useDefaultCertificateConfig: true, certificateConfigLocation: "/x" }),
    ).toThrow(/exactly one/);
  });
});
