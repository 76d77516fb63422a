# The state backend of the production stack. The pipeline creates the bucket before `terraform init`
# when it is missing, then this module adopts it through an import block. GCS locks state natively.
resource "google_storage_bucket" "state" {
  #checkov:skip=CKV_GCP_62:Access logs would need a second bucket; Cloud Audit Logs already record who changed state.
  name     = var.bucket_name
  project  = var.project
  location = upper(var.location)
  # The pipeline's destroy guard refuses a plan that destroys this bucket unless --allow-destroy is given.
  force_destroy = false

  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"

  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = var.noncurrent_version_days
      with_state                 = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }
}
