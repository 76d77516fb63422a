# Staging: the portfolio on ECS Fargate behind an application load balancer, plus this stack's own
# state backend. Fields the pipeline changes at run time are listed in lifecycle.ignore_changes
# (modules/aws-ecs-service), so an apply never undoes a deploy or restarts a stopped staging.

module "state_backend" {
  source = "../modules/aws-state-backend"

  bucket_name     = var.state_bucket
  lock_table_name = var.lock_table
}

module "network" {
  source = "../modules/aws-network"

  name_prefix = var.name_prefix
}

module "registry" {
  source = "../modules/aws-ecr-repository"

  name = var.ecr_repository
}

module "service" {
  source = "../modules/aws-ecs-service"

  cluster_name             = var.cluster_name
  service_name             = var.service_name
  task_family              = var.task_family
  container_name           = var.container_name
  container_port           = var.container_port
  health_check_path        = var.health_check_path
  image                    = coalesce(var.initial_image, "${module.registry.repository_url}:initial")
  initial_desired_count    = var.initial_desired_count
  load_balancer_name       = local.names.load_balancer
  target_group_name        = local.names.target_group
  alb_security_group_name  = local.names.alb_security_group
  task_security_group_name = local.names.task_security_group
  execution_role_name      = local.names.execution_role
  task_role_name           = local.names.task_role
  log_group_name           = local.names.log_group
  alarm_5xx_rate_name      = local.names.alarm_5xx_rate
  alarm_latency_name       = local.names.alarm_latency
  alarm_5xx_percent        = var.alarm_5xx_percent
  alarm_p95_seconds        = var.alarm_p95_seconds
  vpc_id                   = module.network.vpc_id
  vpc_cidr_block           = module.network.vpc_cidr_block
  subnet_ids               = module.network.public_subnet_ids
  ecr_repository_arn       = module.registry.repository_arn
}
