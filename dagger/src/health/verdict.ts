// Health verdict: is the NEW release answering on `<url>/health`? Pure: samples in, verdict out, so every
// rule is tested as a table (test/health/verdict.test.ts); poll.ts does the requests.
//
// Why these rules:
// - A 200 is not enough: during a rollout the OLD task/revision keeps answering 200. Only a body that
//   names the expected version/commit counts, so "healthy" means "the new release is serving".
// - N consecutive successes, not one: a load balancer alternating between a ready and a crashing
//   task, or a revision that flaps while warming up, must not pass on a lucky sample.
import { truncate } from "../shared/text.js"

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
  "badBody", // 2xx but not JSON, a required field is missing, or larger than the body limit
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
  | {
      kind: "response"
      httpStatus: number
      /** The body as read: at most the body limit. */
      body: string
      /** Set when the body was longer than this many bytes: reading stopped there (see poll.ts). */
      cutAtBytes?: number
    }
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

/** One line of at most `max` characters, for an attempt's detail. */
export function clip(text: string, max = 200): string {
  return truncate(text.replace(/\s+/g, " ").trim(), max)
}

/** "250 ms", "2.00 s", "12.5 s": the precision a poll interval needs. */
export function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`
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

/** "version 1.1.0, commit b2c3d4e", or "no version/commit". */
export function describeRelease(o: ObservedRelease): string {
  const parts = [o.version !== undefined ? `version ${o.version}` : undefined, o.commit !== undefined ? `commit ${o.commit}` : undefined]
  return parts.filter(Boolean).join(", ") || "no version/commit"
}

/** Judges one attempt against the expected release. Pure. */
export function classifyAttempt(sample: HealthSample, expected: ExpectedRelease): ClassifiedAttempt {
  const base = { startedAtMs: sample.startedAtMs, durationMs: sample.durationMs }
  const out = sample.outcome
  if (out.kind === "transport") return { ...base, classification: out.failure, detail: out.detail }

  const status = out.httpStatus
  // A cut body is never parsed: its first bytes could be valid JSON followed by anything.
  const parsed = out.cutAtBytes === undefined ? parseBody(out.body) : undefined
  const observed = parsed && "json" in parsed ? observedFrom(parsed.json) : undefined
  if (status < 200 || status > 299) {
    const said = observed?.status !== undefined ? ` (status: ${observed.status}, ${describeRelease(observed)})` : ""
    const classification: Classification = status >= 500 && status <= 599 ? "http5xx" : status >= 400 && status <= 499 ? "http4xx" : "other"
    const prefix = classification === "other" ? "unexpected " : ""
    return { ...base, classification, detail: `${prefix}HTTP ${status}${said}`, observed }
  }
  if (parsed === undefined) {
    return {
      ...base,
      classification: "badBody",
      detail: `HTTP ${status}: body is larger than ${out.cutAtBytes! / 1024} KiB (reading stopped there); /health must answer a small JSON object`,
    }
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
