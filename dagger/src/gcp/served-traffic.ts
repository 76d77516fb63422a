// What Cloud Run actually served for one revision over a window (a canary's pause), read from Cloud
// Monitoring: `run.googleapis.com/request_count` summed per response_code_class (5xx are errors) and
// `run.googleapis.com/request_latencies` (a distribution, percentiles from its buckets: distribution.ts).
//
// What the figures can and cannot say:
// - Cloud Run samples these metrics once a minute and they become visible up to about 3 minutes later,
//   and the API aligns on periods of at least 60 s. So a reading covers the last max(60 s, window)
//   ending at `to`, and a short pause often has nothing yet: that is "no signal", never a pass.
// - An API error (permission, quota, a slow answer) is "no signal" with the reason, never a failed
//   step by itself: the metrics are a second opinion beside the synthetic burst. Only the step's own
//   signal rejects, with its reason, as every port method does.
//
// @google-cloud/monitoring is loaded on first use only (it shares google-gax with @google-cloud/run).
import type { protos } from "#google-cloud/monitoring"
import type { TrafficFigures } from "../report/run-record.js"
import { firstLine, formatDuration } from "../shared/text.js"
import { authOptions, type CloudRunConnection, endpointOptions } from "./connect.js"
import { int64, mergeBuckets, readBuckets, bucketPercentile, type Buckets } from "./distribution.js"
import { CODE_NAMES, codeOf } from "./errors.js"
import { abortable } from "./operations.js"

type ListRequest = protos.google.monitoring.v3.IListTimeSeriesRequest
type TimeSeries = protos.google.monitoring.v3.ITimeSeries

/** The one call this module makes to Cloud Monitoring (a v3 MetricServiceClient has it). */
export interface TimeSeriesLister {
  listTimeSeries(
    request: ListRequest,
    options: { autoPaginate: false; timeout: number; signal: AbortSignal },
  ): Promise<[TimeSeries[], ListRequest | null, unknown]>
}

export interface MonitoringClient extends TimeSeriesLister {
  close(): Promise<void>
}

export interface ServedTrafficContext {
  client: TimeSeriesLister
  /** The project the service runs in (production.gcp.project). */
  project: string
  /** Its region (production.gcp.region): the revision's `location` label. */
  region: string
  /** Longest a reading may take, ms (all pages, both metrics). Default 20 000: a slow API is no signal, not a stuck step. */
  timeoutMs?: number
}

export interface ServedTrafficQuery {
  revision: string
  service: string
  from: Date
  to: Date
}

/** The figures Cloud Run served, or why there are none. */
export type ServedTraffic = TrafficFigures | { noSignal: string }

/** The role that may read the metrics, named wherever a refusal is reported. */
export const MONITORING_ROLE = "roles/monitoring.viewer"

const REQUEST_COUNT = "run.googleapis.com/request_count"
const REQUEST_LATENCIES = "run.googleapis.com/request_latencies"
/** Cloud Monitoring refuses shorter alignment periods. */
const MIN_ALIGNMENT_S = 60
/** The longest one reading takes by default: a step that reads served traffic is given this much more time. */
export const SERVED_TRAFFIC_TIMEOUT_MS = 20_000
/** Grouped by class there are at most a handful of series; more pages than this is a runaway. */
const MAX_PAGES = 10

/** Connects a Cloud Monitoring client the way Cloud Run's are (same endpoint setting and credentials). */
export async function connectMonitoring(connection: Omit<CloudRunConnection, "createClients">): Promise<MonitoringClient> {
  const options = { ...endpointOptions(connection.endpoint), ...(await authOptions(connection)) }
  const { v3: monitoring } = await import("#google-cloud/monitoring")
  return new monitoring.MetricServiceClient(options)
}

/** The monitoring filter for one metric of one Cloud Run revision (values quoted, as the filter language wants). */
export function revisionFilter(metric: string, target: { project: string; region: string; service: string; revision: string }): string {
  const q = (s: string) => JSON.stringify(s)
  return [
    `metric.type = ${q(metric)}`,
    `resource.type = "cloud_run_revision"`,
    `resource.labels.project_id = ${q(target.project)}`,
    `resource.labels.location = ${q(target.region)}`,
    `resource.labels.service_name = ${q(target.service)}`,
    `resource.labels.revision_name = ${q(target.revision)}`,
  ].join(" AND ")
}

/** The alignment period covering the window: whole seconds, never under Cloud Monitoring's 60 s. */
export function alignmentSeconds(from: Date, to: Date): number {
  return Math.max(MIN_ALIGNMENT_S, Math.ceil((to.getTime() - from.getTime()) / 1000))
}

function timestamp(d: Date): { seconds: number; nanos: number } {
  const ms = d.getTime()
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 }
}

/**
 * The list requests: each metric aligned to one DELTA per period, summed across the revision's series
 * (request_count kept apart by response_code_class).
 */
export function servedTrafficRequests(ctx: Pick<ServedTrafficContext, "project" | "region">, query: ServedTrafficQuery): { counts: ListRequest; latencies: ListRequest } {
  const target = { project: ctx.project, region: ctx.region, service: query.service, revision: query.revision }
  const common = {
    name: `projects/${ctx.project}`,
    interval: { startTime: timestamp(query.from), endTime: timestamp(query.to) },
    view: "FULL" as const,
  }
  const aggregation = (groupByFields: string[]) => ({
    alignmentPeriod: { seconds: alignmentSeconds(query.from, query.to) },
    perSeriesAligner: "ALIGN_DELTA" as const,
    crossSeriesReducer: "REDUCE_SUM" as const,
    groupByFields,
  })
  return {
    counts: { ...common, filter: revisionFilter(REQUEST_COUNT, target), aggregation: aggregation(["metric.label.response_code_class"]) },
    latencies: { ...common, filter: revisionFilter(REQUEST_LATENCIES, target), aggregation: aggregation([]) },
  }
}

/**
 * Figures from the two metrics' series (pure): requests and 5xx from request_count, p50/p95 from the
 * summed latency distribution (rounded to 0.1 ms, as the synthetic figures are). No request is no signal.
 */
export function servedFigures(counts: readonly TimeSeries[], latencies: readonly TimeSeries[], window: string): ServedTraffic {
  let requests = 0
  let errors = 0
  for (const series of counts) {
    const errorClass = series.metric?.labels?.["response_code_class"] === "5xx"
    for (const point of series.points ?? []) {
      const n = int64(point.value?.int64Value)
      requests += n
      if (errorClass) errors += n
    }
  }
  if (requests === 0) {
    return {
      noSignal:
        `Cloud Monitoring reports no request served ${window} (${counts.length === 0 ? "no request_count series" : "request_count is 0"}; ` +
        "Cloud Run reports once a minute and the figures appear up to 3 minutes later, so a short pause often has none)",
    }
  }
  const figures: TrafficFigures = { requests, errors, errorRate: errors / requests }
  let buckets: Buckets | undefined
  try {
    const parts = latencies.flatMap((s) => (s.points ?? []).flatMap((p) => (p.value?.distributionValue ? [readBuckets(p.value.distributionValue)] : [])))
    buckets = mergeBuckets(parts)
  } catch {
    // Unreadable buckets (never seen from one metric) leave the latency unmeasured; the error rate
    // still counts, and the judge says latency was not measured.
    buckets = undefined
  }
  const round = (ms: number | undefined) => (ms === undefined ? undefined : Math.round(ms * 10) / 10)
  const p50Ms = buckets ? round(bucketPercentile(buckets, 0.5)) : undefined
  const p95Ms = buckets ? round(bucketPercentile(buckets, 0.95)) : undefined
  return { ...figures, ...(p50Ms === undefined ? {} : { p50Ms }), ...(p95Ms === undefined ? {} : { p95Ms }) }
}

/** Why a reading failed, for the report: what was refused, by which code, and what to do. */
export function describeMonitoringError(err: unknown, project: string): string {
  const code = codeOf(err)
  const name = code !== undefined ? `${CODE_NAMES[code] ?? code} (code ${code})` : "an unexpected error"
  const said = firstLine(err)
  const hint =
    code === 7
      ? ` Grant the deploy service account ${MONITORING_ROLE} on project ${project}, or turn the reading off with analysis.servedTraffic.enabled: false.`
      : code === 16
        ? " The GCP credentials were refused (expired token or disabled key)."
        : code === 8
          ? " A Cloud Monitoring quota was hit; the next run reads again."
          : ""
  return `Cloud Monitoring refused to list the request metrics of project ${project}: ${name}: ${said}.${hint}`
}

function clock(d: Date): string {
  return d.toISOString().slice(11, 19)
}

/** Every page of one list request; stops at the signal. */
async function listAll(client: TimeSeriesLister, request: ListRequest, timeoutMs: number, signal: AbortSignal): Promise<TimeSeries[]> {
  const series: TimeSeries[] = []
  let next: ListRequest | null = request
  for (let page = 0; next; page++) {
    if (page === MAX_PAGES) throw new Error(`more than ${MAX_PAGES} pages of time series for one revision; the filter is too wide`)
    signal.throwIfAborted()
    // The client cancels its request when the signal aborts; the race makes the rejection immediate.
    const [found, following]: [TimeSeries[], ListRequest | null, unknown] = await abortable(
      client.listTimeSeries(next, { autoPaginate: false, timeout: timeoutMs, signal }),
      signal,
    )
    series.push(...found)
    next = following?.pageToken ? following : null
  }
  return series
}

/**
 * What Cloud Run served for `query.revision` of `query.service` from `from` to `to`. Never throws for
 * the API or for missing data (both are `{ noSignal }`, with the reason); rejects with `signal.reason`
 * once the signal aborts, and sends nothing after that.
 */
export async function readServedTraffic(ctx: ServedTrafficContext, query: ServedTrafficQuery, signal: AbortSignal): Promise<ServedTraffic> {
  signal.throwIfAborted()
  if (!(query.to.getTime() > query.from.getTime())) {
    return { noSignal: `the window ${query.from.toISOString()} – ${query.to.toISOString()} is empty` }
  }
  const timeoutMs = ctx.timeoutMs ?? SERVED_TRAFFIC_TIMEOUT_MS
  const timer = AbortSignal.timeout(timeoutMs)
  const both = AbortSignal.any([signal, timer])
  const { counts, latencies } = servedTrafficRequests(ctx, query)
  const window = `by revision ${query.revision} between ${clock(query.from)} and ${clock(query.to)} UTC (aligned on ${alignmentSeconds(query.from, query.to)} s)`
  try {
    const [countSeries, latencySeries] = await Promise.all([
      listAll(ctx.client, counts, timeoutMs, both),
      listAll(ctx.client, latencies, timeoutMs, both),
    ])
    return servedFigures(countSeries, latencySeries, window)
  } catch (err) {
    if (signal.aborted) throw signal.reason
    if (timer.aborted) return { noSignal: `Cloud Monitoring did not answer within ${formatDuration(timeoutMs)}` }
    return { noSignal: describeMonitoringError(err, ctx.project) }
  }
}
