import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { parseSettings, SettingsError, STEP_KEYS, stepTimeoutMs } from "../../dagger/src/config/settings.js"
import { repoRoot } from "../tools/paths.js"

const committed = readFileSync(join(repoRoot, "ci/pipeline.yaml"), "utf8")

/** Returns the committed settings with values replaced (by dotted path; undefined deletes), as YAML text. */
function variants(changes: Record<string, unknown>): string {
  const data = JSON.parse(JSON.stringify(parseSettings(committed))) as Record<string, unknown>
  for (const [path, value] of Object.entries(changes)) {
    const keys = path.split(".")
    let cur = data
    for (const k of keys.slice(0, -1)) cur = cur[k] as Record<string, unknown>
    if (value === undefined) delete cur[keys.at(-1)!]
    else cur[keys.at(-1)!] = value
  }
  return JSON.stringify(data) // JSON is YAML
}

function variant(path: string, value: unknown): string {
  return variants({ [path]: value })
}

function problemsOf(text: string): string[] {
  try {
    parseSettings(text)
  } catch (err) {
    expect(err).toBeInstanceOf(SettingsError)
    return (err as SettingsError).problems
  }
  throw new Error("expected a SettingsError")
}

describe("ci/pipeline.yaml", () => {
  it("the committed settings are valid and carry the seed's defaults", () => {
    const s = parseSettings(committed)
    expect(s.staging.aws.region).toBe("us-west-1")
    expect(s.production.gcp).toMatchObject({ project: "portfolio-test-476200", region: "us-west1" })
    expect(s.production.canary.steps).toEqual([10, 50, 100])
    expect(s.staging.aws.endpointUrl).toBeUndefined()
  })

  it.each([
    ["staging.desiredCount", "one", "staging.desiredCount"],
    ["production.canary.steps", [50, 10, 100], "step 2 (10) is not above step 1 (50)"],
    ["production.canary.steps", [10, 50], "the last step is 50, not 100"],
    ["production.canary.steps", [], "no steps given"],
    ["production.canary.steps", [0, 100], "step 1 is 0, not a whole number from 1 to 100"],
    ["staging.aws.region", "us west", "AWS region"],
    ["images.trivy", "aquasec/trivy:latest", "pinned"],
    ["images.node", "node", "pinned"],
    ["images.trivy", "registry.internal:5000/aquasec/trivy", "must be pinned to a version tag or digest"],
    ["images.checkov", "registry.internal:5000/Bridgecrew/checkov:3.3.26", "is not a valid image reference: it has repository path component 'Bridgecrew'"],
    ["images.terraform", "hashicorp/terraform:1.13.4@sha256:abc", "is not a valid image reference: it has digest 'sha256:abc'"],
    ["scan.dbRepositories", [], "must list at least one repository, tried in order"],
    ["scan.dbRepositories", ["mirror.gcr.io/aquasec/trivy-db:2", "mirror.gcr.io/aquasec/trivy-db:2"], "must not list a repository twice"],
    ["scan.dbRepositories", "mirror.gcr.io/aquasec/trivy-db:2", "expected array"],
    ["scan.checksBundleRepositories", ["ghcr.io/Aquasecurity/trivy-checks:2"], "is not a valid image reference: it has repository path component 'Aquasecurity'"],
    ["notifications.mode", "SOMETIMES", "notifications.mode"],
    ["staging.aws.endpointUrl", "ftp://x", "staging.aws.endpointUrl"],
    ["production.names.service", "Portfolio_Prod", "lower-case"],
  ])("rejects %s = %j with a message naming the key and value", (path, value, expected) => {
    const problems = problemsOf(variant(path, value))
    expect(problems.join("\n")).toContain(expected)
    expect(problems.join("\n")).toContain(path.split(".").at(-1)!)
  })

  it("reads Trivy's DB and checks-bundle repositories in order, a private mirror with a port included", () => {
    const s = parseSettings(committed)
    expect(s.scan.dbRepositories[0]).toMatch(/\/trivy-db:2$/)
    expect(s.scan.checksBundleRepositories[0]).toMatch(/\/trivy-checks:2$/)
    const mirror = ["registry.internal:5000/aquasec/trivy-db:2", ...s.scan.dbRepositories]
    expect(parseSettings(variant("scan.dbRepositories", mirror)).scan.dbRepositories).toEqual(mirror)
  })

  it("accepts every valid pinned image reference, a private mirror with a port included", () => {
    const digest = "sha256:" + "ab".repeat(32)
    for (const ref of [`registry.internal:5000/aquasec/trivy:0.69.3@${digest}`, "localhost:5000/node:24.20.0", `[::1]:5000/checkov@${digest}`]) {
      expect(parseSettings(variant("images.trivy", ref)).images.trivy).toBe(ref)
    }
  })

  it("names a missing key and an unknown (misspelt) key", () => {
    expect(problemsOf(variant("staging.names.cluster", undefined)).join()).toContain("staging.names.cluster")
    const typo = committed.replace("desiredCount: 1", "desiredCount: 1\n  desiredCont: 2")
    expect(problemsOf(typo).join()).toMatch(/unknown key\(s\) desiredCont/)
  })

  it("reports broken YAML and a non-mapping clearly, with the fix", () => {
    expect(() => parseSettings("app: [unclosed")).toThrow(/not valid YAML/)
    expect(() => parseSettings("just a string")).toThrow(/expected a YAML mapping/)
    expect(() => parseSettings("42")).toThrow(/Fix ci\/pipeline.yaml/)
  })

  it("canary step problems end with the rule, worded as for --canary-steps", () => {
    expect(problemsOf(variant("production.canary.steps", [10, 50]))).toEqual([
      "production.canary.steps: the last step is 50, not 100 (the candidate must end with all traffic); " +
        "give whole percentages from 1 to 100, strictly ascending, ending at 100 (e.g. 10,50,100) (got [10,50])",
    ])
  })

  it("step timeouts fall back to the run timeout", () => {
    expect(stepTimeoutMs(parseSettings(committed), "scan")).toBe(15 * 60_000)
    expect(stepTimeoutMs(parseSettings(variant("timeouts.stepMinutes.scan", undefined)), "scan")).toBe(60 * 60_000)
  })
})

describe("timeouts.stepMinutes: a closed set of steps", () => {
  it("the committed file gives every step its own budget", () => {
    expect(Object.keys(parseSettings(committed).timeouts.stepMinutes).sort()).toEqual([...STEP_KEYS].sort())
  })

  it("the README lists exactly these steps", () => {
    const row = readFileSync(join(repoRoot, "README.md"), "utf8")
      .split("\n")
      .find((line) => line.includes("`timeouts.stepMinutes.<step>`"))
    const listed = /each step's \(([^;)]*)/.exec(row ?? "")?.[1]
    expect(listed, "README.md's settings table has a timeouts.stepMinutes row listing the steps").toBeDefined()
    expect([...listed!.matchAll(/`([a-z]+)`/g)].map((m) => m[1])).toEqual([...STEP_KEYS])
  })

  it("a misspelt step is an error naming the valid steps", () => {
    const typo = committed.replace("    rollout: 15\n", "    rolout: 15\n")
    expect(typo).not.toBe(committed)
    expect(problemsOf(typo)).toEqual([
      "timeouts.stepMinutes: unknown key 'rolout' (the steps are build, test, scan, publish, terraform, rollout, " +
        "health, rollback, notify) — check the spelling",
    ])
  })
})

describe("time budgets that contradict each other are refused at load, naming both keys", () => {
  it("the committed budgets fit inside one another", () => {
    expect(() => parseSettings(committed)).not.toThrow()
  })

  // Changes to the committed file (runMinutes 60; stepMinutes build 20, test 10, scan 15, rollout 15,
  // health 5, rollback 15, notify 1; staging rollout 600 s polled every 2 s, health 180 s; production
  // health 120 s; canary [10, 50, 100] holding 30 s) → the one problem each must give.
  it.each<[string, Record<string, unknown>, string]>([
    [
      "the ECS rollout wait is longer than the rollout step",
      { "timeouts.stepMinutes.rollout": 9 },
      "staging.rollout.timeoutSeconds (600 s) is longer than timeouts.stepMinutes.rollout (9 min = 540 s): " +
        "the rollout step would end before ECS gives its verdict. Shorten the first or lengthen the second.",
    ],
    [
      "the poll interval is longer than the rollout wait",
      { "staging.rollout.timeoutSeconds": 20, "staging.rollout.pollIntervalSeconds": 30 },
      "staging.rollout.pollIntervalSeconds (30 s) is longer than staging.rollout.timeoutSeconds (20 s): " +
        "the rollout wait would end before its second look at the deployment. Shorten the first or lengthen the second.",
    ],
    [
      "the staging health budget is longer than the health step",
      { "timeouts.stepMinutes.health": 2.5 },
      "staging.health.budgetSeconds (180 s) is longer than timeouts.stepMinutes.health (2.5 min = 150 s): " +
        "the staging health-check step would end before the check gives its verdict. Shorten the first or lengthen the second.",
    ],
    [
      "the production health budget is longer than the health step",
      { "production.health.budgetSeconds": 400 },
      "production.health.budgetSeconds (400 s) is longer than timeouts.stepMinutes.health (5 min = 300 s): " +
        "the production health-check steps would end before the check gives its verdict. Shorten the first or lengthen the second.",
    ],
    [
      "a staging rollback (wait, then health check) is longer than the rollback step",
      { "timeouts.stepMinutes.rollback": 12 },
      "staging.rollout.timeoutSeconds + staging.health.budgetSeconds (780 s) is longer than timeouts.stepMinutes.rollback (12 min = 720 s): " +
        "a staging rollback waits for ECS, then checks health, and would be cut off before its verdict. Shorten the first or lengthen the second.",
    ],
    [
      "the production rollback's health check is longer than the rollback step",
      {
        "staging.rollout.timeoutSeconds": 10,
        "staging.health.budgetSeconds": 5,
        "production.health.budgetSeconds": 200,
        "timeouts.stepMinutes.health": 4,
        "timeouts.stepMinutes.rollback": 3,
      },
      "production.health.budgetSeconds (200 s) is longer than timeouts.stepMinutes.rollback (3 min = 180 s): " +
        "a production rollback ends with a health check that would be cut off. Shorten the first or lengthen the second.",
    ],
    [
      "one step is longer than the run",
      { "timeouts.stepMinutes.notify": 90 },
      "timeouts.stepMinutes.notify (90 min) is longer than timeouts.runMinutes (60 min): " +
        "no step may be given longer than the whole run. Shorten the first or lengthen the second.",
    ],
    [
      "the combined build step (build + the longer of test and scan) is longer than the run",
      { "timeouts.runMinutes": 30 },
      "timeouts.stepMinutes.build + timeouts.stepMinutes.scan (35 min) is longer than timeouts.runMinutes (30 min): " +
        "the build, test, scan and SBOM step gets the build's budget plus the longer of test and scan. Shorten the first or lengthen the second.",
    ],
    [
      "one canary step (shift, hold, health check, burst) is longer than the run",
      { "timeouts.runMinutes": 36, "timeouts.stepMinutes.rollout": 31 },
      "timeouts.stepMinutes.rollout + timeouts.stepMinutes.health + production.canary.pauseSeconds + analysis.budgetSeconds (36.833 min) " +
        "is longer than timeouts.runMinutes (36 min): each canary step gets a traffic shift, its hold, a health check and one analysis burst. " +
        "Shorten the first or lengthen the second.",
    ],
    [
      "a canary step fits the run only without its analysis burst",
      { "timeouts.runMinutes": 37, "timeouts.stepMinutes.rollout": 31, "analysis.budgetSeconds": 40 },
      "timeouts.stepMinutes.rollout + timeouts.stepMinutes.health + production.canary.pauseSeconds + analysis.budgetSeconds (37.167 min) " +
        "is longer than timeouts.runMinutes (37 min): each canary step gets a traffic shift, its hold, a health check and one analysis burst. " +
        "Shorten the first or lengthen the second.",
    ],
    [
      "the canary holds alone use up the run",
      { "production.canary.pauseSeconds": 1800 },
      "2 canary hold(s) of production.canary.pauseSeconds (3600 s) is not shorter than timeouts.runMinutes (60 min = 3600 s): " +
        "the canary holds alone would use up the run, so production could never finish. Shorten the first or lengthen the second.",
    ],
  ])("%s", (_what, changes, problem) => {
    expect(problemsOf(variants(changes))).toEqual([problem])
  })

  it("reports every contradiction at once, inside the one settings error", () => {
    const text = variants({ "timeouts.runMinutes": 12, "timeouts.stepMinutes.rollout": 9 })
    expect(() => parseSettings(text)).toThrow(/^ci\/pipeline\.yaml is invalid \(\d+ problems\):/)
    const problems = problemsOf(text)
    expect(problems).toContain(
      "staging.rollout.timeoutSeconds (600 s) is longer than timeouts.stepMinutes.rollout (9 min = 540 s): " +
        "the rollout step would end before ECS gives its verdict. Shorten the first or lengthen the second.",
    )
    // build 20, terraform 20, rollback 15 and scan 15 exceed the 12-minute run, and so does build + scan.
    for (const key of ["build", "terraform", "rollback", "scan"]) {
      expect(problems.some((p) => p.startsWith(`timeouts.stepMinutes.${key} (`) && p.includes("timeouts.runMinutes (12 min)"))).toBe(true)
    }
    expect(problems.some((p) => p.startsWith("timeouts.stepMinutes.build + timeouts.stepMinutes.scan (35 min)"))).toBe(true)
  })

  it("a step left to the run's budget is not a contradiction", () => {
    const s = parseSettings(variants({ "timeouts.stepMinutes.build": undefined, "timeouts.stepMinutes.rollout": undefined }))
    expect(stepTimeoutMs(s, "build")).toBe(60 * 60_000)
  })
})

describe("analysis: the canary's traffic analysis", () => {
  it("the committed settings: a 300-request burst over / and /health, 1 % errors, p95 1.5 × and 100 ms", () => {
    const a = parseSettings(committed).analysis
    expect(a).toMatchObject({ requests: 300, warmupRequests: 50, paths: ["/", "/health"], thresholds: { maxErrorRate: 0.01, maxP95Ratio: 1.5, p95SlackMs: 100 } })
    expect(a.servedTraffic.enabled).toBe(true)
  })

  it("servedTraffic may be left out: enabled", () => {
    expect(parseSettings(variant("analysis.servedTraffic", undefined)).analysis.servedTraffic).toEqual({ enabled: true })
    expect(parseSettings(variant("analysis.servedTraffic", {})).analysis.servedTraffic).toEqual({ enabled: true })
    expect(parseSettings(variant("analysis.servedTraffic.enabled", false)).analysis.servedTraffic).toEqual({ enabled: false })
  })

  it.each<[string, unknown, string]>([
    ["analysis.thresholds.maxErrorRate", 5, "analysis.thresholds.maxErrorRate: must be a fraction (0.01 = 1 %) from 0 to 1 (got 5)"],
    ["analysis.thresholds.maxErrorRate", "1%", "analysis.thresholds.maxErrorRate: must be a fraction (0.01 = 1 %) from 0 to 1 (got \"1%\")"],
    ["analysis.thresholds.maxP95Ratio", 0.5, "analysis.thresholds.maxP95Ratio: must be a ratio from 1 to 100 (got 0.5)"],
    ["analysis.thresholds.p95SlackMs", -1, "analysis.thresholds.p95SlackMs: must be a number of ms from 0 to 60000 (got -1)"],
    ["analysis.thresholds.p95SlackMs", undefined, "analysis.thresholds.p95SlackMs: must be a number of ms from 0 to 60000 (got nothing)"],
    ["analysis.requests", 0, "analysis.requests: must be an integer from 1 to 5000 (got 0)"],
    ["analysis.concurrency", 2.5, "analysis.concurrency: must be an integer from 1 to 64 (got 2.5)"],
    ["analysis.requestTimeoutMs", 50, "analysis.requestTimeoutMs: must be an integer from 100 to 60000 ms (got 50)"],
    ["analysis.paths", [], "analysis.paths: must list at least one path, e.g. [/, /health] (got [])"],
    ["analysis.paths", ["/", "health"], "analysis.paths.1: must be an absolute URL path like /health (got \"health\")"],
    ["analysis.servedTraffic.enabled", "yes", "analysis.servedTraffic.enabled: must be true or false (got \"yes\")"],
  ])("%s = %j is refused naming the key, the value and the rule", (path, value, problem) => {
    expect(problemsOf(variant(path, value))).toEqual([problem])
  })

  it("a misspelt threshold is an unknown key", () => {
    expect(problemsOf(variant("analysis.thresholds.maxErrorRatio", 0.01))).toEqual(["analysis.thresholds: unknown key(s) maxErrorRatio — check the spelling"])
  })

  it("a burst budget shorter than one request, and a warm-up that leaves nothing to measure, are refused naming both keys", () => {
    expect(problemsOf(variants({ "analysis.budgetSeconds": 2, "analysis.requestTimeoutMs": 3000 }))).toEqual([
      "analysis.budgetSeconds (2 s) is shorter than analysis.requestTimeoutMs (3000 ms): a burst starts a request only while its " +
        "whole timeout fits in the budget, so none would be sent. Lengthen the first or shorten the second.",
    ])
    expect(problemsOf(variants({ "analysis.warmupRequests": 300 }))).toEqual([
      "analysis.warmupRequests (300) is not below analysis.requests (300): no request would be left to measure latency with. " +
        "Lower the first or raise the second.",
    ])
  })
})
