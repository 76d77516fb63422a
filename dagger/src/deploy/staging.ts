// deploy-staging, the sequence: release order (refuse a commit older than what serves, release-order.ts) → build → tests ∥ scan ∥ SBOM (a failed gate stops before publish) →
// publish to ECR by digest → Terraform (adopt-or-create, plan, apply) → next task definition revision
// (image by digest, APP_VERSION/APP_COMMIT/APP_COMMIT_TIME) → rollout verdict tied to our deployment ID → health check
// on the ALB requiring the new version and commit → traffic analysis on the ALB (one burst judged against
// one burst at the old release before the rollout) → on any failure after apply: ECS diagnostics gathered
// beside the rollback to the previous task definition, verified → cost → notify → the run record.
//
// Written over ports (plain interfaces) so the sequencing, rollback and verdict logic runs in tests
// against moto, the real app and fakes; deploy-adapters.ts builds the real ports from Dagger values.
//
// Re-running the same commit is safe: the image and its digest are the same, Terraform converges,
// a fresh task definition revision with the same content is registered and rolled out, and the health
// check asks for the same release. Interrupted runs: an ECS deployment left in progress is finished
// (or rolled back by the circuit breaker) by ECS itself; the next run derives its revision from
// whatever the service runs then, so nothing half-done needs manual repair.
import type { CostInput, Pricing } from "../report/cost.js"
import { terraformStepOptions, checkAndPublish, estimateCost, finish, PRODUCTION_DEFAULTS, recordRollback, requireHealthy, STAGING_TASK_DEFAULTS, planRelease, type ReleaseInput, type ReleasePlan } from "./steps.js"
import type { RegisteredTaskDefinition, RolloutOutcome } from "../aws/ecs.js"
import type { ExpectedRelease } from "../health/verdict.js"
import { shortTaskDefinition } from "../aws/rollout-verdict.js"
import { startRun, type Clock, type Diagnostic, type RunRecord, type TrafficFigures } from "../report/run-record.js"
import type { Settings } from "../config/settings.js"
import { awsNames } from "../terraform/stacks.js"
import { type AnalysisPort, type HealthPort, type NotifyPort, type ReleasePort, type TerraformPort } from "./ports.js"
import { describeFigures, requireTrafficPasses } from "../analysis/require.js"
import { BURST_GRACE_MS } from "../analysis/burst.js"
import { gatherDiagnostics } from "./diagnostics.js"
import { releaseEnvironment, requireReleaseOrder, type ServingRelease } from "./release-order.js"
import { softStep, startSteps, type Steps } from "./step-runner.js"
import { awsCredentials, presentSecrets, requireAwsSecrets } from "../config/credentials.js"
import { DeployReport, toDeployReport } from "../report/deploy-report.js"
import { openStagingService, stagingTarget } from "../aws/staging-service.js"
import { effectiveMode } from "../notify/mode.js"
import { whileInterruptible } from "../shared/interrupt.js"
import { ecrTarget } from "../supply-chain/publish.js"
import { Stack } from "../terraform/apply.js"
import { loadReleaseInput, sharedPorts, type DeployCommandInput } from "./wiring.js"
import { verifySignature, type SigningPort } from "./sign.js"

/** Validated input of one staging deploy. */
export type StagingPlan = ReleasePlan

/** Checks everything a staging deploy needs before any cloud call; throws naming the bad input. */
export function planStaging(input: ReleaseInput): StagingPlan {
  const plan = planRelease(input)
  // Derived names must be valid before Terraform sees them.
  awsNames(input.settings)
  return plan
}

/** How a staging rollback proceeds; decided by `stagingRollbackAction`. */
export type RollbackAction =
  /** The circuit breaker already started a rollback: verify that deployment instead of starting another. */
  | { kind: "verify-breaker"; deploymentId: string; to: string }
  /** Point the service back at the previous task definition and verify that deployment. */
  | { kind: "deploy-previous"; to: string }
  | { kind: "none"; why: string }

/** The size of staging as ECS reports it, for the cost estimate. */
export interface EcsFacts {
  desiredCount: number
  /** Task CPU units ("256") and memory MiB ("512") of the task definition the service runs. */
  cpu?: string
  memory?: string
}

export interface StagingEcsPort {
  /** The release the service's task definition runs now; undefined when there is no service yet. Read-only. */
  serving(signal: AbortSignal): Promise<ServingRelease | undefined>
  /** Registers the next revision of the service's task definition with this image and environment. */
  registerRevision(change: { image: string; environment: Record<string, string> }, signal: AbortSignal): Promise<RegisteredTaskDefinition>
  /** Points the service at `taskDefinition` with `desiredCount` tasks and waits for that deployment's verdict. */
  rollout(taskDefinition: string, desiredCount: number, signal: AbortSignal): Promise<RolloutOutcome>
  /** Carries out a rollback action and answers the verdict of the deployment that restores the old revision. */
  rollBack(action: Exclude<RollbackAction, { kind: "none" }>, signal: AbortSignal): Promise<RolloutOutcome>
  facts(signal: AbortSignal): Promise<EcsFacts>
  /**
   * After a failure, what an operator needs to act: the service's last events, the stopped tasks' reasons and
   * exit codes with links to their logs, the unhealthy targets. Read-only and bounded.
   */
  diagnose(signal: AbortSignal): Promise<Diagnostic[]>
}

export interface StagingPorts {
  clock: Clock
  release: ReleasePort
  signing: SigningPort
  terraform: TerraformPort
  ecs: StagingEcsPort
  health: HealthPort
  /** The synthetic traffic analysis on the ALB: a baseline before the rollout, the candidate after it. */
  analysis: AnalysisPort
  notify: NotifyPort
}


/**
 * Which rollback a failure after `terraform apply` calls for (pure). Nothing to do when the service was
 * never pointed at the new revision, when there is no earlier revision, or when someone else's
 * deployment replaced ours (rolling back would undo theirs).
 */
export function stagingRollbackAction(input: {
  touched: boolean
  previous?: string
  rollout?: RolloutOutcome["verdict"]
}): RollbackAction {
  if (!input.touched) return { kind: "none", why: "the service was not changed before the failure; the old release keeps serving" }
  if (!input.previous) return { kind: "none", why: "no earlier task definition to return to (first deploy)" }
  const v = input.rollout
  if (v?.state === "failure" && v.kind === "superseded") {
    return { kind: "none", why: "another deployment replaced ours; rolling back would undo it" }
  }
  if (v?.state === "failure" && v.kind === "rolled-back" && v.rollbackDeploymentId) {
    return { kind: "verify-breaker", deploymentId: v.rollbackDeploymentId, to: input.previous }
  }
  return { kind: "deploy-previous", to: input.previous }
}

/** The cost estimate's input for staging as ECS reports it (pure); production at its Terraform defaults. */
export function stagingCostInput(facts: EcsFacts, settings: Settings): CostInput {
  const cpuUnits = Number(facts.cpu ?? STAGING_TASK_DEFAULTS.cpuUnits)
  const memoryMiB = Number(facts.memory ?? STAGING_TASK_DEFAULTS.memoryMiB)
  return {
    staging: {
      desiredCount: facts.desiredCount,
      runningDesiredCount: facts.desiredCount > 0 ? facts.desiredCount : settings.staging.desiredCount,
      cpu: (Number.isFinite(cpuUnits) && cpuUnits > 0 ? cpuUnits : STAGING_TASK_DEFAULTS.cpuUnits) / 1024,
      memoryMiB: Number.isFinite(memoryMiB) && memoryMiB > 0 ? memoryMiB : STAGING_TASK_DEFAULTS.memoryMiB,
      albCount: 1,
    },
    production: { ...PRODUCTION_DEFAULTS, billing: "request" },
  }
}

/** Runs a staging deploy to the end and returns its record; failures are in the record, not thrown. */
export async function deployStaging(plan: StagingPlan, ports: StagingPorts, options: { signal?: AbortSignal } = {}): Promise<RunRecord> {
  const { settings, commit, version } = plan
  const run = startRun({ environment: "staging", commit, version, urls: plan.runUrl ? { run: plan.runUrl } : {} }, ports.clock)
  const steps = startSteps(run, settings, ports.clock, options.signal)
  let applied = false
  let touched = false
  let previous: string | undefined
  let previousRelease: ExpectedRelease | undefined
  let rollout: RolloutOutcome["verdict"] | undefined
  let serviceUrl: string | undefined
  try {
    await requireReleaseOrder(steps, (signal) => ports.ecs.serving(signal), plan, plan.allowOlder)
    const image = await checkAndPublish(steps, ports.release, settings, "ECR", ports.signing)
    await verifySignature(steps, ports.signing, image, settings, "staging")
    const stack = await steps.step("terraform apply (aws)", "terraform", async (ctx) => {
      const result = await ports.terraform.apply({ image }, ctx.signal)
      ctx.note(result.summary)
      return result
    }, terraformStepOptions(settings))
    applied = true
    serviceUrl = stack.serviceUrl
    run.urls.service = serviceUrl
    const registered = await steps.step("task definition", "rollout", async (ctx) => {
      const r = await ports.ecs.registerRevision({ image, environment: releaseEnvironment(plan) }, ctx.signal)
      ctx.note(`${shortTaskDefinition(r.taskDefinitionArn)} (previous ${shortTaskDefinition(r.previousTaskDefinitionArn)})`)
      return r
    })
    previous = registered.previousTaskDefinitionArn
    previousRelease = registered.previousRelease
    const baseline = await measureBaseline(steps, ports, stack.serviceUrl)
    // From here on the service may be changed, so a failure needs a rollback.
    touched = true
    await steps.step("rollout", "rollout", async (ctx) => {
      const outcome = await ports.ecs.rollout(registered.taskDefinitionArn, settings.staging.desiredCount, ctx.signal)
      rollout = outcome.verdict
      if (outcome.verdict.state !== "success") {
        throw new Error(
          `deployment ${outcome.deploymentId} of ${shortTaskDefinition(registered.taskDefinitionArn)} did not complete ` +
            `(${outcome.verdict.kind}): ${outcome.verdict.detail}`,
        )
      }
      ctx.note(`deployment ${outcome.deploymentId} completed after ${outcome.polls} poll(s)`)
    })
    await steps.step("health check", "health", (ctx) => requireHealthy(ports.health, stack.serviceUrl, { version, commit }, ctx))
    // The ALB now serves only the new release (the health check saw it, the old tasks are drained): its
    // traffic is the candidate's. A failed or silent analysis fails the step, and the rollback below runs.
    const { analysis } = ports
    await steps.step("traffic analysis", analysis.burstBudgetMs + BURST_GRACE_MS, async (ctx) => {
      const judged = await requireTrafficPasses(
        { run, step: "rollout", url: stack.serviceUrl, ...(baseline ? { baseline } : {}), thresholds: analysis.thresholds, burst: (u, signal) => analysis.burst(u, signal) },
        ctx.signal,
      )
      ctx.note(`${describeFigures(judged.candidate!)}${baseline ? `; previous release ${describeFigures(baseline)}` : "; no previous release measured"}`)
    })
  } catch {
    // The failed step is already recorded with its reason. Before apply nothing ran in the cloud that
    // needs undoing (a pushed image is inert); after it, the service goes back to what it ran, while
    // ECS's account of the failure (events, stopped tasks, targets) is read beside the rollback, so the
    // old release is not kept waiting for the report and the failed tasks are seen before they age out.
    if (applied) {
      await Promise.all([
        gatherDiagnostics(run, { ecs: (signal) => ports.ecs.diagnose(signal) }, { ...(options.signal ? { signal: options.signal } : {}) }),
        rollBackStaging(run, steps, ports, { touched, previous, previousRelease, rollout, serviceUrl }),
      ])
    }
  }

  await estimateCost(steps, async (signal) => stagingCostInput(await ports.ecs.facts(signal), settings), plan.pricing, [
    "Production figures are the Terraform defaults (min instances 0): a staging deploy has no GCP credentials to read them.",
  ])
  return finish(run, steps, ports.notify, settings)
}

/**
 * One burst at the old release before the rollout, the latency the candidate is compared with. None when
 * staging was stopped (no old release serves: the candidate is then judged on its error rate alone) or when
 * the burst could not run (a warning says why). Never fails the deploy.
 */
async function measureBaseline(steps: Steps, ports: StagingPorts, serviceUrl: string): Promise<TrafficFigures | undefined> {
  const { analysis } = ports
  return softStep(steps, "traffic baseline", analysis.burstBudgetMs + BURST_GRACE_MS, "analysis", async (ctx) => {
    if ((await ports.ecs.facts(ctx.signal)).desiredCount === 0) {
      ctx.note("staging was stopped (0 tasks): no previous release to measure; the candidate is judged on its error rate only")
      return undefined
    }
    const burst = await analysis.burst(serviceUrl, ctx.signal)
    if (burst.figures.requests === 0) {
      ctx.warn(`no request to the previous release completed (${describeFigures(burst.figures)}); the candidate is judged on its error rate only`)
      return undefined
    }
    if (burst.figures.errorRate > analysis.thresholds.maxErrorRate) ctx.warn(`the previous release itself fails: ${describeFigures(burst.figures)}`)
    else ctx.note(`previous release: ${describeFigures(burst.figures)}`)
    return burst.figures
  })
}

async function rollBackStaging(
  run: RunRecord,
  steps: Steps,
  ports: StagingPorts,
  state: { touched: boolean; previous?: string; previousRelease?: ExpectedRelease; rollout?: RolloutOutcome["verdict"]; serviceUrl?: string },
): Promise<void> {
  const action = stagingRollbackAction(state)
  if (action.kind === "none") {
    run.rollback = { attempted: false, outcome: "not-needed", detail: action.why }
    return
  }
  await recordRollback(steps, async (ctx) => {
    const outcome = await ports.ecs.rollBack(action, ctx.signal)
    if (outcome.verdict.state !== "success") {
      throw new Error(
        `deployment ${outcome.deploymentId} back to ${shortTaskDefinition(action.to)} did not complete ` +
          `(${outcome.verdict.kind}): ${outcome.verdict.detail}`,
      )
    }
    const detail = `service back on ${shortTaskDefinition(action.to)}, deployment ${outcome.deploymentId} completed`
    if (!state.serviceUrl) throw new Error(`${detail}, but there is no service URL to prove the old release serves`)
    // Proven only when the old release itself answers: "healthy" from whatever runs is not a rollback.
    const expected = state.previousRelease
    if (!expected?.version || !expected.commit) {
      throw new Error(
        `${detail}, but ${shortTaskDefinition(action.to)} names no release (APP_VERSION/APP_COMMIT), so what serves cannot be ` +
          "proven to be the previous release; check the service by hand",
      )
    }
    const health = await ports.health.check(state.serviceUrl, expected, ctx.signal)
    if (!health.healthy) throw new Error(`${detail}, but release ${expected.version} does not answer healthy: ${health.summary}`)
    return `${detail} and release ${expected.version} (${expected.commit.slice(0, 12)}) answers healthy`
  })
}

// --- The command ---------------------------------------------------------------------------------

/**
 * deploy-staging: validates every input (settings, price table, commit, version, credentials) before
 * any cloud call, then runs the sequence above with the real ports and returns the report.
 */
export async function runDeployStaging(input: DeployCommandInput): Promise<DeployReport> {
  const plan = planStaging(await loadReleaseInput(input))
  const { settings } = plan
  const { given, values } = await presentSecrets(input.secrets)
  const aws = requireAwsSecrets(given)
  const mode = effectiveMode(settings.notifications.mode, input.notify)
  // Creating the client makes no request; the first one is ECR's login inside the run.
  const ecs = await openStagingService(stagingTarget(settings), await awsCredentials(aws))
  try {
    const ports: StagingPorts = {
      ...sharedPorts({
        source: input.source,
        plan,
        environment: "staging",
        target: () => ecrTarget(settings, aws),
        credentials: { stack: Stack.AWS, aws },
        given,
        mode,
        secretValues: values,
      }),
      ecs,
    }
    const run = await whileInterruptible((signal) => deployStaging(plan, ports, { signal }))
    return toDeployReport(run, values)
  } finally {
    ecs.close()
  }
}
