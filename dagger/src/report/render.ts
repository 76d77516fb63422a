// The run report: Markdown for the GitHub job summary, a plain-text form (logs, chat fallbacks) and
// the redacted JSON record. All pure: a RunRecord in, text out, secrets removed on the way.
import { pricingAgeDays, type CostEstimate, type CostLine } from "./cost.js"
import { redact, redactDeep } from "../shared/redact.js"
import { decideVerdict, type RunRecord, type RunVerdict, type RunWarning, type StepOutcome, type StepRecord } from "./run-record.js"
import { durationMs, formatDuration } from "../shared/text.js"
import { SEVERITIES } from "../supply-chain/scan/severity.js"
import { code, link, text } from "./markdown.js"
import { analysisSection, failingFigure } from "./analysis.js"
import { boundDiagnostics, diagnosticsSection } from "./diagnostics.js"
import { signatureSection } from "./signature.js"

export interface RenderOptions {
  /** Plaintext secret values to scrub from the output (webhook URLs, keys). Default: none. */
  secretValues?: readonly (string | undefined)[]
}

const MAX_FINDINGS = 10
const MAX_DETAIL = 200

const OUTCOME_ICON: Record<StepOutcome, string> = {
  succeeded: "✅",
  failed: "❌",
  skipped: "⏭️",
  warning: "⚠️",
}

const ENVIRONMENT_TITLE = { staging: "Staging", production: "Production" } as const

function headline(run: RunRecord): string {
  const env = ENVIRONMENT_TITLE[run.environment]
  switch (run.verdict) {
    case "succeeded":
      return `✅ ${env} deploy succeeded`
    case "failed":
      return `❌ ${env} deploy failed`
    case "rolled-back":
      return `↩️ ${env} deploy rolled back`
    case "running":
      return `⏳ ${env} deploy in progress`
  }
}

export function formatUsd(amount: number): string {
  if (amount === 0) return "$0.00"
  if (amount < 0.01) return "<$0.01"
  return `$${amount.toFixed(2)}`
}

// --- Mermaid Gantt ------------------------------------------------------------------------------

// Words the Gantt lexer reads as statements when a line starts with them (case-insensitive), and
// a leading ISO date, which it reads as a date token.
const MERMAID_STATEMENT = new RegExp(
  "^(gantt|dateformat|axisformat|tickinterval|includes|excludes|todaymarker|weekday|weekend|title|" +
    "accdescription|acctitle|accdescr|section|click|href|call|inclusiveenddates|topaxis|\\d{4}-\\d\\d-\\d\\d)",
  "i",
)

/**
 * A step name as a Gantt task label. The Gantt lexer ends a label at `:` `#` `;` and treats `%` as a
 * comment start, and a run of backticks would close the Markdown code fence around the diagram, so
 * those become Mermaid entity codes (`#58;` renders as `:`), which Mermaid encodes before lexing and
 * decodes when drawing. A label that starts like a statement gets a prefix.
 */
export function mermaidLabel(name: string): string {
  let label = name.replace(/\s+/g, " ").trim()
  if (label.length > 60) label = `${label.slice(0, 59)}…`
  if (label === "") return "step"
  if (MERMAID_STATEMENT.test(label)) label = `step ${label}`
  return label.replace(/[#:;%`]/g, (c) => `#${c.charCodeAt(0)};`)
}

const MERMAID_STATE: Record<Exclude<StepOutcome, "skipped">, string> = {
  succeeded: "done",
  failed: "crit",
  warning: "active",
}

/** The timeline as Mermaid Gantt source (without the code fence); null when no step has run. */
export function renderGantt(run: RunRecord): string | null {
  const timed = run.steps
    .map((step, i) => ({ step, id: `s${i + 1}` }))
    .filter((t): t is { step: StepRecord & { outcome: Exclude<StepOutcome, "skipped"> }; id: string } =>
      t.step.outcome !== "skipped" && !Number.isNaN(Date.parse(t.step.startedAt)),
    )
  if (timed.length === 0) return null
  const lines = ["gantt", "  dateFormat x", "  axisFormat %H:%M:%S", `  section ${run.environment}`]
  for (const { step, id } of timed) {
    const start = Date.parse(step.startedAt)
    const end = Math.max(start, Date.parse(step.endedAt) || start)
    lines.push(`  ${mermaidLabel(step.name)} :${MERMAID_STATE[step.outcome]}, ${id}, ${start}, ${end}`)
  }
  return lines.join("\n")
}

// --- Warnings derived from the record -----------------------------------------------------------

/** The record's warnings plus those the report itself finds (e.g. a stale price table). */
export function reportWarnings(run: RunRecord): RunWarning[] {
  const warnings = [...run.warnings]
  const stale = stalePricing(run)
  if (stale) warnings.push({ source: "pricing", message: stale })
  return warnings
}

function stalePricing(run: RunRecord): string | undefined {
  if (!run.cost) return undefined
  const age = pricingAgeDays(run.cost.asOf, new Date(run.startedAt))
  if (!Number.isFinite(age) || age <= run.cost.staleAfterDays) return undefined
  return (
    `the price table is ${age} days old (asOf ${run.cost.asOf}, limit ${run.cost.staleAfterDays}); ` +
    "re-check the rates, then update ci/pricing.yaml and its asOf date"
  )
}

// --- Markdown -----------------------------------------------------------------------------------

function runDurationMs(run: RunRecord): number {
  const end = run.endedAt ?? run.steps.at(-1)?.endedAt
  return durationMs(run.startedAt, end)
}

function rollbackLine(run: RunRecord): string | undefined {
  const rb = run.rollback
  if (!rb) return undefined
  const detail = rb.detail ? ` — ${text(rb.detail, MAX_DETAIL)}` : ""
  if (!rb.attempted) return `**Rollback:** not attempted${detail}`
  const icon = rb.outcome === "succeeded" ? "✅" : rb.outcome === "failed" ? "❌" : "➖"
  return `**Rollback:** ${icon} ${rb.outcome}${detail}`
}

function stepsTable(run: RunRecord): string[] {
  if (run.steps.length === 0) return ["_No step has run yet._"]
  const rows = run.steps.map(
    (s, i) =>
      `| ${i + 1} | ${text(s.name, 80)} | ${OUTCOME_ICON[s.outcome]} ${s.outcome} | ` +
      `${s.outcome === "skipped" ? "—" : formatDuration(durationMs(s.startedAt, s.endedAt))} | ` +
      `${s.detail ? text(s.detail, MAX_DETAIL) : ""} |`,
  )
  return ["| # | Step | Outcome | Duration | Detail |", "|---:|---|---|---:|---|", ...rows]
}

function scanSection(run: RunRecord): string[] {
  const scan = run.scan
  if (!scan) return ["_No scan result in this run._"]
  const out = [
    `Gate: ${scan.gate === "passed" ? "✅ passed" : "❌ failed"}` +
      (scan.ignored ? ` (${scan.ignored} accepted finding${scan.ignored === 1 ? "" : "s"} ignored)` : ""),
    "",
    `| ${SEVERITIES.join(" | ")} |`,
    `|${SEVERITIES.map(() => "---:").join("|")}|`,
    `| ${SEVERITIES.map((s) => scan.counts[s] ?? 0).join(" | ")} |`,
  ]
  const top = scan.topFindings.slice(0, MAX_FINDINGS)
  if (top.length > 0) {
    out.push("", "| Severity | ID | Target | Installed | Fixed in | Title |", "|---|---|---|---|---|---|")
    for (const f of top) {
      out.push(
        `| ${f.severity} | ${code(f.id, true)} | ${text(f.target, 80)} | ${text(f.installedVersion ?? "")} | ` +
          `${f.fixedVersion ? text(f.fixedVersion) : "no fix"} | ${text(f.title ?? "", 120)} |`,
      )
    }
    if (scan.topFindings.length > MAX_FINDINGS) {
      out.push("", `_…and ${scan.topFindings.length - MAX_FINDINGS} more in the scan report._`)
    }
  }
  return out
}

function costRows(env: string, lines: CostLine[]): string[] {
  return lines.map(
    (l) => `| ${env} | ${text(l.item)}${l.estimate ? " ≈" : ""} | ${text(l.detail)} | ${formatUsd(l.monthlyUsd)} |`,
  )
}

function costSection(cost: CostEstimate, stale: string | undefined): string[] {
  const out = [
    `Estimated standing cost per month, list prices as of **${cost.asOf}** ` +
      `(AWS ${text(cost.regions.aws)}, GCP ${text(cost.regions.gcp)}); ≈ marks an estimate.`,
  ]
  if (stale) out.push("", `> ⚠️ Stale prices: ${text(stale)}.`)
  out.push(
    "",
    "| Environment | Item | Basis | Monthly |",
    "|---|---|---|---:|",
    ...costRows("staging", cost.staging.lines),
    `| **staging** | desired count ${cost.staging.desiredCount} | | **${formatUsd(cost.staging.monthlyUsd)}** |`,
    ...costRows("production", cost.production.lines),
    `| **production** | min instances ${cost.production.minInstances}, ${cost.production.billing}-based billing | | ` +
      `**${formatUsd(cost.production.monthlyUsd)}** |`,
    `| **total** | | | **${formatUsd(cost.totalMonthlyUsd)}** |`,
    "",
  )
  const stop = cost.stoppingStaging
  const tasks = `${stop.runningDesiredCount} task${stop.runningDesiredCount === 1 ? "" : "s"}`
  out.push(
    stop.stoppedNow
      ? `Staging is stopped (desired count 0), saving **${formatUsd(stop.savesMonthlyUsd)}/month** against running ${tasks}; ` +
          `it still costs **${formatUsd(stop.remainingMonthlyUsd)}/month** for its load balancer.`
      : `Stopping staging (desired count 0) would save **${formatUsd(stop.savesMonthlyUsd)}/month** (${tasks}); ` +
          `its load balancer would still cost **${formatUsd(stop.remainingMonthlyUsd)}/month**.`,
  )
  if (cost.notes.length > 0) out.push("", ...cost.notes.map((n) => `- ${text(n)}`))
  return out
}

/** The job summary: verdict, steps, timeline, traffic analysis, diagnostics, scan, image, URLs, rollback, cost and warnings. */
export function renderReport(record: RunRecord, options: RenderOptions = {}): string {
  const secrets = options.secretValues ?? []
  const run = redactDeep(record, secrets)
  const lines: string[] = [`## ${headline(run)}`, ""]
  const facts = [
    `**Commit** ${code(run.commit.slice(0, 12))}`,
    `**Version** ${code(run.version)}`,
    `**Duration** ${formatDuration(runDurationMs(run))}`,
    `**Started** ${run.startedAt.replace("T", " ").replace(/(\.\d+)?Z$/, " UTC")}`,
  ]
  lines.push(facts.join(" · "))
  const extra: string[] = []
  if (run.failingStep) {
    const step = run.steps.find((s) => s.name === run.failingStep)
    extra.push(`**Failing step:** ${text(run.failingStep)}${step?.detail ? ` — ${text(step.detail, MAX_DETAIL)}` : ""}`)
  }
  const figure = failingFigure(run)
  if (figure) extra.push(`**Failing figure:** ${text(figure, MAX_DETAIL)}`)
  const rb = rollbackLine(run)
  if (rb) extra.push(rb)
  if (extra.length > 0) lines.push("", ...extra.map((l) => `${l}  `))

  lines.push("", "### Steps", "", ...stepsTable(run))
  const gantt = renderGantt(run)
  if (gantt) lines.push("", "### Timeline", "", "```mermaid", gantt, "```")

  const analysis = analysisSection(run.analysis)
  if (analysis.length > 0) lines.push("", "### Traffic analysis", "", ...analysis)
  const diagnostics = diagnosticsSection(run.diagnostics, secrets)
  if (diagnostics.length > 0) lines.push("", "### Diagnostics", "", ...diagnostics)

  lines.push("", "### Image", "")
  lines.push(run.image ? code(run.image) : "_No image was published in this run._")
  lines.push(...signatureSection(run.signature))

  const urls: [string, string | undefined][] = [
    ["Service", run.urls.service],
    ["Canary", run.urls.canary],
    ["CI run", run.urls.run],
  ]
  const present = urls.filter((u): u is [string, string] => typeof u[1] === "string" && u[1] !== "")
  if (present.length > 0) {
    lines.push("", "### URLs", "", ...present.map(([label, url]) => `- ${label}: ${link(url, url)}`))
  }

  lines.push("", "### Scan", "", ...scanSection(run))

  if (run.cost) lines.push("", "### Cost", "", ...costSection(run.cost, stalePricing(run)))

  const warnings = reportWarnings(run)
  if (warnings.length > 0) {
    lines.push("", "### Warnings", "", ...warnings.map((w) => `- ⚠️ **${text(w.source)}**: ${text(w.message, 500)}`))
  }
  return redact(`${lines.join("\n")}\n`, secrets)
}

// --- Plain text and JSON ------------------------------------------------------------------------


/**
 * The whole record as indented JSON, secrets removed (the DeployReport `json` field); its diagnostics
 * scrubbed and bounded as the Markdown shows them (report/diagnostics.ts).
 */
export function renderRunJson(record: RunRecord, options: RenderOptions = {}): string {
  const secrets = options.secretValues ?? []
  const run = redactDeep(record, secrets)
  if (run.diagnostics !== undefined) run.diagnostics = boundDiagnostics(run.diagnostics, secrets)
  return redact(JSON.stringify(run, null, 2), secrets)
}

/** The plain fields of the DeployReport the deploy functions return (docs/architecture.md). */
export interface DeployReportFields {
  verdict: RunVerdict
  /** True only for `succeeded`; a rolled-back deploy did not ship. */
  succeeded: boolean
  /** The environment's URL ("" when none is known). */
  url: string
  /** The image by digest ("" when nothing was published). */
  image: string
  /** The job summary (renderReport). */
  markdown: string
  /** The whole record, redacted (renderRunJson). */
  json: string
}

/**
 * Everything a DeployReport carries, from one record. A record still `running` (a caller that forgot
 * `finishRun`) is judged by its steps, so a half-finished run is never reported as a success.
 */
export function deployReportFields(record: RunRecord, options: RenderOptions = {}): DeployReportFields {
  const verdict = record.verdict === "running" ? decideVerdict(record).verdict : record.verdict
  const secrets = options.secretValues ?? []
  const run: RunRecord = { ...record, verdict }
  return {
    verdict,
    succeeded: verdict === "succeeded",
    url: redact(run.urls.service ?? "", secrets),
    image: redact(run.image ?? "", secrets),
    markdown: renderReport(run, options),
    json: renderRunJson(run, options),
  }
}
