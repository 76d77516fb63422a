// Reading a saved plan's JSON: change counts, imports, and the guard against destroying stateful
// resources. Plans are written in Terraform's documented JSON plan format (format_version 1.2).
import { describe, expect, it } from "vitest"
import {
  DestroyRefusedError,
  STATEFUL_RESOURCE_TYPES,
  changeKind,
  guardDestroy,
  reviewPlan,
} from "../../dagger/src/terraform/guard.js"

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
      rc("module.service.aws_lb.this", "aws_lb", ["delete"]),
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
    // The stateless load balancer is not in the refusal.
    expect(message).not.toContain("aws_lb.this")
  })

  it("lets the plan through with an explicit allowDestroy, and always when nothing stateful goes", () => {
    expect(() => guardDestroy("aws", reviewPlan(destroying), true)).not.toThrow()
    expect(() => guardDestroy("aws", reviewPlan(quietPlan), false)).not.toThrow()
  })

  it("protects the state buckets, the lock table and both image registries", () => {
    expect(Object.keys(STATEFUL_RESOURCE_TYPES).sort()).toEqual([
      "aws_dynamodb_table",
      "aws_ecr_repository",
      "aws_s3_bucket",
      "google_artifact_registry_repository",
      "google_storage_bucket",
    ])
  })
})
