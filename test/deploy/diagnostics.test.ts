// deploy/diagnostics.ts: gathering after a failure — each source under its own budget, failures become one
// line, the run's cancellation honoured, the verdict untouched.
import { describe, expect, it } from "vitest"
import { gatherDiagnostics, type DiagnosticSource } from "../../dagger/src/deploy/diagnostics.js"
import { finishRun, startRun, type Diagnostic, type RunRecord } from "../../dagger/src/report/run-record.js"

const failedRun = (): RunRecord => {
  const run = startRun({ environment: "production", commit: "0123456789abcdef0123456789abcdef01234567" })
  run.steps.push({ name: "candidate revision", startedAt: run.startedAt, endedAt: run.startedAt, outcome: "failed", detail: "not ready" })
  return run
}

const revision: Diagnostic = { source: "cloud-run", title: "revision portfolio-00002-abc is not ready", lines: ["Ready: FAILED (HealthCheckContainerError)"] }
const events: Diagnostic = { source: "ecs", title: "service events", lines: ["(service portfolio) has started 1 tasks"] }

/** A source that answers only when its signal aborts, and records the signal it got (live when it started). */
function hanging(seen: AbortSignal[]): DiagnosticSource {
  return (signal) => {
    expect(signal.aborted).toBe(false)
    seen.push(signal)
    return new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason), { once: true }))
  }
}

describe("gatherDiagnostics", () => {
  it("appends every source's diagnostics in the order of the sources, after those already recorded", async () => {
    const run = failedRun()
    run.diagnostics = [{ source: "health", title: "earlier", lines: [] }]
    const slowFirst: DiagnosticSource = () => new Promise((resolve) => setTimeout(() => resolve([revision]), 30))
    const added = await gatherDiagnostics(run, { "cloud-run": slowFirst, ecs: async () => [events], skipped: undefined })
    expect(added).toEqual([revision, events])
    expect(run.diagnostics.map((d) => d.title)).toEqual(["earlier", revision.title, events.title])
  })

  it("leaves a run without diagnostics as it was when no source found anything", async () => {
    const run = failedRun()
    expect(await gatherDiagnostics(run, { "cloud-run": async () => [] })).toEqual([])
    expect(run).not.toHaveProperty("diagnostics")
  })

  it("a source that throws, synchronously or not, becomes one line naming the source and the error; the others still count", async () => {
    const run = failedRun()
    const added = await gatherDiagnostics(run, {
      "cloud-run": async () => {
        throw new Error("PERMISSION_DENIED: run.revisions.get\nmore detail")
      },
      terraform: () => {
        throw new Error("bad state")
      },
      ecs: async () => [events],
    })
    expect(added).toEqual([
      { source: "cloud-run", title: "cloud-run diagnostics could not be gathered: PERMISSION_DENIED: run.revisions.get", lines: [] },
      { source: "terraform", title: "terraform diagnostics could not be gathered: bad state", lines: [] },
      events,
    ])
  })

  it("gives each source a fresh signal of its own budget, aborts it when spent and goes on without it", async () => {
    const run = failedRun()
    const seen: AbortSignal[] = []
    const started = Date.now()
    const added = await gatherDiagnostics(run, { "cloud-run": hanging(seen), ecs: async () => [events] }, { timeoutMs: 80 })
    expect(Date.now() - started).toBeLessThan(2_000)
    expect(added).toEqual([{ source: "cloud-run", title: "cloud-run diagnostics not gathered within 80 ms; the report goes on without them", lines: [] }, events])
    expect(seen).toHaveLength(1)
    expect(seen[0]!.aborted).toBe(true)
  })

  it("stops waiting at the budget even for a source that ignores its signal", async () => {
    const run = failedRun()
    let answer: ((d: Diagnostic[]) => void) | undefined
    const deaf: DiagnosticSource = () => new Promise((resolve) => (answer = resolve))
    const added = await gatherDiagnostics(run, { "cloud-run": deaf }, { timeoutMs: 50 })
    expect(added[0]!.title).toContain("not gathered within 50 ms")
    // An answer after the budget changes nothing.
    answer!([revision])
    await new Promise((r) => setTimeout(r, 10))
    expect(run.diagnostics).toHaveLength(1)
  })

  it("runs the sources side by side, so the whole gathering takes one budget, not one per source", async () => {
    const run = failedRun()
    const seen: AbortSignal[] = []
    const started = Date.now()
    await gatherDiagnostics(run, { a: hanging(seen), b: hanging(seen), c: hanging(seen) }, { timeoutMs: 300 })
    expect(Date.now() - started).toBeLessThan(850)
    expect(run.diagnostics).toHaveLength(3)
  })

  it("starts no source once the run was cancelled, and says so", async () => {
    const run = failedRun()
    const cancel = new AbortController()
    cancel.abort(new Error("SIGTERM received"))
    let called = false
    const added = await gatherDiagnostics(run, { "cloud-run": async () => ((called = true), [revision]) }, { signal: cancel.signal })
    expect(called).toBe(false)
    expect(added).toEqual([{ source: "cloud-run", title: "cloud-run diagnostics not gathered: the run was cancelled (SIGTERM received)", lines: [] }])
  })

  it("a cancellation during gathering aborts the running sources and ends the gathering at once", async () => {
    const run = failedRun()
    const cancel = new AbortController()
    const seen: AbortSignal[] = []
    setTimeout(() => cancel.abort(new Error("interrupted (SIGINT)")), 40)
    const started = Date.now()
    const added = await gatherDiagnostics(run, { "cloud-run": hanging(seen) }, { signal: cancel.signal, timeoutMs: 10_000 })
    expect(Date.now() - started).toBeLessThan(2_000)
    expect(seen[0]!.aborted).toBe(true)
    expect(added[0]!.title).toBe("cloud-run diagnostics not gathered: the run was cancelled (interrupted (SIGINT))")
  })

  it("never changes the verdict: the failed run stays failed, a clean run stays clean", async () => {
    const run = failedRun()
    await gatherDiagnostics(run, { "cloud-run": async () => [revision], x: async () => Promise.reject(new Error("no")) })
    expect(finishRun(run).verdict).toBe("failed")
    const clean = startRun({ environment: "production", commit: "0123456789abcdef0123456789abcdef01234567" })
    await gatherDiagnostics(clean, { "cloud-run": async () => [revision] })
    expect(finishRun(clean).verdict).toBe("succeeded")
  })
})
