// The predicate of the scan-verdict attestation (commands.ts SCAN_VERDICT_PREDICATE_TYPE): what the gate
// decided about this image, under which policy, for which commit. Pure. Findings are summarised, not
// listed: the attestation vouches for the decision; the full report stays a build artifact
// (`dagger call scan ... report`). The Rego policy (policies.ts) reads `verdict` and `commit`.
import type { ScanVerdict } from "../scan/gate.js"
import type { SeverityName } from "../scan/severity.js"

/** Schema of the predicate; bump the type's version (v1 → v2) when a field changes meaning. */
export interface ScanVerdictPredicate {
  verdict: "PASS" | "FAIL"
  /** The git commit the image was built from. */
  commit: string
  version: string
  /** The scanned image's ID (config digest), as the scanner reported it. */
  imageId: string
  /** The scanner image, pinned by digest (ci/pipeline.yaml images.trivy). */
  scanner: string
  policy: { severities: readonly SeverityName[]; ignoreUnfixed: boolean }
  /** Distinct findings per severity, whatever the policy. */
  counts: Record<SeverityName, number>
  /** Findings that failed the gate (0 for PASS). */
  blocking: number
  /** At a failing severity with no fix released, let through by ignoreUnfixed. */
  unfixed: number
  /** IDs accepted in the ignore file (ci/.trivyignore.yaml). */
  accepted: string[]
}

/** The predicate for a gate verdict. */
export function scanVerdictPredicate(gate: ScanVerdict, build: { commit: string; version: string; scanner: string }): ScanVerdictPredicate {
  return {
    verdict: gate.passed ? "PASS" : "FAIL",
    commit: build.commit,
    version: build.version,
    imageId: gate.imageId,
    scanner: build.scanner,
    policy: { severities: gate.policy.severities, ignoreUnfixed: gate.policy.ignoreUnfixed },
    counts: gate.counts,
    blocking: gate.blocking.length,
    unfixed: gate.unfixed.length,
    accepted: [...new Set(gate.suppressed.map((s) => s.id))].sort(),
  }
}
