// Signed calls to the few read-only AWS APIs the import probes need (EC2, ELBv2, IAM: Query protocol with
// XML answers; CloudWatch Logs: JSON 1.1), made with aws4fetch (SigV4 over fetch) instead of one SDK
// client each: those clients were 39 MB and ~4,700 files of the module's install, for eight Describe/Get
// calls. The XML goes through the parser @aws-sdk/core already ships (@aws-sdk/xml-builder, pinned to
// the release the ECS client uses, so it adds nothing to the install).
// A failed call throws AwsApiError, shaped like an SDK error (`name` = the AWS error code,
// `$metadata.httpStatusCode`), so the probes read both kinds of failure alike.
import type { AwsTarget } from "./aws.js"

/** An AWS API error answer: `name` is the service's error code (e.g. `NoSuchEntity`, `InvalidVpcID.NotFound`). */
export class AwsApiError extends Error {
  readonly $metadata: { httpStatusCode: number }
  constructor(name: string, message: string, status: number) {
    super(message)
    this.name = name
    this.$metadata = { httpStatusCode: status }
  }
}

type QueryService = "ec2" | "elasticloadbalancing" | "iam"

const QUERY_VERSIONS: Record<QueryService, string> = { ec2: "2016-11-15", elasticloadbalancing: "2015-12-01", iam: "2010-05-08" }

// One request of a probe never hangs a run: the SDK clients had no timeout of their own either, but a
// probe is a read that answers in well under a second.
const REQUEST_TIMEOUT_MS = 30_000

/** Where a service answers: the emulator endpoint when one is set, else the region's (IAM: the partition's global one). */
function endpointOf(target: AwsTarget, service: QueryService | "logs"): { url: string; signingRegion: string } {
  if (target.endpoint) return { url: target.endpoint, signingRegion: service === "iam" ? "us-east-1" : target.region }
  const china = target.region.startsWith("cn-")
  const domain = china ? "amazonaws.com.cn" : "amazonaws.com"
  if (service === "iam") return china ? { url: `https://iam.cn-north-1.${domain}`, signingRegion: "cn-north-1" } : { url: `https://iam.${domain}`, signingRegion: "us-east-1" }
  return { url: `https://${service}.${target.region}.${domain}`, signingRegion: target.region }
}

async function signedPost(target: AwsTarget, service: QueryService | "logs", headers: Record<string, string>, body: string): Promise<Response> {
  const { AwsClient } = await import("#aws4fetch")
  const { url, signingRegion } = endpointOf(target, service)
  const client = new AwsClient({
    ...target.credentials,
    service,
    region: signingRegion,
    // 3 attempts on 5xx/429 with backoff, as the SDK clients' maxAttempts: 3.
    retries: 2,
    initRetryMs: 100,
  })
  return client.fetch(`${url.replace(/\/$/, "")}/`, { method: "POST", headers, body, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
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
  const { parseXML } = await import("#aws-sdk/xml-builder")
  let doc: XmlValue
  try {
    doc = parseXML(xml) as XmlValue
  } catch (err) {
    throw new AwsApiError("MalformedResponse", `${service} ${action} answered HTTP ${res.status} with unreadable XML (${String(err)}): ${xml.slice(0, 200)}`, res.status)
  }
  if (!res.ok) {
    // EC2: <Response><Errors><Error>; ELBv2 and IAM: <ErrorResponse><Error>.
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

/** Calls a JSON 1.1 API (CloudWatch Logs' `Logs_20140328.<action>`) and returns its JSON answer. */
export async function logsApi(target: AwsTarget, action: string, request: object): Promise<unknown> {
  const res = await signedPost(
    target,
    "logs",
    { "content-type": "application/x-amz-json-1.1", "x-amz-target": `Logs_20140328.${action}` },
    JSON.stringify(request),
  )
  const raw = await res.text()
  let data: unknown
  try {
    data = raw === "" ? {} : JSON.parse(raw)
  } catch {
    throw new AwsApiError("MalformedResponse", `logs ${action} answered HTTP ${res.status} with unreadable JSON: ${raw.slice(0, 200)}`, res.status)
  }
  if (!res.ok) {
    const e = (data ?? {}) as { __type?: unknown; message?: unknown; Message?: unknown }
    // `__type` may carry a namespace: "com.amazonaws.logs#ResourceNotFoundException".
    const code = typeof e.__type === "string" ? e.__type.slice(e.__type.lastIndexOf("#") + 1) : `HTTP${res.status}`
    const message = typeof e.message === "string" ? e.message : typeof e.Message === "string" ? e.Message : `logs ${action} answered HTTP ${res.status}`
    throw new AwsApiError(code, message, res.status)
  }
  return data
}
