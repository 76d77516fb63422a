import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { describeService } from "../../dagger/src/aws/ecs.js"
import {
  newDeploymentId,
  rolloutVerdict,
  scaleVerdict,
  shortTaskDefinition,
  type ServiceView,
} from "../../dagger/src/aws/rollout-verdict.js"
import { startScriptedEcs, type ScriptedEcs } from "../support/ecs-scripted.js"
import { repoRoot } from "../tools/paths.js"
import { createEcsClient } from "../../dagger/src/aws/ecs-client.js"

interface Case {
  name: string
  description: string
  deploymentId: string
  describeServices: { services: ServiceView[]; failures: unknown[] }
  expected: { state: string; kind?: string; rollbackDeploymentId?: string; trigger?: string; alarms?: string[] }
}

const dir = join(repoRoot, "test/fixtures/ecs-rollout")
const cases: Case[] = readdirSync(dir)
  .filter((f) => f.endsWith(".json"))
  .sort()
  .map((f) => ({ name: f.replace(/\.json$/, ""), ...(JSON.parse(readFileSync(join(dir, f), "utf8")) as Omit<Case, "name">) }))

describe("rolloutVerdict on DescribeServices shapes (test/fixtures/ecs-rollout)", () => {
  it("has the cases the verdict must tell apart", () => {
    const states = new Set(cases.map((c) => `${c.expected.state}/${c.expected.kind ?? ""}`))
    expect(states).toEqual(
      new Set([
        "pending/",
        "success/",
        "failure/deployment-failed",
        "failure/rolled-back",
        "failure/superseded",
        "failure/service-not-active",
        "failure/unsupported",
      ]),
    )
  })

  it.each(cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const verdict = rolloutVerdict(c.describeServices.services[0]!, c.deploymentId)
    expect(verdict).toMatchObject(c.expected)
    // Every verdict explains itself in words a person can act on.
    expect(verdict.detail.length).toBeGreaterThan(20)
  })

  it("names the reason ECS gave when a deployment failed", () => {
    const c = cases.find((x) => x.name === "failed-no-rollback")!
    expect(rolloutVerdict(c.describeServices.services[0]!, c.deploymentId).detail).toContain(
      "ECS deployment circuit breaker: tasks failed to start.",
    )
  })

  it("a deployment alarm's rollback names the alarms, never the circuit breaker", () => {
    for (const name of ["alarm-rollback-started", "alarm-rollback-finished"]) {
      const c = cases.find((x) => x.name === name)!
      const v = rolloutVerdict(c.describeServices.services[0]!, c.deploymentId)
      expect(v.detail, name).toMatch(/one of the deployment alarms portfolio-prod-5xx-rate, portfolio-prod-p95-latency .*went into ALARM/)
      expect(v.detail, name).toContain("deployment failed: alarm detected.")
      expect(v.detail, name).not.toMatch(/circuit breaker/)
    }
  })

  it("with the alarm states read, names only the alarm that fired", () => {
    const c = cases.find((x) => x.name === "alarm-rollback-started")!
    const v = rolloutVerdict(c.describeServices.services[0]!, c.deploymentId, { firing: ["portfolio-prod-5xx-rate"] })
    expect(v).toMatchObject({ state: "failure", kind: "rolled-back", trigger: "alarm", alarms: ["portfolio-prod-5xx-rate"] })
    expect(v.detail).toMatch(/^deployment ecs-svc\/1281894607538416024 failed: deployment alarm portfolio-prod-5xx-rate went into ALARM/)
    expect(v.detail).not.toContain("p95-latency")
    // A firing alarm the service does not list is not blamed.
    expect(rolloutVerdict(c.describeServices.services[0]!, c.deploymentId, { firing: ["someone-elses-alarm"] })).toMatchObject({
      alarms: ["portfolio-prod-5xx-rate", "portfolio-prod-p95-latency"],
    })
  })

  it("with the alarms' rollback off, the failed deployment is ours to roll back, and the detail says ECS will not", () => {
    const c = cases.find((x) => x.name === "alarm-failed-no-rollback")!
    expect(rolloutVerdict(c.describeServices.services[0]!, c.deploymentId).detail).toMatch(/ECS does not roll back \(the service's alarms rollback is off\)/)
  })

  it("without the alarm event it is the circuit breaker's rollback, as before", () => {
    const c = cases.find((x) => x.name === "rollback-started")!
    expect(rolloutVerdict(c.describeServices.services[0]!, c.deploymentId)).not.toHaveProperty("trigger")
  })

  it("judges the deployment it is asked about, not whichever is PRIMARY", () => {
    const c = cases.find((x) => x.name === "completed")!
    const service = c.describeServices.services[0]!
    expect(rolloutVerdict(service, c.deploymentId).state).toBe("success")
    expect(rolloutVerdict(service, "ecs-svc/0000000000000000001")).toMatchObject({ state: "failure", kind: "superseded" })
  })

  it("is not fooled by a stable service after a rollback (what waitUntilServicesStable accepts)", () => {
    const c = cases.find((x) => x.name === "rollback-finished")!
    const service = c.describeServices.services[0]!
    // The SDK waiter's success rule: exactly one deployment and running = desired.
    expect(service.deployments!.length === 1 && service.runningCount === service.desiredCount).toBe(true)
    expect(rolloutVerdict(service, c.deploymentId).state).toBe("failure")
  })
})

describe("the fixtures through the real SDK client", () => {
  let ecsServer: ScriptedEcs
  beforeAll(async () => {
    ecsServer = await startScriptedEcs()
  })
  afterAll(async () => {
    await ecsServer?.close()
  })

  it("parse to the same verdicts after @aws-sdk/client-ecs deserialises them", async () => {
    const ecs = await createEcsClient({
      region: "us-west-1",
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
      endpointUrl: ecsServer.endpoint,
    })
    for (const c of cases) {
      ecsServer.clear("DescribeServices")
      ecsServer.script("DescribeServices", c.describeServices)
      const service = await describeService(
        ecs,
        { cluster: "portfolio-prod-cluster", service: "portfolio-prod-service" },
        { requireActive: false },
      )
      expect(rolloutVerdict(service, c.deploymentId), c.name).toMatchObject(c.expected)
      // The SDK turns epoch seconds into Dates: proof the shape went through its deserialiser.
      expect(service.deployments?.[0]?.createdAt, c.name).toBeInstanceOf(Date)
    }
    expect(ecsServer.callsOf("DescribeServices")).toHaveLength(cases.length)
    expect(ecsServer.unscripted).toEqual([])
  })
})

describe("scaleVerdict", () => {
  const base: ServiceView = { serviceName: "svc", status: "ACTIVE", deployments: [] }

  it("stopped = desired 0, running 0, nothing pending", () => {
    expect(scaleVerdict({ ...base, desiredCount: 0, runningCount: 0, pendingCount: 0 }, 0).state).toBe("success")
    expect(scaleVerdict({ ...base, desiredCount: 0, runningCount: 1, pendingCount: 0 }, 0).state).toBe("pending")
  })

  it("started = running reaches the target with nothing pending", () => {
    expect(scaleVerdict({ ...base, desiredCount: 2, runningCount: 1, pendingCount: 1 }, 2).state).toBe("pending")
    expect(scaleVerdict({ ...base, desiredCount: 2, runningCount: 2, pendingCount: 0 }, 2).state).toBe("success")
  })

  it("waits (and says why) while the desired count is not the target", () => {
    const v = scaleVerdict({ ...base, desiredCount: 3, runningCount: 0, pendingCount: 0 }, 0)
    expect(v).toMatchObject({ state: "pending" })
    expect(v.detail).toMatch(/desired count not yet 0 .*autoscaling/)
  })

  it("fails at once when starting and the current deployment FAILED", () => {
    const v = scaleVerdict(
      {
        ...base,
        desiredCount: 1,
        runningCount: 0,
        pendingCount: 0,
        deployments: [{ id: "ecs-svc/1", status: "PRIMARY", rolloutState: "FAILED", rolloutStateReason: "ECS deployment circuit breaker: tasks failed to start." }],
      },
      1,
    )
    expect(v).toMatchObject({ state: "failure", kind: "deployment-failed" })
  })

  it("fails when the service is DRAINING, naming the service and the fix", () => {
    const v = scaleVerdict({ ...base, status: "DRAINING", desiredCount: 0, runningCount: 0 }, 0)
    expect(v).toMatchObject({ state: "failure", kind: "service-not-active" })
    expect(v.detail).toMatch(/'svc' is DRAINING; expected ACTIVE .*Terraform/)
  })
})

describe("newDeploymentId", () => {
  it("is the PRIMARY deployment that was not there before", () => {
    const before: ServiceView = { deployments: [{ id: "ecs-svc/1", status: "PRIMARY" }] }
    const after: ServiceView = {
      deployments: [
        { id: "ecs-svc/2", status: "PRIMARY" },
        { id: "ecs-svc/1", status: "ACTIVE" },
      ],
    }
    expect(newDeploymentId(before, after)).toBe("ecs-svc/2")
  })

  it("is undefined when ECS started nothing new", () => {
    const same: ServiceView = { deployments: [{ id: "ecs-svc/1", status: "PRIMARY" }] }
    expect(newDeploymentId(same, same)).toBeUndefined()
    expect(newDeploymentId(same, { deployments: [] })).toBeUndefined()
  })
})

describe("shortTaskDefinition", () => {
  it("keeps family:revision", () => {
    expect(shortTaskDefinition("arn:aws:ecs:us-west-1:123456789012:task-definition/app:7")).toBe("app:7")
    expect(shortTaskDefinition("app:7")).toBe("app:7")
    expect(shortTaskDefinition(undefined)).toBe("(none)")
  })
})
