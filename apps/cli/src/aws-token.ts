/**
 * Reading an AWS subject token (the URL-encoded, JSON-serialized signed GetCallerIdentity request): for
 * display with its secrets elided, and to ask AWS who it identifies, as Google STS does.
 */
import { WifError } from "@wifkit/core";
import { type HttpTransport, httpRequest } from "@wifkit/http";

export interface AwsSubjectRequest {
  url: string;
  method: string;
  headers: { key: string; value: string }[];
}

/** Decodes the subject token; undefined when it is not a serialized request. */
export function decodeAwsSubjectToken(token: string): AwsSubjectRequest | undefined {
  try {
    const value = JSON.parse(decodeURIComponent(token.replaceAll("+", " "))) as Partial<AwsSubjectRequest>;
    if (typeof value.url !== "string" || !Array.isArray(value.headers)) return undefined;
    return {
      url: value.url,
      method: typeof value.method === "string" ? value.method : "POST",
      headers: value.headers,
    };
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

/**
 * What AWS answers for the request: the assertion Google STS builds (`arn`, `account`, `userid`). With
 * `endpoint` (the SDKs' `AWS_ENDPOINT_URL_STS`), the request goes there instead, keeping the signed `host`.
 */
export async function callerIdentity(
  request: AwsSubjectRequest,
  {
    timeoutMs,
    endpoint,
    transport,
  }: { timeoutMs: number; endpoint?: string | undefined; transport?: HttpTransport | undefined },
): Promise<{ arn: string; account: string; userid: string }> {
  const headers: Record<string, string> = {};
  for (const { key, value } of request.headers) headers[key] = value;
  let url = request.url;
  if (endpoint) {
    const signed = new URL(request.url);
    url = `${endpoint.replace(/\/+$/, "")}${signed.pathname}${signed.search}`;
    headers.host ??= signed.host;
  }
  const response = await httpRequest({
    url,
    method: "POST",
    headers,
    timeoutMs,
    operation: "AWS STS GetCallerIdentity",
    ...(transport ? { transport } : {}),
  });
  const body = response.body.toString("utf8");
  const field = (name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(body)?.[1];
  if (response.status !== 200) {
    throw new WifError(
      `AWS STS refused the signed GetCallerIdentity request (${response.status} ${field("Code") ?? ""}): ${field("Message") ?? "no message"}. Check the AWS credentials and the machine's clock.`,
      { code: "ERR_WIF_AWS_CALLER_IDENTITY_FAILED", status: response.status },
    );
  }
  const arn = field("Arn");
  const account = field("Account");
  const userid = field("UserId");
  if (!arn || !account || !userid) {
    throw new WifError("AWS STS answered GetCallerIdentity without Arn, Account and UserId.", {
      code: "ERR_WIF_AWS_CALLER_IDENTITY_FAILED",
    });
  }
  return { arn, account, userid };
}
