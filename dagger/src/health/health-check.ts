// Health check: is the NEW release answering on `<url>/health`, and how soon can we know?
//
// Functional core: `classifyAttempt` and `healthVerdict` are pure (samples in, verdict out), so every
// rule is tested as a table. Imperative shell: `checkHealth` sends the requests through an injectable
// fetch, clock and sleep, and does nothing else.
//
// Why these rules:
// - A 200 is not enough: during a rollout the OLD task/revision keeps answering 200. Only a body that
//   names the expected version/commit counts, so "healthy" means "the new release is serving".
// - N consecutive successes, not one: a load balancer alternating between a ready and a crashing
//   task, or a revision that flaps while warming up, must not pass on a lucky sample.
// - The first request goes out immediately and polls are short: the verdict lands within about one
//   interval of the moment the service is actually ready (a fixed sleep is either too long or a lie).
import { func, object } from "@dagger.io/dagger"
import { sleep } from "../shared/wait.js"

/** Why one attempt did not count as a success. */
export const FAILURE_KINDS = [
  "refused", // nothing accepted the TCP connection (refused, host/network unreachable)
  "timeout", // no complete answer within the per-request timeout
  "dns", // the host name did not resolve
  "reset", // the connection was closed or reset mid-exchange
  "tls", // TLS handshake or certificate failure
  "http5xx", // server error (503 while starting/draining, 502/504 from a load balancer)
  "http4xx", // client error (wrong path, auth in front of the service)
  "unready", // 2xx JSON whose `status` is not ok/healthy
  "wrongVersion", // healthy, but another version/commit is serving (e.g. the old release)
  "badBody", // 2xx but not JSON, or a required field is missing
  "other", // anything else (unexpected status, fetch refusing the URL)
] as const
export type FailureKind = (typeof FAILURE_KINDS)[number]
export type TransportFailureKind = Extract<FailureKind, "refused" | "timeout" | "dns" | "reset" | "tls" | "other">
export type Classification = "ok" | FailureKind

/** The release that must be serving. Omitted fields are not checked. */
export interface ExpectedRelease {
  version?: string
  /** Full or abbreviated (≥ 7 characters) git SHA; either side may be abbreviated. */
  commit?: string
}

/** What one request produced, before it is judged against the expected release. */
export type AttemptOutcome =
  | { kind: "response"; httpStatus: number; body: string }
  | { kind: "transport"; failure: TransportFailureKind; detail: string }

/** One attempt; times are milliseconds since the check started. */
export interface HealthSample {
  startedAtMs: number
  durationMs: number
  outcome: AttemptOutcome
}

export interface HealthPolicy {
  /** Successes in a row needed for "healthy". */
  consecutiveSuccesses: number
  /** Time after which, without that streak, the verdict is "unhealthy". */
  budgetMs: number
}

/** What a /health body said (only the fields the verdict uses). */
export interface ObservedRelease {
  status?: string
  version?: string
  commit?: string
}

export interface ClassifiedAttempt {
  classification: Classification
  /** Human-readable reason, e.g. "HTTP 503 (status: starting)" or "serving version 1.0.0; expected 1.1.0". */
  detail: string
  startedAtMs: number
  durationMs: number
  observed?: ObservedRelease
}

export interface HealthVerdict {
  state: "healthy" | "unhealthy" | "pending"
  attempts: number
  /** Successes in a row at the end of the samples. */
  streak: number
  counts: Record<Classification, number>
  lastFailure?: ClassifiedAttempt
  /** What the most recent body that could be read said (the old release, while it still answers). */
  observed?: ObservedRelease
  /** When the verdict became certain (ms since start); undefined while pending. */
  decidedAtMs?: number
  /** Start of the first attempt of the streak that made the verdict healthy. */
  healthySinceMs?: number
  reason: string
}

const HEALTHY_STATUSES = new Set(["ok", "healthy"])
const DETAIL_MAX = 200

function clip(text: string, max = DETAIL_MAX): string {
  const oneLine = text.replace(/\s+/g, " ").trim()
  return oneLine.length > max ? `${oneLine.slice(0, max - 1)}…` : oneLine
}

/** Commits match when equal, or when the shorter (≥ 7 chars) is a prefix of the longer (short vs full SHA). */
export function commitMatches(observed: string, expected: string): boolean {
  const a = observed.trim().toLowerCase()
  const b = expected.trim().toLowerCase()
  if (a === b) return a.length > 0
  const [short, long] = a.length < b.length ? [a, b] : [b, a]
  return short.length >= 7 && long.startsWith(short)
}

function parseBody(body: string): { json: Record<string, unknown> } | { error: string } {
  let value: unknown
  try {
    value = JSON.parse(body)
  } catch {
    return { error: `body is not JSON: ${JSON.stringify(clip(body, 80))}` }
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { error: `body is JSON but not an object: ${clip(body, 80)}` }
  }
  return { json: value as Record<string, unknown> }
}

function observedFrom(json: Record<string, unknown>): ObservedRelease {
  const pick = (k: string) => (typeof json[k] === "string" ? (json[k] as string) : undefined)
  return { status: pick("status"), version: pick("version"), commit: pick("commit") }
}

function describeRelease(o: ObservedRelease): string {
  const parts = [o.version !== undefined ? `version ${o.version}` : undefined, o.commit !== undefined ? `commit ${o.commit}` : undefined]
  return parts.filter(Boolean).join(", ") || "no version/commit"
}

/** Judges one attempt against the expected release. Pure. */
export function classifyAttempt(sample: HealthSample, expected: ExpectedRelease): ClassifiedAttempt {
  const base = { startedAtMs: sample.startedAtMs, durationMs: sample.durationMs }
  const out = sample.outcome
  if (out.kind === "transport") return { ...base, classification: out.failure, detail: out.detail }

  const status = out.httpStatus
  const parsed = parseBody(out.body)
  const observed = "json" in parsed ? observedFrom(parsed.json) : undefined
  if (status < 200 || status > 299) {
    const said = observed?.status !== undefined ? ` (status: ${observed.status}, ${describeRelease(observed)})` : ""
    const classification: Classification = status >= 500 && status <= 599 ? "http5xx" : status >= 400 && status <= 499 ? "http4xx" : "other"
    const prefix = classification === "other" ? "unexpected " : ""
    return { ...base, classification, detail: `${prefix}HTTP ${status}${said}`, observed }
  }
  if ("error" in parsed) return { ...base, classification: "badBody", detail: `HTTP ${status}: ${parsed.error}` }

  const o = observed!
  const required = ["status", ...(expected.version !== undefined ? ["version"] : []), ...(expected.commit !== undefined ? ["commit"] : [])]
  const missing = required.filter((k) => o[k as keyof ObservedRelease] === undefined)
  if (missing.length > 0) {
    return {
      ...base,
      classification: "badBody",
      detail: `HTTP ${status}: body lacks string field${missing.length > 1 ? "s" : ""} ${missing.join(", ")}: ${clip(out.body, 120)}`,
      observed: o,
    }
  }
  if (!HEALTHY_STATUSES.has(o.status!.toLowerCase())) {
    return { ...base, classification: "unready", detail: `HTTP ${status} but status is ${JSON.stringify(o.status)} (expected "ok" or "healthy")`, observed: o }
  }
  const versionWrong = expected.version !== undefined && o.version !== expected.version
  const commitWrong = expected.commit !== undefined && !commitMatches(o.commit!, expected.commit)
  if (versionWrong || commitWrong) {
    return {
      ...base,
      classification: "wrongVersion",
      detail: `serving ${describeRelease(o)}; expected ${describeRelease(expected)}`,
      observed: o,
    }
  }
  return { ...base, classification: "ok", detail: `status ${o.status}, ${describeRelease(o)}`, observed: o }
}

function emptyCounts(): Record<Classification, number> {
  return Object.fromEntries(["ok", ...FAILURE_KINDS].map((k) => [k, 0])) as Record<Classification, number>
}

/**
 * The verdict over all attempts so far. Pure.
 * `elapsedMs` is the time since the check started (defaults to the end of the last sample): at or past
 * the budget without the streak, the verdict is "unhealthy". A streak, once reached, wins.
 */
export function healthVerdict(
  samples: readonly HealthSample[],
  expected: ExpectedRelease,
  policy: HealthPolicy,
  elapsedMs?: number,
): HealthVerdict {
  const classified = samples.map((s) => classifyAttempt(s, expected))
  const counts = emptyCounts()
  let streak = 0
  let healthyAt: number | undefined
  let healthySince: number | undefined
  let lastFailure: ClassifiedAttempt | undefined
  let observed: ObservedRelease | undefined
  for (const [i, c] of classified.entries()) {
    counts[c.classification] += 1
    if (c.observed) observed = c.observed
    if (c.classification === "ok") {
      streak += 1
      if (streak === policy.consecutiveSuccesses && healthyAt === undefined) {
        healthyAt = c.startedAtMs + c.durationMs
        healthySince = classified[i - streak + 1]!.startedAtMs
      }
    } else {
      streak = 0
      lastFailure = c
    }
  }
  const last = samples.at(-1)
  const elapsed = elapsedMs ?? (last ? last.startedAtMs + last.durationMs : 0)
  const common = { attempts: samples.length, streak, counts, lastFailure, observed }
  const n = policy.consecutiveSuccesses
  if (healthyAt !== undefined) {
    return {
      ...common,
      state: "healthy",
      decidedAtMs: healthyAt,
      healthySinceMs: healthySince,
      reason: `${n} consecutive successful answer${n === 1 ? "" : "s"} with ${describeRelease(observed ?? {})}`,
    }
  }
  if (elapsed >= policy.budgetMs) {
    const why = lastFailure ? `last failure: ${lastFailure.classification}: ${lastFailure.detail}` : "no attempt finished"
    return {
      ...common,
      state: "unhealthy",
      decidedAtMs: elapsed,
      reason: `no ${n} consecutive successes within ${formatMs(policy.budgetMs)} (${why})`,
    }
  }
  return { ...common, state: "pending", reason: `${streak}/${n} consecutive successes so far` }
}

// ---------------------------------------------------------------------------------------------
// Transport errors → failure kinds (pure; Node 20's fetch wraps the cause as TypeError("fetch failed"))

const CODE_KINDS: Array<[RegExp, TransportFailureKind]> = [
  [/^(ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|EHOSTDOWN|EADDRNOTAVAIL)$/, "refused"],
  [/^(ENOTFOUND|EAI_AGAIN|EAI_NONAME|EAI_NODATA|EAI_FAIL)$/, "dns"],
  [/^(ECONNRESET|EPIPE|ECONNABORTED|UND_ERR_SOCKET|UND_ERR_CLOSED)$/, "reset"],
  [/^(ETIMEDOUT|UND_ERR_CONNECT_TIMEOUT|UND_ERR_HEADERS_TIMEOUT|UND_ERR_BODY_TIMEOUT)$/, "timeout"],
  [/^(ERR_SSL_|ERR_TLS_|CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|HOSTNAME_MISMATCH)/, "tls"],
]

function errorChain(err: unknown): Array<{ name?: string; code?: string; message?: string }> {
  const out: Array<{ name?: string; code?: string; message?: string }> = []
  const queue: unknown[] = [err]
  while (queue.length > 0 && out.length < 10) {
    const e = queue.shift()
    if (typeof e !== "object" || e === null) continue
    const r = e as { name?: unknown; code?: unknown; message?: unknown; cause?: unknown; errors?: unknown }
    out.push({
      name: typeof r.name === "string" ? r.name : undefined,
      code: typeof r.code === "string" ? r.code : undefined,
      message: typeof r.message === "string" ? r.message : undefined,
    })
    if (r.cause !== undefined) queue.push(r.cause)
    if (Array.isArray(r.errors)) queue.push(...r.errors)
  }
  return out
}

/** Maps a fetch rejection to a failure kind and a one-line detail. Pure. */
export function classifyTransportError(err: unknown, timeoutMs: number): { failure: TransportFailureKind; detail: string } {
  const chain = errorChain(err)
  if (chain.some((e) => e.name === "TimeoutError" || e.name === "AbortError")) {
    return { failure: "timeout", detail: `no complete answer within ${formatMs(timeoutMs)}` }
  }
  for (const e of chain) {
    for (const [re, failure] of CODE_KINDS) {
      if (e.code && re.test(e.code)) return { failure, detail: clip(e.message ?? e.code) }
    }
  }
  const deepest = chain.at(-1)
  const detail = clip(chain.map((e) => e.message).filter(Boolean).join(": ") || String(err))
  // Undici reports a body cut short as TypeError("terminated") without a code.
  if (chain.some((e) => e.message === "terminated")) return { failure: "reset", detail }
  return { failure: "other", detail: deepest?.code ? `${deepest.code}: ${detail}` : detail }
}

// ---------------------------------------------------------------------------------------------
// Inputs

/** Settings of one check; the field names match ci/pipeline.yaml's `health` blocks. */
export interface HealthCheckSettings {
  /** Time between the starts of two attempts. Default 250 ms. */
  intervalMs: number
  /** Per-request timeout (capped by the remaining budget). Default 2000 ms. */
  requestTimeoutMs: number
  /** Overall budget. Default 120 s. */
  budgetSeconds: number
  /** Successes in a row needed. Default 3. */
  consecutiveSuccesses: number
  /** Path appended to the base URL. Default /health. */
  path: string
}

export const HEALTH_CHECK_DEFAULTS: Readonly<HealthCheckSettings> = Object.freeze({
  intervalMs: 250,
  requestTimeoutMs: 2000,
  budgetSeconds: 120,
  consecutiveSuccesses: 3,
  path: "/health",
})

/** Ports on which I/O is done by the caller (tests inject fakes; defaults are the real ones). */
export interface HealthCheckIo {
  fetch: typeof fetch
  /** Monotonic milliseconds. */
  clock: () => number
  sleep: (ms: number) => Promise<void>
}

export class HealthCheckInputError extends Error {
  override name = "HealthCheckInputError"
}

function describeValue(v: unknown): string {
  return `\`${String(v)}\` (${typeof v})`
}

function requireInteger(name: string, v: number, min: number, max: number, unit: string): void {
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new HealthCheckInputError(`Expected \`${name}\` to be an integer from ${min} to ${max} ${unit}, got ${describeValue(v)}.`)
  }
}

/** Validates settings and fills defaults. Throws HealthCheckInputError naming the bad value. */
export function resolveSettings(partial: Partial<HealthCheckSettings> = {}): HealthCheckSettings {
  const defined = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined))
  const s: HealthCheckSettings = { ...HEALTH_CHECK_DEFAULTS, ...defined }
  requireInteger("intervalMs", s.intervalMs, 10, 60_000, "ms")
  requireInteger("requestTimeoutMs", s.requestTimeoutMs, 1, 60_000, "ms")
  requireInteger("budgetSeconds", s.budgetSeconds, 1, 3600, "s")
  requireInteger("consecutiveSuccesses", s.consecutiveSuccesses, 1, 100, "")
  if (!/^\/[A-Za-z0-9._~/-]*$/.test(s.path)) {
    throw new HealthCheckInputError(`Expected \`path\` to be an absolute URL path like /health, got ${describeValue(s.path)}.`)
  }
  return s
}

function redact(raw: string): string {
  // Never echo a password someone pasted into the URL.
  return raw.replace(/\/\/[^/@]*@/, "//***@")
}

/**
 * `<base>` + path, validated before any request: absolute http(s) URL, no credentials.
 * A path prefix in the base is kept (https://host/app + /health → https://host/app/health).
 */
export function healthUrl(base: string, path: string = HEALTH_CHECK_DEFAULTS.path): string {
  const trimmed = base.trim()
  let url: URL
  try {
    url = new URL(trimmed)
  } catch {
    throw new HealthCheckInputError(
      `url ${JSON.stringify(redact(trimmed))} is not an absolute URL; pass the service's base URL with its scheme, e.g. https://portfolio-abc123-uw.a.run.app or http://my-alb-123.us-west-1.elb.amazonaws.com`,
    )
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new HealthCheckInputError(
      `url ${JSON.stringify(redact(trimmed))} uses ${url.protocol.replace(/:$/, "")}; only http and https are supported — pass the service's http(s) base URL`,
    )
  }
  if (url.username || url.password) {
    throw new HealthCheckInputError(
      `url ${JSON.stringify(redact(trimmed))} contains credentials (user:password@); the health endpoint must answer without them — remove them from the URL`,
    )
  }
  url.hash = ""
  url.pathname = url.pathname.replace(/\/+$/, "") + path
  return url.toString()
}

// ---------------------------------------------------------------------------------------------
// The shell

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
  summary: string
}

const BODY_LIMIT = 64 * 1024
/** Below this much budget left, no new attempt is started. */
const MIN_ATTEMPT_MS = 100

async function attemptOnce(url: string, timeoutMs: number, io: HealthCheckIo, t0: number): Promise<HealthSample> {
  const start = io.clock()
  const startedAtMs = start - t0
  try {
    const res = await io.fetch(url, {
      signal: AbortSignal.timeout(timeoutMs),
      headers: { accept: "application/json", "cache-control": "no-cache", "user-agent": "portfolio-pipeline-health-check" },
      redirect: "follow",
    })
    const body = (await res.text()).slice(0, BODY_LIMIT)
    return { startedAtMs, durationMs: io.clock() - start, outcome: { kind: "response", httpStatus: res.status, body } }
  } catch (err) {
    return { startedAtMs, durationMs: io.clock() - start, outcome: { kind: "transport", ...classifyTransportError(err, timeoutMs) } }
  }
}

const realIo: HealthCheckIo = {
  fetch: (...args) => globalThis.fetch(...args),
  clock: () => performance.now(),
  sleep: (ms) => sleep(ms),
}

/**
 * Polls `<baseUrl><path>` until `consecutiveSuccesses` answers in a row show the expected release,
 * or the budget runs out. The first request is sent at once; attempts start `intervalMs` apart (a
 * slow attempt is followed immediately by the next). Never throws for an unhealthy service — the
 * verdict says so; throws HealthCheckInputError for invalid inputs, before any request.
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
  const policy: HealthPolicy = { consecutiveSuccesses: settings.consecutiveSuccesses, budgetMs: settings.budgetSeconds * 1000 }
  const t0 = ports.clock()
  const samples: HealthSample[] = []
  let verdict = healthVerdict(samples, want, policy, 0)
  for (;;) {
    const remaining = policy.budgetMs - (ports.clock() - t0)
    if (remaining <= 0) break
    if (remaining < Math.min(settings.requestTimeoutMs, MIN_ATTEMPT_MS)) {
      // An attempt cut off after a few ms would only add a spurious "timeout" as the last error.
      await ports.sleep(remaining)
      break
    }
    const sample = await attemptOnce(url, Math.max(1, Math.min(settings.requestTimeoutMs, Math.ceil(remaining))), ports, t0)
    samples.push(sample)
    verdict = healthVerdict(samples, want, policy, ports.clock() - t0)
    if (verdict.state !== "pending") break
    const wait = sample.startedAtMs + settings.intervalMs - (ports.clock() - t0)
    const left = policy.budgetMs - (ports.clock() - t0)
    if (wait > 0) await ports.sleep(Math.min(wait, Math.max(left, 0)))
  }
  verdict = healthVerdict(samples, want, policy, ports.clock() - t0)
  const result: Omit<HealthCheckResult, "summary"> = {
    url,
    expected: want,
    settings,
    verdict,
    healthy: verdict.state === "healthy",
    elapsedMs: Math.round(verdict.decidedAtMs ?? ports.clock() - t0),
    attempts: samples.map((s) => classifyAttempt(s, want)),
  }
  return { ...result, summary: renderHealthSummary(result) }
}

// ---------------------------------------------------------------------------------------------
// Reporting (pure)

function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`
}

const HINTS: Record<FailureKind, string> = {
  refused: "nothing is listening there: is the service running, and is the port right? (Inside a Dagger function, localhost is the function's own container.)",
  timeout: "answers are too slow or packets are dropped: check security groups/firewall, or raise the request timeout.",
  dns: "the host name does not resolve: check the URL (a new load balancer or tag URL can take a minute to appear in DNS).",
  reset: "connections were cut: the service may be crashing or restarting — check its logs.",
  tls: "TLS failed: check the certificate and that https is right for this URL.",
  http5xx: "the service or its load balancer answers with errors (503 while starting or draining): check the service's logs and target health.",
  http4xx: "the path or access is wrong: check the URL and health path, and that nothing in front of the service requires auth.",
  unready: "the service says it is not ready: check its dependencies and logs.",
  wrongVersion: "another release is still serving: the rollout has not finished, or traffic was not shifted to the new revision.",
  badBody: "the endpoint does not return the expected JSON { status, version, commit }: is this the portfolio app's health endpoint?",
  other: "see the last error.",
}

/** One paragraph for humans: verdict, what was seen, what to do. Pure. */
export function renderHealthSummary(r: Omit<HealthCheckResult, "summary">): string {
  const v = r.verdict
  const expectedText = r.expected.version === undefined && r.expected.commit === undefined
    ? "any version (none expected: the release was not checked)"
    : describeRelease(r.expected)
  const failures = FAILURE_KINDS.filter((k) => v.counts[k] > 0)
    .sort((a, b) => v.counts[b] - v.counts[a])
    .map((k) => `${v.counts[k]} ${k}`)
  const failureText = failures.length ? `failures: ${failures.join(", ")}` : "no failures"
  const n = r.settings.consecutiveSuccesses
  if (v.state === "healthy") {
    return (
      `healthy: ${r.url} answered ${describeRelease(v.observed ?? {})} ${n} time${n === 1 ? "" : "s"} in a row; ` +
      `verdict after ${formatMs(r.elapsedMs)} and ${v.attempts} attempt${v.attempts === 1 ? "" : "s"} (${failureText}). Expected ${expectedText}.`
    )
  }
  const dominant = FAILURE_KINDS.filter((k) => v.counts[k] > 0).sort((a, b) => v.counts[b] - v.counts[a])[0]
  const last = v.lastFailure ? ` Last error: ${v.lastFailure.classification}: ${v.lastFailure.detail}.` : ""
  const hint = dominant ? ` What to do: ${HINTS[dominant]}` : ""
  return (
    `unhealthy: ${r.url} did not answer ${expectedText} ${n} time${n === 1 ? "" : "s"} in a row within ${formatMs(r.settings.budgetSeconds * 1000)}; ` +
    `${v.attempts} attempt${v.attempts === 1 ? "" : "s"}, ${failureText}.${last}${hint}`
  )
}

// ---------------------------------------------------------------------------------------------
// Dagger result objects (plain data; built by `toHealthCheck`)

/** How many attempts failed in one particular way. */
@object()
export class HealthFailureCount {
  /** Failure kind: refused, timeout, dns, reset, tls, http5xx, http4xx, unready, wrongVersion, badBody or other. */
  @func()
  kind: string = ""

  /** Number of attempts that failed this way. */
  @func()
  count: number = 0
}

/** The verdict of a health check: did the expected release answer healthy, and what was seen on the way. */
@object()
export class HealthCheck {
  /** True when the expected release answered healthy the required number of times in a row. */
  @func()
  healthy: boolean = false

  /** The URL that was polled (base URL + health path). */
  @func()
  url: string = ""

  /** The version that had to answer; empty when not checked. */
  @func()
  expectedVersion: string = ""

  /** The commit that had to answer; empty when not checked. */
  @func()
  expectedCommit: string = ""

  /** Version named by the last readable /health body (the old release, if it was still answering). */
  @func()
  observedVersion: string = ""

  /** Commit named by the last readable /health body. */
  @func()
  observedCommit: string = ""

  /** Number of requests sent. */
  @func()
  attempts: number = 0

  /** Milliseconds from the first request to the verdict. */
  @func()
  elapsedMs: number = 0

  /** Failed attempts by kind (kinds that did not occur are left out), most frequent first. */
  @func()
  failures: HealthFailureCount[] = []

  /** The last failed attempt as "kind: detail"; empty when no attempt failed. */
  @func()
  lastError: string = ""

  /** One paragraph for humans: verdict, what was seen, and what to do when unhealthy. */
  @func()
  summary: string = ""

  /** Returns the summary when healthy; fails with the summary otherwise (for scripts: non-zero exit). */
  @func()
  assertHealthy(): string {
    if (!this.healthy) throw new Error(this.summary)
    return this.summary
  }
}

/** Converts the core's result into the Dagger object returned by `health-check`. */
export function toHealthCheck(r: HealthCheckResult): HealthCheck {
  const v = r.verdict
  const out = new HealthCheck()
  out.healthy = r.healthy
  out.url = r.url
  out.expectedVersion = r.expected.version ?? ""
  out.expectedCommit = r.expected.commit ?? ""
  out.observedVersion = v.observed?.version ?? ""
  out.observedCommit = v.observed?.commit ?? ""
  out.attempts = v.attempts
  out.elapsedMs = r.elapsedMs
  out.failures = FAILURE_KINDS.filter((k) => v.counts[k] > 0)
    .sort((a, b) => v.counts[b] - v.counts[a])
    .map((k) => Object.assign(new HealthFailureCount(), { kind: k, count: v.counts[k] }))
  out.lastError = v.lastFailure ? `${v.lastFailure.classification}: ${v.lastFailure.detail}` : ""
  out.summary = r.summary
  return out
}
