// cosign's command lines (dagger/src/supply-chain/sign/commands.ts), the Rego policies and the scan-verdict
// predicate. The exact arrays are pinned here; the suite that runs cosign for real uses the same functions.
import { describe, expect, it } from "vitest"
import {
  ATTESTATIONS,
  attestArgs,
  CONTAINER_FILES,
  GITHUB_ACTIONS_ISSUER,
  SCAN_VERDICT_PREDICATE_TYPE,
  signArgs,
  verifyArgs,
  verifyAttestationArgs,
  type CosignFiles,
} from "../../../dagger/src/supply-chain/sign/commands.js"
import { attestationPolicy } from "../../../dagger/src/supply-chain/sign/policies.js"
import { scanVerdictPredicate } from "../../../dagger/src/supply-chain/sign/scan-predicate.js"
import { gateReportText, scanPolicy } from "../../../dagger/src/supply-chain/scan/gate.js"
import { trivyReport } from "../../support/deploy-world.js"

const REF = `registry.test/portfolio@sha256:${"a".repeat(64)}`
const COMMIT = "c0ffee1234567890abcdef1234567890abcdef12"
const IDENTITY = "https://github.com/acme/portfolio/.github/workflows/staging-aws.yml@refs/heads/develop"

describe("cosign sign and attest", () => {
  it("key: the mounted key, no transparency log, the commit as a signed annotation", () => {
    expect(signArgs(REF, { kind: "key" }, COMMIT)).toEqual([
      "cosign", "sign", "--yes", "--key", CONTAINER_FILES.key, "--tlog-upload=false", "-a", `commit=${COMMIT}`, REF,
    ])
  })

  it("keyless: the mounted id token, logged in Rekor", () => {
    expect(signArgs(REF, { kind: "keyless" }, COMMIT)).toEqual([
      "cosign", "sign", "--yes", "--identity-token", CONTAINER_FILES.identityToken, "--tlog-upload=true", "-a", `commit=${COMMIT}`, REF,
    ])
  })

  it("attests the SBOM as cyclonedx and the scan verdict under its own predicate type, replacing an earlier one", () => {
    expect(attestArgs(REF, { kind: "key" }, "sbom")).toEqual([
      "cosign", "attest", "--yes", "--key", CONTAINER_FILES.key, "--tlog-upload=false",
      "--type", "cyclonedx", "--predicate", CONTAINER_FILES.predicates.sbom, "--replace", REF,
    ])
    expect(attestArgs(REF, { kind: "keyless" }, "scan")).toEqual([
      "cosign", "attest", "--yes", "--identity-token", CONTAINER_FILES.identityToken, "--tlog-upload=true",
      "--type", SCAN_VERDICT_PREDICATE_TYPE, "--predicate", CONTAINER_FILES.predicates.scan, "--replace", REF,
    ])
  })

  it("takes the files from the caller (a test machine's paths)", () => {
    const files: CosignFiles = {
      key: "/tmp/k.key", publicKey: "/tmp/k.pub", identityToken: "/tmp/token",
      predicates: { sbom: "/tmp/sbom.json", scan: "/tmp/scan.json" }, policies: { sbom: "/tmp/sbom.rego", scan: "/tmp/scan.rego" },
    }
    expect(attestArgs(REF, { kind: "key" }, "scan", { files })).toContain("/tmp/scan.json")
    expect(verifyAttestationArgs(REF, { kind: "key" }, "sbom", { files })).toEqual(expect.arrayContaining(["/tmp/k.pub", "/tmp/sbom.rego"]))
  })

  it("refuses a tag: only a digest is signed or verified", () => {
    for (const make of [() => signArgs("registry.test/portfolio:1.0.0", { kind: "key" }, COMMIT), () => verifyArgs("registry.test/portfolio", { kind: "key" }, COMMIT)]) {
      expect(make).toThrow(/only run on digest references .*registry\.test\/portfolio/)
    }
  })
})

describe("cosign verify and verify-attestation", () => {
  it("key: the public key, no transparency log, the commit annotation required", () => {
    expect(verifyArgs(REF, { kind: "key" }, COMMIT)).toEqual([
      "cosign", "verify", "--key", CONTAINER_FILES.publicKey, "--insecure-ignore-tlog=true", "-a", `commit=${COMMIT}`, REF,
    ])
  })

  it("keyless: the exact workflow identity and GitHub's issuer", () => {
    expect(verifyArgs(REF, { kind: "keyless", certificateIdentity: IDENTITY }, COMMIT)).toEqual([
      "cosign", "verify", "--certificate-identity", IDENTITY, "--certificate-oidc-issuer", GITHUB_ACTIONS_ISSUER, "-a", `commit=${COMMIT}`, REF,
    ])
    expect(verifyArgs(REF, { kind: "keyless", certificateIdentityRegexp: "^https://github\\.com/acme/" }, COMMIT)).toEqual(
      expect.arrayContaining(["--certificate-identity-regexp", "^https://github\\.com/acme/"]),
    )
  })

  it("each attestation with its type and its Rego policy", () => {
    expect(verifyAttestationArgs(REF, { kind: "keyless", certificateIdentity: IDENTITY }, "scan")).toEqual([
      "cosign", "verify-attestation", "--certificate-identity", IDENTITY, "--certificate-oidc-issuer", GITHUB_ACTIONS_ISSUER,
      "--type", SCAN_VERDICT_PREDICATE_TYPE, "--policy", CONTAINER_FILES.policies.scan, REF,
    ])
    expect(CONTAINER_FILES.policies.sbom).toMatch(/\.rego$/)
    expect(CONTAINER_FILES.policies.scan).toMatch(/\.rego$/)
  })
})

describe("the registry scheme", () => {
  it("adds --allow-http-registry only when asked for http, and never --allow-insecure-registry", () => {
    const all = [
      signArgs(REF, { kind: "key" }, COMMIT),
      attestArgs(REF, { kind: "key" }, "sbom"),
      verifyArgs(REF, { kind: "key" }, COMMIT),
      verifyAttestationArgs(REF, { kind: "key" }, "scan"),
    ]
    for (const args of all) expect(args.filter((a) => a.startsWith("--allow-"))).toEqual([])
    const http = [
      signArgs(REF, { kind: "key" }, COMMIT, { registryScheme: "http" }),
      attestArgs(REF, { kind: "key" }, "sbom", { registryScheme: "http" }),
      verifyArgs(REF, { kind: "key" }, COMMIT, { registryScheme: "http" }),
      verifyAttestationArgs(REF, { kind: "key" }, "scan", { registryScheme: "http" }),
    ]
    for (const args of http) {
      expect(args.filter((a) => a.startsWith("--allow-"))).toEqual(["--allow-http-registry"])
      expect(args.at(-1)).toBe(REF)
    }
  })
})

describe("the Rego policies", () => {
  it("scan: predicate type, verdict PASS and this commit, in Rego v0 (cosign's) syntax", () => {
    const policy = attestationPolicy("scan", COMMIT)
    expect(policy).toBe(
      [
        "package signature",
        "",
        "default allow = false",
        "",
        "allow {",
        `  input.predicateType == "${SCAN_VERDICT_PREDICATE_TYPE}"`,
        `  input.predicate.verdict == "PASS"`,
        `  input.predicate.commit == "${COMMIT}"`,
        "}",
        "",
      ].join("\n"),
    )
  })

  it("sbom: a CycloneDX document under in-toto's CycloneDX type", () => {
    const policy = attestationPolicy("sbom", COMMIT)
    expect(policy).toContain(`input.predicateType == "${ATTESTATIONS.sbom.predicateType}"`)
    expect(policy).toContain(`input.predicate.bomFormat == "CycloneDX"`)
    expect(policy).not.toContain(COMMIT)
  })

  it("quotes a value so it cannot end the string literal", () => {
    expect(attestationPolicy("scan", 'x" || true || "')).toContain(String.raw`input.predicate.commit == "x\" || true || \""`)
  })
})

describe("the scan-verdict predicate", () => {
  const policy = scanPolicy({ severities: ["HIGH", "CRITICAL"], ignoreUnfixed: true })
  const build = { commit: COMMIT, version: "1.1.0", scanner: "aquasec/trivy:0.69.3@sha256:" + "b".repeat(64) }

  it("states the gate's decision, its policy, counts and the build", () => {
    const p = scanVerdictPredicate(gateReportText(trivyReport("clean"), policy), build)
    expect(p).toMatchObject({ verdict: "PASS", commit: COMMIT, version: "1.1.0", scanner: build.scanner, blocking: 0, accepted: [] })
    expect(p.policy).toEqual({ severities: ["CRITICAL", "HIGH"], ignoreUnfixed: true })
    expect(p.imageId).toMatch(/^sha256:/)
  })

  it("a failing gate says FAIL and how many findings blocked it", () => {
    const p = scanVerdictPredicate(gateReportText(trivyReport("critical"), policy), build)
    expect(p).toMatchObject({ verdict: "FAIL", blocking: 1 })
    expect(p.counts.CRITICAL).toBe(1)
  })
})
