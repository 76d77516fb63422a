// The Rego policies cosign evaluates while verifying an attestation (`verify-attestation --policy`).
// Pure: text out. Cosign hands the policy the verified in-toto statement as `input` and allows the
// attestation only when `data.signature.allow` is true; it evaluates Rego v0 syntax (no `if`).
// What a policy can check, it checks here rather than in the module afterwards: then a hand run of the
// README's `cosign verify-attestation` command proves the same thing the deploy relied on.
import { ATTESTATIONS, type AttestationKind } from "./commands.js"

// Rego string literals follow JSON's escaping, so JSON.stringify quotes any value safely.
const lit = (value: string) => JSON.stringify(value)

/**
 * The policy for one attestation kind:
 * - sbom: the statement's predicate is a CycloneDX document;
 * - scan: the scan verdict is PASS, for this commit (a verdict of another build cannot vouch for it).
 */
export function attestationPolicy(kind: AttestationKind, commit: string): string {
  const type = `  input.predicateType == ${lit(ATTESTATIONS[kind].predicateType)}`
  const rules =
    kind === "sbom"
      ? [type, `  input.predicate.bomFormat == "CycloneDX"`]
      : [type, `  input.predicate.verdict == "PASS"`, `  input.predicate.commit == ${lit(commit)}`]
  return ["package signature", "", "default allow = false", "", "allow {", ...rules, "}", ""].join("\n")
}
