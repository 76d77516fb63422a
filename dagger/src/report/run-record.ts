// The run record: what a deploy did, filled in step by step by the pipeline and read by the report,
// the notifications and the returned DeployReport. Plain JSON-serialisable data (it crosses Dagger's
// object-state boundary and becomes the `json` field), so timestamps are ISO strings, not Dates.
//
// The only side-effecting helper here is `recordStep`, the imperative shell around one step: it times
// the step, enforces its timeout, records the outcome and rethrows. Everything else is pure.
import type { CostEstimate } from "./cost.js"
import { firstLine, formatDuration } from "../shared/text.js"
import { SHORT_COMMIT_LENGTH } from "../supply-chain/image-ref.js"
import type { SeverityName } from "../supply-chain/scan/severity.js"

export type Environment = "staging" | "production"

/** How one step ended. `warning`: it finished but something is worth a look (e.g. AWS stop failed). */
export type StepOutcome = "succeeded" | "failed" | "skipped" | "warning"

/** The run's final word; `running` until `finishRun` decides it. */
export type RunVerdict = "succeeded" | "failed" | "rolled-back"

export interface StepRecord {
  /** Short domain name, e.g. "build", "scan", "terraform apply", "canary 10%". */
  name: string
  /** ISO-8601 instants. A skipped step has startedAt === endedAt. */
  startedAt: string
  endedAt: string
  outcome: StepOutcome
  /** One line for humans: why it failed, was skipped or warned. */
  detail?: string
}

export interface RollbackRecord {
  /** False when there was nothing to roll back to (e.g. a first deploy). */
  attempted: boolean
  outcome: "succeeded" | "failed" | "not-needed"
  /** What was restored, or why the rollback failed. */
  detail?: string
}

export interface RunUrls {
  /** The environment's public URL (ALB DNS name or Cloud Run URL). */
  service?: string
  /** The canary's tagged URL (production). */
  canary?: string
  /** The CI run that produced this record. */
  run?: string
}

/** Small, scanner-neutral summary; the scan capability maps Trivy's report into it. */
export interface ScanSummary {
  /** Findings per severity (severities absent from the map count as 0). */
  counts: Partial<Record<SeverityName, number>>
  /** The gate's decision under the configured policy. */
  gate: "passed" | "failed"
  /** The most severe findings first; the report shows at most ten. */
  topFindings: ScanFinding[]
  /** Findings accepted by the ignore file, if any. */
  ignored?: number
}

export interface ScanFinding {
  id: string
  severity: SeverityName
  /** Package (or file, for misconfigurations) the finding is in. */
  target: string
  installedVersion?: string
  /** Empty when no fix exists. */
  fixedVersion?: string
  title?: string
}

/** Something the reader should know that did not change the verdict. */
export interface RunWarning {
  /** Where it came from, e.g. "notify:slack", "stop-aws", "pricing". */
  source: string
  message: string
}

export interface RunRecord {
  /** Bumped when a field changes meaning, so stored JSON can be told apart. */
  schemaVersion: 1
  environment: Environment
  /** Full git SHA. */
  commit: string
  /** The version the app reports on /health (defaults to the short commit). */
  version: string
  /** The deployed image by digest, e.g. `repo/portfolio@sha256:...`; absent when nothing was published. */
  image?: string
  startedAt: string
  endedAt?: string
  steps: StepRecord[]
  verdict: RunVerdict | "running"
  /** Name of the first failed step, set by `finishRun`. */
  failingStep?: string
  rollback?: RollbackRecord
  urls: RunUrls
  scan?: ScanSummary
  warnings: RunWarning[]
  cost?: CostEstimate
}

/** Time source, injectable so tests and golden fixtures are deterministic. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number
}

export const systemClock: Clock = { now: () => Date.now() }

const iso = (ms: number) => new Date(ms).toISOString()

/** Starts a record for one deploy. `version` defaults to the first 7 characters of the commit. */
export function startRun(
  init: { environment: Environment; commit: string; version?: string; urls?: RunUrls },
  clock: Clock = systemClock,
): RunRecord {
  return {
    schemaVersion: 1,
    environment: init.environment,
    commit: init.commit,
    version: init.version ?? init.commit.slice(0, SHORT_COMMIT_LENGTH),
    startedAt: iso(clock.now()),
    steps: [],
    verdict: "running",
    urls: { ...init.urls },
    warnings: [],
  }
}

/**
 * The verdict a finished run deserves: any failed step makes it `failed`, unless a rollback was
 * attempted and verified, which makes it `rolled-back` (the old release serves; the new one did not
 * ship). Warnings and skipped steps never change the verdict.
 */
export function decideVerdict(run: Pick<RunRecord, "steps" | "rollback">): {
  verdict: RunVerdict
  failingStep?: string
} {
  const failed = run.steps.find((s) => s.outcome === "failed")
  if (!failed) return { verdict: "succeeded" }
  const rolledBack = run.rollback?.attempted === true && run.rollback.outcome === "succeeded"
  return { verdict: rolledBack ? "rolled-back" : "failed", failingStep: failed.name }
}

/** Closes the record: sets endedAt, the verdict and the failing step. Returns the same record. */
export function finishRun(run: RunRecord, clock: Clock = systemClock): RunRecord {
  const { verdict, failingStep } = decideVerdict(run)
  run.verdict = verdict
  if (failingStep === undefined) delete run.failingStep
  else run.failingStep = failingStep
  run.endedAt = iso(clock.now())
  return run
}

/** Appends a warning (the shell's way to report something that must not change the verdict). */
export function addWarning(run: RunRecord, source: string, message: string): void {
  run.warnings.push({ source, message })
}

/** Records a step that did not run (e.g. "stop AWS staging" with --skip-aws-stop). */
export function skipStep(run: RunRecord, name: string, detail: string, clock: Clock = systemClock): StepRecord {
  const at = iso(clock.now())
  const step: StepRecord = { name, startedAt: at, endedAt: at, outcome: "skipped", detail }
  run.steps.push(step)
  return step
}

/** A step's handle on itself while it runs. */
export interface StepContext {
  /** Aborted when the step times out or the run is cancelled; pass it to SDK calls and fetch. */
  signal: AbortSignal
  /** Marks the step `warning` (it still succeeds and the pipeline goes on). */
  warn(detail: string): void
  /** Sets the detail line of a successful step (e.g. "task definition portfolio:42"). */
  note(detail: string): void
}

export interface RecordStepOptions {
  /** The step's time budget; on expiry the signal aborts and the step fails with StepTimeoutError. */
  timeoutMs: number
  /** Default: the system clock. */
  clock?: Clock
  /** The whole run's signal (run timeout, Ctrl-C); aborting it aborts the step. Default: none. */
  signal?: AbortSignal
}

/** A step ran out of time. */
export class StepTimeoutError extends Error {
  override name = "StepTimeoutError"
  constructor(
    readonly step: string,
    readonly timeoutMs: number,
    message?: string,
  ) {
    super(
      message ??
        `step '${step}' did not finish within ${formatDuration(timeoutMs)} and was cancelled; ` +
          "if it is legitimately that slow, raise its entry in timeouts.stepMinutes (ci/pipeline.yaml).",
    )
  }
}

/**
 * Resolves like `work`, or rejects with `onTimeout()` after `ms`. Never leaves a timer behind, so a
 * finished step does not keep the module process alive. It stops waiting; it cannot stop the work.
 */
export async function raceDeadline<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms)
  })
  try {
    return await Promise.race([work, deadline])
  } finally {
    clearTimeout(timer)
  }
}

/** The run was cancelled (run timeout or Ctrl-C) while a step was running. */
export class RunCancelledError extends Error {
  override name = "RunCancelledError"
  constructor(
    readonly step: string,
    reason: unknown,
  ) {
    super(`step '${step}' was cancelled because the run was aborted (${describeReason(reason)}).`)
  }
}

function describeReason(reason: unknown): string {
  if (reason instanceof Error) return reason.message
  return reason === undefined ? "no reason given" : String(reason)
}

/**
 * Runs one step: times it, enforces `timeoutMs`, records its outcome in `run.steps` and returns the
 * step's value. A throw (or a timeout, or the run's signal aborting) is recorded as `failed` with the
 * error's first line as detail and then rethrown, so the pipeline decides what happens next
 * (typically: roll back, then report).
 *
 * The timeout cannot stop code that ignores `ctx.signal`; it stops *waiting* for it, records the
 * failure and moves on, which is what keeps a hung SDK call from eating the whole run budget.
 */
export async function recordStep<T>(
  run: RunRecord,
  name: string,
  fn: (ctx: StepContext) => Promise<T>,
  options: RecordStepOptions,
): Promise<T> {
  const { timeoutMs, clock = systemClock, signal: runSignal } = options
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new Error(`recordStep('${name}'): timeoutMs must be a positive number of milliseconds, got ${timeoutMs}`)
  }
  const startedAt = iso(clock.now())
  if (runSignal?.aborted) {
    // A cancelled run starts nothing new; the step is still recorded so the report shows where it stopped.
    const err = new RunCancelledError(name, runSignal.reason)
    run.steps.push({ name, startedAt, endedAt: startedAt, outcome: "failed", detail: firstLine(err) })
    throw err
  }
  let outcome: StepOutcome = "succeeded"
  let detail: string | undefined
  const controller = new AbortController()
  const ctx: StepContext = {
    signal: controller.signal,
    warn(d) {
      outcome = "warning"
      detail = d
    },
    note(d) {
      if (outcome !== "warning") detail = d
    },
  }
  let timer: NodeJS.Timeout | undefined
  let onRunAbort: (() => void) | undefined
  const stop = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new StepTimeoutError(name, timeoutMs)
      controller.abort(err)
      reject(err)
    }, timeoutMs)
    if (runSignal) {
      onRunAbort = () => {
        const err = new RunCancelledError(name, runSignal.reason)
        controller.abort(err)
        reject(err)
      }
      runSignal.addEventListener("abort", onRunAbort, { once: true })
    }
  })
  try {
    const value = await Promise.race([Promise.resolve().then(() => fn(ctx)), stop])
    run.steps.push(withDetail({ name, startedAt, endedAt: iso(clock.now()), outcome }, detail))
    return value
  } catch (err) {
    run.steps.push(withDetail({ name, startedAt, endedAt: iso(clock.now()), outcome: "failed" }, firstLine(err)))
    throw err
  } finally {
    clearTimeout(timer)
    if (runSignal && onRunAbort) runSignal.removeEventListener("abort", onRunAbort)
    // A step that lost the race may still settle later; make sure that cannot surface as unhandled.
    stop.catch(() => undefined)
  }
}

function withDetail(step: StepRecord, detail: string | undefined): StepRecord {
  return detail === undefined ? step : { ...step, detail }
}
