// requireServedTraffic (dagger/src/analysis/served-traffic.ts): a canary step's served-traffic
// judgement over readings as the production port gives them; one row per outcome.
import { describe, expect, it } from "vitest"
import { requireServedTraffic, ServedTrafficError, type ServedTrafficStepInput } from "../../dagger/src/analysis/served-traffic.js"
import type { ServedTraffic } from "../../dagger/src/gcp/served-traffic.js"
import { startRun } from "../../dagger/src/report/run-record.js"

const THRESHOLDS = { maxErrorRate: 0.01, maxP95Ratio: 1.5, p95SlackMs: 50 }
const FROM = new Date("2026-12-01T12:00:00Z")
const TO = new Date("2026-12-01T12:00:40Z")
const RUNNING = new AbortController().signal

const healthy: ServedTraffic = { requests: 200, errors: 0, errorRate: 0, p50Ms: 30, p95Ms: 40 }
const fivePercent: ServedTraffic = { requests: 200, errors: 10, errorRate: 0.05, p50Ms: 30, p95Ms: 40 }
const slow: ServedTraffic = { requests: 200, errors: 0, errorRate: 0, p50Ms: 250, p95Ms: 320 }
const quiet: ServedTraffic = { noSignal: "Cloud Monitoring reports no request served (no request_count series)" }
const denied: ServedTraffic = { noSignal: "PERMISSION_DENIED (code 7): Grant the deploy service account roles/monitoring.viewer" }

function input(readings: Record<string, ServedTraffic>, previous: string | null = "rev-old"): ServedTrafficStepInput & { asked: string[] } {
  const asked: string[] = []
  return {
    asked,
    run: startRun({ environment: "production", commit: "c".repeat(40), version: "1.1.0", urls: {} }, { now: () => FROM.getTime() }),
    step: "canary 10%",
    candidate: "rev-new",
    ...(previous ? { previous } : {}),
    from: FROM,
    to: TO,
    thresholds: THRESHOLDS,
    async read(revision, window) {
      expect(window).toEqual({ from: FROM, to: TO })
      asked.push(revision)
      return readings[revision] ?? quiet
    },
  }
}

describe("requireServedTraffic", () => {
  it.each<[string, Record<string, ServedTraffic>, string | null, "pass" | "no-signal", RegExp | undefined]>([
    ["healthy beside a healthy previous revision", { "rev-new": healthy, "rev-old": healthy }, "rev-old", "pass", undefined],
    ["healthy, the previous revision without figures", { "rev-new": healthy, "rev-old": quiet }, "rev-old", "pass", /error rate only: the previous revision rev-old has no figures \(Cloud Monitoring reports no request/],
    ["healthy at 100 % (no previous share)", { "rev-new": healthy }, null, "pass", /error rate only: the previous revision serves no share/],
    ["no data for the candidate", { "rev-new": quiet, "rev-old": healthy }, "rev-old", "no-signal", /^revision rev-new: Cloud Monitoring reports no request served/],
    ["the role is missing", { "rev-new": denied, "rev-old": denied }, "rev-old", "no-signal", /roles\/monitoring\.viewer/],
  ])("%s: recorded, the step goes on", async (_, readings, previous, verdict, reason) => {
    const i = input(readings, previous)
    const analysis = await requireServedTraffic(i, RUNNING)
    expect(analysis).toMatchObject({ step: "canary 10%", source: "served-traffic", verdict, thresholds: THRESHOLDS })
    if (reason) expect(analysis.reason).toMatch(reason)
    expect(i.run.analysis).toEqual([analysis])
    expect(i.asked.sort()).toEqual(previous ? ["rev-new", previous] : ["rev-new"])
  })

  it.each<[string, Record<string, ServedTraffic>, RegExp]>([
    ["5 % 5xx, even with no figures for the previous revision", { "rev-new": fivePercent }, /^served traffic \(Cloud Monitoring\) failed its analysis: error rate 5\.0 % > 1\.0 % \(10 of 200 requests failed\)$/],
    ["p95 8 × the previous revision's in the same window", { "rev-new": slow, "rev-old": healthy }, /p95 320 ms > 1\.5 × baseline 40 ms/],
  ])("%s fails the step naming the figure", async (_, readings, message) => {
    const i = input(readings)
    const err = await requireServedTraffic(i, RUNNING).then(() => undefined, (e: unknown) => e)
    expect(err).toBeInstanceOf(ServedTrafficError)
    expect((err as Error).message).toMatch(message)
    expect(i.run.analysis).toHaveLength(1)
    expect(i.run.analysis![0]).toMatchObject({ verdict: "fail", source: "served-traffic" })
  })

  it("an aborted reading rejects with the signal's reason and records nothing", async () => {
    const reason = new Error("step timed out")
    const i = { ...input({}), read: () => Promise.reject(reason) }
    await expect(requireServedTraffic(i, AbortSignal.abort(reason))).rejects.toBe(reason)
    expect(i.run.analysis ?? []).toEqual([])
  })
})
