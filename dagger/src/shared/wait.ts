// The polling loop behind every "wait until it is done" in the pipeline: observe, judge with a pure verdict
// function, sleep a jittered interval, stop at a verdict or when the time budget is spent.
//
// Why not the AWS SDK waiters: `waitUntilServicesStable` sleeps at least 15 s between polls (then backs off
// towards minutes) and judges "stable", not "our deployment succeeded". Here the interval is ours (default
// ≤ 2 s) and the verdict is whatever pure function the caller passes. Clock, sleep and randomness are
// injectable so tests run a ten-minute budget in milliseconds.
import type { Verdict } from "../aws/rollout-verdict.js"

export interface WaitOptions {
  /** Total time allowed, in ms, from the first observation. Required: every wait must end. */
  budgetMs: number
  /**
   * Upper bound of the pause between observations, in ms. Default 2000. Each pause is drawn uniformly from
   * [intervalMs / 2, intervalMs] so parallel pipelines do not poll in lock-step, and never exceeds it.
   */
  intervalMs?: number
  /** Clock in ms. Default Date.now. */
  now?: () => number
  /** Pause. Default `sleep` below (abortable). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>
  /** Uniform [0, 1). Default Math.random. */
  random?: () => number
  /**
   * Cancels the wait: no observation starts and no pause continues once it aborts; the wait rejects with
   * the signal's reason. Pass the step's signal so a cancelled step stops polling at once.
   */
  signal?: AbortSignal
}

export interface WaitResult<T> {
  /** A success or failure verdict; a failure of kind "timed-out" when the budget ran out while pending. */
  verdict: Exclude<Verdict, { state: "pending" }>
  /** How many observations were made. */
  polls: number
  /** Time from the first observation to the verdict, in ms (by the injected clock). */
  elapsedMs: number
  /** The last observation, for reports. */
  last: T
}

export const DEFAULT_INTERVAL_MS = 2_000

/** A pause that ends early, rejecting with the signal's reason, when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    // The listener goes with the pause: a step polls many times on one signal.
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort)
      resolve()
    }, ms)
    signal?.addEventListener("abort", onAbort, { once: true })
  })
}

/**
 * A time budget that starts now: `remainingMs()` is what is left of it by `now` (Date.now by default),
 * 0 once spent. For a sequence of waits that share one budget.
 */
export function timeBudget(budgetMs: number, now: () => number = Date.now): { remainingMs(): number } {
  const deadline = now() + budgetMs
  return { remainingMs: () => Math.max(0, deadline - now()) }
}

function check(name: string, value: number, min: number, max: number): void {
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new Error(`Expected \`${name}\` to be a number of ms between ${min} and ${max}, got ${value}.`)
  }
}

/**
 * Observes until `judge` returns success or failure, or the budget is spent. The last observation is made
 * at (or just after) the deadline, so a state reached late in the budget is still seen. Errors thrown by
 * `observe` end the wait (the SDK client has already retried throttling and transient faults by then).
 */
export async function waitForVerdict<T>(
  observe: () => Promise<T>,
  judge: (observation: T) => Verdict,
  options: WaitOptions,
): Promise<WaitResult<T>> {
  const intervalMs = options.intervalMs ?? DEFAULT_INTERVAL_MS
  check("budgetMs", options.budgetMs, 0, 24 * 3_600_000)
  check("intervalMs", intervalMs, 1, 600_000)
  const now = options.now ?? Date.now
  const pause = options.sleep ?? sleep
  const random = options.random ?? Math.random

  const { signal } = options
  const start = now()
  const deadline = start + options.budgetMs
  for (let polls = 1; ; polls++) {
    signal?.throwIfAborted()
    const last = await observe()
    signal?.throwIfAborted()
    const verdict = judge(last)
    if (verdict.state !== "pending") return { verdict, polls, elapsedMs: now() - start, last }
    const remaining = deadline - now()
    if (remaining <= 0) {
      return {
        verdict: {
          state: "failure",
          kind: "timed-out",
          detail: `still pending after ${Math.round((now() - start) / 100) / 10} s (budget ${options.budgetMs / 1000} s, ${polls} polls): ${verdict.detail}`,
        },
        polls,
        elapsedMs: now() - start,
        last,
      }
    }
    await pause(Math.min(remaining, intervalMs * (0.5 + 0.5 * random())), signal)
  }
}
