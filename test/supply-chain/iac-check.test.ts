// Terraform static checks: the checkov parser/verdict on genuine checkov 3.3.30 output (fixtures; the suite runs 3.3.26, as `check` does), and the module's
// checkov arguments run for real by the pinned test checkov.
import { execFileSync } from "node:child_process"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import {
  TERRAFORM_SUBJECT,
  checkovArgs,
  checkovVerdict,
  parseCheckovReport,
  renderCheckovSummary,
  terraformConfigVerdict,
  trivyConfigArgs,
} from "../../dagger/src/supply-chain/iac-check.js"
import { renderScanSummary } from "../../dagger/src/supply-chain/scan/gate.js"
import { repoRoot, toolPath } from "../tools/paths.js"

const fixture = (name: string) => readFileSync(join(repoRoot, "test/fixtures/checkov", name), "utf8")

describe("checkov verdict on genuine reports", () => {
  it("fails insecure Terraform and names each failed check with resource and line", () => {
    const v = checkovVerdict(parseCheckovReport(fixture("insecure.json")))
    expect(v.passed).toBe(false)
    expect(v.failed.length).toBe(10)
    expect(v.failed).toContainEqual(
      expect.objectContaining({ id: "CKV_AWS_24", resource: "aws_security_group.open", where: "main.tf:6" }),
    )
    const text = renderCheckovSummary(v)
    expect(text).toMatch(/^checkov FAILED: 10 failed checks, 0 parsing errors, 0 skips without a reason\./)
    expect(text).toContain("FAILED  CKV_AWS_24  aws_security_group.open  main.tf:6 — Ensure no security groups allow ingress from 0.0.0.0:0 to port 22")
    expect(text).toContain("#checkov:skip=<ID>:<reason>")
  })

  it("passes this repository's Terraform, whose skips all carry reasons", () => {
    const v = checkovVerdict(parseCheckovReport(fixture("terraform-repo.json")))
    expect(v.failed).toEqual([])
    expect(v.skipped.length).toBeGreaterThan(0)
    expect(v.unexplainedSkips).toEqual([])
    expect(v.passed).toBe(true)
    expect(renderCheckovSummary(v)).toMatch(/^checkov PASSED: \d+ checks passed on \d+ resources, \d+ skipped with reasons\.$/)
  })

  it("treats 'nothing to scan' as an empty, passing report", () => {
    expect(parseCheckovReport(fixture("empty.json"))).toEqual([])
  })

  it("fails a skip without a reason", () => {
    const [report] = parseCheckovReport(fixture("terraform-repo.json"))
    const skip = report!.results.skipped_checks[0]!
    const noReason = { ...report!, results: { ...report!.results, skipped_checks: [{ ...skip, check_result: { result: "SKIPPED", suppress_comment: "No comment provided" } }] } }
    const v = checkovVerdict([noReason])
    expect(v.passed).toBe(false)
    expect(renderCheckovSummary(v)).toContain(`SKIPPED WITHOUT REASON  ${skip.check_id}`)
  })

  it("fails closed on output it cannot read", () => {
    expect(() => parseCheckovReport("Traceback (most recent call last):", "checkov report")).toThrow(/not valid JSON.*fails closed/)
    expect(() => parseCheckovReport('{"results": {}}')).toThrow(/not a checkov JSON report/)
  })
})

describe("trivy config verdict", () => {
  it("names the Terraform stacks and repository paths, not the directory the container mounted", () => {
    const v = terraformConfigVerdict(readFileSync(join(repoRoot, "test/fixtures/trivy/config-terraform.json"), "utf8"), {
      severities: ["HIGH", "CRITICAL"],
      ignoreUnfixed: true,
    })
    expect(v.artifact).toBe(TERRAFORM_SUBJECT)
    expect(TERRAFORM_SUBJECT).toContain("terraform/aws, terraform/gcp")
    const text = renderScanSummary(v)
    expect(text).toMatch(/^Scan FAILED: Terraform in terraform\/ \(stacks terraform\/aws, terraform\/gcp and their modules\) has \d+ blocking/)
    expect(v.blocking.flatMap((f) => f.targets).every((t) => t.startsWith("terraform/modules/") || t.startsWith("terraform/aws") || t.startsWith("terraform/gcp"))).toBe(true)
    expect(text).not.toContain("/src/")
  })
})

describe("the module's tool arguments", () => {
  it("run the pinned checkov for real and produce a report the parser reads", () => {
    const dir = mkdtempSync(join(tmpdir(), "iac-"))
    writeFileSync(join(dir, "main.tf"), readFileSync(join(repoRoot, "test/fixtures/iac/insecure/main.tf")))
    const [cmd, ...args] = checkovArgs(dir)
    expect(cmd).toBe("checkov")
    // --soft-fail: findings exit 0, so only a crash of checkov itself is an exec failure.
    const out = execFileSync(toolPath("python", "checkov"), args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })
    const v = checkovVerdict(parseCheckovReport(out))
    expect(v.passed).toBe(false)
    expect(v.failed.map((f) => f.id)).toContain("CKV_AWS_24")
  }, 60_000)

  it("asks trivy config for JSON on every severity, with the accepted-risk file and exit code 0", () => {
    const args = trivyConfigArgs("/src/terraform", "/scan/out/trivy-config.json", "registry.internal:5000/aquasec/trivy-checks:2")
    expect(args.slice(0, 2)).toEqual(["trivy", "config"])
    expect(args.at(-1)).toBe("/src/terraform")
    const flag = (f: string) => args[args.indexOf(f) + 1]
    expect(flag("--format")).toBe("json")
    expect(flag("--severity")).toBe("UNKNOWN,LOW,MEDIUM,HIGH,CRITICAL")
    expect(flag("--exit-code")).toBe("0")
    expect(flag("--ignorefile")).toBe("/scan/trivyignore.yaml")
    // trivy config rejects --show-suppressed (checked against the real 0.69.3 binary).
    expect(args).not.toContain("--show-suppressed")
    // One checks-bundle repository per run; its log stays on (no --quiet): a failed download shows only there.
    expect(flag("--checks-bundle-repository")).toBe("registry.internal:5000/aquasec/trivy-checks:2")
    expect(args).not.toContain("--quiet")
  })
})

describe("checkov versions", () => {
  it("the tests run the checkov release that `check` runs (images.checkov in ci/pipeline.yaml)", () => {
    const setup = readFileSync(join(repoRoot, "test/tools/setup.mjs"), "utf8")
    const yaml = readFileSync(join(repoRoot, "ci/pipeline.yaml"), "utf8")
    const image = /checkov:\s*\S+:(\d+\.\d+\.\d+)/.exec(yaml)?.[1]
    expect(image).toBeDefined()
    expect(setup).toContain(`requirement: "checkov==${image}"`)
  })
})
