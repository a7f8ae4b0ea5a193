import { describe, expect, it } from "vitest";
import { disabledService, readGoogleError } from "./google-error.js";

const response = (body: unknown, status = 403) => ({
  status,
  headers: {},
  body: Buffer.from(typeof body === "string" ? body : JSON.stringify(body)),
});

describe("readGoogleError", () => {
  it("reads a Google API error with its ErrorInfo (SERVICE_DISABLED)", () => {
    const body = {
      error: {
        code: 403,
        message:
          "IAM Service Account Credentials API has not been used in project 123 before or it is disabled.",
        status: "PERMISSION_DENIED",
        details: [
          { "@type": "type.googleapis.com/google.rpc.Help", links: [] },
          {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            reason: "SERVICE_DISABLED",
            domain: "googleapis.com",
            metadata: { service: "iamcredentials.googleapis.com", consumer: "projects/123" },
          },
        ],
      },
    };
    expect(readGoogleError(response(body))).toEqual({
      error: "PERMISSION_DENIED",
      message: body.error.message,
      reason: "SERVICE_DISABLED",
      domain: "googleapis.com",
      metadata: { service: "iamcredentials.googleapis.com", consumer: "projects/123" },
    });
  });

  it("reads an OAuth error and shrugs at anything else", () => {
    expect(readGoogleError(response({ error: "invalid_grant", error_description: "expired" }, 400))).toEqual({
      error: "invalid_grant",
      message: "expired",
    });
    expect(readGoogleError(response("<html>502</html>", 502))).toEqual({});
    expect(readGoogleError(response([1, 2]))).toEqual({});
  });
});

describe("disabledService", () => {
  it("names the API, its title, the consumer project and the command that enables it", () => {
    const details = {
      reason: "SERVICE_DISABLED",
      metadata: {
        service: "sts.googleapis.com",
        consumer: "projects/123456789012",
        serviceTitle: "Security Token Service API",
      },
    };
    expect(disabledService(details)).toEqual({
      service: "sts.googleapis.com",
      title: "Security Token Service API",
      project: "123456789012",
      command: "gcloud services enable sts.googleapis.com --project=123456789012",
    });
  });

  it("is undefined for any other reason, or without a service", () => {
    expect(disabledService({ reason: "IAM_PERMISSION_DENIED", metadata: { service: "x" } })).toBeUndefined();
    expect(disabledService({ reason: "SERVICE_DISABLED" })).toBeUndefined();
  });
});
