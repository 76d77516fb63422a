variable "bucket_name" {
  description = "Name of the S3 bucket holding Terraform state (ci/pipeline.yaml staging.terraform.stateBucket)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be a valid S3 bucket name (3-63 lower-case letters, digits, '.' and '-')."
  }
}

variable "lock_table_name" {
  description = "Name of the DynamoDB table Terraform locks state with (ci/pipeline.yaml staging.terraform.lockTable)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{3,255}$", var.lock_table_name))
    error_message = "lock_table_name must be 3-255 letters, digits, '_', '.' or '-'."
  }
}

variable "noncurrent_version_days" {
  description = "Days an overwritten state version is kept before S3 expires it (recovery window for a bad apply)."
  type        = number
  default     = 90

  validation {
    condition     = var.noncurrent_version_days >= 7
    error_message = "noncurrent_version_days must be at least 7 so a bad apply can still be rolled back."
  }
}
