// The report's Signature section (dagger/src/report/signature.ts) and its place in the job summary.
import { describe, expect, it } from "vitest"
import { signatureSection } from "../../dagger/src/report/signature.js"
import { renderReport } from "../../dagger/src/report/render.js"
import { startRun } from "../../dagger/src/report/run-record.js"

const SIGNER = "https://github.com/acme/portfolio/.github/workflows/production-gcp.yml@refs/heads/main (keyless, issuer https://token.actions.githubusercontent.com)"

describe("signatureSection", () => {
  it("verified: signer as code, the attestations, the detail", () => {
    expect(signatureSection({ signer: SIGNER, attestations: ["CycloneDX SBOM", "scan verdict"], verified: true, detail: "all verified" })).toEqual([
      "",
      "### Signature",
      "",
      `**✅ Verified** · **Signer** \`${SIGNER}\` · **Attestations** CycloneDX SBOM, scan verdict`,
      "",
      "all verified",
    ])
  })

  it("unsigned and refused read as such", () => {
    expect(signatureSection({ signer: "", attestations: [], verified: false, detail: "unsigned: no key" }).join("\n")).toMatch(
      /\*\*⚠️ Unsigned\*\* · \*\*Signer\*\* none · \*\*Attestations\*\* none\n\nunsigned: no key/,
    )
    expect(signatureSection({ signer: "key ci/cosign.pub", attestations: ["CycloneDX SBOM"], verified: false, detail: "verification failed: Error: no matching signatures" }).join("\n")).toMatch(
      /❌ Not verified.*`key ci\/cosign\.pub`.*\n\nverification failed: Error: no matching signatures/s,
    )
  })

  it("nothing for a run that never got to signing", () => {
    expect(signatureSection(undefined)).toEqual([])
  })

  it("sits after the image in the job summary", () => {
    const run = startRun({ environment: "staging", commit: "c0ffee1234567890abcdef1234567890abcdef12" })
    run.image = `registry.test/portfolio@sha256:${"a".repeat(64)}`
    run.signature = { signer: "key ci/cosign.pub", attestations: ["CycloneDX SBOM", "scan verdict"], verified: true, detail: "ok" }
    const md = renderReport(run)
    expect(md.indexOf("### Signature")).toBeGreaterThan(md.indexOf("### Image"))
    expect(md).toContain("**✅ Verified** · **Signer** `key ci/cosign.pub`")
  })
})
