// What every notification says, whatever the channel: the facts of a finished run in display form and
// the one-line summary. Slack, Discord and the JSON webhook lay these out in their own formats (and
// within their own limits); deciding what the facts are happens once, here. Pure.
import type { RunRecord, RunVerdict } from "../report/run-record.js"
import { failingFigure } from "../report/analysis.js"
import { boundDiagnostics, OMITTED_SOURCE } from "../report/diagnostics.js"
import { durationMs, formatDuration, oneLine, truncate } from "../shared/text.js"

/** Diagnostic titles a chat message names; the run report has the rest. */
export const NOTIFY_DIAGNOSTICS = 3
/** Characters of one diagnostic title in a chat message. */
const NOTIFY_TITLE_CHARS = 150

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
  /** The traffic figure that failed beside its threshold ("canary 10%: error rate 5.0 % > 1.0 % …"). */
  failingFigure?: string
  /** The first NOTIFY_DIAGNOSTICS diagnostics as "source: title", each one line, cut. */
  diagnostics: string[]
  /** Diagnostics gathered beyond those named. */
  moreDiagnostics: number
  links: { label: string; url: string }[]
  warnings: number
}

/** The run's facts as every channel shows them (short commit, formatted duration, rollback in words). */
export function facts(run: RunRecord): Facts {
  const failing = run.failingStep ? run.steps.find((s) => s.name === run.failingStep) : undefined
  const rb = run.rollback
  // The caller scrubbed the run (notifyRun); bounding again keeps a chat message to a few titles.
  const named = boundDiagnostics(run.diagnostics).filter((d) => d.source !== OMITTED_SOURCE).slice(0, NOTIFY_DIAGNOSTICS)
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
    failingFigure: failingFigure(run),
    diagnostics: named.map((d) => truncate(oneLine(`${d.source}: ${d.title}`), NOTIFY_TITLE_CHARS)),
    moreDiagnostics: (run.diagnostics?.length ?? 0) - named.length,
    links,
    warnings: run.warnings.length,
  }
}

/** One line for chat previews and the `text` fallback. */
export function summaryLine(run: RunRecord): string {
  const f = facts(run)
  const parts = [`${f.title}: ${f.commit} (version ${f.version})`]
  if (f.failingStep) parts.push(`failing step: ${oneLine(f.failingStep)}`)
  if (f.failingFigure) parts.push(`failing figure: ${oneLine(f.failingFigure)}`)
  if (f.rollback) parts.push(`rollback: ${oneLine(f.rollback)}`)
  return parts.join("; ")
}
