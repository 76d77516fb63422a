// The real ports of staging.ts and production.ts, built from settings, the source Directory and the
// Secrets: Dagger containers for build/scan/publish/Terraform, SDK clients for ECS and Cloud Run,
// fetch for health checks and webhooks. Each adapter is a thin delegation to its capability file.
// Heavy SDKs load lazily inside the adapters (every file in src loads on every call).
import type { Directory, Secret } from "@dagger.io/dagger"
import { connectProductionService } from "../gcp/production-service.js"
import { loadPricing } from "../report/cost.js"
import {
  awsCredentials,
  optionalAwsSecrets,
  presentSecrets,
  requireAwsSecrets,
  requireGcpSecrets,
  type AwsCredentials,
  type AwsSecrets,
  type GcpSecrets,
  type SecretArgs,
} from "../config/credentials.js"
import { DeployReport, toDeployReport } from "../report/deploy-report.js"
import { toScanSummary } from "./steps.js"
import { stopStaging } from "../aws/stop-aws.js"
import { openStagingService, stagingTarget } from "../aws/staging-service.js"
import { checkHealth } from "../health/poll.js"
import { sleep } from "../shared/wait.js"
import { whileInterruptible } from "../shared/interrupt.js"
import { notifyRun, type NotifyTargets } from "../notify/delivery.js"
import { effectiveMode, type NotifyMode } from "../notify/mode.js"
import { deployProduction, planProduction, type StopStagingPort } from "./production.js"
import { artifactRegistryTarget, ecrTarget, pushImage, type PublishTarget } from "../supply-chain/publish.js"
import { systemClock, type RunRecord, type ScanSummary } from "../report/run-record.js"
import { gateReportText } from "../supply-chain/scan/gate.js"
import { loadSettings, type Settings } from "../config/settings.js"
import {
  deployStaging,
  planStaging,
} from "./staging.js"
import { applyPlan, cloudAdapter, planStack, Stack, type StackCredentials } from "../terraform/apply.js"
import { buildAndCheckImage, firstBlocker } from "../supply-chain/release.js"
import { type AppliedStack, type CheckedImage, type HealthPort, type NotifyPort, type ReleasePort, type TerraformPort } from "./ports.js"

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
      })
      let scan: ScanSummary | undefined
      if (checks.scan.ok) {
        // The same JSON report the gate read; re-reading it costs nothing (the engine caches the file).
        scan = toScanSummary(gateReportText(await checks.scan.value.json.contents(), checks.policy, "Trivy JSON report"))
      }
      return {
        scan,
        blocker: firstBlocker(checks),
        publish: async (publishSignal) => {
          const target = await login
          // A push cannot be cancelled once it runs in the engine: do not start one for a cancelled step.
          publishSignal.throwIfAborted()
          return pushImage(checks.image, target, checks.version)
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
      const applied = await applyPlan(plan, { allowDestroy: false, now: input.now() })
      if (!applied.serviceUrl) {
        throw new Error(
          `terraform/${input.credentials.stack === Stack.AWS ? "aws" : "gcp"} has no service_url output after apply; ` +
            "declare it in outputs.tf (the deploy health-checks that URL).",
        )
      }
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

// --- The two commands ---------------------------------------------------------------------------

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

/**
 * deploy-staging: validates every input (settings, price table, commit, version, credentials) before
 * any cloud call, then runs staging.ts with the real ports and returns the report.
 */
export async function runDeployStaging(input: DeployCommandInput): Promise<DeployReport> {
  const settings = await loadSettings(input.source)
  const pricing = await loadPricing(input.source)
  const plan = planStaging({
    settings,
    pricing,
    commit: input.commit,
    version: input.version,
    commitTime: input.commitTime,
    allowOlder: input.allowOlder,
    runUrl: input.runUrl,
  })
  const { given, values } = await presentSecrets(input.secrets)
  const aws = requireAwsSecrets(given)
  const mode = effectiveMode(settings.notifications.mode, input.notify)
  // Creating the client makes no request; the first one is ECR's login inside the run.
  const ecs = await openStagingService(stagingTarget(settings), await awsCredentials(aws))
  try {
    const run = await whileInterruptible((signal) => deployStaging(plan, {
      clock: systemClock,
      release: releasePort({
        source: input.source,
        settings,
        commit: plan.commit,
        version: plan.version,
        now: new Date(),
        target: () => ecrTarget(settings, aws),
      }),
      terraform: terraformPort({ source: input.source, settings, credentials: { stack: Stack.AWS, aws }, now: () => new Date() }),
      ecs,
      health: healthPort(settings, "staging"),
      notify: notifyPort({ given, mode, secretValues: values }),
    }, { signal }))
    return toDeployReport(run, values)
  } finally {
    ecs.close()
  }
}

/**
 * deploy-production: validates every input (settings, price table, commit, version, canary steps,
 * credentials) before any cloud call, then runs production.ts with the real ports and returns the report.
 */
export async function runDeployProduction(
  input: DeployCommandInput & { skipAwsStop: boolean; canarySteps?: string },
): Promise<DeployReport> {
  const settings = await loadSettings(input.source)
  const pricing = await loadPricing(input.source)
  const plan = planProduction({
    settings,
    pricing,
    commit: input.commit,
    version: input.version,
    canarySteps: input.canarySteps,
    skipAwsStop: input.skipAwsStop,
    commitTime: input.commitTime,
    allowOlder: input.allowOlder,
    runUrl: input.runUrl,
  })
  const { given, values } = await presentSecrets(input.secrets)
  const gcp = requireGcpSecrets(given.gcpCredentials, given.gcpAccessToken)
  // No AWS key at all only skips the staging stop.
  const aws = optionalAwsSecrets(given)
  const mode = effectiveMode(settings.notifications.mode, input.notify)
  // Connecting checks the GCP credential's form (a key must be a service-account key) without a request.
  const cloudRun = await connectProductionService(settings, gcp)
  try {
    const run = await whileInterruptible((signal) => deployProduction(plan, {
      clock: systemClock,
      release: releasePort({
        source: input.source,
        settings,
        commit: plan.commit,
        version: plan.version,
        now: new Date(),
        target: async () => artifactRegistryTarget(settings, gcp),
      }),
      terraform: terraformPort({ source: input.source, settings, credentials: { stack: Stack.GCP, gcp }, now: () => new Date() }),
      cloudRun,
      stopStaging: aws
        ? stopStagingPort(settings, aws)
        : {
            unavailable:
              "no AWS credentials given (--aws-access-key-id/--aws-secret-access-key), so staging keeps running; " +
              "pass credentials that may scale the staging service, or --skip-aws-stop to say it is intended",
          },
      health: healthPort(settings, "production"),
      notify: notifyPort({ given, mode, secretValues: values }),
      sleep,
    }, { signal }))
    return toDeployReport(run, values)
  } finally {
    await cloudRun.close()
  }
}
