# Every default is the seed's value; the pipeline always passes the values of ci/pipeline.yaml
# (dagger/src/terraform-stacks.ts), so change names there, not here.

variable "region" {
  description = "AWS region of the staging stack (staging.aws.region)."
  type        = string
  default     = "us-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region such as us-west-1."
  }
}

variable "name_prefix" {
  description = "Prefix of the names derived in names.tf: VPC, load balancer, target group, roles, log group (staging.names.prefix)."
  type        = string
  default     = "portfolio-prod"

  validation {
    condition     = can(regex("^[a-z0-9]([a-z0-9-]{0,18}[a-z0-9])?$", var.name_prefix))
    error_message = "name_prefix must be 1-20 lower-case letters, digits and '-' (derived names must fit AWS's 32-character limits)."
  }
}

variable "cluster_name" {
  description = "ECS cluster name (staging.names.cluster)."
  type        = string
  default     = "portfolio-prod-cluster"
}

variable "service_name" {
  description = "ECS service name (staging.names.service)."
  type        = string
  default     = "portfolio-prod-service"
}

variable "task_family" {
  description = "ECS task definition family (staging.names.taskFamily)."
  type        = string
  default     = "portfolio-prod-task"
}

variable "container_name" {
  description = "Name of the app container (staging.names.containerName)."
  type        = string
  default     = "portfolio"
}

variable "ecr_repository" {
  description = "ECR repository name (staging.names.ecrRepository)."
  type        = string
  default     = "portfolio-prod"
}

variable "state_bucket" {
  description = "S3 bucket holding this stack's state (staging.terraform.stateBucket); also managed here."
  type        = string
  default     = "portfolio-prod-tfstate-staging"
}

variable "lock_table" {
  description = "DynamoDB state lock table (staging.terraform.lockTable); also managed here."
  type        = string
  default     = "portfolio-prod-tflock"
}

variable "container_port" {
  description = "Port the app listens on (app.port)."
  type        = number
  default     = 8080

  validation {
    condition     = var.container_port >= 1 && var.container_port <= 65535
    error_message = "container_port must be between 1 and 65535."
  }
}

variable "health_check_path" {
  description = "Path the load balancer probes (app.healthPath)."
  type        = string
  default     = "/health"

  validation {
    condition     = startswith(var.health_check_path, "/")
    error_message = "health_check_path must be an absolute path such as /health."
  }
}

variable "initial_image" {
  description = "Image of the first task definition revision. Default null: <ECR repository URL>:initial. The pipeline owns the running image afterwards."
  type        = string
  default     = null
}

variable "initial_desired_count" {
  description = "Task count when the service is first created. Default 0: the pipeline scales staging and owns the count afterwards."
  type        = number
  default     = 0
}

variable "s3_use_path_style" {
  description = "Use path-style S3 URLs. Only for emulators reached by IP address; default false."
  type        = bool
  default     = false
}

variable "alarm_5xx_percent" {
  description = "Deployment alarm: percent of the tasks' responses per minute that may be 5xx (two minutes in a row) before ECS fails and rolls back the deployment."
  type        = number
  default     = 5
}

variable "alarm_p95_seconds" {
  description = "Deployment alarm: p95 target response time in seconds above which (two minutes in a row) ECS fails and rolls back the deployment."
  type        = number
  default     = 1
}
