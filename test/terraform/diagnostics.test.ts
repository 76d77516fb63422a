// terraform/diagnostics.ts over real Terraform stderr (test/fixtures/terraform-errors, see its README),
// reaching it the way a failed step does: an ExecError turned into a ToolError by explainExecError.
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { errorBlocks, terraformDiagnostics, terraformFailureDiagnostics } from "../../dagger/src/terraform/diagnostics.js"
import { explainExecError, ToolError } from "../../dagger/src/shared/tool-errors.js"
import { repoRoot } from "../tools/paths.js"

const fixture = (name: string) => readFileSync(join(repoRoot, "test/fixtures/terraform-errors", name), "utf8")

/** The error the terraform step fails with when `terraform apply` exits 1 with this stderr. */
function stepError(stderr: string): unknown {
  const exec = Object.assign(new Error("exec failed"), { name: "ExecError", cmd: ["terraform", "apply", "-input=false", "-no-color", "tfplan"], exitCode: 1, stdout: "", stderr })
  try {
    explainExecError(exec, "terraform apply (gcp)", "Read Terraform's error above.")
  } catch (err) {
    return err
  }
  throw new Error("explainExecError returned")
}

describe("terraformFailureDiagnostics", () => {
  it("an apply error: the failing resource's address and Terraform's summary as title, its error block as lines", () => {
    const [d, ...rest] = terraformFailureDiagnostics(stepError(fixture("apply-local-exec.stderr")))
    expect(rest).toEqual([])
    expect(d).toEqual({
      source: "terraform",
      title: "terraform_data.migrate: local-exec provisioner error",
      lines: [
        "Error: local-exec provisioner error",
        "",
        "  with terraform_data.migrate,",
        '  on main.tf line 6, in resource "terraform_data" "migrate":',
        '   6:   provisioner "local-exec" {',
        "",
        "Error running command 'echo 'connecting with token=PLANTED-TF-SECRET-42' >&2;",
        "exit 3': exit status 3. Output: connecting with token=PLANTED-TF-SECRET-42",
      ],
    })
  })

  it("a plan-time error without a `with` line takes the address from the resource block it is in", () => {
    const [d] = terraformFailureDiagnostics(stepError(fixture("plan-precondition.stderr")))
    expect(d!.title).toBe("terraform_data.service: Resource precondition failed")
    expect(d!.lines.at(-1)).toBe("The service name must be longer than 5 characters.")
    expect(d!.lines).toContain('    │ var.service_name is "abc"')
  })

  it("one diagnostic per error block, with or without colour (the box is taken off, escape codes were stripped)", () => {
    for (const name of ["two-errors.stderr", "two-errors-color.stderr"]) {
      const diagnostics = terraformFailureDiagnostics(stepError(fixture(name)))
      expect(diagnostics.map((d) => d.title), name).toEqual([
        "terraform_data.migrate: local-exec provisioner error",
        "terraform_data.seed: local-exec provisioner error",
      ])
      expect(diagnostics[1]!.lines, name).toEqual([
        "Error: local-exec provisioner error",
        "",
        "  with terraform_data.seed,",
        '  on main.tf line 8, in resource "terraform_data" "seed":',
        '   8:   provisioner "local-exec" {',
        "",
        "Error running command 'exit 4': exit status 4. Output:",
      ])
    }
    expect(fixture("two-errors-color.stderr")).toContain("\x1b[")
  })

  it("warnings are not diagnostics; data sources keep their data. prefix", () => {
    const output = [
      "╷",
      "│ Warning: Deprecated attribute",
      "│ ",
      "│ something",
      "╵",
      "",
      "Error: reading IAM policy",
      "",
      '  on main.tf line 3, in data "aws_iam_policy" "deploy":',
      '   3: data "aws_iam_policy" "deploy" {',
    ].join("\n")
    expect(errorBlocks(output).map((b) => [b.address, b.summary])).toEqual([["data.aws_iam_policy.deploy", "reading IAM policy"]])
  })

  it("output without an error block: the step's summary, the command and the last lines", () => {
    const lines = Array.from({ length: 30 }, (_, i) => `line ${i}`)
    const [d] = terraformFailureDiagnostics(stepError(`panic: runtime error\n${lines.join("\n")}`))
    expect(d!.title).toBe("terraform apply (gcp) failed (exit code 1) with no error block from Terraform")
    expect(d!.lines[0]).toBe("$ terraform apply -input=false -no-color tfplan")
    expect(d!.lines).toHaveLength(21)
    expect(d!.lines.at(-1)).toBe("line 29")
  })

  it("an error that is not a tool failure gives none", () => {
    expect(terraformFailureDiagnostics(new Error("state lock held"))).toEqual([])
    expect(terraformFailureDiagnostics(new ToolError({ step: "s", command: "c", exitCode: 2, output: "", fix: "" }))).toEqual([
      { source: "terraform", title: "s failed (exit code 2) with no error block from Terraform", lines: ["$ c"] },
    ])
    expect(terraformDiagnostics({ step: "s", command: "c", exitCode: 1, output: "Error: x", fix: "" })[0]!.title).toBe("s: x")
  })
})
