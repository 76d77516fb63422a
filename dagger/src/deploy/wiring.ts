// The ports both deploys build alike from settings, the source Directory and the Secrets: the release
// (Dagger containers for build, scan and publish), Terraform, health checks and notifications. The clouds'
// own ports are aws/staging-service.ts and gcp/production-service.ts; each command (runDeployStaging in
// staging.ts, runDeployProduction in production.ts) puts them together.
import type { Directory } from "@dagger.io/dagger"
import { awsCredentials, type AwsSecrets, type SecretArgs } from "../config/credentials.js"
import type { Settings } from "../config/settings.js"
import { stopStaging } from "../aws/stop-aws.js"
import { stagingTarget } from "../aws/staging-service.js"
import { sendBurst } from "../analysis/burst.js"
import { checkHealth } from "../health/poll.js"
import { notifyRun, type NotifyTargets } from "../notify/delivery.js"
import type { NotifyMode } from "../notify/mode.js"
import { systemClock, type Clock, type RunRecord, type ScanSummary } from "../report/run-record.js"
import { publishImage, type PublishTarget, type VerifyPublished } from "../supply-chain/publish.js"
import { tarballDigest } from "../supply-chain/existing-tag.js"
import { buildAndCheckImage, firstBlocker } from "../supply-chain/release.js"
import { gateReportText, type ScanVerdict } from "../supply-chain/scan/gate.js"
import { scanVerdictPredicate } from "../supply-chain/sign/scan-predicate.js"
import { cosignSigningPort } from "../supply-chain/sign/cosign.js"
import { planSigning, type SigningPort } from "./sign.js"
import { applyPlan, cloudAdapter, planStack, type StackCredentials } from "../terraform/apply.js"
import type { AnalysisPort, AppliedStack, CheckedImage, HealthPort, NotifyPort, ReleasePort, TerraformPort } from "./ports.js"
import type { StopStagingPort } from "./production.js"
import { toScanSummary, type ReleaseInput, type ReleasePlan } from "./steps.js"
import { loadSettings } from "../config/settings.js"
import { loadPricing } from "../report/cost.js"

// --- Release ------------------------------------------------------------------------------------

/**
 * Build → tests ∥ scan ∥ SBOM with release.ts; the registry login starts at once, beside the build,
 * and is awaited by `publish`, so bad credentials cost no build time and fail the publish step.
 */
export function releasePort(input: {
  source: Directory
  settings: Settings
  commit: string
  version: string
  now: Date
  target: () => Promise<PublishTarget>
  /** The commit's committer time (ISO 8601) for SOURCE_DATE_EPOCH; absent = build.ts's fixed epoch. */
  commitTime?: string
  /**
   * Verifies an image already published under the tag (the signing port's verify, as the "verify
   * signature" step runs it), so a re-run may deploy it instead of a rebuild with another digest.
   * Absent (a preview, which signs nothing): another digest under the tag fails the publish.
   */
  verifyPublished?: VerifyPublished
}): ReleasePort {
  return {
    async check(signal): Promise<CheckedImage> {
      signal.throwIfAborted()
      const login = input.target()
      // Awaited in publish; until then a rejection must not count as unhandled.
      login.catch(() => undefined)
      const checks = await buildAndCheckImage({
        source: input.source,
        settings: input.settings,
        commit: input.commit,
        version: input.version,
        now: input.now,
        ...(input.commitTime ? { commitTime: input.commitTime } : {}),
      })
      let scan: ScanSummary | undefined
      let gate: ScanVerdict | undefined
      if (checks.scan.ok) {
        // The same JSON report the gate read; re-reading it costs nothing (the engine caches the file).
        gate = gateReportText(await checks.scan.value.json.contents(), checks.policy, "Trivy JSON report")
        scan = toScanSummary(gate)
      }
      const blocker = firstBlocker(checks)
      // Attested only for an image that may ship: the SBOM made and the gate's verdict on it.
      const attestations =
        !blocker && gate && checks.sbom.ok
          ? { sbom: checks.sbom.value.file, scan: scanVerdictPredicate(gate, { commit: input.commit, version: input.version, scanner: input.settings.images.trivy }) }
          : undefined
      return {
        scan,
        blocker,
        ...(attestations ? { attestations } : {}),
        publish: async (publishSignal) => {
          const target = await login
          // A push cannot be cancelled once it runs in the engine: do not start one for a cancelled step.
          publishSignal.throwIfAborted()
          // A re-run of a published commit finds its tag taken: reused when the digest matches; another
          // digest is deployed only when verified, else TagConflictError (existing-tag.ts). The tag is
          // never overwritten.
          const published = await publishImage(checks.image, target, checks.version, () => tarballDigest(checks.tarball, input.settings.images.trivy), {
            ...(input.verifyPublished ? { verifyPublished: input.verifyPublished } : {}),
            signal: publishSignal,
          })
          return { ref: published.ref, ...(published.adopted ? { adopted: published.adopted } : {}) }
        },
      }
    },
  }
}

// --- Terraform ----------------------------------------------------------------------------------

/** Plan (adopt-or-create imports included) and apply of exactly that plan, with terraform.ts. */
export function terraformPort(input: {
  source: Directory
  settings: Settings
  credentials: StackCredentials
  now: () => Date
}): TerraformPort {
  return {
    async apply({ image }, signal): Promise<AppliedStack> {
      signal.throwIfAborted()
      const plan = await planStack({
        source: input.source,
        settings: input.settings,
        credentials: input.credentials,
        cloud: cloudAdapter(input.settings, input.credentials),
        // Only used when the service is created: a first deploy starts on the new image.
        options: { initialImage: image },
        now: input.now(),
      })
      // The apply runs in the engine and cannot be stopped from here once started; never start it for a
      // step that was cancelled while planning (the step runner waits for a running one, see step-runner.ts).
      signal.throwIfAborted()
      // applyPlan refuses a stack without its service_url output (terraform/outputs.ts).
      const applied = await applyPlan(plan, { allowDestroy: false, now: input.now() })
      const adopted = plan.imported.length > 0 ? `; adopted ${plan.imported.length} existing resource(s)` : ""
      return { serviceUrl: applied.serviceUrl, summary: `${applied.changes}${adopted}` }
    },
  }
}

// --- Staging stop (production) -----------------------------------------------------------------

/** The staging stop for production: aws/stop-aws.ts stopStaging on the one staging target. */
export function stopStagingPort(settings: Settings, secrets: AwsSecrets): StopStagingPort {
  return { stop: async (signal) => stopStaging(stagingTarget(settings), await awsCredentials(secrets), signal) }
}

// --- Health, notify, time -----------------------------------------------------------------------

/** Health checks with the environment's settings (ci/pipeline.yaml staging.health / production.health). */
export function healthPort(settings: Settings, environment: "staging" | "production"): HealthPort {
  const h = settings[environment].health
  return {
    check: (url, expected, signal) =>
      checkHealth(url, { version: expected.version, commit: expected.commit }, { ...h, path: settings.app.healthPath }, { signal }),
  }
}

/** The synthetic traffic analysis with ci/pipeline.yaml `analysis` (bursts through analysis/burst.ts). */
export function analysisPort(settings: Settings): AnalysisPort {
  const a = settings.analysis
  const budgetMs = a.budgetSeconds * 1000
  return {
    thresholds: a.thresholds,
    burstBudgetMs: budgetMs,
    burst: (url, signal) =>
      sendBurst(
        { baseUrl: url, paths: a.paths, requests: a.requests, warmupRequests: a.warmupRequests, concurrency: a.concurrency, requestTimeoutMs: a.requestTimeoutMs, budgetMs },
        signal,
      ),
  }
}

/** Slack / Discord / JSON webhook notifications through notify.ts. */
export function notifyPort(input: { given: SecretArgs; mode: NotifyMode; secretValues: readonly string[] }): NotifyPort {
  const targets: NotifyTargets = {
    ...(input.given.slackWebhook ? { slack: input.given.slackWebhook } : {}),
    ...(input.given.discordWebhook ? { discord: input.given.discordWebhook } : {}),
    ...(input.given.webhook ? { webhook: input.given.webhook } : {}),
  }
  return {
    async notify(run: RunRecord) {
      await notifyRun(run, targets, { mode: input.mode, secretValues: input.secretValues })
    },
  }
}

// --- What both deploys build the same way ------------------------------------------------------

/** The ports both deploys build alike: clock, release (to `target`), Terraform, health, traffic analysis, notifications. */
export function sharedPorts(input: {
  source: Directory
  /** The validated release: settings, commit, version and --commit-time (the image's SOURCE_DATE_EPOCH). */
  plan: ReleasePlan
  environment: "staging" | "production"
  target: () => Promise<PublishTarget>
  credentials: StackCredentials
  given: SecretArgs
  mode: NotifyMode
  /** The run's secret values (scrubbed from the report); signing adds the id tokens it mints. */
  secretValues: string[]
}): { clock: Clock; release: ReleasePort; terraform: TerraformPort; health: HealthPort; analysis: AnalysisPort; notify: NotifyPort; signing: SigningPort } {
  const { source, plan } = input
  const { settings } = plan
  // One registry login for the push and for cosign (which signs in the same repository).
  let login: Promise<PublishTarget> | undefined
  const target = () => (login ??= input.target())
  // Who signs is checked here, before any cloud call: conflicting or half-given signing flags fail the call.
  const signingPlan = planSigning(settings, input.environment, input.given)
  const signing = cosignSigningPort({
    plan: signingPlan,
    image: settings.images.cosign,
    registryScheme: settings.signing.registryScheme ?? "https",
    commit: plan.commit,
    login: async () => (await target()).login,
    source,
    secretValues: input.secretValues,
    now: () => new Date(),
  })
  return {
    clock: systemClock,
    signing,
    release: releasePort({
      source,
      settings,
      commit: plan.commit,
      version: plan.version,
      now: new Date(),
      target,
      ...(plan.commitTime ? { commitTime: plan.commitTime } : {}),
      verifyPublished: (ref, signal) => signing.verify(ref, signal),
    }),
    terraform: terraformPort({ source, settings, credentials: input.credentials, now: () => new Date() }),
    health: healthPort(settings, input.environment),
    analysis: analysisPort(settings),
    notify: notifyPort({ given: input.given, mode: input.mode, secretValues: input.secretValues }),
  }
}

// --- The two commands' input ---------------------------------------------------------------------

/** What `deploy-staging` / `deploy-production` receive besides the Secrets. */
export interface DeployCommandInput {
  source: Directory
  commit: string
  version?: string
  secrets: SecretArgs
  /** --notify; undefined = notifications.mode from ci/pipeline.yaml. */
  notify?: NotifyMode
  runUrl?: string
  /** --commit-time: the commit's committer time (ISO 8601), for the release order. */
  commitTime?: string
  /** --allow-older: deploy even when a newer commit serves. */
  allowOlder: boolean
}

/** A deploy command's release flags with ci/pipeline.yaml and ci/pricing.yaml loaded, for planRelease. */
export async function loadReleaseInput(input: DeployCommandInput): Promise<ReleaseInput> {
  // One after the other, so a broken ci/pipeline.yaml is reported first, whatever the price table holds.
  const settings = await loadSettings(input.source)
  const pricing = await loadPricing(input.source)
  return {
    settings,
    pricing,
    commit: input.commit,
    version: input.version,
    commitTime: input.commitTime,
    allowOlder: input.allowOlder,
    runUrl: input.runUrl,
  }
}
