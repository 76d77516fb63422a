// Step time limits of a release (timeouts.stepMinutes in ci/pipeline.yaml).
import { describe, expect, it, vi } from "vitest"
import { withDeadline } from "../../dagger/src/supply-chain/release.js"
import { StepTimeoutError } from "../../dagger/src/shared/deadline.js"

const never = () => new Promise<string>(() => undefined)

describe("withDeadline", () => {
  it("passes a result through when the step finishes in time", async () => {
    await expect(withDeadline(Promise.resolve("ok"), 1_000, "scan", "Trivy scan")).resolves.toBe("ok")
  })

  it("passes the step's own failure through unchanged", async () => {
    await expect(withDeadline(Promise.reject(new Error("exit code 2")), 1_000, "scan", "Trivy scan")).rejects.toThrow("exit code 2")
  })

  it("stops waiting at the limit and names the setting to raise", async () => {
    const run = withDeadline(never(), 30, "test", "The app's tests")
    await expect(run).rejects.toBeInstanceOf(StepTimeoutError)
    await expect(run).rejects.toThrow(/^The app's tests did not finish within 0\.03 s \(timeouts\.stepMinutes\.test in ci\/pipeline\.yaml\)/)
  })

  it("states long limits in minutes", async () => {
    vi.useFakeTimers()
    try {
      const run = withDeadline(never(), 90_000, "scan", "Trivy scan")
      const assertion = expect(run).rejects.toThrow(/^Trivy scan did not finish within 1\.5 min \(timeouts\.stepMinutes\.scan/)
      await vi.advanceTimersByTimeAsync(90_000)
      await assertion
    } finally {
      vi.useRealTimers()
    }
  })
})
