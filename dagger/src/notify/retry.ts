// When a failed notification attempt is tried again, and after how long: exponential backoff, the
// receiver's Retry-After honoured up to a cap, and no retry where retrying cannot help or may post twice.
// Pure; delivery.ts does the waiting.
import { formatDuration } from "../shared/text.js"

/**
 * Milliseconds a `Retry-After` header asks for: delta-seconds ("3", "1.5") or an HTTP date.
 * Undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (!value) return undefined
  const v = value.trim()
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000)
  const at = Date.parse(v)
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs)
}

export type AttemptResult =
  | { kind: "response"; status: number; retryAfterMs?: number }
  | { kind: "timeout" }
  | { kind: "network"; message: string }

export interface RetryPolicy {
  maxAttempts: number
  baseDelayMs: number
  maxRetryDelayMs: number
}

/**
 * Whether to try again after `attempt` (1-based) ended with `result`, and after how long.
 * Retried: 429 and 5xx (and 408), and connection failures before any answer. Not retried: other
 * 4xx (a wrong or revoked URL, a rejected body: trying again cannot help) and timeouts (the receiver
 * may have taken the message; a second wait would double the delay and may post it twice).
 */
export function retryDecision(
  attempt: number,
  result: AttemptResult,
  policy: RetryPolicy,
): { retry: true; delayMs: number } | { retry: false; why?: string } {
  if (result.kind === "response" && result.status >= 200 && result.status < 300) return { retry: false }
  const retryable =
    result.kind === "network" ||
    (result.kind === "response" && (result.status === 408 || result.status === 429 || result.status >= 500))
  if (!retryable) return { retry: false }
  if (attempt >= policy.maxAttempts) return { retry: false, why: `gave up after ${attempt} attempts` }
  const backoff = policy.baseDelayMs * 2 ** (attempt - 1)
  const asked = result.kind === "response" ? result.retryAfterMs : undefined
  if (asked !== undefined && asked > policy.maxRetryDelayMs) {
    return {
      retry: false,
      why: `the receiver asked to retry after ${formatDuration(asked)}, longer than the ${formatDuration(policy.maxRetryDelayMs)} a notification may wait`,
    }
  }
  return { retry: true, delayMs: Math.min(asked ?? backoff, policy.maxRetryDelayMs) }
}
