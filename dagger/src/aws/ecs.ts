// ECS operations the pipeline needs: scale (stop/start staging), deploy a task definition, verify its
// rollout by deployment ID, roll back. A thin imperative shell: every decision is a pure function in
// rollout-verdict.ts, every wait goes through wait-for-verdict.ts.
//
// @aws-sdk/client-ecs (~95 ms, 20 MB) is imported lazily; only types are imported at top level, and
// TypeScript erases those. Retries of throttling and transient faults are the SDK's own standard retry
// strategy (exponential backoff with full jitter, capped, with a retry-token budget) — not a hand-written
// loop; `maxAttempts` bounds it.
import type { ECSClient, Service, TaskDefinition } from "#aws-sdk/client-ecs"
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
async function explain(err: unknown, action: string, ref: EcsServiceRef, ecs: ECSClient, signal?: AbortSignal): Promise<EcsError> {
  // A cancelled call is not an ECS failure: the step's own reason (timeout, Ctrl-C) goes up unchanged.
  if (signal?.aborted) throw signal.reason
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
  options: { tags?: boolean; requireActive?: boolean; signal?: AbortSignal } = {},
): Promise<Service> {
  const { DescribeServicesCommand } = await loadEcsSdk()
  let out
  try {
    options.signal?.throwIfAborted()
    out = await ecs.send(
      new DescribeServicesCommand({
        cluster: ref.cluster,
        services: [ref.service],
        ...(options.tags ? { include: ["TAGS"] } : {}),
      }),
      { abortSignal: options.signal },
    )
  } catch (err) {
    throw await explain(err, "DescribeServices", ref, ecs, options.signal)
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
  const { signal } = wait
  const before = previous ?? (await describeService(ecs, ref, { signal }))
  const { UpdateServiceCommand } = await loadEcsSdk()
  try {
    signal?.throwIfAborted()
    await ecs.send(new UpdateServiceCommand({ cluster: ref.cluster, service: ref.service, desiredCount }), { abortSignal: signal })
  } catch (err) {
    throw await explain(err, "UpdateService", ref, ecs, signal)
  }
  const result = await waitForVerdict(
    () => describeService(ecs, ref, { requireActive: false, signal }),
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
  const { signal } = wait
  const before = await describeService(ecs, ref, { tags: true, signal })
  const current = before.desiredCount ?? 0
  if (current > 0) {
    const { TagResourceCommand } = await loadEcsSdk()
    try {
      // Tag first: if the scale-down fails half-way, the count to restore is already recorded.
      signal?.throwIfAborted()
      await ecs.send(
        new TagResourceCommand({
          resourceArn: before.serviceArn,
          tags: [{ key: PREVIOUS_DESIRED_COUNT_TAG, value: String(current) }],
        }),
        { abortSignal: signal },
      )
    } catch (err) {
      throw await explain(err, "TagResource", ref, ecs, signal)
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
  const { signal } = options.wait
  const before = await describeService(ecs, ref, { tags: true, signal })
  const remembered = rememberedDesiredCount(before)
  const current = before.desiredCount ?? 0
  const target = remembered ?? (current > 0 ? current : options.fallbackDesiredCount)
  const outcome = await scaleService(ecs, ref, target, options.wait, before)
  if (outcome.verdict.state === "success" && remembered !== undefined) {
    const { UntagResourceCommand } = await loadEcsSdk()
    try {
      signal?.throwIfAborted()
      await ecs.send(new UntagResourceCommand({ resourceArn: before.serviceArn, tagKeys: [PREVIOUS_DESIRED_COUNT_TAG] }), {
        abortSignal: signal,
      })
    } catch (err) {
      throw await explain(err, "UntagResource", ref, ecs, signal)
    }
  }
  return outcome
}

/** The release a task definition runs, read from its app container's APP_VERSION / APP_COMMIT. */
export interface TaskRelease {
  version: string
  commit: string
}

/** A task definition revision registered for a deploy. */
export interface RegisteredTaskDefinition {
  /** ARN of the new revision (what deployTaskDefinition takes). */
  taskDefinitionArn: string
  /** ARN of the revision the service ran before (the rollback target). */
  previousTaskDefinitionArn: string
  /**
   * The release the previous revision runs, when its app container names one: what a rollback must be
   * seen serving. Absent for a revision that does not (e.g. Terraform's template revision).
   */
  previousRelease?: TaskRelease
}

/** Reads one task definition (family:revision or ARN). */
export async function describeTaskDefinition(
  ecs: ECSClient,
  ref: EcsServiceRef,
  taskDefinition: string,
  signal?: AbortSignal,
): Promise<TaskDefinition> {
  const { DescribeTaskDefinitionCommand } = await loadEcsSdk()
  let found
  try {
    signal?.throwIfAborted()
    found = (await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition }), { abortSignal: signal })).taskDefinition
  } catch (err) {
    throw await explain(err, "DescribeTaskDefinition", ref, ecs, signal)
  }
  if (!found) throw new EcsError(`DescribeTaskDefinition returned nothing for ${taskDefinition}.`)
  return found
}

/** The release `containerName` of a task definition runs, or undefined when it does not say. */
export function taskRelease(td: TaskDefinition, containerName: string): TaskRelease | undefined {
  const env = td.containerDefinitions?.find((c) => c.name === containerName)?.environment ?? []
  const value = (name: string) => env.find((kv) => kv.name === name)?.value
  const version = value("APP_VERSION")
  const commit = value("APP_COMMIT")
  return version && commit ? { version, commit } : undefined
}

/**
 * Registers the next revision of the service's current task definition with the app container's image
 * and environment changed (nextTaskDefinition); everything else stays as Terraform made it.
 */
export async function registerTaskDefinitionRevision(
  ecs: ECSClient,
  ref: EcsServiceRef,
  change: TaskDefinitionChange,
  signal?: AbortSignal,
): Promise<RegisteredTaskDefinition> {
  const service = await describeService(ecs, ref, { signal })
  const previous = service.taskDefinition
  if (!previous) throw new EcsError(`${await where(ref, ecs)} has no task definition to derive the next revision from.`)
  const current = await describeTaskDefinition(ecs, ref, previous, signal)
  const { RegisterTaskDefinitionCommand } = await loadEcsSdk()
  let registered
  try {
    signal?.throwIfAborted()
    registered = (await ecs.send(new RegisterTaskDefinitionCommand(nextTaskDefinition(current, change)), { abortSignal: signal }))
      .taskDefinition
  } catch (err) {
    throw await explain(err, "RegisterTaskDefinition", ref, ecs, signal)
  }
  if (!registered?.taskDefinitionArn) throw new EcsError(`RegisterTaskDefinition returned no ARN for family ${current.family}.`)
  const previousRelease = taskRelease(current, change.containerName)
  return {
    taskDefinitionArn: registered.taskDefinitionArn,
    previousTaskDefinitionArn: current.taskDefinitionArn ?? previous,
    ...(previousRelease ? { previousRelease } : {}),
  }
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
  signal?: AbortSignal,
): Promise<StartedDeployment> {
  if (taskDefinition.trim() === "") {
    throw new EcsError("Expected a task definition (family:revision or ARN), got an empty string.")
  }
  const before = await describeService(ecs, ref, { signal })
  const { UpdateServiceCommand } = await loadEcsSdk()
  let after: Service | undefined
  try {
    signal?.throwIfAborted()
    after = (
      await ecs.send(
        new UpdateServiceCommand({ cluster: ref.cluster, service: ref.service, taskDefinition, forceNewDeployment: true }),
        { abortSignal: signal },
      )
    ).service
  } catch (err) {
    throw await explain(err, "UpdateService", ref, ecs, signal)
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
    () => describeService(ecs, ref, { requireActive: false, signal: wait.signal }),
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
