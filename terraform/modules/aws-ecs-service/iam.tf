data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

# Only ECS tasks of this account may assume the roles (guards against the confused-deputy problem).
data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "execution" {
  name               = var.execution_role_name
  description        = "Lets ECS pull ${var.service_name}'s image and write its logs."
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

# Least privilege instead of the broad AmazonECSTaskExecutionRolePolicy: one repository, one log group.
data "aws_iam_policy_document" "execution" {
  statement {
    sid = "EcrLogin"
    # GetAuthorizationToken has no resource-level permissions; AWS requires "*".
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid = "PullAppImage"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:GetDownloadUrlForLayer",
    ]
    resources = [var.ecr_repository_arn]
  }

  statement {
    sid       = "WriteAppLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.app.arn}:*"]
  }
}

resource "aws_iam_role_policy" "execution" {
  name   = "pull-image-write-logs"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

# The app calls no AWS API, so its role has no policy at all.
resource "aws_iam_role" "task" {
  name               = var.task_role_name
  description        = "Identity of ${var.service_name}'s containers; deliberately without permissions."
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}
