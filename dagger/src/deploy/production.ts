// deploy-production, the sequence. First the release order (refuse a commit older than what serves,
// release-order.ts; a refusal changes nothing, staging included). Then in parallel: (a) stop AWS staging (scale to 0, previous count
// remembered) unless --skip-aws-stop, and (b) build → tests ∥ scan ∥ SBOM → publish to Artifact
// Registry by digest. Then Terraform (adopt-or-create, plan, apply) → candidate revision with 0 %
// behind the canary tag → health check on the tag URL requiring the new version → traffic in steps
// (production.canary.steps or --canary-steps; pause, health check and traffic analysis at each) → on failure all traffic
// back to the previous revision, verified by its own release (version and commit) answering → cost → notify → the run record.
//
// A failed or impossible AWS stop never fails production: it is a warning in the report.
//
// Interrupted runs (Ctrl-C, the run timeout, a lost runner): traffic may be left split between the
// previous revision and a candidate. Nothing needs manual repair: the next run reads the traffic,
// treats the revision with the most traffic as the previous one (ties go to the one without the canary
// tag), puts it back to 100 % in the same update that adds the new candidate at 0 %, and reports the
// split it found as a warning (traffic.ts planCandidateTraffic).
import type { CostInput, Pricing } from "../report/cost.js"
import { gibFromCloudRunMemory, vcpuFromCloudRunCpu } from "../report/cost.js"
import { planCanary, parseCanarySteps } from "./canary.js"
import type { CandidateDeployment, TrafficChange } from "../gcp/operations.js"
import { terraformStepOptions, checkAndPublish, estimateCost, finish, PRODUCTION_DEFAULTS, recordRollback, requireHealthy, STAGING_TASK_DEFAULTS, planRelease, type ReleaseInput, type ReleasePlan } from "./steps.js"
import type { ScaleOutcome } from "../aws/ecs.js"
import { addWarning, skipStep, startRun, type Clock, type Diagnostic, type RunRecord } from "../report/run-record.js"
import { stepTimeoutMs, type Settings } from "../config/settings.js"
import { gcpNames } from "../terraform/stacks.js"
import { describeTraffic, validateTag } from "../gcp/traffic.js"
import { firstLine } from "../shared/text.js"
import { type AnalysisPort, type HealthPort, type NotifyPort, type ReleasePort, type TerraformPort } from "./ports.js"
import { describeFigures, requireTrafficPasses } from "../analysis/require.js"
import { requireServedTraffic } from "../analysis/served-traffic.js"
import { BURST_GRACE_MS } from "../analysis/burst.js"
import { SERVED_TRAFFIC_TIMEOUT_MS, type ServedTraffic } from "../gcp/served-traffic.js"
import { softStep, startSteps, type Steps } from "./step-runner.js"
import { releaseEnvironment, requireReleaseOrder, type ServingRelease } from "./release-order.js"
import { optionalAwsSecrets, presentSecrets, requireGcpSecrets } from "../config/credentials.js"
import { DeployReport, toDeployReport } from "../report/deploy-report.js"
import { connectProductionService } from "../gcp/production-service.js"
import { effectiveMode } from "../notify/mode.js"
import { whileInterruptible } from "../shared/interrupt.js"
import { sleep } from "../shared/wait.js"
import { artifactRegistryTarget } from "../supply-chain/publish.js"
import { Stack } from "../terraform/apply.js"
import { loadReleaseInput, sharedPorts, stopStagingPort, type DeployCommandInput } from "./wiring.js"
import { gatherDiagnostics, stepFailureSources, type DiagnosticSource } from "./diagnostics.js"
import { verifySignature, type SigningPort } from "./sign.js"

/** Validated input of one production deploy. */
export interface ProductionPlan extends ReleasePlan {
  /** Traffic percentages on the candidate, ascending, ending at 100. */
  canarySteps: number[]
  skipAwsStop: boolean
}

/** Checks everything a production deploy needs before any cloud call; throws naming the bad input. */
export function planProduction(input: ReleaseInput & { canarySteps?: string; skipAwsStop?: boolean }): ProductionPlan {
  const plan = planRelease(input)
  const names = gcpNames(input.settings)
  validateTag(names.service, input.settings.production.canary.tag)
  // The settings' steps were checked when ci/pipeline.yaml loaded; only the flag needs its check here.
  const canarySteps =
    input.canarySteps !== undefined && input.canarySteps.trim() !== ""
      ? parseCanarySteps(input.canarySteps)
      : input.settings.production.canary.steps
  return { ...plan, canarySteps, skipAwsStop: input.skipAwsStop ?? false }
}

/** The size of production as Cloud Run reports it, for the cost estimate. */
export interface CloudRunFacts {
  minInstances: number
  /** Container limits as Cloud Run states them ("1", "512Mi"). */
  cpu?: string
  memory?: string
}

export interface CloudRunPort {
  /** The release the revision holding traffic runs; undefined when there is no service yet. Read-only. */
  serving(input: { tag: string }, signal: AbortSignal): Promise<ServingRelease | undefined>
  /** A revision of `image` with no traffic, reachable at the tag URL; the previous revision keeps 100 %. */
  deployCandidate(input: { image: string; tag: string; label: string; env: Record<string, string> }, signal: AbortSignal): Promise<CandidateDeployment>
  /** `percent` % on the candidate, the rest on the previous revision, read back. */
  shift(input: { candidate: string; previous: string; percent: number; tag: string }, signal: AbortSignal): Promise<TrafficChange>
  /** 100 % back on `to`, the canary tag removed, read back. */
  rollBack(input: { to: string; tag: string }, signal: AbortSignal): Promise<TrafficChange>
  facts(signal: AbortSignal): Promise<CloudRunFacts>
  /**
   * What Cloud Run served `revision` between `from` and `to` (Cloud Monitoring). Missing data or a refused
   * reading is `{ noSignal }` with the reason, never an error; rejects only with the signal's reason.
   */
  servedTraffic(input: { revision: string; from: Date; to: Date }, signal: AbortSignal): Promise<ServedTraffic>
  /** What Cloud Run says about `revision` (else its latest created one) and the service, after a failure. Read-only. */
  diagnose(input: { revision?: string }, signal: AbortSignal): Promise<Diagnostic[]>
}

export interface StopStagingPort {
  /** Scales staging to 0 and waits for the verdict; a failed verdict is returned, API errors throw. */
  stop(signal: AbortSignal): Promise<ScaleOutcome>
}

export interface ProductionPorts {
  clock: Clock
  release: ReleasePort
  signing: SigningPort
  terraform: TerraformPort
  cloudRun: CloudRunPort
  /** The staging stop, or why it cannot run (e.g. no AWS credentials given). */
  stopStaging: StopStagingPort | { unavailable: string }
  health: HealthPort
  /** The synthetic traffic analysis at each canary step. */
  analysis: AnalysisPort
  notify: NotifyPort
  /** The canary's pause between steps. */
  sleep(ms: number, signal: AbortSignal): Promise<void>
}

const STOP_STEP = "stop AWS staging"
const CANDIDATE_STEP = "candidate revision"

/** The cost estimate's input (pure): production as Cloud Run reports it, staging as the stop left it. */
export function productionCostInput(
  production: CloudRunFacts,
  staging: { outcome?: ScaleOutcome },
  settings: Settings,
): CostInput {
  const stopped = staging.outcome?.verdict.state === "success" ? staging.outcome : undefined
  return {
    staging: {
      desiredCount: stopped ? stopped.desiredCount : settings.staging.desiredCount,
      runningDesiredCount: stopped && stopped.previousDesiredCount > 0 ? stopped.previousDesiredCount : settings.staging.desiredCount,
      cpu: STAGING_TASK_DEFAULTS.cpuUnits / 1024,
      memoryMiB: STAGING_TASK_DEFAULTS.memoryMiB,
      albCount: 1,
    },
    production: {
      minInstances: production.minInstances,
      cpu: production.cpu ? vcpuFromCloudRunCpu(production.cpu) : PRODUCTION_DEFAULTS.cpu,
      memoryGiB: production.memory ? gibFromCloudRunMemory(production.memory) : PRODUCTION_DEFAULTS.memoryGiB,
      billing: "request",
    },
  }
}

/** Runs a production deploy to the end and returns its record; failures are in the record, not thrown. */
export async function deployProduction(
  plan: ProductionPlan,
  ports: ProductionPorts,
  options: { signal?: AbortSignal } = {},
): Promise<RunRecord> {
  const { settings, commit, version } = plan
  const { tag } = settings.production.canary
  const run = startRun({ environment: "production", commit, version, urls: plan.runUrl ? { run: plan.runUrl } : {} }, ports.clock)
  const steps = startSteps(run, settings, ports.clock, options.signal)
  const expected = { version, commit }
  let candidate: CandidateDeployment | undefined

  const ordered = requireReleaseOrder(steps, (signal) => ports.cloudRun.serving({ tag }, signal), plan, plan.allowOlder)
  const stopping = ordered.then(() => stopStaging(run, steps, plan, ports), () => undefined)
  const releasing = ordered.then(() => checkAndPublish(steps, ports.release, settings, "Artifact Registry", ports.signing))
  const [stop, released] = await Promise.all([stopping, releasing.then((image) => ({ image }), () => undefined)])

  if (released) {
    try {
      await verifySignature(steps, ports.signing, released.image, settings, "production")
      const stack = await steps.step("terraform apply (gcp)", "terraform", async (ctx) => {
        const applied = await ports.terraform.apply({ image: released.image }, ctx.signal)
        ctx.note(applied.summary)
        return applied
      }, terraformStepOptions(settings))
      run.urls.service = stack.serviceUrl
      candidate = await steps.step(CANDIDATE_STEP, "rollout", async (ctx) => {
        const c = await ports.cloudRun.deployCandidate({
          image: released.image,
          tag,
          label: version,
          env: releaseEnvironment(plan),
        }, ctx.signal)
        ctx.note(`${c.revision} at 0 % behind tag '${tag}'; ${c.previous} keeps 100 %`)
        return c
      })
      for (const notice of candidate.notices) addWarning(run, "cloud-run", notice)
      const c = candidate
      run.urls.canary = c.url
      if (c.serviceUrl) run.urls.service = c.serviceUrl
      await steps.step("health check (canary URL)", "health", (ctx) => requireHealthy(ports.health, c.url, expected, ctx))

      const hasPrevious = c.previous !== c.revision
      const canary = planCanary({ steps: plan.canarySteps, holdSeconds: settings.production.canary.pauseSeconds, hasPrevious })
      // The traffic analysis compares the candidate with the previous release measured ONCE, by a burst on the
      // service URL just before the first shift, while the previous revision still serves 100 % there: a Cloud
      // Run revision has no URL of its own without a tag, and production gets no tag but the canary's. A first
      // release (or a service without a URL) has no baseline and is judged on its error rate only.
      const { analysis } = ports
      const serviceUrl = c.serviceUrl
      const baseline =
        hasPrevious && serviceUrl
          ? await steps.step("traffic baseline", analysis.burstBudgetMs + BURST_GRACE_MS, async (ctx) => {
              const b = await analysis.burst(serviceUrl, ctx.signal)
              ctx.note(`previous release ${c.previous} at ${serviceUrl}: ${describeFigures(b.figures)}`)
              if (b.figures.errorRate > analysis.thresholds.maxErrorRate) ctx.warn(`the previous release itself fails: ${describeFigures(b.figures)}`)
              return b.figures
            })
          : undefined
      const servedTraffic = settings.analysis.servedTraffic.enabled
      for (const s of canary) {
        const name = `canary ${s.percent}%`
        // Pause + one burst (bounded by analysis.budgetSeconds) + one served-traffic reading (bounded by its own
        // budget): the step gets that much more.
        const budgetMs = stepTimeoutMs(settings, "rollout") + stepTimeoutMs(settings, "health") + s.holdMs + analysis.burstBudgetMs +
          (servedTraffic ? SERVED_TRAFFIC_TIMEOUT_MS : 0)
        await steps.step(name, budgetMs, async (ctx) => {
          const shifted = await ports.cloudRun.shift({ candidate: c.revision, previous: c.previous, percent: s.percent, tag }, ctx.signal)
          const shiftedAt = new Date(ports.clock.now())
          if (s.holdMs > 0) await ports.sleep(s.holdMs, ctx.signal)
          // At 100 % the service URL itself must serve the new release; below, only the tag URL is certain to.
          const url = s.percent === 100 && c.serviceUrl ? c.serviceUrl : c.url
          await requireHealthy(ports.health, url, expected, ctx)
          // The burst goes to the tag URL at every step: only the candidate answers there. A failed analysis
          // fails the step with the figure beside its threshold, and the rollback below runs.
          const judged = await requireTrafficPasses(
            { run, step: name, url: c.url, baseline, thresholds: analysis.thresholds, burst: (u, signal) => analysis.burst(u, signal) },
            ctx.signal,
          )
          // Then what Cloud Run served the candidate since the shift (Cloud Monitoring), beside the previous
          // revision while it still serves a share: a fail fails the step, no signal is recorded and shown only.
          const served = servedTraffic
            ? await requireServedTraffic(
                {
                  run,
                  step: name,
                  candidate: c.revision,
                  ...(hasPrevious && s.percent < 100 ? { previous: c.previous } : {}),
                  from: shiftedAt,
                  to: new Date(ports.clock.now()),
                  thresholds: analysis.thresholds,
                  read: (revision, window, signal) => ports.cloudRun.servedTraffic({ revision, ...window }, signal),
                },
                ctx.signal,
              )
            : undefined
          const servedNote = !served
            ? ""
            : served.verdict === "pass"
              ? `; served traffic ${describeFigures(served.candidate!)}`
              : `; served traffic: no signal (${served.reason ?? "no reason given"})`
          ctx.note(`traffic ${describeTraffic(shifted.traffic)}; healthy at ${url}; ${describeFigures(judged.candidate!)} at ${c.url}${servedNote}`)
        })
      }
    } catch (err) {
      // Recorded by the failed step. Traffic goes back only if a candidate exists: before that, the
      // previous revision never stopped serving everything.
      await rollBackProduction(run, steps, ports, candidate, tag)
      // Once traffic is safe: what an operator needs to act on the failure. It never changes the verdict.
      await diagnoseProduction(run, ports, err, candidate, options.signal)
    }
  }

  await estimateCost(steps, async (signal) => productionCostInput(await ports.cloudRun.facts(signal), { outcome: stop }, settings), plan.pricing, [
    stop
      ? "Staging figures: the desired count as the stop left it; task size at the Terraform defaults."
      : "Staging figures: staging.desiredCount and the Terraform task size (staging was not stopped or could not be read).",
  ])
  return finish(run, steps, ports.notify, settings)
}

async function stopStaging(
  run: RunRecord,
  steps: Steps,
  plan: ProductionPlan,
  ports: ProductionPorts,
): Promise<ScaleOutcome | undefined> {
  if (plan.skipAwsStop) {
    skipStep(run, STOP_STEP, "--skip-aws-stop: staging left as it is", ports.clock)
    return undefined
  }
  const port = ports.stopStaging
  if ("unavailable" in port) {
    skipStep(run, STOP_STEP, port.unavailable, ports.clock)
    return undefined
  }
  // A failed stop, an API error, the step's timeout or the run's: all end as a warning, never a failure.
  return softStep(steps, STOP_STEP, "rollout", "stop-aws", async (ctx) => {
    let outcome: ScaleOutcome
    try {
      outcome = await port.stop(ctx.signal)
    } catch (err) {
      throw new Error(`staging was not stopped: ${firstLine(err)}`)
    }
    if (outcome.verdict.state === "success") {
      ctx.note(`desired count ${outcome.previousDesiredCount} → 0, no task running (${outcome.polls} poll(s))`)
    } else {
      const msg = `staging did not stop (${outcome.verdict.kind}): ${outcome.verdict.detail}; it may still cost money — run stop-aws again`
      ctx.warn(msg)
      addWarning(run, "stop-aws", msg)
    }
    return outcome
  })
}

/**
 * Gathers the failure's diagnostics: what Cloud Run says about the candidate (when one was deployed or
 * its deploy failed; without its name, the latest created revision is the one the failed deploy made),
 * Terraform's error blocks, a failed health check's last responses. Honours the run's cancellation only:
 * the failed step's signal has aborted, and a run out of time still explains itself.
 */
async function diagnoseProduction(
  run: RunRecord,
  ports: ProductionPorts,
  err: unknown,
  candidate: CandidateDeployment | undefined,
  signal: AbortSignal | undefined,
): Promise<void> {
  const candidateFailed = run.steps.some((s) => s.name === CANDIDATE_STEP && s.outcome === "failed")
  const cloudRun: DiagnosticSource | undefined =
    candidate || candidateFailed ? (s) => ports.cloudRun.diagnose(candidate ? { revision: candidate.revision } : {}, s) : undefined
  await gatherDiagnostics(run, { "cloud-run": cloudRun, ...stepFailureSources(err) }, signal ? { signal } : {})
}

async function rollBackProduction(
  run: RunRecord,
  steps: Steps,
  ports: ProductionPorts,
  candidate: CandidateDeployment | undefined,
  tag: string,
): Promise<void> {
  if (!candidate) {
    run.rollback = { attempted: false, outcome: "not-needed", detail: "no candidate revision took traffic; the previous revision keeps serving" }
    return
  }
  if (candidate.previous === candidate.revision) {
    run.rollback = { attempted: false, outcome: "not-needed", detail: "no earlier revision to return to (first release)" }
    return
  }
  const to = candidate.previous
  await recordRollback(steps, async (ctx) => {
    // Traffic goes back whatever can be proven afterwards; only the verdict depends on the proof.
    const back = await ports.cloudRun.rollBack({ to, tag }, ctx.signal)
    const detail = `all traffic back on ${to} (Cloud Run reports ${describeTraffic(back.traffic)})`
    if (!candidate.serviceUrl) throw new Error(`${detail}, but Cloud Run gave no service URL to prove the previous release serves; check the service by hand`)
    // Proven only when the previous release itself answers: "healthy" from whatever serves is not a rollback.
    const expected = candidate.previousRelease
    if (!expected) {
      throw new Error(
        `${detail}, but ${to} names no release (APP_VERSION/APP_COMMIT on its first container), so what serves cannot be ` +
          "proven to be the previous release; check the service by hand",
      )
    }
    const health = await ports.health.check(candidate.serviceUrl, expected, ctx.signal)
    if (!health.healthy) throw new Error(`${detail}, but release ${expected.version} does not answer healthy: ${health.summary}`)
    return `${detail} and release ${expected.version} (${expected.commit.slice(0, 12)}) answers healthy`
  })
}

// --- The command ---------------------------------------------------------------------------------

/**
 * deploy-production: validates every input (settings, price table, commit, version, canary steps,
 * credentials) before any cloud call, then runs the sequence above with the real ports and returns the report.
 */
export async function runDeployProduction(
  input: DeployCommandInput & { skipAwsStop: boolean; canarySteps?: string },
): Promise<DeployReport> {
  const plan = planProduction({ ...(await loadReleaseInput(input)), canarySteps: input.canarySteps, skipAwsStop: input.skipAwsStop })
  const { settings } = plan
  const { given, values } = await presentSecrets(input.secrets)
  const gcp = requireGcpSecrets(given.gcpCredentials, given.gcpAccessToken)
  // No AWS key at all only skips the staging stop.
  const aws = optionalAwsSecrets(given)
  const mode = effectiveMode(settings.notifications.mode, input.notify)
  // Connecting checks the GCP credential's form (a key must be a service-account key) without a request.
  const cloudRun = await connectProductionService(settings, gcp)
  try {
    const ports: ProductionPorts = {
      ...sharedPorts({
        source: input.source,
        plan,
        environment: "production",
        target: async () => artifactRegistryTarget(settings, gcp),
        credentials: { stack: Stack.GCP, gcp },
        given,
        mode,
        secretValues: values,
      }),
      cloudRun,
      stopStaging: aws
        ? stopStagingPort(settings, aws)
        : {
            unavailable:
              "no AWS credentials given (--aws-access-key-id/--aws-secret-access-key), so staging keeps running; " +
              "pass credentials that may scale the staging service, or --skip-aws-stop to say it is intended",
          },
      sleep,
    }
    const run = await whileInterruptible((signal) => deployProduction(plan, ports, { signal }))
    return toDeployReport(run, values)
  } finally {
    await cloudRun.close()
  }
}
