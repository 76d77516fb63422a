// Stop and start AWS staging (its ECS service), for `dagger call stop-aws` / `start-aws` and for the
// production deploy, which stops staging while production ships. Staging costs money only while tasks
// run, so "stopped" means: desired count 0 AND no task running — verified, not assumed.
//
// The staging service itself (target, stop, start) is aws/staging-service.ts; here are the command
// (scaleAwsStaging), the production deploy's stop (stopStaging) and what the CLI prints (AwsStagingScale).
import { func, object } from "@dagger.io/dagger"
import { awsCredentials, type AwsCredentials, type AwsSecrets } from "../config/credentials.js"
import { PREVIOUS_DESIRED_COUNT_TAG, type ScaleOutcome } from "./ecs.js"
import type { Settings } from "../config/settings.js"
import { openStagingService, stagingTarget, type StagingTarget, type WaitOverrides } from "./staging-service.js"

/**
 * Stops staging (scale to 0, remembering the count) and waits until no task runs; for the production
 * deploy, which reports a failed verdict as a warning. Bad input and API errors throw.
 */
export async function stopStaging(
  target: StagingTarget,
  credentials: AwsCredentials,
  signal: AbortSignal,
  overrides: WaitOverrides = {},
): Promise<ScaleOutcome> {
  const staging = await openStagingService(target, credentials, overrides)
  try {
    return await staging.stop(signal)
  } finally {
    staging.close()
  }
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
  const target = stagingTarget(input.settings, { timeoutSeconds: input.timeoutSeconds })
  const staging = await openStagingService(target, await awsCredentials(input.secrets))
  try {
    // A CLI call has no step to cancel it; the wait budget bounds it.
    const signal = new AbortController().signal
    return toAwsStagingScale(action, await (action === "stop" ? staging.stop(signal) : staging.start(signal)))
  } finally {
    staging.close()
  }
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
