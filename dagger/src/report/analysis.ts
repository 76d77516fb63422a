// The traffic analysis as the report shows it: per judged step a small table of the candidate's figures
// beside the previous release's and the limits, the verdict and the figure that failed; and Mermaid
// xycharts of error rate and p95 per step. The judgement itself is analysis/judge.ts; this only displays
// what it recorded (StepAnalysis). Pure.
import type { RunRecord, StepAnalysis, TrafficFigures } from "./run-record.js"
import { formatLatency, formatRate } from "../analysis/judge.js"
import { text } from "./markdown.js"

/** Judged steps shown; a canary has a handful, so more means something looped. */
const MAX_ANALYSES = 20
const MAX_CHART_LABEL = 30

const VERDICT_TEXT: Record<StepAnalysis["verdict"], string> = {
  pass: "✅ pass",
  fail: "❌ fail",
  "no-signal": "➖ no signal",
}

const SOURCE_TEXT: Record<StepAnalysis["source"], string> = {
  synthetic: "synthetic burst",
  "served-traffic": "served traffic",
}

/**
 * The judgement that failed the run: a failed (or signal-less) judgement of the failing step, else the
 * first failed judgement of the run; undefined when every judgement passed or none was made.
 */
export function failingAnalysis(run: Pick<RunRecord, "analysis" | "failingStep">): StepAnalysis | undefined {
  const all = run.analysis ?? []
  const ofStep = all.filter((a) => a.step === run.failingStep && a.verdict !== "pass")
  return ofStep.find((a) => a.verdict === "fail") ?? ofStep[0] ?? all.find((a) => a.verdict === "fail")
}

/** One line naming the figure that failed: "canary 10%: error rate 5.0 % > 1.0 % (…)"; undefined when none did. */
export function failingFigure(run: Pick<RunRecord, "analysis" | "failingStep">): string | undefined {
  const a = failingAnalysis(run)
  if (!a) return undefined
  return `${a.step}: ${a.reason ?? (a.verdict === "fail" ? "the traffic analysis failed" : "no signal")}`
}

/** The p95 a candidate may reach: above it both the ratio and the slack are exceeded. Undefined without a baseline p95. */
function p95Limit(a: StepAnalysis): number | undefined {
  const base = a.baseline?.p95Ms
  if (base === undefined) return undefined
  return Math.max(base * a.thresholds.maxP95Ratio, base + a.thresholds.p95SlackMs)
}

/** Which figure decided: the error rate is judged first, so a failed step with an acceptable rate failed on p95. */
function judged(a: StepAnalysis): { errorRate: string; p95: string } {
  if (a.verdict === "no-signal" || !a.candidate) return { errorRate: "—", p95: "—" }
  const rateFailed = a.candidate.errorRate > a.thresholds.maxErrorRate
  if (a.verdict === "fail") return rateFailed ? { errorRate: "❌", p95: "—" } : { errorRate: "✅", p95: "❌" }
  return { errorRate: "✅", p95: p95Limit(a) === undefined ? "—" : "✅" }
}

const count = (f: TrafficFigures | undefined) => (f ? String(f.requests) : "—")
const rate = (f: TrafficFigures | undefined) => (f ? `${formatRate(f.errorRate)} (${f.errors})` : "—")
const ms = (v: number | undefined) => (v === undefined ? "—" : formatLatency(v))

function stepTable(a: StepAnalysis): string[] {
  const { candidate: c, baseline: b, thresholds: t } = a
  const limit = p95Limit(a)
  const p95Rule =
    limit === undefined
      ? "not compared (no baseline p95)"
      : `≤ ${formatLatency(limit)} (${t.maxP95Ratio} × baseline, at least baseline + ${formatLatency(t.p95SlackMs)})`
  const mark = judged(a)
  const headline = `**${text(a.step, 80)}** (${SOURCE_TEXT[a.source]}) — ${VERDICT_TEXT[a.verdict]}${a.reason ? `: ${text(a.reason, 300)}` : ""}`
  return [
    headline,
    "",
    "| Figure | Candidate | Baseline | Limit | Judged |",
    "|---|---:|---:|---|:---:|",
    `| requests | ${count(c)} | ${count(b)} | | |`,
    `| error rate (errors) | ${rate(c)} | ${rate(b)} | ≤ ${formatRate(t.maxErrorRate)} | ${mark.errorRate} |`,
    `| p50 | ${ms(c?.p50Ms)} | ${ms(b?.p50Ms)} | | |`,
    `| p95 | ${ms(c?.p95Ms)} | ${ms(b?.p95Ms)} | ${p95Rule} | ${mark.p95} |`,
  ]
}

// --- Mermaid xychart ----------------------------------------------------------------------------

/**
 * A step name as an x-axis category: inside Mermaid's double-quoted string a `"` would end it, `#n;` is
 * read as an entity code, a backslash escapes, and a backtick would close the Markdown fence around the
 * chart; those become `'`. Names are made unique, since equal categories would share one bar.
 */
function chartLabels(analysis: readonly StepAnalysis[]): string[] {
  const seen = new Map<string, number>()
  return analysis.map((a) => {
    let label = a.step.replace(/\s+/g, " ").trim().replace(/["`#\\]/g, "'") || "step"
    if (a.source === "served-traffic") label = `${label} (served)`
    if (label.length > MAX_CHART_LABEL) label = `${label.slice(0, MAX_CHART_LABEL - 1)}…`
    const n = (seen.get(label) ?? 0) + 1
    seen.set(label, n)
    return n === 1 ? label : `${label} ${n}`
  })
}

/** Mermaid's number grammar has no exponent: fixed decimals only, trailing zeros dropped. */
function num(v: number): string {
  return String(Number(v.toFixed(2)))
}

/** A round number at or above `v` (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10^k), so the axis ends just above the highest bar or limit. */
function niceCeil(v: number, floor: number): number {
  const target = Math.max(v, floor)
  const magnitude = 10 ** Math.floor(Math.log10(target))
  return [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10].map((m) => m * magnitude).find((x) => x >= target) ?? 10 * magnitude
}

interface Series {
  kind: "bar" | "line"
  title: string
  values: number[]
}

function xychart(labels: string[], axis: string, series: Series[], floor: number): string {
  const max = niceCeil(Math.max(...series.flatMap((s) => s.values)) * 1.1, floor)
  return [
    "xychart-beta",
    `  x-axis [${labels.map((l) => `"${l}"`).join(", ")}]`,
    `  y-axis "${axis}" 0 --> ${num(max)}`,
    ...series.map((s) => `  ${s.kind} "${s.title}" [${s.values.map(num).join(", ")}]`),
  ].join("\n")
}

/** Error rate per judged step as Mermaid xychart source: bars the candidate, lines the baseline and the limit. Null when nothing was measured. */
export function errorRateChart(analysis: readonly StepAnalysis[]): string | null {
  const measured = analysis.filter((a) => a.candidate !== undefined && a.candidate.requests > 0).slice(0, MAX_ANALYSES)
  if (measured.length === 0) return null
  const series: Series[] = [{ kind: "bar", title: "candidate", values: measured.map((a) => a.candidate!.errorRate * 100) }]
  if (measured.every((a) => a.baseline && a.baseline.requests > 0)) {
    series.push({ kind: "line", title: "previous release", values: measured.map((a) => a.baseline!.errorRate * 100) })
  }
  series.push({ kind: "line", title: "limit", values: measured.map((a) => a.thresholds.maxErrorRate * 100) })
  return xychart(chartLabels(measured), "error rate (%)", series, 1)
}

/** p95 latency per judged step: bars the candidate, lines the baseline and the p95 allowed (when every step has a baseline). Null when nothing answered. */
export function p95Chart(analysis: readonly StepAnalysis[]): string | null {
  const measured = analysis.filter((a) => a.candidate?.p95Ms !== undefined).slice(0, MAX_ANALYSES)
  if (measured.length === 0) return null
  const series: Series[] = [{ kind: "bar", title: "candidate", values: measured.map((a) => a.candidate!.p95Ms!) }]
  const limits = measured.map(p95Limit)
  if (limits.every((l) => l !== undefined)) {
    series.push({ kind: "line", title: "previous release", values: measured.map((a) => a.baseline!.p95Ms!) })
    series.push({ kind: "line", title: "limit", values: limits as number[] })
  }
  return xychart(chartLabels(measured), "p95 (ms)", series, 10)
}

/** The report's "Traffic analysis" section (without its heading); empty when no step was judged. */
export function analysisSection(analysis: readonly StepAnalysis[] | undefined): string[] {
  if (!analysis || analysis.length === 0) return []
  const shown = analysis.slice(0, MAX_ANALYSES)
  const out: string[] = []
  for (const a of shown) {
    if (out.length > 0) out.push("")
    out.push(...stepTable(a))
  }
  if (analysis.length > shown.length) out.push("", `_… ${analysis.length - shown.length} more judgements not shown._`)
  const charts = [errorRateChart(analysis), p95Chart(analysis)].filter((c): c is string => c !== null)
  if (charts.length > 0) {
    out.push("", "Bars: the candidate; lines: the previous release (when every step has one) and the limit.")
    for (const chart of charts) out.push("", "```mermaid", chart, "```")
  }
  return out
}
