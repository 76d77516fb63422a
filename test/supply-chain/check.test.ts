// `check` through the SDK's real module entrypoint against the engine double (no cloud credentials), and
// the pure report rendering.
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { APP_TEST_COMMAND } from "../../dagger/src/supply-chain/build.js"
import { checkVerdict, renderCheckSummary, type StepResult } from "../../dagger/src/supply-chain/check.js"
import { CACHE_BUSTER_ENV } from "../../dagger/src/supply-chain/scan/scan.js"
import { parseSettings } from "../../dagger/src/config/settings.js"
import { callFunction, execError, fields, hasLink, startEngineDouble, type Chain, type EngineDouble, type Matcher } from "../support/engine-double.js"
import { repoRoot } from "../tools/paths.js"

const fixture = (dir: string, name: string) => readFileSync(join(repoRoot, "test/fixtures", dir, name), "utf8")

let double: EngineDouble
beforeEach(async () => {
  double = await startEngineDouble()
})
afterEach(async () => {
  await double.close()
})

const readsFile = (path: string) => (chain: Chain) => {
  const file = chain[chain.length - 2]
  return file?.field === "file" && file.args["path"] === path
}
const isExec = (args: readonly string[]) => (chain: Chain) =>
  hasLink(chain, "withExec", (a) => JSON.stringify(a["args"]) === JSON.stringify(args))

const trivyConfigRun = (c: Chain) => hasLink(c, "withExec", (a) => Array.isArray(a["args"]) && a["args"][0] === "trivy" && a["args"][1] === "config")
/** The checks-bundle repository a `trivy config` chain was given. */
const checksRepository = (c: Chain) => {
  const exec = c.find((l) => l.field === "withExec" && Array.isArray(l.args["args"]) && l.args["args"][1] === "config")
  const args = (exec?.args["args"] ?? []) as string[]
  return args[args.indexOf("--checks-bundle-repository") + 1]
}

function script(o: { imageReport?: unknown; tests?: unknown; checkov?: string; trivyConfigStderr?: (repository: string) => string } = {}): Matcher[] {
  const checkovRun = (c: Chain) => hasLink(c, "withExec", (a) => Array.isArray(a["args"]) && a["args"][0] === "checkov")
  return [
    { leaf: "stderr", when: trivyConfigRun, value: (c: Chain) => o.trivyConfigStderr?.(checksRepository(c) ?? "") ?? "" },
    { leaf: "stdout", when: isExec(APP_TEST_COMMAND), value: o.tests ?? "Test Files  2 passed (2)\n" },
    { leaf: "contents", when: readsFile("/scan/out/trivy.json"), value: o.imageReport ?? fixture("trivy", "image-clean.json") },
    { leaf: "contents", when: readsFile("/scan/out/sbom.cdx.json"), value: fixture("trivy", "image-sbom.cdx.json") },
    { leaf: "contents", when: readsFile("/scan/out/trivy-config.json"), value: fixture("trivy", "config-terraform-accepted.json") },
    { leaf: "contents", when: readsFile("/scan/out/checkov.json"), value: o.checkov ?? fixture("checkov", "terraform-repo.json") },
    { leaf: "exitCode", when: checkovRun, value: 0 },
    { leaf: "stderr", when: checkovRun, value: "" },
  ]
}

describe("check (engine double, real entrypoint)", () => {
  it("runs build, tests, scan, SBOM and both Terraform checks, and reports PASS with every file", async () => {
    double.setScript(script())
    const r = await callFunction(double, { fn: "check", timeoutMs: 120_000 })
    expect(r.error, r.stderr).toBeUndefined()
    const report = r.result as Record<string, unknown>
    expect(report["verdict"]).toBe("PASS")
    expect(report["passed"]).toBe(true)
    const summary = String(report["summary"])
    expect(summary).toMatch(/^## Check passed — version 0\.0\.0-dev, commit unknown\n/)
    for (const step of ["Build", "Tests", "Image scan", "SBOM", "checkov (terraform/)", "trivy config (terraform/)"]) {
      expect(summary).toContain(`| ${step} | ✅ PASS |`)
    }
    // Artifacts by the names a reader knows, never by where the containers mounted them.
    expect(summary).toContain("| Image scan | ✅ PASS | Scan PASSED: image portfolio:0.0.0-dev (ID sha256:135c07a8e9df) has no blocking findings")
    expect(summary).toContain("| SBOM | ✅ PASS | CycloneDX 1.6, 10 components, image portfolio:0.0.0-dev (ID sha256:135c07a8e9df) |")
    expect(summary).toContain(
      "| trivy config (terraform/) | ✅ PASS | Scan PASSED: Terraform in terraform/ (stacks terraform/aws, terraform/gcp and their modules) has no blocking findings",
    )
    expect(summary).not.toMatch(/\/scan\/|\/src\//)

    // The report's files, as `check artifacts export` writes them.
    const artifacts = double.resolve(String(report["artifacts"]))
    const names = artifacts.filter((l) => l.field === "withNewFile" || l.field === "withFile").map((l) => l.args["path"])
    expect(names).toEqual(["summary.md", "verdict.txt", "tests.txt", "trivy.json", "trivy.sarif", "sbom.cdx.json", "checkov.json", "trivy-config.json"])
    const sbomFile = artifacts.find((l) => l.field === "withFile" && l.args["path"] === "sbom.cdx.json")!
    const sbomText = double.resolve(String(sbomFile.args["source"])).find((l) => l.field === "withNewFile")?.args["contents"]
    const sbom = JSON.parse(String(sbomText)) as { metadata: { component: { name: string; properties: { name: string; value: string }[] } } }
    expect(sbom.metadata.component.name).toBe("portfolio:0.0.0-dev")
    expect(sbom.metadata.component.properties).toContainEqual({ name: "aquasecurity:trivy:ImageID", value: expect.stringMatching(/^sha256:135c07a8e9df/) })

    // No cloud credentials anywhere; pinned tool images; Terraform checks read terraform/ only.
    const execs = double.execs()
    expect(execs.every((e) => Object.keys(e.secretEnv).length === 0)).toBe(true)
    const checkov = execs.find((e) => e.args[0] === "checkov")!
    expect(checkov.image).toMatch(/^bridgecrew\/checkov:3\.3\.26@sha256:[a-f0-9]{64}$/)
    expect(checkov.mounts.find((m) => m.path === "/src/terraform")?.source?.at(-1)).toEqual({ field: "directory", args: { path: "terraform" } })
    const trivyConfig = execs.find((e) => e.args[0] === "trivy" && e.args[1] === "config")!
    expect(Object.keys(trivyConfig.env)).toContain(CACHE_BUSTER_ENV)
    // The SARIF comes from the same JSON report, converted (the gate never reads it).
    const convert = execs.find((e) => e.args[1] === "convert")!
    expect(convert.args).toEqual(["trivy", "convert", "--format", "sarif", "--output", "/scan/out/trivy.sarif", "/scan/out/trivy.json"])
    expect(fields(convert.chain.slice(0, -1))).toContain("withExec")
  }, 180_000)

  it("reports FAIL with the scan summary and every step still run when the image has blocking findings", async () => {
    double.setScript(script({ imageReport: fixture("trivy", "image-findings.json") }))
    // Without --allow-failure the call itself fails, with the summary (what `dagger call check` shows).
    const failed = await callFunction(double, { fn: "check", timeoutMs: 120_000 })
    expect(failed.error?.message).toMatch(/^check FAILED\n## Check FAILED/)
    expect(failed.error?.message).toContain("CVE-2099-2001")
    const r = await callFunction(double, { fn: "check", args: { allowFailure: true }, timeoutMs: 120_000 })
    expect(r.error, r.stderr).toBeUndefined()
    const report = r.result as Record<string, unknown>
    expect(report["verdict"]).toBe("FAIL")
    const summary = String(report["summary"])
    expect(summary).toContain("| Image scan | ❌ FAIL | Scan FAILED: image portfolio:0.0.0-dev (ID sha256:135c07a8e9df) has 3 blocking findings")
    expect(summary).toContain("| checkov (terraform/) | ✅ PASS |")
    expect(summary).toContain("CVE-2099-2001  cross-spawn@7.0.3 → fixed in 7.0.5 [2 places]")
    const artifacts = double.resolve(String(report["artifacts"]))
    expect(artifacts).toContainEqual({ field: "withNewFile", args: { path: "verdict.txt", contents: "FAIL\n" } })

    // `check enforce` turns the verdict into a failing exit with the summary.
    const enforced = await callFunction(double, { fn: "enforce", object: "CheckReport", parentState: report, timeoutMs: 120_000 })
    expect(enforced.error?.message).toMatch(/^check FAILED\n## Check FAILED/)
    expect(enforced.error?.message).toContain("Scan FAILED")
  }, 240_000)

  it("keeps going when a test fails and when checkov finds problems; the report names both", async () => {
    double.setScript(
      script({ tests: execError({ exitCode: 1, stderr: "FAIL app/test/process.test.ts" }), checkov: fixture("checkov", "insecure.json") }),
    )
    const r = await callFunction(double, { fn: "check", args: { allowFailure: true }, timeoutMs: 120_000 })
    expect(r.error, r.stderr).toBeUndefined()
    const summary = String((r.result as Record<string, unknown>)["summary"])
    expect(summary).toContain("| Tests | ❌ FAIL | The app's tests failed: `npx vitest run app/test --reporter=default` exited with code 1.")
    expect(summary).toContain("| checkov (terraform/) | ❌ FAIL | checkov FAILED: 10 failed checks")
    expect(summary).toContain("| Image scan | ✅ PASS |")
  }, 180_000)

  it("puts no terminal code into the summary or tests.txt, and runs the tests with colours off", async () => {
    const coloured = fixture("vitest", "coloured-run.txt")
    double.setScript(script({ tests: coloured }))
    const passed = await callFunction(double, { fn: "check", timeoutMs: 120_000 })
    expect(passed.error, passed.stderr).toBeUndefined()
    const report = passed.result as Record<string, unknown>
    expect(String(report["summary"])).toContain("Test Files  1 passed (1)")
    expect(String(report["summary"])).not.toContain("\x1b")
    const testsTxt = double.resolve(String(report["artifacts"])).find((l) => l.field === "withNewFile" && l.args["path"] === "tests.txt")
    expect(String(testsTxt?.args["contents"])).toContain(" ✓ test/shared/terminal.test.ts (13 tests) 5ms")
    expect(String(testsTxt?.args["contents"])).not.toContain("\x1b")
    // At the source: the test container asks vitest (and anything else in it) for plain output.
    const tests = double.execs().find((e) => JSON.stringify(e.args) === JSON.stringify(APP_TEST_COMMAND))!
    expect(tests.env).toMatchObject({ NO_COLOR: "1", FORCE_COLOR: "0" })

    // A failing run's stderr reaches the report through the tool error: plain there too.
    double.setScript(script({ tests: execError({ exitCode: 1, stderr: coloured.replace("1 passed", "1 failed") }) }))
    const failed = await callFunction(double, { fn: "check", args: { allowFailure: true }, timeoutMs: 120_000 })
    expect(failed.error, failed.stderr).toBeUndefined()
    const summary = String((failed.result as Record<string, unknown>)["summary"])
    expect(summary).toContain("Test Files  1 failed (1)")
    expect(summary).not.toContain("\x1b")
  }, 240_000)
})

describe("check when Trivy cannot download what it needs (engine double)", () => {
  const settings = parseSettings(fixture("..", "../ci/pipeline.yaml"))
  const checksRepositories = settings.scan.checksBundleRepositories

  it("takes the checks bundle from the next repository when one fails, in the order of ci/pipeline.yaml", async () => {
    const fallback = fixture("trivy", "stderr/checks-bundle-fallback.txt")
    double.setScript(script({ trivyConfigStderr: (repository) => (repository === checksRepositories[0] ? fallback : "") }))
    const r = await callFunction(double, { fn: "check", timeoutMs: 120_000 })
    expect(r.error, r.stderr).toBeUndefined()
    expect(String((r.result as Record<string, unknown>)["summary"])).toContain("| trivy config (terraform/) | ✅ PASS |")
    const attempts = double.execs().filter((e) => e.args[1] === "config")
    expect(attempts.map((e) => e.args[e.args.indexOf("--checks-bundle-repository") + 1])).toEqual(checksRepositories.slice(0, 2))
    // The report file is the one of the attempt that had the bundle.
    const artifacts = double.resolve(String((r.result as Record<string, unknown>)["artifacts"]))
    const report = artifacts.find((l) => l.field === "withFile" && l.args["path"] === "trivy-config.json")!
    expect(JSON.stringify(double.resolve(String(report.args["source"])))).toContain(checksRepositories[1]!)
  }, 180_000)

  it("fails both scans as 'scanner unavailable' when no repository answers, never as a pass or as findings", async () => {
    const fallback = fixture("trivy", "stderr/checks-bundle-fallback.txt")
    const dbFailed = execError({ exitCode: 1, stderr: fixture("trivy", "stderr/db-rate-limited.txt"), cmd: ["trivy", "image"] })
    double.setScript(script({ imageReport: dbFailed, trivyConfigStderr: () => fallback }))
    const r = await callFunction(double, { fn: "check", args: { allowFailure: true }, timeoutMs: 120_000 })
    expect(r.error, r.stderr).toBeUndefined()
    const report = r.result as Record<string, unknown>
    expect(report["verdict"]).toBe("FAIL")
    const summary = String(report["summary"])
    expect(summary).toMatch(/\| Image scan \| ❌ FAIL \| scanner unavailable: The Trivy scan of image portfolio:0\.0\.0-dev has no verdict/)
    expect(summary).toMatch(/\| trivy config \(terraform\/\) \| ❌ FAIL \| scanner unavailable: trivy config on terraform\/ has no verdict/)
    expect(summary).toContain(`tried: ${checksRepositories.join(", ")}`)
    expect(summary).not.toMatch(/Scan (PASSED|FAILED)/)
    expect(double.execs().filter((e) => e.args[1] === "config")).toHaveLength(checksRepositories.length)
    // No report file pretends a scan happened.
    const names = double.resolve(String(report["artifacts"])).filter((l) => l.field === "withFile").map((l) => l.args["path"])
    expect(names).not.toContain("trivy.json")
    expect(names).not.toContain("trivy-config.json")
  }, 180_000)
})

describe("check report rendering", () => {
  const steps: StepResult[] = [
    { name: "Build", status: "PASS", headline: "image built", detail: "" },
    { name: "Tests", status: "FAIL", headline: "1 | failed", detail: "x\n```\ny" },
    { name: "SBOM", status: "NOT RUN", headline: "the image did not build", detail: "" },
  ]

  it("is PASS only when every step passed", () => {
    expect(checkVerdict(steps)).toBe("FAIL")
    expect(checkVerdict(steps.slice(0, 1))).toBe("PASS")
    expect(checkVerdict([{ ...steps[0]!, status: "NOT RUN" }])).toBe("FAIL")
    expect(checkVerdict([])).toBe("FAIL")
  })

  it("renders a markdown table that survives pipes and fences in tool output", () => {
    const md = renderCheckSummary(steps, { version: "1.2.3", commit: "abc1234" })
    expect(md).toContain("## Check FAILED — version 1.2.3, commit abc1234")
    expect(md).toContain("| Tests | ❌ FAIL | 1 \\| failed |")
    expect(md).toContain("| SBOM | ⏭️ NOT RUN | the image did not build |")
    expect(md).toContain("### Tests\n\n```text\nx\n'''\ny\n```")
  })

  it("strips terminal codes from any step's headline and detail", () => {
    const md = renderCheckSummary(
      [{ name: "Image scan", status: "FAIL", headline: "\x1b[31mScan FAILED\x1b[0m", detail: "\x1b]8;;https://x.test\x1b\\CVE-1\x1b]8;;\x1b\\ \x1b[1mHIGH\x1b[22m" }],
      { version: "1", commit: "abc1234" },
    )
    expect(md).toContain("| Image scan | ❌ FAIL | Scan FAILED |")
    expect(md).toContain("```text\nCVE-1 HIGH\n```")
    expect(md).not.toContain("\x1b")
  })
})
