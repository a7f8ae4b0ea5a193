import { describe, expect, expectTypeOf, it } from "vitest";
import type * as z from "zod/mini";
import { credentialConfigJsonSchema, credentialConfigTypes } from "./generate.js";
import type { Schemas } from "./schema.js";
import type { AuthorizedUserConfig, CredentialSource, ExternalAccountConfig } from "./types.js";

describe("generated artifacts", () => {
  it("ships the JSON Schema generated from the zod schema", async () => {
    await expect(`${JSON.stringify(credentialConfigJsonSchema(), null, 2)}\n`).toMatchFileSnapshot(
      "../credential-config.schema.json",
    );
  });

  it("exports the types generated from the zod schema", async () => {
    await expect(credentialConfigTypes()).toMatchFileSnapshot("./types.ts");
  });

  it("keeps the generated types identical to the schema's inferred types", () => {
    expectTypeOf<ExternalAccountConfig>().toEqualTypeOf<z.output<Schemas["externalAccountSchema"]>>();
    expectTypeOf<AuthorizedUserConfig>().toEqualTypeOf<z.output<Schemas["authorizedUserSchema"]>>();
    expectTypeOf<CredentialSource>().toEqualTypeOf<z.output<Schemas["credentialSourceSchema"]>>();
  });
});
