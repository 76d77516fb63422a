// A local Cloud Monitoring API v3 (REST/JSON) answering `projects.timeSeries.list` as the
// @google-cloud/monitoring MetricServiceClient speaks it with `fallback: true`:
// GET /v3/projects/P/timeSeries?filter=...&interval.endTime=...&aggregation.alignmentPeriod=60s&...
//
// Checked against the .proto files that ship inside @google-cloud/monitoring (and google-gax's
// google/api and google/rpc), through proto-json.ts as the Cloud Run fake is: unknown query parameters
// and values of the wrong type are refused, and so are the rules the protos' comments state (a filter
// naming one metric type, an end time, a start not after it, an alignment period of at least 60 s
// whenever an aligner is set, an aligner before a reducer, group-by fields only with a reducer). Seeded
// series and every response are validated against google.monitoring.v3.TimeSeries / ListTimeSeriesResponse,
// so a fake bug fails loudly.
//
// Modelled: the filter's `key = "value"` clauses joined by AND (metric.type, resource.type,
// metric.label(s).K, resource.label(s).K; anything else is refused, never ignored); ALIGN_NONE and
// ALIGN_DELTA (one point per period ending at the interval's end, each summing the raw points whose
// end lies in it; empty periods are left out); REDUCE_NONE and REDUCE_SUM with group-by fields, for
// INT64 and DISTRIBUTION values; views FULL and HEADERS; paging. Not modelled: the other aligners and
// reducers (refused as UNIMPLEMENTED), interpolation, data latency (what is seeded is visible at once).
// What a revision served is built by monitoring-series.ts. Over 350 lines because the request checks,
// the alignment and the reduction are one model of one endpoint, and read best together.
import http from "node:http"
import { createRequire } from "node:module"
import type { AddressInfo } from "node:net"
import { existsSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { type Answers, type RevisionResource, revisionSeries, type ServingRevisions } from "./monitoring-series.js"
import { type Json, type JsonObject, ProtoJson } from "./proto-json.js"

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..")
const MONITORING_PACKAGE_DIR = join(repoRoot, "dagger/node_modules/@google-cloud/monitoring")
const LIST_REQUEST = "google.monitoring.v3.ListTimeSeriesRequest"
const LIST_RESPONSE = "google.monitoring.v3.ListTimeSeriesResponse"
const TIME_SERIES = "google.monitoring.v3.TimeSeries"

const STATUS = {
  INVALID_ARGUMENT: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  UNIMPLEMENTED: 501,
  INTERNAL: 500,
} as const
type StatusName = keyof typeof STATUS

class FakeError extends Error {
  constructor(
    readonly status: StatusName,
    message: string,
  ) {
    super(message)
  }
}

/** The monitoring protos, loaded into proto-json.ts's checker (whose own search path is Cloud Run's). */
function loadProtos(): ProtoJson {
  if (!existsSync(join(MONITORING_PACKAGE_DIR, "package.json"))) {
    throw new Error(`@google-cloud/monitoring is not installed under ${MONITORING_PACKAGE_DIR}; run \`npm test\` (or \`npm ci\` in dagger/) first.`)
  }
  const require = createRequire(join(MONITORING_PACKAGE_DIR, "package.json"))
  // google-gax hides package.json behind "exports"; its entry point sits at build/src/index.js.
  const dirs = [join(MONITORING_PACKAGE_DIR, "build/protos"), resolve(dirname(require.resolve("google-gax")), "../protos")]
  const pj = new ProtoJson([])
  pj.root.resolvePath = (_origin, target) => dirs.map((d) => join(d, target)).find((p) => existsSync(p)) ?? target
  pj.root.loadSync(["google/monitoring/v3/metric_service.proto"])
  pj.root.resolveAll()
  return pj
}

// --- Requests ------------------------------------------------------------------------------------

interface Clause {
  key: string
  value: string
}

/** The filter's clauses; refuses what the fake does not understand rather than matching too much. */
function parseFilter(filter: string): Clause[] {
  return filter.split(/\s+AND\s+/).map((part) => {
    const m = /^\s*([a-z_]+(?:\.[a-z_]+)*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*$/.exec(part)
    if (!m || !/^(metric\.type|resource\.type|(metric|resource)\.labels?\.[a-z_]+)$/.test(m[1]!)) {
      throw new FakeError("INVALID_ARGUMENT", `The fake understands only key = "value" clauses joined by AND (metric.type, resource.type, metric.label.K, resource.label.K); got '${part}'.`)
    }
    return { key: m[1]!.replace(/\.labels?\./, ".label."), value: JSON.parse(`"${m[2]!}"`) as string }
  })
}

/** A series' value for a filter or group-by key ("metric.type", "resource.label.revision_name"). */
function keyOf(series: JsonObject, key: string): string | undefined {
  const [where, kind, label] = key.split(".") as ["metric" | "resource", string, string | undefined]
  const part = series[where] as { type?: string; labels?: Record<string, string> } | undefined
  if (kind === "type") return part?.type
  return label === undefined ? undefined : part?.labels?.[label]
}

function seconds(duration: string): number {
  return Number(duration.replace(/s$/, ""))
}

const ms = (t: string) => Date.parse(t)

/** Query parameters (dotted names, repeated keys) as the nested request object, for proto-json to check. */
function queryObject(pj: ProtoJson, query: URLSearchParams): JsonObject {
  const out: JsonObject = {}
  const SYSTEM = new Set(["$alt", "alt", "$prettyPrint", "prettyPrint", "fields", "$fields", "key"])
  for (const [key, raw] of query) {
    if (SYSTEM.has(key)) continue
    let type = pj.type(LIST_REQUEST)
    let node = out
    const parts = key.split(".")
    parts.forEach((part, i) => {
      const field = pj.field(type, part)
      if (!field || field.name === "name") {
        throw new FakeError("INVALID_ARGUMENT", `Invalid JSON payload received. Unknown name "${key}": Cannot bind query parameter. Field '${part}' could not be found in request message.`)
      }
      if (i < parts.length - 1) {
        node = (node[field.name] ??= {}) as JsonObject
        type = pj.type(field.resolvedType!.fullName)
        return
      }
      // Enums arrive as numbers with enum-encoding=int, as names otherwise.
      const value: Json = field.resolvedType instanceof pj.protobuf.Enum && /^\d+$/.test(raw) ? Number(raw) : raw
      if (field.repeated) node[field.name] = [...((node[field.name] as Json[] | undefined) ?? []), value]
      else node[field.name] = value
    })
  }
  return out
}

interface Aggregation {
  alignmentPeriod?: string
  perSeriesAligner?: number
  crossSeriesReducer?: number
  groupByFields?: string[]
}

const ALIGN_NONE = 0
const ALIGN_DELTA = 1
const REDUCE_NONE = 0
const REDUCE_SUM = 4

/** The rules of google.monitoring.v3.Aggregation's comments that the fake applies. */
function checkAggregation(a: Aggregation): void {
  const aligner = a.perSeriesAligner ?? ALIGN_NONE
  const reducer = a.crossSeriesReducer ?? REDUCE_NONE
  if (aligner !== ALIGN_NONE && aligner !== ALIGN_DELTA) throw new FakeError("UNIMPLEMENTED", `The fake models only ALIGN_NONE and ALIGN_DELTA, got aligner ${aligner}.`)
  if (reducer !== REDUCE_NONE && reducer !== REDUCE_SUM) throw new FakeError("UNIMPLEMENTED", `The fake models only REDUCE_NONE and REDUCE_SUM, got reducer ${reducer}.`)
  if (aligner !== ALIGN_NONE) {
    if (a.alignmentPeriod === undefined) throw new FakeError("INVALID_ARGUMENT", "The alignment period is required when a per-series aligner is set.")
    if (seconds(a.alignmentPeriod) < 60) {
      throw new FakeError("INVALID_ARGUMENT", `Field aggregation.alignmentPeriod had an invalid value of "${a.alignmentPeriod}": The alignment period must be at least 60 seconds.`)
    }
  }
  if (reducer !== REDUCE_NONE && aligner === ALIGN_NONE) {
    throw new FakeError("INVALID_ARGUMENT", "A cross-series reducer needs a per-series aligner other than ALIGN_NONE and an alignment period.")
  }
  for (const f of a.groupByFields ?? []) {
    if (reducer === REDUCE_NONE) throw new FakeError("INVALID_ARGUMENT", "group_by_fields are only allowed with a cross-series reducer.")
    if (!/^(metric|resource)\.labels?\.[a-z_]+$/.test(f)) throw new FakeError("INVALID_ARGUMENT", `Field aggregation.groupByFields had an invalid value of "${f}".`)
  }
}

type Value = { int64Value: string } | { distributionValue: JsonObject }

function addValues(values: Value[]): Value {
  if (values.every((v) => "int64Value" in v)) {
    return { int64Value: String(values.reduce((s, v) => s + BigInt((v as { int64Value: string }).int64Value), 0n)) }
  }
  const ds = values.map((v) => (v as { distributionValue: JsonObject }).distributionValue) as Array<{
    count?: string
    mean?: number
    bucketOptions?: Json
    bucketCounts?: string[]
    range?: { min: number; max: number }
  }>
  const options = JSON.stringify(ds[0]!.bucketOptions)
  if (ds.some((d) => JSON.stringify(d.bucketOptions) !== options)) throw new Error("fake: distributions with different buckets cannot be summed")
  const count = ds.reduce((s, d) => s + Number(d.count ?? 0), 0)
  const width = Math.max(...ds.map((d) => d.bucketCounts?.length ?? 0))
  const ranges = ds.flatMap((d) => (d.range ? [d.range] : []))
  return {
    distributionValue: {
      count: String(count),
      mean: count === 0 ? 0 : ds.reduce((s, d) => s + (d.mean ?? 0) * Number(d.count ?? 0), 0) / count,
      bucketOptions: ds[0]!.bucketOptions ?? null,
      bucketCounts: Array.from({ length: width }, (_, i) => String(ds.reduce((s, d) => s + Number(d.bucketCounts?.[i] ?? 0), 0))),
      ...(ranges.length > 0 ? { range: { min: Math.min(...ranges.map((r) => r.min)), max: Math.max(...ranges.map((r) => r.max)) } } : {}),
    },
  }
}

interface Point {
  interval: { startTime?: string; endTime: string }
  value: Value
}

/** One series' points aligned with ALIGN_DELTA: a point per period ending at `end`, going back while ≥ `start`. */
function alignDelta(points: Point[], start: number, end: number, periodMs: number): Point[] {
  const out: Point[] = []
  for (let e = end; ; e -= periodMs) {
    const inside = points.filter((p) => ms(p.interval.endTime) > e - periodMs && ms(p.interval.endTime) <= e)
    if (inside.length > 0) out.push({ interval: { startTime: new Date(e - periodMs).toISOString(), endTime: new Date(e).toISOString() }, value: addValues(inside.map((p) => p.value)) })
    if (e - periodMs <= start) return out
  }
}

// --- The server ----------------------------------------------------------------------------------

export interface MonitoringRequest {
  at: number
  path: string
  query: Record<string, string[]>
  authorization?: string
}

export interface MonitoringFake {
  endpoint: string
  requests: MonitoringRequest[]
  /** Adds raw series (proto3 JSON TimeSeries, e.g. from revisionSeries); validated against the protos. */
  seed(series: JsonObject[]): void
  /**
   * A revision that, whatever window is asked for, served `answers` in the minute ending at its end. A
   * predicate for its name stands for a revision whose name a test cannot know (a deploy's candidate).
   */
  serving(r: ServingRevisions, answers: readonly Answers[]): void
  /** Answers every list request with 403 PERMISSION_DENIED, as for a caller without monitoring.timeSeries.list. */
  deny(): void
  /** Holds each request this long before answering (a slow API, or one to cancel). */
  delay(ms: number): void
  /** At most this many series per page, whatever pageSize asks (the API may return fewer). */
  pageLimit(n: number): void
  /** Forgets every series, request and fault. */
  reset(): void
  close(): Promise<void>
}

/** Starts the fake; requests must carry `Authorization: Bearer <token>` (any token when `token` is not given). */
export async function startMonitoringFake(options: { token?: string } = {}): Promise<MonitoringFake> {
  const pj = loadProtos()
  const stored: JsonObject[] = []
  const live: Array<{ r: ServingRevisions; answers: readonly Answers[] }> = []
  const requests: MonitoringRequest[] = []
  let denied = false
  let delayMs = 0
  let pageLimit = Infinity

  function validSeries(json: JsonObject): JsonObject {
    const { value, violations } = pj.parse(TIME_SERIES, json, "timeSeries")
    if (violations.length > 0) throw new Error(`monitoring fake: seeded series is not a TimeSeries: ${violations.map((v) => v.description).join(" ")}`)
    return value
  }

  function list(project: string, query: URLSearchParams): JsonObject {
    const { value: q, violations } = pj.parse(LIST_REQUEST, queryObject(pj, query), "ListTimeSeriesRequest")
    if (violations.length > 0) throw new FakeError("INVALID_ARGUMENT", violations.map((v) => v.description).join(" "))
    const filter = typeof q["filter"] === "string" ? q["filter"] : ""
    if (filter === "") throw new FakeError("INVALID_ARGUMENT", "Field filter had an invalid value of \"\": filter is required.")
    const clauses = parseFilter(filter)
    if (clauses.filter((c) => c.key === "metric.type").length !== 1) throw new FakeError("INVALID_ARGUMENT", "The filter must name exactly one metric.type.")
    const interval = (q["interval"] ?? {}) as { startTime?: string; endTime?: string }
    if (!interval.endTime) throw new FakeError("INVALID_ARGUMENT", "Field interval.endTime is required.")
    const end = ms(interval.endTime)
    const start = interval.startTime ? ms(interval.startTime) : end
    if (start > end) throw new FakeError("INVALID_ARGUMENT", "The start time must not be later than the end time.")
    const aggregation = (q["aggregation"] ?? {}) as Aggregation
    checkAggregation(aggregation)

    // A revision named by a predicate serves under the name the filter asks for, if it matches.
    const asked = clauses.find((c) => c.key === "resource.label.revision_name")?.value
    const named = (r: ServingRevisions): RevisionResource[] =>
      typeof r.revision === "string" ? [{ ...r, revision: r.revision }] : asked !== undefined && r.revision(asked) ? [{ ...r, revision: asked }] : []
    const now = [...stored, ...live.flatMap((l) => named(l.r).flatMap((r) => revisionSeries(r, l.answers, new Date(end)).map(validSeries)))]
    // The path's project owns the series; then every clause must hold.
    const matching = now.filter((s) => keyOf(s, "resource.label.project_id") === project && clauses.every((c) => keyOf(s, c.key) === c.value))
    const aligner = aggregation.perSeriesAligner ?? ALIGN_NONE
    const periodMs = aggregation.alignmentPeriod ? seconds(aggregation.alignmentPeriod) * 1000 : 0
    let series: JsonObject[] = matching.map((s) => {
      const points = (s["points"] as unknown as Point[]) ?? []
      const aligned = aligner === ALIGN_DELTA
        ? alignDelta(points, start, end, periodMs)
        : points.filter((p) => ms(p.interval.endTime) >= start && ms(p.interval.endTime) <= end)
      return { ...s, points: aligned as unknown as Json[] }
    }).filter((s) => s.points.length > 0)

    if ((aggregation.crossSeriesReducer ?? REDUCE_NONE) === REDUCE_SUM) {
      const fields = (aggregation.groupByFields ?? []).map((f) => f.replace(/\.labels?\./, ".label."))
      const groups = new Map<string, JsonObject[]>()
      for (const s of series) {
        const key = JSON.stringify(fields.map((f) => keyOf(s, f) ?? ""))
        groups.set(key, [...(groups.get(key) ?? []), s])
      }
      series = [...groups.values()].map((members) => {
        const first = members[0]!
        const kept = (where: "metric" | "resource") =>
          Object.fromEntries(fields.filter((f) => f.startsWith(`${where}.`)).map((f) => [f.split(".")[2]!, keyOf(first, f) ?? ""]))
        const byEnd = new Map<string, Point[]>()
        for (const p of members.flatMap((m) => (m["points"] ?? []) as unknown as Point[])) byEnd.set(p.interval.endTime, [...(byEnd.get(p.interval.endTime) ?? []), p])
        const points = [...byEnd.values()].map((ps) => ({ interval: ps[0]!.interval, value: addValues(ps.map((p) => p.value)) }))
        return {
          metric: { type: keyOf(first, "metric.type") ?? "", labels: kept("metric") },
          resource: { type: keyOf(first, "resource.type") ?? "", labels: kept("resource") },
          metricKind: first["metricKind"] ?? null,
          valueType: first["valueType"] ?? null,
          points: points as unknown as Json[],
        } as JsonObject
      })
    }
    if (q["view"] === 1) series = series.map(({ points: _, ...header }) => header)

    const size = Math.min(typeof q["pageSize"] === "number" && q["pageSize"] > 0 ? q["pageSize"] : 100_000, pageLimit)
    const from = q["pageToken"] ? Number(q["pageToken"]) : 0
    if (!Number.isInteger(from) || from < 0) throw new FakeError("INVALID_ARGUMENT", `page_token '${String(q["pageToken"])}' is not valid.`)
    const page = series.slice(from, from + size)
    const response: JsonObject = { timeSeries: page as unknown as Json[], ...(from + size < series.length ? { nextPageToken: String(from + size) } : {}) }
    const checked = pj.parse(LIST_RESPONSE, response, "response")
    if (checked.violations.length > 0) throw new Error(`monitoring fake bug: response is not a ListTimeSeriesResponse: ${checked.violations.map((v) => v.description).join(" ")}`)
    return checked.value
  }

  function send(res: http.ServerResponse, status: StatusName, message: string): void {
    res.writeHead(STATUS[status], { "content-type": "application/json; charset=UTF-8" })
    res.end(JSON.stringify({ error: { code: STATUS[status], message, status } }))
  }

  const server = http.createServer((req, res) => {
    req.resume()
    req.on("end", () => {
      void (async () => {
        const url = new URL(req.url ?? "/", "http://fake")
        const query: Record<string, string[]> = {}
        for (const [k, v] of url.searchParams) (query[k] ??= []).push(v)
        requests.push({ at: Date.now(), path: url.pathname, query, authorization: req.headers.authorization })
        if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs))
        if (res.destroyed) return
        const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? "")?.[1]
        if (!bearer || (options.token !== undefined && bearer !== options.token)) {
          send(res, "UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.")
          return
        }
        const m = /^\/v3\/projects\/([^/]+)\/timeSeries$/.exec(url.pathname)
        if (!m || req.method !== "GET") {
          send(res, "NOT_FOUND", `The monitoring fake answers only GET /v3/projects/*/timeSeries, not ${req.method} ${url.pathname}.`)
          return
        }
        if (denied) {
          send(res, "PERMISSION_DENIED", "Permission monitoring.timeSeries.list denied (or the resource may not exist).")
          return
        }
        try {
          const enumsAsInts = (url.searchParams.get("$alt") ?? "").includes("enum-encoding=int")
          const body = pj.render(LIST_RESPONSE, list(m[1]!, url.searchParams), enumsAsInts)
          res.writeHead(200, { "content-type": "application/json; charset=UTF-8" })
          res.end(JSON.stringify(body))
        } catch (err) {
          if (err instanceof FakeError) send(res, err.status, err.message)
          else send(res, "INTERNAL", `monitoring fake bug: ${(err as Error).stack ?? String(err)}`)
        }
      })()
    })
  })
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done))
  const port = (server.address() as AddressInfo).port

  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    seed(series) {
      // One series per metric and resource identity, as Cloud Monitoring keeps them: later points join it.
      const identity = (s: JsonObject) => JSON.stringify([s["metric"], s["resource"]])
      for (const s of series.map(validSeries)) {
        const same = stored.find((t) => identity(t) === identity(s))
        if (same) same["points"] = [...((same["points"] as Json[] | undefined) ?? []), ...((s["points"] as Json[] | undefined) ?? [])]
        else stored.push(s)
      }
    },
    serving(r, answers) {
      revisionSeries({ ...r, revision: "checked-revision" }, answers, new Date()).forEach(validSeries)
      live.push({ r, answers })
    },
    deny() {
      denied = true
    },
    delay(ms) {
      delayMs = ms
    },
    pageLimit(n) {
      pageLimit = n
    },
    reset() {
      stored.length = 0
      live.length = 0
      requests.length = 0
      denied = false
      delayMs = 0
      pageLimit = Infinity
    },
    async close() {
      await new Promise<void>((done) => {
        server.closeAllConnections()
        server.close(() => done())
      })
    },
  }
}
