// What staging.ts and production.ts share: the ports both pipelines call (release, health, notify), the
// release steps they begin with (checkAndPublish) and the rollback record (recordRollback), the step runner with per-step timeouts and the whole-run
// deadline, and the scan summary for the report. No Dagger and no SDK here: adapters live in
// deploy-adapters.ts.
import { estimateMonthlyCost, type CostEstimate, type CostInput, type Pricing } from "../report/cost.js"
import type { HealthCheckResult } from "../health/poll.js"
import type { ExpectedRelease } from "../health/verdict.js"
import type { ScanVerdict } from "../supply-chain/scan/gate.js"
import { severityRank } from "../supply-chain/scan/severity.js"
import { addWarning, type Clock, finishRun, raceDeadline, recordStep, type RunRecord, type ScanFinding, type ScanSummary, type StepContext, StepTimeoutError } from "../report/run-record.js"
import { stepTimeoutMs, type Settings, type StepKey } from "../config/settings.js"
import { firstLine } from "../shared/text.js"

/** An image built and checked (tests, scan, SBOM) but not yet published. */
export interface CheckedImage {
  /** The scan as the report shows it; absent when the scan could not run. */
  scan?: ScanSummary
  /** The first failed gate (tests, then scan, then SBOM); undefined when the image may ship. */
  blocker?: Error
  /** Pushes exactly the checked image and answers its digest reference (registry/repo@sha256:...). */
  publish(): Promise<string>
}

/** Build → tests ∥ scan ∥ SBOM. Never publishes by itself. */
export interface ReleasePort {
  check(): Promise<CheckedImage>
}

export interface HealthPort {
  /** Polls `<url><healthPath>` until the release answers healthy or the budget is spent. Never throws for "unhealthy". */
  check(url: string, expected: Partial<ExpectedRelease>): Promise<HealthCheckResult>
}

export interface NotifyPort {
  /** Announces the finished run; undeliverable targets become warnings on the run. Never throws. */
  notify(run: RunRecord): Promise<void>
}

/** Runs steps of one deploy: each under its timeout and the run's deadline, recorded in `run`. */
export interface Steps {
  run: RunRecord
  clock: Clock
  /** Aborted when the whole-run timeout (timeouts.runMinutes) expires. */
  signal: AbortSignal
  /** A step that stops when the run's deadline passes. */
  step<T>(name: string, key: StepKey | number, fn: (ctx: StepContext) => Promise<T>): Promise<T>
  /**
   * A step that is NOT cut short by the run's deadline, only by its own timeout: rollback and
   * notification must still happen after a run ran out of time, or the next run inherits a
   * half-switched service and nobody hears about it.
   */
  finalStep<T>(name: string, key: StepKey | number, fn: (ctx: StepContext) => Promise<T>): Promise<T>
  /** Clears the run timer. */
  close(): void
}

/** Starts the step runner and the whole-run deadline. */
export function startSteps(run: RunRecord, settings: Settings, clock: Clock, signal?: AbortSignal): Steps {
  const deadline = new AbortController()
  const runMs = Math.round(settings.timeouts.runMinutes * 60_000)
  const timer = setTimeout(
    () => deadline.abort(new Error(`the run exceeded timeouts.runMinutes (${settings.timeouts.runMinutes} min) in ci/pipeline.yaml`)),
    runMs,
  )
  // The timer alone must not keep the module's process alive after the run returned.
  timer.unref?.()
  const runSignal = signal ? AbortSignal.any([signal, deadline.signal]) : deadline.signal
  const timeout = (key: StepKey | number) => (typeof key === "number" ? key : stepTimeoutMs(settings, key))
  return {
    run,
    clock,
    signal: runSignal,
    step: (name, key, fn) => recordStep(run, name, summarised(fn), { timeoutMs: timeout(key), clock, signal: runSignal }),
    finalStep: (name, key, fn) => recordStep(run, name, summarised(fn), { timeoutMs: timeout(key), clock }),
    close: () => clearTimeout(timer),
  }
}

/** Runs `fn`; a multi-line error comes out as one line that keeps the cause (see failureLine). */
function summarised<T>(fn: (ctx: StepContext) => Promise<T>): (ctx: StepContext) => Promise<T> {
  return async (ctx) => {
    try {
      return await fn(ctx)
    } catch (err) {
      if (!(err instanceof Error) || !err.message.includes("\n")) throw err
      throw Object.assign(new Error(failureLine(err), { cause: err }), { name: err.name })
    }
  }
}

/**
 * One line for a step's detail from a multi-line error. The run record keeps only a step's first
 * line, and for a tool failure ("X failed: `cmd` exited with code 1." + stderr + the fix) that line
 * says nothing about why; so the line becomes "X failed (exit code 1): <the tool's first line starting
 * with "Error", else one mentioning an error, else its last line> — <the fix>". Other errors keep their first line and add the next one.
 */
export function failureLine(err: Error): string {
  const lines = err.message.split("\n").map((l) => l.trim()).filter((l) => l !== "")
  const [first = err.message, ...rest] = lines
  const tool = /^(.*?) failed: `[^`]*` exited with code (\d+)\.$/.exec(first)
  if (tool && rest.length > 0) {
    const fix = rest.length > 1 ? rest[rest.length - 1] : undefined
    const output = fix ? rest.slice(0, -1) : rest
    // Tools (Terraform, npm, trivy) start their real complaint with "Error"; a mere mention comes second.
    const cause =
      output.find((l) => /^error\b/i.test(l)) ?? output.find((l) => /\berror\b/i.test(l)) ?? output[output.length - 1] ?? ""
    return `${tool[1]} failed (exit code ${tool[2]}): ${cause}${fix ? ` — ${fix}` : ""}`
  }
  return rest.length > 0 ? `${first} ${rest[0]}` : first
}

/** Time budget of the combined build-and-check step: the build, then the longer of tests and scan. */
export function checkTimeoutMs(settings: Settings): number {
  return stepTimeoutMs(settings, "build") + Math.max(stepTimeoutMs(settings, "test"), stepTimeoutMs(settings, "scan"))
}

/**
 * The two steps every deploy begins with: build, test, scan and SBOM (a failed gate fails the step, so
 * nothing is published), then publish exactly that image to `registry` (named in the step). Records the
 * scan and the published digest reference on the run and returns the reference.
 */
export async function checkAndPublish(steps: Steps, release: ReleasePort, settings: Settings, registry: string): Promise<string> {
  const { run } = steps
  const checked = await steps.step("build, test, scan, SBOM", checkTimeoutMs(settings), async (ctx) => {
    const image = await release.check()
    if (image.scan) run.scan = image.scan
    if (image.blocker) throw image.blocker
    ctx.note(`tests passed, scan gate ${image.scan?.gate ?? "passed"}, SBOM generated`)
    return image
  })
  const ref = await steps.step(`publish to ${registry}`, "publish", async (ctx) => {
    const published = await checked.publish()
    ctx.note(published)
    return published
  })
  run.image = ref
  return ref
}

/**
 * Runs a rollback as the final "rollback" step (it must happen even after the run's deadline passed)
 * and records it on the run: succeeded with the detail `rollBack` answers, or failed with the first
 * line of its error. Never throws.
 */
export async function recordRollback(steps: Steps, rollBack: (ctx: StepContext) => Promise<string>): Promise<void> {
  const { run } = steps
  try {
    const detail = await steps.finalStep("rollback", "rollback", async (ctx) => {
      const done = await rollBack(ctx)
      ctx.note(done)
      return done
    })
    run.rollback = { attempted: true, outcome: "succeeded", detail }
  } catch (err) {
    run.rollback = { attempted: true, outcome: "failed", detail: firstLine(err) }
  }
}

/**
 * The report's scan summary from the gate's verdict: counts, the gate's decision, and the findings
 * that matter most first (blocking, then tolerated for lack of a fix, then below the policy).
 */
export function toScanSummary(verdict: ScanVerdict): ScanSummary {
  const ordered = [...verdict.blocking, ...verdict.unfixed, ...verdict.below]
  const topFindings: ScanFinding[] = ordered
    .map((f, i) => ({ f, i }))
    .sort((a, b) => severityRank(a.f.severity) - severityRank(b.f.severity) || a.i - b.i)
    .slice(0, 20)
    .map(({ f }) => {
      const at = f.subject.lastIndexOf("@")
      const finding: ScanFinding = {
        id: f.id,
        severity: f.severity,
        target: at > 0 ? f.subject.slice(0, at) : f.subject,
        ...(f.title ? { title: f.title } : {}),
        ...(f.fixedVersion ? { fixedVersion: f.fixedVersion } : {}),
      }
      if (at > 0) finding.installedVersion = f.subject.slice(at + 1)
      return finding
    })
  return {
    counts: { ...verdict.counts },
    gate: verdict.passed ? "passed" : "failed",
    topFindings,
    ...(verdict.suppressed.length > 0 ? { ignored: verdict.suppressed.length } : {}),
  }
}

/** One line about a health check for a step's detail (the check's own summary: verdict, what it saw, the fix). */
export function healthDetail(result: HealthCheckResult): string {
  return result.summary.replace(/\s*\n\s*/g, " ").trim()
}

/** A health check that did not find the expected release, as the error that fails its step. */
export class UnhealthyError extends Error {
  override name = "UnhealthyError"
  constructor(readonly result: HealthCheckResult) {
    super(`health check ${healthDetail(result)}`)
  }
}

/** Runs a health check inside a step: notes the outcome, throws UnhealthyError when not healthy. */
export async function requireHealthy(
  health: HealthPort,
  url: string,
  expected: Partial<ExpectedRelease>,
  ctx: StepContext,
): Promise<HealthCheckResult> {
  const result = await health.check(url, expected)
  if (!result.healthy) throw new UnhealthyError(result)
  ctx.note(healthDetail(result))
  return result
}

/** `--run-url` must be an http(s) link (it becomes a link in Markdown and chat messages). */
export function runUrlOf(runUrl: string | undefined): { runUrl?: string } {
  if (runUrl === undefined || runUrl.trim() === "") return {}
  if (!/^https?:\/\/\S+$/.test(runUrl.trim())) {
    throw new Error(`--run-url '${runUrl}' is not an http(s) URL; pass the CI run's link, e.g. https://github.com/OWNER/REPO/actions/runs/123`)
  }
  return { runUrl: runUrl.trim() }
}

/** What Terraform told us after apply. */
export interface AppliedStack {
  /** The environment's public URL (the ALB's, for staging). */
  serviceUrl: string
  /** One line for the report, e.g. "2 to import, 0 to add, 1 to change, 0 to replace, 0 to destroy". */
  summary: string
}

export interface TerraformPort {
  /**
   * Adopt-or-create imports, plan, destroy guard, apply of exactly that plan; answers the outputs.
   * `image` is only used if the service has to be created (its first revision).
   */
  apply(input: { image: string }): Promise<AppliedStack>
}

/** Terraform defaults of the production service (terraform/modules/gcp-cloud-run-service), used when it is not read. */
export const PRODUCTION_DEFAULTS = { minInstances: 0, cpu: 1, memoryGiB: 0.5 } as const
/** Terraform defaults of the staging task (terraform/modules/aws-ecs-service), used when it is not read. */
export const STAGING_TASK_DEFAULTS = { cpuUnits: 256, memoryMiB: 512 } as const

/**
 * Runs a step whose failure must never fail the deploy (the staging stop, the cost estimate): an error
 * inside it, its own timeout or the run's deadline all end as a `warning` step plus a run warning from
 * `source`, and the result is undefined.
 */
export async function softStep<T>(
  steps: Steps,
  name: string,
  key: StepKey | number,
  source: string,
  fn: (ctx: StepContext) => Promise<T>,
  options: { final?: boolean } = {},
): Promise<T | undefined> {
  const record = options.final ? steps.finalStep : steps.step
  try {
    return await record(name, key, async (ctx) => {
      try {
        return await fn(ctx)
      } catch (err) {
        ctx.warn(firstLine(err))
        addWarning(steps.run, source, firstLine(err))
        return undefined
      }
    })
  } catch (err) {
    // Only a timeout or cancellation gets here; recordStep has recorded it as failed.
    const step = [...steps.run.steps].reverse().find((s) => s.name === name)
    if (step) step.outcome = "warning"
    addWarning(steps.run, source, firstLine(err))
    return undefined
  }
}

/** Time allowed for reading the environments' sizes for the cost estimate. */
export const COST_TIMEOUT_MS = 60_000

/** Adds the cost estimate; a failure here is a warning, never a change of verdict. */
export async function estimateCost(
  steps: Steps,
  input: () => Promise<CostInput>,
  pricing: Pricing,
  notes: readonly string[] = [],
): Promise<void> {
  await softStep(
    steps,
    "cost estimate",
    COST_TIMEOUT_MS,
    "cost",
    async () => {
      try {
        const estimate: CostEstimate = estimateMonthlyCost(await input(), pricing)
        estimate.notes.push(...notes)
        steps.run.cost = estimate
      } catch (err) {
        throw new Error(`the cost estimate could not be made: ${firstLine(err)}`)
      }
    },
    { final: true },
  )
}

/**
 * Decides the verdict, notifies, stops the run timer; returns the finished record. Notifying is not a
 * step: it needs the verdict, and however it ends (undelivered, or cut off by its timeout) it must not
 * change that verdict, only add a warning.
 */
export async function finish(
  run: RunRecord,
  steps: Steps,
  notify: NotifyPort,
  settings: Settings,
): Promise<RunRecord> {
  finishRun(run, steps.clock)
  const limitMs = stepTimeoutMs(settings, "notify")
  try {
    await raceDeadline(notify.notify(run), limitMs, () => new StepTimeoutError("notify", limitMs))
  } catch (err) {
    addWarning(
      run,
      "notify",
      err instanceof StepTimeoutError
        ? `notifications did not finish within ${Math.round(limitMs / 1000)} s (timeouts.stepMinutes.notify); some may be missing`
        : `notifications failed: ${firstLine(err)}`,
    )
  } finally {
    steps.close()
  }
  return run
}
