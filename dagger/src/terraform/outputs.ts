// The outputs each stack's root module must declare, read back after apply from
// `terraform output -json`, typed and checked: a missing one fails the apply naming it, instead of a
// deploy health-checking an empty URL. Pure.
import { z } from "#zod"

/** Outputs of terraform/aws the pipeline reads (the ECS deploy, the staging stop, reports). */
export const AWS_OUTPUTS = [
  "region",
  "cluster_name",
  "service_name",
  "task_family",
  "task_definition_arn",
  "container_name",
  "ecr_repository_url",
  "service_url",
  "target_group_arn",
  "log_group_name",
  "execution_role_arn",
  "task_role_arn",
  "state_bucket",
  "lock_table",
] as const

/** Outputs of terraform/gcp the pipeline reads (the Cloud Run deploy, publishing, reports). */
export const GCP_OUTPUTS = [
  "project",
  "region",
  "service_name",
  "service_url",
  "image_repository",
  "artifact_repository_id",
  "runtime_service_account_email",
  "state_bucket",
] as const

const AwsOutputsSchema = z.object(
  Object.fromEntries(AWS_OUTPUTS.map((k) => [k, z.string().min(1)])) as Record<
    (typeof AWS_OUTPUTS)[number],
    z.ZodString
  >,
)
export type AwsOutputs = z.infer<typeof AwsOutputsSchema>

const GcpOutputsSchema = z.object(
  Object.fromEntries(GCP_OUTPUTS.map((k) => [k, z.string().min(1)])) as Record<
    (typeof GCP_OUTPUTS)[number],
    z.ZodString
  >,
)
export type GcpOutputs = z.infer<typeof GcpOutputsSchema>

/**
 * Flattens `terraform output -json` ({ name: { value, type, sensitive } }) to { name: value }.
 * Sensitive outputs are dropped: they must never reach logs or reports.
 */
export function outputValues(outputJson: string): Record<string, unknown> {
  let parsed: unknown
  try {
    parsed = JSON.parse(outputJson)
  } catch (err) {
    throw new Error(`\`terraform output -json\` did not print JSON (${(err as Error).message}); was the stack applied?`)
  }
  const schema = z.record(z.string(), z.object({ value: z.unknown(), sensitive: z.boolean().optional() }))
  const result = schema.safeParse(parsed)
  if (!result.success) {
    throw new Error(`\`terraform output -json\` has an unexpected shape: ${result.error.issues[0]?.message ?? "unknown"}`)
  }
  return Object.fromEntries(
    Object.entries(result.data)
      .filter(([, o]) => !o.sensitive)
      .map(([k, o]) => [k, o.value]),
  )
}

function parseOutputs<T>(stack: "aws" | "gcp", schema: z.ZodType<T>, values: Record<string, unknown>): T {
  const result = schema.safeParse(values)
  if (result.success) return result.data
  const missing = result.error.issues.map((i) => i.path.join(".")).join(", ")
  throw new Error(
    `terraform/${stack} outputs lack or mistype: ${missing}. The pipeline reads these after apply; ` +
      `declare them in terraform/${stack}/outputs.tf (the names are listed in dagger/src/terraform/outputs.ts).`,
  )
}

/** Typed staging outputs from outputValues(`terraform output -json`); throws naming what is missing. */
export function parseAwsOutputs(values: Record<string, unknown>): AwsOutputs {
  return parseOutputs("aws", AwsOutputsSchema, values)
}

/** Typed production outputs from outputValues(`terraform output -json`); throws naming what is missing. */
export function parseGcpOutputs(values: Record<string, unknown>): GcpOutputs {
  return parseOutputs("gcp", GcpOutputsSchema, values)
}
