import { describe, expect, it } from "vitest"
import { addWarning, decideVerdict, finishRun, skipStep, startRun, type Clock, type RunRecord } from "../../dagger/src/report/run-record.js"
import { firstLine, formatDuration } from "../../dagger/src/shared/text.js"

/** A clock that moves only when told to, so recorded instants are exact. */
function manualClock(startIso = "2026-11-25T10:00:00.000Z"): Clock & { advance(ms: number): void } {
  let t = Date.parse(startIso)
  return {
    now: () => t,
    advance(ms) {
      t += ms
    },
  }
}

const newRun = (clock: Clock): RunRecord => startRun({ environment: "staging", commit: "0123456789abcdef0123" }, clock)

describe("startRun", () => {
  it("starts a running record; version defaults to the short commit", () => {
    const clock = manualClock()
    const run = newRun(clock)
    expect(run).toMatchObject({
      schemaVersion: 1,
      environment: "staging",
      version: "0123456",
      verdict: "running",
      startedAt: "2026-11-25T10:00:00.000Z",
      steps: [],
      warnings: [],
    })
    expect(startRun({ environment: "production", commit: "abc", version: "1.2.3" }, clock).version).toBe("1.2.3")
  })
})

describe("verdict", () => {
  const step = (name: string, outcome: "succeeded" | "failed" | "skipped" | "warning") => ({
    name,
    outcome,
    startedAt: "2026-11-25T10:00:00.000Z",
    endedAt: "2026-11-25T10:00:01.000Z",
  })

  it.each([
    ["all succeeded", [step("a", "succeeded")], undefined, "succeeded", undefined],
    ["warnings and skips do not fail a run", [step("a", "warning"), step("b", "skipped")], undefined, "succeeded", undefined],
    ["a failure without rollback", [step("a", "succeeded"), step("health", "failed")], undefined, "failed", "health"],
    [
      "a verified rollback",
      [step("health", "failed"), step("rollback", "succeeded")],
      { attempted: true, outcome: "succeeded" as const },
      "rolled-back",
      "health",
    ],
    [
      "a rollback that failed",
      [step("canary", "failed"), step("rollback", "failed")],
      { attempted: true, outcome: "failed" as const },
      "failed",
      "canary",
    ],
    ["nothing to roll back to", [step("apply", "failed")], { attempted: false, outcome: "not-needed" as const }, "failed", "apply"],
  ])("%s", (_, steps, rollback, verdict, failingStep) => {
    expect(decideVerdict({ steps, rollback })).toEqual(failingStep ? { verdict, failingStep } : { verdict })
  })

  it("finishRun closes the record", () => {
    const clock = manualClock()
    const run = newRun(clock)
    skipStep(run, "stop AWS staging", "--skip-aws-stop given", clock)
    addWarning(run, "notify:slack", "not delivered")
    clock.advance(5000)
    finishRun(run, clock)
    expect(run).toMatchObject({ verdict: "succeeded", endedAt: "2026-11-25T10:00:05.000Z" })
    expect(run.failingStep).toBeUndefined()
    expect(run.steps[0]).toMatchObject({ outcome: "skipped", detail: "--skip-aws-stop given" })
    expect(run.warnings).toEqual([{ source: "notify:slack", message: "not delivered" }])
  })
})

describe("formatting helpers", () => {
  it.each([
    [850, "850 ms"],
    [12_340, "12.3 s"],
    [245_000, "4 min 05 s"],
    [3_720_000, "1 h 02 min"],
  ])("formatDuration(%d) = %s", (ms, text) => expect(formatDuration(ms)).toBe(text))

  it("firstLine keeps the first non-empty line, uncut unless a limit is given", () => {
    expect(firstLine(new Error("\n\nfirst\nsecond"))).toBe("first")
    expect(firstLine("x".repeat(400)).length).toBe(400)
    expect(firstLine("x".repeat(400), 300).length).toBe(300)
  })
})
