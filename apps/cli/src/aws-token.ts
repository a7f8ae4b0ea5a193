/**
 * Showing an AWS subject token (the URL-encoded, JSON-serialized signed GetCallerIdentity request) with its
 * secrets elided. Decoding it and asking AWS who it identifies are @wifkit/aws-supplier's
 * (`deserializeSubjectToken`, `getCallerIdentity`).
 */
import { deserializeSubjectToken, type SignedCallerIdentityRequest } from "@wifkit/aws-supplier";

export type AwsSubjectRequest = SignedCallerIdentityRequest;

/** Decodes the subject token; undefined when it is not a serialized request. */
export function decodeAwsSubjectToken(token: string): AwsSubjectRequest | undefined {
  try {
    return deserializeSubjectToken(token);
  } catch {
    return undefined;
  }
}

/** The request with its signature and session token replaced by placeholders: safe to print. */
export function elideAwsSecrets(request: AwsSubjectRequest): AwsSubjectRequest {
  return {
    ...request,
    headers: request.headers.map(({ key, value }) => {
      const name = key.toLowerCase();
      if (name === "authorization")
        return { key, value: value.replace(/Signature=[0-9a-f]+/i, "Signature=<elided>") };
      if (name === "x-amz-security-token") return { key, value: `<elided, ${value.length} characters>` };
      return { key, value };
    }),
  };
}

/** The access key id in the request's Authorization header. */
export function accessKeyIdOf(request: AwsSubjectRequest): string | undefined {
  const authorization = request.headers.find((header) => header.key.toLowerCase() === "authorization")?.value;
  return authorization ? /Credential=([A-Z0-9]+)\//.exec(authorization)?.[1] : undefined;
}

/** The ARN form AWS will report for credentials with this access key id. */
export function expectedArnForm(accessKeyId: string | undefined): string {
  if (accessKeyId?.startsWith("AKIA")) {
    return "arn:aws:iam::ACCOUNT_ID:user/USER_NAME (long-term IAM user keys)";
  }
  return "arn:aws:sts::ACCOUNT_ID:assumed-role/ROLE_NAME/SESSION_NAME (temporary credentials of an assumed role; on EC2 the session name is the instance id)";
}
