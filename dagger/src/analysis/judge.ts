// The judgement of a candidate's traffic: figures and thresholds in, a StepAnalysis out. Pure, so every
// rule is a row of test/analysis/judge.test.ts; burst.ts (synthetic) and the served-traffic reader only
// measure.
//
// Why these rules:
// - The error rate is absolute: 5xx answers and timeouts hurt users whatever the old release did.
// - Latency is relative to the previous release measured the same way, so a slow network or a slow
//   runner does not fail a release that is as fast as the old one. Both the ratio AND the slack must be
//   exceeded: on a fast service a few ms of jitter doubles p95 without anyone noticing; on a slow one
//   the ratio is what matters.
// - Nothing measured is "no-signal", never a pass: silence is not evidence of health.
import type { AnalysisThresholds, StepAnalysis, TrafficFigures } from "../report/run-record.js"

export interface JudgeInput {
  /** The step judged, e.g. "canary 10%". */
  step: string
  source: StepAnalysis["source"]
  /** The candidate's figures; undefined when nothing could be measured. */
  candidate?: TrafficFigures
  /** The previous release's figures; undefined on a first release (then only the error rate counts). */
  baseline?: TrafficFigures
  thresholds: AnalysisThresholds
}

/** A fraction as a percentage with one decimal, more when the value is below 0.1 % ("0.05 %"). */
export function formatRate(fraction: number): string {
  const percent = fraction * 100
  if (percent !== 0 && Math.abs(percent) < 0.1) return `${Number(percent.toPrecision(2))} %`
  return `${percent.toFixed(1)} %`
}

/** Milliseconds as the reasons show them: whole ms, or one decimal below 10 ms. */
export function formatLatency(ms: number): string {
  return ms < 10 ? `${Number(ms.toFixed(1))} ms` : `${Math.round(ms)} ms`
}

/** Judges one step's traffic. Never throws; the reason names the figure that failed beside its threshold. */
export function judgeTraffic(input: JudgeInput): StepAnalysis {
  const { step, source, candidate, baseline, thresholds } = input
  const base: StepAnalysis = {
    step,
    source,
    ...(candidate ? { candidate } : {}),
    ...(baseline ? { baseline } : {}),
    thresholds,
    verdict: "no-signal",
  }
  if (!candidate || candidate.requests === 0) {
    return { ...base, reason: source === "synthetic" ? "no request of the burst completed" : "no request was served in the window" }
  }
  if (candidate.errorRate > thresholds.maxErrorRate) {
    return {
      ...base,
      verdict: "fail",
      reason:
        `error rate ${formatRate(candidate.errorRate)} > ${formatRate(thresholds.maxErrorRate)} ` +
        `(${candidate.errors} of ${candidate.requests} requests failed)`,
    }
  }
  if (candidate.p95Ms === undefined) {
    // Only reachable with maxErrorRate ≥ 1: every request failed and that was allowed.
    return { ...base, reason: "no request was answered, so no latency was measured" }
  }
  if (!baseline) return { ...base, verdict: "pass", reason: "no previous release measured (a first release): judged on error rate only" }
  if (baseline.p95Ms === undefined) {
    return { ...base, verdict: "pass", reason: "the previous release answered no request, so latency was not compared" }
  }
  const limit = baseline.p95Ms * thresholds.maxP95Ratio
  if (candidate.p95Ms > limit && candidate.p95Ms - baseline.p95Ms > thresholds.p95SlackMs) {
    return {
      ...base,
      verdict: "fail",
      reason:
        `p95 ${formatLatency(candidate.p95Ms)} > ${thresholds.maxP95Ratio} × baseline ${formatLatency(baseline.p95Ms)} ` +
        `(and more than ${formatLatency(thresholds.p95SlackMs)} above it)`,
    }
  }
  return { ...base, verdict: "pass" }
}
