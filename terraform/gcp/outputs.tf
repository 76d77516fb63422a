# The pipeline reads these after apply (dagger/src/terraform-stacks.ts GCP_OUTPUTS); a test checks
# that every one it reads is declared here.

output "project" {
  description = "GCP project of production."
  value       = var.project
}

output "region" {
  description = "Region of the service and the registry."
  value       = var.region
}

output "service_name" {
  description = "Cloud Run service the pipeline deploys to."
  value       = module.service.service_name
}

output "service_url" {
  description = "Public HTTPS URL of production."
  value       = module.service.service_url
}

output "image_repository" {
  description = "Where the pipeline pushes production images: <region>-docker.pkg.dev/<project>/<repository>."
  value       = module.registry.image_repository
}

output "artifact_repository_id" {
  description = "Full resource ID of the Artifact Registry repository."
  value       = module.registry.repository_id
}

output "runtime_service_account_email" {
  description = "Service account each revision runs as."
  value       = module.service.runtime_service_account_email
}

output "state_bucket" {
  description = "GCS bucket holding this stack's state."
  value       = module.state_backend.bucket_name
}
