# The app's own identity: no roles are granted, it calls no Google API.
resource "google_service_account" "runtime" {
  project      = var.project
  account_id   = var.runtime_service_account_id
  display_name = "${var.service_name} runtime"
  description  = "Identity of the ${var.service_name} Cloud Run revisions; deliberately without roles."
}

resource "google_cloud_run_v2_service" "this" {
  project  = var.project
  location = var.region
  name     = var.service_name
  ingress  = "INGRESS_TRAFFIC_ALL"
  # Deleting the production service takes the site down; Terraform must be told explicitly.
  deletion_protection = true

  template {
    service_account                  = google_service_account.runtime.email
    timeout                          = "30s"
    max_instance_request_concurrency = 80
    execution_environment            = "EXECUTION_ENVIRONMENT_GEN2"

    scaling {
      min_instance_count = 0
      max_instance_count = var.max_instances
    }

    containers {
      image = var.image

      ports {
        container_port = var.container_port
      }

      # The pipeline sets both per revision (it owns env, see lifecycle below).
      env {
        name  = "APP_VERSION"
        value = "0.0.0-unreleased"
      }

      env {
        name  = "APP_COMMIT"
        value = "unknown"
      }

      resources {
        limits = {
          cpu    = "1"
          memory = "512Mi"
        }
        cpu_idle          = true
        startup_cpu_boost = true
      }

      startup_probe {
        initial_delay_seconds = 0
        period_seconds        = 2
        timeout_seconds       = 1
        failure_threshold     = 15

        http_get {
          path = var.health_check_path
          port = var.container_port
        }
      }

      liveness_probe {
        period_seconds    = 30
        timeout_seconds   = 3
        failure_threshold = 3

        http_get {
          path = var.health_check_path
          port = var.container_port
        }
      }
    }
  }

  traffic {
    type    = "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST"
    percent = 100
  }

  # The pipeline owns these at run time (dagger/src/ownership.ts; a test keeps the two lists equal):
  # each deploy makes a revision with a new image, env and name, and moves traffic in canary steps.
  lifecycle {
    ignore_changes = [
      template[0].containers[0].image,
      template[0].containers[0].env,
      template[0].revision,
      template[0].labels,
      traffic,
      client,
      client_version,
    ]
  }
}

resource "google_cloud_run_v2_service_iam_member" "public" {
  # The portfolio is a public website: anonymous invocation is the point of the service.
  project  = var.project
  location = var.region
  name     = google_cloud_run_v2_service.this.name
  role     = "roles/run.invoker"
  member   = "allUsers"
}
