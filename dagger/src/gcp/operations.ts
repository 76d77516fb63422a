// Cloud Run's long-running operations and reads: the service and its revisions by name, and the one way
// this module writes a service: read-modify-write with the etag it was read with, waiting for the
// operation, re-planning when Cloud Run reports the service changed underneath.
//
// How a write is judged: the update's long-running operation completes only once Cloud Run has
// reconciled the service (the candidate revision is ready, the routes are programmed); then the observed
// traffic (trafficStatuses, never the requested `traffic`) is read back and compared with the plan.
//
// Cancellation: every function takes the step's AbortSignal. The SDK's calls take none, so each is raced
// with the signal (the request may still finish in the background; a read is harmless, and a write sent
// before the abort is the last one), the signal is checked right before every write, and no retry pause,
// operation poll or re-read starts after it aborted. An aborted call rejects with the signal's reason.
import type { protos } from "#google-cloud/run"
import type { ExpectedRelease } from "../health/verdict.js"
import { releaseFromEnvironment, type ServingRelease } from "../deploy/release-order.js"
import { sleep, timeBudget } from "../shared/wait.js"
import { firstLine } from "../shared/text.js"
import type { CloudRunClients } from "./connect.js"
import { apiError, Code, codeOf, CloudRunError, operationError } from "./errors.js"
import {
  CloudRunInputError,
  describeTraffic,
  type PlannedTraffic,
  readTraffic,
  revisionVerdict,
  type TrafficReading,
  type TrafficTarget,
  trafficMismatches,
} from "./traffic.js"
import { readGcpCredentials, type GcpSecrets } from "../config/credentials.js"
import type { Settings } from "../config/settings.js"
import { connectCloudRun } from "./connect.js"

export type Service = protos.google.cloud.run.v2.IService
export type Revision = protos.google.cloud.run.v2.IRevision

/** Which service, where. */
export interface CloudRunTarget {
  project: string
  region: string
  service: string
}

/** Polling of long-running operations and readiness. */
export interface PollSettings {
  /** First pause between polls of an operation (the first poll is at once), ms; also the unit of the pause before retrying a write. Default 500. */
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
}

/** A candidate revision deployed with no traffic, as Cloud Run reports it. */
export interface CandidateDeployment {
  /** The candidate revision (short name). */
  revision: string
  /** The candidate's tagged URL: reaches only the candidate. */
  url: string
  /** The service URL (serves the previous revision until traffic shifts). */
  serviceUrl: string
  /** The revision serving 100 % while the candidate is checked: what a rollback returns to. */
  previous: string
  /**
   * The release `previous` runs (its first container's APP_VERSION / APP_COMMIT): what a rollback must be
   * seen serving. Absent when that revision names none, or when there is no earlier revision.
   */
  previousRelease?: Required<ExpectedRelease>
  /** The image deployed (digest reference). */
  image: string
  traffic: TrafficReading
  /** Things found and fixed on the way (a split left by an earlier run, a moved tag). */
  notices: string[]
}

/** A traffic step or rollback, as Cloud Run reports it afterwards. */
export interface TrafficChange {
  /** Traffic as Cloud Run reports it after the change. */
  traffic: TrafficReading
  notices: string[]
}

const DEFAULT_POLL: Required<PollSettings> = { initialDelayMs: 500, multiplier: 1.5, maxDelayMs: 2000 }

/** The context's poll settings with every default filled in. */
export function pollSettings(ctx: CloudRunContext): Required<PollSettings> {
  return { ...DEFAULT_POLL, ...ctx.poll }
}

/** Attempts of a read-modify-write when the service changed underneath (ABORTED) or Cloud Run was unavailable. */
const UPDATE_ATTEMPTS = 3
const RETRYABLE_UPDATE = new Set<number>([Code.ABORTED, Code.UNAVAILABLE])

export function serviceName(t: CloudRunTarget): string {
  return `projects/${t.project}/locations/${t.region}/services/${t.service}`
}

/** Refuses a time budget that is not a positive number of ms, naming what it was for. */
export function requireBudget(timeoutMs: number, what: string): void {
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new CloudRunInputError(`${what}: the time budget must be a positive number of ms, got ${timeoutMs}`)
  }
}

/**
 * Resolves like `work`, or rejects with the signal's reason as soon as it aborts (google-gax calls take no
 * AbortSignal). The work is not stopped, only no longer awaited.
 */
export async function abortable<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  // A loser of the race that fails later must not surface as unhandled.
  work.catch(() => undefined)
  signal.throwIfAborted()
  let onAbort: (() => void) | undefined
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason)
    signal.addEventListener("abort", onAbort, { once: true })
  })
  try {
    return await Promise.race([work, aborted])
  } finally {
    signal.removeEventListener("abort", onAbort!)
  }
}

/** Reads the service. A missing service is an error that says how to create it. */
export async function getService(ctx: CloudRunContext, signal: AbortSignal): Promise<Service> {
  try {
    const [service] = await abortable(ctx.clients.services.getService({ name: serviceName(ctx.target) }), signal)
    return service
  } catch (err) {
    if (signal.aborted) throw signal.reason
    if (codeOf(err) === Code.NOT_FOUND) {
      const t = ctx.target
      throw new CloudRunError(
        "not-found",
        `Cloud Run service '${t.service}' does not exist in project '${t.project}', region '${t.region}'. ` +
          "Create it with Terraform (terraform/gcp) first, or fix production.names.service / production.gcp.* in ci/pipeline.yaml.",
        { code: Code.NOT_FOUND },
      )
    }
    throw apiError(`reading service '${ctx.target.service}'`, err)
  }
}

async function readRevision(ctx: CloudRunContext, short: string, signal: AbortSignal): Promise<Revision> {
  return (await abortable(ctx.clients.revisions.getRevision({ name: `${serviceName(ctx.target)}/revisions/${short}` }), signal))[0]
}

/** Reads a revision of the service by its short name. */
export async function getRevision(ctx: CloudRunContext, short: string, signal: AbortSignal): Promise<Revision> {
  try {
    return await readRevision(ctx, short, signal)
  } catch (err) {
    if (signal.aborted) throw signal.reason
    throw apiError(`reading revision ${short}`, err, short)
  }
}

/**
 * The release production serves: the environment of the revision holding the most traffic (first
 * container; readTraffic's `stable`), named "revision <name>". Undefined when the service does not exist
 * yet or no revision holds traffic. Read-only.
 */
export async function readServingRelease(ctx: CloudRunContext, canaryTag: string, signal: AbortSignal): Promise<ServingRelease | undefined> {
  let service: Service
  try {
    service = await getService(ctx, signal)
  } catch (err) {
    if (err instanceof CloudRunError && err.kind === "not-found") return undefined
    throw err
  }
  const { stable } = readTraffic(service, { canaryTag })
  if (!stable) return undefined
  const revision = await getRevision(ctx, stable, signal)
  return releaseFromEnvironment(`revision ${stable}`, revision.containers?.[0]?.env ?? [])
}

/** Which revisions hold traffic now, which tags point where, and the service URL. */
export async function readServiceTraffic(
  ctx: CloudRunContext,
  canaryTag: string | undefined,
  signal: AbortSignal,
): Promise<TrafficReading & { serviceUrl?: string }> {
  const service = await getService(ctx, signal)
  return { ...readTraffic(service, { canaryTag }), serviceUrl: service.uri ?? undefined }
}

/** A sentence about a revision for error messages (with its logs link), and whether it failed. */
async function describeRevision(ctx: CloudRunContext, short: string, signal: AbortSignal): Promise<{ text: string; failed: boolean }> {
  try {
    const rev = await readRevision(ctx, short, signal)
    const verdict = revisionVerdict(rev)
    return { text: `${verdict.detail}${rev.logUri ? ` (logs: ${rev.logUri})` : ""}`, failed: verdict.state === "failure" }
  } catch (err) {
    if (signal.aborted) throw signal.reason
    return { text: `${short}: its state could not be read (${firstLine(err)})`, failed: false }
  }
}

/** A planned traffic target as the v2 API takes it. */
export function toProtoTarget(t: TrafficTarget): protos.google.cloud.run.v2.ITrafficTarget {
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

/** The writable part of a service as read (its etag included), to send back with changes. */
export function writable(service: Service): Service {
  const out: Record<string, unknown> = {}
  for (const key of WRITABLE) if (service[key] !== undefined && service[key] !== null) out[key] = service[key]
  return out as Service
}

/** A planned write: the service to send, the traffic it should produce, the candidate it creates (if any). */
export interface PlannedWrite {
  service: Service
  plan: PlannedTraffic
  revision?: string
}

/** What a write is for, how long its operation may take, and the step's signal. */
export interface WriteOptions {
  /** For messages, e.g. "shifting 10 % of traffic to portfolio-1-2-0-x1y2". */
  doing: string
  /** Time budget of each attempt's operation, ms. */
  timeoutMs: number
  signal: AbortSignal
}

/**
 * Read-modify-write of the service with the etag it was read with, then waits for the operation. An
 * ABORTED (the service changed meanwhile) or UNAVAILABLE answer re-reads and re-plans, a bounded number
 * of times, pausing a little longer each time; `change` is written so that applying it twice is harmless.
 * Once the signal aborts nothing more is sent: no write, no re-read, no retry, no poll.
 */
export async function updateService(
  ctx: CloudRunContext,
  write: WriteOptions,
  change: (current: Service) => PlannedWrite,
): Promise<{ result: Service; plan: PlannedTraffic }> {
  const { doing, timeoutMs, signal } = write
  for (let attempt = 1; ; attempt++) {
    const { service, plan, revision } = change(await getService(ctx, signal))
    // The last moment to notice a cancelled step before Cloud Run is changed.
    signal.throwIfAborted()
    const started = await abortable(ctx.clients.services.updateService({ service }), signal).then(
      ([op]) => ({ op }),
      (err: unknown) => ({ err }),
    )
    if ("err" in started) {
      // Cancelled while the write was on its way: it is the last one; never retried.
      if (signal.aborted) throw signal.reason
      const code = codeOf(started.err)
      if (code !== undefined && RETRYABLE_UPDATE.has(code) && attempt < UPDATE_ATTEMPTS) {
        await sleep(attempt * pollSettings(ctx).initialDelayMs, signal)
        continue
      }
      throw apiError(doing, started.err, revision)
    }
    try {
      return { result: await waitForOperation(ctx, started.op, timeoutMs, signal), plan }
    } catch (err) {
      if (signal.aborted) throw signal.reason
      const t = ctx.target
      const candidate = revision ? await describeRevision(ctx, revision, signal) : undefined
      throw operationError({ doing, err, timeoutMs, service: t.service, region: t.region, revision, candidate })
    }
  }
}

/** The long-running operation an update answers (only what is polled here). */
interface UpdateOperation {
  name?: string | null
  getOperation(): Promise<unknown>
}

/**
 * Polls an update's operation until it is done, backing off from initialDelayMs by `multiplier` up to
 * maxDelayMs. Rejects with Cloud Run's error when the operation failed, with DEADLINE_EXCEEDED when
 * `timeoutMs` is spent, and with the signal's reason as soon as it aborts (no poll starts after that).
 * Polled here rather than by the SDK's `promise()`, which cannot be stopped without cancelling the
 * operation itself (a write).
 */
export async function waitForOperation(ctx: CloudRunContext, op: UpdateOperation, timeoutMs: number, signal: AbortSignal): Promise<Service> {
  const poll = pollSettings(ctx)
  const budget = timeBudget(timeoutMs)
  for (let pause = poll.initialDelayMs; ; pause = Math.min(pause * poll.multiplier, poll.maxDelayMs)) {
    signal.throwIfAborted()
    // google-gax answers [decoded result, metadata, raw operation]; it rejects when the operation failed.
    const [result, , raw] = (await abortable(op.getOperation(), signal)) as [Service | null, unknown, { done?: boolean | null } | undefined]
    if (raw?.done) return result ?? {}
    const left = budget.remainingMs()
    if (left <= 0) {
      throw Object.assign(new Error(`Total timeout exceeded: operation ${op.name ?? "(unnamed)"} was still running`), {
        code: Code.DEADLINE_EXCEEDED,
      })
    }
    await sleep(Math.min(pause, left), signal)
  }
}

/** Reads the observed traffic back and fails unless it is what was planned. */
export async function verifyTraffic(
  ctx: CloudRunContext,
  doing: string,
  plan: PlannedTraffic,
  canaryTag: string | undefined,
  signal: AbortSignal,
  /** Further read-back checks (a preview's tags), each problem one line. */
  alsoCheck: (reading: TrafficReading) => string[] = () => [],
): Promise<TrafficReading & { serviceUrl?: string }> {
  const reading = await readServiceTraffic(ctx, canaryTag, signal)
  const problems = [...trafficMismatches(reading, plan.expected), ...alsoCheck(reading)]
  if (problems.length > 0) {
    throw new CloudRunError(
      "traffic-mismatch",
      `after ${doing}, Cloud Run reports traffic ${describeTraffic(reading)}: ${problems.join("; ")}. ` +
        "Someone else may have changed the service at the same time; check it and re-run.",
    )
  }
  return reading
}

/** A random suffix for a revision name (4 lower-case letters or digits), so two runs never name one alike. */
export function randomRevisionSuffix(): string {
  const bytes = new Uint8Array(4)
  crypto.getRandomValues(bytes)
  return [...bytes].map((b) => "abcdefghijklmnopqrstuvwxyz0123456789"[b % 36]).join("")
}

/**
 * The production service of ci/pipeline.yaml (production.gcp.*, production.names.service), connected: what the
 * production deploy and the previews both work on. Connecting checks the GCP credential's form (a key must be a
 * service-account key) without a request; close its clients when done.
 */
export async function connectProductionContext(settings: Settings, secrets: GcpSecrets): Promise<CloudRunContext> {
  const p = settings.production
  const clients = await connectCloudRun({ auth: await readGcpCredentials(secrets, "for Cloud Run"), endpoint: p.gcp.cloudRunEndpoint })
  return { clients, target: { project: p.gcp.project, region: p.gcp.region, service: p.names.service } }
}
