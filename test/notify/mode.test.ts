// When a run is announced: the mode × verdict table, the per-run override, and that a quiet mode sends
// nothing to real receivers and does not even read the webhook Secrets.
import { describe, expect, it } from "vitest"
import { effectiveMode, NotifyMode, shouldNotify } from "../../dagger/src/notify/mode.js"
import { notifyRun, type SecretLike } from "../../dagger/src/notify/delivery.js"
import type { RunRecord } from "../../dagger/src/report/run-record.js"
import { failedRun, noSleep, receiversClosedAfterEach, succeededRun, threeTargets } from "./runs.js"

const receiver = receiversClosedAfterEach()

describe("modes", () => {
  it.each<[NotifyMode, RunRecord["verdict"], boolean]>([
    [NotifyMode.ALWAYS, "succeeded", true],
    [NotifyMode.ALWAYS, "failed", true],
    [NotifyMode.FAILURES_ONLY, "succeeded", false],
    [NotifyMode.FAILURES_ONLY, "failed", true],
    [NotifyMode.FAILURES_ONLY, "rolled-back", true],
    [NotifyMode.NEVER, "failed", false],
    [NotifyMode.ALWAYS, "running", false],
  ])("shouldNotify(%s, %s) = %s", (mode, verdict, expected) => {
    expect(shouldNotify(mode, verdict)).toBe(expected)
  })

  it("the per-run override wins over the settings", () => {
    expect(effectiveMode(NotifyMode.ALWAYS, NotifyMode.FAILURES_ONLY)).toBe("FAILURES_ONLY")
    expect(effectiveMode(NotifyMode.NEVER)).toBe("NEVER")
  })

  it("FAILURES_ONLY sends nothing for a successful run and sends for a failed one", async () => {
    const t = await threeTargets(receiver)
    const quiet = await notifyRun(succeededRun(), t.targets, { mode: NotifyMode.FAILURES_ONLY })
    expect(quiet).toEqual({ mode: "FAILURES_ONLY", notified: false, results: [] })
    expect([t.slack, t.discord, t.hook].map((r) => r.requests.length)).toEqual([0, 0, 0])

    await notifyRun(failedRun(), t.targets, { mode: NotifyMode.FAILURES_ONLY, ...noSleep() })
    expect([t.slack, t.discord, t.hook].map((r) => r.requests.length)).toEqual([1, 1, 1])
  })

  it("NEVER sends nothing and reads no secret", async () => {
    let read = false
    const target: SecretLike = {
      plaintext: async () => {
        read = true
        return "http://127.0.0.1:9/x"
      },
    }
    const outcome = await notifyRun(failedRun(), { slack: target }, { mode: NotifyMode.NEVER })
    expect(outcome.notified).toBe(false)
    expect(read).toBe(false)
  })
})
