resource "google_artifact_registry_repository" "this" {
  #checkov:skip=CKV_GCP_84:Images hold no secrets; Google-managed encryption is enough and a Cloud KMS key costs monthly.
  project       = var.project
  location      = var.location
  repository_id = var.repository_id
  description   = "Production images of the portfolio, pushed by the pipeline"
  format        = "DOCKER"

  docker_config {
    # A tag names one build forever; deploys refer to digests.
    immutable_tags = true
  }

  cleanup_policy_dry_run = false

  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"

    most_recent_versions {
      keep_count = var.keep_versions
    }
  }

  cleanup_policies {
    id     = "delete-untagged"
    action = "DELETE"

    condition {
      tag_state  = "UNTAGGED"
      older_than = "604800s"
    }
  }
}
