// Time budgets in ci/pipeline.yaml that must fit inside one another, checked when the file loads: a
// wait longer than the step that runs it, a step longer than the whole run, or canary holds that
// outlast the run cannot all be honoured, and which one wins would otherwise show only mid-deploy, as
// a step cut off before its verdict. Only values the file sets are compared: a step without an entry
// in timeouts.stepMinutes is bounded by the run's deadline by design.
import type { Settings, StepKey } from "./settings.js"

/** Two (or more) settings that cannot both hold; reported at `path`, the budget that is too long. */
export interface BudgetContradiction {
  path: string[]
  /** Names every key involved, the values, why they clash and the fix. */
  message: string
}

/** A time budget as the file states it: what to call it, where it is reported, its length and unit. */
interface Budget {
  label: string
  path: string[]
  seconds: number
  /** The unit the file writes it in (…Seconds or …Minutes keys); messages keep it. */
  unit: "s" | "min"
}

function inUnit(seconds: number, unit: Budget["unit"]): string {
  const rounded = (n: number) => Math.round(n * 1000) / 1000
  return unit === "min" ? `${rounded(seconds / 60)} min` : `${rounded(seconds)} s`
}

function setting(key: string, seconds: number): Budget {
  return { label: key, path: key.split("."), seconds, unit: key.endsWith("Seconds") ? "s" : "min" }
}

function sum(label: string, path: string[], parts: readonly Budget[]): Budget {
  const seconds = parts.reduce((total, p) => total + p.seconds, 0)
  return { label, path, seconds, unit: parts.some((p) => p.unit === "min") ? "min" : "s" }
}

/** Every contradiction between the time budgets of valid settings; empty when they fit. */
export function budgetContradictions(s: Settings): BudgetContradiction[] {
  const found: BudgetContradiction[] = []
  const step = (key: StepKey): Budget | undefined => {
    const minutes = s.timeouts.stepMinutes[key]
    return minutes === undefined ? undefined : setting(`timeouts.stepMinutes.${key}`, minutes * 60)
  }
  const mustFit = (inner: Budget | undefined, outer: Budget | undefined, why: string, equalFits = true): void => {
    if (!inner || !outer) return
    if (inner.seconds < outer.seconds || (equalFits && inner.seconds === outer.seconds)) return
    const outerLength = inUnit(outer.seconds, outer.unit) + (outer.unit === inner.unit ? "" : ` = ${inUnit(outer.seconds, inner.unit)}`)
    found.push({
      path: inner.path,
      message:
        `${inner.label} (${inUnit(inner.seconds, inner.unit)}) is ${equalFits ? "longer than" : "not shorter than"} ` +
        `${outer.label} (${outerLength}): ${why}. Shorten the first or lengthen the second.`,
    })
  }
  const run = setting("timeouts.runMinutes", s.timeouts.runMinutes * 60)
  const rolloutWait = setting("staging.rollout.timeoutSeconds", s.staging.rollout.timeoutSeconds)
  const stagingHealth = setting("staging.health.budgetSeconds", s.staging.health.budgetSeconds)
  const productionHealth = setting("production.health.budgetSeconds", s.production.health.budgetSeconds)
  const pause = setting("production.canary.pauseSeconds", s.production.canary.pauseSeconds)

  mustFit(
    setting("staging.rollout.pollIntervalSeconds", s.staging.rollout.pollIntervalSeconds),
    rolloutWait,
    "the rollout wait would end before its second look at the deployment",
  )
  mustFit(rolloutWait, step("rollout"), "the rollout step would end before ECS gives its verdict")
  mustFit(stagingHealth, step("health"), "the staging health-check step would end before the check gives its verdict")
  mustFit(productionHealth, step("health"), "the production health-check steps would end before the check gives its verdict")
  mustFit(
    sum(`${rolloutWait.label} + ${stagingHealth.label}`, rolloutWait.path, [rolloutWait, stagingHealth]),
    step("rollback"),
    "a staging rollback waits for ECS, then checks health, and would be cut off before its verdict",
  )
  mustFit(productionHealth, step("rollback"), "a production rollback ends with a health check that would be cut off")

  for (const key of Object.keys(s.timeouts.stepMinutes) as StepKey[]) {
    mustFit(step(key), run, "no step may be given longer than the whole run")
  }
  const build = step("build")
  const checks = [step("test"), step("scan")].filter((b): b is Budget => b !== undefined)
  if (build && checks.length > 0) {
    const longer = checks.reduce((a, b) => (b.seconds > a.seconds ? b : a))
    mustFit(
      sum(`${build.label} + ${longer.label}`, build.path, [build, longer]),
      run,
      "the build, test, scan and SBOM step gets the build's budget plus the longer of test and scan",
    )
  }
  const rollout = step("rollout")
  const health = step("health")
  if (rollout && health) {
    const burst = setting("analysis.budgetSeconds", s.analysis.budgetSeconds)
    mustFit(
      sum(`${rollout.label} + ${health.label} + ${pause.label} + ${burst.label}`, pause.path, [rollout, health, pause, burst]),
      run,
      "each canary step gets a traffic shift, its hold, a health check and one analysis burst",
    )
  }
  const holds = s.production.canary.steps.length - 1
  if (holds > 0) {
    mustFit(
      { ...pause, label: `${holds} canary hold(s) of ${pause.label}`, seconds: holds * pause.seconds },
      run,
      "the canary holds alone would use up the run, so production could never finish",
      false,
    )
  }
  return found
}
