import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { nextTaskDefinition } from "../../dagger/src/aws/task-definition.js"
import { repoRoot } from "../tools/paths.js"
import { type TaskDefinition } from "../../dagger/src/aws/ecs-client.js"

// A DescribeTaskDefinition answer shaped like the one Terraform's aws-ecs-service module produces.
const current = (
  JSON.parse(readFileSync(join(repoRoot, "test/fixtures/ecs-task-definition/describe-task-definition.json"), "utf8")) as {
    taskDefinition: TaskDefinition
  }
).taskDefinition

const NEW_IMAGE = "123456789012.dkr.ecr.us-west-1.amazonaws.com/portfolio-prod@sha256:" + "2".repeat(64)
const change = {
  containerName: "portfolio",
  image: NEW_IMAGE,
  environment: { APP_VERSION: "1.5.0", APP_COMMIT: "fedcba9876543210fedcba9876543210fedcba98" },
}

describe("nextTaskDefinition", () => {
  it("changes only the app container's image and the given environment", () => {
    const next = nextTaskDefinition(current, change)
    const container = next.containerDefinitions![0]!
    expect(container.image).toBe(NEW_IMAGE)
    expect(container.environment).toEqual([
      { name: "PORT", value: "8080" },
      { name: "APP_VERSION", value: "1.5.0" },
      { name: "APP_COMMIT", value: "fedcba9876543210fedcba9876543210fedcba98" },
    ])
    // Everything Terraform set is carried over unchanged.
    const { image: _i, environment: _e, ...rest } = container
    const { image: _i0, environment: _e0, ...rest0 } = current.containerDefinitions![0]!
    expect(rest).toEqual(rest0)
    expect(next).toMatchObject({
      family: "portfolio-prod-task",
      taskRoleArn: current.taskRoleArn,
      executionRoleArn: current.executionRoleArn,
      networkMode: "awsvpc",
      requiresCompatibilities: ["FARGATE"],
      cpu: "256",
      memory: "512",
      runtimePlatform: current.runtimePlatform,
    })
  })

  it("drops what RegisterTaskDefinition does not accept (read-only fields) and empty lists", () => {
    const next: object = nextTaskDefinition(current, change)
    for (const readOnly of ["taskDefinitionArn", "revision", "status", "requiresAttributes", "compatibilities", "registeredAt", "registeredBy"]) {
      expect(next).not.toHaveProperty(readOnly)
    }
    expect(next).not.toHaveProperty("volumes")
    expect(next).not.toHaveProperty("placementConstraints")
  })

  it("does not modify its input", () => {
    const before = JSON.stringify(current)
    nextTaskDefinition(current, change)
    expect(JSON.stringify(current)).toBe(before)
  })

  it("names the missing container, the ones there are, and the setting to fix", () => {
    expect(() => nextTaskDefinition(current, { ...change, containerName: "web" })).toThrow(
      /portfolio-prod-task:7 has no container named 'web' \(it has: 'portfolio'\).*staging\.names\.containerName/,
    )
  })

  it("refuses an empty image", () => {
    expect(() => nextTaskDefinition(current, { ...change, image: " " })).toThrow(/image reference.*empty/)
  })
})
