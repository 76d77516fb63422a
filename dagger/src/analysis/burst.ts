// The synthetic load of a canary analysis: a bounded burst of GET requests to one release's URL,
// measured. Bounded three ways, so a step's time stays ≈ its pause + one burst:
// - in count: `requests`, `concurrency` at a time, spread round-robin over `paths`;
// - in wall time: a request starts only while a whole request timeout still fits in `budgetMs`, so every
//   started request ends (answered or timed out) inside the budget and none is cut short, which would
//   bias the figures; requests that did not fit are counted in `notSent`;
// - in memory: at most BODY_EXCERPT_BYTES of each body is kept and at most BODY_DRAIN_BYTES read (the
//   rest is drained so the keep-alive connection is reused: a new TLS handshake per request would
//   measure the handshake, not the release).
// The signal aborts every request in flight at once and sendBurst rejects with its reason.
import { classifyTransportError } from "../health/transport.js"
import type { TrafficFigures } from "../report/run-record.js"
import { oneLine, truncate } from "../shared/text.js"
import { isFailure, trafficFigures, type RequestOutcome } from "./figures.js"

export interface BurstOptions {
  /** The release's base URL (the canary's tag URL, the service URL, the ALB's). */
  baseUrl: string
  /** Paths requested in turn, e.g. ["/", "/health"]. */
  paths: readonly string[]
  /** Requests in the burst. */
  requests: number
  /** Requests in flight at once. */
  concurrency: number
  /** A request without a complete answer after this long counts as a timeout (an error). */
  requestTimeoutMs: number
  /** Wall time of the whole burst. */
  budgetMs: number
  /**
   * The first requests that warm the release up (a new revision's instances are cold): their failures
   * count, their latency does not. Default 0.
   */
  warmupRequests?: number
  /** How many responses to keep for the report. Default 10. */
  keepResponses?: number
}

/** One response as the report shows it (failures are kept first, see sendBurst). */
export type ObservedResponse =
  | { path: string; ms: number; status: number; bodyExcerpt: string }
  | { path: string; ms: number; error: string }

export interface BurstResult {
  /** The base URL the burst was sent to. */
  url: string
  figures: TrafficFigures
  /** The last failed responses, then the latest answers, up to keepResponses, in the order sent. */
  responses: ObservedResponse[]
  /** Requests not started because the budget could not hold another whole request. */
  notSent: number
  elapsedMs: number
}

/** Kept of each body for the report. */
/** A burst ends inside its budget; the margin a step that sends one gets for its own bookkeeping. */
export const BURST_GRACE_MS = 5_000

export const BODY_EXCERPT_BYTES = 4 * 1024
/** Read of each body at most; past this the stream is cancelled (the connection is then not reused). */
export const BODY_DRAIN_BYTES = 1024 * 1024
/** Characters of the kept body shown in a response excerpt. */
const EXCERPT_CHARS = 200
const DEFAULT_KEEP = 10

async function readExcerpt(res: Response): Promise<string> {
  if (res.body === null) return ""
  const reader = res.body.getReader()
  const kept: Uint8Array[] = []
  let keptBytes = 0
  let read = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    read += value.byteLength
    if (keptBytes < BODY_EXCERPT_BYTES) {
      const part = value.subarray(0, BODY_EXCERPT_BYTES - keptBytes)
      kept.push(part)
      keptBytes += part.byteLength
    }
    if (read >= BODY_DRAIN_BYTES) {
      await reader.cancel()
      break
    }
  }
  return truncate(oneLine(Buffer.concat(kept).toString("utf8")), EXCERPT_CHARS)
}

function joinUrl(baseUrl: string, path: string): string {
  return baseUrl.replace(/\/+$/, "") + (path.startsWith("/") ? path : `/${path}`)
}

/**
 * Sends the burst and measures it. Never throws for a failing release (its failures are figures);
 * throws for inputs that cannot make a burst, and the signal's reason once it aborts.
 */
export async function sendBurst(options: BurstOptions, signal?: AbortSignal): Promise<BurstResult> {
  const { baseUrl, paths, requests, concurrency } = options
  if (paths.length === 0) throw new Error("sendBurst: `paths` is empty; give at least one path, e.g. [\"/\"]")
  for (const [key, value] of Object.entries({ requests, concurrency, requestTimeoutMs: options.requestTimeoutMs, budgetMs: options.budgetMs })) {
    if (!Number.isInteger(value) || value < 1) throw new Error(`sendBurst: expected \`${key}\` to be a positive integer, got ${value}`)
  }
  signal?.throwIfAborted()
  const timeoutMs = Math.min(options.requestTimeoutMs, options.budgetMs)
  const keep = options.keepResponses ?? DEFAULT_KEEP
  const warmup = options.warmupRequests ?? 0
  const t0 = performance.now()
  const outcomes: RequestOutcome[] = []
  // Observed responses with their send order, so failures can be kept ahead of successes.
  const failures: Array<[number, ObservedResponse]> = []
  const answers: Array<[number, ObservedResponse]> = []
  const remember = (list: Array<[number, ObservedResponse]>, n: number, r: ObservedResponse): void => {
    list.push([n, r])
    if (list.length > keep) list.shift()
  }
  let next = 0
  let notSent = 0

  const one = async (n: number): Promise<void> => {
    const path = paths[n % paths.length]!
    const start = performance.now()
    const timeout = AbortSignal.timeout(timeoutMs)
    let observed: ObservedResponse
    let outcome: RequestOutcome
    try {
      const res = await fetch(joinUrl(baseUrl, path), {
        signal: signal ? AbortSignal.any([timeout, signal]) : timeout,
        headers: { "cache-control": "no-cache", "user-agent": "portfolio-pipeline-canary-analysis" },
        // A redirect is the release's answer; following it could leave the release being judged.
        redirect: "manual",
      })
      const bodyExcerpt = await readExcerpt(res)
      const ms = performance.now() - start
      outcome = { status: res.status, ms, ...(n < warmup ? { warmup: true } : {}) }
      observed = { path, ms: Math.round(ms), status: res.status, bodyExcerpt }
    } catch (err) {
      if (signal?.aborted) throw signal.reason
      const ms = performance.now() - start
      const error = classifyTransportError(err, timeoutMs).detail
      outcome = { error, ms }
      observed = { path, ms: Math.round(ms), error }
    }
    outcomes.push(outcome)
    remember(isFailure(outcome) ? failures : answers, n, observed)
  }

  const worker = async (): Promise<void> => {
    while (next < requests) {
      if (performance.now() - t0 + timeoutMs > options.budgetMs) {
        notSent += requests - next
        next = requests
        return
      }
      await one(next++)
    }
  }

  await Promise.all(Array.from({ length: Math.min(concurrency, requests) }, () => worker()))
  const room = Math.max(0, keep - failures.length)
  const responses = [...failures, ...(room === 0 ? [] : answers.slice(-room))]
    .sort((a, b) => a[0] - b[0])
    .map(([, r]) => r)
  return { url: baseUrl, figures: trafficFigures(outcomes), responses, notSent, elapsedMs: Math.round(performance.now() - t0) }
}
