// The ports the deploy sequences call, as plain interfaces: each cloud implements its own (aws/ for
// staging's ECS, gcp/ for production's Cloud Run), supply-chain/ the release, terraform/ the apply, health/
// and notify/ theirs. Every call that can change a cloud takes the step's AbortSignal (StepContext.signal) and
// sends nothing once it aborts; that is what makes a verdict final (docs/architecture.md).
import type { BurstResult } from "../analysis/burst.js"
import type { HealthCheckResult } from "../health/poll.js"
import type { AttestationInputs } from "./sign.js"
import type { ExpectedRelease } from "../health/verdict.js"
import type { AnalysisThresholds, RunRecord, ScanSummary } from "../report/run-record.js"

/** An image built and checked (tests, scan, SBOM) but not yet published. */
export interface CheckedImage {
  /** The scan as the report shows it; absent when the scan could not run. */
  scan?: ScanSummary
  /** The first failed gate (tests, then scan, then SBOM); undefined when the image may ship. */
  blocker?: Error
  /**
   * Pushes exactly the checked image and answers its digest reference (registry/repo@sha256:...), or the
   * image already published under its tag (never overwritten; supply-chain/publish.ts).
   */
  publish(signal: AbortSignal): Promise<PublishedImage>
  /** What the signing step attests (the SBOM and the scan verdict); absent when the image may not ship. */
  attestations?: AttestationInputs
}

/** What a publish answers: the digest reference the run deploys. */
export interface PublishedImage {
  ref: string
  /**
   * Set when the tag already held another build of this commit, verified (signed for this commit, SBOM
   * and scan PASS attested) and deployed instead of the rebuild: the warning saying so. That image keeps
   * the signature and attestations it carries; nothing signs it again.
   */
  adopted?: string
}

/** Build → tests ∥ scan ∥ SBOM. Never publishes by itself. */
export interface ReleasePort {
  check(signal: AbortSignal): Promise<CheckedImage>
}

export interface HealthPort {
  /** Polls `<url><healthPath>` until the release answers healthy or the budget is spent. Never throws for "unhealthy". */
  check(url: string, expected: Partial<ExpectedRelease>, signal: AbortSignal): Promise<HealthCheckResult>
}

/** The synthetic traffic analysis (analysis/): one bounded burst of requests to a release's URL, measured. */
export interface AnalysisPort {
  /** What the figures are judged by (ci/pipeline.yaml analysis.thresholds). */
  thresholds: AnalysisThresholds
  /** The longest one burst takes (analysis.budgetSeconds): a step that sends one is given this much more time. */
  burstBudgetMs: number
  /** Never throws for a failing release (its failures are figures); rejects with the signal's reason once it aborts. */
  burst(url: string, signal: AbortSignal): Promise<BurstResult>
}

export interface NotifyPort {
  /** Announces the finished run; undeliverable targets become warnings on the run. Never throws. */
  notify(run: RunRecord, signal: AbortSignal): Promise<void>
}

/** What Terraform told us after apply. */
export interface AppliedStack {
  /** The environment's public URL (the ALB's, for staging). */
  serviceUrl: string
  /** One line for the report, e.g. "2 to import, 0 to add, 1 to change, 0 to replace, 0 to destroy". */
  summary: string
}

export interface TerraformPort {
  /**
   * Adopt-or-create imports, plan, destroy guard, apply of exactly that plan; answers the outputs.
   * `image` is only used if the service has to be created (its first revision).
   */
  apply(input: { image: string }, signal: AbortSignal): Promise<AppliedStack>
}
