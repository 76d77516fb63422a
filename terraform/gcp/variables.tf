# Every default is the seed's value; the pipeline always passes the values of ci/pipeline.yaml
# (dagger/src/terraform-stacks.ts), so change names there, not here.

variable "project" {
  description = "GCP project of production (production.gcp.project)."
  type        = string
  default     = "portfolio-test-476200"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project))
    error_message = "project must be a GCP project ID (6-30 lower-case letters, digits and '-')."
  }
}

variable "region" {
  description = "Region of Cloud Run and Artifact Registry (production.gcp.region)."
  type        = string
  default     = "us-west1"

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]$", var.region))
    error_message = "region must be a GCP region such as us-west1."
  }
}

variable "service_name" {
  description = "Cloud Run service name (production.names.service). At most 26 characters: the runtime service account is <name>-run and may have 30."
  type        = string
  default     = "portfolio-prod"

  validation {
    condition     = can(regex("^[a-z]([a-z0-9-]{0,24}[a-z0-9])?$", var.service_name))
    error_message = "service_name must be 1-26 lower-case letters, digits and '-', starting with a letter (the service account ID <name>-run may have at most 30 characters)."
  }
}

variable "artifact_repository" {
  description = "Artifact Registry repository ID (production.names.artifactRepository)."
  type        = string
  default     = "portfolio-prod"
}

variable "state_bucket" {
  description = "GCS bucket holding this stack's state (production.terraform.stateBucket); also managed here."
  type        = string
  default     = "portfolio-prod-tfstate-production"
}

variable "container_port" {
  description = "Port the app listens on (app.port)."
  type        = number
  default     = 8080
}

variable "health_check_path" {
  description = "Path of the startup and liveness probes (app.healthPath)."
  type        = string
  default     = "/health"
}

variable "max_instances" {
  description = "Upper bound on Cloud Run instances (cost ceiling); the minimum is 0."
  type        = number
  default     = 3
}

variable "initial_image" {
  description = "Image of the first revision when the service is created (Cloud Run needs an existing image). Default: Google's public sample. The pipeline owns the image afterwards."
  type        = string
  default     = "us-docker.pkg.dev/cloudrun/container/hello"
}
