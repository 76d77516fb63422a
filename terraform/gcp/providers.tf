provider "google" {
  project = var.project
  region  = var.region

  default_labels = {
    project     = "portfolio"
    environment = "production"
    managed-by  = "terraform"
  }
}
