// The functions `dagger check` runs, through the SDK's real module entrypoint on the engine double: a
// check passes when the function returns, so each must fail on a failing verdict and return otherwise.
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { APP_TEST_COMMAND } from "../../dagger/src/supply-chain/build.js"
import { callFunction, execError, hasLink, startEngineDouble, type Chain, type EngineDouble, type Matcher } from "../support/engine-double.js"
import { repoRoot } from "../tools/paths.js"

const fixture = (dir: string, name: string) => readFileSync(join(repoRoot, "test/fixtures", dir, name), "utf8")
const readsFile = (path: string) => (chain: Chain) => chain[chain.length - 2]?.field === "file" && chain[chain.length - 2]?.args["path"] === path
const isExec = (pred: (args: string[]) => boolean) => (c: Chain) => hasLink(c, "withExec", (a) => Array.isArray(a["args"]) && pred(a["args"] as string[]))

function script(o: { imageReport?: string; trivyConfig?: string; checkov?: string; tests?: unknown } = {}): Matcher[] {
  const checkov = isExec((a) => a[0] === "checkov")
  return [
    { leaf: "stdout", when: isExec((a) => JSON.stringify(a) === JSON.stringify(APP_TEST_COMMAND)), value: o.tests ?? "Test Files  2 passed (2)\n" },
    { leaf: "contents", when: readsFile("/scan/out/trivy.json"), value: o.imageReport ?? fixture("trivy", "image-clean.json") },
    { leaf: "contents", when: readsFile("/scan/out/sbom.cdx.json"), value: fixture("trivy", "image-sbom.cdx.json") },
    { leaf: "contents", when: readsFile("/scan/out/trivy-config.json"), value: o.trivyConfig ?? fixture("trivy", "config-terraform-accepted.json") },
    { leaf: "stderr", when: isExec((a) => a[0] === "trivy" && a[1] === "config"), value: "" },
    { leaf: "contents", when: readsFile("/scan/out/checkov.json"), value: o.checkov ?? fixture("checkov", "terraform-repo.json") },
    { leaf: "exitCode", when: checkov, value: 0 },
    { leaf: "stderr", when: checkov, value: "" },
  ]
}

let double: EngineDouble
beforeEach(async () => {
  double = await startEngineDouble()
})
afterEach(async () => {
  await double.close()
})

describe("dagger check functions", () => {
  it("scan-gate returns the summary on PASS and fails with it on FAIL", async () => {
    double.setScript(script())
    const passed = await callFunction(double, { fn: "scanGate", timeoutMs: 120_000 })
    expect(passed.error, passed.stderr).toBeUndefined()
    expect(String(passed.result)).toMatch(/^Scan PASSED: image portfolio:0\.0\.0-dev/)

    double.setScript(script({ imageReport: fixture("trivy", "image-findings.json") }))
    const failed = await callFunction(double, { fn: "scanGate", timeoutMs: 120_000 })
    expect(failed.result).toBeUndefined()
    expect(failed.error?.message).toMatch(/^Scan FAILED: image portfolio:0\.0\.0-dev .* has 3 blocking findings/)
  }, 240_000)

  it("terraform-checks returns both summaries when clean and fails when checkov or trivy config finds problems", async () => {
    double.setScript(script())
    const passed = await callFunction(double, { fn: "terraformChecks", timeoutMs: 120_000 })
    expect(passed.error, passed.stderr).toBeUndefined()
    expect(String(passed.result)).toMatch(/^checkov PASSED: .*\nScan PASSED: Terraform in terraform\//)

    double.setScript(script({ checkov: fixture("checkov", "insecure.json") }))
    const checkovFailed = await callFunction(double, { fn: "terraformChecks", timeoutMs: 120_000 })
    expect(checkovFailed.error?.message).toMatch(/^checkov FAILED: 10 failed checks/)

    double.setScript(script({ trivyConfig: fixture("trivy", "config-terraform.json") }))
    const trivyFailed = await callFunction(double, { fn: "terraformChecks", timeoutMs: 120_000 })
    expect(trivyFailed.error?.message).toContain("Scan FAILED: Terraform in terraform/")
    // No cloud account: nothing here carries a secret.
    expect(double.execs().every((e) => Object.keys(e.secretEnv).length === 0)).toBe(true)
  }, 240_000)

  it("test fails when an app test fails", async () => {
    double.setScript(script({ tests: execError({ exitCode: 1, stderr: "FAIL app/test/page.test.ts" }) }))
    const r = await callFunction(double, { fn: "test", timeoutMs: 120_000 })
    expect(r.error?.message).toMatch(/^The app's tests failed: .* exited with code 1/)
  }, 180_000)
})
