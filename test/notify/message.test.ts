// The facts every channel shows and the one-line summary, on their own.
import { describe, expect, it } from "vitest"
import { facts, summaryLine } from "../../dagger/src/notify/message.js"
import { failedRun, succeededRun } from "./runs.js"

describe("what every message says", () => {
  it("the summary names verdict, short commit, version, failing step and rollback on one line", () => {
    expect(summaryLine(failedRun())).toBe(
      "↩️ Staging deploy rolled back: 9b1e4c7a2d5f (version 2.4.0); failing step: health check; rollback: succeeded — restored portfolio-prod-task:41",
    )
    const run = failedRun()
    run.rollback = { attempted: true, outcome: "failed", detail: "ECS said:\n  service draining\n" }
    expect(summaryLine(run)).toContain("rollback: failed — ECS said: service draining")
    expect(summaryLine(run)).not.toContain("\n")
  })

  it("only http(s) URLs become links; a rollback never attempted says so", () => {
    const run = failedRun()
    run.urls = { service: "javascript:alert(1)", canary: "https://tag---svc.a.run.app", run: "ftp://ci/1" }
    run.rollback = { attempted: false, outcome: "failed" }
    const f = facts(run)
    expect(f.links).toEqual([{ label: "Canary", url: "https://tag---svc.a.run.app" }])
    expect(f.rollback).toBe("not attempted")
    expect(f.failingDetail).toBe(run.steps[1]!.detail)
  })

  it("a run without an end takes its duration from the last step", () => {
    const run = succeededRun()
    delete run.endedAt
    expect(facts(run).duration).toBe("9 min 00 s")
  })
})
