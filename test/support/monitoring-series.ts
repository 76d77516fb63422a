// The series Cloud Run writes to Cloud Monitoring for a revision (request_count and request_latencies
// per response code on the cloud_run_revision resource), in proto3 JSON, for the monitoring fake to
// hold: what a test says a revision served, in the shape the API stores it.
import type { JsonObject } from "./proto-json.js"

/** A Cloud Run revision as the `cloud_run_revision` resource names it. */
export interface RevisionResource {
  project: string
  region: string
  service: string
  revision: string
}

/** A revision by name, or every revision whose name passes a test. */
export type ServingRevisions = Omit<RevisionResource, "revision"> & { revision: string | ((name: string) => boolean) }

/** Requests a revision answered with one status code, and how long each took. */
export interface Answers {
  code: number
  count: number
  /** One latency for all, or one per request. */
  latencyMs: number | number[]
}

/** Bucket options of the seeded latency distributions (exponential, as Cloud Run's are). */
export const LATENCY_BUCKETS = { exponentialBuckets: { numFiniteBuckets: 64, growthFactor: 1.2, scale: 1 } }

function bucketIndex(ms: number): number {
  const { numFiniteBuckets: n, growthFactor: g, scale } = LATENCY_BUCKETS.exponentialBuckets
  if (ms < scale) return 0
  return Math.min(n + 1, Math.floor(Math.log(ms / scale) / Math.log(g)) + 1)
}

/** A google.api.Distribution (proto3 JSON) of the latencies. */
export function latencyDistribution(latencies: readonly number[]): JsonObject {
  const counts = Array<number>(LATENCY_BUCKETS.exponentialBuckets.numFiniteBuckets + 2).fill(0)
  for (const ms of latencies) counts[bucketIndex(ms)]! += 1
  const mean = latencies.reduce((a, b) => a + b, 0) / Math.max(1, latencies.length)
  return {
    count: String(latencies.length),
    mean,
    sumOfSquaredDeviation: latencies.reduce((s, v) => s + (v - mean) ** 2, 0),
    ...(latencies.length > 0 ? { range: { min: Math.min(...latencies), max: Math.max(...latencies) } } : {}),
    bucketOptions: LATENCY_BUCKETS,
    bucketCounts: counts.map(String),
  }
}

function codeLabels(code: number): Record<string, string> {
  return { response_code: String(code), response_code_class: `${String(code)[0]}xx` }
}

/**
 * The series Cloud Run writes for a revision that answered `answers` in one sample ending at `end`
 * (request_count and request_latencies, one series per response code), in proto3 JSON.
 */
export function revisionSeries(r: RevisionResource, answers: readonly Answers[], end: Date, sampleSeconds = 60): JsonObject[] {
  const resource = {
    type: "cloud_run_revision",
    labels: { project_id: r.project, location: r.region, service_name: r.service, revision_name: r.revision, configuration_name: r.service },
  }
  const interval = { startTime: new Date(end.getTime() - sampleSeconds * 1000).toISOString(), endTime: end.toISOString() }
  return answers.flatMap((a) => {
    const latencies = Array.isArray(a.latencyMs) ? a.latencyMs : Array<number>(a.count).fill(a.latencyMs)
    if (latencies.length !== a.count) throw new Error(`seed: ${latencies.length} latencies for ${a.count} requests`)
    return [
      {
        metric: { type: "run.googleapis.com/request_count", labels: codeLabels(a.code) },
        resource,
        metricKind: "DELTA",
        valueType: "INT64",
        unit: "1",
        points: [{ interval, value: { int64Value: String(a.count) } }],
      },
      {
        metric: { type: "run.googleapis.com/request_latencies", labels: codeLabels(a.code) },
        resource,
        metricKind: "DELTA",
        valueType: "DISTRIBUTION",
        unit: "ms",
        points: [{ interval, value: { distributionValue: latencyDistribution(latencies) } }],
      },
    ]
  })
}
