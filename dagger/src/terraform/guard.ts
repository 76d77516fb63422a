// Reading a saved plan (`terraform show -json tfplan`) before it is applied: what it changes, and
// whether it destroys what must not go without an explicit --allow-destroy: resources that hold data
// nobody can re-create (state, images), and the running service with what it stands on. Pure.
import { z } from "#zod"

/** Resource types that hold state or history; destroying one loses data, not just infrastructure. */
export const STATEFUL_RESOURCE_TYPES: Readonly<Record<string, string>> = {
  aws_s3_bucket: "the S3 bucket holds Terraform state; destroying it forgets every resource the stack manages",
  aws_dynamodb_table: "the DynamoDB table locks Terraform state; without it concurrent runs can corrupt state",
  aws_ecr_repository: "the ECR repository holds every staging image; rollbacks need the previous ones",
  google_storage_bucket: "the GCS bucket holds Terraform state; destroying it forgets every resource the stack manages",
  google_artifact_registry_repository:
    "the Artifact Registry repository holds every production image; rollbacks need the previous ones",
}

// Terraform re-creates an ECS service from its template task definition (APP_VERSION 0.0.0-unreleased),
// not from the release it ran: the pipeline would then read that revision as the one to roll back to.
const ECS_SERVICE_RECREATED =
  "the ECS service is re-created on Terraform's template revision (APP_VERSION 0.0.0-unreleased), which then " +
  "becomes the rollback target, and staging serves nothing until the next deploy"

/** Resource types the running service is or stands on; destroying one takes the release down. */
export const SERVING_RESOURCE_TYPES: Readonly<Record<string, string>> = {
  aws_ecs_service: `staging runs in it: ${ECS_SERVICE_RECREATED}`,
  aws_ecs_cluster: `the staging service runs in it: ${ECS_SERVICE_RECREATED}`,
  aws_lb: "it is staging's public address: its DNS name (service_url) changes and staging is unreachable until it is back",
  aws_lb_listener: "it forwards staging's traffic: staging is unreachable between its deletion and re-creation",
  aws_lb_target_group:
    "it holds the staging service's running tasks: a re-created one starts empty, so the load balancer answers 503 " +
    "until ECS registers tasks in it again",
  google_cloud_run_v2_service:
    "it runs production: its deletion_protection makes Terraform fail half-way through the apply, and without " +
    "protection production would be down and lose every revision the rollback needs",
}

/**
 * One entry of `terraform show -json`'s `resource_changes` (and, same shape, `resource_drift`): the one
 * definition the guard, the plan summary and the drift check read.
 */
export const ResourceChangeSchema = z.object({
  address: z.string(),
  type: z.string(),
  mode: z.string().optional(),
  action_reason: z.string().optional(),
  change: z.object({
    actions: z.array(z.string()),
    before: z.unknown().optional(),
    after: z.unknown().optional(),
    importing: z.object({ id: z.string().optional() }).passthrough().nullable().optional(),
  }),
})

const PlanJsonSchema = z.object({
  format_version: z.string().optional(),
  resource_changes: z.array(ResourceChangeSchema).optional(),
  errored: z.boolean().optional(),
})

export type ResourceChange = z.infer<typeof ResourceChangeSchema>

/** How one resource changes, in Terraform's own words. */
export type ChangeKind = "create" | "update" | "delete" | "replace" | "forget" | "read" | "no-op"

export function changeKind(actions: readonly string[]): ChangeKind {
  const key = actions.join(",")
  switch (key) {
    case "create":
    case "update":
    case "delete":
    case "forget":
    case "read":
    case "no-op":
      return key
    case "delete,create":
    case "create,delete":
      return "replace"
    default:
      throw new Error(`unknown Terraform change actions [${key}]; is the Terraform image newer than this pipeline knows?`)
  }
}

export interface DestroyedResource {
  address: string
  type: string
  kind: "delete" | "replace"
  /** Terraform's reason for a replacement, e.g. replace_because_cannot_update. */
  actionReason?: string
  /** What destroying it costs: data (a stateful type) or the running service; absent when it costs neither. */
  protects?: "data" | "service"
  /** Why losing it matters (only for protected types). */
  why?: string
}

export interface PlanReview {
  counts: { import: number; create: number; update: number; replace: number; delete: number; forget: number }
  /** Addresses being adopted by import blocks. */
  imports: string[]
  /** Every resource the plan destroys (deleted or replaced). */
  destroys: DestroyedResource[]
  /** The stateful ones among them: applying needs an explicit allowDestroy. */
  statefulDestroys: DestroyedResource[]
  /** The running service and what it stands on, among them: applying needs an explicit allowDestroy. */
  serviceDestroys: DestroyedResource[]
  /** One line for logs and reports: "2 to import, 3 to add, 1 to change, 0 to replace, 0 to destroy". */
  line: string
}

/** Reads the JSON of a saved plan; throws naming what is wrong when it is not one. */
export function reviewPlan(planJson: unknown): PlanReview {
  const parsed = PlanJsonSchema.safeParse(planJson)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new Error(
      `the saved plan's JSON is not in Terraform's plan format (${issue?.path.join(".") || "top level"}: ${issue?.message}); ` +
        "was it produced by `terraform show -json <planfile>`?",
    )
  }
  if (parsed.data.errored) {
    throw new Error("the saved plan is marked as errored by Terraform; it cannot be applied. Read the plan output and fix the error.")
  }
  const counts = { import: 0, create: 0, update: 0, replace: 0, delete: 0, forget: 0 }
  const imports: string[] = []
  const destroys: DestroyedResource[] = []
  for (const rc of parsed.data.resource_changes ?? []) {
    if (rc.mode !== undefined && rc.mode !== "managed") continue
    if (rc.change.importing) {
      counts.import++
      imports.push(rc.address)
    }
    const kind = changeKind(rc.change.actions)
    if (kind === "read" || kind === "no-op") continue
    counts[kind]++
    if (kind === "delete" || kind === "replace") {
      destroys.push({
        address: rc.address,
        type: rc.type,
        kind,
        ...(rc.action_reason ? { actionReason: rc.action_reason } : {}),
        ...protection(rc.type),
      })
    }
  }
  const line =
    `${counts.import} to import, ${counts.create} to add, ${counts.update} to change, ` +
    `${counts.replace} to replace, ${counts.delete} to destroy` +
    (counts.forget ? `, ${counts.forget} to forget` : "")
  return {
    counts,
    imports,
    destroys,
    statefulDestroys: destroys.filter((d) => d.protects === "data"),
    serviceDestroys: destroys.filter((d) => d.protects === "service"),
    line,
  }
}

function protection(type: string): Pick<DestroyedResource, "protects" | "why"> {
  const data = STATEFUL_RESOURCE_TYPES[type]
  if (data) return { protects: "data", why: data }
  const service = SERVING_RESOURCE_TYPES[type]
  return service ? { protects: "service", why: service } : {}
}

/** A plan that would destroy stateful resources or the running service was not applied. */
export class DestroyRefusedError extends Error {
  override name = "DestroyRefusedError"
  constructor(
    readonly stackName: string,
    readonly resources: DestroyedResource[],
  ) {
    const count = (protects: DestroyedResource["protects"], one: string, many: string) => {
      const n = resources.filter((r) => r.protects === protects).length
      return n === 0 ? [] : [`${n} ${n === 1 ? one : many}`]
    }
    const what = [
      ...count("data", "stateful resource", "stateful resources"),
      ...count("service", "resource of the running service", "resources of the running service"),
    ].join(" and ")
    super(
      `refusing to apply the ${stackName} plan: it would destroy ${what}:\n` +
        resources
          .map(
            (r) =>
              `  - ${r.address} (${r.kind === "replace" ? "replaced, i.e. destroyed and re-created" : "destroyed"}` +
              `${r.actionReason ? `, ${r.actionReason}` : ""}): ${r.why}`,
          )
          .join("\n") +
        "\nNothing was applied. If this is intended (the data lost, the service taken down and re-created), re-run " +
        "with --allow-destroy; otherwise change the Terraform code (or the settings) so the plan keeps these resources.",
    )
  }
}

/** Throws DestroyRefusedError unless the plan keeps every protected resource or `allowDestroy` is set. */
export function guardDestroy(stack: string, review: PlanReview, allowDestroy: boolean): void {
  const refused = review.destroys.filter((d) => d.protects !== undefined)
  if (!allowDestroy && refused.length > 0) throw new DestroyRefusedError(stack, refused)
}
