# Deployment alarms: ECS watches these while a deployment runs and during its bake time, marks the
# deployment FAILED when one goes into ALARM and rolls back to the last completed one (the service's
# `alarms` block in main.tf). The pipeline's rollout verdict names the alarm that fired
# (dagger/src/aws/rollout-verdict.ts). Both read the target group's own metrics, so traffic to other
# targets of the load balancer never fails a staging deploy.

locals {
  alb_dimensions = {
    LoadBalancer = aws_lb.this.arn_suffix
    TargetGroup  = aws_lb_target_group.this.arn_suffix
  }
}

# The share of requests the tasks answer with 5xx, as metric math: a count alone would fire on one
# error in a quiet minute and never on a busy one.
resource "aws_cloudwatch_metric_alarm" "target_5xx_rate" {
  alarm_name          = var.alarm_5xx_rate_name
  alarm_description   = "More than ${var.alarm_5xx_percent} % of the requests ${var.service_name}'s tasks answer are 5xx; fails (and rolls back) an ECS deployment."
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.alarm_5xx_percent
  evaluation_periods  = var.alarm_evaluation_periods
  datapoints_to_alarm = var.alarm_evaluation_periods
  # No requests is no evidence of errors: a quiet staging stays OK.
  treat_missing_data = "notBreaching"

  metric_query {
    id          = "rate"
    expression  = "IF(requests > 0, 100 * errors / requests, 0)"
    label       = "5xx % of target responses"
    return_data = true
  }

  metric_query {
    id = "errors"
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "HTTPCode_Target_5XX_Count"
      dimensions  = local.alb_dimensions
      period      = var.alarm_period_seconds
      stat        = "Sum"
    }
  }

  metric_query {
    id = "requests"
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "RequestCount"
      dimensions  = local.alb_dimensions
      period      = var.alarm_period_seconds
      stat        = "Sum"
    }
  }
}

# The tasks' p95 response time: an average hides the slow tail a bad release usually shows first.
resource "aws_cloudwatch_metric_alarm" "target_response_time" {
  alarm_name          = var.alarm_latency_name
  alarm_description   = "p95 of ${var.service_name}'s target response time is above ${var.alarm_p95_seconds} s; fails (and rolls back) an ECS deployment."
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.alarm_p95_seconds
  evaluation_periods  = var.alarm_evaluation_periods
  datapoints_to_alarm = var.alarm_evaluation_periods
  treat_missing_data  = "notBreaching"
  namespace           = "AWS/ApplicationELB"
  metric_name         = "TargetResponseTime"
  dimensions          = local.alb_dimensions
  period              = var.alarm_period_seconds
  extended_statistic  = "p95"
}
