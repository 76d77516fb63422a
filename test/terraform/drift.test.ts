// The drift analysis on refresh-only plans shaped like Terraform's (`terraform show -json`,
// format_version 1.2, resource_drift[] with the state before and the cloud after). Golden cases in
// test/fixtures/terraform-drift/<case>/{plan.json, expected.md}; first-refresh and
// hand-edits-after-first-refresh are trimmed from the real plans of test/terraform/drift-moto.test.ts
// (Terraform 1.11.4, hashicorp/aws 5.100.0, moto) taken right after the apply that created the stack.
import { readFileSync, readdirSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { analyzeDrift, driftLines, renderDrift, type DriftReport } from "../../dagger/src/terraform/drift.js"
import { AWS_OWNERSHIP, GCP_OWNERSHIP } from "../../dagger/src/terraform/ownership.js"
import { repoRoot } from "../tools/paths.js"

const fixtures = join(repoRoot, "test/fixtures/terraform-drift")
const ownership = [...AWS_OWNERSHIP, ...GCP_OWNERSHIP]
const planOf = (name: string): unknown => JSON.parse(readFileSync(join(fixtures, name, "plan.json"), "utf8"))

// A refresh-only plan of one resource in module.m, as Terraform writes it: its drift, its configuration
// expressions (or none: not in the configuration) and the refreshed state of the resources given.
interface OneResource {
  before: Record<string, unknown>
  after: Record<string, unknown>
  /** The resource's expressions; undefined leaves it out of the configuration. */
  expressions?: Record<string, unknown>
  /** Other resources of module.m: expressions and refreshed values (an address with an index is a counted instance). */
  others?: { address: string; expressions: Record<string, unknown>; values: Record<string, unknown> }[]
  address?: string
}
const ADDRESS = "aws_iam_role.task"
const ref = (...refs: string[]) => ({ references: refs })
const constant = (v: unknown) => ({ constant_value: v })

function planOfOne(c: OneResource): unknown {
  const address = c.address ?? ADDRESS
  const configured = [
    ...(c.expressions ? [{ address: address.replace(/\[.*\]$/, ""), mode: "managed", expressions: c.expressions }] : []),
    ...(c.others ?? []).map((o) => ({ address: o.address.replace(/\[.*\]$/, ""), mode: "managed", expressions: o.expressions })),
  ]
  return {
    format_version: "1.2",
    resource_drift: [
      { address: `module.m.${address}`, type: address.split(".")[0], mode: "managed", change: { actions: ["update"], before: c.before, after: c.after } },
    ],
    prior_state: {
      values: { root_module: { child_modules: [{ address: "module.m", resources: (c.others ?? []).map((o) => ({ address: `module.m.${o.address}`, values: o.values })) }] } },
    },
    configuration: { root_module: { module_calls: { m: { module: { resources: configured } } } } },
  }
}

const POLICY = '{"Statement":[{"Action":"s3:*","Effect":"Allow","Resource":"*"}]}'
const rolePolicy = {
  address: "aws_iam_role_policy.task",
  expressions: { name: constant("app"), policy: ref("data.aws_iam_policy_document.app.json"), role: ref("aws_iam_role.task.id", "aws_iam_role.task") },
  values: { name: "app", policy: POLICY, role: "task" },
}

describe("analyzeDrift: which differences a refresh reports are drift", () => {
  // The attribute paths reported as drift for each case.
  it.each<[string, OneResource, string[]]>([
    [
      "null, [], {}, \"\" and absent are one unset value (the first read's tags, lists and strings)",
      { before: { tags: null, managed_policy_arns: null, path: "", x: [] }, after: { tags: {}, managed_policy_arns: [], path: null }, expressions: { name: constant("task") } },
      [],
    ],
    [
      "a declared attribute counts, also from unset to set",
      {
        before: { name: "task", max_session_duration: 3600, permissions_boundary: "" },
        after: { name: "task", max_session_duration: 7200, permissions_boundary: "arn:aws:iam::1:policy/b" },
        expressions: { max_session_duration: constant(3600), permissions_boundary: constant(null) },
      },
      ["max_session_duration", "permissions_boundary"],
    ],
    [
      "an undeclared attribute that state held a value for counts (a provider default, a default tag)",
      {
        before: { max_session_duration: 3600, tags_all: { Environment: "staging" } },
        after: { max_session_duration: 43200, tags_all: { Environment: "prod", Owner: "x" } },
        expressions: { name: constant("task") },
      },
      ["max_session_duration", "tags_all.Environment", "tags_all.Owner"],
    ],
    [
      "an undeclared attribute the read fills in with a zero value is not drift",
      { before: { max_session_duration: null, force_detach_policies: null }, after: { max_session_duration: 0, force_detach_policies: false }, expressions: {} },
      [],
    ],
    [
      "an undeclared attribute the read fills in with what a resource referring to this one holds is not drift (inline_policy from aws_iam_role_policy)",
      { before: { inline_policy: [] }, after: { inline_policy: [{ name: "app", policy: POLICY }] }, expressions: { name: constant("task") }, others: [rolePolicy] },
      [],
    ],
    [
      "an inline policy added by hand to a role no aws_iam_role_policy refers to is drift",
      { before: { inline_policy: [] }, after: { inline_policy: [{ name: "hand", policy: POLICY }] }, expressions: { name: constant("task") } },
      ["inline_policy"],
    ],
    [
      "a value held by a resource that does not refer to this one is no excuse",
      {
        before: { inline_policy: [] },
        after: { inline_policy: [{ name: "app", policy: POLICY }] },
        expressions: { name: constant("task") },
        others: [{ ...rolePolicy, expressions: { ...rolePolicy.expressions, role: ref("aws_iam_role.other.id") } }],
      },
      ["inline_policy"],
    ],
    [
      "a rule added by hand to the adopted default security group (which declares none) is drift",
      {
        address: "aws_default_security_group.this",
        before: { vpc_id: "vpc-1", ingress: [] },
        after: { vpc_id: "vpc-1", ingress: [{ cidr_blocks: ["0.0.0.0/0"], from_port: 22, to_port: 22, protocol: "tcp" }] },
        expressions: { vpc_id: ref("aws_vpc.this.id", "aws_vpc.this") },
      },
      ["ingress"],
    ],
    [
      "inside a declared block only what the blocks declare is held to the rule; a set's blocks in any order",
      {
        address: "aws_cloudwatch_metric_alarm.a",
        before: { metric_query: [{ id: "errors", period: null, metric: [{ period: 60, stat: "Sum" }] }, { id: "rate", period: null, expression: "a" }] },
        after: { metric_query: [{ id: "errors", period: 0, metric: [{ period: 300, stat: "Sum" }] }, { id: "rate", period: 0, expression: "b" }] },
        expressions: {
          metric_query: [{ id: constant("rate"), expression: constant("a") }, { id: constant("errors"), metric: [{ period: constant(60), stat: constant("Sum") }] }],
        },
      },
      ["metric_query[0].metric[0].period", "metric_query[1].expression"],
    ],
    [
      "what a later block of the same type declares in its own nested blocks counts too",
      {
        address: "aws_cloudwatch_metric_alarm.a",
        before: { metric_query: [{ id: "a", metric: [{ stat: "Sum", unit: null }] }, { id: "b", metric: [{ stat: "Sum", unit: null }] }] },
        after: { metric_query: [{ id: "a", metric: [{ stat: "Sum", unit: null }] }, { id: "b", metric: [{ stat: "Sum", unit: 0 }] }] },
        expressions: { metric_query: [{ id: constant("a"), metric: [{ stat: constant("Sum") }] }, { id: constant("b"), metric: [{ unit: ref("var.unit") }] }] },
      },
      ["metric_query[1].metric[0].unit"],
    ],
    [
      "a counted instance is held to its resource's configuration, and a counted referrer's instances hold its values",
      {
        address: "aws_iam_role.task[0]",
        before: { tags: null, inline_policy: [] },
        after: { tags: {}, inline_policy: [{ name: "app", policy: POLICY }] },
        expressions: {},
        others: [{ ...rolePolicy, address: 'aws_iam_role_policy.task["app"]' }],
      },
      [],
    ],
    [
      "a resource missing from the configuration has every difference but unset → unset counted",
      { before: { tags: null, max_session_duration: null }, after: { tags: {}, max_session_duration: 0 } },
      ["max_session_duration"],
    ],
  ])("%s", (_name, c, drifted) => {
    const report: DriftReport = analyzeDrift(planOfOne(c), ownership)
    expect(report.drifted.flatMap((r) => r.attributes.map((a) => `${r.address} ${a.path}`))).toEqual(
      drifted.map((path) => `module.m.${c.address ?? ADDRESS} ${path}`),
    )
    expect(report.ownedOnly).toEqual([])
  })

  it("drift in owned fields next to first-read fills leaves the resource owned-only", () => {
    const plan = {
      resource_drift: [
        {
          address: "module.service.aws_ecs_service.this",
          type: "aws_ecs_service",
          mode: "managed",
          change: { actions: ["update"], before: { desired_count: 1, tags: null }, after: { desired_count: 3, tags: {} } },
        },
      ],
      configuration: {
        root_module: {
          module_calls: { service: { module: { resources: [{ address: "aws_ecs_service.this", expressions: { desired_count: constant(1) } }] } } },
        },
      },
    }
    expect(analyzeDrift(plan, ownership)).toEqual({ drifted: [], ownedOnly: ["module.service.aws_ecs_service.this"] })
  })
})

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
