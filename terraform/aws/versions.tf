terraform {
  # 1.10 brought S3-native state locking (use_lockfile); the pipeline runs the image pinned in
  # ci/pipeline.yaml (images.terraform).
  required_version = ">= 1.10.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "6.20.0"
    }
  }

  # Partial configuration: bucket, key, region and dynamodb_table come from ci/pipeline.yaml
  # (staging.terraform.*) as -backend-config arguments, so each name is written down once.
  # Both lock mechanisms are on: the S3 lock file, and the DynamoDB table older runs used.
  backend "s3" {
    encrypt      = true
    use_lockfile = true
  }
}
