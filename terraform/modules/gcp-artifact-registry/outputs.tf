output "repository_id" {
  description = "Full resource ID of the repository."
  value       = google_artifact_registry_repository.this.id
}

output "image_repository" {
  description = "Where images are pushed: <region>-docker.pkg.dev/<project>/<repository>."
  value       = "${var.location}-docker.pkg.dev/${var.project}/${google_artifact_registry_repository.this.repository_id}"
}
