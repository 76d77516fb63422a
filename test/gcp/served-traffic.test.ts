// readServedTraffic (dagger/src/gcp/served-traffic.ts) with the real @google-cloud/monitoring client
// (REST transport, bearer token) against the local Cloud Monitoring fake: what a revision served over a
// canary's pause, judged by the same judgeTraffic the synthetic burst is.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { judgeTraffic } from "../../dagger/src/analysis/judge.js"
import { connectMonitoring, type MonitoringClient, readServedTraffic, type ServedTraffic, type ServedTrafficContext } from "../../dagger/src/gcp/served-traffic.js"
import type { AnalysisThresholds, TrafficFigures } from "../../dagger/src/report/run-record.js"
import { type MonitoringFake, startMonitoringFake } from "../support/monitoring-fake.js"
import { type Answers, revisionSeries } from "../support/monitoring-series.js"

const TOKEN = "ya29.planted-monitoring-token"
const PROJECT = "portfolio-test-476200"
const REGION = "us-west1"
const SERVICE = "portfolio-prod"
const CANDIDATE = "portfolio-prod-00002-new"
const PREVIOUS = "portfolio-prod-00001-old"
/** ci/pipeline.yaml's analysis.thresholds. */
const THRESHOLDS: AnalysisThresholds = { maxErrorRate: 0.01, maxP95Ratio: 1.5, p95SlackMs: 50 }

let fake: MonitoringFake
let client: MonitoringClient
let ctx: ServedTrafficContext
/** The pause: 30 s ending now; Cloud Run's sample of it ends 5 s before. */
let to: Date
let from: Date
let sampleEnd: Date

const revision = (name: string) => ({ project: PROJECT, region: REGION, service: SERVICE, revision: name })
/** n latencies spread evenly over [lo, hi] ms. */
const spread = (lo: number, hi: number, n: number) => Array.from({ length: n }, (_, i) => lo + ((hi - lo) * i) / Math.max(1, n - 1))
const read = (name: string, signal = new AbortController().signal) => readServedTraffic(ctx, { revision: name, service: SERVICE, from, to }, signal)

function figures(t: ServedTraffic): TrafficFigures {
  if ("noSignal" in t) throw new Error(`expected figures, got no signal: ${t.noSignal}`)
  return t
}

const healthy: Answers[] = [{ code: 200, count: 190, latencyMs: spread(20, 40, 190) }]

beforeAll(async () => {
  fake = await startMonitoringFake({ token: TOKEN })
  client = await connectMonitoring({ auth: { kind: "access-token", token: TOKEN }, endpoint: fake.endpoint })
  ctx = { client, project: PROJECT, region: REGION }
})

afterAll(async () => {
  await client?.close()
  await fake?.close()
})

let local: MonitoringFake | undefined
beforeEach(() => {
  to = new Date()
  from = new Date(to.getTime() - 30_000)
  sampleEnd = new Date(to.getTime() - 5_000)
  fake.reset()
})
afterEach(async () => {
  await local?.close()
  local = undefined
})

/** A fake of its own, for tests that change how it answers. */
async function own(): Promise<{ fake: MonitoringFake; ctx: ServedTrafficContext; close(): Promise<void> }> {
  local = await startMonitoringFake({ token: TOKEN })
  const c = await connectMonitoring({ auth: { kind: "access-token", token: TOKEN }, endpoint: local.endpoint })
  const f = local
  return { fake: f, ctx: { client: c, project: PROJECT, region: REGION }, close: () => c.close() }
}

describe("readServedTraffic: what the revision served over the pause", () => {
  it("a healthy revision: its own requests only, no errors, p50/p95 from the latency buckets; the judge passes it", async () => {
    fake.seed(revisionSeries(revision(CANDIDATE), [...healthy, { code: 404, count: 10, latencyMs: 5 }], sampleEnd))
    // The previous revision's traffic in the same window must not be counted for the candidate.
    fake.seed(revisionSeries(revision(PREVIOUS), [{ code: 503, count: 900, latencyMs: 900 }], sampleEnd))

    const f = figures(await read(CANDIDATE))
    expect(f).toMatchObject({ requests: 200, errors: 0, errorRate: 0 })
    // Buckets grow by 1.2: the percentiles are exact to a bucket, so within 20 % of the true 30 / 39 ms.
    expect(f.p50Ms).toBeGreaterThan(24)
    expect(f.p50Ms).toBeLessThan(36)
    expect(f.p95Ms).toBeGreaterThan(32)
    expect(f.p95Ms).toBeLessThan(47)
    expect(judgeTraffic({ step: "canary 10%", source: "served-traffic", candidate: f, thresholds: THRESHOLDS }).verdict).toBe("pass")

    // Two list calls, authenticated, for exactly this revision, aligned on 60 s (the API's minimum).
    expect(fake.requests).toHaveLength(2)
    for (const q of fake.requests) {
      expect(q.authorization).toBe(`Bearer ${TOKEN}`)
      expect(q.path).toBe(`/v3/projects/${PROJECT}/timeSeries`)
      expect(q.query["filter"]![0]).toContain(`resource.labels.revision_name = "${CANDIDATE}"`)
      expect(q.query["aggregation.alignmentPeriod"]).toEqual(["60s"])
      expect(q.query["interval.endTime"]).toEqual([to.toISOString()])
    }
    expect(fake.requests.map((q) => q.query["aggregation.groupByFields"] ?? [])).toContainEqual(["metric.label.response_code_class"])
  })

  it("5 % 5xx: errors counted from the 5xx class, and the judge fails it naming the rate", async () => {
    fake.seed(revisionSeries(revision(CANDIDATE), [healthy[0]!, { code: 503, count: 7, latencyMs: 3 }, { code: 500, count: 3, latencyMs: 3 }], sampleEnd))

    const f = figures(await read(CANDIDATE))
    expect(f).toMatchObject({ requests: 200, errors: 10, errorRate: 0.05 })
    const judged = judgeTraffic({ step: "canary 10%", source: "served-traffic", candidate: f, thresholds: THRESHOLDS })
    expect(judged).toMatchObject({ verdict: "fail", reason: "error rate 5.0 % > 1.0 % (10 of 200 requests failed)" })
  })

  it("slow latencies: the candidate's p95 beside the previous revision's in the same window fails the judge", async () => {
    fake.seed(revisionSeries(revision(PREVIOUS), [{ code: 200, count: 400, latencyMs: spread(80, 120, 400) }], sampleEnd))
    fake.seed(revisionSeries(revision(CANDIDATE), [{ code: 200, count: 40, latencyMs: spread(240, 360, 40) }], sampleEnd))

    const candidate = figures(await read(CANDIDATE))
    const baseline = figures(await read(PREVIOUS))
    expect(candidate.errors).toBe(0)
    expect(candidate.p95Ms! / baseline.p95Ms!).toBeGreaterThan(2.4)
    const judged = judgeTraffic({ step: "canary 50%", source: "served-traffic", candidate, baseline, thresholds: THRESHOLDS })
    expect(judged.verdict).toBe("fail")
    expect(judged.reason).toMatch(/^p95 \d+ ms > 1\.5 × baseline \d+ ms/)
  })

  it("no series is no signal, never a pass; so is a sample outside the window", async () => {
    const none = await read(CANDIDATE)
    expect(none).toEqual({ noSignal: expect.stringMatching(/no request served by revision portfolio-prod-00002-new .*no request_count series.*once a minute/) })
    expect(judgeTraffic({ step: "canary 10%", source: "served-traffic", thresholds: THRESHOLDS }).verdict).toBe("no-signal")

    fake.seed(revisionSeries(revision(CANDIDATE), healthy, new Date(to.getTime() - 5 * 60_000)))
    expect(await read(CANDIDATE)).toHaveProperty("noSignal")
  })

  it("403 is no signal naming the role to grant; a missing token (401) is no signal naming UNAUTHENTICATED", async () => {
    const mine = await own()
    mine.fake.seed(revisionSeries(revision(CANDIDATE), healthy, sampleEnd))
    mine.fake.deny()
    const denied = await readServedTraffic(mine.ctx, { revision: CANDIDATE, service: SERVICE, from, to }, new AbortController().signal)
    expect(denied).toEqual({ noSignal: expect.stringContaining("PERMISSION_DENIED") })
    expect((denied as { noSignal: string }).noSignal).toContain(`Grant the deploy service account roles/monitoring.viewer on project ${PROJECT}`)
    await mine.close()

    const anonymous = await connectMonitoring({ auth: { kind: "none" }, endpoint: fake.endpoint })
    try {
      const refused = await readServedTraffic({ ...ctx, client: anonymous }, { revision: CANDIDATE, service: SERVICE, from, to }, new AbortController().signal)
      expect(refused).toEqual({ noSignal: expect.stringContaining("UNAUTHENTICATED (code 16)") })
    } finally {
      await anonymous.close()
    }
  })

  it("reads every page the API hands out", async () => {
    const mine = await own()
    mine.fake.pageLimit(1)
    mine.fake.seed(revisionSeries(revision(CANDIDATE), [healthy[0]!, { code: 503, count: 10, latencyMs: 3 }], sampleEnd))
    const f = figures(await readServedTraffic(mine.ctx, { revision: CANDIDATE, service: SERVICE, from, to }, new AbortController().signal))
    expect(f).toMatchObject({ requests: 200, errors: 10 })
    // request_count is grouped into two classes, one per page: two calls for it, one for the latencies.
    expect(mine.fake.requests).toHaveLength(3)
    await mine.close()
  })

  it("an API slower than the reading's budget is no signal, not a stuck step", async () => {
    const mine = await own()
    mine.fake.delay(2_000)
    const t0 = Date.now()
    const slow = await readServedTraffic({ ...mine.ctx, timeoutMs: 300 }, { revision: CANDIDATE, service: SERVICE, from, to }, new AbortController().signal)
    expect(slow).toEqual({ noSignal: "Cloud Monitoring did not answer within 300 ms" })
    expect(Date.now() - t0).toBeLessThan(1_500)
    await mine.close()
  })

  it("cancellation: the signal's reason at once, and no request after the abort", async () => {
    const mine = await own()
    mine.fake.pageLimit(1)
    mine.fake.delay(1_000)
    mine.fake.seed(revisionSeries(revision(CANDIDATE), [healthy[0]!, { code: 503, count: 10, latencyMs: 3 }], sampleEnd))
    const controller = new AbortController()
    const reason = new Error("step timed out")
    const reading = readServedTraffic(mine.ctx, { revision: CANDIDATE, service: SERVICE, from, to }, controller.signal)
    // Aborted while the fake holds both first requests (request_count's first page, the latencies).
    while (mine.fake.requests.length < 2) await new Promise((r) => setTimeout(r, 10))
    const t0 = Date.now()
    controller.abort(reason)
    await expect(reading).rejects.toBe(reason)
    expect(Date.now() - t0).toBeLessThan(200)
    // The first page of request_count would have named a second one; it is never asked for.
    await new Promise((r) => setTimeout(r, 1_500))
    expect(mine.fake.requests).toHaveLength(2)

    // An already aborted signal sends nothing.
    const before = mine.fake.requests.length
    await expect(readServedTraffic(mine.ctx, { revision: CANDIDATE, service: SERVICE, from, to }, AbortSignal.abort(reason))).rejects.toBe(reason)
    expect(mine.fake.requests).toHaveLength(before)
    await mine.close()
  })
})
