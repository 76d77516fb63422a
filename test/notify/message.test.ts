// The facts every channel shows and the one-line summary, on their own.
import { describe, expect, it } from "vitest"
import { facts, summaryLine } from "../../dagger/src/notify/message.js"
import { diagnosedRun, failedRun, succeededRun } from "./runs.js"

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

  it("a failed analysis is named with its figure, and the first three diagnostics by source and title", () => {
    const f = facts(diagnosedRun())
    expect(f.failingFigure).toBe("canary 10%: error rate 5.0 % > 1.0 % (10 of 200 requests failed)")
    expect(f.diagnostics).toEqual([
      "cloud-run: revision portfolio-00043-kex: Ready CONDITION_FAILED (HealthCheckContainerError)",
      expect.stringMatching(/^health: last 5 responses of /),
      "terraform: google_cloud_run_v2_service.portfolio: Error 403",
    ])
    expect(f.moreDiagnostics).toBe(2)
    expect(summaryLine(diagnosedRun())).toContain("; failing figure: canary 10%: error rate 5.0 % > 1.0 %")
  })

  it("a run without analysis or diagnostics names neither", () => {
    const f = facts(failedRun())
    expect(f).toMatchObject({ diagnostics: [], moreDiagnostics: 0 })
    expect(f.failingFigure).toBeUndefined()
    expect(summaryLine(failedRun())).not.toContain("figure")
  })

  it("diagnostic titles are one line and cut", () => {
    const run = diagnosedRun()
    run.diagnostics = [{ source: "ecs", title: `line one\nline two ${"x".repeat(500)}`, lines: [] }]
    const [title] = facts(run).diagnostics
    expect(title).toMatch(/^ecs: line one line two x+…$/)
    expect(title!.length).toBe(150)
  })
})
