variable "name_prefix" {
  description = "Prefix of every Name tag in this module (<prefix>-vpc, <prefix>-public-0, ...); the pipeline's import probes look resources up by these tags."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]([a-z0-9-]{0,18}[a-z0-9])?$", var.name_prefix))
    error_message = "name_prefix must be 1-20 lower-case letters, digits and '-'."
  }
}

variable "cidr_block" {
  description = "CIDR block of the VPC. Two /24 public subnets are carved from its start."
  type        = string
  default     = "10.40.0.0/16"

  validation {
    condition     = can(cidrnetmask(var.cidr_block))
    error_message = "cidr_block must be an IPv4 CIDR block such as 10.40.0.0/16."
  }
}
