// Reading a saved plan's JSON: change counts, imports, and the guard against destroying stateful
// resources or the running service. Plans are written in Terraform's documented JSON plan format
// (format_version 1.2); the guard's golden cases are in test/fixtures/terraform-plans/<case>/.
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import {
  DestroyRefusedError,
  SERVING_RESOURCE_TYPES,
  STATEFUL_RESOURCE_TYPES,
  changeKind,
  guardDestroy,
  reviewPlan,
} from "../../dagger/src/terraform/guard.js"
import { repoRoot } from "../tools/paths.js"

function rc(address: string, type: string, actions: string[], extra: Record<string, unknown> = {}) {
  return { address, type, mode: "managed", name: "x", change: { actions, ...extra } }
}

const quietPlan = {
  format_version: "1.2",
  resource_changes: [
    rc("module.state_backend.aws_s3_bucket.state", "aws_s3_bucket", ["no-op"], { importing: { id: "bucket" } }),
    rc("module.service.aws_lb.this", "aws_lb", ["create"]),
    rc("module.service.aws_ecs_service.this", "aws_ecs_service", ["update"]),
    rc("module.service.aws_ecs_task_definition.this", "aws_ecs_task_definition", ["delete", "create"], {}),
    { address: "data.aws_region.current", type: "aws_region", mode: "data", change: { actions: ["read"] } },
  ],
}

describe("reviewPlan", () => {
  it("counts imports, creates, updates, replacements and destroys", () => {
    const review = reviewPlan(quietPlan)
    expect(review.counts).toEqual({ import: 1, create: 1, update: 1, replace: 1, delete: 0, forget: 0 })
    expect(review.imports).toEqual(["module.state_backend.aws_s3_bucket.state"])
    expect(review.line).toBe("1 to import, 1 to add, 1 to change, 1 to replace, 0 to destroy")
    expect(review.destroys.map((d) => d.address)).toEqual(["module.service.aws_ecs_task_definition.this"])
    expect(review.statefulDestroys).toEqual([])
  })

  it("knows every action list Terraform writes, and refuses unknown ones", () => {
    expect(changeKind(["create", "delete"])).toBe("replace")
    expect(changeKind(["forget"])).toBe("forget")
    expect(() => changeKind(["explode"])).toThrow(/unknown Terraform change actions \[explode\]/)
  })

  it("says when the input is not a plan, or an errored one", () => {
    expect(() => reviewPlan({ resource_changes: "nope" })).toThrow(/not in Terraform's plan format \(resource_changes/)
    expect(() => reviewPlan({ format_version: "1.2", errored: true })).toThrow(/errored/)
  })
})

describe("guardDestroy", () => {
  const destroying = {
    format_version: "1.2",
    resource_changes: [
      rc("module.state_backend.aws_s3_bucket.state", "aws_s3_bucket", ["delete"]),
      rc("module.registry.google_artifact_registry_repository.this", "google_artifact_registry_repository", ["delete", "create"]),
      { ...rc("module.state_backend.aws_dynamodb_table.lock", "aws_dynamodb_table", ["create", "delete"]), action_reason: "replace_because_cannot_update" },
      rc("module.network.aws_route_table.public", "aws_route_table", ["delete"]),
    ],
  }

  it("refuses a plan that destroys or replaces state, lock table or registries, and says why and what to do", () => {
    const review = reviewPlan(destroying)
    expect(review.statefulDestroys.map((d) => d.address)).toEqual([
      "module.state_backend.aws_s3_bucket.state",
      "module.registry.google_artifact_registry_repository.this",
      "module.state_backend.aws_dynamodb_table.lock",
    ])
    let error: unknown
    try {
      guardDestroy("aws", review, false)
    } catch (err) {
      error = err
    }
    expect(error).toBeInstanceOf(DestroyRefusedError)
    const message = (error as Error).message
    expect(message).toContain("refusing to apply the aws plan: it would destroy 3 stateful resources")
    expect(message).toContain("module.state_backend.aws_s3_bucket.state (destroyed): the S3 bucket holds Terraform state")
    expect(message).toContain("(replaced, i.e. destroyed and re-created, replace_because_cannot_update)")
    expect(message).toContain("re-run with --allow-destroy")
    // A route table holds no data and runs nothing: it is not in the refusal.
    expect(message).not.toContain("aws_route_table")
  })

  it("lets the plan through with an explicit allowDestroy, and always when nothing stateful goes", () => {
    expect(() => guardDestroy("aws", reviewPlan(destroying), true)).not.toThrow()
    expect(() => guardDestroy("aws", reviewPlan(quietPlan), false)).not.toThrow()
  })

  it("protects the state buckets, the lock table, both image registries and the running services", () => {
    expect(Object.keys(STATEFUL_RESOURCE_TYPES).sort()).toEqual([
      "aws_dynamodb_table",
      "aws_ecr_repository",
      "aws_s3_bucket",
      "google_artifact_registry_repository",
      "google_storage_bucket",
    ])
    expect(Object.keys(SERVING_RESOURCE_TYPES).sort()).toEqual([
      "aws_ecs_cluster",
      "aws_ecs_service",
      "aws_lb",
      "aws_lb_listener",
      "aws_lb_target_group",
      "google_cloud_run_v2_service",
    ])
  })
})

interface GuardCase {
  description: string
  stack: "AWS" | "GCP"
  line: string
  refused: { address: string; kind: "delete" | "replace"; protects: "data" | "service" }[]
  /** Parts of the refusal's message, beyond each refused address and its reason. */
  message: string[]
}

describe("guardDestroy (golden plans in test/fixtures/terraform-plans)", () => {
  const fixtures = join(repoRoot, "test/fixtures/terraform-plans")
  const cases = readdirSync(fixtures).sort()
  const read = (name: string, file: string): unknown => JSON.parse(readFileSync(join(fixtures, name, file), "utf8"))

  it("has cases that refuse and cases that pass", () => {
    const refusing = cases.filter((name) => (read(name, "expected.json") as GuardCase).refused.length > 0)
    expect(refusing.length).toBeGreaterThan(0)
    expect(refusing.length).toBeLessThan(cases.length)
  })

  it.each(cases)("%s", (name) => {
    const expected = read(name, "expected.json") as GuardCase
    const review = reviewPlan(read(name, "plan.json"))
    expect(review.line).toBe(expected.line)
    const refused = review.destroys.filter((d) => d.protects !== undefined)
    expect(refused.map(({ address, kind, protects }) => ({ address, kind, protects }))).toEqual(expected.refused)
    expect([...review.statefulDestroys, ...review.serviceDestroys].map((d) => d.address).sort()).toEqual(
      expected.refused.map((r) => r.address).sort(),
    )

    if (expected.refused.length === 0) {
      expect(() => guardDestroy(expected.stack, review, false)).not.toThrow()
      return
    }
    let error: unknown
    try {
      guardDestroy(expected.stack, review, false)
    } catch (err) {
      error = err
    }
    expect(error, "the guard refuses").toBeInstanceOf(DestroyRefusedError)
    const message = (error as Error).message
    expect(message).toContain(`refusing to apply the ${expected.stack} plan`)
    for (const r of refused) expect(message).toContain(`${r.address} (`)
    for (const r of refused) expect(message).toContain(r.why!)
    for (const part of expected.message) expect(message).toContain(part)
    expect(message).toContain("Nothing was applied")
    expect(message).toContain("--allow-destroy")
    expect(() => guardDestroy(expected.stack, review, true)).not.toThrow()
  })
})
