// CLI signatures of the supply-chain functions (build, test, scan, sbom, publish, check) and of the
// objects they return, read by the SDK's own introspector.
import { beforeAll, describe, expect, it } from "vitest"
import { introspectModule, isRequired, toKebab, typeName, type ModuleTypedefs } from "../support/introspect.js"
import { expectFunction } from "../support/signature.js"

let t: ModuleTypedefs
beforeAll(async () => {
  t = await introspectModule()
})

/** Exposed fields of an object as `name: Type` (CLI names), documented ones only. */
function fieldsOf(object: string): string[] {
  const props = Object.values(t.objects[object]?.properties ?? {})
  for (const p of props) expect(p.description, `${object}.${p.name} has a doc comment`).not.toBe("")
  return props.filter((p) => p.isExposed).map((p) => `${p.name}: ${typeName(p.type)}`)
}

const identity = {
  commit: { type: "String", optional: true, description: /Default: "unknown"/ },
  version: { type: "String", optional: true, description: /Default: the short commit/ },
}

describe("PortfolioPipeline supply-chain functions", () => {
  it("build [--commit] [--version] → Container, cacheable", () => {
    expectFunction(t, "build", { args: identity, returns: "Container", cache: "default" })
  })

  it("test → String (the test output), cacheable", () => {
    expectFunction(t, "test", { args: {}, returns: "String", cache: "default" })
  })

  it("scan [--commit] [--version] [--severity ENUM,...] [--ignore-unfixed] → Scan, per session", () => {
    expectFunction(t, "scan", {
      args: {
        ...identity,
        severity: { type: "[ScanSeverity!]", optional: true, description: /HIGH,CRITICAL/ },
        "ignore-unfixed": { type: "Boolean", optional: true, description: /scan\.ignoreUnfixed/ },
      },
      returns: "Scan",
      cache: "1h",
    })
    // The CLI takes the member names: Trivy's own words.
    expect(Object.values(t.enums["ScanSeverity"]?.values ?? {}).map((v) => v.name)).toEqual(["UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL"])
  })

  it("sbom [--commit] [--version] → File", () => {
    expectFunction(t, "sbom", { args: identity, returns: "File", cache: "default" })
  })

  it("publish --commit [--version] [AWS secrets] [GCP secrets] → Release, never cached", () => {
    expectFunction(t, "publish", {
      args: {
        commit: { type: "String", required: true },
        version: { type: "String", optional: true, description: /Default: the short commit/ },
        "aws-access-key-id": { type: "Secret", optional: true },
        "aws-secret-access-key": { type: "Secret", optional: true },
        "aws-session-token": { type: "Secret", optional: true },
        "gcp-credentials": { type: "Secret", optional: true },
        "gcp-access-token": { type: "Secret", optional: true },
      },
      returns: "Release",
      cache: "never",
    })
  })

  it("check [--commit] [--version] [--allow-failure] → CheckReport, per session", () => {
    expectFunction(t, "check", {
      args: { ...identity, "allow-failure": { type: "Boolean", default: false } },
      returns: "CheckReport",
      cache: "1h",
    })
  })
})

describe("checks (`dagger check`)", () => {
  it("are the tests, the scan gate, the Terraform static checks and the SBOM: no cloud account, no flag needed", () => {
    const main = t.objects[t.name]!
    const checks = Object.values(main.methods).filter((f) => f.isCheck)
    expect(checks.map((f) => toKebab(f.name)).sort()).toEqual(["sbom", "scan-gate", "terraform-checks", "test"])
    for (const f of checks) {
      const args = Object.values(f.arguments)
      expect(args.filter(isRequired), `${f.name}: dagger check passes no flag`).toEqual([])
      expect(args.filter((a) => typeName(a.type) === "Secret"), `${f.name}: a check needs no credential`).toEqual([])
    }
    // `check` stays the one combined report (a check of its own would run everything twice).
    expect(main.methods["check"]?.isCheck).toBe(false)
  })

  it("scan-gate and terraform-checks take nothing and return their summaries, once per session", () => {
    expectFunction(t, "scan-gate", { args: {}, returns: "String", cache: "1h" })
    expectFunction(t, "terraform-checks", { args: {}, returns: "String", cache: "1h" })
  })
})

describe("returned objects", () => {
  it("Scan: verdict fields, report files and report(format)/enforce", () => {
    expect(fieldsOf("Scan")).toEqual([
      "passed: Boolean",
      "verdict: String",
      "summary: String",
      "blocking: Int",
      "imageId: String",
      "json: File",
      "sarif: File",
    ])
    expectFunction(t, "report", {
      object: "Scan",
      args: { format: { type: "ReportFormat", default: "JSON", enumValues: ["JSON", "SARIF"], description: /Default: JSON/ } },
      returns: "File",
    })
    expectFunction(t, "enforce", { object: "Scan", args: {}, returns: "String" })
  })

  it("CheckReport: verdict, summary, artifacts and enforce", () => {
    expect(fieldsOf("CheckReport")).toEqual(["passed: Boolean", "verdict: String", "summary: String", "artifacts: Directory"])
    expectFunction(t, "enforce", { object: "CheckReport", args: {}, returns: "String" })
  })

  it("Release: digest references, the gating scan and the SBOM", () => {
    expect(fieldsOf("Release")).toEqual([
      "version: String",
      "commit: String",
      "images: [String!]",
      "ecrImage: String",
      "artifactRegistryImage: String",
      "imageId: String",
      "scan: Scan",
      "sbom: File",
    ])
  })
})
