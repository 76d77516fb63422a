// The stacks as data: variables and backend settings come from ci/pipeline.yaml (names defined once),
// emulator endpoints pass through, and the initial image is checked before anything runs.
import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { parseSettings, type Settings } from "../../dagger/src/config/settings.js"
import { awsNames, awsStack, backendConfigArgs, gcpNames, gcpStack } from "../../dagger/src/terraform/stacks.js"
import { repoRoot } from "../tools/paths.js"

const committed = readFileSync(`${repoRoot}/ci/pipeline.yaml`, "utf8")
const settings: Settings = parseSettings(committed)

function withChanges(mutate: (s: Settings) => void): Settings {
  const copy = structuredClone(settings)
  mutate(copy)
  return copy
}

describe("awsStack", () => {
  it("passes every staging name from the settings as a variable", () => {
    const s = withChanges((x) => {
      x.staging.names.prefix = "demo"
      x.staging.names.cluster = "demo-cluster"
      x.staging.terraform.lockTable = "demo-lock"
    })
    const stack = awsStack(s)
    expect(stack.dir).toBe("aws")
    expect(stack.variables).toMatchObject({
      region: "us-west-1",
      name_prefix: "demo",
      cluster_name: "demo-cluster",
      lock_table: "demo-lock",
      container_port: 8080,
      health_check_path: "/health",
      s3_use_path_style: false,
    })
    expect(stack.variables).not.toHaveProperty("initial_image")
    // Derived names follow the prefix, so the probes look for the renamed resources.
    expect(stack.manifest.find((e) => e.address === "module.service.aws_lb.this")?.probe).toEqual({
      kind: "load-balancer",
      name: "demo-alb",
    })
    expect(stack.manifest.find((e) => e.address === "module.service.aws_ecs_service.this")?.probe).toEqual({
      kind: "ecs-service",
      cluster: "demo-cluster",
      service: s.staging.names.service,
    })
  })

  it("sends an emulator endpoint to the container and switches S3 to path style, nothing else", () => {
    const plain = awsStack(settings)
    expect(plain.env).toEqual({ AWS_REGION: "us-west-1" })
    expect(plain.backendConfig).not.toHaveProperty("use_path_style")
    const emulated = awsStack(withChanges((x) => (x.staging.aws.endpointUrl = "http://moto:5000")))
    expect(emulated.env).toEqual({ AWS_REGION: "us-west-1", AWS_ENDPOINT_URL: "http://moto:5000" })
    expect(emulated.backendConfig.use_path_style).toBe("true")
    expect(emulated.variables.s3_use_path_style).toBe(true)
  })

  it("takes an initial image only when given", () => {
    const pinned = `123456789012.dkr.ecr.us-west-1.amazonaws.com/portfolio@sha256:${"a".repeat(64)}`
    expect(awsStack(settings, { initialImage: pinned }).variables.initial_image).toBe(pinned)
    expect(gcpStack(settings, { initialImage: pinned }).variables.initial_image).toBe(pinned)
  })

  it("refuses an initial image that is not digest-pinned, naming the flag, the value and the fix", () => {
    for (const bad of ["nginx:latest", "garbage value", "", `123456789012.dkr.ecr.us-west-1.amazonaws.com/portfolio:1.4.2`]) {
      for (const stack of [awsStack, gcpStack]) {
        let message = ""
        try {
          stack(settings, { initialImage: bad })
        } catch (err) {
          message = (err as Error).message
        }
        expect(message, `${stack.name} with '${bad}'`).toContain("--initial-image")
        expect(message).toContain(`'${bad}'`)
        expect(message).toMatch(/@sha256:/)
        expect(message).toMatch(/`publish`/)
      }
    }
  })

  it("derives names within AWS limits from a 20-character prefix", () => {
    const n = awsNames(withChanges((x) => (x.staging.names.prefix = "a".repeat(20))))
    expect(n.loadBalancer.length).toBeLessThanOrEqual(32)
    expect(n.targetGroup.length).toBeLessThanOrEqual(32)
    expect(n.executionRole.length).toBeLessThanOrEqual(64)
  })
})

describe("gcpStack", () => {
  it("passes the production names and backend from the settings", () => {
    const stack = gcpStack(settings)
    expect(stack.variables).toMatchObject({
      project: "portfolio-test-476200",
      region: "us-west1",
      service_name: "portfolio-prod",
      artifact_repository: "portfolio-prod",
      state_bucket: settings.production.terraform.stateBucket,
    })
    expect(stack.backendConfig).toEqual({ bucket: settings.production.terraform.stateBucket, prefix: "production" })
    expect(gcpNames(settings).runtimeServiceAccountEmail).toBe("portfolio-prod-run@portfolio-test-476200.iam.gserviceaccount.com")
  })

  it("rejects a service name whose service account ID would be too long, saying how long it may be", () => {
    expect(() => gcpStack(withChanges((x) => (x.production.names.service = "a".repeat(27))))).toThrow(
      /27 characters; at most 26 fit because the runtime service account ID/,
    )
  })
})

describe("backendConfigArgs", () => {
  it("renders -backend-config flags in a stable order", () => {
    expect(backendConfigArgs({ key: "k", bucket: "b" })).toEqual(["-backend-config=bucket=b", "-backend-config=key=k"])
  })
})
