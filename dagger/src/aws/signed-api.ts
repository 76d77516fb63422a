// Signed calls to the AWS APIs the module uses besides ECS, made with aws4fetch (SigV4 over fetch)
// instead of one SDK client each: EC2, ELBv2, IAM, CloudWatch (Query protocol, XML answers), CloudWatch Logs,
// DynamoDB and ECR (JSON), S3 (REST, XML). Those clients were most of the module's install for a dozen
// Describe/Get/Create calls. XML goes through the parser @aws-sdk/core already ships
// (@aws-sdk/xml-builder, pinned to the release the ECS client uses, so it adds nothing to the install).
// A failed call throws AwsApiError, shaped like an SDK error (`name` = the AWS error code,
// `$metadata.httpStatusCode`), so callers read both kinds of failure alike.
import type { AwsCredentials } from "../config/credentials.js"

/** Where and as whom to call AWS. */
export interface AwsTarget {
  region: string
  /** Emulator endpoint (moto, LocalStack) from staging.aws.endpointUrl; absent for AWS itself. */
  endpoint?: string
  credentials: AwsCredentials
}

/** An AWS API error answer: `name` is the service's error code (e.g. `NoSuchEntity`, `InvalidVpcID.NotFound`). */
export class AwsApiError extends Error {
  readonly $metadata: { httpStatusCode: number }
  constructor(name: string, message: string, status: number) {
    super(message)
    this.name = name
    this.$metadata = { httpStatusCode: status }
  }
}

import { createHash } from "node:crypto"

type QueryService = "ec2" | "elasticloadbalancing" | "iam" | "monitoring"
type JsonService = "logs" | "dynamodb" | "ecr"
type Service = QueryService | JsonService | "s3"

const QUERY_VERSIONS: Record<QueryService, string> = { ec2: "2016-11-15", elasticloadbalancing: "2015-12-01", iam: "2010-05-08", monitoring: "2010-08-01" }

/** Per JSON service: the `x-amz-target` prefix of its actions and its JSON protocol version. */
const JSON_APIS: Record<JsonService, { prefix: string; version: "1.0" | "1.1" }> = {
  logs: { prefix: "Logs_20140328", version: "1.1" },
  dynamodb: { prefix: "DynamoDB_20120810", version: "1.0" },
  ecr: { prefix: "AmazonEC2ContainerRegistry_V20150921", version: "1.1" },
}

// One request never hangs a run: the SDK clients had no timeout of their own either, but every call
// here is a read or a small create that answers in well under a second.
const REQUEST_TIMEOUT_MS = 30_000

/** Where a service answers: the emulator endpoint when one is set, else the region's (IAM: the partition's global one). */
function endpointOf(target: AwsTarget, service: Service): { url: string; signingRegion: string } {
  if (target.endpoint) return { url: target.endpoint.replace(/\/$/, ""), signingRegion: service === "iam" ? "us-east-1" : target.region }
  const china = target.region.startsWith("cn-")
  const domain = china ? "amazonaws.com.cn" : "amazonaws.com"
  if (service === "iam") return china ? { url: `https://iam.cn-north-1.${domain}`, signingRegion: "cn-north-1" } : { url: `https://iam.${domain}`, signingRegion: "us-east-1" }
  const host = service === "ecr" ? `api.ecr` : service
  return { url: `https://${host}.${target.region}.${domain}`, signingRegion: target.region }
}

async function signedFetch(target: AwsTarget, service: Service, url: string, init: { method: string; headers: Record<string, string>; body?: string }): Promise<Response> {
  const { AwsClient } = await import("#aws4fetch")
  const client = new AwsClient({
    ...target.credentials,
    service,
    region: endpointOf(target, service).signingRegion,
    // 3 attempts on 5xx/429 with backoff, as the SDK clients' maxAttempts: 3.
    retries: 2,
    initRetryMs: 100,
  })
  return client.fetch(url, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
}

function signedPost(target: AwsTarget, service: QueryService | JsonService, headers: Record<string, string>, body: string): Promise<Response> {
  return signedFetch(target, service, `${endpointOf(target, service).url}/`, { method: "POST", headers, body })
}

async function parseXml(what: string, res: Response, xml: string): Promise<XmlValue> {
  const { parseXML } = await import("#aws-sdk/xml-builder")
  try {
    return parseXML(xml) as XmlValue
  } catch (err) {
    throw new AwsApiError("MalformedResponse", `${what} answered HTTP ${res.status} with unreadable XML (${String(err)}): ${xml.slice(0, 200)}`, res.status)
  }
}

/** A parsed XML element: text, or child elements by name (a repeated child becomes an array). */
export type XmlValue = string | { [name: string]: XmlValue | XmlValue[] }

function child(node: XmlValue | XmlValue[] | undefined, name: string): XmlValue | XmlValue[] | undefined {
  const one = Array.isArray(node) ? node[0] : node
  return typeof one === "object" ? one[name] : undefined
}

/** The value at a path of element names, e.g. `at(r, "vpcSet", "item")`; undefined when any step is missing. */
export function at(node: XmlValue | XmlValue[] | undefined, ...path: string[]): XmlValue | XmlValue[] | undefined {
  return path.reduce<XmlValue | XmlValue[] | undefined>((n, name) => child(n, name), node)
}

/** The elements of a list (`<vpcSet><item/>...</vpcSet>`): none, one or many alike. */
export function list(node: XmlValue | XmlValue[] | undefined): XmlValue[] {
  if (node === undefined || node === "") return []
  return Array.isArray(node) ? node : [node]
}

/** The text of an element, or undefined when it is missing or has children. */
export function text(node: XmlValue | XmlValue[] | undefined): string | undefined {
  return typeof node === "string" ? node : undefined
}

/**
 * Calls `action` of a Query-protocol service with the given parameters (already flattened, e.g.
 * `Filter.1.Name`) and returns the answer's root element (`DescribeVpcsResponse`'s content).
 * Throws AwsApiError for an error answer.
 */
export async function queryApi(target: AwsTarget, service: QueryService, action: string, params: Record<string, string>): Promise<XmlValue> {
  const body = new URLSearchParams({ Action: action, Version: QUERY_VERSIONS[service], ...params }).toString()
  const res = await signedPost(target, service, { "content-type": "application/x-www-form-urlencoded; charset=utf-8" }, body)
  const xml = await res.text()
  const doc = await parseXml(`${service} ${action}`, res, xml)
  if (!res.ok) {
    // EC2: <Response><Errors><Error>; ELBv2, IAM and CloudWatch: <ErrorResponse><Error>.
    const error = at(doc, "Response", "Errors", "Error") ?? at(doc, "ErrorResponse", "Error")
    const code = text(at(error, "Code")) ?? `HTTP${res.status}`
    throw new AwsApiError(code, text(at(error, "Message")) ?? `${service} ${action} answered HTTP ${res.status}`, res.status)
  }
  const root = at(doc, `${action}Response`)
  if (root === undefined || Array.isArray(root)) {
    throw new AwsApiError("MalformedResponse", `${service} ${action} answered without a ${action}Response element: ${xml.slice(0, 200)}`, res.status)
  }
  return root
}

/** EC2's `Filter.N.Name` / `Filter.N.Value.M` parameters. */
export function ec2Filters(filters: readonly { Name: string; Values: readonly string[] }[]): Record<string, string> {
  const out: Record<string, string> = {}
  filters.forEach((f, i) => {
    out[`Filter.${i + 1}.Name`] = f.Name
    f.Values.forEach((v, j) => (out[`Filter.${i + 1}.Value.${j + 1}`] = v))
  })
  return out
}

/**
 * Calls `action` of a JSON-protocol service (CloudWatch Logs, DynamoDB, ECR) and returns its JSON
 * answer. Throws AwsApiError for an error answer.
 */
export async function jsonApi(target: AwsTarget, service: JsonService, action: string, request: object): Promise<unknown> {
  const { prefix, version } = JSON_APIS[service]
  const res = await signedPost(
    target,
    service,
    { "content-type": `application/x-amz-json-${version}`, "x-amz-target": `${prefix}.${action}` },
    JSON.stringify(request),
  )
  const raw = await res.text()
  let data: unknown
  try {
    data = raw === "" ? {} : JSON.parse(raw)
  } catch {
    throw new AwsApiError("MalformedResponse", `${service} ${action} answered HTTP ${res.status} with unreadable JSON: ${raw.slice(0, 200)}`, res.status)
  }
  if (!res.ok) {
    const e = (data ?? {}) as { __type?: unknown; message?: unknown; Message?: unknown }
    // `__type` may carry a namespace: "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException".
    const code = typeof e.__type === "string" ? e.__type.slice(e.__type.lastIndexOf("#") + 1) : `HTTP${res.status}`
    const message = typeof e.message === "string" ? e.message : typeof e.Message === "string" ? e.Message : `${service} ${action} answered HTTP ${res.status}`
    throw new AwsApiError(code, message, res.status)
  }
  return data
}

/** The URL of an S3 bucket (plus `?<subresource>`): path-style on emulators and for names with dots, else virtual-hosted. */
function bucketUrl(target: AwsTarget, bucket: string, subresource?: string): string {
  const { url } = endpointOf(target, "s3")
  const base = target.endpoint || bucket.includes(".") ? `${url}/${encodeURIComponent(bucket)}` : url.replace("https://", `https://${bucket}.`) + "/"
  return subresource ? `${base}?${subresource}` : base
}

/**
 * One S3 bucket call: `method` on the bucket or one of its subresources (`versioning`, ...), with an
 * optional XML body. Answers the parsed XML (undefined when empty); throws AwsApiError for an error
 * answer, named by S3's error code (`NotFound`/`Forbidden` for a HEAD, which answers no body).
 */
export async function s3BucketApi(
  target: AwsTarget,
  request: { method: "HEAD" | "PUT" | "GET"; bucket: string; subresource?: string; xml?: string },
): Promise<XmlValue | undefined> {
  const { method, bucket, subresource, xml } = request
  const headers: Record<string, string> = {}
  // S3 requires an integrity check on its configuration puts (public access block, encryption...).
  if (xml !== undefined) Object.assign(headers, { "content-type": "application/xml", "content-md5": createHash("md5").update(xml).digest("base64") })
  const res = await signedFetch(target, "s3", bucketUrl(target, bucket, subresource), { method, headers, ...(xml !== undefined ? { body: xml } : {}) })
  const raw = method === "HEAD" ? "" : await res.text()
  const what = `S3 ${method} ${bucket}${subresource ? "?" + subresource : ""}`
  const doc = raw.trim() === "" ? undefined : await parseXml(what, res, raw)
  if (!res.ok) {
    const bare = res.status === 404 ? "NotFound" : res.status === 403 ? "Forbidden" : `HTTP${res.status}`
    const code = text(at(doc, "Error", "Code")) ?? bare
    throw new AwsApiError(code, text(at(doc, "Error", "Message")) ?? `${what} answered HTTP ${res.status}`, res.status)
  }
  return doc
}
