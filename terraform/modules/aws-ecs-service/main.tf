resource "aws_ecs_cluster" "this" {
  #checkov:skip=CKV_AWS_65:Container Insights is billed per metric; one staging task is watched by the pipeline's health checks and logs.
  name = var.cluster_name
}

resource "aws_cloudwatch_log_group" "app" {
  #checkov:skip=CKV_AWS_158:The app logs carry no secrets; the CloudWatch default encryption is enough and a KMS key costs monthly.
  #checkov:skip=CKV_AWS_338:Staging logs are for debugging a deploy, not audit; a year of retention would only add cost.
  name              = var.log_group_name
  retention_in_days = var.log_retention_days
}

resource "aws_security_group" "task" {
  name        = var.task_security_group_name
  description = "Only the ${var.service_name} load balancer may reach the tasks"
  vpc_id      = var.vpc_id

  ingress {
    description     = "App port from the load balancer"
    from_port       = var.container_port
    to_port         = var.container_port
    protocol        = "tcp"
    security_groups = [aws_security_group.alb.id]
  }

  egress {
    #checkov:skip=CKV_AWS_382:Tasks pull from ECR and write to CloudWatch over public HTTPS endpoints (no NAT, no VPC endpoints in staging).
    description = "HTTPS to AWS APIs (ECR, CloudWatch Logs)"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_ecs_task_definition" "this" {
  family                   = var.task_family
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.cpu
  memory                   = var.memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn
  # Keep superseded revisions registered: the pipeline rolls back to them.
  skip_destroy = true

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  container_definitions = jsonencode([
    {
      name                   = var.container_name
      image                  = var.image
      essential              = true
      readonlyRootFilesystem = true
      portMappings = [
        { containerPort = var.container_port, protocol = "tcp" },
      ]
      # The pipeline sets APP_VERSION and APP_COMMIT in the revision it registers per deploy.
      environment = [
        { name = "PORT", value = tostring(var.container_port) },
        { name = "APP_VERSION", value = "0.0.0-unreleased" },
        { name = "APP_COMMIT", value = "unknown" },
      ]
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.app.name
          awslogs-region        = data.aws_region.current.region
          awslogs-stream-prefix = "app"
        }
      }
    },
  ])

  # This revision is only the template of the first deploy: the pipeline derives each next revision
  # from the one the service runs (dagger/src/ownership.ts). Without this, every deploy's image
  # (passed as var.image for a first creation) would register a needless Terraform revision.
  lifecycle {
    ignore_changes = [container_definitions]
  }
}

resource "aws_ecs_service" "this" {
  #checkov:skip=CKV_AWS_333:Tasks need a public IP to reach ECR without a NAT gateway (about 32 USD a month); the task security group admits only the load balancer.
  name                               = var.service_name
  cluster                            = aws_ecs_cluster.this.id
  task_definition                    = aws_ecs_task_definition.this.arn
  desired_count                      = var.initial_desired_count
  launch_type                        = "FARGATE"
  platform_version                   = "LATEST"
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  health_check_grace_period_seconds  = 30
  enable_execute_command             = false
  propagate_tags                     = "SERVICE"
  # The pipeline waits for the rollout itself and judges it by deployment ID.
  wait_for_steady_state = false

  deployment_controller {
    type = "ECS"
  }

  # A deployment whose tasks never become healthy stops and ECS rolls back to the last good one.
  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  # A deployment whose traffic goes bad (5xx share, p95 latency; alarms.tf) fails and ECS rolls back too.
  alarms {
    alarm_names = [
      aws_cloudwatch_metric_alarm.target_5xx_rate.alarm_name,
      aws_cloudwatch_metric_alarm.target_response_time.alarm_name,
    ]
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = [aws_security_group.task.id]
    assign_public_ip = true
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.this.arn
    container_name   = var.container_name
    container_port   = var.container_port
  }

  # The pipeline owns these at run time (dagger/src/ownership.ts; a test keeps the two lists equal):
  # it registers a task definition per deploy and scales staging to 0 and back.
  lifecycle {
    ignore_changes = [desired_count, task_definition]
  }

  depends_on = [aws_lb_listener.http, aws_iam_role_policy.execution]
}
