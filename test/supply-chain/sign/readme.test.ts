// The README's hand verification runs the module's own flags (commands.ts) and policies (policies.ts):
// a flag or policy changed in the module without the README is caught here.
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { CONTAINER_FILES, verifyArgs, verifyAttestationArgs, type VerifierIdentity } from "../../../dagger/src/supply-chain/sign/commands.js"
import { attestationPolicy } from "../../../dagger/src/supply-chain/sign/policies.js"
import { repoRoot } from "../../tools/paths.js"

const readme = readFileSync(join(repoRoot, "README.md"), "utf8")
const REF = `registry.test/portfolio@sha256:${"a".repeat(64)}`
const files = { ...CONTAINER_FILES, publicKey: "ci/cosign.pub", policies: { sbom: "sbom.rego", scan: "scan-verdict.rego" } }
/** A command line as the README writes it: the shell's variables for the image and the identity, quoted. */
const shell = (args: string[]) => args.map((a) => (a === REF ? '"$IMAGE"' : a === "$IDENTITY" ? '"$IDENTITY"' : a)).join(" ")

describe("README, Signing and verification", () => {
  const verifiers: [string, VerifierIdentity][] = [
    ["keyless", { kind: "keyless", certificateIdentity: "$IDENTITY" }],
    ["key", { kind: "key" }],
  ]
  it.each(verifiers)("%s: the three commands are the module's verifyArgs and verifyAttestationArgs", (_name, verifier) => {
    for (const line of [
      verifyArgs(REF, verifier, "$COMMIT", { files }),
      verifyAttestationArgs(REF, verifier, "sbom", { files }),
      verifyAttestationArgs(REF, verifier, "scan", { files }),
    ]) {
      expect(readme).toContain(`\n${shell(line)}\n`)
    }
  })

  it("writes the module's two policies (the scan one for the shell's $COMMIT)", () => {
    expect(readme).toContain(`cat > sbom.rego <<EOF\n${attestationPolicy("sbom", "$COMMIT")}EOF\n`)
    expect(readme).toContain(`cat > scan-verdict.rego <<EOF\n${attestationPolicy("scan", "$COMMIT")}EOF\n`)
  })
})
