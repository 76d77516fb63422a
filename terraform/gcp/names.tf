# Names derived from the settings. The pipeline's import probes look resources up by the same names
# (dagger/src/terraform-stacks.ts); test/terraform-hcl.test.ts evaluates these expressions and fails
# if the two ever disagree.
locals {
  names = {
    runtime_service_account = "${var.service_name}-run"
  }
}
