// The health check's imperative shell: sends the requests through an injectable fetch, clock and sleep,
// reads at most BODY_LIMIT_BYTES of each body, and leaves every judgement to verdict.ts.
//
// The first request goes out immediately and polls are short: the verdict lands within about one interval
// of the moment the service is actually ready (a fixed sleep is either too long or a lie).
import { sleep } from "../shared/wait.js"
import { oneLine, truncate } from "../shared/text.js"
import { renderHealthSummary } from "./health-check.js"
import { healthUrl, resolveSettings, type HealthCheckSettings } from "./inputs.js"
import { classifyTransportError } from "./transport.js"
import {
  classifyAttempt,
  healthVerdict,
  type ClassifiedAttempt,
  type ExpectedRelease,
  type HealthPolicy,
  type HealthSample,
  type HealthVerdict,
} from "./verdict.js"

/** Ports on which I/O is done by the caller (tests inject fakes; defaults are the real ones). */
export interface HealthCheckIo {
  fetch: typeof fetch
  /** Monotonic milliseconds. */
  clock: () => number
  /** A pause that ends early, rejecting with the signal's reason, when the signal aborts. */
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>
  /**
   * Cancels the check (a step's timeout, the run's cancellation): the request in flight and any pause
   * stop at once and checkHealth rejects with the signal's reason. Default: none.
   */
  signal?: AbortSignal
}

export interface HealthCheckResult {
  /** The URL that was polled. */
  url: string
  expected: ExpectedRelease
  settings: HealthCheckSettings
  verdict: HealthVerdict
  healthy: boolean
  /** Time until the verdict was certain. */
  elapsedMs: number
  /** Every attempt, judged (oldest first). */
  attempts: ClassifiedAttempt[]
  /** The last RECENT_RESPONSES attempts as answered (oldest first), for a failure's diagnostics (health/diagnostics.ts). */
  recent: RecentResponse[]
  summary: string
}

/** One attempt as a diagnostic shows it: what came back, how fast, and the start of the body only. */
export interface RecentResponse {
  /** Milliseconds since the check started. */
  startedAtMs: number
  durationMs: number
  /** The HTTP status; absent when nothing answered. */
  status?: number
  /** Why nothing answered ("refused: connect ECONNREFUSED ..."); absent when something did. */
  error?: string
  /** The body's first BODY_EXCERPT_CHARS characters on one line; absent for an empty body. */
  bodyExcerpt?: string
}

/** Attempts a result keeps as RecentResponse: enough to see a pattern, few enough to read. */
export const RECENT_RESPONSES = 5
/** Characters of a body a RecentResponse keeps. */
export const BODY_EXCERPT_CHARS = 200

/**
 * The most of a body that is read. A /health answer is a few hundred bytes; past this the stream is
 * cancelled, so a misbehaving endpoint (or a proxy's error page, or a 300 MB file) costs no more memory.
 */
export const BODY_LIMIT_BYTES = 64 * 1024
/** Below this much budget left, no new attempt is started. */
const MIN_ATTEMPT_MS = 100

/** Reads at most `limit` bytes of the body, then cancels the stream (undici closes the connection). */
async function readCapped(res: Response, limit: number): Promise<{ body: string; cutAtBytes?: number }> {
  if (res.body === null) return { body: "" }
  const reader = res.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    if (size + value.byteLength > limit) {
      chunks.push(value.subarray(0, limit - size))
      await reader.cancel()
      return { body: Buffer.concat(chunks).toString("utf8"), cutAtBytes: limit }
    }
    chunks.push(value)
    size += value.byteLength
  }
  return { body: Buffer.concat(chunks).toString("utf8") }
}

async function attemptOnce(url: string, timeoutMs: number, io: HealthCheckIo, t0: number): Promise<HealthSample> {
  const start = io.clock()
  const startedAtMs = start - t0
  const timeout = AbortSignal.timeout(timeoutMs)
  try {
    const res = await io.fetch(url, {
      signal: io.signal ? AbortSignal.any([timeout, io.signal]) : timeout,
      headers: { accept: "application/json", "cache-control": "no-cache", "user-agent": "portfolio-pipeline-health-check" },
      redirect: "follow",
    })
    const { body, cutAtBytes } = await readCapped(res, BODY_LIMIT_BYTES)
    const outcome = { kind: "response" as const, httpStatus: res.status, body, ...(cutAtBytes === undefined ? {} : { cutAtBytes }) }
    return { startedAtMs, durationMs: io.clock() - start, outcome }
  } catch (err) {
    // A cancelled check is not an unhealthy service: it ends here, with the canceller's reason.
    if (io.signal?.aborted) throw io.signal.reason
    return { startedAtMs, durationMs: io.clock() - start, outcome: { kind: "transport", ...classifyTransportError(err, timeoutMs) } }
  }
}

/**
 * A sample as a RecentResponse. The excerpt is copied out of the body, so keeping it never keeps the
 * whole body alive (V8 would share a slice's memory with the string it was cut from).
 */
function recentResponse(sample: HealthSample): RecentResponse {
  const { startedAtMs, durationMs, outcome } = sample
  if (outcome.kind === "transport") return { startedAtMs, durationMs, error: `${outcome.failure}: ${outcome.detail}` }
  const excerpt = truncate(oneLine(outcome.body.slice(0, 4 * BODY_EXCERPT_CHARS)), BODY_EXCERPT_CHARS)
  return {
    startedAtMs,
    durationMs,
    status: outcome.httpStatus,
    ...(excerpt === "" ? {} : { bodyExcerpt: Buffer.from(excerpt, "utf8").toString("utf8") }),
  }
}

const realIo: HealthCheckIo = {
  fetch: (...args) => globalThis.fetch(...args),
  clock: () => performance.now(),
  sleep,
}

/**
 * Polls `<baseUrl><path>` until `consecutiveSuccesses` answers in a row show the expected release,
 * or the budget runs out. The first request is sent at once; attempts start `intervalMs` apart (a
 * slow attempt is followed immediately by the next). Never throws for an unhealthy service — the
 * verdict says so; throws HealthCheckInputError for invalid inputs, before any request, and the
 * signal's reason when `io.signal` aborts.
 */
export async function checkHealth(
  baseUrl: string,
  expected: ExpectedRelease,
  options: Partial<HealthCheckSettings> = {},
  io: Partial<HealthCheckIo> = {},
): Promise<HealthCheckResult> {
  const settings = resolveSettings(options)
  const url = healthUrl(baseUrl, settings.path)
  const want: ExpectedRelease = {
    version: expected.version?.trim() || undefined,
    commit: expected.commit?.trim() || undefined,
  }
  const ports: HealthCheckIo = { ...realIo, ...io }
  const pause = (ms: number) => ports.sleep(ms, ports.signal)
  const policy: HealthPolicy = { consecutiveSuccesses: settings.consecutiveSuccesses, budgetMs: settings.budgetSeconds * 1000 }
  ports.signal?.throwIfAborted()
  const t0 = ports.clock()
  const samples: HealthSample[] = []
  const recent: RecentResponse[] = []
  let verdict = healthVerdict(samples, want, policy, 0)
  for (;;) {
    const remaining = policy.budgetMs - (ports.clock() - t0)
    if (remaining <= 0) break
    if (remaining < Math.min(settings.requestTimeoutMs, MIN_ATTEMPT_MS)) {
      // An attempt cut off after a few ms would only add a spurious "timeout" as the last error.
      await pause(remaining)
      break
    }
    const sample = await attemptOnce(url, Math.max(1, Math.min(settings.requestTimeoutMs, Math.ceil(remaining))), ports, t0)
    samples.push(sample)
    recent.push(recentResponse(sample))
    if (recent.length > RECENT_RESPONSES) recent.shift()
    verdict = healthVerdict(samples, want, policy, ports.clock() - t0)
    if (verdict.state !== "pending") break
    const wait = sample.startedAtMs + settings.intervalMs - (ports.clock() - t0)
    const left = policy.budgetMs - (ports.clock() - t0)
    if (wait > 0) await pause(Math.min(wait, Math.max(left, 0)))
  }
  // The loop ends on a decided verdict or with the budget spent. A timer may wake a millisecond before
  // the clock says the budget is over, and a check that has given up is never still "pending".
  const elapsed = ports.clock() - t0
  verdict = healthVerdict(samples, want, policy, verdict.state === "pending" ? Math.max(elapsed, policy.budgetMs) : elapsed)
  const result: Omit<HealthCheckResult, "summary"> = {
    url,
    expected: want,
    settings,
    verdict,
    healthy: verdict.state === "healthy",
    elapsedMs: Math.round(verdict.decidedAtMs ?? ports.clock() - t0),
    attempts: samples.map((s) => classifyAttempt(s, want)),
    recent,
  }
  return { ...result, summary: renderHealthSummary(result) }
}
