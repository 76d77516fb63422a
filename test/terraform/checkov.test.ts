// checkov (pinned in test/tools/setup.mjs) over all of terraform/: no failed check, and every skip is
// written inline next to the resource with the reason it does not apply.
import { execFile } from "node:child_process"
import { readFileSync } from "node:fs"
import { relative } from "node:path"
import { promisify } from "node:util"
import { beforeAll, describe, expect, it } from "vitest"
import { allTerraformFiles, terraformRoot } from "../support/terraform-hcl.js"
import { repoRoot, toolPath } from "../tools/paths.js"

interface CheckResult {
  check_id: string
  resource: string
  file_path: string
  check_result: { result: "PASSED" | "FAILED" | "SKIPPED"; suppress_comment?: string }
}

interface CheckovReport {
  check_type: string
  summary: { passed: number; failed: number; skipped: number; parsing_errors: number; resource_count: number }
  results: { failed_checks: CheckResult[]; skipped_checks: CheckResult[] }
}

let report: CheckovReport

beforeAll(async () => {
  // --skip-download: no guideline or policy download (the run must not depend on a vendor API).
  const { stdout } = await promisify(execFile)(
    toolPath("python", "checkov"),
    ["--directory", terraformRoot, "--framework", "terraform", "--output", "json", "--skip-download", "--compact"],
    { maxBuffer: 64 * 1024 * 1024, env: { ...process.env, LOG_LEVEL: "ERROR" } },
  ).catch((err: { stdout?: string; message: string }) => {
    // checkov exits 1 when a check fails; the report is still on stdout.
    if (err.stdout) return { stdout: err.stdout }
    throw err
  })
  const parsed = JSON.parse(stdout) as CheckovReport | CheckovReport[]
  const reports = Array.isArray(parsed) ? parsed : [parsed]
  const terraform = reports.find((r) => r.check_type === "terraform")
  if (!terraform) throw new Error(`checkov produced no terraform report: ${stdout.slice(0, 300)}`)
  report = terraform
}, 240_000)

describe("checkov over terraform/", () => {
  it("parses every file and finds no failed check", () => {
    const failures = report.results.failed_checks.map(
      (c) => `${c.check_id} ${c.resource} (${c.file_path}): fix it, or add '#checkov:skip=${c.check_id}:<reason>' inside the block`,
    )
    expect(report.summary.parsing_errors).toBe(0)
    expect(failures).toEqual([])
    expect(report.summary.failed).toBe(0)
    // Guards against a scan that silently looked at nothing.
    expect(report.summary.resource_count).toBeGreaterThan(30)
    expect(report.summary.passed).toBeGreaterThan(50)
  })

  it("every skip carries a reason, and checkov honoured each one", () => {
    const written: string[] = []
    for (const file of allTerraformFiles()) {
      for (const line of readFileSync(file, "utf8").split("\n")) {
        if (!line.includes("checkov:skip")) continue
        const m = /^\s*#checkov:skip=(CKV2?_[A-Z]+_\d+):(.+)$/.exec(line)
        expect(m, `${relative(repoRoot, file)}: malformed skip '${line.trim()}'`).not.toBeNull()
        expect(m![2]!.trim().length, `${m![1]} in ${relative(repoRoot, file)} needs a real reason`).toBeGreaterThan(30)
        written.push(m![1]!)
      }
    }
    const honoured = report.results.skipped_checks
    expect(honoured.length).toBe(report.summary.skipped)
    for (const s of honoured) expect(s.check_result.suppress_comment?.trim().length ?? 0, s.check_id).toBeGreaterThan(30)
    // A skip comment checkov did not match (typo, wrong block) would leave a check unexplained.
    expect(new Set(honoured.map((s) => s.check_id))).toEqual(new Set(written))
  })
})
