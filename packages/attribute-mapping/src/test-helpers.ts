import { AttributeMappingError } from "./errors.js";

/** Runs `fn`, which must throw an `AttributeMappingError`, and returns that error for assertions. */
export function caught(fn: () => unknown): AttributeMappingError {
  try {
    fn();
  } catch (error) {
    if (error instanceof AttributeMappingError) return error;
    throw new Error(`expected an AttributeMappingError, got ${String(error)}`, { cause: error });
  }
  throw new Error("expected an AttributeMappingError, but nothing was thrown");
}

/** An AWS GetCallerIdentity result for an EC2 instance role, as the emulator's STS builds assertions. */
export const EC2_ASSERTION = Object.freeze({
  arn: "arn:aws:sts::111122223333:assumed-role/wifkit-ec2-role/i-0123456789abcdef0",
  account: "111122223333",
  userid: "AROAEXAMPLEROLEID:i-0123456789abcdef0",
});

/** An AWS GetCallerIdentity result for an IAM user. */
export const IAM_USER_ASSERTION = Object.freeze({
  arn: "arn:aws:iam::111122223333:user/ci-bot",
  account: "111122223333",
  userid: "AIDAEXAMPLEUSERID",
});

/** Claims of an Azure managed identity access token (v1), as Azure IMDS issues for an App ID URI. */
export const AZURE_V1_CLAIMS = Object.freeze({
  aud: "api://wifkit-app",
  iss: "https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/",
  iat: 1_700_000_000,
  nbf: 1_700_000_000,
  exp: 1_700_003_600,
  aio: "E2NgYJj",
  appid: "5fd0e0a6-6b5f-4c39-9f24-1b2c3d4e5f60",
  appidacr: "2",
  idp: "https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/",
  oid: "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0",
  rh: "0.AAAA",
  sub: "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0",
  tid: "72f988bf-86f1-41af-91ab-2d7cd011db47",
  uti: "abcDEF123",
  ver: "1.0",
  xms_mirid:
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/wifkit-rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/wifkit-identity",
});
