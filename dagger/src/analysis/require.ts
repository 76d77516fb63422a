// One step's synthetic analysis as a deploy step runs it: burst → judgement → the record. A judgement is
// appended to run.analysis whatever it says; a failed one also leaves the burst's last responses as a
// diagnostic and throws, so the step fails with the figure that failed and the deploy's rollback runs.
import type { Diagnostic, RunRecord, StepAnalysis, TrafficFigures } from "../report/run-record.js"
import type { BurstResult, ObservedResponse } from "./burst.js"
import { formatLatency, formatRate, judgeTraffic } from "./judge.js"

/** A release's traffic failed its analysis; the message is the judgement's reason. */
export class TrafficAnalysisError extends Error {
  override name = "TrafficAnalysisError"
  constructor(readonly analysis: StepAnalysis) {
    super(`traffic analysis ${analysis.verdict === "fail" ? "failed" : "had no signal"}: ${analysis.reason ?? "no reason given"}`)
  }
}

/** "300 requests, 0 errors (0.0 %), p50 4 ms, p95 12 ms". */
export function describeFigures(f: TrafficFigures): string {
  const latency = f.p95Ms === undefined ? "no answer" : `p50 ${formatLatency(f.p50Ms ?? f.p95Ms)}, p95 ${formatLatency(f.p95Ms)}`
  return `${f.requests} requests, ${f.errors} error${f.errors === 1 ? "" : "s"} (${formatRate(f.errorRate)}), ${latency}`
}

function responseLine(r: ObservedResponse): string {
  return "status" in r
    ? `GET ${r.path} → ${r.status} in ${r.ms} ms${r.bodyExcerpt ? `: ${r.bodyExcerpt}` : ""}`
    : `GET ${r.path} → no answer after ${r.ms} ms: ${r.error}`
}

/** The burst's last responses as the report shows them (failures first kept, in the order sent). */
export function burstDiagnostic(step: string, burst: BurstResult): Diagnostic {
  return {
    source: "analysis",
    title: `${step}: last ${burst.responses.length} response(s) of the burst to ${burst.url} (${describeFigures(burst.figures)})`,
    lines: burst.responses.map(responseLine),
  }
}

export interface RequireTrafficInput {
  run: RunRecord
  /** The step judged, e.g. "canary 10%". */
  step: string
  /** The candidate's URL. */
  url: string
  /** The previous release's figures; undefined on a first release (error rate only). */
  baseline?: TrafficFigures
  thresholds: StepAnalysis["thresholds"]
  burst(url: string, signal: AbortSignal): Promise<BurstResult>
}

/**
 * Sends one burst to the candidate and judges it. Returns the passing analysis; throws
 * TrafficAnalysisError for a failure or for no signal (silence is never a pass), and the signal's
 * reason once it aborts (then nothing is recorded).
 */
export async function requireTrafficPasses(input: RequireTrafficInput, signal: AbortSignal): Promise<StepAnalysis> {
  const burst = await input.burst(input.url, signal)
  const analysis = judgeTraffic({
    step: input.step,
    source: "synthetic",
    candidate: burst.figures,
    ...(input.baseline ? { baseline: input.baseline } : {}),
    thresholds: input.thresholds,
  })
  input.run.analysis = [...(input.run.analysis ?? []), analysis]
  if (analysis.verdict === "pass") return analysis
  input.run.diagnostics = [...(input.run.diagnostics ?? []), burstDiagnostic(input.step, burst)]
  throw new TrafficAnalysisError(analysis)
}
