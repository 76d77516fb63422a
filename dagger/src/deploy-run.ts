// What staging.ts and production.ts share: the ports both pipelines call (release, health, notify),
// the step runner with per-step timeouts and the whole-run deadline, and the scan summary for the
// report. No Dagger and no SDK here: adapters live in deploy-adapters.ts.
import type { HealthCheckResult } from "./health-check.js"
import type { ScanVerdict } from "./scan-gate.js"
import {
  type Clock,
  recordStep,
  type RunRecord,
  type ScanFinding,
  type ScanSummary,
  type StepContext,
} from "./run.js"
import { stepTimeoutMs, type Settings } from "./settings.js"

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

/** The release the health check must see. */
export interface ExpectedRelease {
  version: string
  commit: string
}

export interface HealthPort {
  /** Polls `<url><healthPath>` until the release answers healthy or the budget is spent. Never throws for "unhealthy". */
  check(url: string, expected: Partial<ExpectedRelease>): Promise<HealthCheckResult>
}

export interface NotifyPort {
  /** Announces the finished run; undeliverable targets become warnings on the run. Never throws. */
  notify(run: RunRecord): Promise<void>
}

/** Step timeouts (timeouts.stepMinutes) by the key each step uses. */
export type StepKey = "build" | "test" | "scan" | "publish" | "terraform" | "rollout" | "health" | "rollback" | "notify"

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
    step: (name, key, fn) => recordStep(run, name, fn, { timeoutMs: timeout(key), clock, signal: runSignal }),
    finalStep: (name, key, fn) => recordStep(run, name, fn, { timeoutMs: timeout(key), clock }),
    close: () => clearTimeout(timer),
  }
}

/** Time budget of the combined build-and-check step: the build, then the longer of tests and scan. */
export function checkTimeoutMs(settings: Settings): number {
  return stepTimeoutMs(settings, "build") + Math.max(stepTimeoutMs(settings, "test"), stepTimeoutMs(settings, "scan"))
}

const SEVERITY_RANK = { CRITICAL: 0, HIGH: 1, MEDIUM: 2, LOW: 3, UNKNOWN: 4 } as const

/**
 * The report's scan summary from the gate's verdict: counts, the gate's decision, and the findings
 * that matter most first (blocking, then tolerated for lack of a fix, then below the policy).
 */
export function toScanSummary(verdict: ScanVerdict): ScanSummary {
  const ordered = [...verdict.blocking, ...verdict.unfixed, ...verdict.below]
  const topFindings: ScanFinding[] = ordered
    .map((f, i) => ({ f, i }))
    .sort((a, b) => SEVERITY_RANK[a.f.severity] - SEVERITY_RANK[b.f.severity] || a.i - b.i)
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
