// The production service on Cloud Run: implements deploy/production.ts's CloudRunPort directly over the
// v2 clients. A candidate revision with no traffic behind a tag, traffic moved in canary steps and read
// back, rollback, and the service's size for the cost estimate. Every decision is a pure function in
// traffic.ts; the reads and the one way of writing the service are in operations.ts.
//
// Every method takes the step's AbortSignal and passes it to every read, write, poll and wait
// (operations.ts): once it aborts the method rejects with its reason and sends nothing more to Cloud Run.
import type { CloudRunFacts, CloudRunPort } from "../deploy/production.js"
import type { ServingRelease } from "../deploy/release-order.js"
import { readGcpCredentials, type GcpSecrets } from "../config/credentials.js"
import { stepTimeoutMs, type Settings } from "../config/settings.js"
import { timeBudget } from "../shared/wait.js"
import { CloudRunError } from "./errors.js"
import {
  type CandidateDeployment,
  type CloudRunContext,
  getRevision,
  getService,
  readServingRelease,
  requireBudget,
  type Service,
  toProtoTarget,
  type TrafficChange,
  updateService,
  verifyTraffic,
  writable,
} from "./operations.js"
import {
  candidateRevisionName,
  planCandidateTraffic,
  planRollback,
  planTrafficShift,
  readTraffic,
  revisionRelease,
  validateCandidate,
  validateTag,
} from "./traffic.js"
import { connectProductionContext, randomRevisionSuffix } from "./operations.js"
import { requireRevisionReady, revisionTemplate } from "./revision.js"
import { readCloudRunDiagnostics } from "./diagnostics.js"
import type { Diagnostic } from "../report/run-record.js"
import { connectMonitoring, type MonitoringClient, readServedTraffic, type ServedTraffic } from "./served-traffic.js"
import { firstLine } from "../shared/text.js"

export interface ProductionServiceOptions {
  /** Time budget of the candidate deploy (operation and readiness) and of each traffic step, ms. */
  rolloutMs: number
  /** Time budget of a rollback, ms. */
  rollbackMs: number
  /** Random suffix for revision names (4 lower-case letters/digits). Default: crypto random. */
  randomSuffix?: () => string
  /**
   * Connects the Cloud Monitoring client the served-traffic readings use, on the first reading only (its
   * SDK is not loaded otherwise). Without it every reading is no signal, saying so.
   */
  connectMonitoring?: () => Promise<MonitoringClient>
}

/** Written on the service as its `client`, so the console shows who made the last revision. */
const CLIENT = "portfolio-pipeline"

export class ProductionService implements CloudRunPort {
  private readonly options: Omit<Required<ProductionServiceOptions>, "connectMonitoring"> & Pick<ProductionServiceOptions, "connectMonitoring">
  private monitoring?: Promise<MonitoringClient>

  constructor(
    readonly ctx: CloudRunContext,
    options: ProductionServiceOptions,
  ) {
    requireBudget(options.rolloutMs, "deploying the candidate and shifting traffic")
    requireBudget(options.rollbackMs, "rolling back")
    this.options = { randomSuffix: randomRevisionSuffix, ...options }
  }

  /**
   * Creates a revision of `image` that receives NO traffic, reachable only at its tag URL; the previous
   * revision keeps (or is put back to) 100 %. Waits for the operation and the revision's readiness.
   * `env` is set on the first container, other variables are kept. Reads the release the previous
   * revision runs, for the rollback to prove.
   */
  async deployCandidate(
    input: { image: string; tag: string; label: string; env: Record<string, string> },
    signal: AbortSignal,
  ): Promise<CandidateDeployment> {
    const { ctx } = this
    const service = ctx.target.service
    const image = validateCandidate({ service, tag: input.tag, image: input.image })
    const budget = timeBudget(this.options.rolloutMs)
    const revision = candidateRevisionName(service, input.label, this.options.randomSuffix())
    const doing = `deploying revision ${revision} of '${service}'`
    const { result, plan } = await updateService(ctx, { doing, timeoutMs: this.options.rolloutMs, signal }, (current) => {
      const plan = planCandidateTraffic(readTraffic(current, { canaryTag: input.tag }), { candidate: revision, tag: input.tag })
      const next: Service = {
        ...writable(current),
        client: CLIENT,
        template: revisionTemplate(current, { service, revision, image, env: input.env }),
        traffic: plan.targets.map(toProtoTarget),
      }
      return { service: next, plan, revision }
    })

    // The operation is done, so Cloud Run considers the service reconciled; confirm the candidate itself.
    await requireRevisionReady(ctx, { revision, what: "candidate revision", unchanged: "The previous revision keeps serving." }, budget, signal)

    const reading = await verifyTraffic(ctx, doing, plan, input.tag, signal)
    const tagged = reading.tags.find((t) => t.tag === input.tag)
    if (!tagged || tagged.revision !== revision || !tagged.uri) {
      throw new CloudRunError(
        "traffic-mismatch",
        `after ${doing}, tag '${input.tag}' ${tagged ? `points at ${tagged.revision}${tagged.uri ? "" : " without a URL"}` : "is missing"}; expected ${revision} with a URL.`,
        { revision },
      )
    }
    const previous = [...plan.expected.keys()][0]!
    // Known only from the revision itself: a rollback is proven when this release answers, not any.
    const previousRelease = previous === revision ? undefined : revisionRelease(await getRevision(ctx, previous, signal))
    return {
      revision,
      url: tagged.uri,
      serviceUrl: reading.serviceUrl ?? result.uri ?? "",
      previous,
      ...(previousRelease ? { previousRelease } : {}),
      image,
      traffic: reading,
      notices: plan.notices,
    }
  }

  /**
   * Puts `percent` % of traffic on the candidate and the rest on the previous revision (at 100 % the
   * previous revision leaves the list), then reads it back.
   */
  async shift(input: { candidate: string; previous: string; percent: number; tag: string }, signal: AbortSignal): Promise<TrafficChange> {
    const { ctx } = this
    validateTag(ctx.target.service, input.tag)
    const doing = `shifting ${input.percent} % of traffic to ${input.candidate}`
    const { plan } = await updateService(ctx, { doing, timeoutMs: this.options.rolloutMs, signal }, (current) => {
      const plan = planTrafficShift(readTraffic(current, { canaryTag: input.tag }), {
        candidate: input.candidate,
        stable: input.previous,
        percent: input.percent,
        tag: input.tag,
      })
      return { service: { ...writable(current), traffic: plan.targets.map(toProtoTarget) }, plan }
    })
    return { traffic: await verifyTraffic(ctx, doing, plan, input.tag, signal), notices: plan.notices }
  }

  /** Sends 100 % back to `to` (the previous revision) and removes the canary tag, then reads it back. */
  async rollBack(input: { to: string; tag?: string }, signal: AbortSignal): Promise<TrafficChange> {
    const { ctx } = this
    const doing = `rolling back to ${input.to}`
    const { plan } = await updateService(ctx, { doing, timeoutMs: this.options.rollbackMs, signal }, (current) => {
      const plan = planRollback(readTraffic(current, { canaryTag: input.tag }), {
        to: input.to,
        removeTags: input.tag ? [input.tag] : [],
      })
      return { service: { ...writable(current), traffic: plan.targets.map(toProtoTarget) }, plan }
    })
    return { traffic: await verifyTraffic(ctx, doing, plan, input.tag, signal), notices: plan.notices }
  }

  /** The release the revision holding traffic runs (operations.ts readServingRelease). */
  serving(input: { tag: string }, signal: AbortSignal): Promise<ServingRelease | undefined> {
    return readServingRelease(this.ctx, input.tag, signal)
  }

  /** The service's size as Cloud Run reports it (minimum instances, first container's limits). */
  async facts(signal: AbortSignal): Promise<CloudRunFacts> {
    const service = await getService(this.ctx, signal)
    const limits = service.template?.containers?.[0]?.resources?.limits ?? {}
    return {
      minInstances: service.template?.scaling?.minInstanceCount ?? 0,
      ...(limits["cpu"] ? { cpu: limits["cpu"] } : {}),
      ...(limits["memory"] ? { memory: limits["memory"] } : {}),
    }
  }

  /**
   * What Cloud Run served `revision` of this service between `from` and `to`, from Cloud Monitoring
   * (served-traffic.ts). Missing data, a refused or failed reading, or no way to connect is no signal
   * with the reason, never an error; rejects only with the signal's reason.
   */
  async servedTraffic(input: { revision: string; from: Date; to: Date }, signal: AbortSignal): Promise<ServedTraffic> {
    signal.throwIfAborted()
    const connect = this.options.connectMonitoring
    if (!connect) return { noSignal: "no Cloud Monitoring connection was configured for the production service" }
    this.monitoring ??= connect()
    let client: MonitoringClient
    try {
      client = await this.monitoring
    } catch (err) {
      return { noSignal: `could not connect to Cloud Monitoring: ${firstLine(err)}` }
    }
    const { project, region, service } = this.ctx.target
    return readServedTraffic({ client, project, region }, { ...input, service }, signal)
  }

  /**
   * What Cloud Run says after a failure: the candidate revision's conditions (the service's latest created
   * revision when no candidate is known), the service's terminal condition, a link to the revision's logs
   * (gcp/diagnostics.ts). Read-only.
   */
  diagnose(input: { revision?: string }, signal: AbortSignal): Promise<Diagnostic[]> {
    return readCloudRunDiagnostics(this.ctx, input, signal)
  }

  /** Releases the clients. */
  async close(): Promise<void> {
    const monitoring = this.monitoring?.catch(() => undefined)
    await Promise.all([this.ctx.clients.close(), monitoring?.then((m) => m?.close())])
  }
}

/**
 * The production service of ci/pipeline.yaml (production.gcp.*, production.names.service), with the
 * rollout and rollback budgets of timeouts.stepMinutes. Connecting checks the GCP credential's form (a
 * key must be a service-account key) without a request. Close it when done.
 */
export async function connectProductionService(settings: Settings, secrets: GcpSecrets): Promise<ProductionService> {
  return new ProductionService(await connectProductionContext(settings, secrets), {
    rolloutMs: stepTimeoutMs(settings, "rollout"),
    rollbackMs: stepTimeoutMs(settings, "rollback"),
    // The same endpoint setting as Cloud Run: locally one address stands in for every Google API.
    connectMonitoring: async () =>
      connectMonitoring({ auth: await readGcpCredentials(secrets, "for Cloud Monitoring"), endpoint: settings.production.gcp.cloudRunEndpoint }),
  })
}
