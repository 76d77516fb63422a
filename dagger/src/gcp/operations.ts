// Cloud Run's long-running operations and reads: the service and its revisions by name, and the one way
// this module writes a service: read-modify-write with the etag it was read with, waiting for the
// operation, re-planning when Cloud Run reports the service changed underneath.
//
// How a write is judged: the update's long-running operation completes only once Cloud Run has
// reconciled the service (the candidate revision is ready, the routes are programmed); then the observed
// traffic (trafficStatuses, never the requested `traffic`) is read back and compared with the plan.
import type { protos } from "#google-cloud/run"
import { sleep } from "../shared/wait.js"
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
  /** First pause before polling an operation, ms; also the unit of the pause before retrying a write. Default 500. */
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

function lroOptions(ctx: CloudRunContext, timeoutMs: number) {
  const poll = pollSettings(ctx)
  return {
    longrunning: {
      initialRetryDelayMillis: poll.initialDelayMs,
      retryDelayMultiplier: poll.multiplier,
      maxRetryDelayMillis: poll.maxDelayMs,
      totalTimeoutMillis: Math.max(1, timeoutMs),
    },
  }
}

/** Refuses a time budget that is not a positive number of ms, naming what it was for. */
export function requireBudget(timeoutMs: number, what: string): void {
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

async function readRevision(ctx: CloudRunContext, short: string): Promise<Revision> {
  return (await ctx.clients.revisions.getRevision({ name: `${serviceName(ctx.target)}/revisions/${short}` }))[0]
}

/** Reads a revision of the service by its short name. */
export async function getRevision(ctx: CloudRunContext, short: string): Promise<Revision> {
  try {
    return await readRevision(ctx, short)
  } catch (err) {
    throw apiError(`reading revision ${short}`, err, short)
  }
}

/** Which revisions hold traffic now, which tags point where, and the service URL. */
export async function readServiceTraffic(ctx: CloudRunContext, canaryTag?: string): Promise<TrafficReading & { serviceUrl?: string }> {
  const service = await getService(ctx)
  return { ...readTraffic(service, { canaryTag }), serviceUrl: service.uri ?? undefined }
}

/** A sentence about a revision for error messages (with its logs link), and whether it failed. */
async function describeRevision(ctx: CloudRunContext, short: string): Promise<{ text: string; failed: boolean }> {
  try {
    const rev = await readRevision(ctx, short)
    const verdict = revisionVerdict(rev)
    return { text: `${verdict.detail}${rev.logUri ? ` (logs: ${rev.logUri})` : ""}`, failed: verdict.state === "failure" }
  } catch (err) {
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

/**
 * Read-modify-write of the service with the etag it was read with, then waits for the operation. An
 * ABORTED (the service changed meanwhile) or UNAVAILABLE answer re-reads and re-plans, a bounded number
 * of times, pausing a little longer each time; `change` is written so that applying it twice is harmless.
 */
export async function updateService(
  ctx: CloudRunContext,
  doing: string,
  timeoutMs: number,
  change: (current: Service) => PlannedWrite,
): Promise<{ result: Service; plan: PlannedTraffic }> {
  for (let attempt = 1; ; attempt++) {
    const { service, plan, revision } = change(await getService(ctx))
    const started = await ctx.clients.services
      .updateService({ service }, lroOptions(ctx, timeoutMs))
      .then(([op]) => ({ op }), (err: unknown) => ({ err }))
    if ("err" in started) {
      const code = codeOf(started.err)
      if (code !== undefined && RETRYABLE_UPDATE.has(code) && attempt < UPDATE_ATTEMPTS) {
        await sleep(attempt * pollSettings(ctx).initialDelayMs)
        continue
      }
      throw apiError(doing, started.err, revision)
    }
    try {
      const [result] = await started.op.promise()
      return { result, plan }
    } catch (err) {
      const t = ctx.target
      const candidate = revision ? await describeRevision(ctx, revision) : undefined
      throw operationError({ doing, err, timeoutMs, service: t.service, region: t.region, revision, candidate })
    }
  }
}

/** Reads the observed traffic back and fails unless it is what was planned. */
export async function verifyTraffic(
  ctx: CloudRunContext,
  doing: string,
  plan: PlannedTraffic,
  canaryTag?: string,
): Promise<TrafficReading & { serviceUrl?: string }> {
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
