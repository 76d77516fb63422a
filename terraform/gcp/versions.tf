terraform {
  required_version = ">= 1.10.0, < 2.0.0"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "7.24.0"
    }
  }

  # Partial configuration: bucket and prefix come from ci/pipeline.yaml (production.terraform.*) as
  # -backend-config arguments, so each name is written down once. GCS locks state natively.
  backend "gcs" {}
}
