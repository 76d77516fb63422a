# Names derived from var.name_prefix. The pipeline's import probes look resources up by the same
# names (dagger/src/terraform-stacks.ts); test/terraform-hcl.test.ts evaluates these expressions
# and fails if the two ever disagree.
locals {
  names = {
    load_balancer       = "${var.name_prefix}-alb"
    target_group        = "${var.name_prefix}-tg"
    alb_security_group  = "${var.name_prefix}-alb"
    task_security_group = "${var.name_prefix}-task"
    execution_role      = "${var.name_prefix}-task-execution"
    task_role           = "${var.name_prefix}-task"
    log_group           = "/ecs/${var.name_prefix}"
    alarm_5xx_rate      = "${var.name_prefix}-5xx-rate"
    alarm_latency       = "${var.name_prefix}-p95-latency"
  }
}
