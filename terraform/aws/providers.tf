provider "aws" {
  region = var.region
  # Emulators (moto, LocalStack) on an IP address need path-style S3 URLs; AWS itself does not.
  s3_use_path_style = var.s3_use_path_style

  default_tags {
    tags = {
      Project     = "portfolio"
      Environment = "staging"
      ManagedBy   = "terraform"
      Stack       = "terraform/aws"
    }
  }
}
