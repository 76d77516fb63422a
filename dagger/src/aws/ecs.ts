// ECS operations the pipeline needs: scale (stop/start staging), deploy a task definition, verify its
// rollout by deployment ID, roll back. A thin imperative shell: every decision is a pure function in
// rollout-verdict.ts, every wait goes through wait-for-verdict.ts.
//
// @aws-sdk/client-ecs (~95 ms, 20 MB) is imported lazily; only types are imported at top level, and
// TypeScript erases those. Retries of throttling and transient faults are the SDK's own standard retry
// strategy (exponential backoff with full jitter, capped, with a retry-token budget) — not a hand-written
// loop; `maxAttempts` bounds it.
import type { ECSClient, Service } from "#aws-sdk/client-ecs"
import type { AwsCredentials } from "../config/credentials.js"
import { newDeploymentId, rolloutVerdict, scaleVerdict, shortTaskDefinition, type Verdict } from "./rollout-verdict.js"
import { nextTaskDefinition, type TaskDefinitionChange } from "./task-definition.js"
import { waitForVerdict, type WaitOptions } from "../shared/wait.js"

export type EcsSdk = typeof import("#aws-sdk/client-ecs")
// Re-exported so code outside dagger/ (tests, bench) can name the types without resolving the SDK itself.
export type { ECSClient, Service, TaskDefinition } from "#aws-sdk/client-ecs"

/** Loads the ECS SDK on first use (module top level stays cheap: every file in src loads on every call). */
export function loadEcsSdk(): Promise<EcsSdk> {
  return import("#aws-sdk/client-ecs")
}

/** Where and as whom to talk to ECS. */
export interface EcsConnection {
  region: string
  credentials: AwsCredentials
  /** Only for emulators (moto) and test servers, from ci/pipeline.yaml `staging.aws.endpointUrl`. */
  endpointUrl?: string
  /**
   * Attempts per API call, including the first, for the SDK's standard retry strategy (throttling and
   * transient errors only). Default 5.
   */
  maxAttempts?: number
}

export const DEFAULT_MAX_ATTEMPTS = 5

/** Builds an ECS client. The only place credentials become an SDK client; never logged or returned. */
export async function createEcsClient(connection: EcsConnection): Promise<ECSClient> {
  const { ECSClient } = await loadEcsSdk()
  return new ECSClient({
    region: connection.region,
    credentials: connection.credentials,
    ...(connection.endpointUrl ? { endpoint: connection.endpointUrl } : {}),
    maxAttempts: connection.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    retryMode: "standard",
  })
}

/** A service in a cluster, by name. */
export interface EcsServiceRef {
  cluster: string
  service: string
}

/** Tag that remembers the desired count a service had before `stopService` scaled it to 0. */
export const PREVIOUS_DESIRED_COUNT_TAG = "pipeline:previous-desired-count"

/** An ECS call that failed, explained: what was attempted, on what, why, and what to do. */
export class EcsError extends Error {
  override name = "EcsError"
  constructor(
    message: string,
    /** The AWS error code (e.g. ClusterNotFoundException), when AWS sent one. */
    readonly code?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

function where(ref: EcsServiceRef, ecs: ECSClient): Promise<string> {
  return Promise.resolve(ecs.config.region())
    .then((region) => `service '${ref.service}' in cluster '${ref.cluster}' (${region})`)
    .catch(() => `service '${ref.service}' in cluster '${ref.cluster}'`)
}

interface AwsLikeError {
  name?: string
  message?: string
  $metadata?: { attempts?: number; httpStatusCode?: number }
}

/** Translates an SDK error into an EcsError naming the input, the problem and the fix. */
async function explain(err: unknown, action: string, ref: EcsServiceRef, ecs: ECSClient): Promise<EcsError> {
  if (err instanceof EcsError) return err
  const e = (err ?? {}) as AwsLikeError
  const code = e.name ?? "Error"
  const at = await where(ref, ecs)
  const attempts = e.$metadata?.attempts
  const tried = attempts && attempts > 1 ? ` (after ${attempts} attempts)` : ""
  let fix: string
  switch (code) {
    case "ClusterNotFoundException":
      fix =
        `cluster '${ref.cluster}' does not exist there. Check staging.names.cluster and staging.aws.region in ` +
        "ci/pipeline.yaml, or create staging first (deploy-staging applies Terraform)."
      break
    case "ServiceNotFoundException":
      fix = missingServiceFix(ref)
      break
    case "ServiceNotActiveException":
      fix = "the service is not ACTIVE (DRAINING or INACTIVE). Was it deleted outside Terraform? Re-apply staging."
      break
    case "AccessDeniedException":
    case "UnrecognizedClientException":
    case "InvalidSignatureException":
    case "ExpiredTokenException":
    case "InvalidClientTokenId":
      fix =
        "AWS rejected the credentials. Check --aws-access-key-id / --aws-secret-access-key (and " +
        "--aws-session-token for OIDC sessions, which expire) and that the identity may call " +
        `ecs:${action} on this service.`
      break
    case "ThrottlingException":
    case "TooManyRequestsException":
      fix = "ECS kept throttling the account. Wait a minute and run again; check for other tools polling ECS."
      break
    case "InvalidParameterException":
      fix = "ECS rejected a parameter; its message names which one."
      break
    default:
      fix =
        "If it is a network error or a 5xx, check network access to ECS (and staging.aws.endpointUrl in " +
        "ci/pipeline.yaml when set), then run again."
  }
  return new EcsError(`ECS ${action} on ${at} failed${tried}: ${code}: ${e.message ?? String(err)} — ${fix}`, code, {
    cause: err,
  })
}

function missingServiceFix(ref: EcsServiceRef): string {
  return (
    `service '${ref.service}' does not exist in cluster '${ref.cluster}'. Check staging.names.service in ` +
    "ci/pipeline.yaml, or create staging first (deploy-staging applies Terraform)."
  )
}

/**
 * Reads one service. Throws EcsError when the cluster or service does not exist, and — with
 * `requireActive` (default true) — when the service is DRAINING or INACTIVE.
 */
export async function describeService(
  ecs: ECSClient,
  ref: EcsServiceRef,
  options: { tags?: boolean; requireActive?: boolean } = {},
): Promise<Service> {
  const { DescribeServicesCommand } = await loadEcsSdk()
  let out
  try {
    out = await ecs.send(
      new DescribeServicesCommand({
        cluster: ref.cluster,
        services: [ref.service],
        ...(options.tags ? { include: ["TAGS"] } : {}),
      }),
    )
  } catch (err) {
    throw await explain(err, "DescribeServices", ref, ecs)
  }
  const service = out.services?.find((s) => s.serviceName === ref.service || s.serviceArn?.endsWith(`/${ref.service}`))
  if (!service) {
    const failure = out.failures?.[0]
    throw new EcsError(
      `${await where(ref, ecs)} was not found (${failure?.reason ?? "no such service"}): ${missingServiceFix(ref)}`,
      failure?.reason,
    )
  }
  if ((options.requireActive ?? true) && service.status !== "ACTIVE") {
    throw new EcsError(
      `${await where(ref, ecs)} is ${service.status}; expected ACTIVE — was it deleted outside Terraform? ` +
        "Re-create it by applying the staging Terraform (deploy-staging).",
      "ServiceNotActive",
    )
  }
  return service
}

/** How waits are tuned; see WaitOptions. `budgetMs` is required. */
export type EcsWaitOptions = WaitOptions

/** The outcome of a scale operation (stop, start, or a plain scale). */
export interface ScaleOutcome {
  ref: EcsServiceRef
  region: string
  /** Desired count before this call. */
  previousDesiredCount: number
  /** Desired count requested. */
  desiredCount: number
  /** Running tasks at the verdict. */
  runningCount: number
  verdict: Exclude<Verdict, { state: "pending" }>
  polls: number
  elapsedMs: number
}

/**
 * Sets the desired count and waits until the service's running count matches (scaleVerdict). Does not
 * touch tags; see stopService / startService.
 */
export async function scaleService(
  ecs: ECSClient,
  ref: EcsServiceRef,
  desiredCount: number,
  wait: EcsWaitOptions,
  previous?: Service,
): Promise<ScaleOutcome> {
  if (!Number.isInteger(desiredCount) || desiredCount < 0) {
    throw new EcsError(`Expected the desired count to be a non-negative integer, got ${desiredCount}.`)
  }
  const before = previous ?? (await describeService(ecs, ref))
  const { UpdateServiceCommand } = await loadEcsSdk()
  try {
    await ecs.send(new UpdateServiceCommand({ cluster: ref.cluster, service: ref.service, desiredCount }))
  } catch (err) {
    throw await explain(err, "UpdateService", ref, ecs)
  }
  const result = await waitForVerdict(
    () => describeService(ecs, ref, { requireActive: false }),
    (service) => scaleVerdict(service, desiredCount),
    wait,
  )
  return {
    ref,
    region: await ecs.config.region(),
    previousDesiredCount: before.desiredCount ?? 0,
    desiredCount,
    runningCount: result.last.runningCount ?? 0,
    verdict: result.verdict,
    polls: result.polls,
    elapsedMs: result.elapsedMs,
  }
}

/** The desired count remembered by the tag, or undefined; throws when the tag holds garbage. */
export function rememberedDesiredCount(service: Service): number | undefined {
  const tag = service.tags?.find((t) => t.key === PREVIOUS_DESIRED_COUNT_TAG)
  if (tag?.value === undefined) return undefined
  if (!/^\d{1,4}$/.test(tag.value)) {
    throw new EcsError(
      `tag ${PREVIOUS_DESIRED_COUNT_TAG} on service '${service.serviceName}' holds '${tag.value}'; expected a ` +
        "desired count like '1'. Fix or delete the tag (aws ecs untag-resource), then run again.",
    )
  }
  return Number(tag.value)
}

/**
 * Scales a service to 0 and waits until no task runs. Before scaling, records the current desired count
 * in the PREVIOUS_DESIRED_COUNT_TAG tag so startService can restore it. Already at 0: the tag from the
 * earlier stop is kept (stopping twice must not forget the count).
 */
export async function stopService(ecs: ECSClient, ref: EcsServiceRef, wait: EcsWaitOptions): Promise<ScaleOutcome> {
  const before = await describeService(ecs, ref, { tags: true })
  const current = before.desiredCount ?? 0
  if (current > 0) {
    const { TagResourceCommand } = await loadEcsSdk()
    try {
      // Tag first: if the scale-down fails half-way, the count to restore is already recorded.
      await ecs.send(
        new TagResourceCommand({
          resourceArn: before.serviceArn,
          tags: [{ key: PREVIOUS_DESIRED_COUNT_TAG, value: String(current) }],
        }),
      )
    } catch (err) {
      throw await explain(err, "TagResource", ref, ecs)
    }
  }
  return scaleService(ecs, ref, 0, wait, before)
}

/**
 * Scales a service back up and waits until the tasks run: to the count remembered by stopService, else to
 * `fallbackDesiredCount` when the service is at 0, else it stays at its current count. Removes the tag
 * once the service runs again.
 */
export async function startService(
  ecs: ECSClient,
  ref: EcsServiceRef,
  options: { fallbackDesiredCount: number; wait: EcsWaitOptions },
): Promise<ScaleOutcome> {
  const before = await describeService(ecs, ref, { tags: true })
  const remembered = rememberedDesiredCount(before)
  const current = before.desiredCount ?? 0
  const target = remembered ?? (current > 0 ? current : options.fallbackDesiredCount)
  const outcome = await scaleService(ecs, ref, target, options.wait, before)
  if (outcome.verdict.state === "success" && remembered !== undefined) {
    const { UntagResourceCommand } = await loadEcsSdk()
    try {
      await ecs.send(new UntagResourceCommand({ resourceArn: before.serviceArn, tagKeys: [PREVIOUS_DESIRED_COUNT_TAG] }))
    } catch (err) {
      throw await explain(err, "UntagResource", ref, ecs)
    }
  }
  return outcome
}

/** A task definition revision registered for a deploy. */
export interface RegisteredTaskDefinition {
  /** ARN of the new revision (what deployTaskDefinition takes). */
  taskDefinitionArn: string
  /** ARN of the revision the service ran before (the rollback target). */
  previousTaskDefinitionArn: string
}

/**
 * Registers the next revision of the service's current task definition with the app container's image
 * and environment changed (nextTaskDefinition); everything else stays as Terraform made it.
 */
export async function registerTaskDefinitionRevision(
  ecs: ECSClient,
  ref: EcsServiceRef,
  change: TaskDefinitionChange,
): Promise<RegisteredTaskDefinition> {
  const service = await describeService(ecs, ref)
  const previous = service.taskDefinition
  if (!previous) throw new EcsError(`${await where(ref, ecs)} has no task definition to derive the next revision from.`)
  const { DescribeTaskDefinitionCommand, RegisterTaskDefinitionCommand } = await loadEcsSdk()
  let current
  try {
    current = (await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: previous }))).taskDefinition
  } catch (err) {
    throw await explain(err, "DescribeTaskDefinition", ref, ecs)
  }
  if (!current) throw new EcsError(`DescribeTaskDefinition returned nothing for ${previous}.`)
  let registered
  try {
    registered = (await ecs.send(new RegisterTaskDefinitionCommand(nextTaskDefinition(current, change)))).taskDefinition
  } catch (err) {
    throw await explain(err, "RegisterTaskDefinition", ref, ecs)
  }
  if (!registered?.taskDefinitionArn) throw new EcsError(`RegisterTaskDefinition returned no ARN for family ${current.family}.`)
  return { taskDefinitionArn: registered.taskDefinitionArn, previousTaskDefinitionArn: current.taskDefinitionArn ?? previous }
}

/** A deployment this pipeline started. */
export interface StartedDeployment {
  ref: EcsServiceRef
  /** The ECS deployment ID (ecs-svc/…) the verdict is tied to. */
  deploymentId: string
  /** Task definition deployed (as requested: ARN or family:revision). */
  taskDefinition: string
  /** Task definition the service ran before, for rollback. */
  previousTaskDefinition: string
}

/**
 * Points the service at `taskDefinition` and returns the ID of the deployment ECS started for it.
 * `forceNewDeployment` is set so that re-deploying the same revision also yields a deployment to verify.
 */
export async function deployTaskDefinition(
  ecs: ECSClient,
  ref: EcsServiceRef,
  taskDefinition: string,
): Promise<StartedDeployment> {
  if (taskDefinition.trim() === "") {
    throw new EcsError("Expected a task definition (family:revision or ARN), got an empty string.")
  }
  const before = await describeService(ecs, ref)
  const { UpdateServiceCommand } = await loadEcsSdk()
  let after: Service | undefined
  try {
    after = (
      await ecs.send(
        new UpdateServiceCommand({ cluster: ref.cluster, service: ref.service, taskDefinition, forceNewDeployment: true }),
      )
    ).service
  } catch (err) {
    throw await explain(err, "UpdateService", ref, ecs)
  }
  const deploymentId = after ? newDeploymentId(before, after) : undefined
  if (!deploymentId) {
    throw new EcsError(
      `ECS accepted the update of ${await where(ref, ecs)} to ${shortTaskDefinition(taskDefinition)} but listed ` +
        `no new PRIMARY deployment (deployments: ${JSON.stringify(after?.deployments?.map((d) => d.id) ?? [])}). ` +
        "The service must use the rolling-update (ECS) deployment controller.",
    )
  }
  return { ref, deploymentId, taskDefinition, previousTaskDefinition: before.taskDefinition ?? "" }
}

/** The outcome of waiting for one deployment. */
export interface RolloutOutcome {
  deploymentId: string
  verdict: Exclude<Verdict, { state: "pending" }>
  polls: number
  elapsedMs: number
  /** Task definition of the service at the verdict. */
  taskDefinition: string
}

/** Waits for the verdict on `deploymentId` (rolloutVerdict): tied to that deployment, not to "stable". */
export async function waitForRollout(
  ecs: ECSClient,
  ref: EcsServiceRef,
  deploymentId: string,
  wait: EcsWaitOptions,
): Promise<RolloutOutcome> {
  const result = await waitForVerdict(
    () => describeService(ecs, ref, { requireActive: false }),
    (service) => rolloutVerdict(service, deploymentId),
    wait,
  )
  return {
    deploymentId,
    verdict: result.verdict,
    polls: result.polls,
    elapsedMs: result.elapsedMs,
    taskDefinition: result.last.taskDefinition ?? "",
  }
}

/** Deploy + verify; on failure, roll back to the previous task definition and verify that too. */
export interface RolloutWithRollback {
  deployment: StartedDeployment
  rollout: RolloutOutcome
  /** Present when the rollout failed and a rollback was verified (or attempted). */
  rollback?: RolloutOutcome
}

/**
 * Deploys `taskDefinition`, waits for its verdict and, if it failed or ran out of time, makes sure the
 * service ends on the previous task definition with a verified rollout: when the circuit breaker already
 * started a rollback, that rollback deployment is verified; otherwise this function starts one itself.
 * A deployment superseded by someone else's is left alone.
 * A failed rollout is an outcome, not an exception; only bad input or API errors throw.
 */
export async function rolloutWithRollback(
  ecs: ECSClient,
  ref: EcsServiceRef,
  taskDefinition: string,
  wait: EcsWaitOptions,
): Promise<RolloutWithRollback> {
  const deployment = await deployTaskDefinition(ecs, ref, taskDefinition)
  const rollout = await waitForRollout(ecs, ref, deployment.deploymentId, wait)
  if (rollout.verdict.state === "success") return { deployment, rollout }
  if (!deployment.previousTaskDefinition) return { deployment, rollout }

  const { kind } = rollout.verdict
  let rollbackId: string | undefined
  if (kind === "rolled-back") {
    rollbackId = rollout.verdict.rollbackDeploymentId
  } else if (kind === "deployment-failed" || kind === "timed-out") {
    rollbackId = (await deployTaskDefinition(ecs, ref, deployment.previousTaskDefinition)).deploymentId
  }
  // "superseded": someone else's deployment now owns the service — rolling back would undo theirs.
  // "service-not-active" / "unsupported": nothing a rollback could fix.
  if (!rollbackId) return { deployment, rollout }
  const rollback = await waitForRollout(ecs, ref, rollbackId, wait)
  return { deployment, rollout, rollback }
}
