// The ownership contract between Terraform and the pipeline. Terraform creates these resources, but
// the listed fields change at run time (deploys, rollbacks, canary traffic, stopping staging), so
// Terraform must ignore them: otherwise the next `apply` would undo a deploy or restart a stopped
// staging. Each list here is exactly the resource's `lifecycle { ignore_changes }` in terraform/;
// test/terraform/hcl.test.ts fails when the two differ; the drift check (drift.ts) ignores the same fields.

/** A Terraform resource (by address, as in `terraform state list`) and the fields the pipeline owns. */
export interface OwnedFields {
  /** Address in the stack's root module, e.g. `module.service.aws_ecs_service.this`. */
  address: string
  /** Attribute paths exactly as written in `ignore_changes`. */
  fields: readonly string[]
  /** Who changes the fields, so a reader knows which code to look at. */
  changedBy: string
}

/** Staging (terraform/aws): the ECS service's task count and task definition revision, and the revisions' containers. */
export const AWS_OWNERSHIP: readonly OwnedFields[] = [
  {
    address: "module.service.aws_ecs_task_definition.this",
    fields: ["container_definitions"],
    changedBy:
      "dagger/src/aws/ecs.ts derives each revision from the one the service runs; Terraform's revision is only " +
      "the template of the first deploy",
  },
  {
    address: "module.service.aws_ecs_service.this",
    fields: ["desired_count", "task_definition"],
    changedBy:
      "dagger/src/aws/ecs.ts registers a task definition revision per deploy (image, APP_VERSION, APP_COMMIT) " +
      "and sets the desired count; the production deploy scales staging to 0",
  },
]

/** Production (terraform/gcp): the Cloud Run revision template fields and traffic. */
export const GCP_OWNERSHIP: readonly OwnedFields[] = [
  {
    address: "module.service.google_cloud_run_v2_service.this",
    fields: [
      "template[0].containers[0].image",
      "template[0].containers[0].env",
      "template[0].revision",
      "template[0].labels",
      "traffic",
      "client",
      "client_version",
    ],
    changedBy:
      "dagger/src/gcp/production-service.ts creates a revision per deploy (image, env, revision name, labels) and moves " +
      "traffic in canary steps with tags",
  },
]
