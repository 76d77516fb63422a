variable "project" {
  description = "GCP project that owns the bucket."
  type        = string
}

variable "location" {
  description = "Bucket location (the production region, e.g. us-west1)."
  type        = string
}

variable "bucket_name" {
  description = "Name of the GCS bucket holding Terraform state (production.terraform.stateBucket)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be a valid GCS bucket name (3-63 lower-case letters, digits, '.', '_' and '-')."
  }
}

variable "noncurrent_version_days" {
  description = "Days an overwritten state version is kept (recovery window for a bad apply)."
  type        = number
  default     = 90

  validation {
    condition     = var.noncurrent_version_days >= 7
    error_message = "noncurrent_version_days must be at least 7 so a bad apply can still be rolled back."
  }
}
