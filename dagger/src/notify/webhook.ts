// The generic JSON webhook body: a stable, versioned schema (`schema` names it) carrying the whole run in
// plain JSON, for chat bridges, incident tools or a log sink. Nothing is cut here but the diagnostics,
// which are bounded as the run report's JSON bounds them (report/diagnostics.ts): a JSON receiver has no
// display limit, but a body of a thousand ECS events is no notification. Fields are only ever added. Pure.
import type { Diagnostic, RunRecord, StepAnalysis } from "../report/run-record.js"
import { boundDiagnostics } from "../report/diagnostics.js"
import { durationMs } from "../shared/text.js"
import { facts, summaryLine } from "./message.js"

export const WEBHOOK_SCHEMA = "portfolio-pipeline.notification/v1"

export interface WebhookPayload {
  schema: typeof WEBHOOK_SCHEMA
  text: string
  environment: RunRecord["environment"]
  verdict: RunRecord["verdict"]
  succeeded: boolean
  commit: string
  version: string
  image: string | null
  failingStep: string | null
  failingDetail: string | null
  rollback: RunRecord["rollback"] | null
  urls: RunRecord["urls"]
  startedAt: string
  endedAt: string | null
  durationMs: number
  warnings: RunRecord["warnings"]
  /** The traffic figure that failed beside its threshold; null when no judgement failed. */
  failingFigure: string | null
  /** Every traffic judgement of the run, in the order made. */
  analysis: StepAnalysis[]
  /** What was gathered after the failure, bounded like the run report's. */
  diagnostics: Diagnostic[]
}

/** A stable, documented JSON body for anything else (chat bridges, incident tools, a log sink). */
export function webhookPayload(run: RunRecord): WebhookPayload {
  const f = facts(run)
  return {
    schema: WEBHOOK_SCHEMA,
    text: summaryLine(run),
    environment: run.environment,
    verdict: run.verdict,
    succeeded: run.verdict === "succeeded",
    commit: run.commit,
    version: run.version,
    image: run.image ?? null,
    failingStep: run.failingStep ?? null,
    failingDetail: f.failingDetail ?? null,
    rollback: run.rollback ?? null,
    urls: { ...run.urls },
    startedAt: run.startedAt,
    endedAt: run.endedAt ?? null,
    durationMs: durationMs(run.startedAt, run.endedAt),
    warnings: run.warnings.map((w) => ({ ...w })),
    failingFigure: f.failingFigure ?? null,
    analysis: structuredClone(run.analysis ?? []),
    diagnostics: boundDiagnostics(run.diagnostics),
  }
}
