variable "cluster_name" {
  description = "ECS cluster name (ci/pipeline.yaml staging.names.cluster)."
  type        = string
}

variable "service_name" {
  description = "ECS service name (ci/pipeline.yaml staging.names.service)."
  type        = string
}

variable "task_family" {
  description = "Task definition family (ci/pipeline.yaml staging.names.taskFamily); the pipeline registers a new revision of it per deploy."
  type        = string
}

variable "container_name" {
  description = "Name of the app container in the task definition (ci/pipeline.yaml staging.names.containerName)."
  type        = string
}

variable "load_balancer_name" {
  description = "Name of the application load balancer (at most 32 characters)."
  type        = string

  validation {
    condition     = length(var.load_balancer_name) <= 32
    error_message = "load_balancer_name must be at most 32 characters (an AWS limit)."
  }
}

variable "target_group_name" {
  description = "Name of the ALB target group (at most 32 characters)."
  type        = string

  validation {
    condition     = length(var.target_group_name) <= 32
    error_message = "target_group_name must be at most 32 characters (an AWS limit)."
  }
}

variable "alb_security_group_name" {
  description = "Name of the security group of the load balancer."
  type        = string
}

variable "task_security_group_name" {
  description = "Name of the security group of the tasks."
  type        = string
}

variable "execution_role_name" {
  description = "Name of the IAM role ECS uses to pull the image and write logs."
  type        = string
}

variable "task_role_name" {
  description = "Name of the IAM role the app itself runs as (no permissions: the app calls no AWS API)."
  type        = string
}

variable "log_group_name" {
  description = "CloudWatch log group of the app container."
  type        = string
}

variable "vpc_id" {
  description = "VPC the load balancer and tasks run in."
  type        = string
}

variable "vpc_cidr_block" {
  description = "CIDR block of the VPC; the load balancer may only send traffic inside it."
  type        = string
}

variable "subnet_ids" {
  description = "Public subnets (two zones) for the load balancer and the tasks."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "subnet_ids must list at least two subnets in different zones (an ALB requirement)."
  }
}

variable "ecr_repository_arn" {
  description = "ARN of the ECR repository the execution role may pull from."
  type        = string
}

variable "image" {
  description = "Image of the task definition Terraform registers. Only the first revision uses it: the pipeline owns the running image (it registers a revision per deploy)."
  type        = string
}

variable "container_port" {
  description = "Port the app listens on (ci/pipeline.yaml app.port)."
  type        = number
  default     = 8080
}

variable "health_check_path" {
  description = "HTTP path the target group probes (ci/pipeline.yaml app.healthPath)."
  type        = string
  default     = "/health"

  validation {
    condition     = startswith(var.health_check_path, "/")
    error_message = "health_check_path must be an absolute path such as /health."
  }
}

variable "cpu" {
  description = "Fargate task CPU units (256 = 0.25 vCPU)."
  type        = number
  default     = 256
}

variable "memory" {
  description = "Fargate task memory in MiB (must be valid for the CPU size)."
  type        = number
  default     = 512
}

variable "initial_desired_count" {
  description = "Task count when the service is first created. Default 0: the pipeline scales it on deploy and owns the count afterwards."
  type        = number
  default     = 0

  validation {
    condition     = var.initial_desired_count >= 0 && var.initial_desired_count <= 10
    error_message = "initial_desired_count must be between 0 and 10."
  }
}

variable "deregistration_delay_seconds" {
  description = "Seconds the target group drains a stopping task. Default 10: staging has no long requests, and the AWS default of 300 makes every stop and deploy wait five minutes."
  type        = number
  default     = 10

  validation {
    condition     = var.deregistration_delay_seconds >= 0 && var.deregistration_delay_seconds <= 3600
    error_message = "deregistration_delay_seconds must be between 0 and 3600."
  }
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps the app's logs."
  type        = number
  default     = 14
}

variable "alarm_5xx_rate_name" {
  description = "Name of the CloudWatch alarm on the share of 5xx target responses (a deployment alarm of the service)."
  type        = string
}

variable "alarm_latency_name" {
  description = "Name of the CloudWatch alarm on the p95 target response time (a deployment alarm of the service)."
  type        = string
}

variable "alarm_5xx_percent" {
  description = "Percent of target responses that may be 5xx per period before the deployment alarm fires."
  type        = number
  default     = 5

  validation {
    condition     = var.alarm_5xx_percent > 0 && var.alarm_5xx_percent <= 100
    error_message = "alarm_5xx_percent must be above 0 and at most 100."
  }
}

variable "alarm_p95_seconds" {
  description = "p95 target response time, in seconds, above which the deployment alarm fires."
  type        = number
  default     = 1

  validation {
    condition     = var.alarm_p95_seconds > 0
    error_message = "alarm_p95_seconds must be above 0."
  }
}

variable "alarm_period_seconds" {
  description = "Length of one evaluated period of the deployment alarms, in seconds (ALB metrics arrive per minute)."
  type        = number
  default     = 60

  validation {
    condition     = var.alarm_period_seconds >= 60 && var.alarm_period_seconds % 60 == 0
    error_message = "alarm_period_seconds must be a multiple of 60 (ALB metrics are per minute)."
  }
}

variable "alarm_evaluation_periods" {
  description = "Consecutive breaching periods before a deployment alarm fires; ECS's bake time grows with it."
  type        = number
  default     = 2

  validation {
    condition     = var.alarm_evaluation_periods >= 1 && var.alarm_evaluation_periods <= 10
    error_message = "alarm_evaluation_periods must be between 1 and 10."
  }
}
