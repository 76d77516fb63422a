// dagger/src/deploy/canary.ts: the canary step planner, pure, on tables of cases.
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { CanaryStepsError, canaryStepProblems, checkCanarySteps, parseCanarySteps, planCanary } from "../../dagger/src/deploy/canary.js"
import { parseSettings } from "../../dagger/src/config/settings.js"
import { repoRoot } from "../tools/paths.js"

describe("canaryStepProblems", () => {
  it.each([
    [[10, 50, 100], []],
    [[100], []],
    [[1, 2, 3, 100], []],
    [[], ["no steps given"]],
    [[10, 50], ["the last step is 50, not 100 (the candidate must end with all traffic)"]],
    [[50, 10, 100], ["step 2 (10) is not above step 1 (50)"]],
    [[10, 10, 100], ["step 2 (10) is not above step 1 (10)"]],
    [[0, 100], ["step 1 is 0, not a whole number from 1 to 100"]],
    [[10, 150], ["step 2 is 150, not a whole number from 1 to 100", "the last step is 150, not 100 (the candidate must end with all traffic)"]],
    [[12.5, 100], ["step 1 is 12.5, not a whole number from 1 to 100"]],
  ])("%j → %j", (steps, problems) => {
    expect(canaryStepProblems(steps)).toEqual(problems)
  })
})

describe("parseCanarySteps (the --canary-steps flag)", () => {
  it.each([
    ["10,50,100", [10, 50, 100]],
    [" 10 , 50 ,100 ", [10, 50, 100]],
    ["25%,100%", [25, 100]],
    ["100", [100]],
  ])("%j → %j", (text, steps) => {
    expect(parseCanarySteps(text)).toEqual(steps)
  })

  it.each([
    ["10,fifty,100", "item 2 'fifty' is not a whole number"],
    ["10,,100", "item 2 '' is not a whole number"],
    ["10,-5,100", "item 2 '-5' is not a whole number"],
    ["", "item 1 '' is not a whole number"],
    ["10,50", "the last step is 50, not 100"],
    ["50,10,100", "step 2 (10) is not above step 1 (50)"],
  ])("%j is refused: %s", (text, problem) => {
    expect(() => parseCanarySteps(text)).toThrow(CanaryStepsError)
    expect(() => parseCanarySteps(text)).toThrow(problem)
  })

  it("names the flag, the value and the fix", () => {
    expect(() => parseCanarySteps("10,50")).toThrow(
      "--canary-steps '10,50' is not a usable list of canary steps: the last step is 50, not 100 (the candidate must end with all traffic). " +
        "Give whole percentages from 1 to 100, strictly ascending, ending at 100 (e.g. 10,50,100).",
    )
  })
})

describe("planCanary", () => {
  it.each([
    [
      { steps: [10, 50, 100], holdSeconds: 30, hasPrevious: true },
      [
        { index: 1, percent: 10, previousPercent: 90, holdMs: 30_000 },
        { index: 2, percent: 50, previousPercent: 50, holdMs: 30_000 },
        { index: 3, percent: 100, previousPercent: 0, holdMs: 0 },
      ],
    ],
    [{ steps: [100], holdSeconds: 30, hasPrevious: true }, [{ index: 1, percent: 100, previousPercent: 0, holdMs: 0 }]],
    [
      { steps: [25, 100], holdSeconds: 0.5, hasPrevious: true },
      [
        { index: 1, percent: 25, previousPercent: 75, holdMs: 500 },
        { index: 2, percent: 100, previousPercent: 0, holdMs: 0 },
      ],
    ],
    // First release: nothing to fall back on, so a single step whatever the settings say.
    [{ steps: [10, 50, 100], holdSeconds: 30, hasPrevious: false }, [{ index: 1, percent: 100, previousPercent: 0, holdMs: 0 }]],
  ])("%j", (input, plan) => {
    expect(planCanary(input)).toEqual(plan)
  })

  it.each([
    [{ steps: [10, 50], holdSeconds: 30, hasPrevious: true }, "the last step is 50"],
    [{ steps: [10, 100], holdSeconds: -1, hasPrevious: true }, "-1 s is not a non-negative number of seconds"],
    [{ steps: [10, 100], holdSeconds: Number.NaN, hasPrevious: true }, "not a non-negative number"],
  ])("%j is refused", (input, text) => {
    expect(() => planCanary(input)).toThrow(CanaryStepsError)
    expect(() => planCanary(input)).toThrow(text)
  })
})

describe("agreement with the settings schema", () => {
  it("the committed ci/pipeline.yaml steps are a valid plan", () => {
    const settings = parseSettings(readFileSync(join(repoRoot, "ci/pipeline.yaml"), "utf8"))
    const { steps, pauseSeconds } = settings.production.canary
    expect(checkCanarySteps(steps)).toEqual(steps)
    expect(planCanary({ steps, holdSeconds: pauseSeconds, hasPrevious: true }).at(-1)?.percent).toBe(100)
  })

  it.each([[[10, 50]], [[50, 10, 100]], [[0, 100]], [[10, 101]]])("settings and the planner refuse %j alike", (steps) => {
    const yaml = readFileSync(join(repoRoot, "ci/pipeline.yaml"), "utf8").replace(/steps: \[[^\]]*\]/, `steps: [${steps.join(", ")}]`)
    expect(() => parseSettings(yaml)).toThrow(/production\.canary\.steps/)
    expect(canaryStepProblems(steps).length).toBeGreaterThan(0)
  })
})
