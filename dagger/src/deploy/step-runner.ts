// The ONE step runner of the deploys: each step under its own timeout (timeouts.stepMinutes) and the run's
// deadline (timeouts.runMinutes), recorded in the run record; a step that times out or is cancelled is
// cancelled for real (its signal aborts and its work is waited for) before the pipeline goes on.
import { addWarning, systemClock, type Clock, type RunRecord, type StepOutcome, type StepRecord } from "../report/run-record.js"
import { StepTimeoutError } from "../shared/deadline.js"
import { ToolError } from "../shared/tool-errors.js"
import { stepTimeoutMs, type Settings, type StepKey } from "../config/settings.js"
import { firstLine } from "../shared/text.js"

/** Per-step options of the runner. */
export interface StepOptions {
  /** How long the step's work may take to stop once cancelled; default CANCEL_GRACE_MS. */
  cancelGraceMs?: number
}

/** Runs steps of one deploy: each under its timeout and the run's deadline, recorded in `run`. */
export interface Steps {
  run: RunRecord
  clock: Clock
  /** Aborted when the whole-run timeout (timeouts.runMinutes) expires. */
  signal: AbortSignal
  /** A step that stops when the run's deadline passes. */
  step<T>(name: string, key: StepKey | number, fn: (ctx: StepContext) => Promise<T>, options?: StepOptions): Promise<T>
  /**
   * A step that is NOT cut short by the run's deadline, only by its own timeout: rollback and
   * notification must still happen after a run ran out of time, or the next run inherits a
   * half-switched service and nobody hears about it.
   */
  finalStep<T>(name: string, key: StepKey | number, fn: (ctx: StepContext) => Promise<T>, options?: StepOptions): Promise<T>
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
    step: (name, key, fn, options) => recordStep(run, name, fn, { ...options, timeoutMs: timeout(key), clock, signal: runSignal }),
    finalStep: (name, key, fn, options) => recordStep(run, name, fn, { ...options, timeoutMs: timeout(key), clock }),
    close: () => clearTimeout(timer),
  }
}

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
        // Cut off by its timeout or the run: the runner records that once, below.
        if (ctx.signal.aborted) throw err
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

// --- The step runner ---------------------------------------------------------------------------

/** A step's handle on itself while it runs. */
export interface StepContext {
  /**
   * Aborted when the step times out or the run is cancelled. Every port call takes it and every SDK call,
   * poll and sleep honours it: once it aborts, the step's work sends nothing more to any cloud.
   */
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
  /**
   * How long a cancelled step's work may take to wind down before the step is recorded and the pipeline
   * moves on (to the rollback). Default CANCEL_GRACE_MS.
   */
  cancelGraceMs?: number
}

/**
 * Time a cancelled step's work gets to stop. Cloud calls abort at once (their signal); what cannot be
 * aborted from the module (a Dagger exec) is waited for this long, so a rollback does not race it.
 */
export const CANCEL_GRACE_MS = 30_000

/** The run was cancelled (run timeout, Ctrl-C, SIGTERM) while a step was running. */
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
 * One line for a step's detail. A tool failure says which tool complained and why (its fields, see
 * ToolError.summary); another multi-line error keeps its first line and the next one.
 */
export function stepDetail(err: unknown): string {
  if (err instanceof ToolError) return firstLine(err.summary)
  if (!(err instanceof Error)) return firstLine(err)
  const [first, second] = err.message.split("\n").map((l) => l.trim()).filter((l) => l !== "")
  return firstLine(second ? `${first} ${second}` : err)
}

/** Resolves true when `work` settles within `ms`, false otherwise; never rejects. */
async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms)
  })
  try {
    return await Promise.race([work.then(() => true, () => true), late])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Runs one step: times it, enforces `timeoutMs`, records its outcome in `run.steps` and returns the
 * step's value. A throw (or a timeout, or the run's signal aborting) is recorded as `failed` and then
 * rethrown, so the pipeline decides what happens next (typically: roll back, then report).
 *
 * A step that times out or is cancelled is cancelled for real before this returns: its signal aborts, and
 * the runner waits for its work to stop (up to `cancelGraceMs`), so nothing it started can change a cloud
 * after the rollback began or the verdict was given.
 */
export async function recordStep<T>(
  run: RunRecord,
  name: string,
  fn: (ctx: StepContext) => Promise<T>,
  options: RecordStepOptions,
): Promise<T> {
  const { timeoutMs, clock = systemClock, signal: runSignal, cancelGraceMs = CANCEL_GRACE_MS } = options
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
  // Started synchronously (a throw becomes a rejection), so the work sees an abort that comes right after.
  const work = new Promise<T>((resolve) => resolve(fn(ctx)))
  try {
    const value = await Promise.race([work, stop])
    run.steps.push(withDetail({ name, startedAt, endedAt: iso(clock.now()), outcome }, detail))
    return value
  } catch (err) {
    let failure = stepDetail(err)
    if (controller.signal.aborted && !(await settlesWithin(work, cancelGraceMs))) {
      failure = firstLine(`${failure} Its work had not stopped ${Math.round(cancelGraceMs / 1000)} s after cancellation.`)
    }
    run.steps.push({ name, startedAt, endedAt: iso(clock.now()), outcome: "failed", detail: failure })
    throw err
  } finally {
    clearTimeout(timer)
    if (runSignal && onRunAbort) runSignal.removeEventListener("abort", onRunAbort)
    // The losers of the race may still settle later; make sure that cannot surface as unhandled.
    stop.catch(() => undefined)
    work.catch(() => undefined)
  }
}

function withDetail(step: StepRecord, detail: string | undefined): StepRecord {
  return detail === undefined ? step : { ...step, detail }
}

const iso = (ms: number) => new Date(ms).toISOString()
