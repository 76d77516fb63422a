// The drift analysis on refresh-only plans shaped like Terraform's (`terraform show -json`,
// format_version 1.2, resource_drift[] with the state before and the cloud after). Golden cases in
// test/fixtures/terraform-drift/<case>/{plan.json, expected.md}.
import { readFileSync, readdirSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { analyzeDrift, driftLines, renderDrift } from "../../dagger/src/terraform/drift.js"
import { AWS_OWNERSHIP, GCP_OWNERSHIP } from "../../dagger/src/terraform/ownership.js"
import { repoRoot } from "../tools/paths.js"

const fixtures = join(repoRoot, "test/fixtures/terraform-drift")
const ownership = [...AWS_OWNERSHIP, ...GCP_OWNERSHIP]
const planOf = (name: string): unknown => JSON.parse(readFileSync(join(fixtures, name, "plan.json"), "utf8"))

describe("analyzeDrift (golden refresh-only plans)", () => {
  it.each(readdirSync(fixtures))("%s", (name) => {
    const markdown = renderDrift("AWS", analyzeDrift(planOf(name), ownership))
    expect(markdown).toBe(readFileSync(join(fixtures, name, "expected.md"), "utf8"))
  })

  it("names the hand-edited health path and log retention, and not the pipeline's desired_count", () => {
    const report = analyzeDrift(planOf("hand-edits"), ownership)
    expect(driftLines("AWS", report)).toEqual([
      'AWS module.service.aws_lb_target_group.this.health_check[0].path: "/health" → "/healthz"',
      "AWS module.service.aws_cloudwatch_log_group.app.retention_in_days: 7 → 30",
    ])
    expect(report.ownedOnly).toEqual(["module.service.aws_ecs_service.this"])
  })

  it("is quiet when only owned fields (desired_count, task_definition, Cloud Run traffic and revision) moved", () => {
    const report = analyzeDrift(planOf("owned-fields-only"), ownership)
    expect(report.drifted).toEqual([])
    expect(report.ownedOnly).toHaveLength(2)
    expect(renderDrift("GCP", report)).toBe("**GCP**: no drift.\n")
  })

  it("an owned field of another resource does not hide the same attribute name here", () => {
    const plan = {
      resource_drift: [
        {
          address: "module.other.aws_ecs_service.this",
          type: "aws_ecs_service",
          mode: "managed",
          change: { actions: ["update"], before: { desired_count: 1 }, after: { desired_count: 3 } },
        },
      ],
    }
    expect(driftLines("AWS", analyzeDrift(plan, ownership))).toEqual(["AWS module.other.aws_ecs_service.this.desired_count: 1 → 3"])
  })

  it("a plan without resource_drift has no drift; a non-plan is refused with the command that makes one", () => {
    expect(analyzeDrift({ format_version: "1.2" }, ownership).drifted).toEqual([])
    expect(() => analyzeDrift({ resource_drift: "x" }, ownership)).toThrow(/terraform plan -refresh-only/)
  })
})
