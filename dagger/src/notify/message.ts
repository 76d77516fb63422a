// What every notification says, whatever the channel: the facts of a finished run in display form and
// the one-line summary. Slack, Discord and the JSON webhook lay these out in their own formats (and
// within their own limits); deciding what the facts are happens once, here. Pure.
import type { RunRecord, RunVerdict } from "../report/run-record.js"
import { durationMs, formatDuration, oneLine } from "../shared/text.js"

const ENV = { staging: "Staging", production: "Production" } as const

/** The verdict as a sentence ends: "… deploy rolled back". */
export const VERDICT_TEXT: Record<RunVerdict | "running", string> = {
  succeeded: "succeeded",
  failed: "failed",
  "rolled-back": "rolled back",
  running: "in progress",
}

const VERDICT_ICON: Record<RunVerdict | "running", string> = {
  succeeded: "✅",
  failed: "❌",
  "rolled-back": "↩️",
  running: "⏳",
}

/** Only http(s) URLs become links: anything else in the run's URLs is not something a reader can open. */
export function isWebUrl(url: string | undefined): url is string {
  return url !== undefined && /^https?:\/\//.test(url)
}

export interface Facts {
  title: string
  environment: string
  verdict: string
  commit: string
  version: string
  duration: string
  image?: string
  failingStep?: string
  failingDetail?: string
  rollback?: string
  links: { label: string; url: string }[]
  warnings: number
}

/** The run's facts as every channel shows them (short commit, formatted duration, rollback in words). */
export function facts(run: RunRecord): Facts {
  const failing = run.failingStep ? run.steps.find((s) => s.name === run.failingStep) : undefined
  const rb = run.rollback
  const links: Facts["links"] = []
  for (const [label, url] of [
    ["Service", run.urls.service],
    ["Canary", run.urls.canary],
    ["CI run", run.urls.run],
  ] as const) {
    if (isWebUrl(url)) links.push({ label, url })
  }
  return {
    title: `${VERDICT_ICON[run.verdict]} ${ENV[run.environment]} deploy ${VERDICT_TEXT[run.verdict]}`,
    environment: run.environment,
    verdict: run.verdict,
    commit: run.commit.slice(0, 12),
    version: run.version,
    duration: formatDuration(durationMs(run.startedAt, run.endedAt ?? run.steps.at(-1)?.endedAt)),
    image: run.image,
    failingStep: run.failingStep,
    failingDetail: failing?.detail,
    rollback: rb ? `${rb.attempted ? rb.outcome : "not attempted"}${rb.detail ? ` — ${rb.detail}` : ""}` : undefined,
    links,
    warnings: run.warnings.length,
  }
}

/** One line for chat previews and the `text` fallback. */
export function summaryLine(run: RunRecord): string {
  const f = facts(run)
  const parts = [`${f.title}: ${f.commit} (version ${f.version})`]
  if (f.failingStep) parts.push(`failing step: ${oneLine(f.failingStep)}`)
  if (f.rollback) parts.push(`rollback: ${oneLine(f.rollback)}`)
  return parts.join("; ")
}
