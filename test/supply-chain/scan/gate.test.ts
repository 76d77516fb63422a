// The scan gate against genuine Trivy 0.69.3 reports (test/fixtures/trivy/README.md says how each was made).
import { readFileSync, readdirSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import {
  SUMMARY_TOP,
  TrivyReportError,
  collectFindings,
  gateReportText,
  gateScan,
  parseTrivyReport,
  renameArtifact,
  renderScanSummary,
  scanPolicy,
  type ScanPolicy,
} from "../../../dagger/src/supply-chain/scan/gate.js"
import { repoRoot } from "../../tools/paths.js"

const dir = join(repoRoot, "test/fixtures/trivy")
const fixture = (name: string) => readFileSync(join(dir, name), "utf8")
const DEFAULT: ScanPolicy = { severities: ["CRITICAL", "HIGH"], ignoreUnfixed: true }
const ids = (fs: { id: string; subject: string }[]) => fs.map((f) => `${f.id} ${f.subject}`)

interface Case {
  report: string
  policy: ScanPolicy
  passed: boolean
  blocking: string[]
  unfixed?: string[]
}

// One table of cases: report × policy → verdict and the findings that decide it.
const CASES: Record<string, Case> = {
  "image with fixable CRITICAL/HIGH fails; unfixed HIGH tolerated": {
    report: "image-findings.json",
    policy: DEFAULT,
    passed: false,
    blocking: [
      "CVE-2099-1001 libcrypto3@3.5.1-r0",
      "CVE-2099-1001 libssl3@3.5.1-r0",
      "CVE-2099-2001 cross-spawn@7.0.3",
    ],
    unfixed: ["CVE-2099-1002 busybox@1.37.0-r18", "CVE-2099-2002 ip@2.0.1"],
  },
  "same image with ignoreUnfixed=false also blocks the unfixed ones": {
    report: "image-findings.json",
    policy: { severities: ["CRITICAL", "HIGH"], ignoreUnfixed: false },
    passed: false,
    blocking: [
      "CVE-2099-1001 libcrypto3@3.5.1-r0",
      "CVE-2099-1001 libssl3@3.5.1-r0",
      "CVE-2099-1002 busybox@1.37.0-r18",
      "CVE-2099-2001 cross-spawn@7.0.3",
      "CVE-2099-2002 ip@2.0.1",
    ],
    unfixed: [],
  },
  "CRITICAL-only policy blocks only the openssl CVE": {
    report: "image-findings.json",
    policy: { severities: ["CRITICAL"], ignoreUnfixed: true },
    passed: false,
    blocking: ["CVE-2099-1001 libcrypto3@3.5.1-r0", "CVE-2099-1001 libssl3@3.5.1-r0"],
    unfixed: [],
  },
  "only unfixed findings pass when unfixed are ignored": {
    report: "image-unfixed-only.json",
    policy: DEFAULT,
    passed: true,
    blocking: [],
    unfixed: ["CVE-2099-1002 busybox@1.37.0-r18", "CVE-2099-2002 ip@2.0.1"],
  },
  "only unfixed findings fail when unfixed count": {
    report: "image-unfixed-only.json",
    policy: { severities: ["CRITICAL", "HIGH"], ignoreUnfixed: false },
    passed: false,
    blocking: ["CVE-2099-1002 busybox@1.37.0-r18", "CVE-2099-2002 ip@2.0.1"],
  },
  "clean image passes": { report: "image-clean.json", policy: DEFAULT, passed: true, blocking: [], unfixed: [] },
  "repo Terraform without the accepted risks fails on its HIGH/CRITICAL misconfigurations": {
    report: "config-terraform.json",
    policy: DEFAULT,
    passed: false,
    blocking: ["AWS-0054 module.service", "AWS-0104 module.service", "AWS-0053 module.service", "AWS-0132 module.state_backend"],
  },
  "repo Terraform with ci/.trivyignore.yaml passes": {
    report: "config-terraform-accepted.json",
    policy: DEFAULT,
    passed: true,
    blocking: [],
  },
  "a leaked token fails (secrets are always actionable)": {
    report: "fs-secret.json",
    policy: DEFAULT,
    passed: false,
    blocking: ["github-pat deploy.env:2"],
  },
}

describe("gateScan on genuine Trivy reports", () => {
  it.each(Object.entries(CASES))("%s", (_name, c) => {
    const v = gateReportText(fixture(c.report), c.policy, c.report)
    expect(v.passed).toBe(c.passed)
    expect(ids(v.blocking)).toEqual(c.blocking)
    if (c.unfixed) expect(ids(v.unfixed)).toEqual(c.unfixed)
  })

  it("merges one vulnerability reported at two paths, keeps one CVE in two packages apart", () => {
    const findings = collectFindings(parseTrivyReport(fixture("image-findings.json")))
    const crossSpawn = findings.filter((f) => f.id === "CVE-2099-2001")
    expect(crossSpawn).toHaveLength(1)
    expect(crossSpawn[0]!.targets).toEqual([
      "Node.js (usr/local/lib/node_modules/npm/node_modules/cross-spawn/package.json)",
      "Node.js (usr/local/lib/node_modules/npm/node_modules/foreground-child/node_modules/cross-spawn/package.json)",
    ])
    expect(findings.filter((f) => f.id === "CVE-2099-1001").map((f) => f.subject)).toEqual([
      "libcrypto3@3.5.1-r0",
      "libssl3@3.5.1-r0",
    ])
  })

  it("counts every distinct finding by severity and reads what the ignore file suppressed", () => {
    const v = gateReportText(fixture("image-findings.json"), DEFAULT)
    expect(v.counts).toEqual({ CRITICAL: 2, HIGH: 3, MEDIUM: 0, LOW: 1, UNKNOWN: 0 })
    expect(ids(v.below)).toEqual(["CVE-2099-1004 zlib@1.3.1-r2"])
    expect(v.suppressed).toEqual([
      {
        id: "CVE-2099-1003",
        statement: "zlib inflate is only reached by npm's own tarball handling, never at app runtime",
        target: "/scan/image.tar (alpine 3.22.1)",
      },
    ])
    expect(v.imageId).toBe("sha256:135c07a8e9df85bd15bb471ede72cbd0a27c87acd58a3f5f3818c8fc7d7cf1b4")
    expect(v.artifact).toBe("/scan/image.tar")
  })

  it("names what was scanned and where findings are as a reader knows them, not by container paths", () => {
    const rep = renameArtifact(parseTrivyReport(fixture("image-findings.json")), "image portfolio:1.2.3", (t) => t.replace("/scan/image.tar", "portfolio:1.2.3"))
    const v = gateScan(rep, DEFAULT)
    expect(v.artifact).toBe("image portfolio:1.2.3")
    expect(v.suppressed[0]?.target).toBe("portfolio:1.2.3 (alpine 3.22.1)")
    expect(v.blocking.flatMap((f) => f.targets)).toContain("portfolio:1.2.3 (alpine 3.22.1)")
    const text = renderScanSummary(v)
    expect(text).toMatch(/^Scan FAILED: image portfolio:1\.2\.3 has 3 blocking findings/)
    expect(text).not.toContain("/scan/")
    // The other findings and the counts are the report's own.
    expect(v.counts).toEqual(gateReportText(fixture("image-findings.json"), DEFAULT).counts)
  })

  it("ignores misconfiguration checks that passed", () => {
    const v = gateReportText(fixture("config-terraform-accepted.json"), { severities: ["LOW", "MEDIUM", "HIGH", "CRITICAL"], ignoreUnfixed: true })
    expect(v.blocking.map((f) => f.id).sort()).toEqual(["AWS-0017", "AWS-0025", "AWS-0033", "AWS-0034", "AWS-0089", "AWS-0178", "GCP-0066", "GCP-0077"])
  })
})

describe("renderScanSummary", () => {
  it("shows the verdict, counts by severity and the top findings with fixed versions", () => {
    const text = renderScanSummary(gateReportText(fixture("image-findings.json"), DEFAULT))
    expect(text.split("\n").slice(0, 6)).toEqual([
      "Scan FAILED: /scan/image.tar has 3 blocking findings (policy: CRITICAL,HIGH, unfixed ignored).",
      "Image ID: sha256:135c07a8e9df85bd15bb471ede72cbd0a27c87acd58a3f5f3818c8fc7d7cf1b4",
      "6 findings (5 distinct IDs) by severity:",
      "  CRITICAL  HIGH  MEDIUM  LOW  UNKNOWN",
      "         2     3       0    1        0",
      "Blocking (fix these, most severe first):",
    ])
    expect(text).toContain("CRITICAL CVE-2099-1001  libcrypto3@3.5.1-r0 → fixed in 3.5.2-r0")
    expect(text).toContain("HIGH     CVE-2099-2001  cross-spawn@7.0.3 → fixed in 7.0.5 [2 places]")
    expect(text).toContain("HIGH     CVE-2099-1002  busybox@1.37.0-r18 (no fix released yet)")
    expect(text).toMatch(/Accepted in the ignore file \(1\):\n {2}CVE-2099-1003 .* — zlib inflate is only reached/)
  })

  it("says PASSED and lists nothing blocking for a clean image", () => {
    const text = renderScanSummary(gateReportText(fixture("image-clean.json"), DEFAULT))
    expect(text).toMatch(/^Scan PASSED: \/scan\/image.tar has no blocking findings/)
    expect(text).not.toContain("Blocking")
  })

  it(`lists at most ${SUMMARY_TOP} findings per section and points to the report for the rest`, () => {
    const all: ScanPolicy = { severities: ["LOW", "MEDIUM", "HIGH", "CRITICAL"], ignoreUnfixed: false }
    const v = gateReportText(fixture("config-insecure.json"), all)
    expect(v.blocking.length).toBeGreaterThan(SUMMARY_TOP)
    const text = renderScanSummary(v)
    expect(text).toContain(`... and ${v.blocking.length - SUMMARY_TOP} more (see the JSON report)`)
  })
})

describe("reports the gate cannot read fail, never pass", () => {
  const malformed = readdirSync(join(dir, "malformed")).sort()
  const EXPECTED: Record<string, RegExp> = {
    "empty.json": /it is empty/,
    "no-schema-version.json": /SchemaVersion: must be 2/,
    "results-not-a-list.json": /Results: /,
    "schema-version-1.json": /SchemaVersion: must be 2/,
    "top-level-array.json": /expected a JSON object/,
    "truncated.json": /not valid JSON/,
    "unknown-severity.json": /Results\.0\.Vulnerabilities\.0\.Severity/,
    "vulnerability-without-id.json": /Results\.0\.Vulnerabilities\.0\.VulnerabilityID/,
  }

  it("has an expectation for every malformed fixture", () => {
    expect(malformed).toEqual(Object.keys(EXPECTED).sort())
  })

  it.each(malformed)("%s", (name) => {
    const run = () => gateReportText(fixture(`malformed/${name}`), DEFAULT, name)
    expect(run).toThrow(TrivyReportError)
    expect(run).toThrow(EXPECTED[name]!)
    expect(run).toThrow(/fails closed/)
  })

  it("refuses the SARIF report: the gate reads only the JSON (SARIF ignores --severity)", () => {
    expect(() => gateReportText(fixture("image-findings.sarif"), DEFAULT, "trivy.sarif")).toThrow(/SchemaVersion: must be 2/)
  })

  it("refuses a CycloneDX SBOM in place of a report", () => {
    expect(() => gateReportText(fixture("image-sbom.cdx.json"), DEFAULT)).toThrow(TrivyReportError)
  })
})

describe("scanPolicy", () => {
  const settings = { severities: ["HIGH", "CRITICAL"], ignoreUnfixed: true }

  it("takes ci/pipeline.yaml's policy, ordered most severe first", () => {
    expect(scanPolicy(settings)).toEqual({ severities: ["CRITICAL", "HIGH"], ignoreUnfixed: true })
  })

  it("lets per-run flags override each part", () => {
    expect(scanPolicy(settings, { severities: ["MEDIUM", "CRITICAL", "MEDIUM"] })).toEqual({ severities: ["CRITICAL", "MEDIUM"], ignoreUnfixed: true })
    expect(scanPolicy(settings, { ignoreUnfixed: false })).toEqual({ severities: ["CRITICAL", "HIGH"], ignoreUnfixed: false })
    expect(scanPolicy(settings, { severities: [] }).severities).toEqual(["CRITICAL", "HIGH"])
  })

  it("rejects an unknown severity naming the allowed ones", () => {
    expect(() => scanPolicy(settings, { severities: ["SEVERE"] })).toThrow(/unknown severity SEVERE; use some of CRITICAL, HIGH, MEDIUM, LOW, UNKNOWN/)
  })

  it("refuses a policy that could never fail", () => {
    expect(() => gateReportText(fixture("image-findings.json"), { severities: [], ignoreUnfixed: true })).toThrow(/lists no severities/)
  })
})
