// A failed health check as a Diagnostic: the verdict's reason as the title, then the last responses it
// saw — when, status or why nothing answered, how fast, how it was judged, the start of the body. The
// report scrubs secrets from it and bounds it (report/diagnostics.ts). Pure.
import type { Diagnostic } from "../report/run-record.js"
import type { HealthCheckResult, RecentResponse } from "./poll.js"
import { formatMs, type ClassifiedAttempt } from "./verdict.js"

/** "+2.5 s  HTTP 503 in 12 ms (http5xx): {"status":"starting"}" */
function responseLine(r: RecentResponse, judged: ClassifiedAttempt | undefined): string {
  const at = `+${(r.startedAtMs / 1000).toFixed(1)} s`
  const how = judged ? ` (${judged.classification})` : ""
  if (r.status === undefined) return `${at}  no answer after ${formatMs(r.durationMs)}${how}: ${r.error ?? "unknown error"}`
  return `${at}  HTTP ${r.status} in ${formatMs(r.durationMs)}${how}${r.bodyExcerpt ? `: ${r.bodyExcerpt}` : ""}`
}

/** The last responses of a health check that did not find the expected release. */
export function healthDiagnostic(result: Pick<HealthCheckResult, "url" | "verdict" | "attempts" | "recent">): Diagnostic {
  // `recent` holds the last attempts, in order: the same attempts as the tail of `attempts`.
  const judged = result.attempts.slice(-result.recent.length)
  const shown = result.recent.length
  return {
    source: "health",
    title: `health check of ${result.url} ${result.verdict.state}: ${result.verdict.reason}`,
    lines: [
      `last ${shown} of ${result.attempts.length} attempt${result.attempts.length === 1 ? "" : "s"}, oldest first:`,
      ...result.recent.map((r, i) => responseLine(r, judged[i])),
    ],
  }
}
