variable "project" {
  description = "GCP project of the repository."
  type        = string
}

variable "location" {
  description = "Region of the repository (the production region, e.g. us-west1)."
  type        = string
}

variable "repository_id" {
  description = "Artifact Registry repository ID (production.names.artifactRepository)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$", var.repository_id))
    error_message = "repository_id must start with a letter and use lower-case letters, digits and '-' (at most 63)."
  }
}

variable "keep_versions" {
  description = "How many most recent image versions the cleanup policy keeps (rollback needs the previous few)."
  type        = number
  default     = 20

  validation {
    condition     = var.keep_versions >= 2
    error_message = "keep_versions must be at least 2 so the previous image stays available for rollback."
  }
}
