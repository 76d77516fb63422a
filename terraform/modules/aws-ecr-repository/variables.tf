variable "name" {
  description = "Name of the ECR repository (ci/pipeline.yaml staging.names.ecrRepository)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]+([._/-][a-z0-9]+)*$", var.name)) && length(var.name) <= 256
    error_message = "name must be a valid ECR repository name (lower-case letters, digits, '.', '_', '-', '/')."
  }
}

variable "keep_images" {
  description = "How many tagged images the lifecycle policy keeps; older ones expire (rollback needs the previous few)."
  type        = number
  default     = 20

  validation {
    condition     = var.keep_images >= 2
    error_message = "keep_images must be at least 2 so the previous image stays available for rollback."
  }
}

variable "untagged_expiry_days" {
  description = "Days after which untagged images (superseded pushes, build leftovers) expire."
  type        = number
  default     = 7

  validation {
    condition     = var.untagged_expiry_days >= 1
    error_message = "untagged_expiry_days must be at least 1."
  }
}
