// Request outcomes → TrafficFigures (counts, error rate, latency percentiles). Pure.
import type { TrafficFigures } from "../report/run-record.js"

/**
 * How one request of a burst ended: an HTTP answer (any status) or no answer (timeout, refused, reset).
 * `warmup`: sent to warm the release up; its failure counts, its latency does not.
 */
export type RequestOutcome = ({ status: number; ms: number } | { error: string; ms: number }) & { warmup?: boolean }

/** A 5xx, a timeout or a failed connection; 4xx and 3xx are answers the service chose to give. */
export function isFailure(o: RequestOutcome): boolean {
  return "error" in o || o.status >= 500
}

/** Nearest-rank percentile (p in (0, 1]) of values sorted ascending; undefined for none. */
export function percentile(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined
  const rank = Math.ceil(p * sorted.length)
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]
}

/**
 * The figures of a set of completed requests. Percentiles are over the answered requests past the
 * warm-up only (a timeout's "latency" is the timeout, not the service's), rounded to 0.1 ms.
 */
export function trafficFigures(outcomes: readonly RequestOutcome[]): TrafficFigures {
  const errors = outcomes.filter(isFailure).length
  const answered = outcomes.filter((o) => "status" in o && !o.warmup).map((o) => o.ms).sort((a, b) => a - b)
  const round = (ms: number | undefined) => (ms === undefined ? undefined : Math.round(ms * 10) / 10)
  const p50Ms = round(percentile(answered, 0.5))
  const p95Ms = round(percentile(answered, 0.95))
  return {
    requests: outcomes.length,
    errors,
    errorRate: outcomes.length === 0 ? 0 : errors / outcomes.length,
    ...(p50Ms === undefined ? {} : { p50Ms }),
    ...(p95Ms === undefined ? {} : { p95Ms }),
  }
}
