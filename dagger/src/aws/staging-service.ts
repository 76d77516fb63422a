// The staging service on ECS, as the deploys and stop-aws / start-aws use it: implements the staging port
// (deploy/staging.ts StagingEcsPort) directly over ecs.ts, plus the stop and start of staging. The target
// (region, cluster, service, wait budget) is derived from ci/pipeline.yaml here and only here.
//
// Every method takes the step's AbortSignal: once it aborts, no request is sent and the one in flight is
// cancelled, so a timed-out step cannot change the service after the pipeline moved on.
import type { AwsCredentials } from "../config/credentials.js"
import type { Settings } from "../config/settings.js"
import type { Diagnostic } from "../report/run-record.js"
import type { EcsFacts, RollbackAction, StagingEcsPort } from "../deploy/staging.js"
import { timeBudget, type WaitOptions } from "../shared/wait.js"
import { deployTaskDefinition, describeService, describeTaskDefinition, registerTaskDefinitionRevision, servingRelease, startService, stopService, waitForRollout, type RolloutOutcome, type ScaleOutcome } from "./ecs.js"
import { createEcsClient, type ECSClient, type EcsServiceRef } from "./ecs-client.js"
import { firingAlarms } from "./deployment-alarms.js"
import { diagnoseEcsService } from "./diagnostics.js"
import type { AwsTarget } from "./signed-api.js"

/** Everything a call on staging needs to know about it, taken from ci/pipeline.yaml. */
export interface StagingTarget {
  region: string
  /** Emulator endpoint (moto) from `staging.aws.endpointUrl`; absent for real AWS. */
  endpointUrl?: string
  cluster: string
  service: string
  /** The app container of the task definition: `staging.names.containerName`. */
  containerName: string
  /** Desired count of a deploy, and of a start when none was remembered: `staging.desiredCount` (at least 1). */
  desiredCount: number
  /** Time budget of one verdict, ms: `staging.rollout.timeoutSeconds` unless overridden. */
  budgetMs: number
  /** Upper bound of the pause between polls, ms: `staging.rollout.pollIntervalSeconds`. */
  intervalMs: number
}

/** Reads the staging target from settings; `timeoutSeconds` (stop-aws --timeout-seconds) overrides the budget. */
export function stagingTarget(settings: Settings, overrides: { timeoutSeconds?: number } = {}): StagingTarget {
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
    containerName: names.containerName,
    desiredCount: desiredCount > 0 ? desiredCount : 1,
    budgetMs: Math.round(timeoutSeconds * 1000),
    intervalMs: Math.round(rollout.pollIntervalSeconds * 1000),
  }
}

/** Test seams for the waits (a virtual clock); production code passes nothing. */
export type WaitOverrides = Pick<WaitOptions, "now" | "sleep" | "random">

/** The staging service: the deploy's port, the stop and start, and the client's release. */
export interface StagingService extends StagingEcsPort {
  /** Scales staging to 0 (remembering the count it had) and waits until no task runs; a failed verdict is returned. */
  stop(signal: AbortSignal): Promise<ScaleOutcome>
  /** Scales staging back to the remembered count (else the target's) and waits until it runs. */
  start(signal: AbortSignal): Promise<ScaleOutcome>
  /**
   * After a failure, what an operator needs to act: the service's last events, the stopped tasks' reasons and
   * exit codes with links to their logs, the unhealthy targets (aws/diagnostics.ts). Read-only and bounded.
   */
  diagnose(signal: AbortSignal): Promise<Diagnostic[]>
  /** Releases the SDK client. */
  close(): void
}

/** Opens the staging service; creating the client sends no request. */
export async function openStagingService(
  target: StagingTarget,
  credentials: AwsCredentials,
  overrides: WaitOverrides = {},
): Promise<StagingService> {
  const ecs: ECSClient = await createEcsClient({
    region: target.region,
    credentials,
    ...(target.endpointUrl ? { endpointUrl: target.endpointUrl } : {}),
  })
  const ref: EcsServiceRef = { cluster: target.cluster, service: target.service }
  // The other AWS APIs (CloudWatch, ELBv2), signed per call; no client to create or release.
  const api: AwsTarget = { region: target.region, credentials, ...(target.endpointUrl ? { endpoint: target.endpointUrl } : {}) }
  const wait = (signal: AbortSignal, budgetMs = target.budgetMs): WaitOptions => ({
    budgetMs,
    intervalMs: target.intervalMs,
    ...overrides,
    signal,
  })
  const deployAndWait = async (taskDefinition: string, signal: AbortSignal, budgetMs?: number): Promise<RolloutOutcome> => {
    const started = await deployTaskDefinition(ecs, ref, taskDefinition, signal)
    return waitForRollout(ecs, ref, started.deploymentId, wait(signal, budgetMs), (names, s) => firingAlarms(api, names, s))
  }
  return {
    serving: (signal) => servingRelease(ecs, ref, target.containerName, signal),
    registerRevision: (change, signal) =>
      registerTaskDefinitionRevision(ecs, ref, { containerName: target.containerName, ...change }, signal),
    async rollout(taskDefinition, desiredCount, signal) {
      // One budget (staging.rollout.timeoutSeconds) for the whole rollout, a restart included, so the
      // rollout fits the step budget the settings check it against.
      const budget = timeBudget(target.budgetMs, overrides.now)
      const service = await describeService(ecs, ref, { signal })
      if ((service.desiredCount ?? 0) === 0 && desiredCount > 0) {
        // Stopped by a production deploy: start it first (restoring the remembered count and clearing
        // the tag), so the rollout verdict is about running tasks, not a service at 0.
        const started = await startService(ecs, ref, { fallbackDesiredCount: desiredCount, wait: wait(signal, budget.remainingMs()) })
        if (started.verdict.state !== "success") {
          throw new Error(
            `staging was stopped (desired count 0) and did not start again before the rollout (${started.verdict.kind}): ` +
              `${started.verdict.detail}. Check the service events in the ECS console, or run start-aws.`,
          )
        }
      }
      return deployAndWait(taskDefinition, signal, Math.max(1, budget.remainingMs()))
    },
    async rollBack(action: Exclude<RollbackAction, { kind: "none" }>, signal) {
      if (action.kind === "verify-breaker") return waitForRollout(ecs, ref, action.deploymentId, wait(signal))
      return deployAndWait(action.to, signal)
    },
    async facts(signal): Promise<EcsFacts> {
      const service = await describeService(ecs, ref, { requireActive: false, signal })
      const td = service.taskDefinition ? await describeTaskDefinition(ecs, ref, service.taskDefinition, signal) : undefined
      return { desiredCount: service.desiredCount ?? 0, cpu: td?.cpu, memory: td?.memory }
    },
    diagnose: (signal) => diagnoseEcsService({ ecs, ref, api }, signal),
    stop: (signal) => stopService(ecs, ref, wait(signal)),
    start: (signal) => startService(ecs, ref, { fallbackDesiredCount: target.desiredCount, wait: wait(signal) }),
    close: () => ecs.destroy(),
  }
}
