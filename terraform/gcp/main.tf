# Production: the portfolio on Cloud Run, its image registry, and this stack's own state bucket.
# Fields the pipeline changes at run time are listed in lifecycle.ignore_changes
# (modules/gcp-cloud-run-service), so an apply never undoes a deploy or a traffic split.

# Enabling an API is idempotent, so these need no import; they stay enabled when the stack goes.
resource "google_project_service" "required" {
  for_each = toset([
    "artifactregistry.googleapis.com",
    "iam.googleapis.com",
    "run.googleapis.com",
  ])

  project            = var.project
  service            = each.value
  disable_on_destroy = false
}

module "state_backend" {
  source = "../modules/gcp-state-backend"

  project     = var.project
  location    = var.region
  bucket_name = var.state_bucket
}

module "registry" {
  source = "../modules/gcp-artifact-registry"

  project       = var.project
  location      = var.region
  repository_id = var.artifact_repository

  depends_on = [google_project_service.required]
}

module "service" {
  source = "../modules/gcp-cloud-run-service"

  project                    = var.project
  region                     = var.region
  service_name               = var.service_name
  runtime_service_account_id = local.names.runtime_service_account
  image                      = var.initial_image
  container_port             = var.container_port
  health_check_path          = var.health_check_path
  max_instances              = var.max_instances

  depends_on = [google_project_service.required]
}
