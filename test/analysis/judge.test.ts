// judgeTraffic as a table: figures and thresholds in, verdict and reason out. The defaults here are the
// committed ones (ci/pipeline.yaml analysis), so a row also shows what the production canary would decide.
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { formatLatency, formatRate, judgeTraffic } from "../../dagger/src/analysis/judge.js"
import { percentile, trafficFigures, type RequestOutcome } from "../../dagger/src/analysis/figures.js"
import { parseSettings } from "../../dagger/src/config/settings.js"
import type { AnalysisThresholds, TrafficFigures } from "../../dagger/src/report/run-record.js"
import { repoRoot } from "../tools/paths.js"

const T: AnalysisThresholds = { maxErrorRate: 0.01, maxP95Ratio: 1.5, p95SlackMs: 25 }

function figures(requests: number, errors: number, p95Ms?: number, p50Ms?: number): TrafficFigures {
  return {
    requests,
    errors,
    errorRate: requests === 0 ? 0 : errors / requests,
    ...(p50Ms === undefined ? {} : { p50Ms }),
    ...(p95Ms === undefined ? {} : { p95Ms }),
  }
}

describe("judgeTraffic", () => {
  it.each<[string, TrafficFigures | undefined, TrafficFigures | undefined, AnalysisThresholds, "pass" | "fail" | "no-signal", string | undefined]>([
    ["healthy beside a baseline", figures(300, 0, 12), figures(300, 0, 10), T, "pass", undefined],
    ["5 % errors", figures(200, 10, 12), figures(200, 0, 10), T, "fail", "error rate 5.0 % > 1.0 % (10 of 200 requests failed)"],
    ["exactly at the error threshold passes", figures(300, 3, 12), figures(300, 0, 10), T, "pass", undefined],
    ["one error more fails", figures(300, 4, 12), figures(300, 0, 10), T, "fail", "error rate 1.3 % > 1.0 % (4 of 300 requests failed)"],
    ["errors fail a first release too", figures(100, 2, 12), undefined, T, "fail", "error rate 2.0 % > 1.0 % (2 of 100 requests failed)"],
    ["every request failed", figures(50, 50), figures(50, 0, 10), T, "fail", "error rate 100.0 % > 1.0 % (50 of 50 requests failed)"],
    ["2× slower than a realistic baseline", figures(40, 0, 200), figures(40, 0, 100), T, "fail", "p95 200 ms > 1.5 × baseline 100 ms (and more than 25 ms above it)"],
    ["61 ms against 30 ms", figures(40, 0, 61), figures(40, 0, 30), T, "fail", "p95 61 ms > 1.5 × baseline 30 ms (and more than 25 ms above it)"],
    ["over the ratio but within the slack passes (jitter on a fast service)", figures(300, 0, 9), figures(300, 0, 3), T, "pass", undefined],
    ["over the slack but within the ratio passes (a slow network)", figures(300, 0, 280), figures(300, 0, 200), T, "pass", undefined],
    ["exactly at the ratio passes", figures(40, 0, 150), figures(40, 0, 100), T, "pass", undefined],
    ["faster than the baseline passes", figures(40, 0, 50), figures(40, 0, 100), T, "pass", undefined],
    ["a first release is judged on error rate only", figures(40, 0, 900), undefined, T, "pass", "no previous release measured (a first release): judged on error rate only"],
    ["a baseline that answered nothing: error rate only", figures(40, 0, 900), figures(40, 40), { ...T, maxErrorRate: 1 }, "pass", "the previous release answered no request, so latency was not compared"],
    ["no candidate figures", undefined, figures(40, 0, 10), T, "no-signal", "no request of the burst completed"],
    ["no request", figures(0, 0), figures(40, 0, 10), T, "no-signal", "no request of the burst completed"],
    ["all failed, but allowed: no latency to judge", figures(10, 10), figures(10, 0, 10), { ...T, maxErrorRate: 1 }, "no-signal", "no request was answered, so no latency was measured"],
    ["a fine error threshold is shown with its precision", figures(1000, 1, 5), figures(1000, 0, 5), { ...T, maxErrorRate: 0.0005 }, "fail", "error rate 0.1 % > 0.05 % (1 of 1000 requests failed)"],
  ])("%s", (_what, candidate, baseline, thresholds, verdict, reason) => {
    const a = judgeTraffic({ step: "canary 10%", source: "synthetic", candidate, baseline, thresholds })
    expect(a.verdict).toBe(verdict)
    expect(a.reason).toBe(reason)
    expect(a).toMatchObject({ step: "canary 10%", source: "synthetic", thresholds })
    expect(a.candidate).toEqual(candidate)
    expect(a.baseline).toEqual(baseline)
  })

  it("served traffic with no request says so, not the burst's words", () => {
    expect(judgeTraffic({ step: "canary 10%", source: "served-traffic", candidate: figures(0, 0), thresholds: T }).reason).toBe(
      "no request was served in the window",
    )
  })

  it("the committed thresholds: a healthy candidate passes, a 5 % error one and a 2× slower one fail", () => {
    const t = parseSettings(readFileSync(join(repoRoot, "ci/pipeline.yaml"), "utf8")).analysis.thresholds
    const { requests } = parseSettings(readFileSync(join(repoRoot, "ci/pipeline.yaml"), "utf8")).analysis
    const judge = (c: TrafficFigures, b?: TrafficFigures) => judgeTraffic({ step: "canary 10%", source: "synthetic", candidate: c, baseline: b, thresholds: t }).verdict
    // The expected 5 % of the committed burst, less two standard deviations, still fails.
    const fivePercent = Math.floor(requests * 0.05 - 2 * Math.sqrt(requests * 0.05 * 0.95))
    expect(judge(figures(requests, fivePercent, 10), figures(requests, 0, 10))).toBe("fail")
    expect(judge(figures(requests, 0, 12), figures(requests, 0, 8))).toBe("pass")
    expect(judge(figures(requests, 0, 300), figures(requests, 0, 150))).toBe("fail")
  })
})

describe("formatting", () => {
  it.each([[0.05, "5.0 %"], [0.01, "1.0 %"], [0, "0.0 %"], [0.0005, "0.05 %"], [1, "100.0 %"], [0.0133, "1.3 %"]])("rate %d → %s", (f, text) => {
    expect(formatRate(f)).toBe(text)
  })
  it.each([[61.4, "61 ms"], [3.25, "3.3 ms"], [0.4, "0.4 ms"], [100, "100 ms"]])("latency %d → %s", (ms, text) => {
    expect(formatLatency(ms)).toBe(text)
  })
})

describe("trafficFigures", () => {
  it("nearest-rank percentiles over answered requests; errors are 5xx and no-answers", () => {
    const outcomes: RequestOutcome[] = [
      ...Array.from({ length: 18 }, (_, i) => ({ status: 200, ms: i + 1 })),
      { status: 503, ms: 100 },
      { status: 404, ms: 2 },
      { error: "no complete answer within 1 s", ms: 1000 },
    ]
    const f = trafficFigures(outcomes)
    // 20 answered: 1..18, 2 (the 404) and 100 (the 503), so rank 10 is 9 and rank 19 is 18; the timeout's 1000 ms is not a latency.
    expect(f).toEqual({ requests: 21, errors: 2, errorRate: 2 / 21, p50Ms: 9, p95Ms: 18 })
  })

  it("warm-up requests count as requests and errors, not as latency", () => {
    const f = trafficFigures([
      { status: 200, ms: 900, warmup: true },
      { status: 503, ms: 800, warmup: true },
      { status: 200, ms: 5 },
      { status: 200, ms: 7 },
    ])
    expect(f).toEqual({ requests: 4, errors: 1, errorRate: 0.25, p50Ms: 5, p95Ms: 7 })
  })

  it("nothing answered: no percentile; nothing sent: rate 0", () => {
    expect(trafficFigures([{ error: "refused", ms: 1 }])).toEqual({ requests: 1, errors: 1, errorRate: 1 })
    expect(trafficFigures([])).toEqual({ requests: 0, errors: 0, errorRate: 0 })
  })

  it.each([[[1], 0.95, 1], [[1, 2], 0.5, 1], [[1, 2, 3, 4], 0.5, 2], [[...Array(100).keys()].map((i) => i + 1), 0.95, 95], [[], 0.5, undefined]])(
    "percentile(%j, %d) = %s",
    (values, p, expected) => {
      expect(percentile(values, p)).toBe(expected)
    },
  )
})
