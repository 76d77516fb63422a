// deploy/step-runner.ts: the one step runner — timing, timeouts, cancellation that really stops the work.
import { describe, expect, it } from "vitest"
import { startRun, type Clock, type RunRecord } from "../../dagger/src/report/run-record.js"
import { StepTimeoutError } from "../../dagger/src/shared/deadline.js"
import { recordStep, RunCancelledError } from "../../dagger/src/deploy/step-runner.js"

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

describe("recordStep", () => {
  it("records a successful step with its exact start and end and returns its value", async () => {
    const clock = manualClock()
    const run = newRun(clock)
    const value = await recordStep(
      run,
      "build",
      async (ctx) => {
        clock.advance(1500)
        ctx.note("image built")
        return 42
      },
      { timeoutMs: 10_000, clock },
    )
    expect(value).toBe(42)
    expect(run.steps).toEqual([
      {
        name: "build",
        startedAt: "2026-11-25T10:00:00.000Z",
        endedAt: "2026-11-25T10:00:01.500Z",
        outcome: "succeeded",
        detail: "image built",
      },
    ])
  })

  it("records a failure with the error's first line and rethrows the same error", async () => {
    const clock = manualClock()
    const run = newRun(clock)
    const boom = new Error("terraform apply failed (exit 1)\n\nError: something long\n  on main.tf line 3")
    await expect(
      recordStep(
        run,
        "terraform apply",
        async () => {
          clock.advance(200)
          throw boom
        },
        { timeoutMs: 10_000, clock },
      ),
    ).rejects.toBe(boom)
    expect(run.steps[0]).toMatchObject({ name: "terraform apply", outcome: "failed", detail: "terraform apply failed (exit 1) Error: something long" })
    expect(run.steps[0]!.endedAt).toBe("2026-11-25T10:00:00.200Z")
  })

  it("a synchronous throw inside the step is recorded the same way", async () => {
    const run = newRun(manualClock())
    await expect(
      recordStep(run, "sync", () => {
        throw new Error("bad input")
      }, { timeoutMs: 1000 }),
    ).rejects.toThrow("bad input")
    expect(run.steps[0]!.outcome).toBe("failed")
  })

  it("warn() marks the step as a warning without failing it, and note() does not overwrite the warning", async () => {
    const run = newRun(manualClock())
    await recordStep(
      run,
      "stop AWS staging",
      async (ctx) => {
        ctx.warn("AccessDenied: staging keeps running")
        ctx.note("ignored")
      },
      { timeoutMs: 1000 },
    )
    expect(run.steps[0]).toMatchObject({ outcome: "warning", detail: "AccessDenied: staging keeps running" })
  })

  it("times out a step that never settles: aborts its signal, waits its grace, records the failure, throws StepTimeoutError", async () => {
    const run = newRun(manualClock())
    let seen: AbortSignal | undefined
    const err = await recordStep(
      run,
      "rollout",
      (ctx) => {
        seen = ctx.signal
        return new Promise<never>(() => undefined)
      },
      { timeoutMs: 30, cancelGraceMs: 50 },
    ).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(StepTimeoutError)
    expect((err as StepTimeoutError).message).toMatch(/step 'rollout' did not finish within 30 ms/)
    expect(seen?.aborted).toBe(true)
    expect(seen?.reason).toBe(err)
    expect(run.steps[0]).toMatchObject({ name: "rollout", outcome: "failed" })
    expect(run.steps[0]!.detail).toMatch(/did not finish within 30 ms.*Its work had not stopped/)
  })

  it("a timed-out step's work has stopped before the step is over: nothing it started runs after the verdict", async () => {
    const run = newRun(manualClock())
    const events: string[] = []
    const err = await recordStep(
      run,
      "rollout",
      async (ctx) => {
        // Like a port call: it notices the abort only when its in-flight request returns (here 40 ms later).
        await new Promise((resolve) => setTimeout(resolve, 60))
        if (ctx.signal.aborted) {
          events.push("work saw the abort and sent nothing more")
          throw ctx.signal.reason
        }
        events.push("UpdateService after the timeout")
      },
      { timeoutMs: 20 },
    ).catch((e: unknown) => e)
    events.push("step over")
    expect(err).toBeInstanceOf(StepTimeoutError)
    expect(events).toEqual(["work saw the abort and sent nothing more", "step over"])
    expect(run.steps[0]!.detail).not.toMatch(/had not stopped/)
  })

  it("the run's signal cancels a running step (Ctrl-C / run timeout)", async () => {
    const run = newRun(manualClock())
    const runAbort = new AbortController()
    const pending = recordStep(run, "health check", (ctx) => new Promise<never>((_, reject) => {
      ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason))
    }), { timeoutMs: 60_000, signal: runAbort.signal })
    runAbort.abort(new Error("run timeout after 60 min"))
    const err = await pending.catch((e: unknown) => e)
    expect(err).toBeInstanceOf(RunCancelledError)
    expect((err as Error).message).toContain("run timeout after 60 min")
    expect(run.steps[0]!.outcome).toBe("failed")
  })

  it("a run already cancelled starts no new step, but records where it stopped", async () => {
    const run = newRun(manualClock())
    const runAbort = new AbortController()
    runAbort.abort("user pressed Ctrl-C")
    let ran = false
    const step = recordStep(run, "publish", async () => { ran = true }, { timeoutMs: 1000, signal: runAbort.signal })
    await expect(step).rejects.toBeInstanceOf(RunCancelledError)
    expect(ran).toBe(false)
    expect(run.steps[0]).toMatchObject({ name: "publish", outcome: "failed" })
    expect(run.steps[0]!.detail).toContain("user pressed Ctrl-C")
  })

  it("rejects a non-positive timeout before running anything", async () => {
    const run = newRun(manualClock())
    let ran = false
    await expect(recordStep(run, "x", async () => { ran = true }, { timeoutMs: 0 })).rejects.toThrow(/timeoutMs must be a positive/)
    expect(ran).toBe(false)
    expect(run.steps).toEqual([])
  })
})

