// The run record: what a deploy did, filled in step by step by the pipeline and read by the report,
// the notifications and the returned DeployReport. Plain JSON-serialisable data (it crosses Dagger's
// object-state boundary and becomes the `json` field), so timestamps are ISO strings, not Dates.
//
// Pure: the step runner that fills it in is deploy/steps.ts.
import type { CostEstimate } from "./cost.js"
import { SHORT_COMMIT_LENGTH } from "../supply-chain/image-ref.js"
import type { SeverityName } from "../supply-chain/scan/severity.js"

export type Environment = "staging" | "production"

/** How one step ended. `warning`: it finished but something is worth a look (e.g. AWS stop failed). */
export type StepOutcome = "succeeded" | "failed" | "skipped" | "warning"

/** The run's final word; `running` until `finishRun` decides it. */
export type RunVerdict = "succeeded" | "failed" | "rolled-back"

export interface StepRecord {
  /** Short domain name, e.g. "build", "scan", "terraform apply", "canary 10%". */
  name: string
  /** ISO-8601 instants. A skipped step has startedAt === endedAt. */
  startedAt: string
  endedAt: string
  outcome: StepOutcome
  /** One line for humans: why it failed, was skipped or warned. */
  detail?: string
}

export interface RollbackRecord {
  /** False when there was nothing to roll back to (e.g. a first deploy). */
  attempted: boolean
  outcome: "succeeded" | "failed" | "not-needed"
  /** What was restored, or why the rollback failed. */
  detail?: string
}

export interface RunUrls {
  /** The environment's public URL (ALB DNS name or Cloud Run URL). */
  service?: string
  /** The canary's tagged URL (production). */
  canary?: string
  /** The CI run that produced this record. */
  run?: string
}

/** Small, scanner-neutral summary; the scan capability maps Trivy's report into it. */
export interface ScanSummary {
  /** Findings per severity (severities absent from the map count as 0). */
  counts: Partial<Record<SeverityName, number>>
  /** The gate's decision under the configured policy. */
  gate: "passed" | "failed"
  /** The most severe findings first; the report shows at most ten. */
  topFindings: ScanFinding[]
  /** Findings accepted by the ignore file, if any. */
  ignored?: number
}

export interface ScanFinding {
  id: string
  severity: SeverityName
  /** Package (or file, for misconfigurations) the finding is in. */
  target: string
  installedVersion?: string
  /** Empty when no fix exists. */
  fixedVersion?: string
  title?: string
}

/** The deployed image's signature (deploy/sign.ts): who signed, what is attested, whether it verified. */
export interface SignatureRecord {
  /** The signing key or keyless identity; "" when nobody signed. */
  signer: string
  /** Attestations attached to the image, e.g. "CycloneDX SBOM", "scan verdict". */
  attestations: string[]
  /** True once the digest about to be deployed verified (signature and every attestation). */
  verified: boolean
  detail: string
}

/** Traffic measured on one release over one window: a synthetic burst, or the requests Cloud Run served. */
export interface TrafficFigures {
  requests: number
  /** 5xx answers, timeouts and failed connections. */
  errors: number
  /** errors / requests; 0 when there was no request. */
  errorRate: number
  /** Latency percentiles in ms; absent when nothing answered. */
  p50Ms?: number
  p95Ms?: number
}

/** The limits a candidate's traffic is judged by (ci/pipeline.yaml `analysis`). */
export interface AnalysisThresholds {
  /** Highest error rate that passes, as a fraction (0.01 = 1 %). */
  maxErrorRate: number
  /** Highest candidate p95 / baseline p95 that passes. */
  maxP95Ratio: number
  /** A p95 within this many ms of the baseline's always passes, so jitter on a fast service is not a regression. */
  p95SlackMs: number
}

/** One judgement of a candidate's traffic at one step. */
export interface StepAnalysis {
  /** The step judged, e.g. "canary 10%" or "rollout". */
  step: string
  /** "synthetic": the pipeline's burst to the candidate's URL; "served-traffic": Cloud Run's request metrics. */
  source: "synthetic" | "served-traffic"
  candidate?: TrafficFigures
  /** The previous release's figures the candidate is compared with; absent when there is none (first release). */
  baseline?: TrafficFigures
  thresholds: AnalysisThresholds
  /** "no-signal": nothing to judge (e.g. no served requests in the window); never counted as a pass. */
  verdict: "pass" | "fail" | "no-signal"
  /** Fail: the figure that failed beside its threshold ("error rate 5.0 % > 1.0 %"); no-signal: why. */
  reason?: string
}

/**
 * What an operator needs to act on a failure (ECS events and stopped tasks, Cloud Run conditions,
 * Terraform's error block, the last health responses), gathered after the failure and never blocking
 * the verdict. Stored as gathered; the report and notifications scrub secrets, then bound the size.
 */
export interface Diagnostic {
  /** Where it came from: "ecs", "cloud-run", "terraform", "health", "analysis". */
  source: string
  /** One line naming the thing, e.g. "task 3f2a9c stopped: Essential container in task exited". */
  title: string
  /** One fact per line: events, exit codes, conditions, responses. */
  lines: string[]
  /** Where to look next (console, log stream). */
  links?: { label: string; url: string }[]
}

/** Something the reader should know that did not change the verdict. */
export interface RunWarning {
  /** Where it came from, e.g. "notify:slack", "stop-aws", "pricing". */
  source: string
  message: string
}

export interface RunRecord {
  /** Bumped when a field changes meaning, so stored JSON can be told apart. */
  schemaVersion: 1
  environment: Environment
  /** Full git SHA. */
  commit: string
  /** The version the app reports on /health (defaults to the short commit). */
  version: string
  /** The deployed image by digest, e.g. `repo/portfolio@sha256:...`; absent when nothing was published. */
  image?: string
  startedAt: string
  endedAt?: string
  steps: StepRecord[]
  verdict: RunVerdict | "running"
  /** Name of the first failed step, set by `finishRun`. */
  failingStep?: string
  rollback?: RollbackRecord
  urls: RunUrls
  scan?: ScanSummary
  signature?: SignatureRecord
  warnings: RunWarning[]
  cost?: CostEstimate
  /** Traffic judgements in the order made (canary steps, the staging rollout); absent when none ran. */
  analysis?: StepAnalysis[]
  /** Gathered when a step failed; absent on a clean run. */
  diagnostics?: Diagnostic[]
}

/** Time source, injectable so tests and golden fixtures are deterministic. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number
}

export const systemClock: Clock = { now: () => Date.now() }

const iso = (ms: number) => new Date(ms).toISOString()

/** Starts a record for one deploy. `version` defaults to the first 7 characters of the commit. */
export function startRun(
  init: { environment: Environment; commit: string; version?: string; urls?: RunUrls },
  clock: Clock = systemClock,
): RunRecord {
  return {
    schemaVersion: 1,
    environment: init.environment,
    commit: init.commit,
    version: init.version ?? init.commit.slice(0, SHORT_COMMIT_LENGTH),
    startedAt: iso(clock.now()),
    steps: [],
    verdict: "running",
    urls: { ...init.urls },
    warnings: [],
  }
}

/**
 * The verdict a finished run deserves: any failed step makes it `failed`, unless a rollback was
 * attempted and verified, which makes it `rolled-back` (the old release serves; the new one did not
 * ship). Warnings and skipped steps never change the verdict.
 */
export function decideVerdict(run: Pick<RunRecord, "steps" | "rollback">): {
  verdict: RunVerdict
  failingStep?: string
} {
  const failed = run.steps.find((s) => s.outcome === "failed")
  if (!failed) return { verdict: "succeeded" }
  const rolledBack = run.rollback?.attempted === true && run.rollback.outcome === "succeeded"
  return { verdict: rolledBack ? "rolled-back" : "failed", failingStep: failed.name }
}

/** Closes the record: sets endedAt, the verdict and the failing step. Returns the same record. */
export function finishRun(run: RunRecord, clock: Clock = systemClock): RunRecord {
  const { verdict, failingStep } = decideVerdict(run)
  run.verdict = verdict
  if (failingStep === undefined) delete run.failingStep
  else run.failingStep = failingStep
  run.endedAt = iso(clock.now())
  return run
}

/** Appends a warning (the shell's way to report something that must not change the verdict). */
export function addWarning(run: RunRecord, source: string, message: string): void {
  run.warnings.push({ source, message })
}

/** Records a step that did not run (e.g. "stop AWS staging" with --skip-aws-stop). */
export function skipStep(run: RunRecord, name: string, detail: string, clock: Clock = systemClock): StepRecord {
  const at = iso(clock.now())
  const step: StepRecord = { name, startedAt: at, endedAt: at, outcome: "skipped", detail }
  run.steps.push(step)
  return step
}
