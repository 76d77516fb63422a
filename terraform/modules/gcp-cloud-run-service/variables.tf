variable "project" {
  description = "GCP project of the service."
  type        = string
}

variable "region" {
  description = "Cloud Run region (production.gcp.region)."
  type        = string
}

variable "service_name" {
  description = "Cloud Run service name (production.names.service)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]([a-z0-9-]{0,47}[a-z0-9])?$", var.service_name))
    error_message = "service_name must start with a letter and use lower-case letters, digits and '-' (at most 49)."
  }
}

variable "runtime_service_account_id" {
  description = "Account ID (6-30 characters) of the service account the revisions run as."
  type        = string

  validation {
    condition     = can(regex("^[a-z]([a-z0-9-]{4,28}[a-z0-9])$", var.runtime_service_account_id))
    error_message = "runtime_service_account_id must be 6-30 lower-case letters, digits and '-', starting with a letter."
  }
}

variable "image" {
  description = "Image of the first revision. Only used when the service is created: the pipeline owns the image afterwards."
  type        = string
}

variable "container_port" {
  description = "Port the app listens on (app.port); Cloud Run passes it as PORT."
  type        = number
  default     = 8080
}

variable "health_check_path" {
  description = "Path of the startup and liveness probes (app.healthPath)."
  type        = string
  default     = "/health"

  validation {
    condition     = startswith(var.health_check_path, "/")
    error_message = "health_check_path must be an absolute path such as /health."
  }
}

variable "max_instances" {
  description = "Upper bound on instances, a cost ceiling for a public service. Minimum is always 0 (scale to zero)."
  type        = number
  default     = 3

  validation {
    condition     = var.max_instances >= 1 && var.max_instances <= 100
    error_message = "max_instances must be between 1 and 100."
  }
}
