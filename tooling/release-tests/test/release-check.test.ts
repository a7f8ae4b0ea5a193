/**
 * The release machinery keeps packages independent: `scripts/release-check.mjs` runs `pnpm version-packages`
 * (app-releases.mjs, then `changeset version`) on a copy of the repository's manifests and changesets, for
 * the pending changesets and for a minor of each published library alone.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { checkReleases } from "../../../scripts/release-check.mjs";
import { publicPackages } from "../../../scripts/workspace.mjs";

interface Result {
  name: string;
  problems: string[];
  releases: string[];
}

const root = new URL("../../..", import.meta.url).pathname;
const libraries = (publicPackages(root) as { dir: string; manifest: { name: string } }[])
  .filter(({ dir }) => dir.startsWith("packages/"))
  .map(({ manifest }) => manifest.name);

let results: Map<string, Result>;
beforeAll(async () => {
  results = new Map(((await checkReleases({ root })) as Result[]).map((result) => [result.name, result]));
});

describe("releases stay independent", () => {
  it("the pending changesets release no new major, and both apps with the libraries they carry", () => {
    const pending = results.get("pending")!;
    expect(pending.problems).toEqual([]);
    expect(pending.releases.some((release) => release.startsWith("@wifkit/cli "))).toBe(true);
    expect(pending.releases.some((release) => release.startsWith("@wifkit/sidecar "))).toBe(true);
  });

  it.each(libraries)(
    "a minor of %s: its dependents get at most a patch, others nothing, the apps carrying it a patch",
    (library) => {
      expect(results.get(`minor of ${library}`)!.problems).toEqual([]);
    },
  );
});
