// A stack's saved plan as Markdown for a pull request: what it adds, changes, replaces, destroys and
// adopts, what the destroy guard would refuse to apply, and which priced resources it changes. Pure:
// it reads the plan's JSON (`terraform show -json`), the guard's review and ci/pricing.yaml.
//
// Cost honesty: the plan knows resources, not usage. A figure is given only where the price is a fixed
// hourly charge of the resource itself (a load balancer's hours, with the table's assumed LCUs);
// Fargate tasks and Cloud Run instances are billed by counts the pipeline sets at deploy time, so the
// summary names the priced attributes that change and the rates, without a figure.
import { z } from "#zod"
import type { Pricing } from "../report/cost.js"
import { changeKind, ResourceChangeSchema, reviewPlan, type ChangeKind, type PlanReview, type ResourceChange } from "./guard.js"

const PlanChangesSchema = z.object({ resource_changes: z.array(ResourceChangeSchema).optional() })

/** What the pipeline pays for, by resource type: which attributes set the price, and the rate's name. */
const PRICED: Readonly<Record<string, { attributes: readonly string[]; billed: (p: Pricing) => string }>> = {
  aws_lb: {
    attributes: [],
    billed: (p) => `ALB hours at $${p.aws.alb.hour.usd}/h plus ${p.aws.alb.assumedLcus} assumed LCU at $${p.aws.alb.lcuHour.usd}/LCU-hour`,
  },
  aws_ecs_task_definition: {
    attributes: ["cpu", "memory"],
    billed: (p) =>
      `Fargate per running task: $${p.aws.fargate.vcpuHour.usd}/vCPU-hour, $${p.aws.fargate.gbHour.usd}/GB-hour ` +
      "(the task count is the pipeline's desired_count, not in the plan)",
  },
  aws_ecs_service: {
    attributes: ["launch_type", "network_configuration"],
    billed: (p) =>
      `Fargate tasks at $${p.aws.fargate.vcpuHour.usd}/vCPU-hour, $${p.aws.fargate.gbHour.usd}/GB-hour; ` +
      `public IPv4 at $${p.aws.publicIpv4Hour.usd}/address-hour with assign_public_ip`,
  },
  google_cloud_run_v2_service: {
    attributes: ["template", "scaling"],
    billed: (p) =>
      `Cloud Run instances: $${p.gcp.cloudRun.requestBased.vcpuSecond.usd}/vCPU-second request-based, ` +
      `$${p.gcp.cloudRun.instanceBased.vcpuSecond.usd}/vCPU-second instance-based (min instances set the idle cost)`,
  },
}

export interface PlanSummaryInput {
  /** "AWS" or "GCP". */
  stack: string
  /** The Terraform root, e.g. terraform/aws. */
  dir: string
  /** `terraform show -json` of the saved plan. */
  planJson: unknown
  /** State backend resources this run created (normally none). */
  bootstrapped?: readonly string[]
  pricing: Pricing
}

const ACTION_TEXT: Partial<Record<ChangeKind, string>> = {
  create: "add",
  update: "change",
  replace: "replace",
  delete: "destroy",
  forget: "forget",
}

/** The Markdown section of one stack's plan. */
export function renderPlanSummary(input: PlanSummaryInput): string {
  const review: PlanReview = reviewPlan(input.planJson)
  const changes = PlanChangesSchema.parse(input.planJson).resource_changes ?? []
  const managed = changes.filter((c) => c.mode === undefined || c.mode === "managed")
  const lines = [`### ${input.stack} (${input.dir}): ${review.line}`, ""]

  const refused = review.destroys.filter((d) => d.protects !== undefined)
  if (refused.length > 0) {
    lines.push(`❌ **apply would refuse this plan without --allow-destroy:**`, "")
    for (const d of refused) {
      lines.push(`- ❌ **\`${d.address}\` ${d.kind === "replace" ? "replaced" : "destroyed"}**: ${d.why}`)
    }
    lines.push("")
  }

  const rows = managed
    .map((c) => ({ c, kind: changeKind(c.change.actions) }))
    .filter(({ c, kind }) => ACTION_TEXT[kind] !== undefined || c.change.importing)
  if (rows.length === 0) {
    lines.push("No changes: the infrastructure matches the configuration.", "")
  } else {
    lines.push("| Action | Address |", "| --- | --- |")
    for (const { c, kind } of rows) {
      const action = [c.change.importing ? "import" : "", ACTION_TEXT[kind] ?? ""].filter(Boolean).join(" + ")
      lines.push(`| ${action} | \`${c.address}\` |`)
    }
    lines.push("")
  }

  if (review.imports.length > 0) {
    lines.push(
      `**Adopted** (they exist in the cloud but not in state; imported instead of created): ` +
        review.imports.map((a) => `\`${a}\``).join(", "),
      "",
    )
  }
  if (input.bootstrapped && input.bootstrapped.length > 0) {
    lines.push(`**State backend created by this run:** ${input.bootstrapped.join(", ")}`, "")
  }

  lines.push(...costLines(managed, input.pricing))
  return lines.join("\n") + "\n"
}

function costLines(changes: ResourceChange[], pricing: Pricing): string[] {
  const priced = changes.flatMap((c) => {
    const kind = changeKind(c.change.actions)
    const rule = PRICED[c.type]
    if (!rule || ACTION_TEXT[kind] === undefined) return []
    const changed = kind === "update" ? changedAttributes(c.change.before, c.change.after, rule.attributes) : []
    // An update that touches no priced attribute (tags, health checks) leaves the bill as it was.
    if (kind === "update" && changed.length === 0) return []
    return [{ address: c.address, type: c.type, kind, changed, billed: rule.billed(pricing) }]
  })
  const asOf = `ci/pricing.yaml as of ${pricing.asOf}`
  if (priced.length === 0) return [`**Cost:** cost unchanged by this plan (no priced resource changes; ${asOf}).`]
  const lines = [`**Cost** (${asOf}): this plan changes priced resources:`, ""]
  for (const p of priced) {
    const monthly = p.type === "aws_lb" && p.kind !== "update" && p.kind !== "replace" ? albMonthly(pricing) : undefined
    const delta = monthly === undefined ? "" : ` (${p.kind === "create" ? "+" : "−"}$${monthly.toFixed(2)}/month)`
    const what = p.changed.length > 0 ? `: ${p.changed.join(", ")}` : ""
    lines.push(`- \`${p.address}\` ${ACTION_TEXT[p.kind]}${what}${delta} — ${p.billed}`)
  }
  if (priced.some((p) => p.type !== "aws_lb")) {
    lines.push("", "No total is given: those prices depend on task and instance counts the pipeline sets at deploy time.")
  }
  return lines
}

function albMonthly(p: Pricing): number {
  return (p.aws.alb.hour.usd + p.aws.alb.lcuHour.usd * p.aws.alb.assumedLcus) * p.hoursPerMonth
}

function changedAttributes(before: unknown, after: unknown, attributes: readonly string[]): string[] {
  const b = (before ?? {}) as Record<string, unknown>
  const a = (after ?? {}) as Record<string, unknown>
  return attributes
    .filter((k) => JSON.stringify(b[k]) !== JSON.stringify(a[k]))
    .map((k) => {
      const simple = (v: unknown) => typeof v !== "object" || v === null
      return simple(b[k]) && simple(a[k]) ? `${k} ${JSON.stringify(b[k])} → ${JSON.stringify(a[k])}` : k
    })
}
