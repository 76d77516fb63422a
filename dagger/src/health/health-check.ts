// The health check as the CLI returns it: the Dagger objects (HealthCheck, HealthFailureCount) built from
// poll.ts's result by `toHealthCheck`, and the one-paragraph summary humans read. Pure apart from the
// decorators.
import { func, object } from "@dagger.io/dagger"
import type { HealthCheckResult } from "./poll.js"
import { describeRelease, FAILURE_KINDS, formatMs, type FailureKind, type HealthVerdict } from "./verdict.js"

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

/** The kinds of failure that occurred, most frequent first (ties in FAILURE_KINDS order). */
function failureKindsByCount(v: HealthVerdict): FailureKind[] {
  return FAILURE_KINDS.filter((k) => v.counts[k] > 0).sort((a, b) => v.counts[b] - v.counts[a])
}

/** One paragraph for humans: verdict, what was seen, what to do. Pure. */
export function renderHealthSummary(r: Omit<HealthCheckResult, "summary">): string {
  const v = r.verdict
  const expectedText = r.expected.version === undefined && r.expected.commit === undefined
    ? "any version (none expected: the release was not checked)"
    : describeRelease(r.expected)
  const kinds = failureKindsByCount(v)
  const failures = kinds.map((k) => `${v.counts[k]} ${k}`)
  const failureText = failures.length ? `failures: ${failures.join(", ")}` : "no failures"
  const n = r.settings.consecutiveSuccesses
  if (v.state === "healthy") {
    return (
      `healthy: ${r.url} answered ${describeRelease(v.observed ?? {})} ${n} time${n === 1 ? "" : "s"} in a row; ` +
      `verdict after ${formatMs(r.elapsedMs)} and ${v.attempts} attempt${v.attempts === 1 ? "" : "s"} (${failureText}). Expected ${expectedText}.`
    )
  }
  const dominant = kinds[0]
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
  out.failures = failureKindsByCount(v).map((k) => Object.assign(new HealthFailureCount(), { kind: k, count: v.counts[k] }))
  out.lastError = v.lastFailure ? `${v.lastFailure.classification}: ${v.lastFailure.detail}` : ""
  out.summary = r.summary
  return out
}
