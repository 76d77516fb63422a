// Cloud Run (production) operations: deploy a candidate revision with no traffic behind a tag, move
// traffic in canary steps, read back who holds traffic, roll back, clean up the tag. A thin imperative
// shell over @google-cloud/run v2: every decision is a pure function in traffic.ts.
//
// @google-cloud/run (~200 ms import, ~39 MB) and google-auth-library are loaded lazily; only types are
// imported at top level, and TypeScript erases those. One code path for the cloud and the local fake:
// the REST transport (`fallback: true`) is used in both, the fake only changes the endpoint.
//
// How a deploy is judged: the update's long-running operation completes only once Cloud Run has
// reconciled the service (the candidate revision is ready, the routes are programmed); then the
// candidate's Ready condition is checked, and the observed traffic (trafficStatuses, never the
// requested `traffic`) is read back and compared with the plan.
import type { protos, v2 } from "#google-cloud/run"
import type { GcpSecrets } from "../config/credentials.js"
import type { Verdict } from "../aws/rollout-verdict.js"
import {
  type ConditionView,
  conditionState,
  type PlannedTraffic,
  planCandidateTraffic,
  planRollback,
  planTagRemoval,
  planTrafficShift,
  readTraffic,
  shortName,
  type TrafficReading,
  type TrafficTarget,
  trafficMismatches,
  candidateRevisionName,
  validateCandidate,
  validateTag,
  describeTraffic,
  CloudRunInputError,
} from "./traffic.js"
import { waitForVerdict } from "../shared/wait.js"
import { firstLine } from "../shared/text.js"

export type RunSdk = typeof import("#google-cloud/run")
export type Service = protos.google.cloud.run.v2.IService
export type Revision = protos.google.cloud.run.v2.IRevision
/** Options accepted by the v2 clients' constructors. */
export type CloudRunClientOptions = NonNullable<ConstructorParameters<typeof v2.ServicesClient>[0]>

/** Loads @google-cloud/run on first use (module top level stays cheap: every file in src loads on every call). */
export function loadCloudRunSdk(): Promise<RunSdk> {
  return import("#google-cloud/run")
}

// ---------------------------------------------------------------------------------------------------
// Connecting

/** How to authenticate to Google Cloud. Plaintext lives only here, inside this process. */
export type GcpAuth =
  /** A service-account key (JSON), from --gcp-credentials. */
  | { kind: "service-account-key"; keyJson: string }
  /** A short-lived OAuth access token, from --gcp-access-token (workload identity federation). */
  | { kind: "access-token"; token: string }
  /** No credentials: only for a local fake or emulator endpoint. */
  | { kind: "none" }

export interface CloudRunConnection {
  auth: GcpAuth
  /**
   * Endpoint of a local fake/emulator, e.g. http://127.0.0.1:8123 (ci/pipeline.yaml
   * production.gcp.cloudRunEndpoint). Real runs leave it out.
   */
  endpoint?: string
  /** Builds the clients from the computed options. Default: @google-cloud/run v2 clients. Tests may inject. */
  createClients?: (options: CloudRunClientOptions) => Promise<CloudRunClients> | CloudRunClients
}

/** The two v2 clients the pipeline uses. */
export interface CloudRunClients {
  services: Pick<v2.ServicesClient, "getService" | "updateService">
  revisions: Pick<v2.RevisionsClient, "getRevision">
  close(): Promise<void>
}

/** Resolves the GCP Secrets (exactly one is set; see requireGcpSecrets) to a GcpAuth. */
export async function gcpAuthFromSecrets(secrets: GcpSecrets): Promise<GcpAuth> {
  if (secrets.credentials) return { kind: "service-account-key", keyJson: await secrets.credentials.plaintext() }
  if (secrets.accessToken) return { kind: "access-token", token: (await secrets.accessToken.plaintext()).trim() }
  throw new CloudRunInputError("GCP credentials missing: pass --gcp-credentials or --gcp-access-token.")
}

/** Transport options for the REST transport; with an endpoint, the client talks to it instead of Google. */
export function endpointOptions(endpoint?: string): CloudRunClientOptions {
  if (endpoint === undefined) return { fallback: true }
  let url: URL
  try {
    url = new URL(endpoint)
  } catch {
    throw new CloudRunInputError(`Cloud Run endpoint '${endpoint}' is not a URL; expected e.g. http://127.0.0.1:8123 (production.gcp.cloudRunEndpoint).`)
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || url.pathname.replace(/\/$/, "") !== "") {
    throw new CloudRunInputError(`Cloud Run endpoint '${endpoint}' must be http(s)://host[:port] with no path (production.gcp.cloudRunEndpoint).`)
  }
  const protocol = url.protocol.slice(0, -1)
  // Without an explicit port and protocol the REST client silently hangs, so both are always given.
  const port = url.port ? Number(url.port) : protocol === "https" ? 443 : 80
  return { fallback: true, apiEndpoint: url.hostname, port, protocol }
}

/** The fields of a service-account key the client needs; the key itself is never echoed in errors. */
export function parseServiceAccountKey(keyJson: string): {
  client_email: string
  private_key: string
  private_key_id?: string
  project_id?: string
} {
  let data: unknown
  try {
    data = JSON.parse(keyJson)
  } catch {
    throw new CloudRunInputError(
      "--gcp-credentials is not JSON; pass the service-account key file's content, e.g. --gcp-credentials=env://GCP_SERVICE_ACCOUNT_KEY.",
    )
  }
  const key = (data ?? {}) as Record<string, unknown>
  const missing = ["client_email", "private_key"].filter((k) => typeof key[k] !== "string" || key[k] === "")
  if (key["type"] !== "service_account" || missing.length > 0) {
    throw new CloudRunInputError(
      `--gcp-credentials is not a service-account key (type '${typeof key["type"] === "string" ? key["type"] : "?"}'` +
        `${missing.length > 0 ? `, missing ${missing.join(" and ")}` : ""}). Create a JSON key for the deploy service account, ` +
        "or use --gcp-access-token with workload identity federation.",
    )
  }
  const optional = (k: string) => (typeof key[k] === "string" ? { [k]: key[k] as string } : {})
  return {
    client_email: key["client_email"] as string,
    private_key: key["private_key"] as string,
    ...optional("private_key_id"),
    ...optional("project_id"),
  }
}

const CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"

async function authOptions(connection: CloudRunConnection): Promise<CloudRunClientOptions> {
  const auth = connection.auth
  const { JWT, OAuth2Client, PassThroughClient } = await import("#google-auth-library")
  if (auth.kind === "service-account-key") {
    const key = parseServiceAccountKey(auth.keyJson)
    // google-auth-library's JWT client (its replacement for the deprecated `credentials` option). Like
    // the Google client libraries do by default, it signs its own short-lived access JWT with the key's
    // scopes instead of exchanging it at the token endpoint first.
    const client = new JWT({ email: key.client_email, key: key.private_key, keyId: key.private_key_id, scopes: [CLOUD_PLATFORM_SCOPE] })
    client.useJWTAccessWithScope = true
    client.defaultServicePath = "run.googleapis.com"
    return { authClient: client }
  }
  if (auth.kind === "access-token") {
    if (auth.token === "") throw new CloudRunInputError("--gcp-access-token is empty; pass a token from workload identity federation.")
    const client = new OAuth2Client()
    client.setCredentials({ access_token: auth.token })
    return { authClient: client }
  }
  if (connection.endpoint === undefined) {
    throw new CloudRunInputError(
      "no GCP credentials given for Cloud Run: pass --gcp-credentials or --gcp-access-token (only a local endpoint may be used without).",
    )
  }
  return { authClient: new PassThroughClient() }
}

/** Connects to Cloud Run (or the configured fake/emulator). Close the clients when done. */
export async function connectCloudRun(connection: CloudRunConnection): Promise<CloudRunClients> {
  const options: CloudRunClientOptions = { ...endpointOptions(connection.endpoint), ...(await authOptions(connection)) }
  if (connection.createClients) return connection.createClients(options)
  const { v2: run } = await loadCloudRunSdk()
  const services = new run.ServicesClient(options)
  const revisions = new run.RevisionsClient(options)
  return {
    services,
    revisions,
    async close() {
      await Promise.all([services.close(), revisions.close()])
    },
  }
}

// ---------------------------------------------------------------------------------------------------
// Errors

export type CloudRunFailureKind =
  /** The service or revision does not exist. */
  | "not-found"
  /** Cloud Run refused the request (invalid, permission, quota...). */
  | "rejected"
  /** The candidate revision failed to become ready (e.g. the container did not start). */
  | "revision-failed"
  /** The operation or readiness did not finish within the time budget. */
  | "timed-out"
  /** The long-running operation ended with an error. */
  | "operation-failed"
  /** Cloud Run reports a traffic split other than the one asked for. */
  | "traffic-mismatch"

/** A Cloud Run step that failed; the message says what, why and what to do. */
export class CloudRunError extends Error {
  override name = "CloudRunError"
  constructor(
    readonly kind: CloudRunFailureKind,
    message: string,
    readonly details: { code?: number; revision?: string } = {},
  ) {
    super(message)
  }
}

const CODE_NAMES: Record<number, string> = {
  1: "CANCELLED", 2: "UNKNOWN", 3: "INVALID_ARGUMENT", 4: "DEADLINE_EXCEEDED", 5: "NOT_FOUND", 6: "ALREADY_EXISTS",
  7: "PERMISSION_DENIED", 8: "RESOURCE_EXHAUSTED", 9: "FAILED_PRECONDITION", 10: "ABORTED", 11: "OUT_OF_RANGE",
  12: "UNIMPLEMENTED", 13: "INTERNAL", 14: "UNAVAILABLE", 15: "DATA_LOSS", 16: "UNAUTHENTICATED",
}

const HINTS: Record<number, string> = {
  3: "Fix the request named in the message (ci/pipeline.yaml production.* or the flags).",
  5: "Check production.gcp.project, production.gcp.region and production.names.service in ci/pipeline.yaml, and that terraform/gcp created the service.",
  7: "Grant the deploy service account roles/run.developer on the service and roles/iam.serviceAccountUser on the runtime service account.",
  8: "A Cloud Run quota was hit; wait and re-run, or raise the quota.",
  10: "The service kept changing while this run updated it (another deploy?); re-run when it is quiet.",
  14: "Cloud Run was unavailable; re-run.",
  16: "The GCP credentials were refused (expired token or disabled key); refresh --gcp-access-token or the key.",
}

function codeOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === "number" ? code : undefined
}

/** Wraps an SDK error with what was being done and what to do about it. */
function apiError(doing: string, err: unknown, revision?: string): CloudRunError {
  const code = codeOf(err)
  const name = code !== undefined ? `${CODE_NAMES[code] ?? code} (code ${code})` : "an unexpected error"
  const hint = code !== undefined ? HINTS[code] ?? "" : ""
  const kind: CloudRunFailureKind = code === 5 ? "not-found" : "rejected"
  return new CloudRunError(kind, `Cloud Run ${doing} failed with ${name}: ${firstLine(err)}${hint ? ` ${hint}` : ""}`, {
    code,
    revision,
  })
}

// ---------------------------------------------------------------------------------------------------
// Operations

/** Which service, where. */
export interface CloudRunTarget {
  project: string
  region: string
  service: string
}

/** Polling of long-running operations and readiness. */
export interface PollSettings {
  /** First pause before polling an operation, ms. Default 500. */
  initialDelayMs?: number
  /** Growth of the pause between polls. Default 1.5. */
  multiplier?: number
  /** Longest pause between polls, ms. Default 2000. */
  maxDelayMs?: number
}

export interface CloudRunContext {
  clients: CloudRunClients
  target: CloudRunTarget
  poll?: PollSettings
  /** Random suffix for revision names (4 lower-case letters/digits). Default: crypto random. Tests fix it. */
  randomSuffix?: () => string
}

const DEFAULT_POLL: Required<PollSettings> = { initialDelayMs: 500, multiplier: 1.5, maxDelayMs: 2000 }

/** Attempts of a read-modify-write when the service changed underneath (ABORTED) or Cloud Run was unavailable. */
const UPDATE_ATTEMPTS = 3
const RETRYABLE_UPDATE = new Set([10, 14])

function serviceName(t: CloudRunTarget): string {
  return `projects/${t.project}/locations/${t.region}/services/${t.service}`
}

function lroOptions(ctx: CloudRunContext, timeoutMs: number) {
  const poll = { ...DEFAULT_POLL, ...ctx.poll }
  return {
    longrunning: {
      initialRetryDelayMillis: poll.initialDelayMs,
      retryDelayMultiplier: poll.multiplier,
      maxRetryDelayMillis: poll.maxDelayMs,
      totalTimeoutMillis: Math.max(1, timeoutMs),
    },
  }
}

function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`
}

function requireBudget(timeoutMs: number, what: string): void {
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new CloudRunInputError(`${what}: the time budget must be a positive number of ms, got ${timeoutMs}`)
  }
}

/** Reads the service. A missing service is an error that says how to create it. */
export async function getService(ctx: CloudRunContext): Promise<Service> {
  try {
    const [service] = await ctx.clients.services.getService({ name: serviceName(ctx.target) })
    return service
  } catch (err) {
    if (codeOf(err) === 5) {
      const t = ctx.target
      throw new CloudRunError(
        "not-found",
        `Cloud Run service '${t.service}' does not exist in project '${t.project}', region '${t.region}'. ` +
          "Create it with Terraform (terraform/gcp) first, or fix production.names.service / production.gcp.* in ci/pipeline.yaml.",
        { code: 5 },
      )
    }
    throw apiError(`reading service '${ctx.target.service}'`, err)
  }
}

/** Which revisions hold traffic now, which tags point where, and the service URL. */
export async function readServiceTraffic(ctx: CloudRunContext, canaryTag?: string): Promise<TrafficReading & { serviceUrl?: string }> {
  const service = await getService(ctx)
  return { ...readTraffic(service, { canaryTag }), serviceUrl: service.uri ?? undefined }
}

/** A Revision's readiness as a verdict (pure). */
export function revisionVerdict(revision: { name?: string | null; conditions?: ConditionView[] | null }): Verdict {
  const ready = (revision.conditions ?? []).find((c) => c.type === "Ready")
  const name = shortName(revision.name) ?? "revision"
  const state = conditionState(ready)
  const message = ready?.message ? `: ${ready.message}` : ""
  if (state === "succeeded") return { state: "success", detail: `${name} is ready` }
  if (state === "failed") return { state: "failure", kind: "deployment-failed", detail: `${name} failed to become ready${message}` }
  return { state: "pending", detail: `${name} is ${state === "unknown" ? "not reporting readiness yet" : state}${message}` }
}

/** A revision's verdict and a sentence about it for error messages (with its logs link). */
async function describeRevision(ctx: CloudRunContext, short: string): Promise<{ text: string; verdict?: Verdict }> {
  try {
    const [rev] = await ctx.clients.revisions.getRevision({ name: `${serviceName(ctx.target)}/revisions/${short}` })
    const verdict = revisionVerdict(rev)
    return { text: `${verdict.detail}${rev.logUri ? ` (logs: ${rev.logUri})` : ""}`, verdict }
  } catch (err) {
    return { text: `${short}: its state could not be read (${firstLine(err)})` }
  }
}

function toProtoTarget(t: TrafficTarget): protos.google.cloud.run.v2.ITrafficTarget {
  return t.revision === undefined
    ? { type: "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", percent: t.percent, tag: t.tag ?? "" }
    : { type: "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION", revision: t.revision, percent: t.percent, tag: t.tag ?? "" }
}

/** Fields a caller may set on a Service; output-only ones (status, uri, conditions...) are not sent back. */
const WRITABLE: ReadonlyArray<keyof Service> = [
  "name", "description", "labels", "annotations", "client", "clientVersion", "ingress", "launchStage",
  "binaryAuthorization", "template", "traffic", "scaling", "invokerIamDisabled", "defaultUriDisabled",
  "customAudiences", "iapEnabled", "multiRegionSettings", "buildConfig", "etag",
]

function writable(service: Service): Service {
  const out: Record<string, unknown> = {}
  for (const key of WRITABLE) if (service[key] !== undefined && service[key] !== null) out[key] = service[key]
  return out as Service
}

interface UpdateOutcome {
  result: Service
  plan: PlannedTraffic
}

/**
 * Read-modify-write of the service with the etag it was read with, then waits for the operation. An
 * ABORTED (the service changed meanwhile) or UNAVAILABLE answer re-reads and re-plans, a bounded number
 * of times; `change` is written so that applying it twice is harmless.
 */
async function updateService(
  ctx: CloudRunContext,
  doing: string,
  timeoutMs: number,
  change: (current: Service) => { service: Service; plan: PlannedTraffic; revision?: string },
): Promise<UpdateOutcome>
async function updateService(
  ctx: CloudRunContext,
  doing: string,
  timeoutMs: number,
  change: (current: Service) => { service: Service; plan: PlannedTraffic; revision?: string } | undefined,
): Promise<UpdateOutcome | undefined>
async function updateService(
  ctx: CloudRunContext,
  doing: string,
  timeoutMs: number,
  change: (current: Service) => { service: Service; plan: PlannedTraffic; revision?: string } | undefined,
): Promise<UpdateOutcome | undefined> {
  for (let attempt = 1; ; attempt++) {
    const current = await getService(ctx)
    const planned = change(current)
    if (!planned) return undefined
    const { service, plan, revision } = planned
    const started = await ctx.clients.services
      .updateService({ service }, lroOptions(ctx, timeoutMs))
      .then(([op]) => ({ op }), (err: unknown) => ({ err }))
    if ("err" in started) {
      const code = codeOf(started.err)
      if (code !== undefined && RETRYABLE_UPDATE.has(code) && attempt < UPDATE_ATTEMPTS) {
        await new Promise((resolve) => setTimeout(resolve, attempt * { ...DEFAULT_POLL, ...ctx.poll }.initialDelayMs))
        continue
      }
      throw apiError(doing, started.err, revision)
    }
    try {
      const [result] = await started.op.promise()
      return { result, plan }
    } catch (err) {
      const code = codeOf(err)
      const t = ctx.target
      const about = revision ? await describeRevision(ctx, revision) : undefined
      const where = about ? ` Candidate ${about.text}.` : ""
      if (code === 4 || /total timeout/i.test(firstLine(err))) {
        throw new CloudRunError(
          "timed-out",
          `Cloud Run ${doing} did not finish within ${seconds(timeoutMs)}.${where} ` +
            `Traffic stays where Cloud Run last reported it; check 'gcloud run services describe ${t.service} --region ${t.region}'.`,
          { code, revision },
        )
      }
      const failed = about?.verdict?.state === "failure"
      throw new CloudRunError(
        failed ? "revision-failed" : "operation-failed",
        `Cloud Run ${doing} failed: ${firstLine(err)} (${code !== undefined ? CODE_NAMES[code] ?? code : "no code"}).${where}` +
          (failed ? " The previous revision keeps serving; fix the image or its settings and deploy again." : ` ${HINTS[code ?? -1] ?? ""}`.trimEnd()),
        { code, revision },
      )
    }
  }
}

/** Reads the observed traffic back and fails unless it is what was planned. */
async function verifyTraffic(ctx: CloudRunContext, doing: string, plan: PlannedTraffic, canaryTag?: string): Promise<TrafficReading & { serviceUrl?: string }> {
  const reading = await readServiceTraffic(ctx, canaryTag)
  const problems = trafficMismatches(reading, plan.expected)
  if (problems.length > 0) {
    throw new CloudRunError(
      "traffic-mismatch",
      `after ${doing}, Cloud Run reports traffic ${describeTraffic(reading)}: ${problems.join("; ")}. ` +
        "Someone else may have changed the service at the same time; check it and re-run.",
    )
  }
  return reading
}

function randomSuffix(): string {
  const bytes = new Uint8Array(4)
  crypto.getRandomValues(bytes)
  return [...bytes].map((b) => "abcdefghijklmnopqrstuvwxyz0123456789"[b % 36]).join("")
}

export interface CandidateInput {
  /** Image pinned by digest: registry/repository@sha256:<64 hex>. */
  image: string
  /** Traffic tag for the candidate's own URL (tag + service name ≤ 46 characters). */
  tag: string
  /** Readable part of the revision name, e.g. the version. */
  label: string
  /** Environment variables set on the first container (e.g. APP_VERSION, APP_COMMIT); others are kept. */
  env?: Record<string, string>
  /** Labels set on the revision (e.g. commit); others are kept. */
  labels?: Record<string, string>
  /** Time budget for the operation and readiness, ms. */
  timeoutMs: number
}

export interface CandidateDeployment {
  /** The candidate revision (short name). */
  revision: string
  /** The candidate's tagged URL: reaches only the candidate. */
  url: string
  /** The service URL (serves the previous revision until traffic shifts). */
  serviceUrl: string
  /** The revision serving 100 % while the candidate is checked: what a rollback returns to. */
  previous: string
  /** The image deployed (digest reference). */
  image: string
  traffic: TrafficReading
  /** Things found and fixed on the way (a split left by an earlier run, a moved tag). */
  notices: string[]
}

/**
 * Creates a revision of `image` that receives NO traffic, reachable only at its tag URL; the previous
 * revision keeps (or is put back to) 100 %. Waits for the operation and the revision's readiness.
 */
export async function deployCandidate(ctx: CloudRunContext, input: CandidateInput): Promise<CandidateDeployment> {
  const image = validateCandidate({ service: ctx.target.service, tag: input.tag, image: input.image })
  requireBudget(input.timeoutMs, "deploying the candidate")
  const started = Date.now()
  const revision = candidateRevisionName(ctx.target.service, input.label, (ctx.randomSuffix ?? randomSuffix)())
  const doing = `deploying revision ${revision} of '${ctx.target.service}'`
  const { result, plan } = await updateService(ctx, doing, input.timeoutMs, (current) => {
    const plan = planCandidateTraffic(readTraffic(current, { canaryTag: input.tag }), { candidate: revision, tag: input.tag })
    const template = current.template ?? {}
    const [first, ...rest] = template.containers ?? []
    if (!first) {
      throw new CloudRunError("rejected", `service '${ctx.target.service}' has no container in its template; re-create it with Terraform (terraform/gcp).`)
    }
    const env = (first.env ?? []).filter((e) => !(e.name && input.env && e.name in input.env))
    for (const [name, value] of Object.entries(input.env ?? {})) env.push({ name, value })
    const service: Service = {
      ...writable(current),
      client: "portfolio-pipeline",
      template: {
        ...template,
        revision,
        labels: { ...(template.labels ?? {}), ...(input.labels ?? {}) },
        containers: [{ ...first, image, env }, ...rest],
      },
      traffic: plan.targets.map(toProtoTarget),
    }
    return { service, plan, revision }
  })

  // The operation is done, so Cloud Run considers the service reconciled; confirm the candidate itself.
  const name = `${serviceName(ctx.target)}/revisions/${revision}`
  const remaining = Math.max(1, input.timeoutMs - (Date.now() - started))
  const ready = await waitForVerdict(
    async () => {
      try {
        return (await ctx.clients.revisions.getRevision({ name }))[0]
      } catch (err) {
        throw apiError(`reading revision ${revision}`, err, revision)
      }
    },
    revisionVerdict,
    { budgetMs: remaining, intervalMs: { ...DEFAULT_POLL, ...ctx.poll }.maxDelayMs },
  )
  if (ready.verdict.state === "failure") {
    throw new CloudRunError(
      ready.verdict.kind === "timed-out" ? "timed-out" : "revision-failed",
      `candidate revision ${revision} is not ready: ${ready.verdict.detail}. The previous revision keeps serving.`,
      { revision },
    )
  }

  const reading = await verifyTraffic(ctx, doing, plan, input.tag)
  const tagged = reading.tags.find((t) => t.tag === input.tag)
  if (!tagged || tagged.revision !== revision || !tagged.uri) {
    throw new CloudRunError(
      "traffic-mismatch",
      `after ${doing}, tag '${input.tag}' ${tagged ? `points at ${tagged.revision}${tagged.uri ? "" : " without a URL"}` : "is missing"}; expected ${revision} with a URL.`,
      { revision },
    )
  }
  return {
    revision,
    url: tagged.uri,
    serviceUrl: reading.serviceUrl ?? result.uri ?? "",
    previous: [...plan.expected.keys()][0]!,
    image,
    traffic: reading,
    notices: plan.notices,
  }
}

export interface TrafficChange {
  /** Traffic as Cloud Run reports it after the change. */
  traffic: TrafficReading
  notices: string[]
}

/**
 * Puts `percent` % of traffic on the candidate and the rest on the previous revision (at 100 % the
 * previous revision leaves the list), then reads it back.
 */
export async function shiftTraffic(
  ctx: CloudRunContext,
  input: { candidate: string; previous: string; percent: number; tag: string; timeoutMs: number },
): Promise<TrafficChange> {
  validateTag(ctx.target.service, input.tag)
  requireBudget(input.timeoutMs, `shifting ${input.percent} % to ${input.candidate}`)
  const doing = `shifting ${input.percent} % of traffic to ${input.candidate}`
  const { plan } = await updateService(ctx, doing, input.timeoutMs, (current) => {
    const plan = planTrafficShift(readTraffic(current, { canaryTag: input.tag }), {
      candidate: input.candidate,
      stable: input.previous,
      percent: input.percent,
      tag: input.tag,
    })
    return { service: { ...writable(current), traffic: plan.targets.map(toProtoTarget) }, plan }
  })
  return { traffic: await verifyTraffic(ctx, doing, plan, input.tag), notices: plan.notices }
}

/** Sends 100 % back to `to` (the previous revision) and removes the canary tag, then reads it back. */
export async function rollBack(ctx: CloudRunContext, input: { to: string; tag?: string; timeoutMs: number }): Promise<TrafficChange> {
  requireBudget(input.timeoutMs, `rolling back to ${input.to}`)
  const doing = `rolling back to ${input.to}`
  const { plan } = await updateService(ctx, doing, input.timeoutMs, (current) => {
    const plan = planRollback(readTraffic(current, { canaryTag: input.tag }), {
      to: input.to,
      removeTags: input.tag ? [input.tag] : [],
    })
    return { service: { ...writable(current), traffic: plan.targets.map(toProtoTarget) }, plan }
  })
  return { traffic: await verifyTraffic(ctx, doing, plan, input.tag), notices: plan.notices }
}

/** Removes a traffic tag (its URL stops working), leaving percentages as they are. No-op when absent. */
export async function removeTag(ctx: CloudRunContext, input: { tag: string; timeoutMs: number }): Promise<TrafficChange> {
  requireBudget(input.timeoutMs, `removing tag '${input.tag}'`)
  const doing = `removing tag '${input.tag}'`
  const outcome = await updateService(ctx, doing, input.timeoutMs, (current) => {
    const plan = planTagRemoval(readTraffic(current), input.tag)
    return plan && { service: { ...writable(current), traffic: plan.targets.map(toProtoTarget) }, plan }
  })
  if (!outcome) return { traffic: await readServiceTraffic(ctx), notices: [`tag '${input.tag}' was not set; nothing to remove`] }
  const traffic = await verifyTraffic(ctx, doing, outcome.plan)
  if (traffic.tags.some((t) => t.tag === input.tag)) {
    throw new CloudRunError("traffic-mismatch", `after ${doing}, Cloud Run still reports tag '${input.tag}'.`)
  }
  return { traffic, notices: outcome.plan.notices }
}
