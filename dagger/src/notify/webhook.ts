// The generic JSON webhook body: a stable, versioned schema (`schema` names it) carrying the whole run in
// plain JSON, for chat bridges, incident tools or a log sink. Nothing is cut here: a JSON receiver has
// no display limit to respect. Pure.
import type { RunRecord } from "../report/run-record.js"
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
  }
}
