resource "aws_security_group" "alb" {
  name        = var.alb_security_group_name
  description = "Public HTTP into the ${var.service_name} load balancer"
  vpc_id      = var.vpc_id

  ingress {
    #checkov:skip=CKV_AWS_260:The load balancer is the public entry point of the portfolio; port 80 must be open to the internet.
    description = "HTTP from the internet"
    from_port   = 80
    to_port     = 80
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }

  egress {
    description = "To the app port inside the VPC only"
    from_port   = var.container_port
    to_port     = var.container_port
    protocol    = "tcp"
    cidr_blocks = [var.vpc_cidr_block]
  }
}

resource "aws_lb" "this" {
  #checkov:skip=CKV_AWS_91:Access logs need a log bucket and cost money; staging traffic is the pipeline's own health checks.
  #checkov:skip=CKV_AWS_150:Staging is disposable and rebuilt by apply; deletion protection would block the documented teardown.
  #checkov:skip=CKV2_AWS_20:Staging has no domain and therefore no certificate; there is no HTTPS listener to redirect to.
  #checkov:skip=CKV2_AWS_28:A WAF costs more than the staging portfolio it would guard; production runs on Cloud Run.
  name                       = var.load_balancer_name
  load_balancer_type         = "application"
  internal                   = false
  security_groups            = [aws_security_group.alb.id]
  subnets                    = var.subnet_ids
  drop_invalid_header_fields = true
}

resource "aws_lb_target_group" "this" {
  #checkov:skip=CKV_AWS_378:Load balancer to task traffic stays inside the VPC and the app serves plain HTTP; staging has no certificate to terminate TLS with.
  name        = var.target_group_name
  port        = var.container_port
  protocol    = "HTTP"
  target_type = "ip"
  vpc_id      = var.vpc_id

  deregistration_delay = var.deregistration_delay_seconds

  health_check {
    path                = var.health_check_path
    matcher             = "200"
    interval            = 10
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
}

resource "aws_lb_listener" "http" {
  #checkov:skip=CKV_AWS_2:Staging has no domain and therefore no certificate; production is served over HTTPS by Cloud Run.
  #checkov:skip=CKV_AWS_103:Same reason as CKV_AWS_2: there is no TLS listener on the staging load balancer.
  load_balancer_arn = aws_lb.this.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this.arn
  }
}
