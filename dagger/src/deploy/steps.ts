// The steps staging and production share: the release steps they begin with (checkAndPublish), the health
// check inside a step, the rollback record (recordRollback), the cost estimate and the finish (verdict,
// notify). Pure sequencing over ports (./ports.ts) and the step runner (./step-runner.ts).
import { estimateMonthlyCost, type CostEstimate, type CostInput, type Pricing } from "../report/cost.js"
import type { HealthCheckResult } from "../health/poll.js"
import type { ExpectedRelease } from "../health/verdict.js"
import type { ScanVerdict } from "../supply-chain/scan/gate.js"
import { severityRank } from "../supply-chain/scan/severity.js"
import { addWarning, finishRun, type RunRecord, type ScanFinding, type ScanSummary } from "../report/run-record.js"
import { raceDeadline, StepTimeoutError } from "../shared/deadline.js"
import { stepTimeoutMs, type Settings } from "../config/settings.js"
import { firstLine } from "../shared/text.js"
import type { HealthPort, NotifyPort, ReleasePort } from "./ports.js"
import { softStep, type StepContext, type StepOptions, type Steps } from "./step-runner.js"
import { requireCommit, resolveVersion } from "../supply-chain/image-ref.js"
import { requireCommitTime } from "./release-order.js"
import { recordAdoptedSignature, signAndAttest, type SigningPort } from "./sign.js"

/** Time budget of the combined build-and-check step: the build, then the longer of tests and scan. */
export function checkTimeoutMs(settings: Settings): number {
  return stepTimeoutMs(settings, "build") + Math.max(stepTimeoutMs(settings, "test"), stepTimeoutMs(settings, "scan"))
}

/**
 * The steps every deploy begins with: build, test, scan and SBOM (a failed gate fails the step, so
 * nothing is published), then publish exactly that image to `registry` (named in the step), then sign it
 * and attest its SBOM and scan verdict (deploy/sign.ts). A re-run whose tag holds another, verified build
 * deploys that one (a warning on the publish step) and does not sign it again. Records the scan, the published digest
 * reference and the signature on the run and returns the reference. Without `signing` (a pull request's
 * preview, which never takes traffic) nothing is signed.
 */
export async function checkAndPublish(steps: Steps, release: ReleasePort, settings: Settings, registry: string, signing?: SigningPort): Promise<string> {
  const { run } = steps
  const checked = await steps.step("build, test, scan, SBOM", checkTimeoutMs(settings), async (ctx) => {
    const image = await release.check(ctx.signal)
    if (image.scan) run.scan = image.scan
    if (image.blocker) throw image.blocker
    ctx.note(`tests passed, scan gate ${image.scan?.gate ?? "passed"}, SBOM generated`)
    return image
  })
  const published = await steps.step(`publish to ${registry}`, "publish", async (ctx) => {
    const image = await checked.publish(ctx.signal)
    ctx.note(image.ref)
    if (image.adopted) {
      ctx.warn(image.adopted)
      addWarning(run, "publish", image.adopted)
    }
    return image
  })
  const { ref } = published
  run.image = ref
  // An adopted image was verified as published (signed and attested for this commit): attesting this
  // rebuild's SBOM to it would describe another build.
  if (signing && published.adopted) recordAdoptedSignature(steps, signing, ref)
  else if (signing) await signAndAttest(steps, signing, ref, checked.attestations)
  return ref
}

/**
 * Runs a rollback as the final "rollback" step (it must happen even after the run's deadline passed)
 * and records it on the run: succeeded with the detail `rollBack` answers, or failed with the first
 * line of its error. Never throws.
 */
export async function recordRollback(steps: Steps, rollBack: (ctx: StepContext) => Promise<string>): Promise<void> {
  const { run } = steps
  try {
    const detail = await steps.finalStep("rollback", "rollback", async (ctx) => {
      const done = await rollBack(ctx)
      ctx.note(done)
      return done
    })
    run.rollback = { attempted: true, outcome: "succeeded", detail }
  } catch (err) {
    run.rollback = { attempted: true, outcome: "failed", detail: firstLine(err) }
  }
}

/**
 * The report's scan summary from the gate's verdict: counts, the gate's decision, and the findings
 * that matter most first (blocking, then tolerated for lack of a fix, then below the policy).
 */
export function toScanSummary(verdict: ScanVerdict): ScanSummary {
  const ordered = [...verdict.blocking, ...verdict.unfixed, ...verdict.below]
  const topFindings: ScanFinding[] = ordered
    .map((f, i) => ({ f, i }))
    .sort((a, b) => severityRank(a.f.severity) - severityRank(b.f.severity) || a.i - b.i)
    .slice(0, 20)
    .map(({ f }) => {
      const at = f.subject.lastIndexOf("@")
      const finding: ScanFinding = {
        id: f.id,
        severity: f.severity,
        target: at > 0 ? f.subject.slice(0, at) : f.subject,
        ...(f.title ? { title: f.title } : {}),
        ...(f.fixedVersion ? { fixedVersion: f.fixedVersion } : {}),
      }
      if (at > 0) finding.installedVersion = f.subject.slice(at + 1)
      return finding
    })
  return {
    counts: { ...verdict.counts },
    gate: verdict.passed ? "passed" : "failed",
    topFindings,
    ...(verdict.suppressed.length > 0 ? { ignored: verdict.suppressed.length } : {}),
  }
}

/** One line about a health check for a step's detail (the check's own summary: verdict, what it saw, the fix). */
export function healthDetail(result: HealthCheckResult): string {
  return result.summary.replace(/\s*\n\s*/g, " ").trim()
}

/** A health check that did not find the expected release, as the error that fails its step. */
export class UnhealthyError extends Error {
  override name = "UnhealthyError"
  constructor(readonly result: HealthCheckResult) {
    super(`health check ${healthDetail(result)}`)
  }
}

/** Runs a health check inside a step: notes the outcome, throws UnhealthyError when not healthy. */
export async function requireHealthy(
  health: HealthPort,
  url: string,
  expected: Partial<ExpectedRelease>,
  ctx: StepContext,
): Promise<HealthCheckResult> {
  const result = await health.check(url, expected, ctx.signal)
  if (!result.healthy) throw new UnhealthyError(result)
  ctx.note(healthDetail(result))
  return result
}

/** `--run-url` must be an http(s) link (it becomes a link in Markdown and chat messages). */
export function runUrlOf(runUrl: string | undefined): { runUrl?: string } {
  if (runUrl === undefined || runUrl.trim() === "") return {}
  const link = runUrl.trim()
  if (!/^https?:\/\/\S+$/.test(link) || !URL.canParse(link)) {
    throw new Error(`--run-url '${runUrl}' is not an http(s) URL; pass the CI run's link, e.g. https://github.com/OWNER/REPO/actions/runs/123`)
  }
  const url = new URL(link)
  if (url.username !== "" || url.password !== "") {
    // The link goes into reports and chat messages as is: credentials in it would be published.
    throw new Error(`--run-url carries credentials (user:password@${url.host}); pass the plain link to the CI run, without them`)
  }
  return { runUrl: link }
}

/** Terraform defaults of the production service (terraform/modules/gcp-cloud-run-service), used when it is not read. */
export const PRODUCTION_DEFAULTS = { minInstances: 0, cpu: 1, memoryGiB: 0.5 } as const
/** Terraform defaults of the staging task (terraform/modules/aws-ecs-service), used when it is not read. */
export const STAGING_TASK_DEFAULTS = { cpuUnits: 256, memoryMiB: 512 } as const

/** Time allowed for reading the environments' sizes for the cost estimate. */
export const COST_TIMEOUT_MS = 60_000

/** Adds the cost estimate; a failure here is a warning, never a change of verdict. */
export async function estimateCost(
  steps: Steps,
  input: (signal: AbortSignal) => Promise<CostInput>,
  pricing: Pricing,
  notes: readonly string[] = [],
): Promise<void> {
  await softStep(
    steps,
    "cost estimate",
    COST_TIMEOUT_MS,
    "cost",
    async (ctx) => {
      try {
        const estimate: CostEstimate = estimateMonthlyCost(await input(ctx.signal), pricing)
        estimate.notes.push(...notes)
        steps.run.cost = estimate
      } catch (err) {
        throw new Error(`the cost estimate could not be made: ${firstLine(err)}`)
      }
    },
    { final: true },
  )
}

/**
 * Decides the verdict, notifies, stops the run timer; returns the finished record. Notifying is not a
 * step: it needs the verdict, and however it ends (undelivered, or cut off by its timeout) it must not
 * change that verdict, only add a warning.
 */
export async function finish(
  run: RunRecord,
  steps: Steps,
  notify: NotifyPort,
  settings: Settings,
): Promise<RunRecord> {
  finishRun(run, steps.clock)
  const limitMs = stepTimeoutMs(settings, "notify")
  // Cut off at its limit: a notification still retrying after the report was returned would be a lie.
  const cutOff = new AbortController()
  try {
    await raceDeadline(notify.notify(run, cutOff.signal), limitMs, () => {
      const err = new StepTimeoutError("notify", limitMs)
      cutOff.abort(err)
      return err
    })
  } catch (err) {
    addWarning(
      run,
      "notify",
      err instanceof StepTimeoutError
        ? `notifications did not finish within ${Math.round(limitMs / 1000)} s (timeouts.stepMinutes.notify); some may be missing`
        : `notifications failed: ${firstLine(err)}`,
    )
  } finally {
    steps.close()
  }
  return run
}


/**
 * A Terraform apply runs in the engine and cannot be stopped from the module once it started: a cancelled
 * terraform step waits for it as long as a whole step budget, so a rollback never races a half-applied stack
 * and nothing the apply does lands after the verdict.
 */
export function terraformStepOptions(settings: Settings): StepOptions {
  return { cancelGraceMs: stepTimeoutMs(settings, "terraform") }
}

/** What every deploy is told about its release, validated (planRelease). */
export interface ReleasePlan {
  settings: Settings
  pricing: Pricing
  commit: string
  version: string
  /** The commit's committer time (--commit-time), for the release order; absent when not given. */
  commitTime?: string
  /** --allow-older: deploy even when a newer commit serves (a deliberate rollback). */
  allowOlder: boolean
  /** Link to the CI run, for the report and notifications. */
  runUrl?: string
}

/** The release flags every deploy takes, as given. */
export interface ReleaseInput {
  settings: Settings
  pricing: Pricing
  commit: string
  version?: string
  commitTime?: string
  allowOlder?: boolean
  runUrl?: string
}

/** Checks the release flags every deploy takes before any cloud call; throws naming the bad input. */
export function planRelease(input: ReleaseInput): ReleasePlan {
  const commit = requireCommit(input.commit)
  const commitTime = requireCommitTime(input.commitTime)
  return {
    settings: input.settings,
    pricing: input.pricing,
    commit,
    version: resolveVersion(commit, input.version),
    ...(commitTime ? { commitTime } : {}),
    allowOlder: input.allowOlder ?? false,
    ...runUrlOf(input.runUrl),
  }
}
