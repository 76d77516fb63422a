import { describe, expect, it } from "vitest"
import type { Verdict } from "../../dagger/src/aws/rollout-verdict.js"
import { getEventListeners } from "node:events"
import { DEFAULT_INTERVAL_MS, sleep, waitForVerdict } from "../../dagger/src/shared/wait.js"
import { virtualTime } from "../support/virtual-time.js"

/** An observation source that turns "done" after `pendingPolls` polls. */
function sequence(pendingPolls: number) {
  let n = 0
  return {
    observe: async () => ++n,
    judge: (poll: number): Verdict =>
      poll > pendingPolls ? { state: "success", detail: `done at poll ${poll}` } : { state: "pending", detail: `poll ${poll}` },
  }
}

describe("waitForVerdict", () => {
  it("returns the first non-pending verdict, with the polls and time it took", async () => {
    const time = virtualTime()
    const { observe, judge } = sequence(3)
    const result = await waitForVerdict(observe, judge, { budgetMs: 60_000, ...time, random: () => 1 })
    expect(result.verdict).toEqual({ state: "success", detail: "done at poll 4" })
    expect(result.polls).toBe(4)
    expect(result.last).toBe(4)
    expect(time.sleeps).toEqual([DEFAULT_INTERVAL_MS, DEFAULT_INTERVAL_MS, DEFAULT_INTERVAL_MS])
    expect(result.elapsedMs).toBe(3 * DEFAULT_INTERVAL_MS)
  })

  it("does not sleep at all when the first observation decides", async () => {
    const time = virtualTime()
    const result = await waitForVerdict(async () => 0, () => ({ state: "failure", kind: "deployment-failed", detail: "x" }), {
      budgetMs: 10_000,
      ...time,
    })
    expect(result.verdict.state).toBe("failure")
    expect(result.polls).toBe(1)
    expect(time.sleeps).toEqual([])
  })

  it("defaults to pauses of at most 2 s, jittered down to half the interval", async () => {
    const time = virtualTime()
    const randoms = [0, 0.5, 0.999]
    const { observe, judge } = sequence(3)
    await waitForVerdict(observe, judge, { budgetMs: 60_000, ...time, random: () => randoms.shift() ?? 0 })
    expect(time.sleeps).toEqual([1_000, 1_500, expect.closeTo(1_999, 0)])
    for (const ms of time.sleeps) expect(ms).toBeLessThanOrEqual(2_000)
  })

  it("honours a configured interval", async () => {
    const time = virtualTime()
    const { observe, judge } = sequence(2)
    await waitForVerdict(observe, judge, { budgetMs: 60_000, intervalMs: 300, ...time, random: () => 0 })
    expect(time.sleeps).toEqual([150, 150])
  })

  it("times out with the last pending detail, after a final poll at the deadline", async () => {
    const time = virtualTime()
    const { observe, judge } = sequence(Number.POSITIVE_INFINITY)
    const result = await waitForVerdict(observe, judge, { budgetMs: 5_000, intervalMs: 2_000, ...time, random: () => 1 })
    // Pauses 2 s, 2 s, then only the 1 s left: the last poll happens at the deadline, not before it.
    expect(time.sleeps).toEqual([2_000, 2_000, 1_000])
    expect(result.polls).toBe(4)
    expect(result.elapsedMs).toBe(5_000)
    expect(result.verdict).toMatchObject({ state: "failure", kind: "timed-out" })
    expect(result.verdict.detail).toMatch(/still pending after 5 s \(budget 5 s, 4 polls\): poll 4/)
  })

  it("counts slow observations against the budget", async () => {
    const time = virtualTime()
    let n = 0
    const result = await waitForVerdict(
      async () => {
        time.advance(4_000) // each API call takes 4 s
        return ++n
      },
      (): Verdict => ({ state: "pending", detail: "slow" }),
      { budgetMs: 10_000, ...time, random: () => 1 },
    )
    expect(result.verdict).toMatchObject({ kind: "timed-out" })
    // poll 1 ends at 4 s, pause 2 s, poll 2 ends at 10 s = the deadline.
    expect(result.elapsedMs).toBe(10_000)
    expect(result.polls).toBe(2)
  })

  it("lets an observation error end the wait", async () => {
    await expect(
      waitForVerdict(async () => Promise.reject(new Error("boom")), () => ({ state: "pending", detail: "" }), { budgetMs: 1_000 }),
    ).rejects.toThrow("boom")
  })

  it("rejects nonsense options naming the option and the value", async () => {
    const { observe, judge } = sequence(0)
    await expect(waitForVerdict(observe, judge, { budgetMs: -1 })).rejects.toThrow("`budgetMs`")
    await expect(waitForVerdict(observe, judge, { budgetMs: 1_000, intervalMs: 0 })).rejects.toThrow(/`intervalMs`.*got 0/)
    await expect(waitForVerdict(observe, judge, { budgetMs: Number.NaN })).rejects.toThrow(/got NaN/)
  })
})

describe("sleep leaves nothing on the signal", () => {
  it("removes its abort listener when the pause ends, so many polls on one signal do not pile up listeners", async () => {
    const signal = new AbortController().signal
    for (let i = 0; i < 20; i++) await sleep(1, signal)
    expect(getEventListeners(signal, "abort")).toHaveLength(0)
  })

  it("still ends early, rejecting with the reason, when the signal aborts", async () => {
    const controller = new AbortController()
    const pause = sleep(60_000, controller.signal)
    controller.abort(new Error("step timed out"))
    await expect(pause).rejects.toThrow("step timed out")
  })
})
