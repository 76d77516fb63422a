// The Cloud Monitoring fake's own tests: it refuses what the API's protos and their comments refuse,
// aligns and reduces as documented, and authenticates. Driven through the REAL MetricServiceClient where
// it can express the request, and over raw HTTP where it cannot (the client drops unknown fields).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { connectMonitoring, type MonitoringClient } from "../../dagger/src/gcp/served-traffic.js"
import { type MonitoringFake, startMonitoringFake } from "../support/monitoring-fake.js"
import { revisionSeries } from "../support/monitoring-series.js"

const TOKEN = "ya29.harness-token"
const R = { project: "demo-project-1", region: "us-west1", service: "portfolio", revision: "portfolio-00001-abc" }
const END = new Date("2026-12-01T12:00:00Z")
const interval = { startTime: { seconds: END.getTime() / 1000 - 120 }, endTime: { seconds: END.getTime() / 1000 } }
const COUNT_FILTER = `metric.type = "run.googleapis.com/request_count" AND resource.labels.revision_name = "${R.revision}"`
const OPTIONS = { autoPaginate: false, timeout: 5_000, signal: new AbortController().signal } as const

let fake: MonitoringFake
let client: MonitoringClient

beforeAll(async () => {
  fake = await startMonitoringFake({ token: TOKEN })
  client = await connectMonitoring({ auth: { kind: "access-token", token: TOKEN }, endpoint: fake.endpoint })
})
afterAll(async () => {
  await client?.close()
  await fake?.close()
})
beforeEach(() => {
  fake.reset()
  // Two samples a minute apart: 200s and 503s in each.
  fake.seed(revisionSeries(R, [{ code: 200, count: 8, latencyMs: 10 }, { code: 503, count: 2, latencyMs: 1 }], END))
  fake.seed(revisionSeries(R, [{ code: 200, count: 5, latencyMs: 20 }], new Date(END.getTime() - 60_000)))
})

async function failure(p: Promise<unknown>): Promise<{ code?: number; message: string }> {
  try {
    await p
  } catch (err) {
    return err as { code?: number; message: string }
  }
  throw new Error("expected the call to fail, but it succeeded")
}

const list = (request: Record<string, unknown>) => client.listTimeSeries({ name: `projects/${R.project}`, interval, ...request }, OPTIONS)

describe("the monitoring fake", () => {
  it("ALIGN_NONE returns the raw points; ALIGN_DELTA one point per period; REDUCE_SUM groups by the given labels", async () => {
    const [rawSeries] = await list({ filter: COUNT_FILTER })
    expect(rawSeries).toHaveLength(2)
    expect(rawSeries.find((s) => s.metric?.labels?.["response_code"] === "200")?.points).toHaveLength(2)

    const [aligned] = await list({ filter: COUNT_FILTER, aggregation: { alignmentPeriod: { seconds: 120 }, perSeriesAligner: "ALIGN_DELTA" } })
    expect(aligned.find((s) => s.metric?.labels?.["response_code"] === "200")?.points?.map((p) => p.value?.int64Value)).toEqual(["13"])

    const [reduced] = await list({
      filter: COUNT_FILTER,
      aggregation: { alignmentPeriod: { seconds: 60 }, perSeriesAligner: "ALIGN_DELTA", crossSeriesReducer: "REDUCE_SUM", groupByFields: ["metric.label.response_code_class"] },
    })
    // Periods of 60 s back from the end: the sample ending at END, and the one a minute before.
    expect(reduced.map((s) => [s.metric?.labels, s.points?.map((p) => p.value?.int64Value)])).toEqual([
      [{ response_code_class: "2xx" }, ["8", "5"]],
      [{ response_code_class: "5xx" }, ["2"]],
    ])
    expect(reduced[0]!.resource?.labels).toEqual({})
  })

  it("sums latency distributions bucket by bucket", async () => {
    const [series] = await list({
      filter: `metric.type = "run.googleapis.com/request_latencies" AND resource.labels.revision_name = "${R.revision}"`,
      aggregation: { alignmentPeriod: { seconds: 120 }, perSeriesAligner: "ALIGN_DELTA", crossSeriesReducer: "REDUCE_SUM" },
    })
    expect(series).toHaveLength(1)
    const d = series[0]!.points![0]!.value!.distributionValue!
    expect(d.count).toBe("15")
    expect(d.range).toMatchObject({ min: 1, max: 20 })
    expect(d.bucketCounts!.reduce((s: number, c) => s + Number(c), 0)).toBe(15)
  })

  it.each<[string, Record<string, unknown>, RegExp]>([
    ["an alignment period under 60 s", { filter: COUNT_FILTER, aggregation: { alignmentPeriod: { seconds: 30 }, perSeriesAligner: "ALIGN_DELTA" } }, /at least 60 seconds/],
    ["an aligner without a period", { filter: COUNT_FILTER, aggregation: { perSeriesAligner: "ALIGN_DELTA" } }, /alignment period is required/],
    ["a reducer without an aligner", { filter: COUNT_FILTER, aggregation: { alignmentPeriod: { seconds: 60 }, crossSeriesReducer: "REDUCE_SUM" } }, /needs a per-series aligner/],
    ["group-by fields without a reducer", { filter: COUNT_FILTER, aggregation: { groupByFields: ["metric.label.response_code"] } }, /only allowed with a cross-series reducer/],
    ["no metric type", { filter: `resource.type = "cloud_run_revision"` }, /exactly one metric.type/],
    ["a filter it does not understand", { filter: `metric.type = "x" OR resource.type = "y"` }, /understands only/],
    ["no filter", { filter: "" }, /filter is required/],
  ])("refuses %s (INVALID_ARGUMENT)", async (_, request, message) => {
    const err = await failure(list(request))
    expect(err.code).toBe(3)
    expect(err.message).toMatch(message)
  })

  it("refuses an aligner it does not model as UNIMPLEMENTED, never answering as if it did", async () => {
    const err = await failure(list({ filter: COUNT_FILTER, aggregation: { alignmentPeriod: { seconds: 60 }, perSeriesAligner: "ALIGN_RATE" } }))
    expect(err.code).toBe(12)
  })

  it("refuses an unknown query parameter, a start after the end, a missing bearer token; 403 when told", async () => {
    const auth = { authorization: `Bearer ${TOKEN}` }
    const path = `/v3/projects/${R.project}/timeSeries?filter=${encodeURIComponent(COUNT_FILTER)}&interval.endTime=${END.toISOString()}`
    const unknown = await fetch(`${fake.endpoint}${path}&interval.middleTime=x`, { headers: auth })
    expect(unknown.status).toBe(400)
    expect(await unknown.text()).toMatch(/Cannot bind query parameter/)
    const backwards = await fetch(`${fake.endpoint}${path}&interval.startTime=2027-01-01T00:00:00Z`, { headers: auth })
    expect(backwards.status).toBe(400)
    expect((await fetch(`${fake.endpoint}${path}`)).status).toBe(401)
    expect((await fetch(`${fake.endpoint}${path}`, { headers: { authorization: "Bearer someone-else" } })).status).toBe(401)
    expect((await fetch(`${fake.endpoint}${path}`, { headers: auth })).status).toBe(200)
    fake.deny()
    const denied = await fetch(`${fake.endpoint}${path}`, { headers: auth })
    expect(denied.status).toBe(403)
    expect(await denied.json()).toMatchObject({ error: { status: "PERMISSION_DENIED", message: expect.stringContaining("monitoring.timeSeries.list") } })
  })

  it("serving: a revision named by a predicate answers under the name asked for, in whatever window", async () => {
    fake.reset()
    fake.serving({ ...R, revision: (name) => name.startsWith("portfolio-1-2-0-") }, [{ code: 500, count: 3, latencyMs: 7 }])
    const ask = (revision: string) =>
      list({
        filter: `metric.type = "run.googleapis.com/request_count" AND resource.labels.revision_name = "${revision}"`,
        aggregation: { alignmentPeriod: { seconds: 60 }, perSeriesAligner: "ALIGN_DELTA", crossSeriesReducer: "REDUCE_SUM" },
      })
    const [matching] = await ask("portfolio-1-2-0-q7zz")
    expect(matching.map((x) => x.points?.map((p) => p.value?.int64Value))).toEqual([["3"]])
    expect((await ask("portfolio-00001-abc"))[0]).toEqual([])
  })

  it("refuses to seed a series the protos do not allow", () => {
    const [good] = revisionSeries(R, [{ code: 200, count: 1, latencyMs: 1 }], END)
    expect(() => fake.seed([{ ...good!, metricKind: "SOMETIMES" }])).toThrow(/not a TimeSeries/)
    expect(() => fake.seed([{ ...good!, pointz: [] }])).toThrow(/Unknown name "pointz"/)
  })
})
