# The pipeline reads these after apply (dagger/src/terraform-stacks.ts AWS_OUTPUTS); a test checks
# that every one it reads is declared here.

output "region" {
  description = "AWS region of the stack."
  value       = var.region
}

output "cluster_name" {
  description = "ECS cluster the service runs in."
  value       = module.service.cluster_name
}

output "service_name" {
  description = "ECS service the pipeline deploys to and scales."
  value       = module.service.service_name
}

output "task_family" {
  description = "Task definition family the pipeline registers revisions in."
  value       = module.service.task_family
}

output "task_definition_arn" {
  description = "Revision Terraform registered; the template for the pipeline's revisions."
  value       = module.service.task_definition_arn
}

output "container_name" {
  description = "Name of the app container in the task definition."
  value       = module.service.container_name
}

output "ecr_repository_url" {
  description = "Repository the pipeline pushes the staging image to."
  value       = module.registry.repository_url
}

output "service_url" {
  description = "Public URL of staging (the load balancer)."
  value       = "http://${module.service.load_balancer_dns_name}"
}

output "target_group_arn" {
  description = "Target group whose health the pipeline reads."
  value       = module.service.target_group_arn
}

output "log_group_name" {
  description = "CloudWatch log group of the app."
  value       = module.service.log_group_name
}

output "execution_role_arn" {
  description = "Task execution role for the revisions the pipeline registers."
  value       = module.service.execution_role_arn
}

output "task_role_arn" {
  description = "Task role for the revisions the pipeline registers."
  value       = module.service.task_role_arn
}

output "state_bucket" {
  description = "S3 bucket holding this stack's state."
  value       = module.state_backend.bucket_name
}

output "lock_table" {
  description = "DynamoDB table locking this stack's state."
  value       = module.state_backend.lock_table_name
}
