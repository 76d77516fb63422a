// The generic JSON webhook body: the whole run in plain JSON under a named schema.
import { describe, expect, it } from "vitest"
import { webhookPayload, WEBHOOK_SCHEMA } from "../../dagger/src/notify/webhook.js"
import { boundDiagnostics, DIAGNOSTIC_LIMITS } from "../../dagger/src/report/diagnostics.js"
import { diagnosedRun, failedRun, hugeRun, succeededRun } from "./runs.js"

describe("the generic JSON webhook payload", () => {
  it("the generic payload is the whole story in plain JSON", () => {
    const p = webhookPayload(succeededRun())
    expect(p).toMatchObject({ verdict: "succeeded", succeeded: true, failingStep: null, rollback: null, durationMs: 545_000 })
    expect(p.text).toBe("✅ Staging deploy succeeded: 9b1e4c7a2d5f (version 2.4.0)")
  })

  it("a failed run carries its failing step, detail, rollback and warnings uncut", () => {
    const run = failedRun()
    const p = webhookPayload(run)
    expect(p).toMatchObject({
      schema: WEBHOOK_SCHEMA,
      verdict: "rolled-back",
      succeeded: false,
      failingStep: "health check",
      failingDetail: run.steps[1]!.detail,
      rollback: run.rollback,
      warnings: run.warnings,
    })
    // Copies, so a later change to the run does not rewrite what was sent.
    expect(p.warnings).not.toBe(run.warnings)
    expect(p.urls).not.toBe(run.urls)
  })

  it("carries the failing figure, every judgement and the diagnostics bounded as the run report's JSON", () => {
    const run = diagnosedRun()
    const p = webhookPayload(run)
    expect(p.failingFigure).toBe("canary 10%: error rate 5.0 % > 1.0 % (10 of 200 requests failed)")
    expect(p.analysis).toEqual(run.analysis)
    expect(p.analysis).not.toBe(run.analysis)
    expect(p.diagnostics).toEqual(run.diagnostics)
    const huge = webhookPayload(hugeRun())
    expect(huge.diagnostics).toEqual(boundDiagnostics(hugeRun().diagnostics))
    expect(huge.diagnostics).toHaveLength(DIAGNOSTIC_LIMITS.diagnostics + 1)
    expect(webhookPayload(succeededRun())).toMatchObject({ failingFigure: null, analysis: [], diagnostics: [] })
  })
})
