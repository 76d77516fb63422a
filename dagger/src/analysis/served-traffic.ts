// One canary step's served-traffic judgement: what Cloud Run served the candidate revision over the
// step's window (Cloud Monitoring, gcp/served-traffic.ts), beside what the previous revision served in
// the same window while it still held a share, judged by the same judgeTraffic as the synthetic burst.
//
// Why a no-signal does not fail the step: Cloud Run reports these metrics once a minute, visible up to
// minutes later, so a short pause often has none, and a missing monitoring role is an operator's
// choice; the synthetic burst has already judged the candidate. The no-signal is recorded with its
// reason (never counted as a pass). A fail fails the step like the synthetic one: the rollback runs.
import type { ServedTraffic } from "../gcp/served-traffic.js"
import type { AnalysisThresholds, RunRecord, StepAnalysis } from "../report/run-record.js"
import { judgeTraffic } from "./judge.js"
import { TrafficAnalysisError } from "./require.js"

/** A served-traffic judgement that failed; the message names the figure beside its threshold. */
export class ServedTrafficError extends TrafficAnalysisError {
  override name = "ServedTrafficError"
  constructor(analysis: StepAnalysis) {
    super(analysis)
    this.message = `served traffic (Cloud Monitoring) failed its analysis: ${analysis.reason ?? "no reason given"}`
  }
}

export interface ServedTrafficStepInput {
  run: RunRecord
  /** The step judged, e.g. "canary 10%". */
  step: string
  candidate: string
  /** The previous revision while it still serves a share of the same traffic; absent at 100 % or on a first release. */
  previous?: string
  /** The window: from the moment the step's traffic was in place to the end of its checks. */
  from: Date
  to: Date
  thresholds: AnalysisThresholds
  /** Reads one revision's served traffic (the production port's servedTraffic). */
  read(revision: string, window: { from: Date; to: Date }, signal: AbortSignal): Promise<ServedTraffic>
}

/**
 * Reads and judges the step's served traffic and appends the judgement to run.analysis. Returns a pass
 * or a no-signal; throws ServedTrafficError for a fail, and the signal's reason once it aborts (then
 * nothing is recorded).
 */
export async function requireServedTraffic(input: ServedTrafficStepInput, signal: AbortSignal): Promise<StepAnalysis> {
  const window = { from: input.from, to: input.to }
  const [candidate, previous] = await Promise.all([
    input.read(input.candidate, window, signal),
    input.previous ? input.read(input.previous, window, signal) : Promise.resolve(undefined),
  ])
  const baseline = previous && !("noSignal" in previous) ? previous : undefined
  let analysis = judgeTraffic({
    step: input.step,
    source: "served-traffic",
    ...(!("noSignal" in candidate) ? { candidate } : {}),
    ...(baseline ? { baseline } : {}),
    thresholds: input.thresholds,
  })
  // The reader knows why there is nothing (no data yet, a refused role); the judge only that there is not.
  if ("noSignal" in candidate) analysis = { ...analysis, reason: `revision ${input.candidate}: ${candidate.noSignal}` }
  else if (analysis.verdict === "pass" && !baseline) {
    const why = input.previous
      ? `the previous revision ${input.previous} has no figures (${(previous as { noSignal: string }).noSignal})`
      : "the previous revision serves no share at this step (or there is none)"
    analysis = { ...analysis, reason: `judged on error rate only: ${why}` }
  }
  input.run.analysis = [...(input.run.analysis ?? []), analysis]
  if (analysis.verdict === "fail") throw new ServedTrafficError(analysis)
  return analysis
}
