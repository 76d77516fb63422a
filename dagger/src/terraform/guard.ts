// Reading a saved plan (`terraform show -json tfplan`) before it is applied: what it changes, and
// whether it destroys a resource that holds data nobody can re-create (state, images). Pure.
import { z } from "zod"

/** Resource types that hold state or history; destroying one loses data, not just infrastructure. */
export const STATEFUL_RESOURCE_TYPES: Readonly<Record<string, string>> = {
  aws_s3_bucket: "the S3 bucket holds Terraform state; destroying it forgets every resource the stack manages",
  aws_dynamodb_table: "the DynamoDB table locks Terraform state; without it concurrent runs can corrupt state",
  aws_ecr_repository: "the ECR repository holds every staging image; rollbacks need the previous ones",
  google_storage_bucket: "the GCS bucket holds Terraform state; destroying it forgets every resource the stack manages",
  google_artifact_registry_repository:
    "the Artifact Registry repository holds every production image; rollbacks need the previous ones",
}

const ResourceChangeSchema = z.object({
  address: z.string(),
  type: z.string(),
  mode: z.string().optional(),
  action_reason: z.string().optional(),
  change: z.object({
    actions: z.array(z.string()),
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
  /** Why losing it matters (only for stateful types). */
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
      const why = STATEFUL_RESOURCE_TYPES[rc.type]
      destroys.push({
        address: rc.address,
        type: rc.type,
        kind,
        ...(rc.action_reason ? { actionReason: rc.action_reason } : {}),
        ...(why ? { why } : {}),
      })
    }
  }
  const line =
    `${counts.import} to import, ${counts.create} to add, ${counts.update} to change, ` +
    `${counts.replace} to replace, ${counts.delete} to destroy` +
    (counts.forget ? `, ${counts.forget} to forget` : "")
  return { counts, imports, destroys, statefulDestroys: destroys.filter((d) => d.why !== undefined), line }
}

/** A plan that would destroy stateful resources was not applied. */
export class DestroyRefusedError extends Error {
  override name = "DestroyRefusedError"
  constructor(
    readonly stackName: string,
    readonly resources: DestroyedResource[],
  ) {
    super(
      `refusing to apply the ${stackName} plan: it would destroy ${resources.length} stateful resource` +
        `${resources.length === 1 ? "" : "s"}:\n` +
        resources
          .map(
            (r) =>
              `  - ${r.address} (${r.kind === "replace" ? "replaced, i.e. destroyed and re-created" : "destroyed"}` +
              `${r.actionReason ? `, ${r.actionReason}` : ""}): ${r.why}`,
          )
          .join("\n") +
        "\nNothing was applied. If losing this data is intended, re-run with --allow-destroy; otherwise change " +
        "the Terraform code (or the settings) so the plan keeps these resources.",
    )
  }
}

/** Throws DestroyRefusedError unless the plan keeps every stateful resource or `allowDestroy` is set. */
export function guardDestroy(stack: string, review: PlanReview, allowDestroy: boolean): void {
  if (!allowDestroy && review.statefulDestroys.length > 0) throw new DestroyRefusedError(stack, review.statefulDestroys)
}
