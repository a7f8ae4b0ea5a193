import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { chain, SourceUnavailableError, SUBJECT_TOKEN_TYPES, WifError } from "@wifkit/core";
import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fakeJwt, tempDir } from "../../test/helpers.js";
import { fromFile } from "./file.js";

afterEach(cleanup);

describe("fromFile", () => {
  it("reads a text token and re-reads the file on every call", async () => {
    const dir = await tempDir();
    const path = join(dir, "token");
    const first = fakeJwt({ sub: "first" });
    const second = fakeJwt({ sub: "second" });
    await writeFile(path, `${first}\n`);
    const supplier = fromFile({ path });
    await expect(supplier()).resolves.toEqual({ token: first, type: SUBJECT_TOKEN_TYPES.jwt });
    await writeFile(path, second);
    await expect(supplier()).resolves.toMatchObject({ token: second });
  });

  it("takes the named field of a JSON file and reports the configured type", async () => {
    const dir = await tempDir();
    const path = join(dir, "token.json");
    const token = fakeJwt();
    await writeFile(path, JSON.stringify({ access_token: token, expires_in: 3600 }));
    const supplier = fromFile({
      path,
      format: { type: "json", subjectTokenFieldName: "access_token" },
      type: SUBJECT_TOKEN_TYPES.idToken,
    });
    await expect(supplier()).resolves.toEqual({ token, type: SUBJECT_TOKEN_TYPES.idToken });
  });

  it("says the file is missing, as a source that does not apply, so a chain moves on", async () => {
    const dir = await tempDir();
    const path = join(dir, "absent");
    const error = await fromFile({ path })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SourceUnavailableError);
    expect(error).toMatchObject({ code: "ERR_WIF_SUBJECT_TOKEN_FILE_NOT_FOUND" });
    expect((error as Error).message).toContain(path);

    const fallback = chain(fromFile({ path }), async () => ({ token: "t", type: SUBJECT_TOKEN_TYPES.jwt }));
    await expect(fallback()).resolves.toMatchObject({ token: "t" });
  });

  it("rejects an empty file, naming it", async () => {
    const dir = await tempDir();
    const path = join(dir, "empty");
    await writeFile(path, "  \n");
    const error = await fromFile({ path })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WifError);
    expect(error).not.toBeInstanceOf(SourceUnavailableError);
    expect(error).toMatchObject({ code: "ERR_WIF_SUBJECT_TOKEN_EMPTY" });
    expect((error as Error).message).toContain(path);
  });

  it("names a missing JSON field and the fields that are there, never the values", async () => {
    const dir = await tempDir();
    const path = join(dir, "token.json");
    const secret = fakeJwt({ sub: "do-not-print" });
    await writeFile(path, JSON.stringify({ token: secret }));
    const error = await fromFile({
      path,
      format: { type: "json", subjectTokenFieldName: "id_token" },
    })().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ERR_WIF_SUBJECT_TOKEN_FIELD_MISSING" });
    expect((error as Error).message).toContain('"id_token"');
    expect((error as Error).message).toContain("token");
    expect((error as Error).message).not.toContain(secret);
  });

  it("rejects a JSON-format file that is not JSON without quoting it", async () => {
    const dir = await tempDir();
    const path = join(dir, "token.json");
    const secret = fakeJwt();
    await writeFile(path, secret);
    const error = await fromFile({ path, format: { type: "json", subjectTokenFieldName: "t" } })().catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: "ERR_WIF_SUBJECT_TOKEN_INVALID_JSON" });
    expect(String((error as Error).message)).not.toContain(secret);
    expect((error as Error).cause).toBeUndefined();
  });

  it("reads through an injected file reader", async () => {
    const reads: string[] = [];
    const supplier = fromFile({
      path: "/virtual/token",
      readFile: async (path) => {
        reads.push(path);
        return "virtual-token";
      },
    });
    await expect(supplier()).resolves.toMatchObject({ token: "virtual-token" });
    expect(reads).toEqual(["/virtual/token"]);
  });

  it("reports a path it may not read as unreadable, not missing", async () => {
    const dir = await tempDir();
    const error = await fromFile({ path: dir })().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ERR_WIF_SUBJECT_TOKEN_FILE_UNREADABLE" });
    expect((error as Error).message).toContain("EISDIR");
  });
});
