// Each deploy job must outlive the longest call the module can make, or GitHub kills the job while a
// rollback or the report is still under way: a half-switched service and no report.
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { parseSettings, type Settings, stepTimeoutMs } from "../../dagger/src/config/settings.js"
import { COST_TIMEOUT_MS } from "../../dagger/src/deploy/steps.js"
import { repoRoot } from "../tools/paths.js"
import { DEPLOY_WORKFLOWS, deployJob } from "./workflow-files.js"

/**
 * Minutes the job spends before the module's run timer starts and after the call returns: installing the
 * Dagger CLI, starting the engine (pulling its image on a fresh runner), loading the module (a cold
 * `dagger functions` took ~50 s; the TypeScript runtime installs the module's dependencies first), checkout
 * and the credential steps, then the Report step (seconds). Ten minutes covers that with room to spare.
 */
const ENGINE_START_MARGIN_MINUTES = 10

/**
 * THE formula for a deploy job's `timeout-minutes` (the workflows point here). The module stops starting
 * new work when `timeouts.runMinutes` expires, but the final steps still run after that deadline, each
 * under its own budget and one after the other (`finalStep` and `finish` in dagger/src/deploy/):
 * the rollback (`stepMinutes.rollback`), the cost estimate (COST_TIMEOUT_MS) and the notifications
 * (`stepMinutes.notify`). A step without its own entry gets runMinutes, as stepTimeoutMs says.
 *
 *   timeout-minutes ≥ runMinutes + rollback + cost estimate + notify + ENGINE_START_MARGIN_MINUTES
 */
function requiredJobMinutes(settings: Settings): number {
  const afterDeadlineMs = stepTimeoutMs(settings, "rollback") + COST_TIMEOUT_MS + stepTimeoutMs(settings, "notify")
  return Math.ceil(settings.timeouts.runMinutes + afterDeadlineMs / 60_000 + ENGINE_START_MARGIN_MINUTES)
}

const settings = parseSettings(readFileSync(join(repoRoot, "ci/pipeline.yaml"), "utf8"))

describe("deploy job timeouts (derived from ci/pipeline.yaml)", () => {
  it.each(DEPLOY_WORKFLOWS)("%s: timeout-minutes covers the run, the final steps and the engine start", (file) => {
    const minutes = deployJob(file)["timeout-minutes"]
    const required = requiredJobMinutes(settings)
    expect(minutes, `${file} has no timeout-minutes`).toBeTypeOf("number")
    expect(
      minutes,
      `${file}: timeout-minutes ${minutes} < ${required} = runMinutes ${settings.timeouts.runMinutes} + rollback ` +
        `${stepTimeoutMs(settings, "rollback") / 60_000} + cost ${COST_TIMEOUT_MS / 60_000} + notify ` +
        `${stepTimeoutMs(settings, "notify") / 60_000} + engine start ${ENGINE_START_MARGIN_MINUTES}; raise it`,
    ).toBeGreaterThanOrEqual(required)
  })

  it.each(DEPLOY_WORKFLOWS)("%s points at the formula from its timeout-minutes", (file) => {
    const text = readFileSync(join(repoRoot, ".github/workflows", file), "utf8")
    expect(text).toMatch(/timeout-minutes: \d+ # .*test\/workflows\/timeouts\.test\.ts/)
  })

  const cost = COST_TIMEOUT_MS / 60_000
  const withTimeouts = (runMinutes: number, stepMinutes: Record<string, number>): Settings => ({
    ...settings,
    timeouts: { runMinutes, stepMinutes },
  })

  it("refuses the 75 minutes staging once had: run 60 + rollback 15 + cost 1 + notify 1 = 77 before the engine even starts", () => {
    const then = withTimeouts(60, { ...settings.timeouts.stepMinutes, rollback: 15, notify: 1 })
    expect(requiredJobMinutes(then)).toBe(60 + 15 + cost + 1 + 10)
    expect(75).toBeLessThan(requiredJobMinutes(then))
  })

  it("follows the settings: a longer run or rollback budget, or no rollback entry (it then gets runMinutes), needs a longer job", () => {
    expect(requiredJobMinutes(withTimeouts(90, { rollback: 15, notify: 1 }))).toBe(90 + 15 + cost + 1 + 10)
    expect(requiredJobMinutes(withTimeouts(60, { rollback: 30, notify: 1 }))).toBe(60 + 30 + cost + 1 + 10)
    expect(requiredJobMinutes(withTimeouts(60, { notify: 1 }))).toBe(60 + 60 + cost + 1 + 10)
    expect(requiredJobMinutes(withTimeouts(60, { rollback: 15, notify: 0.5 }))).toBe(Math.ceil(60 + 15 + cost + 0.5 + 10))
  })
})
