import { describe, expect, it } from "vitest";
import { xmlText } from "./xml.js";

describe("xmlText", () => {
  const doc = `<?xml version="1.0"?>
<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error>
    <Type>Sender</Type>
    <Code>AccessDenied</Code>
    <Message>Not authorized to perform sts:AssumeRoleWithWebIdentity &amp; more &lt;here&gt; &#65;&#x42;</Message>
  </Error>
  <RequestId>abc</RequestId>
</ErrorResponse>`;

  it("finds nested elements and decodes entities", () => {
    expect(xmlText(doc, ["ErrorResponse", "Error", "Code"])).toBe("AccessDenied");
    expect(xmlText(doc, ["Error", "Message"])).toBe(
      "Not authorized to perform sts:AssumeRoleWithWebIdentity & more <here> AB",
    );
  });

  it("returns undefined for a missing element and an empty string for an empty one", () => {
    expect(xmlText(doc, ["ErrorResponse", "Credentials"])).toBeUndefined();
    expect(xmlText("<A><B/></A>", ["A", "B"])).toBe("");
    expect(xmlText('<A><B kind="x"/><C>c</C></A>', ["A", "B"])).toBe("");
    expect(xmlText("not xml at all", ["A"])).toBeUndefined();
  });

  it("does not confuse a tag with a longer tag that starts the same way", () => {
    expect(xmlText("<R><CodeName>x</CodeName><Code>y</Code></R>", ["R", "Code"])).toBe("y");
  });
});
