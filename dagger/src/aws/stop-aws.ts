// Stop and start AWS staging (its ECS service), for `dagger call stop-aws` / `start-aws` and for the
// production deploy, which stops staging while production ships. Staging costs money only while tasks
// run, so "stopped" means: desired count 0 AND no task running — verified, not assumed.
//
// stagingScaleTarget is pure (settings in, target out); stopStaging / startStaging are the shell around
// ecs.ts; scaleAwsStaging is the command and AwsStagingScale what the CLI prints.
import { func, object } from "@dagger.io/dagger"
import { awsCredentials, type AwsCredentials, type AwsSecrets } from "../config/credentials.js"
import {
  createEcsClient,
  PREVIOUS_DESIRED_COUNT_TAG,
  startService,
  stopService,
  type ECSClient,
  type EcsServiceRef,
  type ScaleOutcome,
} from "./ecs.js"
import type { Settings } from "../config/settings.js"
import type { WaitOptions } from "../shared/wait.js"

/** Everything a stop or start needs to know about staging, taken from ci/pipeline.yaml. */
export interface StagingScaleTarget {
  region: string
  /** Emulator endpoint (moto) from `staging.aws.endpointUrl`; absent for real AWS. */
  endpointUrl?: string
  cluster: string
  service: string
  /** Desired count for start when none was remembered: `staging.desiredCount`. */
  fallbackDesiredCount: number
  /** Time budget for the verdict, ms: `staging.rollout.timeoutSeconds` unless overridden. */
  budgetMs: number
  /** Upper bound of the pause between polls, ms: `staging.rollout.pollIntervalSeconds`. */
  intervalMs: number
}

/** Reads the staging target from settings; `timeoutSeconds` overrides the rollout timeout. */
export function stagingScaleTarget(settings: Settings, overrides: { timeoutSeconds?: number } = {}): StagingScaleTarget {
  const { aws, names, desiredCount, rollout } = settings.staging
  const timeoutSeconds = overrides.timeoutSeconds ?? rollout.timeoutSeconds
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0 || timeoutSeconds > 3600) {
    throw new Error(`Expected --timeout-seconds to be between 1 and 3600, got ${timeoutSeconds}.`)
  }
  return {
    region: aws.region,
    ...(aws.endpointUrl ? { endpointUrl: aws.endpointUrl } : {}),
    cluster: names.cluster,
    service: names.service,
    fallbackDesiredCount: desiredCount > 0 ? desiredCount : 1,
    budgetMs: Math.round(timeoutSeconds * 1000),
    intervalMs: Math.round(rollout.pollIntervalSeconds * 1000),
  }
}

/** Test seams for the wait (virtual clock); production code passes nothing. */
export type WaitOverrides = Pick<WaitOptions, "now" | "sleep" | "random">

/** Runs `use` with an ECS client for the staging target, and always closes the client after. */
async function withStagingEcs<T>(
  target: StagingScaleTarget,
  credentials: AwsCredentials,
  use: (ecs: ECSClient, service: EcsServiceRef) => Promise<T>,
): Promise<T> {
  const ecs = await createEcsClient({
    region: target.region,
    credentials,
    ...(target.endpointUrl ? { endpointUrl: target.endpointUrl } : {}),
  })
  try {
    return await use(ecs, { cluster: target.cluster, service: target.service })
  } finally {
    ecs.destroy()
  }
}

function waitOf(target: StagingScaleTarget, overrides: WaitOverrides): WaitOptions {
  return { budgetMs: target.budgetMs, intervalMs: target.intervalMs, ...overrides }
}

/**
 * Scales staging to 0 (remembering the count it had) and waits until no task runs. A failed or timed-out
 * verdict is returned, not thrown, so the production deploy can report it as a warning; bad input and
 * API errors throw EcsError.
 */
export async function stopStaging(
  target: StagingScaleTarget,
  credentials: AwsCredentials,
  overrides: WaitOverrides = {},
): Promise<ScaleOutcome> {
  return withStagingEcs(target, credentials, (ecs, service) => stopService(ecs, service, waitOf(target, overrides)))
}

/** Scales staging back to the remembered count (else `fallbackDesiredCount`) and waits until it runs. */
export async function startStaging(
  target: StagingScaleTarget,
  credentials: AwsCredentials,
  overrides: WaitOverrides = {},
): Promise<ScaleOutcome> {
  return withStagingEcs(target, credentials, (ecs, service) =>
    startService(ecs, service, { fallbackDesiredCount: target.fallbackDesiredCount, wait: waitOf(target, overrides) }),
  )
}

export type ScaleAction = "stop" | "start"

/**
 * `stop-aws` / `start-aws`: the staging target from settings (a bad `timeoutSeconds` fails before any
 * secret is read), the stop or start, and the CLI result; throws when the verdict is not a success.
 */
export async function scaleAwsStaging(
  action: ScaleAction,
  input: { settings: Settings; secrets: AwsSecrets; timeoutSeconds?: number },
): Promise<AwsStagingScale> {
  const target = stagingScaleTarget(input.settings, { timeoutSeconds: input.timeoutSeconds })
  const credentials = await awsCredentials(input.secrets)
  const scale = action === "stop" ? stopStaging : startStaging
  return toAwsStagingScale(action, await scale(target, credentials))
}

/** The result of `stop-aws` / `start-aws`: what the service was, what it is now, and how long it took. */
@object()
export class AwsStagingScale {
  /** "stop" or "start". */
  @func()
  action: string = ""

  /** "stopped" or "started" (a failed or timed-out verdict makes the call fail instead). */
  @func()
  verdict: string = ""

  /** AWS region of the service. */
  @func()
  region: string = ""

  /** ECS cluster name. */
  @func()
  cluster: string = ""

  /** ECS service name. */
  @func()
  service: string = ""

  /** Desired task count before this call. */
  @func()
  previousDesiredCount: number = 0

  /** Desired task count now. */
  @func()
  desiredCount: number = 0

  /** Tasks running at the verdict. */
  @func()
  runningCount: number = 0

  /** What the verdict was based on (the service's counts). */
  @func()
  detail: string = ""

  /** DescribeServices polls until the verdict. */
  @func()
  polls: number = 0

  /** Milliseconds from the first poll to the verdict. */
  @func()
  elapsedMs: number = 0
}

/** Builds the CLI result, or throws when the verdict is not a success (so `dagger call` exits non-zero). */
export function toAwsStagingScale(action: ScaleAction, outcome: ScaleOutcome): AwsStagingScale {
  const { verdict, ref, region } = outcome
  if (verdict.state !== "success") {
    const where = `service '${ref.service}' in cluster '${ref.cluster}' (${region})`
    const hint =
      action === "stop"
        ? `The desired count is set to 0 and the previous count (${outcome.previousDesiredCount}) is remembered ` +
          `in tag ${PREVIOUS_DESIRED_COUNT_TAG}; tasks may still be draining — run stop-aws again to re-check, ` +
          "or start-aws to restore."
        : "Check the service events and stopped tasks in the ECS console; run start-aws again once fixed."
    throw new Error(`${action}-aws: ${where} did not ${action === "stop" ? "stop" : "start"} (${verdict.kind}): ${verdict.detail} ${hint}`)
  }
  const result = new AwsStagingScale()
  result.action = action
  result.verdict = action === "stop" ? "stopped" : "started"
  result.region = region
  result.cluster = ref.cluster
  result.service = ref.service
  result.previousDesiredCount = outcome.previousDesiredCount
  result.desiredCount = outcome.desiredCount
  result.runningCount = outcome.runningCount
  result.detail = verdict.detail
  result.polls = outcome.polls
  result.elapsedMs = Math.round(outcome.elapsedMs)
  return result
}
