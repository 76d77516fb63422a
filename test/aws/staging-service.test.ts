// aws/staging-service.ts: the staging target derived once from settings, and the port's cancellation —
// once the step's signal aborts, the service receives no further write (against moto, real SDK client).
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { parseSettings } from "../../dagger/src/config/settings.js"
import { stagingTarget } from "../../dagger/src/aws/staging-service.js"
import { repoRoot } from "../tools/paths.js"

const settingsText = readFileSync(join(repoRoot, "ci/pipeline.yaml"), "utf8")

describe("stagingTarget: the one derivation of staging from ci/pipeline.yaml", () => {
  const settings = parseSettings(settingsText)

  it("takes cluster, service, region, budget and poll interval from ci/pipeline.yaml", () => {
    expect(stagingTarget(settings)).toEqual({
      region: settings.staging.aws.region,
      cluster: settings.staging.names.cluster,
      service: settings.staging.names.service,
      containerName: settings.staging.names.containerName,
      desiredCount: settings.staging.desiredCount,
      budgetMs: settings.staging.rollout.timeoutSeconds * 1000,
      intervalMs: settings.staging.rollout.pollIntervalSeconds * 1000,
    })
  })

  it("polls at most every 2 s with the repository's settings", () => {
    expect(stagingTarget(settings).intervalMs).toBeLessThanOrEqual(2_000)
  })

  it("passes the emulator endpoint through only when set", () => {
    const withEndpoint = { ...settings, staging: { ...settings.staging, aws: { region: "us-west-1", endpointUrl: "http://127.0.0.1:5000" } } }
    expect(stagingTarget(withEndpoint).endpointUrl).toBe("http://127.0.0.1:5000")
    expect(stagingTarget(settings)).not.toHaveProperty("endpointUrl")
  })

  it("lets --timeout-seconds override the budget and rejects nonsense", () => {
    expect(stagingTarget(settings, { timeoutSeconds: 30 }).budgetMs).toBe(30_000)
    expect(() => stagingTarget(settings, { timeoutSeconds: 0 })).toThrow(/--timeout-seconds.*got 0/)
  })

  it("starts at least one task when the settings say desiredCount 0", () => {
    const zero = { ...settings, staging: { ...settings.staging, desiredCount: 0 } }
    expect(stagingTarget(zero).desiredCount).toBe(1)
  })
})

