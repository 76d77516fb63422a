// report/analysis.ts: the traffic analysis as the report shows it. The charts are checked with Mermaid's
// own xychart parser (the `mermaid` package): what it reads back — categories, series, values, axis —
// must be the recorded figures. The tables are checked for the figure that failed.
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { analysisSection, errorRateChart, failingAnalysis, failingFigure, p95Chart } from "../../dagger/src/report/analysis.js"
import type { AnalysisThresholds, RunRecord, StepAnalysis } from "../../dagger/src/report/run-record.js"
import { judgeTraffic } from "../../dagger/src/analysis/judge.js"
import { repoRoot } from "../tools/paths.js"

type XyPlot = { type: "bar" | "line"; title: string; data: [string, number | null][] }
type XyData = { xAxis: { categories: string[] }; yAxis: { title: string; min: number; max: number }; plots: XyPlot[] }
let parseXy: (source: string) => Promise<XyData>

beforeAll(async () => {
  // Mermaid passes every xychart label through DOMPurify, which needs a browser DOM this process does not
  // have; the labels' grammar is Mermaid's own either way, so the sanitiser is made the identity here.
  const purify = (await import("dompurify")).default as unknown as Record<string, unknown>
  purify.sanitize = (s: string) => s
  purify.addHook = () => undefined
  const mermaid = (await import("mermaid")).default
  parseXy = async (source) => {
    await mermaid.parse(source) // throws on a syntax error
    const diagram = await mermaid.mermaidAPI.getDiagramFromText(source)
    return (diagram.db as unknown as { getXYChartData(): XyData }).getXYChartData()
  }
})

const thresholds: AnalysisThresholds = { maxErrorRate: 0.01, maxP95Ratio: 1.5, p95SlackMs: 50 }
const figures = (requests: number, errors: number, p50Ms: number, p95Ms: number) => ({ requests, errors, errorRate: errors / requests, p50Ms, p95Ms })
const judge = (step: string, candidate: ReturnType<typeof figures> | undefined, baseline?: ReturnType<typeof figures>): StepAnalysis =>
  judgeTraffic({ step, source: "synthetic", candidate, baseline, thresholds })

const passing = judge("canary 10%", figures(200, 0, 40, 80), figures(200, 0, 40, 78))
const slow = judge("canary 50%", figures(200, 1, 120, 240), figures(200, 0, 40, 80))
const erroring = judge("canary 10%", figures(200, 10, 40, 80), figures(200, 0, 40, 80))

describe("the charts read back as the figures", () => {
  it("error rate: one category per measured step, candidate bars, baseline and limit lines in percent", async () => {
    const chart = await parseXy(errorRateChart([passing, slow])!)
    expect(chart.xAxis.categories).toEqual(["canary 10%", "canary 50%"])
    expect(chart.yAxis).toMatchObject({ title: "error rate (%)", min: 0 })
    expect(chart.plots.map((p) => [p.type, p.title, p.data.map((d) => d[1])])).toEqual([
      ["bar", "candidate", [0, 0.5]],
      ["line", "previous release", [0, 0]],
      ["line", "limit", [1, 1]],
    ])
    expect(chart.yAxis.max).toBeGreaterThanOrEqual(1)
  })

  it("p95: candidate bars, the previous release and the p95 allowed (ratio or slack, whichever is larger)", async () => {
    const chart = await parseXy(p95Chart([passing, slow])!)
    expect(chart.yAxis.title).toBe("p95 (ms)")
    expect(chart.plots.map((p) => [p.type, p.title, p.data.map((d) => d[1])])).toEqual([
      ["bar", "candidate", [80, 240]],
      ["line", "previous release", [78, 80]],
      // 78 × 1.5 = 117 < 78 + 50 = 128; 80 × 1.5 = 120 < 130.
      ["line", "limit", [128, 130]],
    ])
    expect(chart.yAxis.max).toBeGreaterThanOrEqual(240)
  })

  it("without a baseline everywhere only the candidate's p95 is drawn; a step with nothing measured is left out", async () => {
    const first = judge("rollout", figures(50, 0, 10, 20))
    const silent = judge("canary 50%", undefined)
    const chart = await parseXy(p95Chart([first, silent])!)
    expect(chart.xAxis.categories).toEqual(["rollout"])
    expect(chart.plots.map((p) => p.title)).toEqual(["candidate"])
    expect(errorRateChart([silent])).toBeNull()
    expect(p95Chart([])).toBeNull()
  })

  it("names that break Mermaid's strings, equal names and tiny or huge values still parse to the same figures", async () => {
    const awkward = [
      judge('step "quoted" #1; `tick` \\ back', figures(1_000_000, 1, 0.04, 0.05)),
      judge('step "quoted" #1; `tick` \\ back', figures(3, 3, 90_000, 125_000.27)),
      { ...judge("canary 10%", figures(10, 0, 5, 6)), source: "served-traffic" as const },
    ]
    const errors = await parseXy(errorRateChart(awkward)!)
    expect(errors.xAxis.categories).toHaveLength(3)
    expect(new Set(errors.xAxis.categories).size).toBe(3)
    expect(errors.xAxis.categories[2]).toBe("canary 10% (served)")
    // 1e-6 as a percentage is 0.0001: below the chart's two decimals, drawn as 0 rather than in exponent form.
    expect(errors.plots[0]!.data.map((d) => d[1])).toEqual([0, 100, 0])
    const p95 = await parseXy(p95Chart(awkward)!)
    expect(p95.plots[0]!.data.map((d) => d[1])).toEqual([0.05, 125_000.27, 6])
    expect(p95Chart(awkward)).not.toMatch(/e[-+]?\d/)
  })

  it("the golden production case's charts parse", async () => {
    const run = JSON.parse(readFileSync(join(repoRoot, "test/fixtures/report/production-analysis-failed-diagnostics/run.json"), "utf8")) as RunRecord
    const md = analysisSection(run.analysis).join("\n")
    const sources = [...md.matchAll(/```mermaid\n([\s\S]*?)\n```/g)].map((m) => m[1]!)
    expect(sources).toHaveLength(2)
    for (const source of sources) expect((await parseXy(source)).xAxis.categories).toEqual(["canary 10%", "canary 50%"])
  })
})

describe("the tables name the figure that failed", () => {
  const row = (md: string, figure: string) => md.split("\n").find((l) => l.startsWith(`| ${figure} |`))!

  it("an error-rate failure marks the error rate; p95 was not judged", () => {
    const md = analysisSection([erroring]).join("\n")
    expect(md).toContain("**canary 10%** (synthetic burst) — ❌ fail: error rate 5.0 % \\> 1.0 % (10 of 200 requests failed)")
    expect(row(md, "error rate (errors)")).toBe("| error rate (errors) | 5.0 % (10) | 0.0 % (0) | ≤ 1.0 % | ❌ |")
    expect(row(md, "p95")).toMatch(/\| — \|$/)
  })

  it("a latency failure marks p95 against the p95 allowed", () => {
    const md = analysisSection([slow]).join("\n")
    expect(row(md, "error rate (errors)")).toMatch(/\| ✅ \|$/)
    expect(row(md, "p95")).toBe("| p95 | 240 ms | 80 ms | ≤ 130 ms (1.5 × baseline, at least baseline + 50 ms) | ❌ |")
  })

  it("a pass marks both; a first release says latency was not compared", () => {
    const md = analysisSection([passing, judge("rollout", figures(50, 0, 10, 20))]).join("\n")
    expect(md).toContain("**canary 10%** (synthetic burst) — ✅ pass")
    expect(md).toContain("| p95 | 20 ms | — | not compared (no baseline p95) | — |")
  })

  it("no judgement, no section", () => {
    expect(analysisSection(undefined)).toEqual([])
    expect(analysisSection([])).toEqual([])
  })
})

describe("failingFigure", () => {
  it("names the failing step's failed judgement, beside its threshold", () => {
    expect(failingFigure({ failingStep: "canary 50%", analysis: [passing, slow] })).toBe(
      "canary 50%: p95 240 ms > 1.5 × baseline 80 ms (and more than 50 ms above it)",
    )
  })

  it("a failing step judged 'no signal' is named with why, ahead of an earlier failure elsewhere", () => {
    const silent = judge("canary 50%", undefined)
    expect(failingAnalysis({ failingStep: "canary 50%", analysis: [erroring, silent] })).toBe(silent)
    expect(failingFigure({ failingStep: "canary 50%", analysis: [silent] })).toBe("canary 50%: no request of the burst completed")
  })

  it("falls back to the run's first failed judgement; nothing when every judgement passed", () => {
    expect(failingFigure({ failingStep: "rollback", analysis: [passing, erroring] })).toMatch(/^canary 10%: error rate 5\.0 %/)
    expect(failingFigure({ failingStep: "canary 10%", analysis: [passing] })).toBeUndefined()
    expect(failingFigure({})).toBeUndefined()
  })
})
