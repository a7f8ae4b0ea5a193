/**
 * The deployment files cannot be run here (no container engine or cluster), so this reads them the way
 * Docker and Kubernetes would and checks what a working deployment depends on: a non-root Node 20 image whose
 * entry point and health check match the probes, sidecar env vars the sidecar accepts, credential configs
 * that parse, apps pointed at the sidecar's address, and manifests naming the image the release workflow
 * pushes for this version. The Dockerfile's build steps run outside Docker: its `pnpm deploy` into a
 * temporary folder, whose entry point then serves and whose health check passes.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { parseCredentialConfig } from "@wifkit/config";
import { startEmulator } from "@wifkit/emulator";
import { afterEach, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { OPTIONS, parseCommandLine, type SidecarConfig } from "../src/config.js";
import { DEFAULT_ADMIN_PORT, DEFAULT_PORT } from "../src/sidecar.js";
import { rawRequest, startTestSidecar, type TestSidecar, waitFor } from "./helpers.js";

const deployDir = join(import.meta.dirname, "../deploy");
const repoRoot = join(import.meta.dirname, "../../..");
const sidecarManifest = JSON.parse(readFileSync(join(deployDir, "../package.json"), "utf8")) as {
  version: string;
  dependencies: Record<string, string>;
};
/** What the release workflow pushes for this version (scripts/sidecar-image-tag.mjs keeps the manifests on it). */
const IMAGE = `ghcr.io/wifkit/wif-sidecar:${sidecarManifest.version}`;

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string } };
}
interface Probe {
  exec?: { command: string[] };
  httpGet?: { path: string; port: string | number };
}
interface Container {
  name: string;
  image: string;
  restartPolicy?: string;
  env?: EnvVar[];
  ports?: { name?: string; containerPort: number; hostPort?: number }[];
  startupProbe?: Probe;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  securityContext?: Record<string, unknown>;
  volumeMounts?: { name: string; mountPath: string }[];
}
interface PodSpec {
  initContainers?: Container[];
  containers: Container[];
  volumes?: { name: string; configMap?: { name: string } }[];
}
interface Manifest {
  kind: string;
  metadata: { name: string };
  data?: Record<string, string>;
  spec: { template?: { spec: PodSpec } } & Partial<PodSpec>;
}

function manifests(file: string): Manifest[] {
  const documents = parseAllDocuments(readFileSync(join(deployDir, "kubernetes", file), "utf8"));
  for (const document of documents) expect(document.errors, file).toEqual([]);
  return documents.map((document) => document.toJS() as Manifest);
}

function one(list: Manifest[], kind: string): Manifest {
  const found = list.filter((manifest) => manifest.kind === kind);
  expect(found, kind).toHaveLength(1);
  return found[0]!;
}

/** The container's environment as the kubelet resolves it: `$(VAR)` expands variables defined earlier. */
function resolveEnv(container: Container, fields: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const variable of container.env ?? []) {
    const fieldPath = variable.valueFrom?.fieldRef?.fieldPath;
    const raw = fieldPath !== undefined ? fields[fieldPath] : variable.value;
    expect(raw, `${container.name} ${variable.name}`).toBeTypeOf("string");
    env[variable.name] = raw!.replace(/\$\(([A-Z0-9_]+)\)/g, (reference, name: string) => {
      // Kubernetes leaves a reference to an undefined (or later) variable as is: that would be a bug here.
      expect(env[name], `${variable.name} refers to ${name} before it is defined`).toBeDefined();
      return env[name] ?? reference;
    });
  }
  return env;
}

const FIELDS = { "status.hostIP": "10.0.0.5", "spec.nodeName": "node-1" };
const KNOWN_ENV = new Set(OPTIONS.flatMap((option) => option.env));

function sidecarConfig(container: Container): SidecarConfig {
  const env = resolveEnv(container, FIELDS);
  for (const name of Object.keys(env).filter((key) => key.startsWith("WIF_SIDECAR_"))) {
    expect(KNOWN_ENV.has(name), `${name} is an option of the sidecar`).toBe(true);
  }
  const command = parseCommandLine([], env);
  if (command.kind !== "run") throw new Error("expected a run command");
  return command.config;
}

function dockerfile(): { lines: string[]; final: string[] } {
  const text = readFileSync(join(deployDir, "Dockerfile"), "utf8");
  const lines = text
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
  const lastFrom = lines.map((line) => line.startsWith("FROM ")).lastIndexOf(true);
  return { lines, final: lines.slice(lastFrom) };
}

const ENTRYPOINT = ["node", "/app/dist/main.js"];

function checkSidecarContainer(
  container: Container,
  config: SidecarConfig,
  volumes: PodSpec["volumes"],
  maps: Manifest[],
) {
  expect(container.image).toBe(IMAGE);
  // The probes run the image's own entry point with --probe, or ask the admin port over HTTP.
  expect(container.startupProbe?.exec?.command).toEqual([...ENTRYPOINT, "--probe"]);
  expect(container.readinessProbe?.httpGet?.path).toBe("/readyz");
  expect(container.livenessProbe?.httpGet?.path).toBe("/healthz");
  const adminPort = container.ports?.find((port) => port.name === container.readinessProbe?.httpGet?.port);
  expect(adminPort?.containerPort).toBe(config.adminPort);
  expect(config.adminHost).toBe("0.0.0.0"); // reachable by the kubelet and Prometheus
  expect(container.securityContext).toMatchObject({
    runAsNonRoot: true,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
  });
  // The credential config path is a key of the ConfigMap mounted at its directory, and that config parses.
  const mount = container.volumeMounts?.find((candidate) =>
    config.credentialConfigPath.startsWith(`${candidate.mountPath}/`),
  );
  expect(mount, "a volume holds the credential config").toBeDefined();
  const mapName = volumes?.find((volume) => volume.name === mount!.name)?.configMap?.name;
  const map = maps.find((manifest) => manifest.kind === "ConfigMap" && manifest.metadata.name === mapName);
  const key = config.credentialConfigPath.slice(mount!.mountPath.length + 1);
  const json = map?.data?.[key];
  expect(json, `ConfigMap ${mapName} has ${key}`).toBeTypeOf("string");
  expect(parseCredentialConfig(JSON.parse(json!)).config.type).toBe("external_account");
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

let running: TestSidecar | undefined;
afterEach(async () => {
  await running?.sidecar.close();
  running = undefined;
});

describe("Dockerfile", () => {
  it("runs the built sidecar on a Node 20 base as a non-root user, with a --probe health check", () => {
    const { lines, final } = dockerfile();
    expect(lines.find((line) => line.startsWith("ARG NODE_IMAGE="))).toMatch(
      /^ARG NODE_IMAGE=node:20-alpine$/,
    );
    expect(final[0]).toMatch(/^FROM \$\{NODE_IMAGE\}$/);
    const user = final.find((line) => line.startsWith("USER "));
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^USER (root|0)(:|$)/);
    expect(final.find((line) => line.startsWith("ENTRYPOINT "))).toBe(
      `ENTRYPOINT ${JSON.stringify(ENTRYPOINT).replace(/,/g, ", ")}`,
    );
    expect(final.find((line) => line.startsWith("HEALTHCHECK "))).toContain(
      `CMD ${JSON.stringify([...ENTRYPOINT, "--probe"]).replace(/,/g, ", ")}`,
    );
    expect(final.find((line) => line.startsWith("EXPOSE "))).toBe(
      `EXPOSE ${DEFAULT_PORT} ${DEFAULT_ADMIN_PORT}`,
    );
    // The image is built from the workspace: install with the lockfile, build dependencies, deploy prod only.
    expect(lines).toContain("RUN pnpm install --frozen-lockfile");
    expect(lines).toContain('RUN pnpm --filter "@wifkit/sidecar..." run build');
    expect(lines).toContain("RUN pnpm --filter @wifkit/sidecar --prod deploy /out");
    expect(JSON.parse(readFileSync(join(deployDir, "../package.json"), "utf8")).files).toEqual(["dist"]);
  });
});

describe("Dockerfile build steps, outside Docker", () => {
  it("pnpm deploy gives a folder whose entry point serves a token and passes the health check", {
    timeout: 60_000,
  }, async () => {
    const { lines, final } = dockerfile();
    const deploy = lines.find((line) => line.startsWith("RUN pnpm ") && line.includes(" deploy "));
    const copied = final.find((line) => line.startsWith("COPY --from=build "))?.split(" ");
    expect(deploy).toMatch(/ \/out$/);
    expect(copied?.slice(2)).toEqual(["/out", "/app"]);
    const scratch = mkdtempSync(join(tmpdir(), "wif-sidecar-deploy-"));
    const emulator = await startEmulator();
    const out = join(scratch, "out");
    // The image's /app, here: the deploy step's own command line, aimed at a temporary folder.
    const args = deploy!
      .replace(/^RUN pnpm /, "")
      .replace(/ \/out$/, ` ${out}`)
      .split(" ")
      .map((arg) => arg.replaceAll('"', ""));
    let server: ChildProcess | undefined;
    try {
      await promisify(execFile)("pnpm", args, { cwd: repoRoot, env: { ...process.env, CI: "1" } });
      // Production dependencies only: no test tool, no emulator, and the wifkit packages as they publish.
      for (const name of Object.keys(sidecarManifest.dependencies)) {
        expect(existsSync(join(out, "node_modules", name, "package.json")), name).toBe(true);
      }
      for (const devOnly of ["@wifkit/emulator", "google-auth-library", "yaml", "vitest"]) {
        expect(existsSync(join(out, "node_modules", devOnly)), devOnly).toBe(false);
      }
      expect(existsSync(join(out, "node_modules/@wifkit/credentials/src"))).toBe(false);

      // The image's entry point and health check, with /app standing for the deployed folder.
      const atOut = (arg: string) => arg.replace(/^\/app\//, `${out}/`);
      const healthcheck = JSON.parse(
        final.find((line) => line.startsWith("HEALTHCHECK "))!.replace(/^.* CMD /, ""),
      ) as string[];
      const configPath = emulator.writeCredentialConfig({ source: "url", serviceAccount: "wifkit-reader" });
      const env = {
        PATH: process.env.PATH ?? "",
        WIF_SIDECAR_CREDENTIAL_CONFIG: configPath,
        WIF_SIDECAR_PORT: "0",
        WIF_SIDECAR_ADMIN_PORT: String(await freePort()),
        WIF_ALLOW_ORIGINS: emulator.allowOrigins.join(","),
      };
      const probe = () =>
        promisify(execFile)(process.execPath, healthcheck.slice(1).map(atOut), { env }).then(
          ({ stdout }) => stdout,
          () => undefined,
        );
      expect(await probe()).toBeUndefined(); // nothing listens yet: the health check fails
      server = spawn(process.execPath, ENTRYPOINT.slice(1).map(atOut), {
        env,
        stdio: ["ignore", "pipe", "pipe"],
      });
      const url = await new Promise<string>((resolve, reject) => {
        createInterface({ input: server!.stdout! }).on("line", (line) => {
          const entry = JSON.parse(line) as { msg?: string; url?: string };
          if (entry.msg === "wif-sidecar listening" && entry.url) resolve(entry.url);
        });
        server!.on("exit", (code) => reject(new Error(`the deployed sidecar exited with ${code}`)));
      });
      await waitFor(async () => (await probe()) === "ready\n", 10_000);
      const token = await rawRequest(url, "/computeMetadata/v1/instance/service-accounts/default/token");
      expect(token.status).toBe(200);
      expect(JSON.parse(token.body)).toMatchObject({ token_type: "Bearer" });
    } finally {
      server?.kill("SIGKILL");
      await emulator.stop();
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});

describe("Kubernetes: sidecar container in the application's pod", () => {
  const list = manifests("sidecar.yaml");
  const deployment = one(list, "Deployment");
  const pod = deployment.spec.template!.spec;
  const sidecar = pod.initContainers?.find((container) => container.name === "wif-sidecar");

  it("runs the sidecar as a native sidecar (init container that keeps running) with valid settings", () => {
    expect(sidecar?.restartPolicy).toBe("Always");
    const config = sidecarConfig(sidecar!);
    expect(config.host).toBe("127.0.0.1");
    checkSidecarContainer(sidecar!, config, pod.volumes, list);
  });

  it("points every app container at the sidecar and sets no credentials file", () => {
    const config = sidecarConfig(sidecar!);
    for (const app of pod.containers) {
      const env = resolveEnv(app, FIELDS);
      expect(env.GCE_METADATA_HOST).toBe(`127.0.0.1:${config.port}`);
      expect(env.GCE_METADATA_IP).toBe(`127.0.0.1:${config.port}`);
      expect(env.GOOGLE_APPLICATION_CREDENTIALS).toBeUndefined();
    }
  });
});

describe("Kubernetes: one sidecar per node (DaemonSet)", () => {
  const list = manifests("daemonset.yaml");
  const daemonSet = one(list, "DaemonSet");
  const pod = daemonSet.spec.template!.spec;
  const sidecar = pod.containers.find((container) => container.name === "wif-sidecar")!;

  it("publishes the metadata port on the node and accepts the node IP as Host", async () => {
    const config = sidecarConfig(sidecar);
    checkSidecarContainer(sidecar, config, pod.volumes, list);
    expect(config.host).toBe("0.0.0.0");
    const metadataPort = sidecar.ports?.find((port) => port.containerPort === config.port);
    expect(metadataPort?.hostPort).toBe(config.port);
    expect(config.allowedHosts).toContain(FIELDS["status.hostIP"]);
    // The sidecar really accepts what a client on the node sends (and still refuses other names).
    running = await startTestSidecar({ allowedHosts: config.allowedHosts });
    const { sidecar: server } = running;
    await waitFor(() => server.ready);
    const path = "/computeMetadata/v1/instance/service-accounts/default/token";
    expect(
      (await rawRequest(server.url, path, { headers: { Host: `${FIELDS["status.hostIP"]}:${server.port}` } }))
        .status,
    ).toBe(200);
    expect((await rawRequest(server.url, path, { headers: { Host: "10.0.0.6" } })).status).toBe(403);
  });

  it("points the example client at its node's sidecar", () => {
    const client = one(list, "Pod");
    const config = sidecarConfig(sidecar);
    const env = resolveEnv(client.spec.containers![0]!, FIELDS);
    expect(env.GCE_METADATA_HOST).toBe(`${FIELDS["status.hostIP"]}:${config.port}`);
    expect(env.GCE_METADATA_IP).toBe(`${FIELDS["status.hostIP"]}:${config.port}`);
  });
});
