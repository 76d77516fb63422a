import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { parseSettings, SettingsError, stepTimeoutMs } from "../../dagger/src/config/settings.js"
import { repoRoot } from "../tools/paths.js"

const committed = readFileSync(join(repoRoot, "ci/pipeline.yaml"), "utf8")

/** Returns the committed settings with one value replaced (by dotted path), as YAML text. */
function variant(path: string, value: unknown): string {
  const data = JSON.parse(JSON.stringify(parseSettings(committed))) as Record<string, unknown>
  const keys = path.split(".")
  let cur = data
  for (const k of keys.slice(0, -1)) cur = cur[k] as Record<string, unknown>
  if (value === undefined) delete cur[keys.at(-1)!]
  else cur[keys.at(-1)!] = value
  return JSON.stringify(data) // JSON is YAML
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
    ["production.canary.steps", [50, 10, 100], "strictly ascending"],
    ["production.canary.steps", [10, 50], "must end at 100"],
    ["staging.aws.region", "us west", "AWS region"],
    ["images.trivy", "aquasec/trivy:latest", "pinned"],
    ["images.node", "node", "pinned"],
    ["notifications.mode", "SOMETIMES", "notifications.mode"],
    ["staging.aws.endpointUrl", "ftp://x", "staging.aws.endpointUrl"],
    ["production.names.service", "Portfolio_Prod", "lower-case"],
  ])("rejects %s = %j with a message naming the key and value", (path, value, expected) => {
    const problems = problemsOf(variant(path, value))
    expect(problems.join("\n")).toContain(expected)
    expect(problems.join("\n")).toContain(path.split(".").at(-1)!)
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

  it("step timeouts fall back to the run timeout", () => {
    const s = parseSettings(committed)
    expect(stepTimeoutMs(s, "scan")).toBe(15 * 60_000)
    expect(stepTimeoutMs(s, "no-such-step")).toBe(60 * 60_000)
  })
})
