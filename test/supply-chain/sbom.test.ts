// SBOM subject and naming, on genuine Trivy 0.69.3 CycloneDX output.
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { nameSbomSubject, sbomFileName, sbomSubject, trivySbomArgs } from "../../dagger/src/supply-chain/sbom.js"
import { repoRoot } from "../tools/paths.js"

const fixture = (name: string) => readFileSync(join(repoRoot, "test/fixtures/trivy", name), "utf8")

describe("sbomSubject", () => {
  it("reads the image ID an image SBOM describes", () => {
    expect(sbomSubject(fixture("image-sbom.cdx.json"))).toEqual({
      imageId: "sha256:135c07a8e9df85bd15bb471ede72cbd0a27c87acd58a3f5f3818c8fc7d7cf1b4",
      name: "/scan/image.tar",
      specVersion: "1.6",
      componentCount: 10,
    })
  })

  it("names the SBOM file after the image ID, and refuses one that names no image", () => {
    expect(sbomFileName(sbomSubject(fixture("image-sbom.cdx.json")).imageId)).toBe("sbom-135c07a8e9df.cdx.json")
    const fs = sbomSubject(fixture("fs-app-sbom.cdx.json"))
    expect(fs.imageId).toBe("")
    expect(() => sbomFileName(fs.imageId)).toThrow(/does not name an image ID.*generated from an image/)
  })

  it("names its subject after the image instead of the tarball's container path, leaving the rest as Trivy wrote it", () => {
    const raw = fixture("image-sbom.cdx.json")
    const named = nameSbomSubject(raw, "portfolio:1.2.3")
    expect(sbomSubject(named)).toEqual({ ...sbomSubject(raw), name: "portfolio:1.2.3" })
    expect(named).not.toContain("/scan/image.tar")
    const strip = (t: string) => {
      const bom = JSON.parse(t) as { metadata: { component: Record<string, unknown> } }
      delete bom.metadata.component["name"]
      return bom
    }
    expect(strip(named)).toEqual(strip(raw))
    expect(() => nameSbomSubject(fixture("image-findings.json"), "x")).toThrow(/not a CycloneDX document/)
  })

  it("rejects what is not CycloneDX", () => {
    expect(() => sbomSubject(fixture("image-findings.json"))).toThrow(/not a CycloneDX document: bomFormat/)
    expect(() => sbomSubject("{")).toThrow(/SBOM is not valid JSON/)
  })

  it("generates from the mounted tarball without scanning (no DB download)", () => {
    const args = trivySbomArgs("/scan/out/sbom.cdx.json")
    expect(args.slice(0, 4)).toEqual(["trivy", "image", "--input", "/scan/image.tar"])
    expect(args[args.indexOf("--format") + 1]).toBe("cyclonedx")
    expect(args).not.toContain("--scanners")
  })
})
