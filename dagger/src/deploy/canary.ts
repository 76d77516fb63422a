// Canary steps, pure: from settings (production.canary.steps, e.g. [10, 50, 100]) or the
// `--canary-steps=10,50,100` flag to a checked plan of traffic steps. canaryStepProblems is the one
// statement of the rules: the settings schema refines with it, so a file and a flag are judged alike.

/** What a usable list of steps is; the messages about settings and the --canary-steps flag both end with it. */
export const CANARY_STEPS_RULE = "whole percentages from 1 to 100, strictly ascending, ending at 100 (e.g. 10,50,100)"

/** Steps that cannot be used; the message lists every problem and the fix. */
export class CanaryStepsError extends Error {
  override name = "CanaryStepsError"
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`${source} is not a usable list of canary steps: ${problems.join("; ")}. Give ${CANARY_STEPS_RULE}.`)
  }
}

/** One step of a canary: how traffic is split, and how long to watch it before the next step. */
export interface CanaryStep {
  /** 1-based position, for reports ("step 2 of 3"). */
  index: number
  /** Traffic on the candidate revision. */
  percent: number
  /** Traffic left on the previous revision. */
  previousPercent: number
  /** How long to keep checking health at this split before the next step; 0 after the last step. */
  holdMs: number
}

/** Problems with a list of steps; empty when it is usable. */
export function canaryStepProblems(steps: readonly number[]): string[] {
  const problems: string[] = []
  if (steps.length === 0) return ["no steps given"]
  steps.forEach((p, i) => {
    if (!Number.isInteger(p) || p < 1 || p > 100) problems.push(`step ${i + 1} is ${p}, not a whole number from 1 to 100`)
    else if (i > 0 && p <= steps[i - 1]!) problems.push(`step ${i + 1} (${p}) is not above step ${i} (${steps[i - 1]})`)
  })
  if (steps[steps.length - 1] !== 100) problems.push(`the last step is ${steps[steps.length - 1]}, not 100 (the candidate must end with all traffic)`)
  return problems
}

/** Parses `--canary-steps` text like "10,50,100" (spaces and a trailing '%' allowed). */
export function parseCanarySteps(text: string, source = "--canary-steps"): number[] {
  const items = text.split(",").map((s) => s.trim().replace(/%$/, "").trim())
  const problems: string[] = []
  const steps = items.map((item, i) => {
    if (!/^\d+$/.test(item)) problems.push(`item ${i + 1} '${item}' is not a whole number`)
    return Number(item)
  })
  if (problems.length > 0) throw new CanaryStepsError(`${source} '${text}'`, problems)
  return checkCanarySteps(steps, `${source} '${text}'`)
}

/** Returns the steps when usable; throws CanaryStepsError listing every problem otherwise. */
export function checkCanarySteps(steps: readonly number[], source = "canary steps"): number[] {
  const problems = canaryStepProblems(steps)
  if (problems.length > 0) throw new CanaryStepsError(source, problems)
  return [...steps]
}

/**
 * The canary plan. With no previous revision to fall back on (first release) there is nothing to
 * compare against, so the plan is a single 100 % step.
 */
export function planCanary(input: { steps: readonly number[]; holdSeconds: number; hasPrevious: boolean }): CanaryStep[] {
  if (!Number.isFinite(input.holdSeconds) || input.holdSeconds < 0) {
    throw new CanaryStepsError("canary hold time", [`${input.holdSeconds} s is not a non-negative number of seconds`])
  }
  const steps = input.hasPrevious ? checkCanarySteps(input.steps) : [100]
  return steps.map((percent, i) => ({
    index: i + 1,
    percent,
    previousPercent: 100 - percent,
    holdMs: i === steps.length - 1 ? 0 : Math.round(input.holdSeconds * 1000),
  }))
}
