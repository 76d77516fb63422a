provider "aws" {
  region = var.region
  # Emulators (moto, LocalStack) on an IP address need path-style S3 URLs; AWS itself does not.
  s3_use_path_style = var.s3_use_path_style

  # stop-aws records the desired count it replaced in this tag so start-aws can restore it; without
  # this, an apply between the two would delete the tag (the pipeline owns it, not Terraform).
  ignore_tags {
    keys = ["pipeline:previous-desired-count"]
  }

  default_tags {
    tags = {
      Project     = "portfolio"
      Environment = "staging"
      ManagedBy   = "terraform"
      Stack       = "terraform/aws"
    }
  }
}
